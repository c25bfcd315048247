// The plain framing threads of ChunkPool's batched path (src/engine/batch-framers.ts, batch-worker.ts):
// the bytes they return are the frames and MD5s the main thread would build, in order, for batches sent
// to several threads at once; a batch that fails there rejects alone; close() rejects what is still out.
// The compiled worker (dist/, built by `npm ci`) is what runs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchFramers } from '../src/engine/batch-framers.js';
import { batchLayout, buildChunkFrame, packBatch, unpackBatch, type BatchItem } from '../src/engine/chunk-codec.js';
import type { BatchTask } from '../src/engine/chunk-worker.js';
import { initHash } from '../src/format/hash.js';
import { logLike } from './helpers/engine-helpers.js';

const WORKER = fileURLToPath(new URL('../dist/src/engine/batch-worker.js', import.meta.url));

function batch(seed: number, n: number): { task: BatchTask; raws: Buffer[]; items: BatchItem[] } {
  const raws = Array.from({ length: n }, (_, i) => logLike(100 + ((seed * 7 + i * 131) % 6000), seed * 100 + i));
  const items: BatchItem[] = raws.map((raw, i) => ({
    raw,
    meta: { uploadId: seed * 1000 + i + 1, partNumber: i % 3, chunkIndex: i, rawLen: raw.length },
    wantMd5: i % 2 === 0,
    dictId: 0,
  }));
  return { task: { kind: 'batch', packed: packBatch(items, 1) }, raws, items };
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
      const expected = batches.map(({ items }) => items.map((it) => ({ frame: buildChunkFrame(it.raw, it.meta, 1), md5: it.wantMd5 ? createHash('md5').update(it.raw).digest() : undefined })));
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
      const b = batch(3, 2);
      // An item naming a dictionary never sent to the thread: framing throws there.
      const bad: BatchTask = { kind: 'batch', packed: packBatch(b.items.map((it, i) => ({ ...it, dict: i === 1 ? { id: 77 } : undefined })), 1) };
      const good = batch(4, 3);
      const [r1, r2] = await Promise.allSettled([f.run(bad, [bad.packed.buffer as ArrayBuffer]), f.run(good.task, [good.task.packed.buffer as ArrayBuffer])]);
      expect(r1.status).toBe('rejected');
      expect(String((r1 as PromiseRejectedResult).reason)).toMatch(/framing a batch of small chunks failed: .*dictionary 77 was never sent/);
      expect(r2.status).toBe('fulfilled');
      expect((await f.run(null)).byteLength).toBe(0); // the warm-up answer
    } finally {
      await f.close();
    }
  });

  it('packBatch and unpackBatch carry every field, and a buffer that is not a batch is refused', () => {
    const { items } = batch(6, 5);
    const withDicts = items.map((it, i) => ({ ...it, dict: i % 2 === 1 ? { id: 2 ** 40 + i } : undefined, meta: { ...it.meta, uploadId: 2 ** 45 + i } }));
    const packed = packBatch(withDicts, 3);
    const back = unpackBatch(packed);
    expect(back.level).toBe(3);
    expect(back.items.map((it) => ({ meta: it.meta, wantMd5: it.wantMd5, dictId: it.dictId, raw: Buffer.from(it.raw).toString('base64') }))).toEqual(
      withDicts.map((it) => ({ meta: it.meta, wantMd5: it.wantMd5, dictId: it.dict?.id ?? 0, raw: Buffer.from(it.raw).toString('base64') })),
    );
    expect(unpackBatch(packBatch([], 1)).items).toEqual([]);
    expect(() => unpackBatch(packed.subarray(0, packed.length - 1))).toThrow(/shorter than its items/);
    expect(() => unpackBatch(new Uint8Array(8))).toThrow(/not a packed batch/);
    const extra = new Uint8Array(packed.length + 8);
    extra.set(packed);
    expect(() => unpackBatch(extra)).toThrow(/longer than its items/);
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
