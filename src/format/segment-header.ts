// Segment header (docs/FORMAT.md §2.1): 64 bytes at offset 0 of every segment file.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC } from './constants.js';
import { checkHashAt, writeHashAt } from './hash.js';

export interface SegmentHeader {
  formatVersion: number;
  tier: number;
  segmentId: number;
  createdMs: number;
}

export function encodeSegmentHeader(h: Omit<SegmentHeader, 'formatVersion'>): Buffer {
  const w = new BinaryWriter(SEGMENT_HEADER_BYTES);
  w.bytes(SEGMENT_MAGIC).u16(SEGMENT_FORMAT_VERSION).u8(h.tier).u8(0).u32(0);
  w.u64(h.segmentId).u64(h.createdMs).zeros(24).zeros(8);
  const buf = w.finish();
  writeHashAt(buf, 0, 56);
  return buf;
}

/** Throws FormatError (bad magic/hash) or VersionError (newer format). */
export function decodeSegmentHeader(buf: Buffer): SegmentHeader {
  if (buf.length < SEGMENT_HEADER_BYTES) throw new FormatError('segment header truncated');
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) throw new FormatError('bad segment magic');
  if (!checkHashAt(buf, 0, 56)) throw new FormatError('segment header checksum mismatch');
  const r = new BinaryReader(buf, 8, SEGMENT_HEADER_BYTES);
  const formatVersion = r.u16();
  if (formatVersion > SEGMENT_FORMAT_VERSION) throw new NewerFormatError(`segment format version ${formatVersion}`);
  const tier = r.u8();
  r.u8();
  r.u32();
  const segmentId = r.u64();
  const createdMs = r.u64();
  return { formatVersion, tier, segmentId, createdMs };
}

export class NewerFormatError extends Error {
  constructor(what: string) {
    super(`${what} is newer than this sediment understands (max ${SEGMENT_FORMAT_VERSION})`);
    this.name = 'NewerFormatError';
  }
}
