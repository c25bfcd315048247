// End-to-end smoke with the real tools users point at sediment: restic, rclone, the aws cli and s3cmd,
// against `sediment serve` running as a child process on 127.0.0.1. CI installs the tools (.ci/run);
// on a developer machine without a tool its test is reported as skipped with the reason — under
// CI=true a missing tool is a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadObjectCommand, ListObjectsV2Command, PutBucketLifecycleConfigurationCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { crc32, crc64nvme } from '../src/native/index.js';

const root = join(import.meta.dirname, '..');
const AK = 'SEDTOOLSTEST0000001';
const SK = 'tools-test-secret-key-0123456789abcdefgh';

/**
 * The aws CLIs the aws tests run with, each in buckets of its own: Debian's awscli package (the aws cli v2,
 * which CI installs) and, when it is another program, the `aws` first on PATH (on these machines pip's aws
 * cli v1 with a 2025 botocore, which sends checksums Debian's does not). SEDIMENT_TEST_AWS names one alone.
 */
const AWS_CLIS = ((): string[] => {
  if (process.env.SEDIMENT_TEST_AWS) return [process.env.SEDIMENT_TEST_AWS];
  const clis = existsSync('/usr/bin/aws') ? ['/usr/bin/aws'] : [];
  const onPath = spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout?.trim();
  if (onPath && !clis.some((c) => realpathSync(c) === realpathSync(onPath))) clis.push(onPath);
  return clis.length > 0 ? clis : ['aws'];
})();

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v '${cmd}'`]).status === 0;
}

/** CRC32 of `b` as S3 sends it: 4 bytes, big-endian. */
function crc32be(b: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out;
}

function toolTest(cmd: string): typeof it | typeof it.skip {
  if (have(cmd)) return it;
  if (process.env.CI) {
    return ((name: string) => it(name, () => {
      throw new Error(`${cmd} is not installed (CI must install it: see .ci/run)`);
    })) as unknown as typeof it;
  }
  return it.skip;
}

function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string): string {
  // The endpoint is plain http: a CA bundle setting from the environment only trips rclone's AWS SDK.
  const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
  const r = spawnSync(cmd, args, { env: { ...base, ...env }, cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Runs a command that must fail; returns its stderr. */
function runFails(cmd: string, args: string[], env: Record<string, string>): string {
  const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
  const r = spawnSync(cmd, args, { env: { ...base, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) throw new Error(`${cmd} ${args.join(' ')} succeeded but must fail:\n${r.stdout}`);
  return r.stderr;
}

function md5(path: string): string {
  return createHash('md5').update(readFileSync(path)).digest('hex');
}

function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(p).isDirectory()) walk(p, r);
      else out.set(r, md5(p));
    }
  };
  walk(dir, '');
  return out;
}

let server: ChildProcess;
let endpoint = '';
let work = '';
let src = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sediment-tools-'));
  src = join(work, 'src');
  mkdirSync(join(src, 'docs', 'ünïcode dir'), { recursive: true });
  writeFileSync(join(src, 'random.bin'), randomBytes(3 * 1024 * 1024 + 17));
  writeFileSync(join(src, 'docs', 'log.txt'), Array.from({ length: 20000 }, (_, i) => `line ${i} level=INFO msg="hello ${i % 13}"\n`).join(''));
  writeFileSync(join(src, 'docs', 'ünïcode dir', 'a+b c.txt'), 'plus and space\n');
  writeFileSync(join(src, 'empty'), '');
  // Lifecycle and migration every second with 1-second lifecycle days: the lifecycle test below sees its
  // objects go cold within seconds (the other tests set no rules, so the passes leave them alone).
  server = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--data', join(work, 'data'), '--port', '0', '--lifecycle-every', '1', '--lifecycle-day-seconds', '1'], {
    env: { ...process.env, SEDIMENT_ACCESS_KEY: AK, SEDIMENT_SECRET_KEY: SK },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  endpoint = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving S3 on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    server.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    server.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('real S3 clients against sediment serve', () => {
  toolTest('restic')('restic init, backup, check --read-data, restore', () => {
    const env = {
      RESTIC_REPOSITORY: `s3:${endpoint}/restic-repo`,
      RESTIC_PASSWORD: 'correct horse battery staple',
      AWS_ACCESS_KEY_ID: AK,
      AWS_SECRET_ACCESS_KEY: SK,
      RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    };
    run('restic', ['init'], env);
    run('restic', ['backup', '--host', 'ci', src], env);
    run('restic', ['check', '--read-data'], env);
    const target = join(work, 'restic-restore');
    run('restic', ['restore', 'latest', '--target', target], env);
    expect(treeDigest(join(target, src))).toEqual(treeDigest(src));
  });

  toolTest('rclone')('rclone sync and check, server-side copy of encoded names', () => {
    const env = {
      RCLONE_CONFIG_SED_TYPE: 's3',
      RCLONE_CONFIG_SED_PROVIDER: 'Other',
      RCLONE_CONFIG_SED_ENDPOINT: endpoint,
      RCLONE_CONFIG_SED_ACCESS_KEY_ID: AK,
      RCLONE_CONFIG_SED_SECRET_ACCESS_KEY: SK,
      RCLONE_CONFIG_SED_REGION: 'us-east-1',
      RCLONE_CONFIG_SED_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG: join(work, 'rclone.conf'),
    };
    run('rclone', ['mkdir', 'sed:rclone-bkt'], env);
    run('rclone', ['sync', src, 'sed:rclone-bkt/tree'], env);
    run('rclone', ['check', src, 'sed:rclone-bkt/tree'], env);
    run('rclone', ['copyto', 'sed:rclone-bkt/tree/docs/ünïcode dir/a+b c.txt', 'sed:rclone-bkt/copied/ü+ c.txt'], env);
    const back = join(work, 'rclone-back');
    run('rclone', ['copy', 'sed:rclone-bkt/tree', back], env);
    expect(treeDigest(back)).toEqual(treeDigest(src));
    expect(run('rclone', ['cat', 'sed:rclone-bkt/copied/ü+ c.txt'], env)).toBe('plus and space\n');
  });

  for (const [n, AWS] of AWS_CLIS.entries()) {
    const bkt = n === 0 ? 'aws-bkt' : `aws-bkt-${n}`;
    toolTest(AWS)(`aws s3 cp with multipart, ls, ranged get, get by part number, object attributes, checksums (${AWS})`, async () => {
      const cfg = join(work, 'aws-config');
      writeFileSync(cfg, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n');
      const env = { AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK, AWS_CONFIG_FILE: cfg, AWS_SHARED_CREDENTIALS_FILE: join(work, 'nocreds'), AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' };
      const big = join(work, 'big.bin');
      writeFileSync(big, randomBytes(21 * 1024 * 1024));
      const aws = (...args: string[]): string => run(AWS, ['--endpoint-url', endpoint, ...args], env);
      aws('s3', 'mb', `s3://${bkt}`);
      aws('s3', 'cp', big, `s3://${bkt}/dir/big.bin`);
      const back = join(work, 'big.back');
      aws('s3', 'cp', `s3://${bkt}/dir/big.bin`, back);
      expect(md5(back)).toBe(md5(big));
      expect(aws('s3', 'ls', `s3://${bkt}/dir/`)).toContain('big.bin');
      const head = JSON.parse(aws('s3api', 'head-object', '--bucket', bkt, '--key', 'dir/big.bin')) as { ETag: string; ContentLength: number };
      expect(head.ContentLength).toBe(21 * 1024 * 1024);
      expect(head.ETag).toMatch(/-3"$/);
      // Read with the SDK, which knows every checksum header. Two generations of the CLI differ here:
      // - older ones (Debian 12's) name no checksum algorithm: the object still gets S3's default, a
      //   FULL_OBJECT CRC64NVME of all its bytes, made from the parts' at completion;
      // - newer ones (botocore 1.36 and later: `request_checksum_calculation = when_supported`) name CRC32 in
      //   CreateMultipartUpload: a COMPOSITE CRC32, the CRC32 of the three 8 MiB parts' CRC32s, `-3`.
      const sdk = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: AK, secretAccessKey: SK }, maxAttempts: 1 });
      const withSum = await sdk.send(new HeadObjectCommand({ Bucket: bkt, Key: 'dir/big.bin', ChecksumMode: 'ENABLED' }));
      sdk.destroy();
      const bigBytes = readFileSync(big);
      if (withSum.ChecksumCRC32 !== undefined) {
        const partSums = [0, 1, 2].map((i) => crc32be(bigBytes.subarray(i * 8388608, (i + 1) * 8388608)));
        expect([withSum.ChecksumCRC32, withSum.ChecksumCRC64NVME, withSum.ChecksumType]).toEqual([`${crc32be(Buffer.concat(partSums)).toString('base64')}-3`, undefined, 'COMPOSITE']);
      } else {
        const crc = Buffer.alloc(8);
        crc.writeBigUInt64BE(crc64nvme(bigBytes));
        expect([withSum.ChecksumCRC64NVME, withSum.ChecksumType]).toEqual([crc.toString('base64'), 'FULL_OBJECT']);
      }
      const part = join(work, 'part.bin');
      aws('s3api', 'get-object', '--bucket', bkt, '--key', 'dir/big.bin', '--range', 'bytes=10485700-', part);
      expect(readFileSync(part).equals(readFileSync(big).subarray(10485700))).toBe(true);
      // The second 8 MB part by its number, as multipart-aware downloaders ask for it.
      const second = JSON.parse(aws('s3api', 'get-object', '--bucket', bkt, '--key', 'dir/big.bin', '--part-number', '2', part)) as { PartsCount: number; ContentRange: string };
      expect([second.PartsCount, second.ContentRange]).toEqual([3, `bytes 8388608-16777215/${21 * 1024 * 1024}`]);
      expect(readFileSync(part).equals(readFileSync(big).subarray(8388608, 16777216))).toBe(true);
      const attrs = JSON.parse(aws('s3api', 'get-object-attributes', '--bucket', bkt, '--key', 'dir/big.bin', '--object-attributes', 'ETag', 'ObjectSize', 'ObjectParts')) as {
        ETag: string;
        ObjectSize: number;
        ObjectParts: { TotalPartsCount: number };
      };
      expect([`"${attrs.ETag}"`, attrs.ObjectSize, attrs.ObjectParts.TotalPartsCount]).toEqual([head.ETag, 21 * 1024 * 1024, 3]);

      // A multipart upload with a flexible checksum, as botocore sends it: the parts' CRC32s in
      // CompleteMultipartUpload, and the object's COMPOSITE CRC32 (of the part CRC32s, `-2`) back.
      const crc32b64 = (b: Buffer): string => crc32be(b).toString('base64');
      const created = JSON.parse(aws('s3api', 'create-multipart-upload', '--bucket', bkt, '--key', 'sums/crc32', '--checksum-algorithm', 'CRC32')) as { UploadId: string };
      const bodies = [randomBytes(5 * 1024 * 1024), randomBytes(100_000)];
      const done = bodies.map((b, i) => {
        const f = join(work, `part${i + 1}.bin`);
        writeFileSync(f, b);
        const args = ['--bucket', bkt, '--key', 'sums/crc32', '--upload-id', created.UploadId, '--part-number', String(i + 1), '--body', f, '--checksum-algorithm', 'CRC32'];
        const r = JSON.parse(aws('s3api', 'upload-part', ...args)) as { ETag: string; ChecksumCRC32?: string };
        expect(r.ChecksumCRC32, `part ${i + 1}`).toBe(crc32b64(b));
        return { PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 };
      });
      const want = `${crc32b64(Buffer.concat(bodies.map((b) => Buffer.from(crc32b64(b), 'base64'))))}-2`;
      const completed = JSON.parse(
        aws('s3api', 'complete-multipart-upload', '--bucket', bkt, '--key', 'sums/crc32', '--upload-id', created.UploadId, '--multipart-upload', JSON.stringify({ Parts: done })),
      ) as { ChecksumCRC32?: string };
      expect(completed.ChecksumCRC32).toBe(want);
      const sumHead = JSON.parse(aws('s3api', 'head-object', '--bucket', bkt, '--key', 'sums/crc32', '--checksum-mode', 'ENABLED')) as { ChecksumCRC32?: string; ContentLength: number };
      expect([sumHead.ChecksumCRC32, sumHead.ContentLength]).toEqual([want, 5 * 1024 * 1024 + 100_000]);
      aws('s3', 'rm', '--recursive', `s3://${bkt}`);
      aws('s3', 'rb', `s3://${bkt}`);
    });
  }

  toolTest('rclone')('rclone with a versioned bucket: old versions stay listable and readable', () => {
    const env = {
      RCLONE_CONFIG_SED_TYPE: 's3',
      RCLONE_CONFIG_SED_PROVIDER: 'Other',
      RCLONE_CONFIG_SED_ENDPOINT: endpoint,
      RCLONE_CONFIG_SED_ACCESS_KEY_ID: AK,
      RCLONE_CONFIG_SED_SECRET_ACCESS_KEY: SK,
      RCLONE_CONFIG_SED_REGION: 'us-east-1',
      RCLONE_CONFIG_SED_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG: join(work, 'rclone.conf'),
    };
    run('rclone', ['mkdir', 'sed:rclone-ver'], env);
    run('rclone', ['backend', 'versioning', 'sed:rclone-ver', 'Enabled'], env);
    expect(run('rclone', ['backend', 'versioning', 'sed:rclone-ver'], env).trim()).toBe('Enabled');
    const file = join(work, 'rv.txt');
    writeFileSync(file, 'first\n');
    run('rclone', ['copyto', file, 'sed:rclone-ver/rv.txt'], env);
    // rclone names a version by its Last-Modified second (as S3 lists it): two versions in one second collide.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
    writeFileSync(file, 'second version\n');
    run('rclone', ['copyto', file, 'sed:rclone-ver/rv.txt'], env);
    run('rclone', ['delete', 'sed:rclone-ver'], env);
    expect(run('rclone', ['ls', 'sed:rclone-ver'], env).trim()).toBe('');
    // With --s3-versions, rclone lists every version as name-vTIMESTAMP.ext and reads them back.
    const listed = run('rclone', ['lsf', '--s3-versions', 'sed:rclone-ver'], env).trim().split('\n').sort();
    expect(listed.length).toBe(2);
    const back = join(work, 'rclone-versions');
    run('rclone', ['copy', '--s3-versions', 'sed:rclone-ver', back], env);
    expect(readdirSync(back).sort()).toEqual(listed);
    expect(listed.map((name) => readFileSync(join(back, name), 'utf8')).sort()).toEqual(['first\n', 'second version\n']);
  });

  for (const [n, AWS] of AWS_CLIS.entries()) {
    const lockBkt = n === 0 ? 'aws-lock' : `aws-lock-${n}`;
    toolTest(AWS)(`aws cli with versioning and Object Lock: every removal of a locked version refused (${AWS})`, () => {
      const cfg = join(work, 'aws-config-lock');
      writeFileSync(cfg, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
      const env = { AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK, AWS_CONFIG_FILE: cfg, AWS_SHARED_CREDENTIALS_FILE: join(work, 'nocreds'), AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' };
      const aws = (...args: string[]): string => run(AWS, ['--endpoint-url', endpoint, ...args], env);
      const awsFails = (...args: string[]): string => runFails(AWS, ['--endpoint-url', endpoint, ...args], env);
      aws('s3api', 'create-bucket', '--bucket', lockBkt, '--object-lock-enabled-for-bucket');
      expect(JSON.parse(aws('s3api', 'get-bucket-versioning', '--bucket', lockBkt)).Status).toBe('Enabled');
      aws('s3api', 'put-object-lock-configuration', '--bucket', lockBkt, '--object-lock-configuration', '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}');
      const body = join(work, 'lock.txt');
      writeFileSync(body, 'keep me\n');
      const until = new Date(Date.now() + 2 * 86_400_000).toISOString();
      const c = JSON.parse(aws('s3api', 'put-object', '--bucket', lockBkt, '--key', 'c.txt', '--body', body, '--object-lock-mode', 'COMPLIANCE', '--object-lock-retain-until-date', until)).VersionId as string;
      const g = JSON.parse(aws('s3api', 'put-object', '--bucket', lockBkt, '--key', 'g.txt', '--body', body)).VersionId as string;
      expect(JSON.parse(aws('s3api', 'get-object-retention', '--bucket', lockBkt, '--key', 'g.txt')).Retention.Mode).toBe('GOVERNANCE');
      expect(awsFails('s3api', 'delete-object', '--bucket', lockBkt, '--key', 'c.txt', '--version-id', c, '--bypass-governance-retention')).toMatch(/AccessDenied/);
      expect(awsFails('s3api', 'delete-object', '--bucket', lockBkt, '--key', 'g.txt', '--version-id', g)).toMatch(/AccessDenied/);
      const many = JSON.parse(aws('s3api', 'delete-objects', '--bucket', lockBkt, '--delete', JSON.stringify({ Objects: [{ Key: 'c.txt', VersionId: c }, { Key: 'g.txt', VersionId: g }] }))) as { Errors: Array<{ Code: string }> };
      expect(many.Errors.map((e) => e.Code)).toEqual(['AccessDenied', 'AccessDenied']);
      expect(awsFails('s3api', 'put-object-retention', '--bucket', lockBkt, '--key', 'c.txt', '--version-id', c, '--bypass-governance-retention', '--retention', `{"Mode":"COMPLIANCE","RetainUntilDate":"${new Date(Date.now() + 86_400_000).toISOString()}"}`)).toMatch(/AccessDenied/);
      // `aws s3 rm --recursive` only adds delete markers; `rb` then refuses the bucket.
      aws('s3', 'rm', '--recursive', `s3://${lockBkt}`);
      expect(aws('s3', 'ls', `s3://${lockBkt}`)).toBe('');
      expect(awsFails('s3', 'rb', `s3://${lockBkt}`)).toMatch(/BucketNotEmpty/);
      const versions = JSON.parse(aws('s3api', 'list-object-versions', '--bucket', lockBkt)) as { Versions: Array<{ Key: string; VersionId: string }>; DeleteMarkers: unknown[] };
      expect(versions.Versions.map((v) => v.VersionId).sort()).toEqual([c, g].sort());
      expect(versions.DeleteMarkers.length).toBe(2);
      const back = join(work, 'lock.back');
      aws('s3api', 'get-object', '--bucket', lockBkt, '--key', 'c.txt', '--version-id', c, back);
      expect(readFileSync(back, 'utf8')).toBe('keep me\n');
      aws('s3api', 'delete-object', '--bucket', lockBkt, '--key', 'g.txt', '--version-id', g, '--bypass-governance-retention');
    });
  }

  toolTest('s3cmd')('s3cmd put/get/ls/del', () => {
    const host = endpoint.replace('http://', '');
    const cfg = join(work, 's3cfg');
    writeFileSync(cfg, `[default]\naccess_key = ${AK}\nsecret_key = ${SK}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n`);
    const s3cmd = (...args: string[]): string => run('s3cmd', ['-c', cfg, ...args], {});
    s3cmd('mb', 's3://s3cmd-bkt');
    const file = join(src, 'random.bin');
    s3cmd('put', file, 's3://s3cmd-bkt/r.bin');
    const back = join(work, 's3cmd.back');
    s3cmd('get', 's3://s3cmd-bkt/r.bin', back);
    expect(md5(back)).toBe(md5(file));
    expect(s3cmd('ls', 's3://s3cmd-bkt')).toContain('r.bin');
    s3cmd('del', 's3://s3cmd-bkt/r.bin');
    s3cmd('rb', 's3://s3cmd-bkt');
  });

  // Bounded: ~4 MiB of data, objects cold within ~2-10 s (1-second lifecycle days, passes every second).
  toolTest('restic')('restic and rclone keep working on a bucket whose lifecycle rules moved everything to the cold tier', async () => {
    const sdk = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: AK, secretAccessKey: SK }, maxAttempts: 1 });
    try {
      await sdk.send(new CreateBucketCommand({ Bucket: 'life' }));
      await sdk.send(new PutBucketLifecycleConfigurationCommand({
        Bucket: 'life',
        LifecycleConfiguration: { Rules: [{ ID: 'cold', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 1, StorageClass: 'GLACIER_IR' }], Expiration: { Days: 3650 } }] },
      }));
      const resticEnv = {
        RESTIC_REPOSITORY: `s3:${endpoint}/life/restic`, RESTIC_PASSWORD: 'lifecycle test', AWS_ACCESS_KEY_ID: AK, AWS_SECRET_ACCESS_KEY: SK, RESTIC_CACHE_DIR: join(work, 'restic-cache-life'),
      };
      run('restic', ['init'], resticEnv);
      run('restic', ['backup', '--host', 'ci', src], resticEnv);
      const haveRclone = have('rclone');
      if (!haveRclone && process.env.CI) throw new Error('rclone is not installed (CI must install it: see .ci/run)');
      const rcloneEnv = {
        RCLONE_CONFIG_SED_TYPE: 's3', RCLONE_CONFIG_SED_PROVIDER: 'Other', RCLONE_CONFIG_SED_ENDPOINT: endpoint, RCLONE_CONFIG_SED_ACCESS_KEY_ID: AK,
        RCLONE_CONFIG_SED_SECRET_ACCESS_KEY: SK, RCLONE_CONFIG_SED_REGION: 'us-east-1', RCLONE_CONFIG_SED_FORCE_PATH_STYLE: 'true', RCLONE_CONFIG: join(work, 'rclone-life.conf'),
      };
      if (haveRclone) run('rclone', ['sync', src, 'sed:life/tree'], rcloneEnv);
      // Wait (bounded) until the serve schedule has moved every object to the cold tier.
      let cold = 0;
      let total = 0;
      for (let i = 0; i < 60; i++) {
        const list = await sdk.send(new ListObjectsV2Command({ Bucket: 'life', MaxKeys: 1000 }));
        total = list.KeyCount ?? 0;
        cold = (list.Contents ?? []).filter((o) => o.StorageClass === 'GLACIER_IR').length;
        if (total > 0 && cold === total) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(cold, 'objects moved to the cold tier by serve').toBe(total);
      run('restic', ['check', '--read-data'], resticEnv);
      run('restic', ['backup', '--host', 'ci', src], resticEnv); // reads the (cold) index and snapshots, writes new ones
      const target = join(work, 'restic-restore-life');
      run('restic', ['restore', 'latest', '--target', target], resticEnv);
      expect(treeDigest(join(target, src))).toEqual(treeDigest(src));
      if (haveRclone) {
        run('rclone', ['check', src, 'sed:life/tree'], rcloneEnv);
        const back = join(work, 'rclone-back-life');
        run('rclone', ['copy', 'sed:life/tree', back], rcloneEnv);
        expect(treeDigest(back)).toEqual(treeDigest(src));
      }
    } finally {
      sdk.destroy();
    }
  }, 120_000);
});
