// The fast paths of the S3 front and of the engine's read side, held to the same rules as the general
// paths: small PUT bodies (collected whole, verified before the engine sees them) with a wrong
// Content-MD5, SHA-256 or checksum, cut short, or aws-chunked; GETs of small objects and ranges (one
// buffer, `end(buffer)`); and large GETs whose chunks are verified and decompressed in the worker pool
// with read-ahead, including a damaged chunk in the middle (an error, never a wrong byte).
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { RecordType } from '../src/format/constants.js';
import { encodeAwsChunked, awsChunkedEncodedLength } from '../src/s3/aws-chunked-encode.js';
import { checksumsOf } from '../src/s3/checksums.js';
import { payloadBuffer } from './helpers/s3-data.js';
import { errorCode, objectPath, rawRequest, signHeaders, signedRequest, type RawResponse } from './helpers/s3-raw.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';
import { errorCode as engineErrorCode, readUntilError } from './helpers/engine-helpers.js';
import { mapDisk, segmentPath } from './helpers/segment-map.js';

const BUCKET = 'fast-bucket';
let h: S3Harness;

beforeAll(async () => {
  h = await startHarness();
  expect((await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port: h.port })).status).toBe(200);
});
afterAll(async () => {
  await h?.close();
});

const put = (key: string, body: Buffer | string, headers: Record<string, string> = {}, payloadHash?: string): Promise<RawResponse> =>
  signedRequest({ method: 'PUT', path: objectPath(BUCKET, key), port: h.port, body, headers, payloadHash });
const get = (key: string, headers: Record<string, string> = {}): Promise<RawResponse> =>
  signedRequest({ method: 'GET', path: objectPath(BUCKET, key), port: h.port, headers });

async function stored(key: string): Promise<Buffer | undefined> {
  const res = await get(key);
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return res.body;
}

const b64 = (b: Buffer): string => b.toString('base64');
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('base64');

describe('small PUT bodies (collected whole)', () => {
  const body = payloadBuffer(4096, 1);

  it('a wrong Content-MD5 is BadDigest and stores nothing; over an existing object the old version stays', async () => {
    const bad = await put('md5/new', body, { 'content-md5': md5('something else') });
    expect([bad.status, errorCode(bad)]).toEqual([400, 'BadDigest']);
    expect(await stored('md5/new')).toBeUndefined();
    expect((await put('md5/old', body, { 'content-md5': md5(body) })).status).toBe(200);
    const over = await put('md5/old', payloadBuffer(4096, 2), { 'content-md5': md5(body) });
    expect(errorCode(over)).toBe('BadDigest');
    expect((await stored('md5/old'))?.equals(body)).toBe(true);
  });

  it('a wrong signed SHA-256 or x-amz-checksum-* header stores nothing; right ones are stored and returned', async () => {
    const sha = await put('sha/bad', body, {}, createHash('sha256').update('nope').digest('hex'));
    expect(errorCode(sha)).toBe('XAmzContentSHA256Mismatch');
    expect(await stored('sha/bad')).toBeUndefined();
    const sums = checksumsOf(['CRC32C', 'SHA256'], body);
    const wrong = await put('sum/bad', body, { 'x-amz-checksum-crc32c': b64(checksumsOf(['CRC32C'], Buffer.from('x')).get('CRC32C')!) });
    expect(errorCode(wrong)).toBe('BadDigest');
    expect(await stored('sum/bad')).toBeUndefined();
    const ok = await put('sum/ok', body, { 'x-amz-checksum-crc32c': b64(sums.get('CRC32C')!), 'x-amz-checksum-sha256': b64(sums.get('SHA256')!) });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-amz-checksum-crc32c']).toBe(b64(sums.get('CRC32C')!));
    const back = await get('sum/ok', { 'x-amz-checksum-mode': 'ENABLED' });
    expect(back.body.equals(body)).toBe(true);
    expect(back.headers['x-amz-checksum-sha256']).toBe(b64(sums.get('SHA256')!));
    // The default checksum (CRC64NVME) is computed when the client names none.
    const plain = await put('sum/default', body);
    expect(plain.headers['x-amz-checksum-crc64nvme']).toBe(b64(checksumsOf(['CRC64NVME'], body).get('CRC64NVME')!));
  });

  it('an empty body and a 64 KiB body (the limit) round-trip', async () => {
    expect((await put('edge/empty', Buffer.alloc(0))).status).toBe(200);
    expect((await stored('edge/empty'))?.length).toBe(0);
    const big = payloadBuffer(64 * 1024, 3);
    expect((await put('edge/64k', big)).status).toBe(200);
    expect((await stored('edge/64k'))?.equals(big)).toBe(true);
  });

  it('a small body cut short by a closed socket stores nothing and leaves the old version', async () => {
    expect((await put('cut/old', 'old version')).status).toBe(200);
    for (const key of ['cut/new', 'cut/old']) {
      const s = signHeaders({ method: 'PUT', path: objectPath(BUCKET, key), port: h.port, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': '4096' } });
      const head = [`PUT ${objectPath(BUCKET, key)} HTTP/1.1`, ...Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      const sock: Socket = connect(h.port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      sock.on('error', () => undefined);
      sock.write(head);
      sock.write(Buffer.alloc(1000, 0x62));
      await new Promise((r) => setTimeout(r, 50));
      sock.destroy();
      for (let i = 0; i < 200 && h.s3.inflight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    }
    expect(await stored('cut/new')).toBeUndefined();
    expect((await stored('cut/old'))?.toString()).toBe('old version');
    expect((await put('cut/after', 'still fine')).status).toBe(200);
  });

  /** A signed aws-chunked PUT of `payload` (≤ 64 KiB decoded: the collected path). */
  function chunkedPut(key: string, mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' | 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', payload: Buffer, trailers: ReadonlyArray<readonly [string, string]> = [], tamper?: (wire: Buffer) => void) {
    const chunkBytes = 8 * 1024;
    const extra: Record<string, string> = {
      'x-amz-decoded-content-length': String(payload.length),
      'content-length': String(awsChunkedEncodedLength(payload.length, chunkBytes, { mode, trailers })),
    };
    if (trailers.length > 0) {
      extra['x-amz-trailer'] = trailers.map(([n]) => n).join(',');
      extra['content-encoding'] = 'aws-chunked';
    }
    const s = signHeaders({ method: 'PUT', path: objectPath(BUCKET, key), port: h.port, headers: extra, payloadHash: mode });
    const wire = encodeAwsChunked(payload, { mode, signing: { signingKey: s.signingKey, amzDate: s.amzDate, scope: s.scope, seedSignature: s.signature }, chunkBytes, trailers });
    tamper?.(wire);
    return rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, key), headers: s.headers, body: wire });
  }

  it('small aws-chunked bodies: signed chunks verified, trailing checksums verified, nothing stored on failure', async () => {
    const payload = payloadBuffer(20_000, 4);
    expect((await chunkedPut('chunked/ok', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', payload)).status).toBe(200);
    expect((await stored('chunked/ok'))?.equals(payload)).toBe(true);
    const tampered = await chunkedPut('chunked/bad', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', payload, [], (w) => {
      w[w.length - 500] ^= 0x01;
    });
    expect([tampered.status, errorCode(tampered)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await stored('chunked/bad')).toBeUndefined();

    const crc = b64(checksumsOf(['CRC32'], payload).get('CRC32')!);
    const withTrailer = await chunkedPut('trailer/ok', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', payload, [['x-amz-checksum-crc32', crc]]);
    expect(withTrailer.status).toBe(200);
    expect(withTrailer.headers['x-amz-checksum-crc32']).toBe(crc);
    const wrongCrc = b64(checksumsOf(['CRC32'], Buffer.from('other')).get('CRC32')!);
    const badTrailer = await chunkedPut('trailer/ok', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', payloadBuffer(20_000, 5), [['x-amz-checksum-crc32', wrongCrc]]);
    expect(errorCode(badTrailer)).toBe('BadDigest');
    expect((await stored('trailer/ok'))?.equals(payload)).toBe(true);
  });
});

describe('small GETs (one buffer)', () => {
  const body = payloadBuffer(5000, 9);
  beforeAll(async () => {
    expect((await put('ranged', body)).status).toBe(200);
  });

  it('ranges: closed, open-ended, suffix, clamped; unsatisfiable is 416', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=10-99', 10, 99],
      ['bytes=4000-', 4000, 4999],
      ['bytes=-5', 4995, 4999],
      ['bytes=4990-9999', 4990, 4999],
      ['bytes=0-0', 0, 0],
    ];
    for (const [range, start, end] of cases) {
      const res = await get('ranged', { range });
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/5000`);
      expect(res.body.equals(body.subarray(start, end + 1))).toBe(true);
    }
    const bad = await get('ranged', { range: 'bytes=5000-5001' });
    expect([bad.status, errorCode(bad)]).toEqual([416, 'InvalidRange']);
    const whole = await get('ranged');
    expect(whole.headers['content-length']).toBe('5000');
    expect(whole.body.equals(body)).toBe(true);
  });

  it('conditional GETs and response-* overrides still apply', async () => {
    const etag = (await get('ranged')).headers.etag as string;
    expect((await get('ranged', { 'if-none-match': etag })).status).toBe(304);
    expect((await get('ranged', { 'if-match': '"0000"' })).status).toBe(412);
    const over = await signedRequest({ method: 'GET', path: `${objectPath(BUCKET, 'ranged')}?response-content-type=text%2Fx-test&response-cache-control=no-store`, port: h.port });
    expect(over.headers['content-type']).toBe('text/x-test');
    expect(over.headers['cache-control']).toBe('no-store');
  });
});

describe('engine read side: buffered gets and pool decompression with read-ahead', () => {
  const DIR = '/data';
  const text = (n: number, salt: number): Buffer => {
    let s = '';
    for (let i = 0; s.length < n; i++) s += `2026-11-26T01:00:${String(i % 60).padStart(2, '0')}Z INFO request ${i * 7 + salt} served in ${i % 97} ms\n`;
    return Buffer.from(s.slice(0, n));
  };

  it('getObjectData: buffered below the limit (across chunk boundaries), streamed above it', async () => {
    const fs = new MemoryFileSystem();
    const e = await Engine.open({ dir: DIR, fs, workerThreads: 0, chunkBytes: 64 << 10 });
    try {
      await e.createBucket('bkt');
      const data = text(200_000, 1);
      await e.putObject('bkt', 'k', data);
      const whole = await e.getObjectData('bkt', 'k', { bufferBytesMax: 256 << 10 });
      expect(whole.data?.equals(data)).toBe(true);
      const cross = await e.getObjectData('bkt', 'k', { range: { start: 65_000, end: 140_000 }, bufferBytesMax: 256 << 10 });
      expect(cross.range).toEqual({ start: 65_000, end: 140_000 });
      expect(cross.data?.equals(data.subarray(65_000, 140_001))).toBe(true);
      const streamed = await e.getObjectData('bkt', 'k', { bufferBytesMax: 1000 });
      expect(streamed.data).toBeUndefined();
      expect((await readUntilError(streamed.body!)).data.equals(data)).toBe(true);
      await expect(e.getObjectData('bkt', 'k', { range: { start: 300_000, end: 300_001 }, bufferBytesMax: 1 << 20 })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_RANGE' });
    } finally {
      await e.close();
    }
  });

  it('large chunks are opened in workers: whole and ranged reads are exact; a damaged middle chunk ends the stream with corruption', async () => {
    const fs = new MemoryFileSystem();
    const chunkBytes = 256 << 10; // above the pool threshold: every chunk goes to a worker
    const e = await Engine.open({ dir: DIR, fs, workerThreads: 1, chunkBytes });
    const log = text(10 * chunkBytes + 777, 2);
    const rnd = payloadBuffer(6 * chunkBytes + 5, 11); // incompressible: stored raw
    try {
      await e.createBucket('bkt');
      await e.putObject('bkt', 'log', log);
      await e.putObject('bkt', 'rnd', rnd);
      for (const [key, data] of [['log', log], ['rnd', rnd]] as const) {
        expect((await readUntilError((await e.getObject('bkt', key)).body)).data.equals(data)).toBe(true);
        const r = await e.getObject('bkt', key, { range: { start: chunkBytes - 3, end: 3 * chunkBytes + 10 } });
        expect((await readUntilError(r.body)).data.equals(data.subarray(chunkBytes - 3, 3 * chunkBytes + 11))).toBe(true);
      }
    } finally {
      await e.close();
    }
    // Damage the payload of the log object's 5th chunk and read again.
    const map = await mapDisk(fs, DIR);
    const loc = map.objects.get('bkt/log')!;
    const ref = loc.chunks[4]!;
    const frame = map.segments.get(ref.segmentId)!.frames.find((f) => f.offset === ref.offset && f.type === RecordType.CHUNK)!;
    fs.flipByte(segmentPath(DIR, ref.segmentId), frame.payloadAt + Math.floor(frame.payloadLen / 2), 0x10);
    const e2 = await Engine.open({ dir: DIR, fs, workerThreads: 1, chunkBytes });
    try {
      const res = await readUntilError((await e2.getObject('bkt', 'log')).body);
      expect(engineErrorCode(res.error)).toBe('SEDIMENT_CORRUPTION');
      expect(res.data.length).toBeLessThanOrEqual(4 * chunkBytes);
      expect(res.data.equals(log.subarray(0, res.data.length))).toBe(true);
      expect((await readUntilError((await e2.getObject('bkt', 'rnd')).body)).data.equals(rnd)).toBe(true);
    } finally {
      await e2.close();
    }
  });

  it('closing the engine while an abandoned stream still has read-ahead in the pool neither crashes nor hangs', async () => {
    // Before ChunkPool.close waited for GET tasks, the worker's late answer became an uncaught
    // "Unexpected message from Worker" error (vitest fails the run on it).
    const data = text(8 << 20, 3);
    for (let round = 0; round < 5; round++) {
      const e = await Engine.open({ dir: DIR, fs: new MemoryFileSystem(), workerThreads: 2, chunkBytes: 1 << 20 });
      await e.createBucket('bkt');
      await e.putObject('bkt', 'k', data);
      const r = await e.getObject('bkt', 'k');
      for await (const piece of r.body) {
        expect((piece as Buffer).equals(data.subarray(0, (piece as Buffer).length))).toBe(true);
        break; // abandon the stream after its first chunk
      }
      await e.close();
    }
    await new Promise((r) => setTimeout(r, 200)); // a late worker message would surface here
  });
});
