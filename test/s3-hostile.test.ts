// Hostile HTTP input against the S3 front (in-process server on a real temp directory, 127.0.0.1):
// slow clients (headers trickled, a body that stalls), huge and numerous headers, hundreds of
// simultaneous connections, raw garbage, and keys with "..", NUL, invalid UTF-8 and overlong names.
// The server stays up and answers a health check after each attack; keys are opaque names (stored and
// returned as they are, or refused with a 4xx), never paths: no file appears outside the data directory;
// nothing half-sent is stored. Bounded: the attacks use short server timeouts set for this test.
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { createS3Server, type S3Server } from '../src/s3/server.js';
import { errorCode, rawRequest, signHeaders, signedRequest } from './helpers/s3-raw.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from './helpers/s3-server.js';

const BUCKET = 'hostile';
const HEADERS_TIMEOUT_MS = 600;
const IDLE_TIMEOUT_MS = 800;

let root: string;
let engine: Engine;
let s3: S3Server;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sediment-hostile-'));
  engine = await Engine.open({ dir: join(root, 'data'), workerThreads: 0, onWarning: () => undefined });
  s3 = createS3Server({
    engine,
    credentials: [{ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }],
    region: REGION,
    logLevel: 'silent',
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
  });
  await new Promise<void>((resolve) => s3.server.listen(0, '127.0.0.1', resolve));
  port = (s3.server.address() as AddressInfo).port;
  expect((await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port })).status).toBe(200);
});

afterAll(async () => {
  s3.server.closeAllConnections();
  await s3.shutdown(1000);
  await engine.close();
  rmSync(root, { recursive: true, force: true });
});

async function healthy(): Promise<void> {
  const res = await rawRequest(port, { method: 'GET', path: '/_sediment/health' });
  expect(res.status).toBe(200);
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves when the server closes the socket, with what it sent. */
function closed(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow clients', () => {
  it('connections trickling their headers are closed after the header deadline; others are served meanwhile', async () => {
    const sockets = await Promise.all(Array.from({ length: 40 }, open));
    const ends = sockets.map(closed);
    let stop = false;
    const trickle = (async () => {
      await Promise.all(sockets.map((s) => s.write('GET /_sediment/health HTTP/1.1\r\nHost: x\r\n')));
      for (let i = 0; !stop && i < 200; i++) {
        for (const s of sockets) if (!s.destroyed) s.write(`X-Slow-${i}: y\r\n`);
        await sleep(100);
      }
    })();
    await healthy();
    const outcome = await Promise.race([Promise.all(ends).then(() => 'all closed'), sleep(15_000).then(() => 'still open')]);
    stop = true;
    await trickle;
    for (const s of sockets) s.destroy();
    expect(outcome).toBe('all closed');
    await healthy();
  });

  it('a body that stalls is cut by the idle timeout and nothing is stored', async () => {
    const path = `/${BUCKET}/stalled`;
    const h = signHeaders({ method: 'PUT', path, port, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': String(1 << 20) } });
    const s = await open();
    const end = closed(s);
    s.write(`PUT ${path} HTTP/1.1\r\n${Object.entries(h.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    s.write(Buffer.alloc(1000, 1));
    const outcome = await Promise.race([end.then(() => 'closed'), sleep(15_000).then(() => 'still open')]);
    s.destroy();
    expect(outcome).toBe('closed');
    await expect(engine.headObject(BUCKET, 'stalled')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
    await healthy();
  });
});

describe('oversized and malformed requests', () => {
  it('a 100 KiB header and 1000 headers are refused without harm', async () => {
    const big = await rawRequest(port, { method: 'GET', path: '/_sediment/health', headers: { 'x-big': 'a'.repeat(100 * 1024) } }).catch((err: Error) => ({ status: 0, err }));
    expect([0, 400, 431]).toContain(big.status);
    const many: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) many[`x-h${i}`] = String(i);
    const res = await rawRequest(port, { method: 'GET', path: `/${BUCKET}`, headers: many }).catch((err: Error) => ({ status: 0, err }));
    expect([0, 400, 403, 431]).toContain(res.status);
    await healthy();
  });

  it('raw garbage and a broken request line get 400 (or a closed socket), never a crash', async () => {
    for (const junk of [Buffer.from('\x00\x01\x02 garbage\r\n\r\n'), Buffer.from('GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from('PUT /a HTTP/1.1\r\nContent-Length: -5\r\n\r\n'), Buffer.from('GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n')]) {
      const s = await open();
      const end = closed(s);
      s.write(junk);
      const got = await Promise.race([end, sleep(10_000).then(() => 'timeout')]);
      s.destroy();
      expect(got === '' || /^HTTP\/1\.1 4\d\d /.test(got), JSON.stringify(got.slice(0, 80))).toBe(true);
    }
    await healthy();
  });

  it('hundreds of simultaneous connections are all answered', async () => {
    const n = 400;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 4 === 0
          ? signedRequest({ method: 'PUT', path: `/${BUCKET}/many/${i}`, port, body: `body ${i}` }).then((r) => r.status)
          : rawRequest(port, { method: 'GET', path: '/_sediment/health' }).then((r) => r.status),
      ),
    );
    expect(results.filter((s) => s !== 200)).toEqual([]);
    expect(engine.listObjects(BUCKET, { prefix: 'many/' }).contents).toHaveLength(n / 4);
    await healthy();
  });
});

describe('hostile keys', () => {
  const keys: Array<[string, string]> = [
    ['dot-dot', '../../../../etc/passwd'],
    ['dot-dot inside', 'a/../../b/../../../x'],
    ['dot segments only', '../..'],
    ['backslashes', '..\\..\\windows\\system32'],
    ['absolute-looking', '/etc/shadow'],
    ['NUL', 'a\u0000b'],
    ['control characters', 'line\nbreak\ttab'],
    ['long', 'k'.repeat(1024)],
    ['too long', 'k'.repeat(1025)],
  ];

  it.each(keys)('%s: stored and returned as an opaque name, or refused with a 4xx; no file outside the data directory', async (_what, key) => {
    const path = `/${BUCKET}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
    const put = await signedRequest({ method: 'PUT', path, port, body: `content of ${JSON.stringify(key)}` });
    expect(put.status, put.body.toString()).not.toBe(500);
    if (put.status === 200) {
      const get = await signedRequest({ method: 'GET', path, port });
      expect([get.status, get.body.toString()]).toEqual([200, `content of ${JSON.stringify(key)}`]);
      expect((await engine.headObject(BUCKET, key)).key).toBe(key);
    } else {
      expect(put.status).toBeGreaterThanOrEqual(400);
      expect(put.status).toBeLessThan(500);
      expect(errorCode(put)).toBeDefined();
    }
    expect(readdirSync(root)).toEqual(['data']);
    expect(readdirSync(join(root, 'data')).sort()).toEqual(expect.arrayContaining(['segments']));
    for (const entry of readdirSync(join(root, 'data'), { recursive: true }) as string[]) {
      expect(entry).toMatch(/^(FORMAT|LOCK|manifest|segments|checkpoints|tmp|credentials\.json)(\/[0-9]+\.(seg|ckpt))?$/);
    }
  });

  it('invalid UTF-8 and encoded NUL in the path are refused with 400, never stored', async () => {
    for (const raw of ['%C0%AF', '%FF%FE', '%ED%A0%80', 'a%00b', '%E2%82']) {
      const res = await signedRequest({ method: 'PUT', path: `/${BUCKET}/bad-${raw}`, port, body: 'x' });
      if (res.status === 200) {
        // An accepted name must read back under the same request target.
        const get = await signedRequest({ method: 'GET', path: `/${BUCKET}/bad-${raw}`, port });
        expect(get.status, raw).toBe(200);
      } else {
        expect(res.status, `${raw}: ${res.body}`).toBe(400);
      }
    }
    expect(readdirSync(root)).toEqual(['data']);
    await healthy();
  });
});
