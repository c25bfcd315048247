// Large bodies are hashed in the MD5 thread (src/engine/md5-hasher.ts): the ETag must be the MD5 of the
// whole body whatever the body is (a caller's buffer, a stream of odd pieces, a multipart part), with
// several uploads hashing at once, and an upload that fails part way must leave the next ones right.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { randomPieces, readAll } from './helpers/engine-helpers.js';
import { mulberry32 } from './helpers/prng.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('MD5 of large bodies in the MD5 thread', () => {
  it('ETags of buffers, streams and parts are the MD5 of the bytes, with uploads hashing concurrently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-md5-'));
    dirs.push(dir);
    const e = await Engine.open({ dir, workerThreads: 2, chunkBytes: 256 << 10, onWarning: () => undefined });
    try {
      await e.createBucket('bkt');
      const rng = mulberry32(5);
      const bodies = [rng.bytes(3 * (256 << 10) + 17), Buffer.alloc(2 << 20, 7), rng.bytes(256 << 10), rng.bytes((1 << 20) + 1)];
      const puts = bodies.flatMap((b, i) => [
        e.putObject('bkt', `buf${i}`, b).then((r) => ['buf', i, r.etag] as const),
        e.putObject('bkt', `str${i}`, randomPieces(b, i, 300 * 1024)).then((r) => ['str', i, r.etag] as const),
      ]);
      for (const [kind, i, etag] of await Promise.all(puts)) expect(etag, `${kind}${i}`).toBe(md5(bodies[i]));
      // The three bodies of several chunks, as a buffer and as a stream, and the stream of exactly one
      // chunk (it cannot know it is whole when that chunk is full); the one-chunk buffer hashes inline.
      expect(e.stats().md5ThreadUploads).toBe(7);
      for (const [i, b] of bodies.entries()) expect((await readAll((await e.getObject('bkt', `str${i}`)).body)).equals(b)).toBe(true);

      const up = await e.createMultipartUpload('bkt', 'mp');
      const p1 = await e.uploadPart('bkt', 'mp', up.uploadId, 1, randomPieces(bodies[0], 9, 300 * 1024));
      expect(p1.etag).toBe(md5(bodies[0]));

      // A stream that fails after two chunks: the PUT is refused; the next ones are still right.
      const failing = Readable.from((async function* () {
        yield bodies[1].subarray(0, 600 << 10);
        throw new Error('client went away');
      })());
      await expect(e.putObject('bkt', 'broken', failing)).rejects.toThrow(/client went away/);
      const again = await e.putObject('bkt', 'after', randomPieces(bodies[3], 3, 300 * 1024));
      expect(again.etag).toBe(md5(bodies[3]));
    } finally {
      await e.close();
    }
  });
});

describe('MD5 thread back-pressure', () => {
  it('asks the caller to wait once more than QUEUED_BYTES_MAX is queued, and the digests stay right', async () => {
    const { Md5Hasher, QUEUED_BYTES_MAX } = await import('../src/engine/md5-hasher.js');
    const hasher = new Md5Hasher();
    expect(hasher.available).toBe(true);
    try {
      const rng = mulberry32(11);
      const piece = rng.bytes(1 << 20);
      const streams = [hasher.stream(), hasher.stream()];
      const want = [createHash('md5'), createHash('md5')];
      let waits = 0;
      // Posted in one synchronous burst: the thread cannot have hashed much, so the bound is reached.
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < 2 * (QUEUED_BYTES_MAX >> 20) + 8; i++) {
        const k = i % 2;
        want[k]!.update(piece);
        const behind = streams[k]!.update(piece);
        if (behind) {
          waits++;
          pending.push(behind);
        }
      }
      expect(waits).toBeGreaterThan(0);
      await Promise.all(pending); // each resolves once the thread has caught up
      const digests = await Promise.all(streams.map((s) => s.digest()));
      expect(digests.map((d) => d.toString('hex'))).toEqual(want.map((h) => h.digest('hex')));
      // Below the bound again: a new update does not ask to wait.
      const s3 = hasher.stream();
      expect(s3.update(piece.subarray(0, 1024))).toBeUndefined();
      expect((await s3.digest()).toString('hex')).toBe(md5(piece.subarray(0, 1024)));
    } finally {
      await hasher.close();
    }
  });
});

describe('bytes in flight across uploads and downloads', () => {
  it('stay bounded while many run at once and return to zero, also when a reader stops early', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-inflight-'));
    dirs.push(dir);
    const chunk = 256 << 10;
    const budget = 1 << 20;
    const e = await Engine.open({ dir, workerThreads: 2, chunkBytes: chunk, framingBytesMax: budget, readAheadBytesMax: budget, onWarning: () => undefined });
    try {
      await e.createBucket('bkt');
      const rng = mulberry32(21);
      const bodies = Array.from({ length: 24 }, (_, i) => rng.bytes(12 * chunk + i));
      let framingPeak = 0;
      let readPeak = 0;
      const probe = setInterval(() => {
        const st = e.stats();
        framingPeak = Math.max(framingPeak, st.framingBytes);
        readPeak = Math.max(readPeak, st.readAheadBytes);
      }, 1);
      try {
        const etags = await Promise.all(bodies.map((b, i) => e.putObject('bkt', `o${i}`, randomPieces(b, i, 300 * 1024)).then((r) => r.etag)));
        etags.forEach((etag, i) => expect(etag).toBe(md5(bodies[i]!)));
        expect(e.stats().framingBytes).toBe(0);
        // Every other reader stops after its first piece; the others read to the end.
        await Promise.all(
          bodies.map(async (b, i) => {
            const r = await e.getObject('bkt', `o${i}`);
            if (i % 2 === 0) {
              expect((await readAll(r.body)).equals(b)).toBe(true);
              return;
            }
            for await (const piece of r.body) {
              expect(piece.length).toBeGreaterThan(0);
              break;
            }
          }),
        );
        await new Promise((r) => setTimeout(r, 50)); // abandoned read-ahead settles
        expect(e.stats().readAheadBytes).toBe(0);
      } finally {
        clearInterval(probe);
      }
      // Past the budget each stream keeps one chunk (upload) or one group of 2 (download) in flight, and
      // may have added one more before it waited: without the budget, 24 uploads would hold up to 4 each.
      expect(framingPeak).toBeGreaterThan(0);
      expect(framingPeak).toBeLessThanOrEqual(budget + 24 * 2 * chunk);
      expect(readPeak).toBeGreaterThan(0);
      expect(readPeak).toBeLessThanOrEqual(budget + 24 * 2 * chunk);
    } finally {
      await e.close();
    }
  });
});

describe('several MD5 threads', () => {
  it('gives uploads at once to different threads, each keeps its own bound, and every digest is right', async () => {
    const { Md5Hasher, QUEUED_BYTES_MAX } = await import('../src/engine/md5-hasher.js');
    const hasher = new Md5Hasher(2);
    try {
      const rng = mulberry32(12);
      const piece = rng.bytes(1 << 20);
      const a = hasher.stream();
      const b = hasher.stream();
      expect(hasher.openPerThread).toEqual([1, 1]);
      const c = hasher.stream(); // both threads hold one: the first of them takes it
      expect(hasher.openPerThread).toEqual([2, 1]);
      const wantA = createHash('md5');
      const wantB = createHash('md5');
      // Up to the bound on one thread, in one synchronous burst: only stream b's thread is past it.
      let waitsB = 0;
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < (QUEUED_BYTES_MAX >> 20) + 4; i++) {
        wantB.update(piece);
        const behind = b.update(piece);
        if (behind) {
          waitsB++;
          pending.push(behind);
        }
      }
      expect(waitsB).toBeGreaterThan(0);
      wantA.update(piece.subarray(0, 4096));
      expect(a.update(piece.subarray(0, 4096))).toBeUndefined(); // a's thread is not behind
      c.drop();
      expect(hasher.openPerThread).toEqual([1, 1]);
      await Promise.all(pending);
      const [da, db] = await Promise.all([a.digest(), b.digest()]);
      expect(da.toString('hex')).toBe(wantA.digest('hex'));
      expect(db.toString('hex')).toBe(wantB.digest('hex'));
      expect(hasher.openPerThread).toEqual([0, 0]);
    } finally {
      await hasher.close();
    }
  });

  it('defaults to one thread per two cores, at least 1 and at most 8', async () => {
    const { defaultMd5Threads, Md5Hasher } = await import('../src/engine/md5-hasher.js');
    expect([1, 2, 3, 4, 8, 16, 64].map((n) => defaultMd5Threads(n))).toEqual([1, 1, 1, 2, 4, 8, 8]);
    expect(() => new Md5Hasher(0)).toThrow(/md5Threads must be an integer ≥ 1, got 0/);
    const dir = mkdtempSync(join(tmpdir(), 'sediment-md5opt-'));
    dirs.push(dir);
    for (const bad of [0, 1.5, 65]) {
      await expect(Engine.open({ dir, md5Threads: bad })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_ARGUMENT', message: 'md5Threads must be an integer between 1 and 64' });
    }
  });

  it('an engine with md5Threads 2 stores concurrent large uploads with the right ETags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-md5x2-'));
    dirs.push(dir);
    const e = await Engine.open({ dir, workerThreads: 2, md5Threads: 2, chunkBytes: 256 << 10, onWarning: () => undefined });
    try {
      await e.createBucket('bkt');
      const rng = mulberry32(13);
      const bodies = Array.from({ length: 6 }, (_, i) => rng.bytes(5 * (256 << 10) + 31 * i));
      const etags = await Promise.all(bodies.map((b, i) => e.putObject('bkt', `o${i}`, randomPieces(b, i, 200 * 1024)).then((r) => r.etag)));
      etags.forEach((etag, i) => expect(etag).toBe(md5(bodies[i]!)));
      expect(e.stats().md5ThreadUploads).toBe(6);
      for (const [i, b] of bodies.entries()) expect((await readAll((await e.getObject('bkt', `o${i}`)).body)).equals(b)).toBe(true);
    } finally {
      await e.close();
    }
  });
});

describe('an MD5 thread that dies', () => {
  it('fails only the uploads it held; later ones go to the threads left, then none is available', async () => {
    const { Md5Hasher } = await import('../src/engine/md5-hasher.js');
    const dying = fileURLToPath(new URL('./fixtures/md5-worker-dies.mjs', import.meta.url));
    const hasher = new Md5Hasher(2, dying);
    try {
      const piece = Buffer.alloc(4096, 3);
      const a = hasher.stream(); // thread 1
      const b = hasher.stream(); // thread 2
      a.update(piece);
      b.update(piece);
      a.update(Buffer.alloc(13)); // thread 1 dies
      await expect(a.digest()).rejects.toThrow(/MD5 thread exited \(code 7\)/);
      expect(hasher.available).toBe(true);
      expect((await b.digest()).toString('hex')).toBe(md5(piece));
      // A new upload goes to the thread still alive, and a dead thread is not restarted behind its back.
      const c = hasher.stream();
      expect(hasher.openPerThread).toEqual([0, 1]);
      expect(c.update(piece)).toBeUndefined();
      expect((await c.digest()).toString('hex')).toBe(md5(piece));
      const d = hasher.stream();
      d.update(Buffer.alloc(13)); // thread 2 dies too
      await expect(d.digest()).rejects.toThrow(/MD5 thread exited/);
      expect(hasher.available).toBe(false); // callers hash on their own thread from now on
      expect(() => hasher.stream()).toThrow(/no MD5 thread/);
    } finally {
      await hasher.close();
    }
  });
});
