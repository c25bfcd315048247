// Reading a segment's record list at open and in verify: from the footer of a sealed segment, or by a
// sequential scan that checks every frame. A scan distinguishes a torn tail (nothing valid follows the
// first bad byte: safe to truncate, it was never acknowledged) from damage in the middle (valid frames
// follow: reported, never truncated).
import { FormatError } from '../format/binary.js';
import { RecordType, SEGMENT_HEADER_BYTES, TAIL_BYTES } from '../format/constants.js';
import { decodeFrame, parseFrameHeader } from '../format/frame.js';
import { decodeFooterPayload, decodeTail, type FooterEntry } from '../format/footer.js';
import { decodeChunkMeta } from '../format/records.js';
import { decodeSegmentHeader, NewerFormatError, type SegmentHeader } from '../format/segment-header.js';
import type { FileHandle, FileSystem } from '../io/types.js';

export interface Damage {
  segmentId: number;
  offset: number;
  length: number;
  detail: string;
}

export interface SegmentListing {
  header: SegmentHeader | undefined;
  entries: FooterEntry[];
  sealed: boolean;
  /** End of the last valid record (scan) or of the tail (sealed). */
  validEnd: number;
  fileSize: number;
  damage: Damage[];
}

const WINDOW_BYTES = 8 << 20;

/** Sequential windowed reader over one file. */
class Window {
  buf = Buffer.alloc(0);
  start = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}
  /** Ensures [at, at+len) is in the window (clamped to the file); returns the available length. */
  async ensure(at: number, len: number): Promise<number> {
    const want = Math.min(len, this.size - at);
    if (want <= 0) return 0;
    if (at >= this.start && at + want <= this.start + this.buf.length) return want;
    const n = Math.min(Math.max(want, WINDOW_BYTES), this.size - at);
    const buf = Buffer.allocUnsafe(n);
    const got = await this.fh.read(buf, 0, n, at);
    this.buf = buf.subarray(0, got);
    this.start = at;
    return Math.min(want, got);
  }
  view(at: number, len: number): Buffer {
    return this.buf.subarray(at - this.start, at - this.start + len);
  }
}

/**
 * Tries the footer first; returns undefined when the tail or footer is not valid. Record payloads are views
 * of the footer: a caller that keeps one beyond its listing copies it (open copies the few kinds it keeps,
 * engine.ts replay). Copying all of them cost open ~0.4 µs per record and their garbage.
 */
export async function readFooter(fh: FileHandle, fileSize: number, chunks = true): Promise<FooterEntry[] | undefined> {
  const payload = await readFooterPayload(fh, fileSize);
  if (!payload) return undefined;
  try {
    return decodeFooterPayload(payload, chunks);
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
}

/** The checked footer payload of a sealed segment, undecoded; undefined when the tail or footer frame is not valid. */
export async function readFooterPayload(fh: FileHandle, fileSize: number): Promise<Buffer | undefined> {
  if (fileSize < SEGMENT_HEADER_BYTES + TAIL_BYTES) return undefined;
  const tail = Buffer.alloc(TAIL_BYTES);
  await fh.read(tail, 0, TAIL_BYTES, fileSize - TAIL_BYTES);
  const footerOffset = decodeTail(tail);
  if (footerOffset === undefined || footerOffset < SEGMENT_HEADER_BYTES || footerOffset >= fileSize - TAIL_BYTES) return undefined;
  const len = fileSize - TAIL_BYTES - footerOffset;
  const buf = Buffer.allocUnsafe(len);
  if ((await fh.read(buf, 0, len, footerOffset)) !== len) return undefined;
  try {
    const frame = decodeFrame(buf);
    return frame.type === RecordType.FOOTER ? frame.payload : undefined;
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
}

/** Returns the entry for a verified frame at `at`, or undefined if no valid frame starts there. */
async function frameAt(win: Window, at: number): Promise<FooterEntry | undefined> {
  if ((await win.ensure(at, 12)) < 12) return undefined;
  const h = parseFrameHeader(win.view(at, 12), 0);
  if (!h || at + h.frameLen > win.size) return undefined;
  if ((await win.ensure(at, h.frameLen)) < h.frameLen) return undefined;
  let frame;
  try {
    frame = decodeFrame(win.view(at, h.frameLen));
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
  if (frame.type === RecordType.CHUNK) {
    try {
      return { type: frame.type, offset: at, frameLen: h.frameLen, chunk: decodeChunkMeta(frame.meta) };
    } catch {
      return undefined;
    }
  }
  return { type: frame.type, offset: at, frameLen: h.frameLen, payload: Buffer.from(frame.payload) };
}

const MAGIC0 = 0x53; // 'S' of "SREC"

/** Finds the next offset > `from` where a valid frame starts, or undefined. */
async function resync(win: Window, from: number): Promise<number | undefined> {
  for (let at = from + 1; at + 20 <= win.size; ) {
    const n = await win.ensure(at, WINDOW_BYTES);
    const view = win.view(at, n);
    let i = view.indexOf(MAGIC0);
    while (i !== -1) {
      if ((await frameAt(win, at + i)) !== undefined) return at + i;
      await win.ensure(at, WINDOW_BYTES);
      i = win.view(at, n).indexOf(MAGIC0, i + 1);
    }
    at += Math.max(1, n - 3);
  }
  return undefined;
}

/** Scans every frame of a segment file. Does not modify the file. */
export async function scanSegment(fh: FileHandle, segmentId: number, fileSize: number): Promise<SegmentListing> {
  const damage: Damage[] = [];
  const win = new Window(fh, fileSize);
  let header: SegmentHeader | undefined;
  await win.ensure(0, SEGMENT_HEADER_BYTES);
  try {
    header = decodeSegmentHeader(win.view(0, SEGMENT_HEADER_BYTES));
  } catch (err) {
    if (err instanceof NewerFormatError) throw err;
    damage.push({ segmentId, offset: 0, length: Math.min(SEGMENT_HEADER_BYTES, fileSize), detail: `bad segment header: ${(err as Error).message}` });
  }
  const entries: FooterEntry[] = [];
  let at = SEGMENT_HEADER_BYTES;
  // Never past the end: a file cut inside its header (or to 0 bytes) would otherwise report damage of a
  // negative length after it (fileSize - validEnd).
  let validEnd = Math.min(at, fileSize);
  let sealed = false;
  while (at < fileSize) {
    const e = await frameAt(win, at);
    if (e) {
      if (e.type === RecordType.FOOTER) {
        // A footer followed by a valid tail ends the segment.
        if (at + e.frameLen + TAIL_BYTES === fileSize) {
          await win.ensure(at + e.frameLen, TAIL_BYTES);
          if (decodeTail(Buffer.from(win.view(at + e.frameLen, TAIL_BYTES))) === at) {
            sealed = true;
            validEnd = fileSize;
            break;
          }
        }
      } else {
        entries.push(e);
      }
      at += e.frameLen;
      validEnd = at;
      continue;
    }
    const next = await resync(win, at);
    if (next === undefined) break; // torn tail: nothing valid after `at`
    damage.push({ segmentId, offset: at, length: next - at, detail: 'unreadable bytes between valid records' });
    at = next;
  }
  return { header, entries, sealed, validEnd, fileSize, damage };
}

/**
 * Footer if valid, else a full scan (reporting that the footer was unusable for a sealed segment).
 * `footerChunks` false: a listing from a footer leaves CHUNK entries out (open replays only the others);
 * one from a scan has them all, as the writer of an unsealed segment needs them for its footer.
 */
export async function listSegment(fs: FileSystem, path: string, segmentId: number, expectSealed: boolean, footerChunks = true): Promise<SegmentListing> {
  const fh = await fs.open(path, 'read');
  try {
    const fileSize = await fh.size();
    const head = Buffer.alloc(Math.min(SEGMENT_HEADER_BYTES, fileSize));
    await fh.read(head, 0, head.length, 0);
    let header: SegmentHeader | undefined;
    try {
      header = decodeSegmentHeader(head);
    } catch (err) {
      if (err instanceof NewerFormatError) throw err;
    }
    if (header) {
      const entries = await readFooter(fh, fileSize, footerChunks);
      if (entries) return { header, entries, sealed: true, validEnd: fileSize, fileSize, damage: [] };
    }
    const listing = await scanSegment(fh, segmentId, fileSize);
    if (expectSealed && !listing.sealed) {
      listing.damage.push({ segmentId, offset: listing.validEnd, length: fileSize - listing.validEnd, detail: 'sealed segment has no valid footer/tail' });
    }
    return listing;
  } finally {
    await fh.close();
  }
}
