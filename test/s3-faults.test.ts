// I/O faults seen through the S3 front (in-process server, engine on an in-memory disk behind
// test/helpers/fault-fs.ts):
// - disk full: writes answer 507 InsufficientStorage saying so, reads go on, nothing is damaged, and
//   writes resume without a restart once space is freed;
// - a failed fdatasync: writes answer 503 ServiceUnavailable saying why (for good, until a restart),
//   reads of committed data go on;
// - EIO or a silently wrong byte on a read: an error (500 before the headers; a cut connection after
//   them, with a correct prefix only) — never wrong bytes; the next read works.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { createS3Server, type S3Server } from '../src/s3/server.js';
import { FaultFs } from './helpers/fault-fs.js';
import { mulberry32 } from './helpers/prng.js';
import { errorCode, objectPath, signHeaders, signedRequest, xmlField } from './helpers/s3-raw.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from './helpers/s3-server.js';

const CHUNK = 64 << 10;
const BUCKET = 'faults';

interface Rig {
  fs: FaultFs;
  engine: Engine;
  s3: S3Server;
  port: number;
}

let rig: Rig | undefined;

afterEach(async () => {
  if (!rig) return;
  rig.s3.server.closeAllConnections();
  await rig.s3.shutdown(1000);
  await rig.engine.close().catch(() => undefined);
  rig = undefined;
});

async function start(): Promise<Rig> {
  const fs = new FaultFs(new MemoryFileSystem());
  const engine = await Engine.open({ dir: '/data', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
  const s3 = createS3Server({ engine, credentials: [{ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }], region: REGION, logLevel: 'silent', partBytesMin: 1 });
  await new Promise<void>((resolve) => s3.server.listen(0, '127.0.0.1', resolve));
  rig = { fs, engine, s3, port: (s3.server.address() as AddressInfo).port };
  const res = await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port: rig.port });
  expect(res.status).toBe(200);
  return rig;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function put(r: Rig, key: string, body: Buffer) {
  return signedRequest({ method: 'PUT', path: objectPath(BUCKET, key), port: r.port, body });
}

/** GET that keeps whatever arrived before an error (a connection cut after the headers). */
function getPartial(r: Rig, key: string): Promise<{ status: number; body: Buffer; cut: boolean; length?: number }> {
  const path = objectPath(BUCKET, key);
  const s = signHeaders({ method: 'GET', path, port: r.port });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: r.port, method: 'GET', path, headers: s.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      const done = (cut: boolean) =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), cut, length: res.headers['content-length'] ? Number(res.headers['content-length']) : undefined });
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => done(false));
      res.on('error', () => done(true));
      res.on('aborted', () => done(true));
    });
    req.on('error', reject);
    req.end();
  });
}

async function expectIntact(r: Rig, objects: Map<string, Buffer>): Promise<void> {
  for (const [key, body] of objects) {
    const res = await getPartial(r, key);
    expect(res.status, key).toBe(200);
    expect(res.cut, key).toBe(false);
    expect(md5(res.body), key).toBe(md5(body));
  }
}

describe('disk full through S3', () => {
  it('PUT and UploadPart answer 507 InsufficientStorage; GET and LIST go on; PUT works again once space is freed', async () => {
    const r = await start();
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 4; i++) {
      const body = mulberry32(i).bytes(30_000 + i);
      expect((await put(r, `before${i}`, body)).status).toBe(200);
      objects.set(`before${i}`, body);
    }
    const init = await signedRequest({ method: 'POST', path: `${objectPath(BUCKET, 'mp')}?uploads`, port: r.port });
    const uploadId = xmlField(init.body, 'UploadId')!;
    r.fs.setSpace(20_000);
    let full = 0;
    for (let i = 0; i < 6; i++) {
      const body = mulberry32(100 + i).bytes(3 * CHUNK);
      const res = await put(r, `during${i}`, body);
      if (res.status === 200) {
        objects.set(`during${i}`, body);
        continue;
      }
      full++;
      expect(res.status).toBe(507);
      expect(errorCode(res)).toBe('InsufficientStorage');
      expect(xmlField(res.body, 'Message')).toMatch(/no space left on device.*when space is freed/);
    }
    expect(full).toBeGreaterThan(0);
    const part = await signedRequest({ method: 'PUT', path: `${objectPath(BUCKET, 'mp')}?partNumber=1&uploadId=${uploadId}`, port: r.port, body: mulberry32(9).bytes(2 * CHUNK) });
    expect([part.status, errorCode(part)]).toEqual([507, 'InsufficientStorage']);
    // Reads are not affected.
    await expectIntact(r, objects);
    const list = await signedRequest({ method: 'GET', path: `/${BUCKET}?list-type=2`, port: r.port });
    expect(list.status).toBe(200);
    // Space is freed (no restart): writes work again, and nothing written before was damaged.
    r.fs.setSpace(undefined);
    const after = mulberry32(7).bytes(3 * CHUNK);
    expect((await put(r, 'after', after)).status).toBe(200);
    objects.set('after', after);
    const part2 = await signedRequest({ method: 'PUT', path: `${objectPath(BUCKET, 'mp')}?partNumber=1&uploadId=${uploadId}`, port: r.port, body: after });
    expect(part2.status).toBe(200);
    await expectIntact(r, objects);
    const v = await r.engine.verify();
    expect([v.damage, v.damagedObjects]).toEqual([[], []]);
  });
});

describe('a failed fdatasync through S3', () => {
  it('stops writes with 503 saying why; reads of committed data go on', async () => {
    const r = await start();
    const body = mulberry32(1).bytes(2 * CHUNK + 5);
    expect((await put(r, 'kept', body)).status).toBe(200);
    r.fs.failOn('datasync', /\.seg$/, 1, 'EIO');
    const failed = await put(r, 'lost', Buffer.from('not acknowledged'));
    expect([failed.status, errorCode(failed)]).toEqual([503, 'ServiceUnavailable']);
    expect(xmlField(failed.body, 'Message')).toMatch(/writes stopped after an I\/O failure.*restart to recover/);
    // For good: the disk may have dropped pages, so no later write is accepted by this process.
    for (const res of [
      await put(r, 'later', Buffer.from('x')),
      await signedRequest({ method: 'DELETE', path: objectPath(BUCKET, 'kept'), port: r.port }),
      await signedRequest({ method: 'PUT', path: '/another-bucket', port: r.port }),
    ]) {
      expect([res.status, errorCode(res)]).toEqual([503, 'ServiceUnavailable']);
    }
    await expectIntact(r, new Map([['kept', body]]));
    expect((await getPartial(r, 'lost')).status).toBe(404);
  });
});

describe('read faults through S3', () => {
  const body = mulberry32(3).bytes(4 * CHUNK + 11);

  it.each([
    ['EIO on the first chunk', 'EIO', 2, 'before'],
    ['EIO on a later chunk', 'EIO', 3, 'after'],
    ['a wrong byte from the disk in the first chunk', 'FLIP', 2, 'before'],
    ['a wrong byte from the disk in a later chunk', 'FLIP', 4, 'after'],
  ] as const)('%s: an error, never wrong bytes; the next GET is whole', async (_what, code, nth, when) => {
    const r = await start();
    expect((await put(r, 'obj', body)).status).toBe(200);
    // Reads of a GET: the COMMIT record, then the chunks in order.
    r.fs.failOn('read', /\.seg$/, nth, code);
    const res = await getPartial(r, 'obj');
    expect(r.fs.fired).toHaveLength(1);
    if (when === 'before') {
      expect(res.status).toBe(500);
      expect(errorCode({ status: res.status, headers: {}, body: res.body })).toBe('InternalError');
    } else {
      expect(res.status).toBe(200);
      expect(res.cut, 'the connection is cut: the client cannot take a short body for the object').toBe(true);
      expect(res.body.length).toBeLessThan(body.length);
      expect(res.body.equals(body.subarray(0, res.body.length)), 'what arrived is a correct prefix').toBe(true);
    }
    await expectIntact(r, new Map([['obj', body]]));
  });
});

describe('shutdown', () => {
  it('a request arriving on an open connection after shutdown began gets 503, not a closing engine', async () => {
    const r = await start();
    const { connect } = await import('node:net');
    const socket = connect(r.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise((res) => setTimeout(res, 20)); // the server has accepted the connection
    const stopped = r.s3.shutdown(5000);
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    const closedP = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write('GET /_sediment/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await Promise.race([closedP, new Promise((res) => setTimeout(res, 3000))]);
    socket.destroy();
    await stopped;
    expect(got).toMatch(/^HTTP\/1\.1 503 .*<Code>ServiceUnavailable<\/Code>.*shutting down/s);
  });
});
