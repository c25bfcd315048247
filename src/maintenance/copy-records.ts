// The byte work of compaction and scrub, the same code inline (in-memory file systems, tests) and in a
// piscina worker (compaction-worker.ts, real disks): copy frames verbatim after checking each one's
// xxh64, and scan whole files frame by frame. Frames are never decompressed or re-encoded.
import { FormatError } from '../format/binary.js';
import { decodeFrame } from '../format/frame.js';
import type { FileSystem } from '../io/types.js';
import { scanSegment, type Damage } from '../engine/segment-scan.js';

export interface CopyTask {
  kind: 'copy';
  srcPath: string;
  /**
   * The records, ascending by offset, as columns (typed arrays cross to the worker as a few copies of
   * memory; an array of objects cost ~0.7 ms of the main thread per 1 MiB batch of 4 KiB records to
   * serialize). `types` is what the footer says each record is.
   */
  offsets: Float64Array;
  frameLens: Uint32Array;
  types: Uint8Array;
  dstPath: string;
  /** Where the first record goes in the destination; the rest follow with no gap. */
  dstOffset: number;
  /**
   * fdatasync the destination after this batch: flushing a pack piece by piece keeps one big flush at
   * the end from stalling the log's group commits behind it (latency of PUTs during compaction).
   */
  sync: boolean;
}

export interface CopyResult {
  /** Indexes (into the task's columns) of frames that failed their check (copied anyway, verbatim or as read). */
  damaged: Array<{ index: number; detail: string }>;
  bytesRead: number;
  bytesWritten: number;
}

export interface ScrubTask {
  kind: 'scrub';
  path: string;
  segmentId: number;
  /** Bytes to check (the whole file for sealed segments). */
  size: number;
}

export interface ScrubResult {
  records: number;
  bytes: number;
  sealed: boolean;
  validEnd: number;
  damage: Damage[];
  /** Offsets of the valid frames (verify uses them to check that indexed records are intact). */
  offsets: number[];
}

const READ_RUN_BYTES_MAX = 8 << 20;
/** Dead bytes worth reading through to join two runs. */
const READ_GAP_BYTES_MAX = 64 << 10;

function checkFrame(buf: Buffer, type: number): string | undefined {
  try {
    const f = decodeFrame(buf);
    return f.type === type ? undefined : `record type ${f.type}, footer says ${type}`;
  } catch (err) {
    if (err instanceof FormatError) return err.message;
    throw err;
  }
}

export async function copyRecords(fs: FileSystem, t: CopyTask): Promise<CopyResult> {
  const src = await fs.open(t.srcPath, 'read');
  const out: Buffer[] = [];
  const damaged: CopyResult['damaged'] = [];
  let bytesRead = 0;
  try {
    const { offsets, frameLens, types } = t;
    for (let i = 0; i < offsets.length; ) {
      // Records close to each other are read with one call, dead bytes between them included: one
      // read of a few MiB costs less than thousands of 4 KiB reads.
      let j = i + 1;
      let end = offsets[i] + frameLens[i];
      while (
        j < offsets.length &&
        offsets[j] >= end &&
        offsets[j] - end <= READ_GAP_BYTES_MAX &&
        offsets[j] + frameLens[j] - offsets[i] <= READ_RUN_BYTES_MAX
      ) {
        end = offsets[j] + frameLens[j];
        j++;
      }
      const start = offsets[i];
      const buf = Buffer.alloc(end - start);
      const n = await src.read(buf, 0, buf.length, start);
      for (let k = i; k < j; k++) bytesRead += Math.min(frameLens[k], Math.max(0, start + n - offsets[k]));
      for (let k = i; k < j; k++) {
        const frame = buf.subarray(offsets[k] - start, offsets[k] - start + frameLens[k]);
        const problem = offsets[k] + frameLens[k] > start + n ? `short read: the segment ends before this record` : checkFrame(frame, types[k]);
        if (problem) damaged.push({ index: k, detail: problem });
        out.push(frame);
      }
      i = j;
    }
  } finally {
    await src.close();
  }
  const dst = await fs.open(t.dstPath, 'readwrite');
  let bytesWritten = 0;
  try {
    if (out.length > 0) await dst.writev(out, t.dstOffset);
    for (const b of out) bytesWritten += b.length;
    if (t.sync && out.length > 0) await dst.datasync();
  } finally {
    await dst.close();
  }
  return { damaged, bytesRead, bytesWritten };
}

export async function scrubFile(fs: FileSystem, t: ScrubTask): Promise<ScrubResult> {
  const fh = await fs.open(t.path, 'read');
  try {
    const size = Math.min(t.size, await fh.size());
    const listing = await scanSegment(fh, t.segmentId, size);
    return {
      records: listing.entries.length,
      bytes: size,
      sealed: listing.sealed,
      validEnd: listing.validEnd,
      damage: listing.damage,
      offsets: listing.entries.map((e) => e.offset),
    };
  } finally {
    await fh.close();
  }
}
