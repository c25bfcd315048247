// `sediment lifecycle get|set|delete|run` on a data directory, and `sediment serve` applying lifecycle
// rules on its own with a shortened lifecycle day (what S3 conformance suites need).
import { PutBucketLifecycleConfigurationCommand, PutObjectCommand, HeadObjectCommand, CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, loopbackAgent, makeClient } from './helpers/s3-server.js';

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
      // Types are checked (the string "false" once enabled a rule that then expired everything).
      [['lifecycle', 'set', 'logs', '-'], '{"rules":[{"id":"off","enabled":"false","filter":{"prefix":""},"expiration":{"days":1}}]}', 2, /^sediment: "enabled" in rule "off" must be a boolean \(true or false\), not the string "false"$/m],
      [['lifecycle', 'set', 'logs', '-'], '{"rules":[{"id":7,"enabled":true,"filter":{},"expiration":{"days":1}}]}', 2, /"id" in rule 1 must be a string/],
      [['lifecycle', 'set', 'logs', '-'], '{"rules":[{"foo":1}]}', 2, /rule 1 has an unknown field "foo"/],
      [['lifecycle', 'set', 'logs', '-'], '{"rules":[null]}', 2, /rule 1 must be an object, not null/],
      [['lifecycle', 'set', 'logs', '-'], '{"rules":[{"id":"p","enabled":true,"filter":{"prefix":5},"expiration":{"days":1}}]}', 2, /"prefix" in the filter of rule "p" must be a string/],
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

/** `sediment serve` on DATA=`dir` with `args`; resolves once it listens. */
async function startServe(dir: string, args: string[]): Promise<{ server: ChildProcess; endpoint: string; out: () => string }> {
  const server = spawn(process.execPath, [cli, 'serve', '--data', join(work, dir), '--port', '0', ...args], {
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
      } else if (server.exitCode !== null) {
        clearTimeout(t);
        reject(new Error(`server exited: ${out}`));
      } else setTimeout(check, 50);
    };
    check();
  });
  return { server, endpoint, out: () => out };
}

async function stopServe(server: ChildProcess | undefined): Promise<void> {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
}

async function waitFor(what: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return what();
}

describe('sediment serve runs lifecycle rules itself', () => {
  let server: ChildProcess | undefined;
  afterAll(() => stopServe(server));

  it('expires an object after one (shortened) day', async () => {
    const started = await startServe('served', ['--lifecycle-every', '0.3', '--lifecycle-day-seconds', '1']);
    server = started.server;
    const out = started.out;
    const s3 = makeClient(started.endpoint);
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
    expect(gone, out()).toBe(true);
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'fast', Key: 'keep/y' }))).resolves.toBeDefined();
    // The pass logs once it is done, which may be after the HEAD above saw the object gone.
    expect(await waitFor(() => /lifecycle: expired 1 object\(s\)/.test(out()), 10_000), out()).toBe(true);
    s3.destroy();
  });
});

describe('sediment serve reads the cold tier back in the background', () => {
  let server: ChildProcess | undefined;
  afterAll(() => stopServe(server));

  it('a cold scrub pass checks what migration moved; `info` shows the last one; a bad interval is refused', async () => {
    // A "day" of 1 s moves the object at the next migration pass; a cold scrub every 0.00001 days (0.864 s).
    const started = await startServe('cold-scrubbed', ['--lifecycle-every', '0.3', '--lifecycle-day-seconds', '1', '--cold-scrub-every', '0.00001', '--compact-every', '0']);
    server = started.server;
    const s3 = makeClient(started.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'arch' }));
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'arch', LifecycleConfiguration: { Rules: [{ ID: 'c', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 1, StorageClass: 'GLACIER' }] }] } }));
    await s3.send(new PutObjectCommand({ Bucket: 'arch', Key: 'a.log', Body: 'line one\n'.repeat(5000) }));
    expect(await waitFor(() => /migration: moved 1 object/.test(started.out()), 20_000), started.out()).toBe(true);
    expect(await waitFor(() => /cold scrub: 1 objects, 1 chunks, [0-9.]+ MiB checked in [0-9.]+ s, 0 damaged/.test(started.out()), 20_000), started.out()).toBe(true);
    // The pass shows in the metrics too.
    const metrics = await (await fetch(`${started.endpoint}/_sediment/metrics`)).text();
    expect(Number(/^sediment_cold_scrub_last_timestamp_seconds (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(metrics).toMatch(/^sediment_cold_scrub_last_damage 0$/m);
    expect(metrics).toMatch(/^sediment_cold_scrub_last_failed 0$/m);
    s3.destroy();
    await stopServe(server);
    const info = await new Promise<string>((resolve) => execFile(process.execPath, [cli, '--data', join(work, 'cold-scrubbed'), 'info'], (_e, stdout) => resolve(stdout)));
    expect(info).toMatch(/last cold scrub:\s+\S+: 1 objects, 1 chunks, [0-9.]+ MiB checked in [0-9.]+ s, 0 damaged/);

    const bad = await serveFails(['--cold-scrub-every', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--cold-scrub-every/);
  });
});

/** `sediment serve ARGS` on a directory that is never created: exit code and stderr. */
function serveFails(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [cli, '--data', join(work, 'never'), 'serve', ...args], (e, _o, stderr) => resolve({ code: Number((e as { code?: number } | null)?.code ?? 0), stderr })),
  );
}

describe('sediment serve --domain', () => {
  let server: ChildProcess | undefined;
  afterAll(() => stopServe(server));

  it('answers virtual-hosted-style requests for BUCKET.DOMAIN and path style alike; a bad domain is refused', async () => {
    const started = await startServe('vhost', ['--domain', 'S3.Test,other.test', '--domain', 'third.test']);
    server = started.server;
    // The line after "serving S3 on" may reach this process in a later read of the pipe.
    const vhostLine = /virtual-hosted-style requests for BUCKET\.s3\.test, BUCKET\.other\.test, BUCKET\.third\.test/;
    expect(await waitFor(() => vhostLine.test(started.out()), 10_000), started.out()).toBe(true);
    const port = new URL(started.endpoint).port;
    const vhost = makeClient(`http://s3.test:${port}`, { forcePathStyle: false, requestHandler: { httpAgent: loopbackAgent() } });
    const path = makeClient(started.endpoint);
    await vhost.send(new CreateBucketCommand({ Bucket: 'hosted' }));
    await vhost.send(new PutObjectCommand({ Bucket: 'hosted', Key: 'k', Body: 'by host name' }));
    const got = await path.send(new GetObjectCommand({ Bucket: 'hosted', Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('by host name');
    vhost.destroy();
    path.destroy();

    for (const d of ['http://s3.test', 's3.test:9000', '']) {
      const bad = await serveFails(['--domain', d]);
      expect(bad.code, d).toBe(2);
      expect(bad.stderr.trim().split('\n'), d).toHaveLength(1);
      expect(bad.stderr, d).toMatch(/--domain.*is not a domain name/);
    }
  });
});
