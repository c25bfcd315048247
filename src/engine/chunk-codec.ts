// Building and opening CHUNK frames (docs/FORMAT.md §2.3): zstd unless it does not pay, then framed and
// hashed. Pure functions, used on the main thread for small chunks and in chunk-worker.ts for large ones.
import zstd from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { CHUNK_META_BYTES, CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DICT, FRAME_HASH_BYTES, FRAME_HEADER_BYTES, RecordType } from '../format/constants.js';
import { encodeFrame, writeFrameHeader, type Frame } from '../format/frame.js';
import { writeHashAt } from '../format/hash.js';
import { CHUNK_FRAME_HEAD_BYTES } from './chunk-buffers.js';
import { decodeChunkMeta, encodeChunkMeta, type ChunkMeta } from '../format/records.js';
import { CorruptionError } from '../util/errors.js';

/** Store compressed only if it saves at least this share of the raw bytes. */
export const MIN_SAVINGS = 1 / 32;

const compressors = new Map<number, zstd.Compressor>();
let decompressor: zstd.Decompressor | undefined;
let intoContext: InstanceType<typeof zstdBinding.DCtx> | undefined;

function compressorFor(level: number): zstd.Compressor {
  let c = compressors.get(level);
  if (!c) {
    c = new zstd.Compressor();
    c.setParameters({ compressionLevel: level });
    compressors.set(level, c);
  }
  return c;
}

/** Chunks at least this large are probed before being compressed whole. */
export const PROBE_MIN_BYTES = 256 * 1024;
const PROBE_BYTES = 32 * 1024;

/**
 * Early abort for incompressible data (encrypted backups, media): compress two small samples; if
 * neither saves the minimum, the whole chunk would not either — store it raw without spending the
 * compression CPU. A false "incompressible" only costs ratio, never correctness.
 */
function looksIncompressible(raw: Uint8Array, c: zstd.Compressor): boolean {
  const mid = Math.floor(raw.length / 2);
  for (const at of [0, mid]) {
    const sample = raw.subarray(at, at + PROBE_BYTES);
    if (c.compress(sample).length <= sample.length * (1 - MIN_SAVINGS)) return false;
  }
  return true;
}

/** Returns a complete CHUNK frame for `raw`. `level` 0 means "store raw". */
export function buildChunkFrame(raw: Uint8Array, meta: ChunkMeta, level: number): Buffer {
  const metaBytes = encodeChunkMeta(meta);
  if (level > 0 && raw.length >= 64 && !(raw.length >= PROBE_MIN_BYTES && looksIncompressible(raw, compressorFor(1)))) {
    const packed = compressorFor(level).compress(raw);
    if (packed.length <= raw.length * (1 - MIN_SAVINGS)) {
      return encodeFrame(RecordType.CHUNK, CODEC_ZSTD, metaBytes, packed);
    }
  }
  return encodeFrame(RecordType.CHUNK, CODEC_RAW, metaBytes, raw);
}

/**
 * buildChunkFrame for a chunk held in a ChunkBuffer (chunk-buffers.ts): `whole` is the buffer, the chunk's
 * `len` bytes start at CHUNK_FRAME_HEAD_BYTES. Stored raw, the frame is built around the bytes where they are
 * (header and meta before them, the hash after) and returned as a view of `whole[0, frameLen)`: no copy.
 * Compressed, it is a new buffer. Only the head and hash rooms of `whole` are written, never the chunk's
 * bytes, so other threads may read those meanwhile.
 */
export function buildChunkFrameInPlace(whole: Uint8Array, len: number, meta: ChunkMeta, level: number): Buffer {
  const buf = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
  const frameLen = CHUNK_FRAME_HEAD_BYTES + len + FRAME_HASH_BYTES;
  if (frameLen > buf.length || meta.rawLen !== len) throw new RangeError(`assertion failed: chunk of ${len} bytes in a buffer of ${buf.length}`);
  const raw = buf.subarray(CHUNK_FRAME_HEAD_BYTES, CHUNK_FRAME_HEAD_BYTES + len);
  if (level > 0 && len >= 64 && !(len >= PROBE_MIN_BYTES && looksIncompressible(raw, compressorFor(1)))) {
    const packed = compressorFor(level).compress(raw);
    if (packed.length <= len * (1 - MIN_SAVINGS)) return encodeFrame(RecordType.CHUNK, CODEC_ZSTD, encodeChunkMeta(meta), packed);
  }
  writeFrameHeader(buf, RecordType.CHUNK, CODEC_RAW, frameLen, CHUNK_META_BYTES);
  buf.set(encodeChunkMeta(meta), FRAME_HEADER_BYTES);
  writeHashAt(buf, 0, frameLen - FRAME_HASH_BYTES);
  return buf.subarray(0, frameLen);
}

/**
 * The worker's reply to a batch of n small chunks (chunk-worker.ts): n MD5s of 16 bytes (zeros where none
 * was asked), n frame lengths as u32 little-endian, then the n frames back to back.
 */
export function batchLayout(n: number): { md5At: number; lengthsAt: number; framesAt: number } {
  return { md5At: 0, lengthsAt: 16 * n, framesAt: 20 * n };
}

/** Decodes a verified CHUNK frame to its raw bytes; any inconsistency is corruption. */
export function openChunkFrame(frame: Frame, segmentId: number, offset: number): { meta: ChunkMeta; raw: Buffer } {
  let meta: ChunkMeta;
  try {
    meta = decodeChunkMeta(frame.meta);
  } catch (err) {
    throw new CorruptionError(segmentId, offset, 'bad chunk meta', { cause: err });
  }
  let raw: Buffer;
  if ((frame.flags & CODEC_MASK) === CODEC_ZSTD) {
    decompressor ??= new zstd.Decompressor();
    try {
      raw = decompressor.decompress(frame.payload);
    } catch (err) {
      throw new CorruptionError(segmentId, offset, 'zstd payload does not decompress', { cause: err });
    }
  } else if ((frame.flags & CODEC_MASK) === CODEC_ZSTD_DICT) {
    // Only cold segments use dictionaries (cold-codec.ts opens those); here it can only be damage.
    throw new CorruptionError(segmentId, offset, 'dictionary-coded chunk outside a cold segment');
  } else {
    raw = frame.payload;
  }
  if (raw.length !== meta.rawLen) {
    throw new CorruptionError(segmentId, offset, `chunk holds ${raw.length} bytes, meta says ${meta.rawLen}`);
  }
  return { meta, raw };
}

/**
 * `openChunkFrame` into memory the caller gives: a verified CHUNK frame's raw bytes are decompressed (or
 * copied) straight into `dst`, which must be exactly as long as the chunk. Saves the fresh buffer zstd-napi
 * would allocate and the copy out of it (chunk-worker.ts `openBatch`; docs/PERFORMANCE.md, "Large GET").
 * A frame that holds more or fewer bytes than `dst.length` is corruption, and `dst` then holds garbage.
 */
export function openChunkFrameInto(frame: Frame, dst: Uint8Array, segmentId: number, offset: number): ChunkMeta {
  let meta: ChunkMeta;
  try {
    meta = decodeChunkMeta(frame.meta);
  } catch (err) {
    throw new CorruptionError(segmentId, offset, 'bad chunk meta', { cause: err });
  }
  if (meta.rawLen !== dst.length) throw new CorruptionError(segmentId, offset, `chunk meta says ${meta.rawLen} bytes, expected ${dst.length}`);
  const codec = frame.flags & CODEC_MASK;
  if (codec === CODEC_ZSTD) {
    intoContext ??= new zstdBinding.DCtx();
    let n: number;
    try {
      n = intoContext.decompress(dst, frame.payload);
    } catch (err) {
      // Also what a payload that decompresses to more than dst.length gives ("Destination buffer is too small").
      throw new CorruptionError(segmentId, offset, 'zstd payload does not decompress to the chunk length', { cause: err });
    }
    if (n !== dst.length) throw new CorruptionError(segmentId, offset, `chunk holds ${n} bytes, meta says ${meta.rawLen}`);
  } else if (codec === CODEC_ZSTD_DICT) {
    throw new CorruptionError(segmentId, offset, 'dictionary-coded chunk outside a cold segment');
  } else {
    if (frame.payload.length !== dst.length) throw new CorruptionError(segmentId, offset, `chunk holds ${frame.payload.length} bytes, meta says ${meta.rawLen}`);
    dst.set(frame.payload);
  }
  return meta;
}
