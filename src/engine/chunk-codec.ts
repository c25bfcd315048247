// Building and opening CHUNK frames (docs/FORMAT.md §2.3): zstd unless it does not pay, then framed and
// hashed. Pure functions, used on the main thread for small chunks and in chunk-worker.ts for large ones.
import zstd from 'zstd-napi';
import { CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DICT, RecordType } from '../format/constants.js';
import { encodeFrame, type Frame } from '../format/frame.js';
import { decodeChunkMeta, encodeChunkMeta, type ChunkMeta } from '../format/records.js';
import { CorruptionError } from '../util/errors.js';

/** Store compressed only if it saves at least this share of the raw bytes. */
export const MIN_SAVINGS = 1 / 32;

const compressors = new Map<number, zstd.Compressor>();
let decompressor: zstd.Decompressor | undefined;

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
