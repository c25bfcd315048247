// A turn of few small chunks is framed on the calling thread with the MD5s computed side by side
// (chunk-pool.ts, frameTurnInline); a turn of many goes to a framing thread. Both must give every chunk its
// own frame and MD5, whichever of them asked for an MD5.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkPool } from '../src/engine/chunk-pool.js';
import { openChunkFrame } from '../src/engine/chunk-codec.js';
import { decodeFrame } from '../src/format/frame.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

function bodies(n: number, seed: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const size = [0, 1, 63, 64, 700, 4096, 4095, 3000][(i + seed) % 8]!;
    const line = `2026-11-28T06:00:${String(i % 60).padStart(2, '0')}Z INFO svc-${(i * seed) % 7} req ${i} ${seed}\n`;
    return Buffer.from(line.repeat(Math.ceil(size / line.length) + 1)).subarray(0, size);
  });
}

let pool: ChunkPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

async function frameTurn(p: ChunkPool, raws: Buffer[], wantMd5: (i: number) => boolean): Promise<void> {
  // All requested in one turn of the event loop, as concurrent PUTs released together would be.
  const framed = await Promise.all(raws.map((raw, i) => p.frameSmall(raw, { uploadId: 0, partNumber: 0, chunkIndex: i, rawLen: raw.length }, wantMd5(i))));
  framed.forEach((f, i) => {
    if (wantMd5(i)) expect(f.md5?.toString('hex'), `chunk ${i} (${raws[i]!.length} B)`).toBe(md5(raws[i]!));
    else expect(f.md5, `chunk ${i} asked for no MD5`).toBeUndefined();
    const { meta, raw } = openChunkFrame(decodeFrame(f.frame), 1, 0);
    expect(meta.chunkIndex).toBe(i);
    expect(raw.equals(raws[i]!), `chunk ${i} bytes`).toBe(true);
  });
}

describe('a turn of small chunks', () => {
  it('of at most 16 chunks and 64 KiB is framed inline, MD5s side by side, only for the chunks that asked', async () => {
    pool = new ChunkPool(2, 1, true);
    await pool.start();
    for (const [n, every] of [[16, 1], [9, 2], [5, 3], [2, 1], [1, 1]] as const) {
      await frameTurn(pool, bodies(n, n + every), (i) => i % every === 0);
    }
    expect(pool.batchedChunks, 'an inline turn went to a thread').toBe(0);
  });

  it('of more than 16 chunks goes to a framing thread, with the same frames and MD5s', async () => {
    pool = new ChunkPool(2, 1, true);
    await pool.start();
    await frameTurn(pool, bodies(40, 3), (i) => i % 3 !== 1);
    expect(pool.batchedChunks).toBeGreaterThan(0);
  });

  it('of 64 chunks with two framing threads: one batch of 32 goes to a thread, the next is framed inline beside it', async () => {
    pool = new ChunkPool(2, 1, true);
    await pool.start();
    await frameTurn(pool, bodies(64, 5), (i) => i % 4 !== 2);
    expect(pool.batchedChunks, 'chunks framed by a thread').toBe(32);
  });
});
