// Record frames (docs/FORMAT.md §2.2): magic, length, type, flags, meta, payload, xxh64.
// Decoding checks everything before returning; callers turn FormatError into CorruptionError with the
// segment and offset they read from.
import { FormatError } from './binary.js';
import {
  CODEC_MASK,
  FRAME_HASH_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  FRAME_MIN_BYTES,
} from './constants.js';
import { checkHashAt, writeHashAt } from './hash.js';

export interface FrameHeader {
  frameLen: number;
  type: number;
  flags: number;
  metaLen: number;
}

export interface Frame extends FrameHeader {
  /** Views into the buffer given to decodeFrame: valid as long as that buffer is. */
  meta: Buffer;
  payload: Buffer;
}

export const MAX_FRAME_BYTES = 0xffff_ffff;

/** Builds one frame in a fresh buffer. `payload` may be a list of parts (avoids a concat). */
export function encodeFrame(type: number, flags: number, meta: Uint8Array, payload: Uint8Array | Uint8Array[]): Buffer {
  const parts = Array.isArray(payload) ? payload : [payload];
  let payloadLen = 0;
  for (const p of parts) payloadLen += p.length;
  const frameLen = FRAME_MIN_BYTES + meta.length + payloadLen;
  if (frameLen > MAX_FRAME_BYTES) throw new RangeError(`frame of ${frameLen} bytes too large`);
  if (meta.length > 0xffff) throw new RangeError('frame meta too large');
  const buf = Buffer.allocUnsafe(frameLen);
  writeFrameHeader(buf, type, flags, frameLen, meta.length);
  buf.set(meta, FRAME_HEADER_BYTES);
  let pos = FRAME_HEADER_BYTES + meta.length;
  for (const p of parts) {
    buf.set(p, pos);
    pos += p.length;
  }
  writeHashAt(buf, 0, frameLen - FRAME_HASH_BYTES);
  return buf;
}

/** Writes the fixed 12-byte frame header at the start of `buf` (the frame is built around its payload). */
export function writeFrameHeader(buf: Buffer, type: number, flags: number, frameLen: number, metaLen: number): void {
  buf.writeUInt32LE(FRAME_MAGIC, 0);
  buf.writeUInt32LE(frameLen, 4);
  buf[8] = type;
  buf[9] = flags;
  buf.writeUInt16LE(metaLen, 10);
}

/**
 * Parses the fixed 12-byte frame header at `at`. Returns undefined when the bytes cannot start a frame
 * (bad magic, impossible length or flags) — for a scan that is the end of valid data.
 */
export function parseFrameHeader(buf: Buffer, at: number): FrameHeader | undefined {
  if (at + FRAME_HEADER_BYTES > buf.length) return undefined;
  if (buf.readUInt32LE(at) !== FRAME_MAGIC) return undefined;
  const frameLen = buf.readUInt32LE(at + 4);
  const type = buf[at + 8];
  const flags = buf[at + 9];
  const metaLen = buf.readUInt16LE(at + 10);
  if (frameLen < FRAME_MIN_BYTES + metaLen) return undefined;
  if ((flags & ~CODEC_MASK) !== 0) return undefined;
  return { frameLen, type, flags, metaLen };
}

/** Decodes and verifies the frame that occupies all of `buf`. */
export function decodeFrame(buf: Buffer): Frame {
  const h = parseFrameHeader(buf, 0);
  if (h === undefined) throw new FormatError('bad frame header');
  if (h.frameLen !== buf.length) throw new FormatError(`frame length ${h.frameLen} != ${buf.length} bytes read`);
  if (!checkHashAt(buf, 0, h.frameLen - FRAME_HASH_BYTES)) throw new FormatError('frame checksum mismatch');
  const metaEnd = FRAME_HEADER_BYTES + h.metaLen;
  return {
    ...h,
    meta: buf.subarray(FRAME_HEADER_BYTES, metaEnd),
    payload: buf.subarray(metaEnd, h.frameLen - FRAME_HASH_BYTES),
  };
}
