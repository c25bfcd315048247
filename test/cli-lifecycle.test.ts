// `sediment lifecycle get|set|delete|run` on a data directory, and `sediment serve` applying lifecycle
// rules on its own with a shortened lifecycle day (what S3 conformance suites need).
import { PutBucketLifecycleConfigurationCommand, PutObjectCommand, HeadObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, makeClient } from './helpers/s3-server.js';

const cli = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/src/cli/main.js');
let work = '';

function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, '--data', join(work, 'data'), ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sediment-cli-lc-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const XML = `<LifecycleConfiguration><Rule><ID>week</ID><Filter><Prefix>app/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule></LifecycleConfiguration>`;

describe('sediment lifecycle', () => {
  it('sets from a file, gets as XML and JSON, runs as of a date (dry and for real), deletes', async () => {
    expect((await run(['mb', 'logs'])).code).toBe(0);
    writeFileSync(join(work, 'a.log'), 'line\n');
    expect((await run(['put', 'logs/app/a.log', join(work, 'a.log')])).code).toBe(0);
    expect((await run(['put', 'logs/keep/b.log', join(work, 'a.log')])).code).toBe(0);
    writeFileSync(join(work, 'lc.xml'), XML);
    expect(await run(['lifecycle', 'set', 'logs', join(work, 'lc.xml')])).toMatchObject({ code: 0, stderr: 'lifecycle of logs: 1 rule(s) set\n' });
    const xml = await run(['lifecycle', 'get', 'logs']);
    expect(xml.stdout).toContain('<Rule><ID>week</ID><Filter><Prefix>app/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule>');
    const json = JSON.parse((await run(['lifecycle', 'get', 'logs', '--json'])).stdout);
    expect(json).toEqual({ rules: [{ id: 'week', enabled: true, filter: { prefix: 'app/' }, expiration: { days: 7 } }] });
    // JSON is accepted back on stdin.
    expect((await run(['lifecycle', 'set', 'logs', '-'], JSON.stringify(json))).code).toBe(0);

    const today = await run(['lifecycle', 'run', '--json']);
    expect(JSON.parse(today.stdout)).toMatchObject({ expired: [], dryRun: false });
    const dry = await run(['lifecycle', 'run', '--as-of', '2031-01-01', '--dry-run']);
    expect(dry.stdout).toContain('would expire 1 object(s)');
    expect(dry.stdout).toContain('  logs/app/a.log');
    expect((await run(['ls', 'logs', '--recursive'])).stdout).toContain('app/a.log');
    const real = JSON.parse((await run(['lifecycle', 'run', '--as-of', '2031-01-01', '--json'])).stdout);
    expect(real.expired).toEqual([{ bucket: 'logs', key: 'app/a.log', size: 5 }]);
    const left = (await run(['ls', 'logs', '--recursive'])).stdout;
    expect(left).not.toContain('app/a.log');
    expect(left).toContain('keep/b.log');

    expect((await run(['lifecycle', 'delete', 'logs'])).code).toBe(0);
    expect(await run(['lifecycle', 'get', 'logs'])).toMatchObject({ code: 1, stderr: 'sediment: bucket "logs" has no lifecycle configuration\n' });
  });

  it('refuses bad input with one line, changing nothing', async () => {
    expect((await run(['lifecycle', 'set', 'logs', '-'], XML)).code).toBe(0);
    const cases: Array<[string[], string | undefined, number, RegExp]> = [
      [['lifecycle', 'set', 'logs', '-'], '<LifecycleConfiguration><Rule>', 2, /not valid/],
      [['lifecycle', 'set', 'logs', '-'], '{"rules": [{"id": "x", "enabled": true, "filter": {}}]}', 2, /no action/],
      [['lifecycle', 'set', 'logs', '-'], '{"rules": 3}', 2, /\{"rules": \[\.\.\.\]\}/],
      [['lifecycle', 'set', 'logs', join(work, 'missing.xml')], undefined, 1, /no such file/],
      [['lifecycle', 'set', 'nobucket', '-'], XML, 1, /does not exist/],
      [['lifecycle', 'run', '--as-of', 'someday'], undefined, 2, /expected a date/],
    ];
    for (const [args, stdin, code, message] of cases) {
      const r = await run(args, stdin);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect((await run(['lifecycle', 'get', 'logs'])).stdout).toContain('<ID>week</ID>');
  });
});

describe('sediment serve runs lifecycle rules itself', () => {
  let server: ChildProcess | undefined;
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('expires an object after one (shortened) day', async () => {
    server = spawn(process.execPath, [cli, 'serve', '--data', join(work, 'served'), '--port', '0', '--lifecycle-every', '0.3', '--lifecycle-day-seconds', '1'], {
      env: { ...process.env, SEDIMENT_ACCESS_KEY: ACCESS_KEY, SEDIMENT_SECRET_KEY: SECRET_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const endpoint = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
      const check = (): void => {
        const m = /serving S3 on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        } else setTimeout(check, 50);
      };
      check();
    });
    const s3 = makeClient(endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'fast' }));
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'fast', LifecycleConfiguration: { Rules: [{ ID: 'd1', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } }] } }));
    await s3.send(new PutObjectCommand({ Bucket: 'fast', Key: 'tmp/x', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: 'fast', Key: 'keep/y', Body: 'y' }));
    const deadline = Date.now() + 15_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      gone = await s3.send(new HeadObjectCommand({ Bucket: 'fast', Key: 'tmp/x' })).then(() => false, (e: { name?: string }) => e.name === 'NotFound');
      if (!gone) await new Promise((r) => setTimeout(r, 200));
    }
    expect(gone, out).toBe(true);
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'fast', Key: 'keep/y' }))).resolves.toBeDefined();
    expect(out).toMatch(/lifecycle: expired 1 object\(s\)/);
    s3.destroy();
  });
});
