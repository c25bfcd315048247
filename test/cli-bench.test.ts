// `sediment bench` as a user runs it: the compiled CLI in a child process against an S3 server on
// 127.0.0.1 (the in-process test harness). Small counts: this checks behaviour, not speed.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, startHarness, type S3Harness } from './helpers/s3-server.js';
import { runInterrupted } from './helpers/child.js';

const cli = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/src/cli/main.js');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, SEDIMENT_ACCESS_KEY: ACCESS_KEY, SEDIMENT_SECRET_KEY: SECRET_KEY, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Result {
  workload: string;
  ops: number;
  errors: number;
  errorsByKind: Record<string, number>;
  bytes: number;
  latency: { p50Ms: number; p99Ms: number };
}

let h: S3Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('sediment bench', () => {
  it('runs put, get, mixed, list and delete in order on the same objects and reports them as JSON', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-all', '-w', 'put,get,mixed,list,delete', '-n', '60', '-c', '8', '-s', '1KiB', '--ops', '60', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { results: Result[] };
    expect(out.results.map((x) => x.workload)).toEqual(['put', 'get', 'mixed', 'list', 'delete']);
    for (const x of out.results) {
      expect(x.errors, x.workload).toBe(0);
      expect(x.ops, x.workload).toBe(60);
      expect(x.latency.p99Ms).toBeGreaterThanOrEqual(x.latency.p50Ms);
    }
    expect(out.results[0].bytes).toBe(60 * 1024);
    expect(out.results[1].bytes).toBe(60 * 1024);
    // delete really deleted: the bucket is empty afterwards.
    expect(h.engine.listObjects('bench-all').contents).toEqual([]);
  });

  it('works after a put cut short by --ops on the objects it wrote, not on -n objects that do not exist', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-short', '-w', 'put,get,mixed,list,delete', '-n', '500', '-c', '2', '-s', '100', '--ops', '12', '--json']);
    const out = JSON.parse(r.stdout) as { results: Array<Result & { objects: number }> };
    expect(out.results.map((x) => [x.workload, x.objects, x.ops, x.errors])).toEqual([
      ['put', 500, 12, 0],
      ['get', 12, 12, 0],
      ['mixed', 12, 12, 0],
      ['list', 12, 12, 0],
      ['delete', 12, 12, 0],
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(h.engine.listObjects('bench-short').contents).toEqual([]);
  });

  it('prints a summary table, and writes the objects first when the first workload is a get', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-get', '-w', 'get', '-n', '20', '-c', '4', '-s', '3000']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\| workload \| size \|/);
    expect(r.stdout).toMatch(/\| get \| 3000 B \| log \| 4 \| 20 \|/);
    expect(h.engine.listObjects('bench-get').contents).toHaveLength(20);
  });

  it('uploads in parts with -w multipart (no untimed prepare), and the GET that follows verifies them', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-mp', '-w', 'multipart,get', '-n', '2', '-c', '2', '-s', '6MiB', '--part-size', '5MiB', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    expect(results.map((x) => [x.workload, x.ops, x.errors, x.bytes])).toEqual([
      ['multipart', 2, 0, 2 * 6 * 1024 * 1024],
      ['get', 2, 0, 2 * 6 * 1024 * 1024],
    ]);
    const keys = h.engine.listObjects('bench-mp').contents.map((c) => c.key);
    expect(keys).toHaveLength(2);
    for (const k of keys) expect((await h.engine.headObject('bench-mp', k)).etag).toMatch(/-2$/);
  });

  it('reports GET bytes that differ from what was written as verify errors and exits 1', async () => {
    const put = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-verify', '-w', 'put', '-n', '10', '-c', '2', '--seed', '1', '--json']);
    expect(put.code).toBe(0);
    const get = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-verify', '-w', 'get', '-n', '10', '-c', '2', '--seed', '2', '--no-prepare', '--json']);
    expect(get.code).toBe(1);
    const res = (JSON.parse(get.stdout) as { results: Result[] }).results[0];
    expect(res.errors).toBe(10);
    expect(res.errorsByKind.verify).toBe(10);
    expect(get.stderr).toMatch(/^sediment: 10 operation\(s\) failed/);
  });

  it('counts refused requests (a wrong secret) as errors', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-all', '-w', 'put', '-n', '5', '--access-key', ACCESS_KEY, '--secret-key', 'wrong', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sediment: cannot create bucket bench-all at .*HTTP 403 SignatureDoesNotMatch/);
  });

  it('refuses bad arguments with one line and exit status 2, sending nothing', async () => {
    for (const args of [['-s', '4XB'], ['-w', 'put,scan'], ['-c', '0'], ['--duration', 'soon'], ['--data-kind', 'pictures'], ['-w', 'mixed'], ['--endpoint', 'https://127.0.0.1:1'], ['-w', 'multipart', '--part-size', '1MiB']]) {
      const r = await run(['bench', '--endpoint', h.endpoint, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(h.engine.listBuckets().map((b) => b.name)).not.toContain('sediment-bench');
  });

  it('takes every seed the data generator takes, 0 included', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-seed', '-w', 'put,get', '-n', '3', '-c', '1', '-s', '100', '--seed', '0', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { results: Array<{ data: unknown; errors: number }> }).results.map((x) => [x.data, x.errors])).toEqual([
      [{ kind: 'log', seed: 0 }, 0],
      [{ kind: 'log', seed: 0 }, 0],
    ]);
    for (const seed of ['-1', '4294967296', '1.5', 'x']) {
      const bad = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-seed', '--seed', seed]);
      expect(bad.code, seed).toBe(2);
      expect(bad.stderr, seed).toMatch(/^sediment: option '--seed <n>' argument '.*' is invalid\. expected an integer from 0 to 4294967295\n$/);
    }
  });

  it('refuses an endpoint with a path, query or user part instead of dropping it', async () => {
    for (const endpoint of [`${h.endpoint}/s3`, `${h.endpoint}/s3/`, `${h.endpoint}?x=1`, `${h.endpoint}/#a`, h.endpoint.replace('http://', 'http://u:p@'), 'http://']) {
      const r = await run(['bench', '--endpoint', endpoint, '--bucket', 'bench-endpoint', '-n', '1']);
      expect(r.code, endpoint).toBe(2);
      expect(r.stderr.trim().split('\n'), endpoint).toHaveLength(1);
    }
    expect(h.engine.listBuckets().map((b) => b.name)).not.toContain('bench-endpoint');
    const ok = await run(['bench', '--endpoint', `${h.endpoint}/`, '--bucket', 'bench-endpoint', '-n', '1', '--json']);
    expect(ok.code).toBe(0);
  });

  it('fails requests a server never answers after --timeout, as timeout errors', async () => {
    // Answers the bucket creation, then swallows every request.
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url!.split('/').length === 2) req.on('end', () => res.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await run(['bench', '--endpoint', endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put', '-n', '2', '-c', '2', '--timeout', '300ms', '--json']);
      expect(r.code).toBe(1);
      const res = (JSON.parse(r.stdout) as { results: Result[] }).results[0];
      expect([res.ops, res.errors, res.errorsByKind]).toEqual([0, 2, { timeout: 2 }]);
      expect(r.stderr).toBe('sediment: 2 operation(s) failed (see "results")\n');
      const bad = await run(['bench', '--endpoint', endpoint, '--timeout', '0']);
      expect(bad.code).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('names the flags, not the load generator\'s option names, in what it refuses', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-s', '6GiB'], /^sediment: -s\/--size must be an integer in 0\.\.5368709120\n$/],
      [['-n', '2000000000'], /^sediment: -n\/--objects must be an integer in 1\.\.1000000000\n$/],
      [['-c', '5000'], /^sediment: -c\/--concurrency must be an integer in 1\.\.4096\n$/],
      [['--workers', '8', '-c', '4'], /^sediment: --workers must not exceed -c\/--concurrency\n$/],
      [['-w', 'mixed'], /^sediment: mixed needs --ops or -d\/--duration\n$/],
      [['-w', 'put,delete', '-n', '5', '--ops', '6'], /^sediment: delete cannot run more operations than -n\/--objects\n$/],
      [['-w', 'multipart', '--part-size', '1MiB'], /^sediment: --part-size must be an integer in 5242880\.\.5368709120/],
      [['--parts-in-flight', '65'], /^sediment: --parts-in-flight must be/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['bench', '--endpoint', h.endpoint, '--bucket', 'bench-flags', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('reports progress on a non-terminal stderr too, as plain lines', async () => {
    // A slow server (each answer after 40 ms) keeps a one-lane run light while it outlasts one progress interval.
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.end(), 40));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await run(['bench', '--endpoint', endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put', '-n', '1000', '-c', '1', '-s', '10', '-d', '6s']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^put: \d+ ops, \d+ ops\/s, 0 errors, \d+\.\d s\n/m);
      expect(r.stderr).not.toMatch(/[\r\x1b]/);
      expect(r.stderr).not.toMatch(/wrote/); // no workload follows that would use fewer objects
      expect(r.stdout).toMatch(/^\| workload \|/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('uses an existing bucket its keys may use but not create', async () => {
    // CreateBucket: 403 AccessDenied; HeadBucket: 200; objects: stored.
    const methods: string[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const bucketLevel = req.url!.split('/').length === 2;
        methods.push(`${req.method} ${bucketLevel ? 'bucket' : 'object'}`);
        if (bucketLevel && req.method === 'PUT') {
          res.writeHead(403, { 'content-type': 'application/xml' });
          return void res.end('<Error><Code>AccessDenied</Code></Error>');
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await run(['bench', '--endpoint', endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put', '-n', '2', '-c', '1', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(methods).toEqual(['PUT bucket', 'HEAD bucket', 'PUT object', 'PUT object']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('needs credentials', async () => {
    const r = await run(['bench', '--endpoint', h.endpoint, '--data', join(h.dir, 'nowhere')], { SEDIMENT_ACCESS_KEY: '', SEDIMENT_SECRET_KEY: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no credentials/);
  });

  it('stops on Ctrl-C: the requests in flight finish, the results so far are printed, exit status 130', async () => {
    // A server that holds every object PUT until the client has taken the SIGINT.
    const held: Array<ServerResponse> = [];
    let puts = 0;
    let release!: () => void;
    const threeHeld = new Promise<void>((resolve) => (release = resolve));
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.url!.split('/').length === 2) return void res.end();
        puts++;
        held.push(res);
        if (held.length === 3) release();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const args = ['bench', '--endpoint', endpoint, '--access-key', 'a', '--secret-key', 'b', '-w', 'put,get', '-n', '100', '-c', '3', '-s', '10', '--json'];
      const { code, stdout, stderr } = await runInterrupted(args, threeHeld, () => {
        for (const res of held.splice(0)) res.end();
      });
      expect(code).toBe(130);
      const out = JSON.parse(stdout) as { interrupted: boolean; results: Array<Result & { opsIssued: number }> };
      expect(out.interrupted).toBe(true);
      expect(out.results.map((x) => [x.workload, x.ops, x.opsIssued, x.errors])).toEqual([['put', 3, 3, 0]]);
      expect(puts).toBe(3);
      expect(stderr).toMatch(/sediment: interrupted by SIGINT\n$/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
