// The plain framing threads of ChunkPool's batched path (src/engine/batch-framers.ts, batch-worker.ts):
// the bytes they return are the frames and MD5s the main thread would build, in order, for batches sent
// to several threads at once; a batch that fails there rejects alone; close() rejects what is still out.
// The compiled worker (dist/, built by `npm ci`) is what runs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchFramers } from '../src/engine/batch-framers.js';
import { batchLayout, buildChunkFrame } from '../src/engine/chunk-codec.js';
import type { BatchTask } from '../src/engine/chunk-worker.js';
import { initHash } from '../src/format/hash.js';
import { logLike } from './helpers/engine-helpers.js';

const WORKER = fileURLToPath(new URL('../dist/src/engine/batch-worker.js', import.meta.url));

function batch(seed: number, n: number): { task: BatchTask; raws: Buffer[] } {
  const raws = Array.from({ length: n }, (_, i) => logLike(100 + ((seed * 7 + i * 131) % 6000), seed * 100 + i));
  const packed = new Uint8Array(raws.reduce((a, r) => a + r.length, 0));
  let at = 0;
  for (const r of raws) {
    packed.set(r, at);
    at += r.length;
  }
  const task: BatchTask = {
    kind: 'batch',
    packed,
    lengths: raws.map((r) => r.length),
    metas: raws.map((r, i) => ({ uploadId: seed * 1000 + i + 1, partNumber: 0, chunkIndex: 0, rawLen: r.length })),
    wantMd5: raws.map((_, i) => i % 2 === 0),
    level: 1,
  };
  return { task, raws };
}

describe('batch framing threads', () => {
  beforeAll(async () => {
    expect(existsSync(WORKER), `${WORKER} is missing: run \`npx tsc -p tsconfig.json\` before the tests`).toBe(true);
    await initHash();
  });

  it('return the frames and MD5s the main thread would build, for batches spread over two threads', async () => {
    const f = new BatchFramers(WORKER, 2);
    try {
      const batches = Array.from({ length: 12 }, (_, s) => batch(s + 1, 1 + (s % 6)));
      const expected = batches.map(({ task, raws }) => raws.map((r, i) => ({ frame: buildChunkFrame(r, task.metas[i], 1), md5: task.wantMd5[i] ? createHash('md5').update(r).digest() : undefined })));
      const outs = await Promise.all(batches.map(({ task }) => f.run(task, [task.packed.buffer as ArrayBuffer])));
      outs.forEach((out, b) => {
        const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
        const n = expected[b].length;
        const { md5At, lengthsAt, framesAt } = batchLayout(n);
        let pos = framesAt;
        for (let i = 0; i < n; i++) {
          const len = buf.readUInt32LE(lengthsAt + 4 * i);
          expect(buf.subarray(pos, pos + len).equals(expected[b][i].frame), `batch ${b} item ${i}`).toBe(true);
          const md5 = expected[b][i].md5;
          if (md5) expect(buf.subarray(md5At + 16 * i, md5At + 16 * i + 16).equals(md5)).toBe(true);
          pos += len;
        }
        expect(pos).toBe(buf.length);
      });
    } finally {
      await f.close();
    }
  });

  it('a batch that fails in the thread rejects alone; the next one is framed', async () => {
    const f = new BatchFramers(WORKER, 1);
    try {
      const bad = batch(3, 2).task;
      bad.metas = []; // no chunk meta for the items: framing throws there
      const good = batch(4, 3);
      const [r1, r2] = await Promise.allSettled([f.run(bad, [bad.packed.buffer as ArrayBuffer]), f.run(good.task, [good.task.packed.buffer as ArrayBuffer])]);
      expect(r1.status).toBe('rejected');
      expect(String((r1 as PromiseRejectedResult).reason)).toMatch(/framing a batch of small chunks failed/);
      expect(r2.status).toBe('fulfilled');
      expect((await f.run(null)).byteLength).toBe(0); // the warm-up answer
    } finally {
      await f.close();
    }
  });

  it('close() rejects batches still out, and every later one', async () => {
    const f = new BatchFramers(WORKER, 1);
    const big = batch(5, 16);
    const out = f.run(big.task, [big.task.packed.buffer as ArrayBuffer]);
    await f.close();
    await expect(out).rejects.toThrow();
    await expect(f.run(null)).rejects.toThrow(/closed/);
  });
});
