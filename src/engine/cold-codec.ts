// Cold-tier chunk coding (docs/FORMAT.md §2.6, measurements in docs/PERFORMANCE.md "Cold tier codec"):
// hot CHUNK frames are verified, decompressed and recompressed at a high zstd level; chunks smaller than
// DICT_CHUNK_BYTES_MAX use a per-segment dictionary (codec 2) built from samples of the segment's own small
// chunks (with zstd entropy tables from them, where the system's zstd library is found) — on log-like data that is what pays for small objects (a long window does
// not: every chunk is compressed on its own and is never larger than zstd's default window).
// Pure CPU work: runs in a piscina worker during migration (cold-build.ts) and inline for GETs of small
// dictionary chunks. Every frame built here is decoded again and compared before it is used.
import zstd from 'zstd-napi';
import { CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DICT, RecordType } from '../format/constants.js';
import { encodeFrame, type Frame } from '../format/frame.js';
import { decodeChunkMeta } from '../format/records.js';
import { CorruptionError } from '../util/errors.js';
import { finalizeDictionary } from '../native/index.js';
import { MIN_SAVINGS, openChunkFrame, ZSTD_DICT_MAGIC } from './chunk-codec.js';

/** Chunks below this many raw bytes are compressed with the segment dictionary. */
export const DICT_CHUNK_BYTES_MAX = 128 * 1024;
/** Dictionary size (zstd's trainer defaults to ~110 KB) and what one chunk may give to it. */
export const DICT_BYTES_MAX = 112 * 1024;
const DICT_SAMPLE_BYTES = 8 * 1024;
/** A dictionary is built only when at least this many small chunks can share it. */
const DICT_CHUNKS_MIN = 8;
/** Default cold zstd level: 12 compresses log text ~1.4x smaller than hot level 1 at ~15-35 MB/s per core;
 * 19 gains ~10% more at ~1 MB/s (measured, docs/PERFORMANCE.md). */
export const COLD_LEVEL_DEFAULT = 12;

/**
 * Small chunks whose entropy statistics go into the dictionary's tables: the first ones, up to this many
 * bytes (1 MiB did as well as 8 on log text, and costs ~30 ms at level 12: PERFORMANCE.md, session 20).
 */
const DICT_TABLE_SAMPLE_BYTES = 1 << 20;
/** The dictID written in the zstd header of a cold dictionary with tables (one byte in every frame). */
const COLD_DICT_ID = 1;

/**
 * The segment's dictionary: the start of every small chunk (first DICT_SAMPLE_BYTES), with zstd entropy
 * tables computed at `level` from the first small chunks in front (finalizeDictionary: ~10 % smaller cold
 * segments of 4 KiB log objects, ~20 % at 1 KiB, faster to decode), or without them where the system's zstd
 * library is missing (raw content, as before session 20; undefined rather than raw content that starts
 * with zstd's dictionary magic). `finalize` is for tests.
 */
export function buildDictionary(raws: Uint8Array[], level: number, finalize = finalizeDictionary): Buffer | undefined {
  const small = raws.filter((r) => r.length >= 64 && r.length < DICT_CHUNK_BYTES_MAX);
  if (small.length < DICT_CHUNKS_MIN) return undefined;
  // The dictionary is stored in the segment: keep it small next to what it serves (an eighth at most).
  const smallBytes = small.reduce((n, r) => n + r.length, 0);
  const dictMax = Math.min(DICT_BYTES_MAX, Math.floor(smallBytes / 8));
  if (dictMax < 4096) return undefined;
  const content = concatPrefixes(small, Math.max(1024, Math.min(DICT_SAMPLE_BYTES, Math.floor(dictMax / small.length))), dictMax);
  const samples: Uint8Array[] = [];
  let sampled = 0;
  for (const r of small) {
    if (sampled >= DICT_TABLE_SAMPLE_BYTES) break;
    samples.push(r);
    sampled += r.length;
  }
  const withTables = finalize(content, samples, level, COLD_DICT_ID);
  if (withTables !== undefined) return withTables;
  return content.readUInt32LE(0) === ZSTD_DICT_MAGIC ? undefined : content;
}

/** The first `per` bytes of each sample, in order, until `max` bytes: a raw-content dictionary. */
export function concatPrefixes(samples: Uint8Array[], per: number, max: number): Buffer {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const r of samples) {
    if (size >= max) break;
    const piece = r.subarray(0, Math.min(per, max - size));
    parts.push(piece);
    size += piece.length;
  }
  return Buffer.concat(parts);
}

/** Compressors for one segment: plain level and (when a dictionary exists) level + dictionary. */
export class ColdEncoder {
  private readonly plain = new zstd.Compressor();
  private readonly withDict: zstd.Compressor | undefined;

  constructor(level: number, readonly dict: Buffer | undefined) {
    // zstd's content checksum (4 bytes a chunk) is on: a raw-content dictionary has no id, so decoding
    // with the wrong one would otherwise give wrong bytes of the right length (measured); with it, an error.
    this.plain.setParameters({ compressionLevel: level, checksumFlag: true });
    if (dict) {
      this.withDict = new zstd.Compressor();
      this.withDict.setParameters({ compressionLevel: level, checksumFlag: true });
      this.withDict.loadDictionary(dict);
    }
  }

  /** The DICT record's payload and codec: the dictionary itself, zstd-compressed when that pays. */
  dictRecord(): { payload: Buffer; codec: number } | undefined {
    if (!this.dict) return undefined;
    const packed = this.plain.compress(this.dict);
    return packed.length <= this.dict.length * (1 - MIN_SAVINGS) ? { payload: packed, codec: CODEC_ZSTD } : { payload: this.dict, codec: CODEC_RAW };
  }

  /** A cold CHUNK frame holding `raw` with the 20 meta bytes of the hot frame it replaces. */
  encode(raw: Uint8Array, metaBytes: Uint8Array): Buffer {
    if (raw.length >= 64) {
      const useDict = this.withDict !== undefined && raw.length < DICT_CHUNK_BYTES_MAX;
      const packed = (useDict ? this.withDict! : this.plain).compress(raw);
      if (packed.length <= raw.length * (1 - MIN_SAVINGS)) {
        return encodeFrame(RecordType.CHUNK, useDict ? CODEC_ZSTD_DICT : CODEC_ZSTD, metaBytes, packed);
      }
    }
    return encodeFrame(RecordType.CHUNK, CODEC_RAW, metaBytes, raw);
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const dictDecoders = new Map<Buffer, zstd.Decompressor>();
let plainDecoder: zstd.Decompressor | undefined;

/** The dictionary held by a verified DICT frame (codec 0 or 1). */
export function openDictFrame(frame: Frame, segmentId: number, offset: number): Buffer {
  const codec = frame.flags & CODEC_MASK;
  if (codec === CODEC_RAW) return Buffer.from(frame.payload);
  if (codec !== CODEC_ZSTD) throw new CorruptionError(segmentId, offset, `dictionary record with codec ${codec}`);
  plainDecoder ??= new zstd.Decompressor();
  try {
    return plainDecoder.decompress(frame.payload);
  } catch (err) {
    throw new CorruptionError(segmentId, offset, 'dictionary record does not decompress', { cause: err });
  }
}

/**
 * Decodes a verified cold CHUNK frame. `dict` is the segment's dictionary; a codec-2 frame without one is
 * corruption (it is never guessed). Codec 0/1 frames decode as in the hot tier.
 */
export function openColdChunkFrame(frame: Frame, dict: Buffer | undefined, segmentId: number, offset: number): Buffer {
  if ((frame.flags & CODEC_MASK) !== CODEC_ZSTD_DICT) return openChunkFrame(frame, segmentId, offset).raw;
  if (!dict) throw new CorruptionError(segmentId, offset, 'dictionary-coded chunk in a segment without a dictionary');
  let rawLen: number;
  try {
    rawLen = decodeChunkMeta(frame.meta).rawLen;
  } catch (err) {
    throw new CorruptionError(segmentId, offset, 'bad chunk meta', { cause: err });
  }
  const p = frame.payload;
  // A zstd frame (magic 28 b5 2f fd) whose header sets Content_Checksum_flag (bit 2 of the descriptor).
  if (p.length < 6 || p.readUInt32LE(0) !== ZSTD_MAGIC || (p[4]! & 0x04) === 0) {
    throw new CorruptionError(segmentId, offset, 'dictionary-coded chunk is not a zstd frame with a content checksum');
  }
  let d = dictDecoders.get(dict);
  if (!d) {
    // A handful of segments' decoders are kept (the map is keyed by the cached dictionary buffer).
    if (dictDecoders.size >= 16) dictDecoders.clear();
    d = new zstd.Decompressor();
    d.loadDictionary(dict);
    dictDecoders.set(dict, d);
  }
  let raw: Buffer;
  try {
    raw = d.decompress(frame.payload);
  } catch (err) {
    throw new CorruptionError(segmentId, offset, 'zstd payload does not decompress with the segment dictionary', { cause: err });
  }
  if (raw.length !== rawLen) throw new CorruptionError(segmentId, offset, `chunk holds ${raw.length} bytes, meta says ${rawLen}`);
  return raw;
}
