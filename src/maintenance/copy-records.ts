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
  /** Ascending by offset; `type` is what the footer says the record is. */
  records: Array<{ offset: number; frameLen: number; type: number }>;
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
  /** Indexes into `records` of frames that failed their check (copied anyway, verbatim or as read). */
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
    for (let i = 0; i < t.records.length; ) {
      // Records close to each other are read with one call, dead bytes between them included: one
      // read of a few MiB costs less than thousands of 4 KiB reads.
      let j = i + 1;
      let end = t.records[i].offset + t.records[i].frameLen;
      while (
        j < t.records.length &&
        t.records[j].offset >= end &&
        t.records[j].offset - end <= READ_GAP_BYTES_MAX &&
        t.records[j].offset + t.records[j].frameLen - t.records[i].offset <= READ_RUN_BYTES_MAX
      ) {
        end = t.records[j].offset + t.records[j].frameLen;
        j++;
      }
      const start = t.records[i].offset;
      const buf = Buffer.alloc(end - start);
      const n = await src.read(buf, 0, buf.length, start);
      for (let k = i; k < j; k++) bytesRead += Math.min(t.records[k].frameLen, Math.max(0, start + n - t.records[k].offset));
      for (let k = i; k < j; k++) {
        const r = t.records[k];
        const frame = buf.subarray(r.offset - start, r.offset - start + r.frameLen);
        const problem = r.offset + r.frameLen > start + n ? `short read: the segment ends before this record` : checkFrame(frame, r.type);
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
