// Builds one cold segment from hot CHUNK frames (docs/FORMAT.md §2.6): verify each input frame, decompress,
// recompress at the cold level (small chunks with the segment dictionary), lay the segment out, then decode
// every new frame again and compare it with the raw bytes — a cold frame that would not give back exactly
// the hot bytes is never written. Pure CPU: runs in a piscina worker (compaction-worker.ts) or inline. The
// input arrives transferred and the segment goes back transferred.
import { move } from 'piscina';
import { encodeColdSegment } from '../format/cold-segment.js';
import { RecordType } from '../format/constants.js';
import { decodeFrame } from '../format/frame.js';
import { buildDictionary, ColdEncoder, openColdChunkFrame, openDictFrame } from '../engine/cold-codec.js';
import { openChunkFrame } from '../engine/chunk-codec.js';
import { verifyFrame } from '../engine/segment-store.js';

export interface ColdBuildTask {
  kind: 'cold-build';
  segmentId: number;
  createdMs: number;
  level: number;
  /** The input CHUNK frames back to back (transferred). */
  packed: Uint8Array;
  lengths: number[];
  /** Where each input frame was read (for error reports). */
  from: Array<{ segmentId: number; offset: number }>;
}

/**
 * The whole cold segment (the caller finds each chunk's offset and length in its footer, which it decodes
 * to check the segment anyway), or which input frame was damaged.
 */
export type ColdBuildResult = Uint8Array | { ok: false; index: number; message: string };

export function buildColdSegment(task: ColdBuildTask): ColdBuildResult {
  const raws: Buffer[] = [];
  const metas: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < task.lengths.length; i++) {
    const bytes = Buffer.from(task.packed.buffer, task.packed.byteOffset + at, task.lengths[i]);
    at += task.lengths[i]!;
    const w = task.from[i]!;
    try {
      const frame = verifyFrame(bytes, w.segmentId, w.offset, RecordType.CHUNK);
      raws.push(openChunkFrame(frame, w.segmentId, w.offset).raw);
      metas.push(Buffer.from(frame.meta));
    } catch (err) {
      return { ok: false, index: i, message: (err as Error).message };
    }
  }
  const dict = buildDictionary(raws, task.level);
  const enc = new ColdEncoder(task.level, dict);
  const frames = raws.map((raw, i) => enc.encode(raw, metas[i]!));
  const dictRecord = enc.dictRecord();
  const layout = encodeColdSegment(task.segmentId, task.createdMs, frames, dictRecord);
  if (dict && layout.dictOffset !== undefined) {
    const at = layout.dictOffset;
    const dictFrame = decodeFrame(layout.bytes.subarray(at, at + layout.bytes.readUInt32LE(at + 4)));
    if (!openDictFrame(dictFrame, task.segmentId, at).equals(dict)) throw new Error(`dictionary of cold segment ${task.segmentId} does not decode to itself`);
  }
  for (let i = 0; i < frames.length; i++) {
    const back = openColdChunkFrame(decodeFrame(frames[i]!), dict, task.segmentId, layout.offsets[i]!);
    if (!back.equals(raws[i]!)) throw new Error(`cold frame ${i} of segment ${task.segmentId} does not decode to its input`);
  }
  const out = layout.bytes; // Buffer.concat: owns its ArrayBuffer unless it came from the small-buffer pool
  return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? new Uint8Array(out.buffer) : new Uint8Array(out);
}

/** The worker's entry: the segment goes back transferred (moved), not copied. */
export function runColdBuild(task: ColdBuildTask): unknown {
  const r = buildColdSegment(task);
  return r instanceof Uint8Array ? move(r) : r;
}
