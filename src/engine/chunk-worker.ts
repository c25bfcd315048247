// piscina worker: compresses, frames and hashes chunks off the main thread. Two kinds of task:
// - one large chunk: the raw bytes arrive transferred (not copied) and the frame goes back transferred;
// - a batch of small chunks (docs/ARCHITECTURE.md, "Small puts"): the raws arrive packed in one transferred
//   buffer; the frames, and the MD5 of each raw that asked for it, go back packed in one transferred buffer.
import { createHash } from 'node:crypto';
import { move } from 'piscina';
import { initHash } from '../format/hash.js';
import type { ChunkMeta } from '../format/records.js';
import { batchLayout, buildChunkFrame } from './chunk-codec.js';

await initHash();

export interface ChunkTask {
  kind: 'chunk';
  raw: Uint8Array;
  meta: ChunkMeta;
  level: number;
}

export interface BatchTask {
  kind: 'batch';
  /** Every raw of the batch, back to back. */
  packed: Uint8Array;
  /** Length of each raw in `packed`, in order. */
  lengths: number[];
  metas: ChunkMeta[];
  /** Per item: also return the MD5 of the raw bytes. */
  wantMd5: boolean[];
  level: number;
}

function owned(frame: Buffer): Buffer {
  // A frame from encodeFrame owns its whole ArrayBuffer only if it was not pooled; copy if it was.
  return frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : Buffer.from(frame);
}

function buildOne(task: ChunkTask): unknown {
  const frame = owned(buildChunkFrame(task.raw, task.meta, task.level));
  return move(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
}

function buildBatch(task: BatchTask): unknown {
  const n = task.lengths.length;
  const frames: Buffer[] = [];
  const md5s: Array<Buffer | undefined> = [];
  let at = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const raw = task.packed.subarray(at, at + task.lengths[i]);
    at += task.lengths[i];
    md5s.push(task.wantMd5[i] ? createHash('md5').update(raw).digest() : undefined);
    const frame = buildChunkFrame(raw, task.metas[i], task.level);
    frames.push(frame);
    total += frame.length;
  }
  const { lengthsAt, framesAt } = batchLayout(n);
  const out = Buffer.allocUnsafeSlow(framesAt + total);
  out.fill(0, 0, lengthsAt);
  let pos = framesAt;
  for (let i = 0; i < n; i++) {
    md5s[i]?.copy(out, 16 * i);
    out.writeUInt32LE(frames[i].length, lengthsAt + 4 * i);
    frames[i].copy(out, pos);
    pos += frames[i].length;
  }
  return move(new Uint8Array(out.buffer, 0, out.length));
}

/** Answered once the worker is up (ChunkPool waits for it before sending batches). */
export interface NoopTask {
  kind: 'noop';
}

export default function run(task: ChunkTask | BatchTask | NoopTask): unknown {
  if (task.kind === 'noop') return null;
  return task.kind === 'batch' ? buildBatch(task) : buildOne(task);
}
