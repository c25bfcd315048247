// What `sediment bench` reports, checked against what the server saw: the settings in --json (enough to
// repeat the run, no credentials), GET and PUT figures of a mixed run apart (against the server's own
// request counters), an empty run refused instead of printed as zeros, wrong bytes and a server that
// goes away reported as errors, and a delete that leaves objects behind said so. The compiled CLI runs
// in a child process against sediment's S3 server (the in-process harness) or a small in-memory S3
// stand-in on 127.0.0.1 whose faults each test picks.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../src/cli/commands/bench.js';
import { ACCESS_KEY, SECRET_KEY, startHarness, type S3Harness } from './helpers/s3-server.js';
import { runInterrupted } from './helpers/child.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], nodeFlags: string[] = [], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, SEDIMENT_ACCESS_KEY: ACCESS_KEY, SEDIMENT_SECRET_KEY: SECRET_KEY, ...extraEnv };
    execFile(process.execPath, [...nodeFlags, cli, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Figures {
  ops: number;
  errors: number;
  errorsByKind: Record<string, number>;
  bytes: number;
  opsPerS: number;
  mbPerS: number;
  latency: { count: number; p50Ms: number; maxMs: number };
}

interface Result extends Figures {
  workload: string;
  opsIssued: number;
  errorSamples: string[];
  startedAt: string;
  endedAt: string;
  operations: Record<string, Figures>;
}

interface Report {
  sediment: string;
  command: string;
  settings: Record<string, unknown>;
  client: { node: string; cpus: number };
  startedAt: string;
  endedAt: string;
  prepared: number;
  interrupted: boolean;
  results: Result[];
}

/** An in-memory S3 stand-in: buckets always exist, objects are kept by path; `fault` may answer instead. */
interface FakeS3 {
  endpoint: string;
  objects: Map<string, Buffer>;
  /** Called for every object request; returns true when it answered (or dropped) the request itself. */
  fault: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean;
  server: Server;
  close(): Promise<void>;
}

async function startFakeS3(): Promise<FakeS3> {
  const fake = { objects: new Map<string, Buffer>(), fault: () => false } as unknown as FakeS3;
  fake.server = createServer((req, res) => {
    const pieces: Buffer[] = [];
    req.on('data', (p: Buffer) => pieces.push(p));
    req.on('end', () => {
      const body = Buffer.concat(pieces);
      const path = req.url!.split('?')[0]!;
      if (path.split('/').length === 2) return void res.end(); // bucket level: created, exists
      if (fake.fault(req, res, body)) return;
      if (req.method === 'PUT') {
        fake.objects.set(path, body);
        return void res.end();
      }
      if (req.method === 'DELETE') {
        fake.objects.delete(path);
        res.statusCode = 204;
        return void res.end();
      }
      const stored = fake.objects.get(path);
      if (!stored) {
        res.writeHead(404, { 'content-type': 'application/xml' });
        return void res.end('<Error><Code>NoSuchKey</Code></Error>');
      }
      res.writeHead(200, { 'content-length': stored.length });
      res.end(stored);
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.endpoint = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  fake.close = async () => {
    fake.server.closeAllConnections();
    await new Promise<void>((resolve) => fake.server.close(() => resolve()));
  };
  return fake;
}

/** The server's request counters by "METHOD code". */
async function requestCounts(h: S3Harness): Promise<Map<string, number>> {
  const text = await (await fetch(`${h.endpoint}/_sediment/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^sediment_http_requests_total\{method="(\w+)",code="(\d+)"\} (\d+)$/gm)) out.set(`${m[1]} ${m[2]}`, Number(m[3]));
  return out;
}

function delta(after: Map<string, number>, before: Map<string, number>, what: string): number {
  return (after.get(what) ?? 0) - (before.get(what) ?? 0);
}

/** No NaN, Infinity or negative figure anywhere in a report (JSON turns NaN and Infinity into null). */
function expectFiniteFigures(value: unknown, path = 'report'): void {
  if (value === null) throw new Error(`${path} is null`);
  if (typeof value === 'number') expect(Number.isFinite(value) && value >= 0, path).toBe(true);
  else if (Array.isArray(value)) value.forEach((v, i) => expectFiniteFigures(v, `${path}[${i}]`));
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value as object)) if (k !== 'durationMs' && k !== 'opsMax') expectFiniteFigures(v, `${path}.${k}`);
}

let h: S3Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('sediment bench --json', () => {
  it('records the settings, without credentials, and a command line that repeats the run', async () => {
    const args = ['bench', '--endpoint', h.endpoint, '--bucket', 'report-settings', '--prefix', 'r/', '-w', 'put,get', '-s', '1KiB', '-n', '6', '-c', '2',
      '--ops', '6', '--data-kind', 'random', '--seed', '9', '--timeout', '10s', '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY, '--json'];
    const r = await run(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(SECRET_KEY);
    expect(r.stdout).not.toContain(ACCESS_KEY);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.sediment).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    expect(out.settings).toEqual({
      endpoint: h.endpoint, region: 'us-east-1', bucket: 'report-settings', prefix: 'r/', workloads: ['put', 'get'], objectBytes: 1024, objects: 6,
      concurrency: 2, workers: 1, durationMs: null, opsMax: 6, data: { kind: 'random', seed: 9 }, verify: true, prepare: true, getPercent: 50,
      partBytes: 8 * 1024 * 1024, partsInFlight: 1, timeoutMs: 10_000, httpClient: 'raw',
    });
    expect(out.client.node).toBe(process.version);
    expect(out.client.cpus).toBeGreaterThan(0);
    expect(out.prepared).toBe(0);
    expect(Date.parse(out.startedAt)).toBeLessThanOrEqual(Date.parse(out.results[0]!.startedAt));
    expect(Date.parse(out.results[1]!.endedAt)).toBeLessThanOrEqual(Date.parse(out.endedAt));
    expectFiniteFigures(out.results);
    // The command line, run as it is (its words need no quoting here), gives the same settings.
    expect(out.command).toMatch(/^sediment bench /);
    const again = await run([...out.command.split(' ').slice(1), '--json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as Report).settings).toEqual(out.settings);
  });

  it('quotes what the shell would split in the command line, and records the objects written first', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-settings', '--prefix', "it's here/", '-w', 'get', '-n', '3', '-c', '1', '-s', '10', '-d', '1.5s', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.command).toContain(` --prefix 'it'\\''s here/' `);
    expect(out.command).toContain(' -d 1500ms ');
    expect(out.settings.durationMs).toBe(1500);
    expect(out.prepared).toBe(3);
  });
});

describe('sediment bench, mixed', () => {
  it('reports its GETs and PUTs apart, and they add up to what the server answered', async () => {
    const before = await requestCounts(h);
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-mixed', '-w', 'mixed', '-s', '1000', '-n', '30', '-c', '3', '--ops', '80', '--get-percent', '60', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await requestCounts(h);
    const out = JSON.parse(r.stdout) as Report;
    expect(out.prepared).toBe(30);
    const mixed = out.results[0];
    expect(Object.keys(mixed!.operations)).toEqual(['get', 'put']);
    const { get: gets, put: puts } = mixed!.operations;
    expect(gets!.ops + puts!.ops).toBe(80);
    expect([gets!.ops > 0, puts!.ops > 0]).toEqual([true, true]); // 80 draws at 60/40: both kinds, for this seed
    for (const o of [gets!, puts!]) {
      expect(o.bytes).toBe(o.ops * 1000);
      expect(o.latency.count).toBe(o.ops);
      expect(o.errors).toBe(0);
    }
    expect([mixed!.ops, mixed!.bytes, mixed!.latency.count]).toEqual([80, 80_000, 80]);
    expect(mixed!.opsPerS).toBeCloseTo(gets!.opsPerS + puts!.opsPerS, 6);
    // The server's counters: one bucket creation, the 30 objects written first, the mixed run's PUTs and GETs.
    expect(delta(after, before, 'PUT 200')).toBe(1 + 30 + puts!.ops);
    expect(delta(after, before, 'GET 200')).toBe(gets!.ops + 1); // + the first scrape of the metrics, counted once answered

    const table = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-mixed', '-w', 'mixed', '-s', '1000', '-n', '30', '-c', '3', '--ops', '20', '--get-percent', '0', '--no-prepare']);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n').filter((l) => l.startsWith('| mixed'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^\| mixed \| 1000 B \| log \| 3 \| 20 \| /);
    expect(rows[1]).toMatch(/^\| mixed get \| 1000 B \| log \| 3 \| 0 \| 0\.0 \| 0\.0 \| - \| - \| - \| - \| 0 \|  \|$/); // no GET: no latency, not 0 ms
    expect(rows[2]).toMatch(/^\| mixed put \| 1000 B \| log \| 3 \| 20 \| /);
  });

  it('verifies the GETs of a mixed run and counts wrong bytes against the GETs, not the PUTs', async () => {
    const fake = await startFakeS3();
    fake.fault = (req, res) => {
      if (req.method !== 'GET' || !fake.objects.has(req.url!)) return false;
      const body = Buffer.from(fake.objects.get(req.url!)!);
      body[body.length >> 1] ^= 0x20; // one flipped bit in the middle
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
      return true;
    };
    try {
      const r = await run(['bench', '--endpoint', fake.endpoint, '-w', 'put,mixed', '-s', '5000', '-n', '10', '-c', '2', '--ops', '40', '--json']);
      expect(r.code).toBe(1);
      const mixed = (JSON.parse(r.stdout) as Report).results[1]!;
      const { get: gets, put: puts } = mixed.operations;
      expect(gets!.ops).toBe(0);
      expect(gets!.errors).toBeGreaterThan(0);
      expect(gets!.errorsByKind).toEqual({ verify: gets!.errors });
      expect(puts!.errors).toBe(0);
      expect(gets!.errors + puts!.ops).toBe(40);
      expect(mixed.errorSamples[0]).toMatch(/^verify: bench\/\d{9}: wrong bytes from byte 2500 of 5000 \(0x[0-9a-f]{2}, expected 0x[0-9a-f]{2}\)$/);
      expect(r.stderr).toBe(`sediment: ${gets!.errors} operation(s) failed (see "results")\n`);
      const table = await run(['bench', '--endpoint', fake.endpoint, '-w', 'mixed', '-s', '5000', '-n', '10', '-c', '2', '--ops', '40', '--no-prepare']);
      expect(table.stdout).toMatch(/\nmixed 5000 B: (\d+) errors \(verify \1\) \[get \1, put 0\]; first: verify: bench\/\d{9}: wrong bytes from byte 2500 of 5000 /m);
    } finally {
      await fake.close();
    }
  });
});

describe('sediment bench, runs that measure nothing or go wrong', () => {
  it('refuses a workload that -d ended before its first operation, instead of a row of zeros', async () => {
    // The child's clock jumps 10 s at every reading: the duration is over before the first operation.
    const jumpingClock = 'data:text/javascript,const now = Date.now; let k = 0; Date.now = () => now() + 10000 * k++;';
    const fake = await startFakeS3();
    try {
      for (const json of [[], ['--json']]) {
        const r = await run(['bench', '--endpoint', fake.endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put,get', '-n', '10', '-d', '1ms', ...json], ['--import', jumpingClock]);
        expect(r.code, json.join()).toBe(1);
        expect(r.stderr).toBe('sediment: put: -d 1ms ended before the first operation started; nothing was measured (give a longer -d)\n');
        expect(r.stdout).toBe('');
      }
      expect(fake.objects.size).toBe(0);
    } finally {
      await fake.close();
    }
  });

  it('refuses durations below a millisecond, beyond any clock, and timeouts over 24 hours, by name', async () => {
    expect([parseDuration('1.5ms'), parseDuration('1.1s'), parseDuration('0.001s'), parseDuration('2m'), parseDuration('10')]).toEqual([2, 1100, 1, 120_000, 10_000]);
    const cases: Array<[string[], RegExp]> = [
      [['-d', '0.4ms'], /^sediment: option '-d, --duration <time>' argument '0\.4ms' is invalid\. the duration must be at least 1ms\n$/],
      [['-d', '0'], /the duration must be at least 1ms\n$/],
      [['-d', '9'.repeat(400)], /^sediment: option '-d, --duration <time>' argument '9+' is invalid\. the duration is too long\n$/],
      [['--timeout', '9'.repeat(400)], /the duration is too long\n$/],
      [['--timeout', '25h'], /^sediment: --timeout \(in ms\) must be an integer in 1\.\.86400000 \(24 hours\)\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-flags', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(h.engine.listBuckets().map((b) => b.name)).not.toContain('report-flags');
  });

  it('shows no latency for a run in which every operation failed, and no NaN anywhere', async () => {
    const fake = await startFakeS3();
    fake.fault = (_req, res) => {
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end('<Error><Code>InternalError</Code></Error>');
      return true;
    };
    try {
      const table = await run(['bench', '--endpoint', fake.endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put', '-n', '4', '-c', '2']);
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/\n\| put \| 4 KiB \| log \| 2 \| 0 \| 0\.0 \| 0\.0 \| - \| - \| - \| - \| 4 \| \d+\.\d\d \|\n/);
      expect(table.stdout).toMatch(/\nput 4 KiB: 4 errors \(status 4\); first: status: PUT bench\/000000000: HTTP 500 InternalError \| /);
      expect(table.stdout).not.toMatch(/NaN|Infinity/);
      const json = await run(['bench', '--endpoint', fake.endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put', '-n', '4', '-c', '2', '--json']);
      expectFiniteFigures((JSON.parse(json.stdout) as Report).results);
    } finally {
      await fake.close();
    }
  });

  it('says which objects a put that had failures left missing, and the GETs that follow miss exactly those', async () => {
    const fake = await startFakeS3();
    fake.fault = (req, res) => {
      if (req.method !== 'PUT' || !/000000003$/.test(req.url!)) return false;
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<Error><Code>SlowDown</Code></Error>');
      return true;
    };
    try {
      const r = await run(['bench', '--endpoint', fake.endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put,get', '-n', '100', '--ops', '8', '-c', '2', '-s', '10', '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'sediment: put tried to write 8 of 100 objects and 1 failed; the workloads after it use those 8 and will miss the ones that failed\n' +
          'sediment: 2 operation(s) failed (see "results")\n',
      );
      const [put, get] = (JSON.parse(r.stdout) as Report).results;
      expect([put!.ops, put!.errors, get!.ops, get!.errors]).toEqual([7, 1, 7, 1]);
      expect(get!.errorSamples).toEqual(['status: GET bench/000000003: HTTP 404 NoSuchKey']);
    } finally {
      await fake.close();
    }
  });

  it('reports a server that goes away mid-run as network errors, each distinct message once, and the objects a delete could not remove', async () => {
    const fake = await startFakeS3();
    let puts = 0;
    fake.fault = (req, res) => {
      if (req.method === 'PUT' && ++puts === 5) {
        // The fifth PUT: the server stops listening and drops every connection, this one included.
        fake.server.close();
        fake.server.closeAllConnections();
        res.destroy();
        return true;
      }
      return false;
    };
    try {
      const r = await run(['bench', '--endpoint', fake.endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put,get,delete', '-n', '40', '-c', '1', '-s', '10', '--json']);
      expect(r.code).toBe(1);
      const [put, get, del] = (JSON.parse(r.stdout) as Report).results;
      expect([put!.ops, put!.errors, put!.errorsByKind]).toEqual([4, 36, { network: 36 }]);
      expect([get!.ops, get!.errors, get!.errorsByKind]).toEqual([0, 40, { network: 40 }]);
      expect([del!.ops, del!.errors]).toEqual([0, 40]);
      for (const x of [put!, get!, del!]) expect(new Set(x.errorSamples).size, x.workload).toBe(x.errorSamples.length);
      expect(put!.errorSamples.at(-1)).toMatch(/^network: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      expect(r.stderr).toBe(
        'sediment: put: 36 write(s) failed; the workloads after it will miss the objects those were for\n' +
          'sediment: delete removed 0 of the 40 objects (40 DELETE(s) failed); those of the others that exist remain in bucket sediment-bench under prefix "bench/"\n' +
          'sediment: 116 operation(s) failed (see "results")\n',
      );
    } finally {
      await fake.close();
    }
  });

  it('says so when a delete that ends a run leaves objects behind', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-delete', '-w', 'get,delete', '-n', '20', '-c', '2', '-s', '10', '--ops', '5', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('sediment: delete removed 5 of the 20 objects (15 not sent); those of the others that exist remain in bucket report-delete under prefix "bench/"\n');
    expect(h.engine.listObjects('report-delete').contents).toHaveLength(15);
    const all = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-delete', '-w', 'delete', '-n', '20', '-c', '2', '-s', '10', '--no-prepare', '-q']);
    expect([all.code, all.stderr]).toEqual([0, '']);
    expect(h.engine.listObjects('report-delete').contents).toEqual([]);
  });

  it('says where the credentials an endpoint refused came from, in one line', async () => {
    const env = { SEDIMENT_ACCESS_KEY: '', SEDIMENT_SECRET_KEY: '', AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'stale' };
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-keys', '-n', '1'], [], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sediment: cannot create bucket report-keys at ${h.endpoint}: HTTP 403 SignatureDoesNotMatch (the credentials came from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n`);
    const unknown = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-keys', '-n', '1', '--access-key', 'NOSUCHKEY', '--secret-key', 'x']);
    expect(unknown.stderr).toBe(`sediment: cannot create bucket report-keys at ${h.endpoint}: HTTP 403 InvalidAccessKeyId (the credentials came from --access-key and --secret-key)\n`);
    const down = await run(['bench', '--endpoint', 'http://127.0.0.1:1', '-n', '1']);
    expect([down.code, down.stderr]).toEqual([1, 'sediment: cannot create bucket sediment-bench at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n']);
  });

  it('reports the objects written first when Ctrl-C stops the writing', async () => {
    // Holds every object PUT until the client has taken the SIGINT.
    const fake = await startFakeS3();
    const held: ServerResponse[] = [];
    let threeHeld!: () => void;
    const holding = new Promise<void>((resolve) => (threeHeld = resolve));
    fake.fault = (req, res) => {
      if (req.method !== 'PUT') return false;
      held.push(res);
      if (held.length === 3) threeHeld();
      return true;
    };
    try {
      const args = ['bench', '--endpoint', fake.endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'get,delete', '-n', '100', '-c', '3', '-s', '10', '--json'];
      const { code, stdout } = await runInterrupted(args, holding, () => {
        for (const res of held.splice(0)) res.end();
      });
      expect(code).toBe(130);
      const out = JSON.parse(stdout) as Report;
      expect([out.interrupted, out.prepared, out.results]).toEqual([true, 3, []]);
    } finally {
      await fake.close();
    }
  });

  it('refuses --no-prepare on a bucket that does not exist, instead of counting a 404 for every read', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'report-none', '-w', 'get', '-n', '5', '--no-prepare']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sediment: bucket report-none does not exist at ${h.endpoint}: --no-prepare needs the objects an earlier run wrote there (run without --no-prepare to write them first)\n`);
    expect(h.engine.listBuckets().map((b) => b.name)).not.toContain('report-none');
  });
});
