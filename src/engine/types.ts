// Public types of the engine API (re-exported from src/index.ts).
import type { Readable } from 'node:stream';
import type { Clock, FileSystem } from '../io/types.js';
import type { Durability } from './segment-writer.js';
import type { Damage } from './segment-scan.js';
import type { ColdSource } from './cold-reader.js';

/** Checks every frame of `path` up to `size` bytes (verify can run this in worker threads). */
export type SegmentScanner = (
  path: string,
  segmentId: number,
  size: number,
) => Promise<{ offsets: number[]; damage: Damage[]; sealed: boolean; validEnd: number }>;

export interface EngineOptions {
  /** Data directory (created if missing). */
  dir: string;
  fs?: FileSystem;
  clock?: Clock;
  /** 'fsync' (default): a write resolves after fdatasync. 'none': for benchmarks only — not durable. */
  durability?: Durability;
  /** A segment is sealed once it would grow past this many bytes. Default 128 MiB; max 4 GiB - 1. */
  segmentBytesMax?: number;
  /** A segment is also sealed after this many records (bounds open-time scan and memory). Default 65,536. */
  segmentRecordsMax?: number;
  /** Object bytes per chunk. Default 1 MiB; 64 KiB .. 8 MiB. */
  chunkBytes?: number;
  /**
   * Raw bytes of chunks being framed at once, all uploads together; past it each upload keeps one chunk
   * in flight. Bounds upload memory however many run at once. Default 24 MiB.
   */
  framingBytesMax?: number;
  /** Raw bytes of chunks GET streams read ahead, all together; past it each reads one group ahead. Default 24 MiB. */
  readAheadBytesMax?: number;
  /** zstd level for the hot tier (0 = store raw). Default 1. */
  compressionLevel?: number;
  /**
   * zstd dictionaries for small objects (docs/FORMAT.md §2.7): a bucket whose first small objects compress
   * at least 10 % smaller with a dictionary cut from them gets one, and its small chunks use it from then
   * on. Default true; false makes no new dictionary (existing ones are still read).
   */
  smallObjectDictionaries?: boolean;
  /**
   * Small chunks of a bucket sampled before a dictionary is tried (7 in 10 cut it, the rest test it).
   * Default 40; 4 to 1,000. Fewer samples make a dictionary sooner but judge it on less.
   */
  dictionarySamples?: number;
  /**
   * How a bucket's dictionary is watched: one small chunk in `every` is also compressed without it, and
   * `checks` such checks judge it (stale when it saved under 5 %: the bucket is sampled for a new one).
   * Default { every: 64, checks: 16 }; each 1 to 65,536. Tests set them low to make dictionaries turn over.
   */
  dictionaryWatch?: { every?: number; checks?: number };
  /** Worker threads for chunk compression; 0 = inline on the calling thread. Default: available cores. */
  workerThreads?: number;
  /**
   * Threads that compute the MD5 (ETag) of large bodies, one upload per thread at a time: with more uploads
   * at once than threads, they share. Default: one per two available cores (at least 1, at most 8).
   */
  md5Threads?: number;
  /**
   * Frame chunks under 128 KiB (a 4 KiB PUT) in the worker threads, batched, instead of inline on the
   * calling thread (a lone chunk with no batch in flight is still framed inline). Default true: since
   * batches go to plain threads and small chunks are compressed with dictionaries, 64 concurrent 4 KiB
   * PUTs in the engine are 7–22 % faster batched (docs/PERFORMANCE.md, session 16). Without worker
   * threads (`workerThreads: 0`) everything is inline.
   */
  batchSmallChunks?: boolean;
  /**
   * Write a checkpoint after this many applied mutations. Default: 200,000, or a quarter of the entries
   * indexed when that is more — a checkpoint rewrites the whole index, so a fixed count would make its
   * cost per mutation grow with the index (docs/ARCHITECTURE.md, decision 6).
   */
  checkpointEveryOps?: number;
  /** Region recorded for buckets created without one. Default us-east-1. */
  defaultRegion?: string;
  /** Called with warnings (damage found at open, ignored checkpoints). Default: console.warn. */
  onWarning?: (message: string) => void;
  /**
   * Where cold segments are read from (a ColdStore, src/tier/cold-store.ts). Without one, GETs of cold
   * objects answer SEDIMENT_COLD_UNAVAILABLE; nothing else needs it.
   */
  coldStore?: ColdSource;
}

export interface BucketInfo {
  name: string;
  createdMs: number;
  region: string;
}

export interface StandardHeaders {
  contentEncoding?: string;
  contentDisposition?: string;
  cacheControl?: string;
  contentLanguage?: string;
  expires?: string;
}

export interface ObjectChecksum {
  algorithm: 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
  /** Raw digest bytes (S3 shows them base64-encoded). */
  value: Buffer;
  /**
   * Only on a multipart object's checksum: FULL_OBJECT (of every byte, as a single PUT's) or COMPOSITE (of
   * the parts' checksums; S3 shows it with `-N`, N the part count). Absent: a single-part object's.
   */
  type?: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface PutOptions {
  contentType?: string;
  userMetadata?: Record<string, string>;
  headers?: StandardHeaders;
  /** When given, a body of any other length fails with SEDIMENT_INCOMPLETE_BODY (shorter) or SEDIMENT_ENTITY_TOO_LARGE (longer) and nothing is stored. */
  expectedSize?: number;
  /** When given, a body whose MD5 differs fails with SEDIMENT_BAD_DIGEST and nothing is stored. */
  expectedMd5?: Buffer;
  checksums?: ObjectChecksum[];
  tags?: Record<string, string>;
  /**
   * Runs after the whole body was read and before the commit record is written: throwing here stores
   * nothing (used by the S3 adapter to check trailing checksums). Checksums it returns are stored with
   * the object (in place of `checksums`).
   */
  beforeCommit?: (info: { size: number; md5: Buffer }) => void | ObjectChecksum[] | Promise<void | ObjectChecksum[]>;
  /** Aborts the write: nothing is stored. */
  signal?: AbortSignal;
  /**
   * Conditional write, judged atomically at commit time: `ifNoneMatch` fails if the key exists (or
   * another write of it is committing); `ifMatch` fails unless the current ETag equals it.
   * Failure: SEDIMENT_PRECONDITION_FAILED (SEDIMENT_NO_SUCH_KEY for ifMatch on a missing key).
   */
  condition?: { ifNoneMatch?: boolean; ifMatch?: string };
  /** Object Lock for the new version; the bucket must have been created with object lock. */
  lock?: ObjectLockOptions;
  /**
   * `contentType`, `userMetadata` and `headers` are another object's as stored (S3 CopyObject with the COPY
   * directive): a value an older sediment stored that no HTTP header carries (a character past U+00FF, a
   * line break; served RFC 2047-encoded) is copied as it is instead of refused. Sizes and names are checked.
   */
  storedContent?: boolean;
}

/** Object Lock of a new version: a retention (mode and date, both or neither) and/or a legal hold. */
export interface ObjectLockOptions {
  mode?: 'GOVERNANCE' | 'COMPLIANCE';
  retainUntilMs?: number;
  legalHold?: boolean;
}

/** The lock state of a stored version. */
export interface ObjectLockInfo {
  mode?: 'GOVERNANCE' | 'COMPLIANCE';
  retainUntilMs?: number;
  legalHold: boolean;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  /** Unquoted ETag: MD5 hex, or MD5-of-MD5s hex + "-N" for multipart objects. */
  etag: string;
  lastModifiedMs: number;
  contentType: string;
  userMetadata: Record<string, string>;
  headers: StandardHeaders;
  checksums: ObjectChecksum[];
  tags: Record<string, string>;
  storageClass: 'STANDARD' | 'COLD';
  /** The stored version id: "" for the null version (S3 shows "null"). */
  versionId: string;
  partCount: number;
  /** Present when the version has a retention or a legal hold. */
  objectLock?: ObjectLockInfo;
  /**
   * Read with `partNumber`: that part's checksum, when the object keeps its parts' checksums (multipart
   * objects completed by a sediment of format 8 or later whose parts all have the upload's checksum).
   */
  partChecksum?: ObjectChecksum;
}

export interface ListEntry {
  key: string;
  size: number;
  etag: string;
  lastModifiedMs: number;
  storageClass: 'STANDARD' | 'COLD';
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** List keys after this one (S3 start-after / V1 marker). */
  startAfter?: string;
  /** Opaque token from a previous truncated result; takes precedence over startAfter. */
  continuationToken?: string;
  /** 0..1000, default 1000. */
  maxKeys?: number;
}

export interface ListResult {
  contents: ListEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Present when truncated. */
  nextContinuationToken?: string;
  /** The last key or common prefix returned (V1 NextMarker), present when truncated. */
  nextMarker?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface GetOptions {
  /** A version id as clients give it ("null" is the null version); default: the current object. */
  versionId?: string;
  /** Inclusive byte range; `end` past the object is clamped. `{ suffix: n }` means the last n bytes. */
  range?: ByteRange | { suffix: number };
  /**
   * Read one part of a multipart object (1..10000, the number it was uploaded as); `1` of an object that
   * was not uploaded in parts is the whole object. Not with `range` (SEDIMENT_INVALID_REQUEST); a part the
   * object does not have is SEDIMENT_INVALID_PART_NUMBER.
   */
  partNumber?: number;
}

/** headObject's answer: with `partNumber`, also the bytes of that part (`end` = `start - 1` for an empty one). */
export type HeadResult = ObjectInfo & {
  partRange?: ByteRange;
  /** With `headObject(…, { parts: true })`: a multipart object's parts in order (none for a single-part one). */
  parts?: Array<{ partNumber: number; size: number; /** Unquoted MD5 hex of the part. */ etag: string; checksum?: ObjectChecksum }>;
};

export interface GetResult {
  info: ObjectInfo;
  /** The range actually served (undefined for a whole-object read); for a part, `end` = `start - 1` if it is empty. */
  range?: ByteRange;
  /** Streams exactly the requested bytes; every chunk is verified before it is pushed. */
  body: Readable;
}

/**
 * A piece of a GET body in memory the engine lends (getObjectData with `lend`). `bytes` stays valid and
 * unchanged until `release()`, and not a moment longer: the engine reuses the memory for another GET.
 * Call `release()` exactly once, when nothing reads `bytes` any more (for a socket write: in its callback,
 * once the kernel has the bytes). A piece never released is only never reused.
 */
export interface LentBytes {
  bytes: Buffer;
  release(): void;
}

/**
 * getObjectData: a small object (or range) as one buffer; a larger one as a stream, or with `lend` as
 * lent pieces (stop early with `lent.return()`, which lets the read-ahead go).
 */
export type GetDataResult =
  | { info: ObjectInfo; range?: ByteRange; data: Buffer; body?: undefined; lent?: undefined }
  | (GetResult & { data?: undefined; lent?: undefined })
  | { info: ObjectInfo; range?: ByteRange; lent: AsyncGenerator<LentBytes, void, undefined>; data?: undefined; body?: undefined };

export interface EngineStats {
  buckets: number;
  objects: number;
  logicalBytes: number;
  storedBytes: number;
  segments: number;
  activeSegmentId: number;
  durability: Durability;
  workerThreads: number;
  /** Small chunks (and the MD5 of small objects) computed by a worker in batches since open. */
  batchedChunks: number;
  /** Uploads whose MD5 was computed in the MD5 thread (bodies of several large chunks). */
  md5ThreadUploads: number;
  /** Chunk buffers of large uploads allocated, and handed out again from the free list (chunk-buffers.ts). */
  chunkBuffersCreated: number;
  chunkBuffersReused: number;
  /** Group buffers of lent GET streams allocated, and handed out again (getObjectData with `lend`). */
  getBuffersCreated: number;
  getBuffersReused: number;
  /** Raw bytes of chunks being framed right now, all uploads together (bounded: see engine.ts). */
  framingBytes: number;
  /** Raw bytes of chunks read ahead by GET streams right now, all streams together (bounded likewise). */
  readAheadBytes: number;
  /**
   * Dictionaries for small objects (hot-dictionaries.ts): files in DIR/dicts/, their bytes, made since
   * open, tries that did not pay, and files deleted since open (maintenance/dictionary-gc.ts).
   */
  dictionaries: { count: number; bytes: number; made: number; rejected: number; removed: number };
  damage: Damage[];
  /** Current objects and their logical bytes per tier (stored cold bytes: see src/maintenance/tier-info.ts). */
  tiers: { hot: { objects: number; logicalBytes: number }; cold: { objects: number; logicalBytes: number } };
}

/** Engine.gauges(): figures that cost no scan of the index. */
export interface EngineGauges {
  buckets: number;
  /** Objects in the index, counted as stats() counts them. */
  objects: number;
  logicalBytes: number;
  storedBytes: number;
  segments: number;
  dictionaries: number;
  /** Damaged regions found when the directory was opened. */
  damageAtOpen: number;
  /** False once the log writer stopped after an I/O error (writes refused until a restart). */
  writable: boolean;
  framingBytes: number;
  readAheadBytes: number;
}

export interface VerifyReport {
  segmentsChecked: number;
  recordsChecked: number;
  bytesChecked: number;
  /** Index entries (objects, versions, delete markers) whose records were checked. */
  objectsChecked: number;
  damage: Damage[];
  /** Objects whose bytes cannot be read correctly. */
  damagedObjects: Array<{ bucket: string; key: string; reason: string }>;
  /** Dictionary files (DIR/dicts/, docs/FORMAT.md §2.7) that are damaged: chunks coded with them cannot be read. */
  damagedDictionaries: Array<{ id: number; file: string; detail: string }>;
}

export type Body = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

export interface CreateUploadOptions {
  contentType?: string;
  userMetadata?: Record<string, string>;
  headers?: StandardHeaders;
  tags?: Record<string, string>;
  /**
   * The checksum algorithm for the parts and the completed object. Without one, the object gets a
   * FULL_OBJECT CRC64NVME when every part has a CRC64NVME checksum (S3's default).
   */
  checksumAlgorithm?: ObjectChecksum['algorithm'];
  /** FULL_OBJECT or COMPOSITE (needs `checksumAlgorithm`); default: COMPOSITE, FULL_OBJECT for CRC64NVME. */
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  /** Object Lock for the completed object (lock-enabled buckets only); else the bucket's default retention. */
  lock?: ObjectLockOptions;
}

export interface UploadPartOptions {
  expectedSize?: number;
  expectedMd5?: Buffer;
  /**
   * Checksums of the part to store. The checksum the upload needs (its algorithm, else CRC64NVME) is
   * computed by the engine when neither `checksums` nor `beforeCommit` is given; a caller with
   * `beforeCommit` returns it from there (else the completed object gets no checksum, or completion
   * with a declared algorithm fails).
   */
  checksums?: ObjectChecksum[];
  beforeCommit?: PutOptions['beforeCommit'];
  signal?: AbortSignal;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  /** Unquoted MD5 hex of the part. */
  etag: string;
  lastModifiedMs: number;
  checksums: ObjectChecksum[];
}

export interface UploadInfo {
  bucket: string;
  key: string;
  uploadId: string;
  initiatedMs: number;
  contentType: string;
  userMetadata: Record<string, string>;
  checksumAlgorithm?: ObjectChecksum['algorithm'];
  /** With `checksumAlgorithm`: how the object's checksum will be made. */
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface CompletePart {
  partNumber: number;
  /** Unquoted ETag the client saw for the part; checked when given. */
  etag?: string;
  /** Checksums the client has for the part; each must equal the stored one. */
  checksums?: ObjectChecksum[];
}

export interface CompleteOptions {
  /** Every part but the last must hold at least this many bytes (S3: 5 MiB). */
  partBytesMin?: number;
  /**
   * The object checksum the client expects (FULL_OBJECT or COMPOSITE value, of the upload's algorithm or
   * CRC64NVME for an upload without one): a different one stores nothing (SEDIMENT_BAD_DIGEST).
   */
  expectedChecksum?: ObjectChecksum;
  /** The checksum type the client expects: another than the upload's stores nothing (SEDIMENT_BAD_DIGEST). */
  expectedChecksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  /** The object size the client expects (S3's x-amz-mp-object-size): another stores nothing (SEDIMENT_INVALID_REQUEST). */
  expectedSize?: number;
  /** Conditional completion, judged atomically at commit as PutOptions.condition is. */
  condition?: PutOptions['condition'];
}
