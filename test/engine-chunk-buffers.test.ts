// Large chunks live in reused shared buffers (src/engine/chunk-buffers.ts): read into, hashed by the MD5
// thread and, when stored raw, framed and written in place. A buffer handed out again before its frame was
// written (or hashed) would put another chunk's bytes on disk: these tests run many uploads at once so
// that buffers are reused while writes are still queued, then check every byte and ETag, also after reopen.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordType } from '../src/format/constants.js';
import { decodeFrame } from '../src/format/frame.js';
import { initHash } from '../src/format/hash.js';
import { ChunkBuffers, CHUNK_FRAME_HEAD_BYTES } from '../src/engine/chunk-buffers.js';
import { buildChunkFrame, buildChunkFrameInPlace } from '../src/engine/chunk-codec.js';
import { Engine } from '../src/index.js';
import { logLike, randomPieces, readAll } from './helpers/engine-helpers.js';
import { mulberry32 } from './helpers/prng.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');


describe('frames built in place', () => {
  it('are byte for byte the frames buildChunkFrame makes, raw or compressed, and leave the chunk bytes alone', async () => {
    await initHash();
    const pool = new ChunkBuffers(512 << 10, 4, 0);
    const rng = mulberry32(11);
    const cases: Array<[string, Buffer, number]> = [
      ['random, probed', rng.bytes(300 << 10), 1],
      ['random, small', rng.bytes(200 << 10), 1],
      ['log-like', logLike(400 << 10, 3), 1],
      ['log-like, level 0 (raw)', logLike(512 << 10, 4), 0],
      ['tiny', rng.bytes(40), 1],
    ];
    for (const [name, raw, level] of cases) {
      const cb = pool.acquire();
      raw.copy(cb.data);
      const meta = { uploadId: 77, partNumber: 2, chunkIndex: 5, rawLen: raw.length };
      const inPlace = buildChunkFrameInPlace(cb.whole, raw.length, meta, level);
      const expected = buildChunkFrame(raw, meta, level);
      expect(inPlace.equals(expected), name).toBe(true);
      expect(cb.holds(inPlace), name).toBe(decodeFrame(expected).payload.length === raw.length);
      expect(cb.data.subarray(0, raw.length).equals(raw), name).toBe(true);
      const f = decodeFrame(Buffer.from(inPlace));
      expect(f.type).toBe(RecordType.CHUNK);
      cb.release();
    }
    expect(pool.created).toBe(1);
    expect(pool.reused).toBe(cases.length - 1);
  });

  it('refuses a chunk that does not fit its buffer', async () => {
    await initHash();
    const cb = new ChunkBuffers(1024, 1, 0).acquire();
    expect(() => buildChunkFrameInPlace(cb.whole, 1025, { uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: 1025 }, 1)).toThrow(/assertion/);
    expect(CHUNK_FRAME_HEAD_BYTES).toBe(32);
  });
});

describe('ChunkBuffers', () => {
  it('hands a buffer out again only after its last release', () => {
    const pool = new ChunkBuffers(4096, 2, 0);
    const a = pool.acquire();
    a.retain();
    a.release();
    const b = pool.acquire();
    expect(b).not.toBe(a); // `a` still has a user
    a.release();
    expect(pool.acquire()).toBe(a);
    expect(() => b.release()).not.toThrow();
    expect(() => b.release()).toThrow(/released more often/);
  });

  it('keeps every released buffer while busy and cuts the free list to idleKeep once idle', () => {
    let now = 0;
    const pool = new ChunkBuffers(4096, 2, 1000, () => now);
    const many = Array.from({ length: 6 }, () => pool.acquire());
    for (const m of many) m.release();
    expect(pool.freeCount).toBe(6);
    now = 999;
    pool.trimIdle();
    expect(pool.freeCount).toBe(6); // not idle long enough
    now = 1000;
    pool.trimIdle();
    expect(pool.freeCount).toBe(2);
    // Reused, not made again, while they last.
    const again = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(pool.created).toBe(7);
    for (const m of again) m.release();
    pool.clear();
    expect(pool.freeCount).toBe(0);
  });
});

describe('engine uploads through reused chunk buffers', () => {
  for (const workerThreads of [2, 0]) {
    it(`keep every byte and ETag with many uploads at once (workerThreads ${workerThreads})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sediment-chunkbuf-'));
      dirs.push(dir);
      const opts = { dir, workerThreads, chunkBytes: 256 << 10, onWarning: () => undefined };
      const rng = mulberry32(21 + workerThreads);
      // Random bodies are stored raw (framed in place), log-like ones compressed; sizes leave tails of
      // every kind: none, under and over the small-chunk threshold.
      const bodies = new Map<string, Buffer>();
      for (let i = 0; i < 12; i++) {
        const size = (1 + (i % 5)) * (256 << 10) + [0, 1, 100 << 10, 200 << 10][i % 4]!;
        bodies.set(`obj${i}`, i % 3 === 2 ? logLike(size, i) : rng.bytes(size));
      }
      const e = await Engine.open(opts);
      try {
        await e.createBucket('bkt');
        for (let round = 0; round < 2; round++) {
          const puts = [...bodies].map(([key, b], i) =>
            e.putObject('bkt', `${key}-${round}`, i % 2 === 0 ? randomPieces(b, i + round, 200 * 1024) : b).then((r) => [key, r.etag] as const),
          );
          for (const [key, etag] of await Promise.all(puts)) expect(etag, key).toBe(md5(bodies.get(key)!));
        }
        const s = e.stats();
        expect(s.chunkBuffersReused).toBeGreaterThan(0);
        expect(s.chunkBuffersCreated).toBeGreaterThan(0);
      } finally {
        await e.close();
      }
      const again = await Engine.open(opts);
      try {
        for (let round = 0; round < 2; round++) {
          for (const [key, b] of bodies) {
            const got = await readAll((await again.getObject('bkt', `${key}-${round}`)).body);
            expect(got.equals(b), `${key}-${round}`).toBe(true);
          }
        }
        const report = await again.verify();
        expect(report.damage).toEqual([]);
        expect(report.damagedObjects).toEqual([]);
        expect(report.recordsChecked).toBeGreaterThan(24);
      } finally {
        await again.close();
      }
    });
  }
});
