// Large GETs over HTTP send lent engine memory (ops-object.ts sendLent): each group buffer goes back to the
// engine only in the socket write's callback. Clients here read slowly (the socket buffer fills and the
// server waits for 'drain'), or go away mid-body, while other GETs reuse the buffers: every byte must still
// be right, the server must stay up, and stopped streams must give their read-ahead back.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex, mapLimit } from './helpers/s3-data.js';
import { objectPath, signHeaders, signedRequest, streamGet, streamPut } from './helpers/s3-raw.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';
import { logLike } from './helpers/engine-helpers.js';
import { Readable } from 'node:stream';

const BUCKET = 'lend';
let h: S3Harness;
const bodies = new Map<string, Buffer>();


beforeAll(async () => {
  h = await startHarness({ workerThreads: 2 });
  expect((await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port: h.port })).status).toBe(200);
  // several 1 MiB chunks each (the engine's default), compressed: GET groups decompressed into lent buffers
  for (let i = 0; i < 4; i++) {
    const b = logLike((5 << 20) + i * 77_777, 40 + i);
    bodies.set(`obj${i}`, b);
    const res = await streamPut({ port: h.port }, objectPath(BUCKET, `obj${i}`), Readable.from([b]), b.length);
    expect(res.status).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** GET that reads `pause` ms after each piece it receives (pausing the socket meanwhile). */
function slowGet(key: string, pauseMs: number): Promise<Buffer> {
  return streamGet({ port: h.port }, objectPath(BUCKET, key), async (res, status) => {
    expect(status).toBe(200);
    const parts: Buffer[] = [];
    for await (const p of res) {
      parts.push(p);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
    return Buffer.concat(parts);
  });
}

/** GET that reads `bytes` of the body and then destroys its socket. */
function abandonedGet(key: string, bytes: number): Promise<number> {
  const path = objectPath(BUCKET, key);
  const s = signHeaders({ method: 'GET', path, port: h.port });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, method: 'GET', path, headers: s.headers, agent: false }, (res) => {
      let got = 0;
      res.on('data', (p: Buffer) => {
        got += p.length;
        if (got >= bytes) {
          req.destroy();
          resolve(got);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

describe('large GETs of lent memory', () => {
  it('are exact with slow and fast readers at once', async () => {
    const keys = [...bodies.keys()];
    const jobs = Array.from({ length: 12 }, (_, i) => ({ key: keys[i % keys.length]!, pauseMs: i % 3 === 0 ? 0 : i % 3 === 1 ? 2 : 8 }));
    const got = await mapLimit(jobs, 6, (j) => slowGet(j.key, j.pauseMs));
    got.forEach((b, i) => expect(md5Hex(b), `${jobs[i]!.key} pause ${jobs[i]!.pauseMs}`).toBe(md5Hex(bodies.get(jobs[i]!.key)!)));
    expect(h.engine.stats().getBuffersReused).toBeGreaterThan(0);
  }, 60_000);

  it('survive clients that go away mid-body, and give their read-ahead back', async () => {
    const created = h.engine.stats().getBuffersCreated;
    for (let round = 0; round < 3; round++) {
      const cut = await Promise.all([...bodies.keys()].map((k, i) => abandonedGet(k, (i + 1) * 300_000)));
      for (const n of cut) expect(n).toBeGreaterThan(0);
      // GETs right after, while the abandoned streams unwind
      for (const [k, b] of bodies) expect(md5Hex(await slowGet(k, 0)), k).toBe(md5Hex(b));
    }
    await new Promise((r) => setTimeout(r, 100));
    const s = h.engine.stats();
    expect(s.readAheadBytes).toBe(0);
    // 12 abandoned streams, each with groups in flight: had their buffers not come back, each would have
    // cost new ones in the GETs that followed
    expect(s.getBuffersCreated - created).toBeLessThanOrEqual(8);
    const health = await signedRequest({ method: 'GET', path: '/_sediment/health', port: h.port });
    expect(health.status).toBe(200);
  }, 60_000);
});
