// The S3 load generator (src/loadgen): its signer against the reference signer, its deterministic data
// and byte verification, its histogram, and bounded runs of every workload against the bare bench
// server and an in-process sediment server (zero errors, every GET byte verified), plus a bare server
// that flips a byte in every GET body, which must count as errors. The runs go over both HTTP clients
// (raw sockets and node:http), which must agree.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareServer } from '../bench/servers/bare-server.js';
import { Engine } from '../src/index.js';
import {
  dataPool,
  ObjectVerifier,
  objectBody,
  objectOffset,
  objectPieces,
  POOL_BYTES,
  type DataSpec,
} from '../src/loadgen/data.js';
import { LatencyHistogram } from '../src/loadgen/histogram.js';
import { CONTROL_NEXT_OP, createControl, runLanes } from '../src/loadgen/lanes.js';
import { objectKeySuffix, validateOptions, type WorkloadOptions } from '../src/loadgen/options.js';
import { prepareObjects, runWorkload, type WorkloadResult } from '../src/loadgen/run-workload.js';
import { S3LoadClient } from '../src/loadgen/s3-client.js';
import { formatSummary } from '../src/loadgen/summary.js';
import { RequestSigner } from '../src/loadgen/signer.js';
import { HTTP_CLIENTS, type HttpClientKind } from '../src/loadgen/transport.js';
import { createS3Server, type S3Server } from '../src/s3/server.js';
import { signRequest } from '../src/s3/sigv4-sign.js';

const LOG: DataSpec = { kind: 'log', seed: 7 };
const RANDOM: DataSpec = { kind: 'random', seed: 7 };
const AK = 'AKIDLOADGENTEST00001';
const SK = 'loadgen/test+secret/Key0123456789abcdefgh';

function concat(pieces: Iterable<Buffer>): Buffer {
  return Buffer.concat([...pieces]);
}

describe('signer', () => {
  const now = Date.UTC(2026, 4, 17, 12, 34, 56);
  const signer = new RequestSigner({ accessKeyId: AK, secretAccessKey: SK, region: 'eu-west-3' }, () => now);
  const cases: Array<[string, string, string, Array<[string, string]>]> = [
    ['PUT', '/bench/small/000000001', '', [['x-amz-meta-loadgen', 'log;7']]],
    ['GET', '/bench/a%20key/%E2%82%AC.log', '', []],
    ['GET', '/bench', 'continuation-token=abc%2Fdef&list-type=2&max-keys=1000&prefix=small%2F', []],
  ];
  for (const [method, path, query, extra] of cases) {
    it(`matches signRequest for ${method} ${path}${query ? '?' + query : ''}`, () => {
      const fast = signer.sign(method, path, query, '127.0.0.1:9000', 'UNSIGNED-PAYLOAD', extra);
      const ref = signRequest({
        method,
        url: `http://127.0.0.1:9000${path}${query ? '?' + query : ''}`,
        headers: Object.fromEntries(extra),
        payloadHash: 'UNSIGNED-PAYLOAD',
        accessKeyId: AK,
        secretKey: SK,
        region: 'eu-west-3',
        date: new Date(now),
      });
      expect(fast.authorization).toBe(ref.authorization);
      expect(fast.amzDate).toBe(ref.amzDate);
    });
  }
});

describe('deterministic data', () => {
  it('gives the same bytes for the same key, different bytes for another key', () => {
    const a = objectBody(LOG, 'k/1', 4096);
    expect(objectBody(LOG, 'k/1', 4096).equals(a)).toBe(true);
    expect(objectBody(LOG, 'k/2', 4096).equals(a)).toBe(false);
    expect(objectBody(RANDOM, 'k/1', 4096).equals(a)).toBe(false);
    expect(/^[\x20-\x7e\n]+$/.test(a.toString('latin1'))).toBe(true);
  });

  it('streams in pieces of at most the piece size, wrapping around the pool', () => {
    let key = '';
    for (let i = 0; ; i++) {
      key = `wrap/${i}`;
      if (objectOffset(LOG, key, POOL_BYTES) > POOL_BYTES - 100_000) break;
    }
    const size = 300_000;
    const pieces = [...objectPieces(LOG, key, size, 64 * 1024)];
    expect(pieces.every((p) => p.length <= 64 * 1024)).toBe(true);
    const body = concat(pieces);
    expect(body.length).toBe(size);
    const pool = dataPool(LOG);
    const at = objectOffset(LOG, key, POOL_BYTES);
    expect(body.subarray(0, POOL_BYTES - at).equals(pool.subarray(at))).toBe(true);
    expect(body.subarray(POOL_BYTES - at).equals(pool.subarray(0, size - (POOL_BYTES - at)))).toBe(true);
    expect(objectBody(LOG, key, size).equals(body)).toBe(true);
  });

  it('verifies any chunking, and names wrong, missing and extra bytes', () => {
    const body = concat(objectPieces(RANDOM, 'v/1', 200_000));
    const feed = (b: Buffer, step: number): string | undefined => {
      const v = new ObjectVerifier(RANDOM, 'v/1', 200_000);
      for (let i = 0; i < b.length; i += step) v.update(b.subarray(i, i + step));
      return v.finish();
    };
    expect(feed(body, 1)).toBeUndefined();
    expect(feed(body, 65_537)).toBeUndefined();
    const flipped = Buffer.from(body);
    flipped[123_456] ^= 0x40;
    expect(feed(flipped, 4096)).toBe(`v/1: wrong bytes from byte 123456 of 200000 (0x${(body[123_456]! ^ 0x40).toString(16).padStart(2, '0')}, expected 0x${body[123_456]!.toString(16).padStart(2, '0')})`);
    expect(feed(flipped, 200_000)).toMatch(/^v\/1: wrong bytes from byte 123456 of 200000 /); // one chunk: the same byte named
    expect(feed(body.subarray(0, 199_999), 4096)).toMatch(/199999 bytes, expected 200000/);
    expect(feed(Buffer.concat([body, Buffer.alloc(1)]), 4096)).toMatch(/longer than/);
  });
});

describe('latency histogram', () => {
  it('reads quantiles within the bucket error and merges', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) (i % 2 ? a : b).recordMs(i / 100); // 0.01 .. 100 ms
    a.merge(b.snapshot());
    const s = a.summary();
    expect(s.count).toBe(10_000);
    expect(s.p50Ms).toBeGreaterThan(50 * 0.96);
    expect(s.p50Ms).toBeLessThan(50 * 1.04);
    expect(s.p99Ms).toBeGreaterThan(99 * 0.96);
    expect(s.p99Ms).toBeLessThan(99 * 1.04);
    expect(s.maxMs).toBe(100);
    expect(s.meanMs).toBeCloseTo(50.005, 2);
  });
});

describe('options', () => {
  it('refuses out-of-range values with the option named', () => {
    const base: WorkloadOptions = { endpoint: 'http://127.0.0.1:1', accessKeyId: 'a', secretAccessKey: 'b', region: 'r', workload: 'put', bucket: 'b', prefix: '', objectBytes: 1, objects: 1, concurrency: 1, data: LOG };
    expect(() => validateOptions({ ...base, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => validateOptions({ ...base, workload: 'list' })).toThrow(/opsMax or durationMs/);
    expect(() => validateOptions({ ...base, workers: 2 })).toThrow(/workers/);
    expect(() => validateOptions({ ...base, httpClient: 'curl' as never })).toThrow(/HTTP client/);
    expect(() => validateOptions({ ...base, partBytes: 5 * 1024 * 1024 - 1 })).toThrow(/partBytes/);
    expect(() => validateOptions({ ...base, partBytes: 5 * 1024 ** 3 + 1 })).toThrow(/partBytes/);
    expect(() => validateOptions({ ...base, partsInFlight: 0 })).toThrow(/partsInFlight/);
    expect(validateOptions({ ...base, workload: 'multipart' }).partBytes).toBe(8 * 1024 * 1024);
    expect(validateOptions(base).verify).toBe(true);
    expect(validateOptions(base).httpClient).toBe('raw');
    expect(objectKeySuffix(12)).toBe('000000012');
  });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function expectClean(r: WorkloadResult, ops: number): void {
  expect(r.errorSamples).toEqual([]);
  expect(r.errors).toBe(0);
  expect(r.ops).toBe(ops);
  expect(r.latency.count).toBe(ops);
}

/** Every workload, small and streamed bodies, against one endpoint; all must be error-free. */
async function exerciseEndpoint(endpoint: string, accessKeyId: string, secretAccessKey: string, httpClient: HttpClientKind): Promise<void> {
  const admin = new S3LoadClient({ endpoint, accessKeyId, secretAccessKey, region: 'us-east-1', connectionsMax: 1, timeoutMs: 10_000, httpClient });
  await admin.createBucket('loadgen');
  await admin.createBucket('loadgen'); // already owned: fine
  admin.close();
  const base = { endpoint, accessKeyId, secretAccessKey, region: 'us-east-1', bucket: 'loadgen', concurrency: 8, data: LOG, timeoutMs: 10_000, httpClient } as const;
  const small = { ...base, prefix: `${httpClient}/small/`, objectBytes: 4096, objects: 300 };

  const put = await runWorkload({ ...small, workload: 'put' });
  expectClean(put, 300);
  expect(put.httpClient).toBe(httpClient);
  expect(put.bytes).toBe(300 * 4096);
  expect(put.opsIssued).toBe(300);
  expect(formatSummary([put])).toMatch(/^\| workload .*\n.*\n\| put \| 4 KiB \| log \| 8 \| 300 \| /);
  expectClean(await runWorkload({ ...small, workload: 'get' }), 300);
  expectClean(await runWorkload({ ...small, workload: 'mixed', opsMax: 200, getPercent: 70 }), 200);
  const list = await runWorkload({ ...small, workload: 'list', listPageKeys: 100, opsMax: 6, concurrency: 1 });
  expectClean(list, 6); // two full passes of three pages

  const large = { ...base, data: RANDOM, prefix: `${httpClient}/large/`, objectBytes: 3 * 1024 * 1024 + 17, objects: 4, concurrency: 2 };
  expectClean(await runWorkload({ ...large, workload: 'put' }), 4);
  const get = await runWorkload({ ...large, workload: 'get' });
  expectClean(get, 4);
  expect(get.bytes).toBe(4 * large.objectBytes);

  expectClean(await runWorkload({ ...small, workload: 'delete' }), 300);
  const gone = await runWorkload({ ...small, workload: 'get', opsMax: 5 });
  expect(gone.errors).toBe(5);
  expect(gone.errorsByKind.status).toBe(5);
  expect(gone.errorSamples[0]).toMatch(/HTTP 404 NoSuchKey/);
}

describe('against the bare bench server', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    server = createBareServer();
    endpoint = await listen(server);
  });
  afterAll(() => close(server));

  it.each(HTTP_CLIENTS)('runs every workload without an error (%s client)', async (httpClient) => {
    await exerciseEndpoint(endpoint, 'unused', 'unused', httpClient);
  });

  it.each(HTTP_CLIENTS)('keeps one connection per lane (%s client)', async (httpClient) => {
    let connections = 0;
    const count = (): void => void connections++;
    server.on('connection', count);
    try {
      const o = { endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: `${httpClient}/conn/`, objectBytes: 4096, objects: 400, concurrency: 8, data: LOG, httpClient } as const;
      expectClean(await runWorkload({ ...o, workload: 'put' }), 400);
      expectClean(await runWorkload({ ...o, workload: 'get' }), 400);
    } finally {
      server.off('connection', count);
    }
    expect(connections).toBe(2 * 8); // each run opens its own connections and closes them at the end
  });

  it('stops a put at the duration and writes objects 0..n-1 without gaps', async () => {
    const r = await runWorkload({ endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'timed/', workload: 'put', objectBytes: 1024, objects: 1_000_000, durationMs: 200, concurrency: 4, data: LOG });
    expect(r.errors).toBe(0);
    expect(r.ops).toBe(r.opsIssued);
    expect(r.opsIssued).toBeLessThan(1_000_000);
    const g = await runWorkload({ endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'timed/', workload: 'get', objectBytes: 1024, objects: r.opsIssued, concurrency: 4, data: LOG });
    expectClean(g, r.opsIssued);
  });

  it('runs put and get for the whole duration, going round the objects, and delete only until they are gone', async () => {
    const o = { endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'round/', objectBytes: 512, objects: 3, durationMs: 300, concurrency: 1, data: LOG } as const;
    const put = await runWorkload({ ...o, workload: 'put' });
    expect(put.errors).toBe(0);
    expect(put.ops).toBe(put.opsIssued);
    expect(put.ops).toBeGreaterThan(3); // not stopped after the 3 objects
    const get = await runWorkload({ ...o, workload: 'get' });
    expectClean(get, get.opsIssued);
    expect(get.ops).toBeGreaterThan(3);
    const del = await runWorkload({ ...o, workload: 'delete', durationMs: 60_000 });
    expectClean(del, 3);
    // --ops still wins over the duration.
    expectClean(await runWorkload({ ...o, workload: 'put', opsMax: 2 }), 2);
  });

  it('numbers operations past 2^31 without wrapping round to negative numbers', async () => {
    const options = validateOptions({ endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'wrap/', workload: 'put', objectBytes: 10, objects: 5, opsMax: 2 ** 31 + 1, concurrency: 1, data: LOG });
    const control = createControl();
    Atomics.store(control, CONTROL_NEXT_OP, BigInt(2 ** 31 - 2)); // a long run's counter
    // Operations 2^31-2, 2^31-1 and 2^31, then the limit; a wrapped counter would go on until the deadline.
    const stats = await runLanes({ options, control, lanes: 1, firstLane: 0, deadlineEpochMs: Date.now() + 3000 });
    expect([stats.ops, stats.errors]).toEqual([3, 0]);
  });

  it('lists its own objects past other keys under the prefix, and still misses none of them', async () => {
    const o = { endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'left/', objectBytes: 10, concurrency: 1, data: LOG } as const;
    expectClean(await runWorkload({ ...o, workload: 'put', objects: 10 }), 10); // an earlier, larger run
    // 10 keys in pages of 3: a pass is 4 pages, of which objects 0..3 are the run's.
    expectClean(await runWorkload({ ...o, workload: 'list', objects: 4, listPageKeys: 3, opsMax: 8 }), 8);
    const admin = new S3LoadClient({ ...o, connectionsMax: 1, timeoutMs: 10_000 });
    await admin.deleteObject('loadgen', `left/${objectKeySuffix(2)}`);
    admin.close();
    const missing = await runWorkload({ ...o, workload: 'list', objects: 4, listPageKeys: 3, opsMax: 3 });
    expect(missing.errorsByKind).toEqual({ verify: 1 });
    expect(missing.errorSamples[0]).toMatch(/a full pass saw 3 of the 4 objects/);
  });
});

describe('against a bare server that corrupts GET bodies', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    server = createBareServer({ corrupt: true });
    endpoint = await listen(server);
  });
  afterAll(() => close(server));

  it.each(HTTP_CLIENTS)('counts every corrupted GET as a verify error, small and large (%s client)', async (httpClient) => {
    for (const [objectBytes, objects] of [[4096, 50], [2 * 1024 * 1024, 3]] as const) {
      const o = { endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: `${httpClient}/c${objectBytes}/`, objectBytes, objects, concurrency: 4, data: LOG, httpClient } as const;
      await prepareObjects({ ...o, workload: 'put' });
      const r = await runWorkload({ ...o, workload: 'get' });
      expect(r.ops).toBe(0);
      expect(r.errors).toBe(objects);
      expect(r.errorsByKind).toEqual({ verify: objects });
      expect(r.errorSamples[0]).toMatch(/wrong bytes/);
      const unverified = await runWorkload({ ...o, workload: 'get', verify: false });
      expect(unverified.errors).toBe(0);
    }
  });
});

describe('against an in-process sediment server', () => {
  let dir: string;
  let engine: Engine;
  let s3: S3Server;
  let endpoint: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sediment-loadgen-test-'));
    engine = await Engine.open({ dir, workerThreads: 0, onWarning: () => undefined });
    s3 = createS3Server({ engine, credentials: [{ accessKeyId: AK, secretAccessKey: SK }], region: 'us-east-1', logLevel: 'silent' });
    endpoint = await listen(s3.server);
  });
  afterAll(async () => {
    await s3.shutdown(5_000);
    s3.server.closeAllConnections();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(HTTP_CLIENTS)('runs every workload without an error (SigV4 accepted, bytes verified; %s client)', async (httpClient) => {
    await exerciseEndpoint(endpoint, AK, SK, httpClient);
  });

  it.each(HTTP_CLIENTS)('uploads objects in parts (three at once) that GET then verifies, leaving no upload open (%s client)', async (httpClient) => {
    const o = { endpoint, accessKeyId: AK, secretAccessKey: SK, region: 'us-east-1', bucket: 'loadgen', prefix: `${httpClient}/mp/`, objectBytes: 11 * 1024 * 1024 + 5, objects: 2, concurrency: 2, data: RANDOM, httpClient, partBytes: 5 * 1024 * 1024, partsInFlight: 3 } as const;
    const up = await runWorkload({ ...o, workload: 'multipart' });
    expectClean(up, 2);
    expect(up.bytes).toBe(2 * o.objectBytes);
    for (let i = 0; i < 2; i++) {
      const head = await engine.headObject('loadgen', `${o.prefix}${objectKeySuffix(i)}`);
      expect(head.etag).toMatch(/-3$/); // 5 + 5 + 1 MiB and 5 bytes
      expect(head.size).toBe(o.objectBytes);
    }
    expectClean(await runWorkload({ ...o, workload: 'get' }), 2);
    expect(engine.listMultipartUploads('loadgen')).toEqual([]);
    const denied = await runWorkload({ ...o, secretAccessKey: 'wrong', workload: 'multipart' });
    expect(denied.errors).toBe(2);
    expect(denied.errorSamples[0]).toMatch(/CreateMultipartUpload .*HTTP 403 SignatureDoesNotMatch/);
  });

  it.each(HTTP_CLIENTS)('counts a wrong secret as status errors (%s client)', async (httpClient) => {
    const r = await runWorkload({ endpoint, accessKeyId: AK, secretAccessKey: 'wrong', region: 'us-east-1', bucket: 'loadgen', prefix: 'x/', workload: 'put', objectBytes: 10, objects: 3, concurrency: 1, data: LOG, httpClient });
    expect(r.errors).toBe(3);
    expect(r.errorSamples[0]).toMatch(/HTTP 403 SignatureDoesNotMatch/);
  });
});

describe('against a server that drops the second request of every connection unanswered', () => {
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    const served = new WeakMap<object, number>();
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const n = (served.get(req.socket) ?? 0) + 1;
        served.set(req.socket, n);
        if (n === 2) req.socket.destroy();
        else res.end();
      });
    });
    endpoint = await listen(server);
  });
  afterAll(() => close(server));

  it.each(HTTP_CLIENTS)('counts the requests it had to send again, which the summary reports (%s client)', async (httpClient) => {
    const r = await runWorkload({ endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'drop/', workload: 'put', objectBytes: 10, objects: 4, concurrency: 1, data: LOG, httpClient });
    expectClean(r, 4); // each retry got an answer on a fresh connection
    expect(r.retries).toBe(3);
    expect(formatSummary([r])).toMatch(/\nput 10 B: 3 request\(s\) sent again: the server closed a kept-alive connection without answering them$/);
  });
});

describe('multipart against a server that refuses a part', () => {
  it.each(HTTP_CLIENTS)('counts the upload as an error and aborts it (%s client)', async (httpClient) => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST' && req.url!.endsWith('?uploads=')) {
          res.writeHead(200, { 'content-type': 'application/xml' }).end('<InitiateMultipartUploadResult><UploadId>up&amp;1</UploadId></InitiateMultipartUploadResult>');
        } else if (req.method === 'PUT' && req.url!.includes('partNumber=2')) {
          res.writeHead(500, { 'content-type': 'application/xml' }).end('<Error><Code>InternalError</Code></Error>');
        } else if (req.method === 'PUT') {
          res.writeHead(200, { etag: '"abc"' }).end();
        } else {
          res.writeHead(204).end();
        }
      });
    });
    const endpoint = await listen(server);
    try {
      const r = await runWorkload({ endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'b', prefix: 'p/', workload: 'multipart', objectBytes: 6 * 1024 * 1024, partBytes: 5 * 1024 * 1024, objects: 1, concurrency: 1, data: LOG, httpClient });
      expect(r.errors).toBe(1);
      expect(r.errorSamples[0]).toMatch(/UploadPart 2 of p\/000000000: HTTP 500 InternalError/);
      expect(seen).toEqual(['POST /b/p/000000000?uploads=', 'PUT /b/p/000000000?partNumber=1&uploadId=up%261', 'PUT /b/p/000000000?partNumber=2&uploadId=up%261', 'DELETE /b/p/000000000?uploadId=up%261']);
      // Parts in flight at once: the abort comes after every part sent has been answered, and no completion.
      seen.length = 0;
      const wide = await runWorkload({ endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'b', prefix: 'q/', workload: 'multipart', objectBytes: 40 * 1024 * 1024, partBytes: 5 * 1024 * 1024, partsInFlight: 3, objects: 1, concurrency: 1, data: LOG, httpClient });
      expect(wide.errors).toBe(1);
      expect(seen[0]).toBe('POST /b/q/000000000?uploads=');
      expect(seen.at(-1)).toBe('DELETE /b/q/000000000?uploadId=up%261');
      expect(seen.some((s) => s.startsWith('POST /b/q/000000000?uploadId'))).toBe(false); // never completed
    } finally {
      await close(server);
    }
  });
});

describe('worker threads', () => {
  // Worker threads run compiled JavaScript: this uses the build that `npm test` makes first.
  const workerUrl = new URL('../dist/src/loadgen/worker-entry.js', import.meta.url);
  let server: Server;
  let endpoint: string;
  beforeAll(async () => {
    server = createBareServer();
    endpoint = await listen(server);
  });
  afterAll(() => close(server));

  it('spread lanes over threads, issue every operation once and merge their stats', async () => {
    if (!existsSync(workerUrl)) throw new Error(`${fileURLToPath(workerUrl)} is missing: build first (npm test runs tsc)`);
    const o = { endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'w/', objectBytes: 4096, objects: 400, concurrency: 6, workers: 3, data: LOG } as const;
    const put = await runWorkload({ ...o, workload: 'put' }, { workerUrl });
    expectClean(put, 400);
    expect(put.workers).toBe(3);
    const get = await runWorkload({ ...o, workload: 'get', opsMax: 1000, objects: 400 }, { workerUrl });
    expectClean(get, 1000);
    const timed = await runWorkload({ ...o, prefix: 'wt/', workload: 'put', objects: 1_000_000, durationMs: 300 }, { workerUrl });
    expect(timed.errors).toBe(0);
    expect(timed.ops).toBe(timed.opsIssued);
    expectClean(await runWorkload({ ...o, prefix: 'wt/', workload: 'get', objects: timed.opsIssued }, { workerUrl }), timed.opsIssued);
    expectClean(await runWorkload({ ...o, workload: 'get', httpClient: 'node-http' }, { workerUrl }), 400); // the option crosses to the threads
  });

  it('merge the GET and PUT figures of a mixed run by kind, and the totals are their sums', async () => {
    const o = { endpoint, accessKeyId: 'a', secretAccessKey: 'b', region: 'us-east-1', bucket: 'loadgen', prefix: 'wm/', objectBytes: 1000, objects: 50, concurrency: 4, workers: 2, data: LOG } as const;
    await prepareObjects({ ...o, workload: 'put', workers: 1 });
    const r = await runWorkload({ ...o, workload: 'mixed', opsMax: 300, getPercent: 70 }, { workerUrl });
    expectClean(r, 300);
    expect(Object.keys(r.operations)).toEqual(['get', 'put']);
    const { get, put } = r.operations;
    expect(get!.ops + put!.ops).toBe(300);
    expect([get!.ops > 0, put!.ops > 0]).toEqual([true, true]); // 300 draws at 70/30
    for (const x of [get!, put!]) {
      expect(x.latency.count).toBe(x.ops);
      expect(x.bytes).toBe(x.ops * 1000);
      expect(x.errors).toBe(0);
    }
    expect(r.latency.maxMs).toBe(Math.max(get!.latency.maxMs, put!.latency.maxMs));
    expect(r.bytes).toBe(get!.bytes + put!.bytes);
  });
});
