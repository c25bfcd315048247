// Building and opening CHUNK frames (docs/FORMAT.md §2.3): zstd unless it does not pay, then framed and
// hashed. Pure functions, used on the main thread for small chunks and in chunk-worker.ts for large ones.
import zstd from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import {
  CHUNK_META_BYTES, CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DATA_DICT, CODEC_ZSTD_DICT, DICT_REF_BYTES, FRAME_HASH_BYTES, FRAME_HEADER_BYTES, RecordType,
} from '../format/constants.js';
import { encodeDictRef } from '../format/dictionary-file.js';
import { encodeFrame, writeFrameHeader, type Frame } from '../format/frame.js';
import { writeHashAt } from '../format/hash.js';
import { CHUNK_FRAME_HEAD_BYTES } from './chunk-buffers.js';
import { decodeChunkMeta, encodeChunkMeta, type ChunkMeta } from '../format/records.js';
import { copyBytes } from '../native/index.js';
import { CorruptionError } from '../util/errors.js';

/** Store compressed only if it saves at least this share of the raw bytes. */
export const MIN_SAVINGS = 1 / 32;

/**
 * zstd's dictionary magic number, the little-endian u32 at offset 0 of a zstd-format dictionary; anything
 * else is read as raw content (docs/FORMAT.md §2.6, §2.7).
 */
export const ZSTD_DICT_MAGIC = 0xec30a437;

let decompressor: zstd.Decompressor | undefined;
let intoContext: InstanceType<typeof zstdBinding.DCtx> | undefined;

/**
 * This thread's compression context and the scratch buffer every compression writes into (plain or with a
 * dictionary): a frame is then one copy of the compressed bytes. zstd-napi's Compressor allocated a
 * compressBound()-sized buffer per call (over 1 MiB for a 1 MiB chunk) and copied the result out of it
 * before encodeFrame copied it again: ~70-100 µs of a 1 MiB chunk's ~1.3 ms (docs/PERFORMANCE.md,
 * "Session 25"). The scratch grows to the largest chunk this thread compressed (chunkBytes, at most 8 MiB)
 * and is kept.
 */
let cctx: InstanceType<typeof zstdBinding.CCtx> | undefined;
let scratch = Buffer.alloc(0);

function scratchFor(len: number): Buffer {
  const bound = zstdBinding.compressBound(len);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, 64 * 1024));
  return scratch;
}

/** `raw` compressed at `level`: a view of this thread's scratch buffer, valid until the next compression. */
function compressPlain(raw: Uint8Array, level: number): Buffer {
  cctx ??= new zstdBinding.CCtx();
  const out = scratchFor(raw.length);
  return out.subarray(0, cctx.compress(out, raw, level));
}

/**
 * A dictionary file's content as a chunk codec uses it (docs/FORMAT.md §2.7): id and check go into every
 * codec-3 payload. Threads digest `content` once per id (CDict/DDict caches below).
 */
export interface ChunkDict {
  id: number;
  check: number;
  content: Uint8Array;
}

/** A data directory's dictionaries for readers: the dictionary, or why it cannot be used (missing, damaged). */
export type DictLookup = (id: number) => ChunkDict | string;

/**
 * Digested dictionaries kept per thread, least recently used dropped first; keyed by id, check and level (two
 * engines may reuse an id). A CDict costs ~50 µs and ~58 KiB to make (a DDict ~15 µs, ~24 KiB), against
 * ~7 µs to compress a 4 KiB chunk with it: a small bound thrashed once more buckets took turns.
 */
const DIGESTED_MAX = 256;
const cdicts = new Map<string, InstanceType<typeof zstdBinding.CDict>>();
const ddicts = new Map<string, InstanceType<typeof zstdBinding.DDict>>();
let dictDCtx: InstanceType<typeof zstdBinding.DCtx> | undefined;

/** Dictionaries digested by this thread since it started (for tests: a hit makes none). */
export const digestedCount = { cdicts: 0, ddicts: 0 };

function digested<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let v = cache.get(key);
  if (v !== undefined) {
    cache.delete(key); // re-inserted below: the Map's order is the recency order
  } else {
    v = make();
    if (cache.size >= DIGESTED_MAX) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, v);
  return v;
}

function cdictFor(d: ChunkDict, level: number): InstanceType<typeof zstdBinding.CDict> {
  return digested(cdicts, `${d.id}/${d.check}/${level}`, () => (digestedCount.cdicts++, new zstdBinding.CDict(d.content, level)));
}

function ddictFor(d: ChunkDict): InstanceType<typeof zstdBinding.DDict> {
  return digested(ddicts, `${d.id}/${d.check}`, () => (digestedCount.ddicts++, new zstdBinding.DDict(d.content)));
}

/** `raw` compressed with a digested dictionary: a view of this thread's scratch buffer, valid until the next compression. */
function compressUsing(raw: Uint8Array, cdict: InstanceType<typeof zstdBinding.CDict>): Buffer {
  cctx ??= new zstdBinding.CCtx();
  const out = scratchFor(raw.length);
  return out.subarray(0, cctx.compressUsingCDict(out, raw, cdict));
}

/** `raw` compressed with `dict` at `level`: a view of this thread's scratch buffer, valid until the next compression. */
function compressWithDict(raw: Uint8Array, dict: ChunkDict, level: number): Buffer {
  return compressUsing(raw, cdictFor(dict, level));
}

/** What `raw` compresses to with `dict` at `level`, as framing would do it (hot-dictionaries.ts watches). */
export function dictCompressedSize(raw: Uint8Array, dict: ChunkDict, level: number): number {
  return compressWithDict(raw, dict, level).length;
}

/**
 * What `raw` compresses to at `level`, plain or with a digested dictionary not (yet) in use (hot-dictionaries.ts
 * weighs a candidate by it): the same compression framing does, in the same scratch.
 */
export function compressedSize(raw: Uint8Array, level: number, cdict?: InstanceType<typeof zstdBinding.CDict>): number {
  return (cdict === undefined ? compressPlain(raw, level) : compressUsing(raw, cdict)).length;
}

/**
 * The CHUNK frame for a small chunk with its bucket's dictionary (codec 3: dictId, dictCheck, zstd frame),
 * or stored raw when even that does not save MIN_SAVINGS (a dictionary that helps compresses better than
 * none, so plain zstd is not tried as well).
 */
function buildDictChunkFrame(raw: Uint8Array, metaBytes: Uint8Array, level: number, dict: ChunkDict): Buffer {
  const packed = compressWithDict(raw, dict, level);
  if (packed.length + DICT_REF_BYTES <= raw.length * (1 - MIN_SAVINGS)) {
    return encodeFrame(RecordType.CHUNK, CODEC_ZSTD_DATA_DICT, metaBytes, [encodeDictRef(dict.id, dict.check), packed]);
  }
  return encodeFrame(RecordType.CHUNK, CODEC_RAW, metaBytes, raw);
}

/** Decodes a codec-3 payload with the dictionary it names; every inconsistency is corruption. */
function openDictPayload(payload: Buffer, rawLen: number, dicts: DictLookup | undefined, segmentId: number, offset: number): Buffer {
  if (payload.length <= DICT_REF_BYTES) throw new CorruptionError(segmentId, offset, 'dictionary-coded chunk is too short');
  const id = payload.readUInt32LE(0);
  const check = payload.readUInt32LE(4);
  if (dicts === undefined) throw new CorruptionError(segmentId, offset, `chunk coded with dictionary ${id} where no dictionary is available`);
  const d = dicts(id);
  if (typeof d === 'string') throw new CorruptionError(segmentId, offset, `chunk coded with dictionary ${id}: ${d}`);
  if (d.check !== check) {
    throw new CorruptionError(segmentId, offset, `chunk coded with dictionary ${id} check ${check.toString(16)}, but that dictionary's check is ${d.check.toString(16)}`);
  }
  dictDCtx ??= new zstdBinding.DCtx();
  const raw = Buffer.allocUnsafe(rawLen);
  let n: number;
  try {
    n = dictDCtx.decompressUsingDDict(raw, payload.subarray(DICT_REF_BYTES), ddictFor(d));
  } catch (err) {
    throw new CorruptionError(segmentId, offset, `zstd payload does not decompress with dictionary ${id} to the chunk length`, { cause: err });
  }
  if (n !== rawLen) throw new CorruptionError(segmentId, offset, `chunk holds ${n} bytes, meta says ${rawLen}`);
  return raw;
}

/** Chunks at least this large are probed before being compressed whole. */
export const PROBE_MIN_BYTES = 256 * 1024;
const PROBE_BYTES = 32 * 1024;

/**
 * Early abort for incompressible data (encrypted backups, media): compress two small samples; if
 * neither saves the minimum, the whole chunk would not either — store it raw without spending the
 * compression CPU. A false "incompressible" only costs ratio, never correctness.
 */
function looksIncompressible(raw: Uint8Array): boolean {
  const mid = Math.floor(raw.length / 2);
  for (const at of [0, mid]) {
    const sample = raw.subarray(at, at + PROBE_BYTES);
    if (compressPlain(sample, 1).length <= sample.length * (1 - MIN_SAVINGS)) return false;
  }
  return true;
}

/**
 * Returns a complete CHUNK frame for `raw`. `level` 0 means "store raw". With `dict` (a small chunk of a
 * bucket that has a dictionary, §2.7) it is compressed with that dictionary.
 */
export function buildChunkFrame(raw: Uint8Array, meta: ChunkMeta, level: number, dict?: ChunkDict): Buffer {
  const metaBytes = encodeChunkMeta(meta);
  if (dict !== undefined && level > 0 && raw.length >= 64) return buildDictChunkFrame(raw, metaBytes, level, dict);
  if (level > 0 && raw.length >= 64 && !(raw.length >= PROBE_MIN_BYTES && looksIncompressible(raw))) {
    const packed = compressPlain(raw, level);
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
  if (level > 0 && len >= 64 && !(len >= PROBE_MIN_BYTES && looksIncompressible(raw))) {
    const packed = compressPlain(raw, level);
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

/** One small chunk of a batch for a framing thread. */
export interface BatchItem {
  raw: Uint8Array;
  meta: ChunkMeta;
  /** Also return the MD5 of the raw bytes. */
  wantMd5: boolean;
  /** The dictionary to compress it with (docs/FORMAT.md §2.7), 0 for none. */
  dictId: number;
}

/** Float64 words per item in a packed batch: raw length, uploadId, partNumber, chunkIndex, rawLen, dictId, wantMd5. */
const BATCH_ITEM_WORDS = 7;

/**
 * A batch of small chunks as one buffer, to be moved to a framing thread rather than cloned (a structured
 * clone of per-item objects and arrays cost ~8 µs more of the main thread's CPU and ~19 µs more of the
 * process's per batch of 16: `node dist/bench/worker-hop.bench.js --items=16`, PERFORMANCE.md session 20):
 * Float64 words `n`, `level`, then BATCH_ITEM_WORDS per item, then the raws back to back.
 */
export function packBatch(items: ReadonlyArray<Omit<BatchItem, 'dictId'> & { dict?: { id: number } }>, level: number): Uint8Array {
  const headBytes = 8 * (2 + BATCH_ITEM_WORDS * items.length);
  let total = headBytes;
  for (const it of items) total += it.raw.length;
  const packed = new Uint8Array(total);
  const head = new Float64Array(packed.buffer, 0, headBytes / 8);
  head[0] = items.length;
  head[1] = level;
  let w = 2;
  let at = headBytes;
  for (const it of items) {
    head[w++] = it.raw.length;
    head[w++] = it.meta.uploadId;
    head[w++] = it.meta.partNumber;
    head[w++] = it.meta.chunkIndex;
    head[w++] = it.meta.rawLen;
    head[w++] = it.dict?.id ?? 0;
    head[w++] = it.wantMd5 ? 1 : 0;
    packed.set(it.raw, at);
    at += it.raw.length;
  }
  return packed;
}

/** The items and level of a packBatch buffer; every `raw` is a view into `packed`. */
export function unpackBatch(packed: Uint8Array): { level: number; items: BatchItem[] } {
  if (packed.byteOffset % 8 !== 0 || packed.length < 16) throw new RangeError('assertion failed: not a packed batch');
  const n = new Float64Array(packed.buffer, packed.byteOffset, 1)[0];
  const headBytes = 8 * (2 + BATCH_ITEM_WORDS * n);
  if (!Number.isInteger(n) || n < 0 || headBytes > packed.length) throw new RangeError(`assertion failed: packed batch of ${n} items in ${packed.length} bytes`);
  const head = new Float64Array(packed.buffer, packed.byteOffset, headBytes / 8);
  const items: BatchItem[] = [];
  let at = headBytes;
  for (let i = 0, w = 2; i < n; i++, w += BATCH_ITEM_WORDS) {
    const len = head[w];
    if (at + len > packed.length) throw new RangeError('assertion failed: packed batch shorter than its items');
    items.push({
      raw: packed.subarray(at, at + len),
      meta: { uploadId: head[w + 1], partNumber: head[w + 2], chunkIndex: head[w + 3], rawLen: head[w + 4] },
      dictId: head[w + 5],
      wantMd5: head[w + 6] === 1,
    });
    at += len;
  }
  if (at !== packed.length) throw new RangeError('assertion failed: packed batch longer than its items');
  return { level: head[1], items };
}

/**
 * Decodes a verified CHUNK frame to its raw bytes; any inconsistency is corruption. `dicts` resolves the
 * dictionary a codec-3 frame names; without it such a frame is corruption (a cold segment, a worker).
 */
export function openChunkFrame(frame: Frame, segmentId: number, offset: number, dicts?: DictLookup): { meta: ChunkMeta; raw: Buffer } {
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
  } else if ((frame.flags & CODEC_MASK) === CODEC_ZSTD_DATA_DICT) {
    raw = openDictPayload(frame.payload, meta.rawLen, dicts, segmentId, offset);
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
  } else if (codec === CODEC_ZSTD_DICT || codec === CODEC_ZSTD_DATA_DICT) {
    // Dictionary chunks are small and opened on the main thread (openChunkFrame); here it is damage.
    throw new CorruptionError(segmentId, offset, codec === CODEC_ZSTD_DICT ? 'dictionary-coded chunk outside a cold segment' : 'dictionary-coded chunk where no dictionary is available');
  } else {
    if (frame.payload.length !== dst.length) throw new CorruptionError(segmentId, offset, `chunk holds ${frame.payload.length} bytes, meta says ${meta.rawLen}`);
    copyBytes(dst, 0, frame.payload); // dst may be shared memory (a lent GET buffer): see copyBytes
  }
  return meta;
}
