// Cold segments (docs/FORMAT.md §2.6): the blobs the cold tier stores. A cold segment is a sealed segment
// with tier = 1 in its header: an optional DICT record at offset 64 (the dictionary, raw or zstd), CHUNK frames (codec 0, 1, or 2 =
// zstd with that dictionary), a v1 FOOTER and the tail. Pure encode/decode: no zstd, no I/O.
import { FormatError } from './binary.js';
import { COLD_SEGMENT_SUFFIX, RecordType, SEGMENT_HEADER_BYTES, TAIL_BYTES, TIER_COLD } from './constants.js';
import { decodeFooterPayload, decodeTail, encodeFooterFrame, encodeTail, type FooterEntry } from './footer.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { decodeChunkMeta } from './records.js';
import { decodeSegmentHeader, encodeSegmentHeader } from './segment-header.js';

const EMPTY = Buffer.alloc(0);

/** `000000000042.cold` */
export function coldSegmentName(id: number): string {
  return `${String(id).padStart(12, '0')}${COLD_SEGMENT_SUFFIX}`;
}

/** The id a blob name stands for, or undefined when the name is not a cold segment's. */
export function parseColdSegmentName(name: string): number | undefined {
  const m = /^(\d{12})\.cold$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface ColdSegmentLayout {
  bytes: Buffer;
  /** Offset of each given CHUNK frame, in the order given. */
  offsets: number[];
  dictOffset?: number;
}

/** Lays out a complete cold segment from ready CHUNK frames (and a dictionary, when one was used). */
export function encodeColdSegment(id: number, createdMs: number, chunkFrames: Buffer[], dict?: { payload: Buffer; codec: number }): ColdSegmentLayout {
  const parts: Buffer[] = [encodeSegmentHeader({ tier: TIER_COLD, segmentId: id, createdMs })];
  const entries: FooterEntry[] = [];
  let pos = SEGMENT_HEADER_BYTES;
  let dictOffset: number | undefined;
  if (dict) {
    const frame = encodeFrame(RecordType.DICT, dict.codec, EMPTY, dict.payload);
    // The footer does not copy the dictionary (payloadLen 0): it is read from its frame.
    entries.push({ type: RecordType.DICT, offset: pos, frameLen: frame.length, payload: EMPTY });
    dictOffset = pos;
    parts.push(frame);
    pos += frame.length;
  }
  const offsets: number[] = [];
  for (const f of chunkFrames) {
    const frame = decodeFrame(f);
    if (frame.type !== RecordType.CHUNK) throw new RangeError('cold segments hold only CHUNK frames');
    entries.push({ type: RecordType.CHUNK, offset: pos, frameLen: f.length, chunk: decodeChunkMeta(frame.meta) });
    offsets.push(pos);
    parts.push(f);
    pos += f.length;
  }
  const footer = encodeFooterFrame(entries);
  parts.push(footer, encodeTail(pos));
  return { bytes: Buffer.concat(parts), offsets, dictOffset };
}

export interface ColdSegmentInfo {
  segmentId: number;
  createdMs: number;
  entries: FooterEntry[];
}

/**
 * Decodes and checks a whole cold segment: header (tier 1, expected id), every frame's hash, the footer
 * and the tail. Throws FormatError on any mismatch. Used to verify a blob after it was written.
 */
export function decodeColdSegment(bytes: Buffer, expectId: number): ColdSegmentInfo {
  const h = decodeSegmentHeader(bytes);
  if (h.tier !== TIER_COLD) throw new FormatError(`segment tier ${h.tier}, expected cold (1)`);
  if (h.segmentId !== expectId) throw new FormatError(`segment id ${h.segmentId}, expected ${expectId}`);
  if (bytes.length < SEGMENT_HEADER_BYTES + TAIL_BYTES) throw new FormatError('cold segment truncated');
  const footerOffset = decodeTail(bytes.subarray(bytes.length - TAIL_BYTES));
  if (footerOffset === undefined || footerOffset >= bytes.length - TAIL_BYTES) throw new FormatError('cold segment has no valid tail');
  const footer = decodeFrame(bytes.subarray(footerOffset, bytes.length - TAIL_BYTES));
  if (footer.type !== RecordType.FOOTER) throw new FormatError('cold segment tail does not point at a FOOTER');
  const entries = decodeFooterPayload(footer.payload);
  let pos = SEGMENT_HEADER_BYTES;
  for (const e of entries) {
    if (e.offset !== pos) throw new FormatError(`footer entry at ${e.offset}, expected ${pos}`);
    const f = decodeFrame(bytes.subarray(e.offset, e.offset + e.frameLen));
    if (f.type !== e.type || (e.type !== RecordType.CHUNK && e.type !== RecordType.DICT)) throw new FormatError(`record type ${f.type} in a cold segment`);
    if (e.type === RecordType.DICT && e.offset !== SEGMENT_HEADER_BYTES) throw new FormatError('DICT record not first');
    pos += e.frameLen;
  }
  if (pos !== footerOffset) throw new FormatError(`records end at ${pos}, footer at ${footerOffset}`);
  return { segmentId: h.segmentId, createdMs: h.createdMs, entries };
}
