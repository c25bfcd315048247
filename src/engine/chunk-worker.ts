// piscina worker: compresses, frames and hashes one chunk off the main thread. The raw bytes arrive
// transferred (not copied) and the frame goes back transferred.
import { move } from 'piscina';
import { initHash } from '../format/hash.js';
import type { ChunkMeta } from '../format/records.js';
import { buildChunkFrame } from './chunk-codec.js';

await initHash();

export interface ChunkTask {
  raw: Uint8Array;
  meta: ChunkMeta;
  level: number;
}

export default function build(task: ChunkTask): unknown {
  const frame = buildChunkFrame(task.raw, task.meta, task.level);
  // A frame from encodeFrame owns its whole ArrayBuffer only if it was not pooled; copy if it was.
  const own = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : Buffer.from(frame);
  return move(new Uint8Array(own.buffer, own.byteOffset, own.byteLength));
}
