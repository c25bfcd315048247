// Small objects put concurrently are framed (compressed, hashed, MD5'd) by a worker in batches
// (src/engine/chunk-pool.ts). Every ETag must still be the MD5 of its own body and every byte must read
// back, before and after a reopen, whatever batch an object happened to travel in.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';

/** Bodies of many sizes around the limits, each with content of its own (log-like or random). */
function body(i: number): Buffer {
  const sizes = [0, 1, 63, 64, 65, 4096, 10_000, 64 * 1024, 128 * 1024 - 1];
  const size = sizes[i % sizes.length];
  if (i % 3 === 0) return randomish(i, size);
  const line = `2026-11-26T01:00:${String(i % 60).padStart(2, '0')}Z INFO svc-${i % 7} request ${i} took ${i % 997} ms\n`;
  return Buffer.from(line.repeat(Math.ceil(size / line.length) + 1)).subarray(0, size);
}

function randomish(i: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(`random ${i}`).digest();
  for (let at = 0; at < size; at += 32) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('small puts framed in worker batches', () => {
  it('gives every object its own ETag and bytes, concurrently and after reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sed-batch-'));
    try {
      let e = await Engine.open({ dir, workerThreads: 2, batchSmallChunks: true });
      await e.createBucket('bkt');
      // Until a worker has answered, small chunks are framed inline: wait (bounded) for the pool to warm up.
      const deadline = Date.now() + 20_000;
      for (let w = 0; e.stats().batchedChunks === 0 && Date.now() < deadline; w++) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => e.putObject('bkt', `warm/${w}/${i}`, `warm ${w} ${i}`)));
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(e.stats().batchedChunks, 'the worker pool never took a batch').toBeGreaterThan(0);
      const n = 300;
      const batchedBefore = e.stats().batchedChunks;
      const bodies = Array.from({ length: n }, (_, i) => body(i));
      // Half as buffers, half as streams of two pieces: both paths end in the batched framing.
      const infos = await Promise.all(
        bodies.map((b, i) =>
          e.putObject('bkt', `k/${i}`, i % 2 === 0 ? b : (async function* () {
            yield b.subarray(0, b.length >> 1);
            yield b.subarray(b.length >> 1);
          })()),
        ),
      );
      expect(e.stats().batchedChunks, 'none of the 300 went through a batch').toBeGreaterThan(batchedBefore);
      infos.forEach((info, i) => {
        expect(info.etag, `object ${i}`).toBe(md5(bodies[i]));
        expect(info.size).toBe(bodies[i].length);
      });
      const check = async (eng: Engine): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const got = await buffer((await eng.getObject('bkt', `k/${i}`)).body);
          expect(got.equals(bodies[i]), `object ${i} (${bodies[i].length} B)`).toBe(true);
          expect((await eng.headObject('bkt', `k/${i}`)).etag).toBe(md5(bodies[i]));
        }
      };
      await check(e);
      await e.close();
      e = await Engine.open({ dir, workerThreads: 2, batchSmallChunks: true });
      await check(e);
      expect((await e.verify()).damage).toEqual([]);
      await e.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('startWorkers() has the threads ready before the first put, which is then batched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sed-batch-start-'));
    try {
      const e = await Engine.open({ dir, workerThreads: 1, batchSmallChunks: true });
      try {
        await e.startWorkers();
        await e.createBucket('bkt');
        // The first puts, 32 at once (a turn with 16 or fewer small chunks frames them inline anyway):
        // without startWorkers they would be framed inline while the threads start.
        const bodies = Array.from({ length: 32 }, (_, i) => body(5 + 9 * i)); // 4 KiB each
        const infos = await Promise.all(bodies.map((b, i) => e.putObject('bkt', `first/${i}`, b)));
        infos.forEach((info, i) => expect(info.etag).toBe(md5(bodies[i]!)));
        expect(e.stats().batchedChunks).toBe(32);
        for (const [i, b] of bodies.entries()) expect((await buffer((await e.getObject('bkt', `first/${i}`)).body)).equals(b)).toBe(true);
        // A turn with 16 small chunks (64 KiB) frames them inline: no batch, the same ETags and bytes.
        const few = Array.from({ length: 16 }, (_, i) => body(5 + 9 * (40 + i))); // 4 KiB each
        const fewInfos = await Promise.all(few.map((b, i) => e.putObject('bkt', `few/${i}`, b)));
        fewInfos.forEach((info, i) => expect(info.etag).toBe(md5(few[i]!)));
        expect(e.stats().batchedChunks, 'a turn of 16 small chunks went to a thread').toBe(32);
        for (const [i, b] of few.entries()) expect((await buffer((await e.getObject('bkt', `few/${i}`)).body)).equals(b)).toBe(true);
      } finally {
        await e.close();
      }
      // Inline framing (workerThreads 0): nothing to start, and no error.
      const inline = await Engine.open({ dir, workerThreads: 0 });
      try {
        await inline.startWorkers();
        expect(inline.stats().workerThreads).toBe(0);
      } finally {
        await inline.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
