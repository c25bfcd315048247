// The storage engine: buckets and objects in append-only segments.
//
// Invariants:
// - The index (buckets + per-bucket KeyIndex + ObjectTable) reflects exactly a durable prefix of the
//   log: mutations are applied from the writer's onDurable callbacks, in log order.
// - An object is visible only after its COMMIT record is durable; its chunks were written before it.
// - Every byte returned to a caller passed its frame's xxh64 check (SegmentStore / chunk-codec).
// - `seq` increases strictly in log order; replay applies a record only if its seq is newer than what
//   the index holds for that name, so replaying a record twice is harmless.
import { createHash } from 'node:crypto';
import {
  BucketConfigKind,
  BUCKET_FLAG_OBJECT_LOCK,
  ChecksumAlg,
  CODEC_MASK,
  CODEC_RAW,
  CODEC_ZSTD_DATA_DICT,
  CHUNK_META_BYTES,
  CommitFlag,
  DICT_REF_BYTES,
  FRAME_HASH_BYTES,
  DATA_DIR_FORMAT_COLD,
  DATA_DIR_FORMAT_VERSIONS,
  DATA_DIR_FORMAT_CHECKSUM_TYPES,
  DATA_DIR_FORMAT_PART_CHECKSUMS,
  FRAME_HEADER_BYTES,
  RecordType,
  SEGMENT_HEADER_BYTES,
  StorageClass,
} from '../format/constants.js';
import { encodeFrame } from '../format/frame.js';
import type { FooterEntry } from '../format/footer.js';
import { initHash } from '../format/hash.js';
import {
  decodeBucketConfig,
  decodeBucketCreate,
  decodeBucketDelete,
  decodeDelete,
  decodeCommitIndex,
  decodeManifest,
  encodeBucketConfig,
  encodeBucketCreate,
  encodeBucketDelete,
  encodeDelete,
  encodeManifest,
  decodeUploadAbort,
  decodeUploadCreate,
  decodeUploadPart,
  encodeUploadAbort,
  encodeUploadCreate,
  encodeUploadPart,
  type BucketConfigRecord,
  type ChecksumEntry,
  type ChunkRef,
  type CommitIndexFields,
  type ObjectManifest,
  type UploadCreateRecord,
  type UploadPartRecord,
} from '../format/records.js';
import { FormatError } from '../format/binary.js';
import { decodeSegmentHeader, NewerFormatError } from '../format/segment-header.js';
import { RealFileSystem } from '../io/real-fs.js';
import { systemClock, type Clock, type DirLock, type FileSystem } from '../io/types.js';
import { CorruptionError, DeleteMarkerError, SedimentError, assert, ioError } from '../util/errors.js';
import { AccessTracker } from './access-tracker.js';
import { ChecksumSet, resolveChecksumType, tappedBody } from './checksums.js';
import { objectChecksum, objectChecksumOf, uploadChecksum } from './multipart-checksums.js';
import { ChunkPool, defaultThreads } from './chunk-pool.js';
import { ColdReader } from './cold-reader.js';
import type { ColdAccess, ColdCandidate } from './cold-access.js';
import { ChunkReader, READ_AHEAD_BYTES_MAX_DEFAULT } from './chunk-reader.js';
import { ChunkWriter, FRAMING_BYTES_MAX_DEFAULT } from './chunk-writer.js';
import { loadLatestCheckpoint, writeCheckpoint } from './checkpointer.js';
import { prepareDataDir, raiseFormatVersion, readFormatVersion } from './data-dir.js';
import { HotDictionaries } from './hot-dictionaries.js';
import { KeyIndex } from './key-index.js';
import { abortDue, DAY_MS, expirationDue, filterMatches, needsTags, transitionDue, validateLifecycle, type LifecycleConfig } from './lifecycle.js';
import { compareUtf8 } from './utf8-order.js';
import { listKeys } from './list.js';
import { listVersions, type ListVersionsOptions, type ListVersionsResult } from './list-versions.js';
import {
  checkRemovable,
  checkRetentionChange,
  defaultRetention,
  isLocked,
  lockModeCode,
  lockModeName,
  validateLockConfig,
  validateRetention,
  type LockConfig,
  type Retention,
} from './object-lock.js';
import {
  applyInPlace,
  applyNewVersion,
  applyVersioningConfig,
  BucketVersioning,
  findVersion,
  isMarker,
  markerManifest,
  newestVersion,
  parseVersionId,
  removeVersion,
  showVersionId,
  versionIdFor,
  versioningConfigPayloads,
  mergeVersionRows,
  versionsOf,
  type VersioningStatus,
} from './versions.js';
import { checkBucketName, checkHeaderValue, checkKey, checkRegion, checkUserMetadata } from './names.js';
import { ObjectTable, type ObjectEntry, type TableView } from './object-table.js';
import type { HistorySnapshot } from './version-history.js';
import { createSegment, parseSegmentFileName, parseSpareFileName, segmentFileName, spareFileName } from './segment-files.js';
import { listSegment, scanSegment, type Damage } from './segment-scan.js';
import { RecordOffsets } from './record-offsets.js';
import { SegmentStore, verifyFrame } from './segment-store.js';
import { openChunkFrame } from './chunk-codec.js';
import { loadPacks, RelocationMap, type LoadedPack } from './pack-files.js';
import { openLiveSegments, type LiveSegments } from './live-segments.js';
import type { MaintenanceAccess } from './maintenance-access.js';
import { SegmentWriter, type Durability } from './segment-writer.js';
import type {
  Body,
  BucketInfo,
  EngineOptions,
  EngineStats,
  GetDataResult,
  GetOptions,
  GetResult,
  ListOptions,
  ListResult,
  ObjectChecksum,
  ObjectInfo,
  ObjectLockOptions,
  PutOptions,
  VerifyReport,
  SegmentScanner,
  CreateUploadOptions,
  UploadPartOptions,
  PartInfo,
  UploadInfo,
  CompletePart,
  CompleteOptions,
  HeadResult,
  EngineGauges,
} from './types.js';

interface Bucket {
  name: string;
  createdMs: number;
  region: string;
  flags: number;
  seq: number;
  keys: KeyIndex;
  /** Puts between their first byte and their commit; deleteBucket waits for none. */
  inflight: number;
  deleting: boolean;
  /** The lifecycle configuration in force, with the BUCKET_CONFIG payload that set it (for checkpoints). */
  /**
   * `invalid` says why stored rules fail today's checks (rules stored by a build that checked less, e.g. a
   * JSON `"enabled": "false"`): such rules are kept as stored but never applied, and reading them is an error.
   */
  lifecycle?: { seq: number; payload: Buffer; config: LifecycleConfig; invalid?: string };
  /** Versioning state, older versions and delete markers, object lock (src/engine/versions.ts). */
  versions: BucketVersioning;
  /** Access-based tiering (BUCKET_CONFIG kind 4): objects not read for `days` go to the cold tier. */
  tiering?: { seq: number; payload: Buffer; days: number };
}

/** What one lifecycle pass did (or, with dryRun, would do). */
export interface LifecycleReport {
  asOfMs: number;
  dryRun: boolean;
  bucketsWithRules: number;
  objectsExamined: number;
  /** The objects expired, in key order: at most `listMax` of them (runLifecycle's option); `expiredCount` counts them all. */
  expired: Array<{ bucket: string; key: string; size: number }>;
  expiredCount: number;
  expiredBytes: number;
  abortedUploads: Array<{ bucket: string; key: string; uploadId: string }>;
  /** Objects a Transition rule makes due for the cold tier (moved by a migration pass, src/maintenance/migration.ts). */
  transitionsDue: number;
  /** Objects found due but changed (overwritten, deleted) before the pass reached them: left alone. */
  skippedChanged: number;
  /** Noncurrent versions and delete markers removed for good (NoncurrentVersionExpiration, ExpiredObjectDeleteMarker). */
  noncurrentExpired: Array<{ bucket: string; key: string; versionId: string; size: number }>;
  /** All noncurrent versions and delete markers removed, listed or not (`noncurrentExpired` holds at most `listMax`). */
  noncurrentExpiredCount: number;
  /** Versions due for removal but under retention or legal hold: never removed by lifecycle. */
  skippedLocked: number;
  /** Buckets whose stored rules fail today's checks: not applied (put new rules, or delete them). */
  invalidRules: Array<{ bucket: string; problem: string }>;
  /** The pass was stopped by its `signal` before it was done (what it did is durable; the next pass goes on). */
  interrupted: boolean;
}

/** What one runLifecycle pass carries from bucket to bucket. */
interface LifecyclePass {
  now: number;
  dayMs: number;
  dryRun: boolean;
  /** Objects and versions the report lists at most. */
  listMax: number;
  /** Current objects of the buckets with rules when the pass began (for progress). */
  total: number;
  /** Expirations written and not yet durable. */
  inflight: Set<Promise<void>>;
  report: LifecycleReport;
  onProgress?: (done: number, total: number) => void;
  /** Checked between slices: once aborted, nothing more is started (a stopping server does not wait for a whole pass). */
  signal?: AbortSignal;
}

interface UploadState {
  create: UploadCreateRecord;
  createPayload: Buffer;
  parts: Map<number, { rec: UploadPartRecord; payload: Buffer }>;
  /** Set while a Complete is being written: further parts and a second Complete are refused. */
  completing: boolean;
}

interface ContentFields {
  contentType: string;
  headers: Array<[string, string]>;
  userMetadata: Array<[string, string]>;
  tags: Array<[string, string]>;
}

/** An object's tags as stored: at most 10. */
function tagEntries(tags: Record<string, string> | undefined): Array<[string, string]> {
  const entries = Object.entries(tags ?? {});
  if (entries.length > 10) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'at most 10 tags per object');
  return entries;
}

export const PART_NUMBER_MAX = 10_000;
/** Lifecycle expirations written at once (they share group commits). */
const LIFECYCLE_DELETES_IN_FLIGHT = 64;
/**
 * Keys a lifecycle pass examines between two turns of the event loop: a pass over a bucket of a million
 * keys with nothing due would otherwise hold the loop (and every request) for a second or more.
 */
export const LIFECYCLE_SLICE_KEYS = 1024;

/** Index entries verify checks between two progress reports. */
const VERIFY_PROGRESS_ENTRIES = 1024;

/** Lets the event loop run (I/O callbacks included) before the caller goes on. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface SegmentInfo {
  id: number;
  sealed: boolean;
  sizeBytes: number;
}

const EMPTY = Buffer.alloc(0);
/** Reused chunk and group buffers beyond the few kept are dropped after this long unused. */
const CHUNK_BUFFERS_IDLE_MS = 10_000;
/** A GET reads a cold version's record at most this many times while passes keep re-committing it (manifestToRead). */
const READ_RECORD_ATTEMPTS_MAX = 8;
const noop = (): void => undefined;
/** Mutations between checkpoints at least, by default (EngineOptions.checkpointEveryOps). */
const CHECKPOINT_EVERY_OPS_MIN = 200_000;
const HEADER_NAMES: Array<[keyof NonNullable<PutOptions['headers']>, string]> = [
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['cacheControl', 'cache-control'],
  ['contentLanguage', 'content-language'],
  ['expires', 'expires'],
];

/** Every mutation payload starts with version:u8 seq:u64 (docs/FORMAT.md §3). */
function payloadSeq(e: FooterEntry): number {
  const p = e.payload;
  return p && p.length >= 9 ? Number(p.readBigUInt64LE(1)) : 0;
}

function invalidLifecycleMessage(bucket: string, problem: string): string {
  return `the lifecycle rules stored for bucket "${bucket}" are not valid (${problem}) and are not applied; set new rules or delete them`;
}

function storageClassName(sc: number): 'STANDARD' | 'COLD' {
  return sc === StorageClass.COLD ? 'COLD' : 'STANDARD';
}

export class Engine {
  private readonly buckets = new Map<string, Bucket>();
  private readonly uploads = new Map<number, UploadState>();
  /** `bucket/key` of commits appended but not yet durable, for atomic conditional writes. */
  private readonly committing = new Map<string, number>();
  /**
   * `bucket/key` of DELETEs appended but not yet durable. A re-commit of the current version (tagging,
   * cold-tier migration) checked in that window would be appended after the DELETE with a higher seq and
   * bring the object back when both are applied; they check this map and refuse.
   */
  private readonly pendingDeletes = new Map<string, number>();
  /**
   * Chunk lists of PUTs and part uploads in flight, filled as chunks are appended, dropped once the
   * upload's COMMIT or UPLOAD_PART is applied (or the upload failed). Their chunks are live before any
   * record references them: a segment sealed meanwhile may be compacted before the COMMIT comes.
   */
  private readonly unsettled = new Set<ChunkRef[]>();
  private readonly table = new ObjectTable();
  private readonly segments = new Map<number, SegmentInfo>();
  private writer!: SegmentWriter;
  /** The write side of PUT and UploadPart (chunk-writer.ts). */
  private readonly chunkWriter: ChunkWriter;
  /** The read side of GET (chunk-reader.ts). */
  private readonly reader: ChunkReader;
  /** DIR/manifest: which segment files must exist. */
  private liveSegments!: LiveSegments;
  private readonly store: SegmentStore;
  private pool!: ChunkPool;
  /** Dictionaries for small objects (hot-dictionaries.ts), loaded at open. */
  private dicts!: HotDictionaries;
  private cold!: ColdReader;
  /** Last reads in buckets with access-based tiering (saved with checkpoints). */
  private readonly access = new AccessTracker();
  private seq = 0;
  private uploadCounter: number;
  /** Logical bytes of the objects the index holds, for stats(). */
  private logicalBytes = 0;
  private opsSinceCheckpoint = 0;
  private hasCheckpoint = false;
  private checkpointing: Promise<void> | undefined;
  /** Checkpoints run one at a time: two writers would race on the tmp/ name and on deleting old files. */
  private checkpointQueue: Promise<void> = Promise.resolve();
  private closed = false;
  private lock!: DirLock;
  private readonly openDamage: Damage[] = [];
  /** Compaction: where moved records are now (docs/FORMAT.md §2.5). */
  private readonly relocation = new RelocationMap();
  /** Segment id of the newest durable checkpoint's replay position: segments below it are covered. */
  private checkpointSegmentId = 0;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly dir: string;
  readonly durability: Durability;
  readonly chunkBytes: number;
  readonly segmentBytesMax: number;
  readonly segmentRecordsMax: number;
  /** 0: the default (see EngineOptions.checkpointEveryOps). */
  private readonly checkpointEveryOps: number;
  private readonly defaultRegion: string;
  private readonly warn: (m: string) => void;

  private constructor(private readonly opts: EngineOptions) {
    this.fs = opts.fs ?? new RealFileSystem();
    this.clock = opts.clock ?? systemClock;
    this.dir = opts.dir.replace(/\/+$/, '') || '/';
    this.durability = opts.durability ?? 'fsync';
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    if (opts.md5Threads !== undefined && !(Number.isInteger(opts.md5Threads) && opts.md5Threads >= 1 && opts.md5Threads <= 64)) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'md5Threads must be an integer between 1 and 64');
    }
    if (opts.dictionarySamples !== undefined && !(Number.isInteger(opts.dictionarySamples) && opts.dictionarySamples >= 4 && opts.dictionarySamples <= 1000)) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'dictionarySamples must be an integer between 4 and 1000');
    }
    for (const [name, v] of Object.entries(opts.dictionaryWatch ?? {})) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 65_536)) {
        throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `dictionaryWatch.${name} must be an integer between 1 and 65536`);
      }
    }
    this.chunkWriter = new ChunkWriter(
      () => this.pool,
      () => this.writer,
      () => this.checkWritable(),
      this.chunkBytes,
      opts.framingBytesMax ?? FRAMING_BYTES_MAX_DEFAULT,
      CHUNK_BUFFERS_IDLE_MS,
      opts.md5Threads,
      () => this.dicts,
    );
    this.segmentBytesMax = opts.segmentBytesMax ?? 128 << 20;
    this.segmentRecordsMax = opts.segmentRecordsMax ?? 65_536;
    this.checkpointEveryOps = opts.checkpointEveryOps ?? 0;
    this.defaultRegion = opts.defaultRegion ?? 'us-east-1';
    checkRegion(this.defaultRegion);
    this.warn = opts.onWarning ?? ((m) => console.warn(`sediment: ${m}`));
    this.store = new SegmentStore(this.fs, this.segmentsDir);
    this.store.locate = (segmentId, offset) => this.relocation.locate(segmentId, offset);
    this.reader = new ChunkReader(this.store, () => this.pool, () => this.cold, this.chunkBytes, opts.readAheadBytesMax ?? READ_AHEAD_BYTES_MAX_DEFAULT, CHUNK_BUFFERS_IDLE_MS);
    this.uploadCounter = this.clock.now() * 1000;
    if (this.chunkBytes < 64 << 10 || this.chunkBytes > 8 << 20) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'chunkBytes must be between 64 KiB and 8 MiB');
    }
    if (this.segmentBytesMax < 1 << 20 || this.segmentBytesMax > 0xffff_ffff) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'segmentBytesMax must be between 1 MiB and 4 GiB - 1');
    }
    if (!Number.isInteger(this.segmentRecordsMax) || this.segmentRecordsMax < 1 || this.segmentRecordsMax > 0xffff_ffff) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'segmentRecordsMax must be an integer between 1 and 4294967295');
    }
  }

  get segmentsDir(): string {
    return `${this.dir}/segments`;
  }

  /** Opens (creating if needed) a data directory. Rejects with SEDIMENT_LOCKED if another process has it. */
  static async open(opts: EngineOptions): Promise<Engine> {
    await initHash();
    const engine = new Engine(opts);
    engine.lock = await prepareDataDir(engine.fs, engine.dir);
    try {
      await engine.recover();
      const threads = opts.workerThreads ?? defaultThreads();
      engine.pool = new ChunkPool(threads, opts.compressionLevel ?? 1, opts.batchSmallChunks ?? true);
      engine.dicts = await HotDictionaries.load({
        fs: engine.fs,
        dir: engine.dir,
        level: opts.compressionLevel ?? 1,
        enabled: opts.smallObjectDictionaries ?? true,
        samples: opts.dictionarySamples,
        watchEvery: opts.dictionaryWatch?.every,
        watchChecks: opts.dictionaryWatch?.checks,
        now: () => engine.clock.now(),
        warn: engine.warn,
        raiseFormatVersion: (version) => raiseFormatVersion(engine.fs, engine.dir, version),
        bucketExists: (name) => {
          const b = engine.buckets.get(name);
          return b !== undefined && b.seq > 0 && !b.deleting;
        },
      });
      engine.pool.dicts = engine.dicts.lookup;
      engine.cold = new ColdReader(opts.coldStore, engine.pool);
      await engine.access.load(engine.fs, engine.dir, engine.warn);
      for (const b of engine.buckets.values()) {
        if (b.seq > 0 && b.lifecycle?.invalid !== undefined) engine.warn(invalidLifecycleMessage(b.name, b.lifecycle.invalid));
      }
    } catch (err) {
      await engine.store.closeAll();
      await engine.lock.release();
      throw err;
    }
    return engine;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const packs = await loadPacks(this.fs, this.segmentsDir, this.warn);
    const unusedSpares = await this.settleSpares();
    let names = await this.fs.readdir(this.segmentsDir);
    const packIds = [...packs.packs.map((p) => p.id), ...packs.damaged];
    const manifest = await openLiveSegments(
      this.fs,
      this.dir,
      { logIds: names.map(parseSegmentFileName).filter((x): x is number => x !== undefined), packIds, replaced: new Set([...packs.replaced, ...unusedSpares]) },
      this.clock,
      this.warn,
    );
    this.liveSegments = manifest.live;
    this.openDamage.push(...manifest.damage);
    // Only now, with the manifest no longer listing them: a spare listed and gone would be a lost segment.
    for (const id of unusedSpares) await this.fs.unlink(`${this.segmentsDir}/${spareFileName(id)}`);
    if (unusedSpares.length > 0) await this.fs.syncDir(this.segmentsDir);
    names = await this.fs.readdir(this.segmentsDir);
    const ids = names.map(parseSegmentFileName).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    let loading: { bucket: Bucket; keys: string[]; slots: Int32Array; n: number; rows: number; count: number; lastKey?: string } | undefined;
    const ckpt = await loadLatestCheckpoint(this.fs, this.dir, {
      bucket: (b, count) => {
        const bucket: Bucket = { ...b, keys: new KeyIndex(), inflight: 0, deleting: false, versions: new BucketVersioning() };
        bucket.versions.objectLockEnabled = (b.flags & BUCKET_FLAG_OBJECT_LOCK) !== 0;
        this.buckets.set(b.name, bucket);
        this.table.reserve(this.table.count + count);
        loading = { bucket, keys: new Array(count), slots: new Int32Array(Math.max(16, count)), n: 0, rows: 0, count };
        if (count === 0) bucket.keys.loadSorted([], loading.slots);
      },
      object: (key, e) => {
        const l = loading as NonNullable<typeof loading>;
        const slot = this.table.alloc(e);
        this.logicalBytes += e.size;
        // A key's rows are its versions, newest first (version 3); the first is its current object
        // unless it is a delete marker.
        if (key === l.lastKey || (e.flags & CommitFlag.DELETE_MARKER) !== 0) l.bucket.versions.history.pushOldest(key, slot);
        else {
          l.keys[l.n] = key;
          l.slots[l.n++] = slot;
        }
        l.lastKey = key;
        if (++l.rows === l.count) {
          l.keys.length = l.n;
          l.bucket.keys.loadSorted(l.keys, l.slots);
          // The index copied them. A closure made in recover() that outlives the open keeps its whole
          // scope alive, these arrays included, unless they are let go here.
          loading = undefined;
        }
      },
      upload: (u) => {
        const create = decodeUploadCreate(Buffer.from(u.create));
        const state: UploadState = { create, createPayload: Buffer.from(u.create), parts: new Map(), completing: false };
        for (const p of u.parts) {
          const payload = Buffer.from(p);
          const rec = decodeUploadPart(payload);
          state.parts.set(rec.partNumber, { rec, payload });
        }
        this.uploads.set(create.uploadId, state);
      },
      config: (payload) => {
        const copy = Buffer.from(payload);
        this.applyBucketConfig(decodeBucketConfig(copy), copy);
      },
      warn: this.warn,
    });
    if (ckpt) this.seq = ckpt.seq;
    this.hasCheckpoint = ckpt !== undefined;
    this.checkpointSegmentId = ckpt?.replaySegmentId ?? 0;
    const from = ckpt ? { segmentId: ckpt.replaySegmentId, offset: ckpt.replayOffset } : { segmentId: 0, offset: 0 };
    // Records are applied in log order as each segment is listed. Packs hold copies of older records, so
    // when any of theirs must be replayed (no checkpoint covers them) everything is collected first and
    // applied in seq order, which is the original log order.
    const pending: Array<[number, FooterEntry]> = [];
    const packReplay = this.registerPacks(packs.packs, packs.damaged, from, pending);
    if (ids.length > 0 && (await this.removeTornNewestSegment(ids[ids.length - 1]))) ids.pop();

    let active: { segmentId: number; size: number; entries: FooterEntry[] } | undefined;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const path = `${this.segmentsDir}/${segmentFileName(id)}`;
      const isLast = i === ids.length - 1;
      if (id < from.segmentId) {
        this.segments.set(id, { id, sealed: true, sizeBytes: await this.fs.fileSize(path) });
        continue;
      }
      let listing;
      try {
        listing = await listSegment(this.fs, path, id, !isLast, false);
      } catch (err) {
        if (err instanceof NewerFormatError) throw new SedimentError('SEDIMENT_FORMAT_VERSION', `segment ${id}: ${err.message}`, { cause: err });
        throw ioError(err, `reading segment ${id}`);
      }
      for (const d of listing.damage) {
        this.openDamage.push(d);
        this.warn(`damage in segment ${d.segmentId} at offset ${d.offset} (${d.length} bytes): ${d.detail}`);
      }
      for (const e of listing.entries) {
        if (id === from.segmentId && e.offset < from.offset) continue;
        if (e.type === RecordType.CHUNK) continue;
        // Without pack records to merge in, log order is the order to apply: at once, so that a listing's
        // entries die young instead of all of them being held (and promoted by the GC) until the end.
        if (packReplay) pending.push([id, e]);
        else this.replay(id, e);
      }
      if (isLast && !listing.sealed && listing.header && listing.damage.length === 0) {
        if (listing.validEnd < listing.fileSize) {
          // Torn tail: bytes after the last valid frame were never acknowledged.
          this.warn(`truncating torn tail of segment ${id}: ${listing.fileSize - listing.validEnd} bytes after offset ${listing.validEnd}`);
          const fh = await this.fs.open(path, 'readwrite');
          await fh.truncate(listing.validEnd);
          await fh.datasync();
          await fh.close();
        }
        active = { segmentId: id, size: listing.validEnd, entries: listing.entries };
        this.segments.set(id, { id, sealed: false, sizeBytes: listing.validEnd });
      } else {
        this.segments.set(id, { id, sealed: true, sizeBytes: listing.fileSize });
      }
    }

    if (packReplay) pending.sort((a, b) => payloadSeq(a[1]) - payloadSeq(b[1]));
    for (const [id, e] of pending) this.replay(id, e);

    let fh;
    if (active) {
      fh = await this.fs.open(`${this.segmentsDir}/${segmentFileName(active.segmentId)}`, 'readwrite');
      // After a process kill, the tail may still be only in the page cache. Sync it before the writer
      // (and the checkpoints that record its position) treats those bytes as durable.
      await fh.datasync();
    } else {
      // Above every id the manifest lists too: a lost newest segment's id is never reused.
      const id = Math.max(ids.length > 0 ? ids[ids.length - 1] : 0, packs.maxId, this.liveSegments.maxId) + 1;
      fh = await createSegment(this.fs, this.segmentsDir, id, this.clock.now());
      await this.liveSegments.add(id);
      active = { segmentId: id, size: SEGMENT_HEADER_BYTES, entries: [] };
      this.segments.set(id, { id, sealed: false, sizeBytes: SEGMENT_HEADER_BYTES });
    }
    this.writer = new SegmentWriter(
      {
        fs: this.fs,
        segmentsDir: this.segmentsDir,
        clock: this.clock,
        durability: this.durability,
        segmentBytesMax: this.segmentBytesMax,
        segmentRecordsMax: this.segmentRecordsMax,
        // No checkpoint of its own after a seal (until session 22, one whenever an eighth of the index had
        // changed): the interval of afterMutation alone bounds both a checkpoint's cost per mutation (≤ 4
        // rows encoded) and what an open after a crash replays from footers (docs/PERFORMANCE.md, session 22).
        onSealed: (id, size) => this.segments.set(id, { id, sealed: true, sizeBytes: size }),
        onCreated: (id) => this.segments.set(id, { id, sealed: false, sizeBytes: SEGMENT_HEADER_BYTES }),
        listSegment: (id) => this.liveSegments.add(id),
      },
      { ...active, fh },
    );
    this.writer.raiseIdFloor(Math.max(packs.maxId, this.liveSegments.maxId) + 1);
  }

  /**
   * Makes the packs found at open readable (relocation, store paths, sizes) and queues the records of
   * theirs that no checkpoint covers. Returns true if any were queued.
   */
  private registerPacks(packs: LoadedPack[], damaged: number[], from: { segmentId: number; offset: number }, pending: Array<[number, FooterEntry]>): boolean {
    let queued = false;
    for (const id of damaged) {
      const d = { segmentId: id, offset: 0, length: 0, detail: 'compaction pack has no valid footer: the records it holds cannot be located' };
      this.openDamage.push(d);
      this.warn(`damage in pack ${id}: ${d.detail}`);
    }
    for (const p of packs) {
      this.store.packIds.add(p.id);
      this.segments.set(p.id, { id: p.id, sealed: true, sizeBytes: p.sizeBytes });
      this.relocation.install(p.id, p.inputs, p.entries);
      for (const e of p.entries) {
        if (e.type === RecordType.CHUNK) continue;
        if (e.originSegmentId < from.segmentId || (e.originSegmentId === from.segmentId && e.originOffset < from.offset)) continue;
        pending.push([e.originSegmentId, { type: e.type, offset: e.originOffset, frameLen: e.frameLen, payload: e.payload }]);
        queued = true;
      }
    }
    for (const id of damaged) {
      this.store.packIds.add(id);
      this.segments.set(id, { id, sealed: true, sizeBytes: 0 });
    }
    return queued;
  }

  /**
   * Spares (segment-writer.ts, makeSpare) at open. One that holds more than its header was rolled to, and
   * a crash kept its old name (the rename is not synced on purpose): it is renamed to the segment it
   * became. The others never held a record; their ids are returned, to be unlisted and removed.
   */
  private async settleSpares(): Promise<number[]> {
    const unused: number[] = [];
    let renamed = false;
    for (const name of await this.fs.readdir(this.segmentsDir)) {
      const id = parseSpareFileName(name);
      if (id === undefined) continue;
      const path = `${this.segmentsDir}/${name}`;
      if ((await this.fs.fileSize(path)) <= SEGMENT_HEADER_BYTES) {
        unused.push(id);
        continue;
      }
      const target = `${this.segmentsDir}/${segmentFileName(id)}`;
      if (await this.fs.exists(target)) throw new CorruptionError(id, 0, `segments/${name} and segments/${segmentFileName(id)} both exist (a rename cannot leave both): remove the one that does not belong`);
      this.warn(`renaming segments/${name} to ${segmentFileName(id)} (the roll to it was not durable yet)`);
      await this.fs.rename(path, target);
      renamed = true;
    }
    if (renamed) await this.fs.syncDir(this.segmentsDir);
    return unused.sort((a, b) => a - b);
  }

  /**
   * A crash while the newest segment was being created can leave it shorter than a header or with a
   * torn header, on file systems that kept the name (a process kill, or a journal that committed the
   * directory entry). It holds no record, so it is removed and its id reused rather than reported as
   * damage. Returns true if it was removed.
   */
  private async removeTornNewestSegment(id: number): Promise<boolean> {
    const path = `${this.segmentsDir}/${segmentFileName(id)}`;
    if ((await this.fs.fileSize(path)) > SEGMENT_HEADER_BYTES) return false;
    const head = await this.fs.readFile(path);
    try {
      decodeSegmentHeader(head);
      return false;
    } catch (err) {
      if (err instanceof NewerFormatError) return false; // refused by the listing below
    }
    this.warn(`removing segment ${id}: ${head.length} bytes without a valid header (its creation was interrupted)`);
    if (this.liveSegments.has(id)) await this.liveSegments.replace(undefined, [id]);
    await this.fs.unlink(path);
    await this.fs.syncDir(this.segmentsDir);
    return true;
  }

  /** Applies one metadata record found in the log during open. */
  private replay(segmentId: number, e: FooterEntry): void {
    const payload = e.payload ?? EMPTY;
    try {
      switch (e.type) {
        case RecordType.COMMIT:
          this.applyCommit(decodeCommitIndex(payload), segmentId, e.offset, e.frameLen);
          break;
        case RecordType.DELETE: {
          const d = decodeDelete(payload);
          this.applyDelete(d.bucket, d.key, d.seq, d.versionId);
          break;
        }
        case RecordType.BUCKET_CREATE: {
          const b = decodeBucketCreate(payload);
          this.applyBucketCreate(b.name, b.createdMs, b.region, b.flags, b.seq);
          break;
        }
        case RecordType.BUCKET_DELETE: {
          const b = decodeBucketDelete(payload);
          this.applyBucketDelete(b.name, b.seq);
          break;
        }
        // These keep their payload (and what is decoded from it may be views of it): copies, as the
        // payloads of a sealed segment are views of its whole footer (segment-scan.ts, readFooter).
        case RecordType.BUCKET_CONFIG: {
          const own = Buffer.from(payload);
          this.applyBucketConfig(decodeBucketConfig(own), own);
          break;
        }
        case RecordType.UPLOAD_CREATE: {
          const own = Buffer.from(payload);
          this.applyUploadCreate(decodeUploadCreate(own), own);
          break;
        }
        case RecordType.UPLOAD_PART: {
          const own = Buffer.from(payload);
          this.applyUploadPart(decodeUploadPart(own), own);
          break;
        }
        case RecordType.UPLOAD_ABORT: {
          const a = decodeUploadAbort(payload);
          this.noteSeq(a.seq);
          this.uploads.delete(a.uploadId);
          break;
        }
        default:
          throw new FormatError(`unknown record type ${e.type}`);
      }
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      const d = { segmentId, offset: e.offset, length: e.frameLen, detail: `undecodable record: ${err.message}` };
      this.openDamage.push(d);
      this.warn(`damage in segment ${segmentId} at offset ${e.offset}: ${d.detail}`);
    }
  }

  // ---------------------------------------------------------------- index mutations (durable only)

  private noteSeq(seq: number): void {
    if (seq > this.seq) this.seq = seq;
    this.opsSinceCheckpoint++;
  }

  private applyBucketCreate(name: string, createdMs: number, region: string, flags: number, seq: number): void {
    this.noteSeq(seq);
    const existing = this.buckets.get(name);
    if (existing && existing.seq >= seq) return;
    const versions = existing && existing.seq === 0 ? existing.versions : new BucketVersioning();
    versions.objectLockEnabled = (flags & BUCKET_FLAG_OBJECT_LOCK) !== 0;
    this.buckets.set(name, { name, createdMs, region, flags, seq, keys: existing?.keys ?? new KeyIndex(), inflight: existing?.inflight ?? 0, deleting: false, versions });
  }

  private applyBucketDelete(name: string, seq: number): void {
    this.noteSeq(seq);
    const b = this.buckets.get(name);
    if (!b || b.seq >= seq) return;
    for (const [, slot] of b.keys.scan()) {
      this.logicalBytes -= this.table.sizeOf(slot);
      this.table.release(slot);
    }
    for (const slot of b.versions.history.slots()) {
      this.logicalBytes -= this.table.sizeOf(slot);
      this.table.release(slot);
    }
    for (const [id, u] of this.uploads) if (u.create.bucket === name) this.uploads.delete(id);
    this.buckets.delete(name);
  }

  private applyBucketConfig(c: BucketConfigRecord, payload: Buffer): void {
    this.noteSeq(c.seq);
    const b = this.buckets.get(c.bucket);
    // A configuration older than the bucket belongs to an earlier bucket of the same name.
    if (!b || b.seq === 0 || b.seq > c.seq) return;
    if (c.kind === BucketConfigKind.VERSIONING || c.kind === BucketConfigKind.OBJECT_LOCK) {
      applyVersioningConfig(b.versions, c, payload);
      return;
    }
    if (c.kind === BucketConfigKind.TIERING) return this.applyTiering(b, c, payload);
    if (c.kind !== BucketConfigKind.LIFECYCLE) throw new FormatError(`unknown bucket configuration kind ${c.kind}`);
    if (b.lifecycle && b.lifecycle.seq >= c.seq) return;
    if (c.value.length === 0) {
      b.lifecycle = undefined;
      return;
    }
    let config: LifecycleConfig;
    try {
      config = JSON.parse(c.value.toString('utf8')) as LifecycleConfig;
    } catch (err) {
      throw new FormatError(`lifecycle configuration of bucket ${c.bucket} is not JSON: ${(err as Error).message}`);
    }
    // Stored rules are checked again: a build that checked less may have stored rules whose fields mean
    // something else than they say. Those are never applied (an expiry read wrongly deletes data).
    let invalid: string | undefined;
    try {
      validateLifecycle(config);
    } catch (err) {
      if (!(err instanceof SedimentError)) throw err;
      invalid = err.message;
    }
    // Kept for checkpoints: a copy, so a view into a large footer or checkpoint buffer does not pin it.
    b.lifecycle = { seq: c.seq, payload: Buffer.from(payload), config, invalid };
  }

  private applyTiering(b: Bucket, c: BucketConfigRecord, payload: Buffer): void {
    if (b.tiering && b.tiering.seq >= c.seq) return;
    if (c.value.length === 0) {
      b.tiering = undefined;
      return;
    }
    let days: unknown;
    try {
      days = (JSON.parse(c.value.toString('utf8')) as { days?: unknown }).days;
    } catch (err) {
      throw new FormatError(`tiering setting of bucket ${c.bucket} is not JSON: ${(err as Error).message}`);
    }
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1) throw new FormatError(`tiering setting of bucket ${c.bucket} has no valid days`);
    b.tiering = { seq: c.seq, payload: Buffer.from(payload), days };
  }

  private applyUploadCreate(u: UploadCreateRecord, payload: Buffer): void {
    this.noteSeq(u.seq);
    if (!this.buckets.has(u.bucket)) return;
    this.uploads.set(u.uploadId, { create: u, createPayload: Buffer.from(payload), parts: new Map(), completing: false });
  }

  private applyUploadPart(p: UploadPartRecord, payload: Buffer): void {
    this.noteSeq(p.seq);
    const u = this.uploads.get(p.uploadId);
    if (!u) return;
    const old = u.parts.get(p.partNumber);
    if (old && old.rec.seq >= p.seq) return;
    u.parts.set(p.partNumber, { rec: p, payload: Buffer.from(payload) });
  }

  /** `m.md5` may be a view of a record's payload: the table copies it. */
  private applyCommit(m: CommitIndexFields, segmentId: number, offset: number, frameLen: number): void {
    this.noteSeq(m.seq);
    if (m.partCount > 0) this.uploads.delete(m.uploadId);
    const b = this.buckets.get(m.bucket);
    if (!b || b.seq > m.seq) return; // the bucket was deleted (and maybe re-created) after this commit
    const entry: ObjectEntry = {
      seq: m.seq, segmentId, commitOffset: offset, commitLen: frameLen, size: m.size, mtimeMs: m.mtimeMs,
      md5: m.md5, partCount: m.partCount, storageClass: m.storageClass, flags: m.flags, versionId: m.versionId,
    };
    if (b.versions.versioned || m.versionId !== '' || m.flags !== 0) {
      this.logicalBytes += m.flags & CommitFlag.IN_PLACE ? applyInPlace(this.table, b, m.key, entry) : applyNewVersion(this.table, b, m.key, entry);
      return;
    }
    const slot = b.keys.get(m.key);
    if (slot >= 0) {
      if (this.table.getSeq(slot) >= m.seq) return;
      this.logicalBytes += m.size - this.table.sizeOf(slot);
      this.table.write(slot, entry);
    } else {
      b.keys.set(m.key, this.table.alloc(entry));
      this.logicalBytes += m.size;
    }
  }

  private applyDelete(bucket: string, key: string, seq: number, versionId = ''): void {
    this.noteSeq(seq);
    const b = this.buckets.get(bucket);
    if (!b) return;
    if (b.versions.versioned || versionId !== '') {
      this.logicalBytes += removeVersion(this.table, b, key, versionId, seq);
      return;
    }
    const slot = b.keys.get(key);
    if (slot < 0 || this.table.getSeq(slot) >= seq) return;
    b.keys.delete(key);
    this.logicalBytes -= this.table.sizeOf(slot);
    this.table.release(slot);
  }

  private nextSeq(): number {
    return ++this.seq;
  }

  private afterMutation(): void {
    const every = this.checkpointEveryOps || Math.max(CHECKPOINT_EVERY_OPS_MIN, this.table.count / 4);
    if (this.opsSinceCheckpoint >= every) this.scheduleCheckpoint();
  }

  // ---------------------------------------------------------------- checkpoints

  private scheduleCheckpoint(): void {
    if (this.checkpointing || this.closed) return;
    this.checkpointing = this.checkpoint()
      .catch((err) => this.warn(`checkpoint failed: ${(err as Error).message}`))
      .finally(() => {
        this.checkpointing = undefined;
      });
  }

  /** Writes a checkpoint of the index at the current durable position of the log, after any running one. */
  async checkpoint(): Promise<void> {
    this.checkOpen();
    const run = this.checkpointQueue.then(() => (this.closed ? undefined : this.writeCheckpointNow()));
    this.checkpointQueue = run.catch(() => undefined);
    return run;
  }

  private async writeCheckpointNow(): Promise<void> {
    const position = { segmentId: this.writer.durableSegmentId, offset: this.writer.durableOffset };
    const seq = this.seq;
    this.opsSinceCheckpoint = 0;
    // Everything below is taken synchronously, as one state: the rows are encoded and written across
    // event-loop turns (a large index held the loop for ~170 ms per 250,000 objects) while writes go on
    // and reuse freed slots, so the keys and version histories come from copy-on-write snapshots and the
    // rows from a copy-on-write view of the table.
    const table = this.table.view();
    const histories: HistorySnapshot[] = [];
    // A bucket whose BUCKET_CREATE is still in flight (seq 0) is not part of the durable state.
    let versions = false;
    const sources = [...this.buckets.values()]
      .filter((b) => b.seq > 0)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((b) => {
        const bucket = { name: b.name, createdMs: b.createdMs, region: b.region, flags: b.flags, seq: b.seq };
        if (b.versions.versioned) {
          versions = true;
          const keys = b.keys.snapshot();
          const history = b.versions.history.snapshot();
          histories.push(history);
          const rows = { [Symbol.iterator]: () => mergeVersionRows(keys[Symbol.iterator](), history.scan()) };
          return { bucket, objectCount: keys.count + history.slotCount, objects: checkpointRows(rows, table) };
        }
        const keys = b.keys.snapshot();
        return { bucket, objectCount: keys.count, objects: checkpointRows(keys, table) };
      });
    const uploads = [...this.uploads.values()].map((u) => ({ create: u.createPayload, parts: [...u.parts.values()].map((p) => p.payload) }));
    const configs = [...this.buckets.values()].flatMap((b) =>
      b.seq > 0 ? [b.lifecycle?.payload, b.tiering?.payload, ...versioningConfigPayloads(b.versions)].filter((p): p is Buffer => p !== undefined) : [],
    );
    this.hasCheckpoint = true;
    try {
      await writeCheckpoint(
        this.fs,
        this.dir,
        { seq, replaySegmentId: position.segmentId, replayOffset: position.offset, createdMs: this.clock.now() },
        sources,
        uploads,
        configs,
        versions,
      );
    } finally {
      table.close();
      for (const h of histories) h.close();
    }
    this.checkpointSegmentId = Math.max(this.checkpointSegmentId, position.segmentId);
    // Only when reads happened since the last save (no file and no I/O for directories without tiering).
    // A stale entry of a deleted key is harmless: a new object of that name counts from its own mtime.
    if (this.access.dirty) {
      this.access.prune((bucket, key) => (this.buckets.get(bucket)?.keys.get(key) ?? -1) >= 0);
      await this.access.save(this.fs, this.dir, this.clock.now());
    }
  }

  // ---------------------------------------------------------------- guards

  private checkOpen(): void {
    if (this.closed) throw new SedimentError('SEDIMENT_CLOSED', 'the engine is closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.writer.failed) throw this.writer.failed;
  }

  private bucketOrThrow(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) {
      if (typeof name === 'string' && name.length > 0) checkBucketName(name);
      throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    }
    return b;
  }

  // ---------------------------------------------------------------- buckets

  /** `objectLock`: the bucket is created with Object Lock enabled (versioning on for good). */
  async createBucket(name: string, opts: { region?: string; objectLock?: boolean } = {}): Promise<BucketInfo> {
    this.checkWritable();
    checkBucketName(name);
    if (this.buckets.has(name)) throw new SedimentError('SEDIMENT_BUCKET_EXISTS', `bucket "${name}" already exists`);
    const region = opts.region ?? this.defaultRegion;
    checkRegion(region);
    const flags = opts.objectLock ? BUCKET_FLAG_OBJECT_LOCK : 0;
    // Reserve the name now so a concurrent create fails instead of racing.
    this.buckets.set(name, { name, createdMs: 0, region, flags, seq: 0, keys: new KeyIndex(), inflight: 0, deleting: true, versions: new BucketVersioning() });
    try {
      if (opts.objectLock) await this.raiseFormatForVersions();
      const seq = this.nextSeq();
      const createdMs = this.clock.now();
      const payload = encodeBucketCreate({ seq, name, createdMs, region, flags });
      const r = this.writer.append(encodeFrame(RecordType.BUCKET_CREATE, 0, EMPTY, payload), { type: RecordType.BUCKET_CREATE, payload }, true, () =>
        this.applyBucketCreate(name, createdMs, region, flags, seq),
      );
      await r.done;
      this.afterMutation();
      return { name, createdMs, region };
    } catch (err) {
      const b = this.buckets.get(name);
      if (b && b.seq === 0) this.buckets.delete(name);
      throw err;
    }
  }

  async deleteBucket(name: string): Promise<void> {
    this.checkWritable();
    const b = this.bucketOrThrow(name);
    if (b.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" is being created or deleted`);
    if (b.keys.size > 0 || b.inflight > 0) throw new SedimentError('SEDIMENT_BUCKET_NOT_EMPTY', `bucket "${name}" is not empty`);
    // Older versions and delete markers keep a bucket non-empty (as in S3): each must be deleted by version id.
    if (b.versions.history.size > 0) throw new SedimentError('SEDIMENT_BUCKET_NOT_EMPTY', `bucket "${name}" still holds ${b.versions.history.size} object versions or delete markers`);
    b.deleting = true;
    const seq = this.nextSeq();
    const payload = encodeBucketDelete({ seq, name });
    try {
      await this.writer.append(encodeFrame(RecordType.BUCKET_DELETE, 0, EMPTY, payload), { type: RecordType.BUCKET_DELETE, payload }, true, () =>
        this.applyBucketDelete(name, seq),
      ).done;
    } catch (err) {
      b.deleting = false;
      throw err;
    }
    this.dicts.forgetBucket(name);
    this.afterMutation();
  }

  // ---------------------------------------------------------------- lifecycle (docs/OPERATIONS.md)

  /** Sets (or, with undefined, removes) the bucket's lifecycle rules; resolves once the change is durable. */
  async setBucketLifecycle(name: string, config: LifecycleConfig | undefined): Promise<void> {
    this.checkWritable();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0 || b.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    if (config) validateLifecycle(config);
    const seq = this.nextSeq();
    const value = config ? Buffer.from(JSON.stringify(config)) : EMPTY;
    const payload = encodeBucketConfig({ seq, bucket: name, kind: BucketConfigKind.LIFECYCLE, value });
    await this.writer.append(encodeFrame(RecordType.BUCKET_CONFIG, 0, EMPTY, payload), { type: RecordType.BUCKET_CONFIG, payload }, true, () =>
      this.applyBucketConfig(decodeBucketConfig(payload), payload),
    ).done;
    this.afterMutation();
  }

  /** The bucket's lifecycle rules; SEDIMENT_NO_SUCH_LIFECYCLE if it has none. */
  getBucketLifecycle(name: string): LifecycleConfig {
    this.checkOpen();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    if (!b.lifecycle) throw new SedimentError('SEDIMENT_NO_SUCH_LIFECYCLE', `bucket "${name}" has no lifecycle configuration`);
    if (b.lifecycle.invalid !== undefined) throw new SedimentError('SEDIMENT_INVALID_BUCKET_STATE', invalidLifecycleMessage(name, b.lifecycle.invalid));
    return structuredClone(b.lifecycle.config);
  }

  /**
   * Sets (days ≥ 1) or removes (undefined) access-based tiering: current objects not read for `days` days
   * move to the cold tier at the next migration pass. Raises DIR/FORMAT to 3 first (older sediments refuse).
   */
  async setBucketTiering(name: string, days: number | undefined): Promise<void> {
    this.checkWritable();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0 || b.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 36_500)) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'tiering days must be a whole number from 1 to 36500');
    }
    await raiseFormatVersion(this.fs, this.dir, DATA_DIR_FORMAT_COLD);
    const seq = this.nextSeq();
    const value = days !== undefined ? Buffer.from(JSON.stringify({ days })) : EMPTY;
    const payload = encodeBucketConfig({ seq, bucket: name, kind: BucketConfigKind.TIERING, value });
    await this.writer.append(encodeFrame(RecordType.BUCKET_CONFIG, 0, EMPTY, payload), { type: RecordType.BUCKET_CONFIG, payload }, true, () =>
      this.applyBucketConfig(decodeBucketConfig(payload), payload),
    ).done;
    this.afterMutation();
  }

  /** Days without a read after which objects go cold, or undefined when the bucket has no tiering. */
  getBucketTiering(name: string): number | undefined {
    this.checkOpen();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    return b.tiering?.days;
  }

  /**
   * Applies every bucket's lifecycle rules as of `asOfMs` (default: the clock's now): expires the current
   * objects they make due (a DELETE, as S3 does) and aborts incomplete multipart uploads. `dayMs` is the
   * length of a lifecycle day (tests shorten it). With `dryRun`, reports and changes nothing. An object
   * overwritten or deleted while the pass runs is left alone (its new version is judged on the next pass).
   * The pass walks the live index, LIFECYCLE_SLICE_KEYS keys per event-loop turn, so it neither copies a
   * bucket's keys nor holds the loop; `listMax` (default: no limit) bounds the objects and versions the
   * report lists (`sediment serve` lists none: a pass may expire millions), the counts cover all.
   */
  async runLifecycle(
    opts: { asOfMs?: number; dryRun?: boolean; dayMs?: number; listMax?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<LifecycleReport> {
    this.checkOpen();
    const now = opts.asOfMs ?? this.clock.now();
    const dayMs = opts.dayMs ?? DAY_MS;
    const dryRun = opts.dryRun === true;
    const listMax = opts.listMax ?? Infinity;
    if (!(listMax >= 0)) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'listMax must be a non-negative number');
    if (!dryRun) this.checkWritable();
    const report: LifecycleReport = {
      asOfMs: now, dryRun, bucketsWithRules: 0, objectsExamined: 0, expired: [], expiredCount: 0, expiredBytes: 0, abortedUploads: [], transitionsDue: 0, skippedChanged: 0,
      noncurrentExpired: [], noncurrentExpiredCount: 0, skippedLocked: 0, invalidRules: [], interrupted: false,
    };
    const live = [...this.buckets.values()].filter((b) => b.seq > 0 && !b.deleting);
    for (const b of live) {
      if (b.lifecycle?.invalid !== undefined) report.invalidRules.push({ bucket: b.name, problem: invalidLifecycleMessage(b.name, b.lifecycle.invalid) });
    }
    const buckets = live.filter((b) => b.lifecycle?.invalid === undefined && b.lifecycle?.config.rules.some((r) => r.enabled));
    report.bucketsWithRules = buckets.length;
    const total = buckets.reduce((n, b) => n + b.keys.size, 0);
    // Deletes go out up to LIFECYCLE_DELETES_IN_FLIGHT at a time so that they share fsyncs (group commit).
    const pass: LifecyclePass = { now, dayMs, dryRun, listMax, total, inflight: new Set(), report, onProgress: opts.onProgress, signal: opts.signal };
    try {
      for (const b of buckets) {
        if (opts.signal?.aborted) report.interrupted = true;
        if (report.interrupted) break;
        await this.lifecycleBucket(pass, b);
      }
      await Promise.all(pass.inflight);
    } finally {
      // A pass cut short (engine closed, write failed) leaves no delete unawaited.
      await Promise.allSettled(pass.inflight);
    }
    report.expired.sort((x, y) => (x.bucket === y.bucket ? compareUtf8(x.key, y.key) : x.bucket < y.bucket ? -1 : 1));
    opts.onProgress?.(total, total);
    return report;
  }

  /** One bucket of runLifecycle: current objects, then noncurrent versions, then stale uploads. */
  private async lifecycleBucket(pass: LifecyclePass, b: Bucket): Promise<void> {
    const { now, dayMs, dryRun, report, inflight } = pass;
    const rules = b.lifecycle!.config.rules.filter((r) => r.enabled);
    const tagRules = rules.some(needsTags);
    // The live index, not a copy: a key written or deleted meanwhile is seen as it is at its step (the
    // scan yields each key once, in order), and an object changed after its step is left alone below.
    for (const [key, slot] of b.keys.scan()) {
      report.objectsExamined++;
      if (report.objectsExamined % LIFECYCLE_SLICE_KEYS === 0) {
        pass.onProgress?.(report.objectsExamined, pass.total);
        await nextTurn();
        this.checkOpen();
        if (pass.signal?.aborted) {
          report.interrupted = true;
          return;
        }
        if (this.buckets.get(b.name) !== b || b.deleting) break;
      }
      if (b.keys.get(key) !== slot) continue; // changed since this step: the next pass judges it
      const entry = this.table.read(slot);
      let tags: Array<[string, string]> | undefined;
      if (tagRules) tags = (await this.readManifest(entry)).tags;
      const matching = rules.filter((r) => filterMatches(r.filter, key, entry.size, tags));
      if (matching.some((r) => expirationDue(r, entry.mtimeMs, now, dayMs))) {
        const p: Promise<void> = this.expireObject(pass, b, key, entry).finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= LIFECYCLE_DELETES_IN_FLIGHT) await Promise.race(inflight);
      } else if (entry.storageClass === StorageClass.STANDARD && matching.some((r) => transitionDue(r, entry.mtimeMs, now, dayMs) !== undefined)) {
        report.transitionsDue++;
      }
    }
    await Promise.all(inflight);
    if (b.versions.versioned) await this.expireNoncurrent(b, rules, now, dayMs, dryRun, pass.listMax, report, pass.signal);
    if (report.interrupted) return;
    for (const [id, u] of [...this.uploads]) {
      if (u.create.bucket !== b.name || u.completing) continue;
      if (!rules.some((r) => abortDue(r, u.create.key, u.create.initiatedMs, now, dayMs))) continue;
      if (!dryRun) {
        if (!this.uploads.has(id)) continue;
        await this.abortMultipartUpload(b.name, u.create.key, String(id)).catch((err: unknown) => {
          if (!(err instanceof SedimentError && err.code === 'SEDIMENT_NO_SUCH_UPLOAD')) throw err;
        });
      }
      report.abortedUploads.push({ bucket: b.name, key: u.create.key, uploadId: String(id) });
    }
  }

  /** Expires one current object that was due (unless it changed meanwhile) and reports it. */
  private async expireObject(pass: LifecyclePass, b: Bucket, key: string, entry: ObjectEntry): Promise<void> {
    const report = pass.report;
    if (!pass.dryRun && !(await this.deleteIfUnchanged(b, key, entry.seq))) {
      report.skippedChanged++;
      return;
    }
    if (report.expiredCount++ < pass.listMax) report.expired.push({ bucket: b.name, key, size: entry.size });
    report.expiredBytes += entry.size;
  }

  /** Deletes `key` only if its current version is still `seq` and no write of it is in flight. */
  private async deleteIfUnchanged(bucket: Bucket, key: string, seq: number): Promise<boolean> {
    this.checkWritable();
    if (this.buckets.get(bucket.name) !== bucket || bucket.deleting) return false;
    const slot = bucket.keys.get(key);
    if (slot < 0 || this.table.read(slot).seq !== seq || this.committing.has(`${bucket.name}/${key}`)) return false;
    // Nothing awaits between the check above and the append below, so no write can slip in between.
    if (bucket.versions.versioned) {
      // Expiring a current version in a versioned bucket adds a delete marker: no version is removed.
      await this.commit(this.newMarker(bucket, key));
      return true;
    }
    const delSeq = this.nextSeq();
    const payload = encodeDelete({ seq: delSeq, bucket: bucket.name, key, versionId: '', mtimeMs: this.clock.now(), flags: 0 });
    await this.whileDeleting(`${bucket.name}/${key}`, this.writer.append(encodeFrame(RecordType.DELETE, 0, EMPTY, payload), { type: RecordType.DELETE, payload }, true, () =>
      this.applyDelete(bucket.name, key, delSeq),
    ).done);
    this.afterMutation();
    return true;
  }

  headBucket(name: string): BucketInfo {
    this.checkOpen();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    return { name: b.name, createdMs: b.createdMs, region: b.region };
  }

  listBuckets(): BucketInfo[] {
    this.checkOpen();
    return [...this.buckets.values()]
      .filter((b) => b.seq > 0)
      .map((b) => ({ name: b.name, createdMs: b.createdMs, region: b.region }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---------------------------------------------------------------- put

  async putObject(bucketName: string, key: string, body: Body, opts: PutOptions = {}): Promise<ObjectInfo> {
    this.checkWritable();
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0 || bucket.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    checkKey(key);
    const content = this.contentFields(opts);
    const checksums = this.checksumEntries(opts.checksums ?? []);
    this.checkLockOptions(bucket, opts.lock);
    bucket.inflight++;
    const resets = this.writer.resets;
    const appended: ChunkRef[] = [];
    this.unsettled.add(appended);
    try {
      const uploadId = ++this.uploadCounter;
      const { chunks, size, md5, checksums: late } = await this.writeChecked(body, uploadId, 0, opts, appended, bucketName);
      if (late) checksums.splice(0, checksums.length, ...this.checksumEntries(late));
      if (this.buckets.get(bucketName) !== bucket || bucket.deleting) {
        throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" was deleted during the upload`);
      }
      const manifest: ObjectManifest = {
        seq: this.nextSeq(), bucket: bucketName, key, versionId: '', uploadId, mtimeMs: this.clock.now(), size, md5,
        partCount: 0, storageClass: StorageClass.STANDARD, flags: 0, ...content, checksums,
        lockMode: 0, retainUntilMs: 0, legalHold: false, chunks, parts: [],
      };
      this.stampVersion(bucket, manifest, opts.lock);
      if (opts.condition) this.checkCondition(bucket, key, opts.condition);
      await this.commit(manifest, resets);
      return this.infoFromManifest(manifest);
    } finally {
      this.unsettled.delete(appended);
      bucket.inflight--;
    }
  }

  /** Synchronous, so nothing can commit between this check and the append that follows it. */
  private checkCondition(bucket: Bucket, key: string, c: NonNullable<PutOptions['condition']>): void {
    const slot = bucket.keys.get(key);
    const pending = this.committing.has(`${bucket.name}/${key}`);
    if (c.ifNoneMatch && (slot >= 0 || pending)) {
      throw new SedimentError('SEDIMENT_PRECONDITION_FAILED', `object "${bucket.name}/${key}" already exists`);
    }
    if (c.ifMatch !== undefined) this.checkIfMatch(bucket, key, c.ifMatch, pending);
  }

  /**
   * If-Match (an ETag list or `*`) against the key's current version: none → SEDIMENT_NO_SUCH_KEY; a change
   * of the key in flight (`changing`) or no ETag that matches → SEDIMENT_PRECONDITION_FAILED. Synchronous.
   */
  private checkIfMatch(bucket: Bucket, key: string, ifMatch: string, changing: boolean): void {
    const slot = bucket.keys.get(key);
    if (slot < 0) throw new SedimentError('SEDIMENT_NO_SUCH_KEY', `object "${bucket.name}/${key}" does not exist`);
    const want = ifMatch.split(',').map((t) => t.trim().replace(/"/g, ''));
    if (changing || !(want.includes('*') || want.includes(this.table.etag(slot)))) {
      throw new SedimentError('SEDIMENT_PRECONDITION_FAILED', `the ETag of "${bucket.name}/${key}" does not match`);
    }
  }

  /** Checksums of a single-part object or of a part: a FULL_OBJECT type is dropped (it is implied). */
  private checksumEntries(list: ObjectChecksum[]): ChecksumEntry[] {
    return list.map((c) => {
      const alg = ChecksumAlg[c.algorithm];
      if (alg === undefined) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `unknown checksum algorithm ${c.algorithm}`);
      if (c.type === 'COMPOSITE') throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'a COMPOSITE checksum belongs to a multipart object only');
      return { alg, value: c.value };
    });
  }

  private contentFields(opts: { contentType?: string; userMetadata?: Record<string, string>; headers?: PutOptions['headers']; tags?: Record<string, string>; storedContent?: boolean }): ContentFields {
    const stored = opts.storedContent === true;
    const userMetadata = Object.entries(opts.userMetadata ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
    checkUserMetadata(userMetadata, stored);
    const headers: Array<[string, string]> = [];
    for (const [field, name] of HEADER_NAMES) {
      const v = opts.headers?.[field];
      if (v !== undefined) {
        if (Buffer.byteLength(v) > 8192) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `${name} is too long`);
        if (!stored) checkHeaderValue(name, v);
        headers.push([name, v]);
      }
    }
    const contentType = opts.contentType ?? 'binary/octet-stream';
    if (Buffer.byteLength(contentType) > 1024) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'content-type is too long');
    if (!stored) checkHeaderValue('content-type', contentType);
    return { contentType, headers, userMetadata, tags: tagEntries(opts.tags) };
  }

  /**
   * Writes the body's chunks (into `chunks`, which the caller keeps in `unsettled` until its record is
   * applied) and checks size, MD5 and the caller's hook before anything is committed.
   */
  private async writeChecked(
    body: Body,
    uploadId: number,
    partNumber: number,
    opts: UploadPartOptions,
    chunks: ChunkRef[],
    bucket: string,
  ): Promise<{ chunks: ChunkRef[]; size: number; md5: Buffer; checksums?: ObjectChecksum[] }> {
    const written = await this.chunkWriter.write(body, uploadId, partNumber, chunks, opts.signal, opts.expectedSize, bucket);
    const { size, md5 } = written;
    if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
      throw size < opts.expectedSize
        ? new SedimentError('SEDIMENT_INCOMPLETE_BODY', `body ended after ${size} of ${opts.expectedSize} bytes`)
        : new SedimentError('SEDIMENT_ENTITY_TOO_LARGE', `body is longer than the declared ${opts.expectedSize} bytes`);
    }
    if (opts.expectedMd5 && !opts.expectedMd5.equals(md5)) {
      throw new SedimentError('SEDIMENT_BAD_DIGEST', 'the MD5 of the body does not match the expected digest');
    }
    const checksums = opts.beforeCommit ? ((await opts.beforeCommit({ size, md5 })) ?? undefined) : undefined;
    opts.signal?.throwIfAborted();
    this.checkWritable();
    return { chunks: written.chunks, size, md5, checksums };
  }

  /** `resets`: the writer's count when the chunks were appended (a full disk may have undone them since). */
  private async commit(manifest: ObjectManifest, resets?: number): Promise<void> {
    const payload = encodeManifest(manifest);
    const frame = encodeFrame(RecordType.COMMIT, 0, EMPTY, payload);
    const name = `${manifest.bucket}/${manifest.key}`;
    if (resets !== undefined) this.writer.assertNoResetSince(resets);
    const r = this.writer.append(frame, { type: RecordType.COMMIT, payload }, true, () =>
      this.applyCommit(manifest, r.segmentId, r.offset, frame.length),
    );
    this.committing.set(name, (this.committing.get(name) ?? 0) + 1);
    try {
      await r.done;
    } finally {
      const n = (this.committing.get(name) ?? 1) - 1;
      if (n === 0) this.committing.delete(name);
      else this.committing.set(name, n);
    }
    this.afterMutation();
  }

  /** Marks `name` as having a DELETE in flight until `durable` settles (see pendingDeletes). */
  private async whileDeleting(name: string, durable: Promise<unknown>): Promise<void> {
    this.pendingDeletes.set(name, (this.pendingDeletes.get(name) ?? 0) + 1);
    try {
      await durable;
    } finally {
      const n = (this.pendingDeletes.get(name) ?? 1) - 1;
      if (n === 0) this.pendingDeletes.delete(name);
      else this.pendingDeletes.set(name, n);
    }
  }

  // ---------------------------------------------------------------- multipart uploads

  private uploadOrThrow(bucketName: string, key: string, uploadId: string): { bucket: Bucket; id: number; upload: UploadState } {
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0 || bucket.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    const id = /^[1-9]\d{0,15}$/.test(uploadId) ? Number(uploadId) : NaN;
    const upload = Number.isSafeInteger(id) ? this.uploads.get(id) : undefined;
    if (!upload || upload.create.bucket !== bucketName || upload.create.key !== key) {
      throw new SedimentError('SEDIMENT_NO_SUCH_UPLOAD', `upload ${uploadId} of "${bucketName}/${key}" does not exist (it may have been completed or aborted)`);
    }
    return { bucket, id, upload };
  }

  async createMultipartUpload(bucketName: string, key: string, opts: CreateUploadOptions = {}): Promise<UploadInfo> {
    this.checkWritable();
    // Before the checks (nothing may change between them and the append): the record will carry a type bit.
    if (opts.checksumAlgorithm) {
      await this.raiseFormatForChecksumTypes();
      this.checkWritable();
    }
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0 || bucket.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    checkKey(key);
    const content = this.contentFields(opts);
    const checksumAlg = opts.checksumAlgorithm ? ChecksumAlg[opts.checksumAlgorithm] : 0;
    if (checksumAlg === undefined) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `unknown checksum algorithm ${opts.checksumAlgorithm}`);
    let checksumType: UploadCreateRecord['checksumType'];
    if (opts.checksumAlgorithm) {
      const t = resolveChecksumType(opts.checksumAlgorithm, opts.checksumType);
      if ('refused' in t) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', t.refused);
      checksumType = t.type;
    } else if (opts.checksumType !== undefined) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'a checksum type needs a checksum algorithm');
    }
    this.checkLockOptions(bucket, opts.lock);
    const rec: UploadCreateRecord = { seq: this.nextSeq(), uploadId: ++this.uploadCounter, bucket: bucketName, key, initiatedMs: this.clock.now(), ...content, checksumAlg };
    if (checksumType !== undefined) rec.checksumType = checksumType;
    if (opts.lock && (opts.lock.mode !== undefined || opts.lock.legalHold)) {
      rec.lock = {
        lockMode: opts.lock.mode !== undefined ? lockModeCode(opts.lock.mode) : 0,
        retainUntilMs: opts.lock.retainUntilMs ?? 0,
        legalHold: opts.lock.legalHold === true,
      };
    }
    const payload = encodeUploadCreate(rec);
    await this.writer.append(encodeFrame(RecordType.UPLOAD_CREATE, 0, EMPTY, payload), { type: RecordType.UPLOAD_CREATE, payload }, true, () =>
      this.applyUploadCreate(rec, payload),
    ).done;
    this.afterMutation();
    return this.uploadInfo(rec);
  }

  private uploadInfo(c: UploadCreateRecord): UploadInfo {
    return {
      bucket: c.bucket,
      key: c.key,
      uploadId: String(c.uploadId),
      initiatedMs: c.initiatedMs,
      contentType: c.contentType,
      userMetadata: Object.fromEntries(c.userMetadata),
      ...uploadChecksum(c),
    };
  }

  /** Stores one part (1..10000). Its bytes go straight into the log; Complete will not copy them. */
  async uploadPart(bucketName: string, key: string, uploadId: string, partNumber: number, body: Body, opts: UploadPartOptions = {}): Promise<PartInfo> {
    this.checkWritable();
    checkKey(key);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > PART_NUMBER_MAX) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `part number must be an integer between 1 and ${PART_NUMBER_MAX}`);
    }
    const { bucket, id, upload } = this.uploadOrThrow(bucketName, key, uploadId);
    // The checksum completion will combine: computed here unless the caller brings it (see UploadPartOptions).
    const need = uploadChecksum(upload.create).checksumAlgorithm ?? 'CRC64NVME';
    const tap = opts.beforeCommit === undefined && !(opts.checksums ?? []).some((c) => c.algorithm === need) ? new ChecksumSet([need]) : undefined;
    if (tap) body = tappedBody(body, tap);
    bucket.inflight++;
    const resets = this.writer.resets;
    const appended: ChunkRef[] = [];
    this.unsettled.add(appended);
    try {
      const { chunks, size, md5, checksums: late } = await this.writeChecked(body, id, partNumber, opts, appended, bucketName);
      if (this.uploads.get(id) !== upload || upload.completing) {
        throw new SedimentError('SEDIMENT_NO_SUCH_UPLOAD', `upload ${uploadId} was completed or aborted during the part upload`);
      }
      const given = late ?? opts.checksums ?? [];
      const computed = tap ? [...tap.results()].map(([algorithm, value]) => ({ algorithm, value })) : [];
      const checksums = this.checksumEntries([...given, ...computed]);
      const rec: UploadPartRecord = { seq: this.nextSeq(), uploadId: id, partNumber, size, md5, mtimeMs: this.clock.now(), checksums, chunks };
      const payload = encodeUploadPart(rec);
      this.writer.assertNoResetSince(resets);
      await this.writer.append(encodeFrame(RecordType.UPLOAD_PART, 0, EMPTY, payload), { type: RecordType.UPLOAD_PART, payload }, true, () =>
        this.applyUploadPart(rec, payload),
      ).done;
      this.afterMutation();
      return this.partInfo(rec);
    } finally {
      this.unsettled.delete(appended);
      bucket.inflight--;
    }
  }

  private partInfo(p: UploadPartRecord): PartInfo {
    return {
      partNumber: p.partNumber,
      size: p.size,
      etag: p.md5.toString('hex'),
      lastModifiedMs: p.mtimeMs,
      checksums: p.checksums.map(objectChecksum),
    };
  }

  /**
   * Commits the listed parts as one object: a single COMMIT record that references the parts' chunks
   * where they already are. Parts must be ascending, exist, match their ETags and checksums when given,
   * and all but the last must hold at least `partBytesMin` bytes. The object's checksum is made from the
   * parts' (objectChecksumOf) and checked against what the client expects, before anything is written.
   */
  async completeMultipartUpload(bucketName: string, key: string, uploadId: string, parts: CompletePart[], opts: CompleteOptions = {}): Promise<ObjectInfo> {
    this.checkWritable();
    // Before the checks (nothing may change between them and the commit): the object's checksum has a type
    // bit (7), and its part table each part's checksum (8).
    await this.raiseFormatForPartChecksums();
    this.checkWritable();
    const { id, upload } = this.uploadOrThrow(bucketName, key, uploadId);
    if (upload.completing) throw new SedimentError('SEDIMENT_NO_SUCH_UPLOAD', `upload ${uploadId} is already being completed`);
    if (parts.length === 0) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'a multipart upload must be completed with at least one part');
    if (parts.length > PART_NUMBER_MAX) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `at most ${PART_NUMBER_MAX} parts`);
    const partBytesMin = opts.partBytesMin ?? 5 * 1024 * 1024;
    // Checked as S3 does, each over the whole list: order, then existence and ETags, then sizes (a
    // misordered list must not be reported as a too-small part that merely sits in a non-last place).
    for (let i = 1; i < parts.length; i++) {
      if (parts[i].partNumber <= parts[i - 1].partNumber) {
        throw new SedimentError('SEDIMENT_INVALID_PART_ORDER', 'the list of parts was not in ascending order');
      }
    }
    const chosen: UploadPartRecord[] = parts.map((want) => {
      const have = upload.parts.get(want.partNumber);
      if (!have || (want.etag !== undefined && want.etag.replace(/"/g, '').toLowerCase() !== have.rec.md5.toString('hex'))) {
        throw new SedimentError('SEDIMENT_INVALID_PART', `part ${want.partNumber} was not uploaded or its ETag does not match`);
      }
      for (const c of want.checksums ?? []) {
        const stored = have.rec.checksums.find((e) => e.alg === ChecksumAlg[c.algorithm]);
        if (!stored?.value.equals(c.value)) {
          throw new SedimentError('SEDIMENT_INVALID_PART', `part ${want.partNumber}: its ${c.algorithm} checksum does not match the one stored with it`);
        }
      }
      return have.rec;
    });
    for (let i = 0; i < chosen.length - 1; i++) {
      if (chosen[i].size < partBytesMin) {
        throw new SedimentError('SEDIMENT_ENTITY_TOO_SMALL', `part ${chosen[i].partNumber} is ${chosen[i].size} bytes; every part but the last must be at least ${partBytesMin} bytes`);
      }
    }
    const c = upload.create;
    if (opts.expectedSize !== undefined) {
      const total = chosen.reduce((n, p) => n + p.size, 0);
      if (total !== opts.expectedSize) throw new SedimentError('SEDIMENT_INVALID_REQUEST', `the parts hold ${total} bytes, not the ${opts.expectedSize} expected`);
    }
    const objectSum = objectChecksumOf(c, chosen, opts);
    const md5 = createHash('md5');
    let size = 0;
    const chunks: ChunkRef[] = [];
    for (const p of chosen) {
      md5.update(p.md5);
      size += p.size;
      for (const ch of p.chunks) chunks.push(ch);
    }
    const manifest: ObjectManifest = {
      seq: this.nextSeq(), bucket: bucketName, key, versionId: '', uploadId: id, mtimeMs: this.clock.now(), size, md5: md5.digest(),
      partCount: chosen.length, storageClass: StorageClass.STANDARD, flags: 0, contentType: c.contentType, headers: c.headers,
      userMetadata: c.userMetadata, tags: c.tags,
      checksums: objectSum ? [objectSum] : [],
      lockMode: 0, retainUntilMs: 0, legalHold: false, chunks,
      // Each part's checksum of the object's algorithm (every part has it when the object has one).
      parts: chosen.map((p) => {
        const sum = objectSum && p.checksums.find((e) => e.alg === objectSum.alg);
        const entry = { partNumber: p.partNumber, size: p.size, md5: p.md5, chunkCount: p.chunks.length };
        return sum ? { ...entry, checksum: { alg: sum.alg, value: sum.value } } : entry;
      }),
    };
    const bucket = this.bucketOrThrow(bucketName);
    this.stampVersion(bucket, manifest, uploadLock(upload.create));
    if (opts.condition) this.checkCondition(bucket, key, opts.condition);
    upload.completing = true;
    try {
      await this.commit(manifest);
    } catch (err) {
      upload.completing = false;
      throw err;
    }
    return this.infoFromManifest(manifest);
  }

  async abortMultipartUpload(bucketName: string, key: string, uploadId: string): Promise<void> {
    this.checkWritable();
    const { id, upload } = this.uploadOrThrow(bucketName, key, uploadId);
    if (upload.completing) throw new SedimentError('SEDIMENT_NO_SUCH_UPLOAD', `upload ${uploadId} is being completed`);
    const seq = this.nextSeq();
    const payload = encodeUploadAbort({ seq, uploadId: id });
    await this.writer.append(encodeFrame(RecordType.UPLOAD_ABORT, 0, EMPTY, payload), { type: RecordType.UPLOAD_ABORT, payload }, true, () => {
      this.noteSeq(seq);
      this.uploads.delete(id);
    }).done;
    this.afterMutation();
  }

  /** The data directory's format version (DIR/FORMAT, docs/FORMAT.md §1.1): what a sediment must know to open it. */
  async formatVersion(): Promise<number> {
    this.checkOpen();
    return readFormatVersion(this.fs, this.dir);
  }

  /** One open upload (without its parts); SEDIMENT_NO_SUCH_UPLOAD if it is not open. */
  getMultipartUpload(bucketName: string, key: string, uploadId: string): UploadInfo {
    this.checkOpen();
    return this.uploadInfo(this.uploadOrThrow(bucketName, key, uploadId).upload.create);
  }

  /** The stored parts of an upload, ascending by part number. */
  listParts(bucketName: string, key: string, uploadId: string): { upload: UploadInfo; parts: PartInfo[] } {
    this.checkOpen();
    const { upload } = this.uploadOrThrow(bucketName, key, uploadId);
    const parts = [...upload.parts.values()].map((p) => this.partInfo(p.rec)).sort((a, b) => a.partNumber - b.partNumber);
    return { upload: this.uploadInfo(upload.create), parts };
  }

  /** Open uploads of a bucket, by key (UTF-8 order) then initiation time. */
  listMultipartUploads(bucketName: string): UploadInfo[] {
    this.checkOpen();
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    return [...this.uploads.values()]
      .filter((u) => u.create.bucket === bucketName)
      .map((u) => this.uploadInfo(u.create))
      .sort((a, b) => compareUtf8(a.key, b.key) || a.initiatedMs - b.initiatedMs || Number(a.uploadId) - Number(b.uploadId));
  }

  // ---------------------------------------------------------------- read

  /**
   * The slot of the current object, or of the named version (`versionId` as clients give it). A delete
   * marker is never returned: it is NO_SUCH_KEY when current, DELETE_MARKER when named.
   */
  private slotOf(bucketName: string, key: string, versionId?: string): { bucket: Bucket; slot: number } {
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    checkKey(key);
    if (versionId === undefined) {
      const slot = bucket.keys.get(key);
      if (slot >= 0) return { bucket, slot };
      const newest = newestVersion(bucket, key);
      if (newest >= 0) {
        throw new DeleteMarkerError('SEDIMENT_NO_SUCH_KEY', `object "${bucketName}/${key}" does not exist (its newest version is a delete marker)`, this.table.versionIdOf(newest), this.table.mtimeOf(newest));
      }
      throw new SedimentError('SEDIMENT_NO_SUCH_KEY', `object "${bucketName}/${key}" does not exist`);
    }
    const vid = parseVersionId(versionId);
    const slot = findVersion(this.table, bucket, key, vid);
    if (slot < 0) throw new SedimentError('SEDIMENT_NO_SUCH_VERSION', `version ${versionId} of "${bucketName}/${key}" does not exist`);
    if (isMarker(this.table, slot)) {
      throw new DeleteMarkerError('SEDIMENT_DELETE_MARKER', `version ${versionId} of "${bucketName}/${key}" is a delete marker`, vid, this.table.mtimeOf(slot));
    }
    return { bucket, slot };
  }

  private async readManifest(entry: ObjectEntry): Promise<ObjectManifest> {
    const frame = await this.store.readFrame(entry.segmentId, entry.commitOffset, entry.commitLen, RecordType.COMMIT);
    try {
      return decodeManifest(frame.payload);
    } catch (err) {
      throw new CorruptionError(entry.segmentId, entry.commitOffset, `undecodable commit record: ${(err as Error).message}`, { cause: err });
    }
  }

  private infoFromManifest(m: ObjectManifest): ObjectInfo {
    const headers: Record<string, string> = {};
    for (const [name, value] of m.headers) {
      const field = HEADER_NAMES.find(([, n]) => n === name);
      if (field) headers[field[0]] = value;
    }
    const md5hex = m.md5.toString('hex');
    return {
      bucket: m.bucket,
      key: m.key,
      size: m.size,
      etag: m.partCount > 0 ? `${md5hex}-${m.partCount}` : md5hex,
      lastModifiedMs: m.mtimeMs,
      contentType: m.contentType,
      userMetadata: Object.fromEntries(m.userMetadata),
      headers,
      checksums: m.checksums.map(objectChecksum),
      tags: Object.fromEntries(m.tags),
      storageClass: storageClassName(m.storageClass),
      versionId: m.versionId,
      partCount: m.partCount,
      objectLock: m.lockMode !== 0 || m.legalHold ? { mode: lockModeName(m.lockMode), retainUntilMs: m.lockMode !== 0 ? m.retainUntilMs : undefined, legalHold: m.legalHold } : undefined,
    };
  }

  async headObject(bucketName: string, key: string, opts: { versionId?: string; partNumber?: number; parts?: boolean } = {}): Promise<HeadResult> {
    this.checkOpen();
    const { slot } = this.slotOf(bucketName, key, opts.versionId);
    const manifest = await this.readManifest(this.table.read(slot));
    const info: HeadResult = this.infoFromManifest(manifest);
    if (opts.partNumber !== undefined) {
      info.partRange = this.resolveRange(manifest, { partNumber: opts.partNumber });
      withPartChecksum(info, manifest, opts.partNumber);
    }
    if (opts.parts) {
      info.parts = manifest.parts.map((p) => {
        const part = { partNumber: p.partNumber, size: p.size, etag: p.md5.toString('hex') };
        return p.checksum ? { ...part, checksum: objectChecksum(p.checksum) } : part;
      });
    }
    return info;
  }

  async getObject(bucketName: string, key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.checkOpen();
    const { manifest, unpin } = await this.manifestToRead(bucketName, key, opts.versionId);
    try {
      const info = this.infoFromManifest(manifest);
      const { start, end } = this.resolveRange(manifest, opts);
      if (opts.partNumber !== undefined) withPartChecksum(info, manifest, opts.partNumber);
      // The stream pins what it reads before body() resolves: this pin can go then.
      return { info, range: opts.range || opts.partNumber !== undefined ? { start, end } : undefined, body: await this.reader.body(manifest, start, end) };
    } finally {
      unpin();
    }
  }

  /**
   * The manifest of the version a GET reads, with its cold segments (if it is cold) pinned: the caller
   * releases `unpin` once its own reads or stream hold them. A cold version's record names cold segments
   * that a migration pass may rewrite and the next pass delete while the record is being read; so the
   * segments are pinned first and the index checked after, in the same synchronous step: if the version
   * still has the seq it had when its record was read, the record names the cold segments the index
   * references, and no pass deletes a pinned one. If not (re-committed elsewhere, re-tagged, overwritten
   * or deleted meanwhile), the version is looked up and read again.
   */
  private async manifestToRead(bucketName: string, key: string, versionId: string | undefined): Promise<{ manifest: ObjectManifest; unpin: () => void }> {
    for (let attempt = 1; ; attempt++) {
      const { slot, bucket } = this.slotOf(bucketName, key, versionId);
      if (attempt === 1 && bucket.tiering) this.access.touch(bucketName, key, this.clock.now());
      const seq = this.table.getSeq(slot);
      const manifest = await this.readManifest(this.table.read(slot));
      if (manifest.storageClass !== StorageClass.COLD) return { manifest, unpin: noop };
      const unpin = this.cold.pin(manifest.chunks.map((c) => c.segmentId));
      let now: number;
      try {
        now = this.table.getSeq(this.slotOf(bucketName, key, versionId).slot);
      } catch (err) {
        unpin(); // deleted meanwhile: the GET answers as one that came after the delete
        throw err;
      }
      // Each retry means the version was re-committed during one record read; a key re-committed that
      // often (a tagging loop) gets the last record read: at worst its read fails as a stale one would.
      if (now === seq || attempt === READ_RECORD_ATTEMPTS_MAX) return { manifest, unpin };
      unpin();
    }
  }

  /**
   * getObject for callers that can use a buffer: when the object (or the range) is at most
   * `bufferBytesMax` bytes it is read, verified and returned whole as `data` (no stream, no async
   * iteration); otherwise `body` streams it as getObject does. `data` belongs to the caller. With `lend`,
   * a larger one comes as `lent` pieces (LentBytes) instead of `body`: memory the engine reuses once the
   * caller releases it, so a large GET does not fault in fresh pages for every chunk nor make garbage of them.
   */
  async getObjectData(bucketName: string, key: string, opts: GetOptions & { bufferBytesMax: number; lend?: boolean }): Promise<GetDataResult> {
    this.checkOpen();
    const { manifest, unpin } = await this.manifestToRead(bucketName, key, opts.versionId);
    try {
      const info = this.infoFromManifest(manifest);
      const { start, end } = this.resolveRange(manifest, opts);
      if (opts.partNumber !== undefined) withPartChecksum(info, manifest, opts.partNumber);
      const range = opts.range || opts.partNumber !== undefined ? { start, end } : undefined;
      if (end - start + 1 > opts.bufferBytesMax) {
        if (opts.lend) return { info, range, lent: await this.reader.lent(manifest, start, end) };
        return { info, range, body: await this.reader.body(manifest, start, end) };
      }
      const pieces = this.reader.planRange(manifest, start, end);
      if (pieces.length === 1) return { info, range, data: await this.reader.readChunk(pieces[0]!) };
      const parts = await Promise.all(pieces.map((p) => this.reader.readChunk(p)));
      return { info, range, data: parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(parts) };
    } finally {
      unpin();
    }
  }

  /**
   * The inclusive byte range to serve (`end` = `start - 1` when it is empty); throws SEDIMENT_INVALID_RANGE
   * when a range is not satisfiable, SEDIMENT_INVALID_PART_NUMBER for a part the object does not have.
   */
  private resolveRange(manifest: ObjectManifest, opts: GetOptions): { start: number; end: number } {
    let start = 0;
    let end = manifest.size - 1;
    if (opts.partNumber !== undefined) {
      if (opts.range) throw new SedimentError('SEDIMENT_INVALID_REQUEST', 'Cannot specify both Range header and partNumber query parameter');
      return partRange(manifest, opts.partNumber);
    }
    if (opts.range) {
      const r = 'suffix' in opts.range ? { start: Math.max(0, manifest.size - opts.range.suffix), end: manifest.size - 1, suffix: opts.range.suffix } : { ...opts.range, suffix: undefined };
      const bad = r.suffix !== undefined
        ? !Number.isSafeInteger(r.suffix) || r.suffix <= 0 || manifest.size === 0
        : !Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start || r.start >= manifest.size;
      if (bad) {
        const what = r.suffix !== undefined ? `the last ${r.suffix} bytes` : `range ${r.start}-${r.end}`;
        throw new SedimentError('SEDIMENT_INVALID_RANGE', `${what} is not satisfiable for an object of ${manifest.size} bytes`);
      }
      start = r.start;
      end = Math.min(r.end, manifest.size - 1);
    }
    return { start, end };
  }

  // ---------------------------------------------------------------- delete

  /**
   * Replaces the tags of the current version, or of the named one (S3 PutObjectTagging /
   * DeleteObjectTagging with `{}`): a new COMMIT with the same chunks, metadata and modification time,
   * and the new tags; no object byte is copied. Refused with SEDIMENT_PRECONDITION_FAILED if the
   * version changed while its manifest was read.
   */
  async putObjectTagging(bucketName: string, key: string, tags: Record<string, string>, opts: { versionId?: string } = {}): Promise<void> {
    // Only the tags are new: the version's stored content type and metadata are kept as they are, unchecked
    // (an older sediment may have stored values this one refuses for new writes).
    await this.recommitVersion(bucketName, key, opts.versionId, (old) => ({ ...old, tags: tagEntries(tags) }));
  }

  /**
   * Rewrites one version's metadata record (tags, retention, legal hold) where it stands in the key's
   * versions. `change` may throw (a lock refusing the change) before anything is written. Resolves once
   * the new record is durable.
   */
  private async recommitVersion(bucketName: string, key: string, versionId: string | undefined, change: (old: ObjectManifest) => ObjectManifest): Promise<void> {
    this.checkWritable();
    const { bucket, slot } = this.slotOf(bucketName, key, versionId);
    const entry = this.table.read(slot);
    const next: ObjectManifest = { ...change(await this.readManifest(entry)), seq: 0 };
    this.checkWritable();
    // Nothing awaits from this check to the append inside commit(), so no write of the key slips in.
    const now = this.buckets.get(bucketName) === bucket ? findVersion(this.table, bucket, key, entry.versionId) : -1;
    if (now < 0) throw new SedimentError(versionId === undefined ? 'SEDIMENT_NO_SUCH_KEY' : 'SEDIMENT_NO_SUCH_VERSION', `object "${bucketName}/${key}" does not exist`);
    if (
      this.table.read(now).seq !== entry.seq ||
      this.committing.has(`${bucketName}/${key}`) ||
      this.pendingDeletes.has(`${bucketName}/${key}`) ||
      (versionId === undefined && bucket.keys.get(key) !== now)
    ) {
      throw new SedimentError('SEDIMENT_PRECONDITION_FAILED', `object "${bucketName}/${key}" changed while its metadata was being set; retry`);
    }
    next.seq = this.nextSeq();
    // In a bucket that has versions the record says "this version, in place"; an unversioned bucket's
    // only version is its current one, which a plain COMMIT replaces (the format before versioning).
    if (bucket.versions.versioned) next.flags |= CommitFlag.IN_PLACE;
    await this.commit(next);
  }

  /**
   * Without `versionId`: deletes the object (unversioned bucket) or adds a delete marker (versioned: no
   * version is removed). With `versionId`: removes that version for good, unless Object Lock forbids it
   * (SEDIMENT_OBJECT_LOCKED; `bypassGovernance` lifts GOVERNANCE retention, nothing lifts COMPLIANCE or a
   * legal hold). `ifMatch` (an ETag list or `*`) makes it conditional on the key's current version
   * (checkDeleteCondition). Resolves after the change is durable; `existed` tells whether there was
   * anything to delete, `versionId` (as clients see it) and `deleteMarker` what was created or removed.
   */
  async deleteObject(
    bucketName: string,
    key: string,
    opts: { versionId?: string; bypassGovernance?: boolean; ifMatch?: string } = {},
  ): Promise<{ existed: boolean; versionId?: string; deleteMarker?: boolean }> {
    this.checkWritable();
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    checkKey(key);
    if (opts.versionId !== undefined) return this.deleteVersion(bucket, key, parseVersionId(opts.versionId), opts.bypassGovernance === true, opts.ifMatch);
    if (opts.ifMatch !== undefined) this.checkDeleteCondition(bucket, key, opts.ifMatch);
    if (bucket.versions.versioned) {
      const marker = this.newMarker(bucket, key);
      await this.commit(marker);
      return { existed: true, versionId: showVersionId(marker.versionId), deleteMarker: true };
    }
    if (bucket.keys.get(key) < 0) return { existed: false };
    const seq = this.nextSeq();
    const payload = encodeDelete({ seq, bucket: bucketName, key, versionId: '', mtimeMs: this.clock.now(), flags: 0 });
    await this.whileDeleting(`${bucketName}/${key}`, this.writer.append(encodeFrame(RecordType.DELETE, 0, EMPTY, payload), { type: RecordType.DELETE, payload }, true, () =>
      this.applyDelete(bucketName, key, seq),
    ).done);
    this.afterMutation();
    return { existed: true };
  }

  /**
   * If-Match on a delete (S3's conditional deletes): judged against the key's current version — none (or
   * a delete marker) → SEDIMENT_NO_SUCH_KEY, another ETag (or a write or delete of the key in flight) →
   * SEDIMENT_PRECONDITION_FAILED. Synchronous, so nothing can commit between it and the append that follows.
   */
  private checkDeleteCondition(bucket: Bucket, key: string, ifMatch: string): void {
    const name = `${bucket.name}/${key}`;
    this.checkIfMatch(bucket, key, ifMatch, this.committing.has(name) || this.pendingDeletes.has(name));
  }

  /** A delete marker for the key, as the bucket's versioning state makes it (null version when suspended). */
  private newMarker(bucket: Bucket, key: string): ObjectManifest {
    const seq = this.nextSeq();
    return markerManifest(seq, bucket.name, key, bucket.versions.status === 'Suspended' ? '' : versionIdFor(seq), this.clock.now());
  }

  /** How many times (2 ms apart) a version delete waits for an in-flight write of the same key before giving up. */
  private static readonly VERSION_DELETE_RETRIES_MAX = 5_000;

  private async deleteVersion(
    bucket: Bucket,
    key: string,
    versionId: string,
    bypassGovernance: boolean,
    ifMatch?: string,
  ): Promise<{ existed: boolean; versionId?: string; deleteMarker?: boolean }> {
    const shown = showVersionId(versionId);
    const name = `${bucket.name}/${key}`;
    for (let attempt = 0; ; attempt++) {
      if (ifMatch !== undefined) this.checkDeleteCondition(bucket, key, ifMatch);
      const slot = findVersion(this.table, bucket, key, versionId);
      if (slot < 0) return { existed: false, versionId: shown };
      const entry = this.table.read(slot);
      const marker = isMarker(this.table, slot);
      // The lock fields live in the version's COMMIT record, the only place they are durable.
      if (!marker) checkRemovable(await this.readManifest(entry), this.clock.now(), bypassGovernance, `version ${shown} of "${name}"`);
      this.checkWritable();
      // A retention or legal hold being committed for this key must land first, and be judged.
      if (this.committing.has(name) || findVersion(this.table, bucket, key, versionId) !== slot || this.table.getSeq(slot) !== entry.seq) {
        if (attempt >= Engine.VERSION_DELETE_RETRIES_MAX) throw new SedimentError('SEDIMENT_PRECONDITION_FAILED', `"${name}" keeps changing; retry the delete`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      if (ifMatch !== undefined) this.checkDeleteCondition(bucket, key, ifMatch);
      const seq = this.nextSeq();
      const payload = encodeDelete({ seq, bucket: bucket.name, key, versionId, mtimeMs: this.clock.now(), flags: 0 });
      await this.whileDeleting(name, this.writer.append(encodeFrame(RecordType.DELETE, 0, EMPTY, payload), { type: RecordType.DELETE, payload }, true, () =>
        this.applyDelete(bucket.name, key, seq, versionId),
      ).done);
      this.afterMutation();
      return { existed: true, versionId: shown, deleteMarker: marker };
    }
  }

  // ---------------------------------------------------------------- versioning and object lock

  /** Writes DIR/FORMAT version 8 once, before the first COMMIT that may keep part checksums (§3.1). */
  private formatHasPartChecksums = false;
  private async raiseFormatForPartChecksums(): Promise<void> {
    if (this.formatHasPartChecksums) return;
    await raiseFormatVersion(this.fs, this.dir, DATA_DIR_FORMAT_PART_CHECKSUMS);
    this.formatHasPartChecksums = true;
    this.formatHasChecksumTypes = true;
  }

  /** Writes DIR/FORMAT version 7 once, before the first record with a checksum type (§3.1, §3.5). */
  private formatHasChecksumTypes = false;
  private async raiseFormatForChecksumTypes(): Promise<void> {
    if (this.formatHasChecksumTypes) return;
    await raiseFormatVersion(this.fs, this.dir, DATA_DIR_FORMAT_CHECKSUM_TYPES);
    this.formatHasChecksumTypes = true;
  }

  /** Writes DIR/FORMAT version 3 once, before the first record an older sediment would misread. */
  private formatHasVersions = false;
  private async raiseFormatForVersions(): Promise<void> {
    if (this.formatHasVersions) return;
    await raiseFormatVersion(this.fs, this.dir, DATA_DIR_FORMAT_VERSIONS);
    this.formatHasVersions = true;
  }

  private async appendBucketConfig(bucket: Bucket, kind: number, value: Buffer): Promise<void> {
    const seq = this.nextSeq();
    const payload = encodeBucketConfig({ seq, bucket: bucket.name, kind, value });
    await this.writer.append(encodeFrame(RecordType.BUCKET_CONFIG, 0, EMPTY, payload), { type: RecordType.BUCKET_CONFIG, payload }, true, () =>
      this.applyBucketConfig(decodeBucketConfig(payload), payload),
    ).done;
    this.afterMutation();
  }

  private liveBucket(name: string): Bucket {
    const b = this.bucketOrThrow(name);
    if (b.seq === 0 || b.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    return b;
  }

  /** Turns versioning on or suspends it (S3 PutBucketVersioning); durable when it resolves. */
  async setBucketVersioning(name: string, status: 'Enabled' | 'Suspended'): Promise<void> {
    this.checkWritable();
    const b = this.liveBucket(name);
    if (status !== 'Enabled' && status !== 'Suspended') throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'the versioning status must be Enabled or Suspended');
    if (status === 'Suspended' && b.versions.objectLockEnabled) {
      throw new SedimentError('SEDIMENT_INVALID_BUCKET_STATE', `bucket "${name}" has Object Lock enabled: its versioning cannot be suspended`);
    }
    await this.raiseFormatForVersions();
    await this.appendBucketConfig(b, BucketConfigKind.VERSIONING, Buffer.from(JSON.stringify({ status })));
  }

  getBucketVersioning(name: string): VersioningStatus {
    this.checkOpen();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    return b.versions.objectLockEnabled ? 'Enabled' : b.versions.status;
  }

  /** Sets (or with `{}` clears) the default retention of a bucket created with Object Lock. */
  async setObjectLockConfiguration(name: string, config: LockConfig): Promise<void> {
    this.checkWritable();
    const b = this.liveBucket(name);
    if (!b.versions.objectLockEnabled) {
      throw new SedimentError('SEDIMENT_INVALID_BUCKET_STATE', `bucket "${name}" was not created with Object Lock enabled`);
    }
    validateLockConfig(config);
    await this.appendBucketConfig(b, BucketConfigKind.OBJECT_LOCK, Buffer.from(JSON.stringify(config.rule ? { rule: config.rule } : {})));
  }

  /** The bucket's object lock configuration; SEDIMENT_NO_LOCK_CONFIGURATION unless created with Object Lock. */
  getObjectLockConfiguration(name: string): { enabled: true } & LockConfig {
    this.checkOpen();
    const b = this.bucketOrThrow(name);
    if (b.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" does not exist`);
    if (!b.versions.objectLockEnabled) throw new SedimentError('SEDIMENT_NO_LOCK_CONFIGURATION', `bucket "${name}" has no Object Lock configuration`);
    return { enabled: true, ...structuredClone(b.versions.lock?.config ?? {}) };
  }

  /** Refuses lock options a PUT cannot have, before any byte is written. */
  private checkLockOptions(bucket: Bucket, lock: ObjectLockOptions | undefined): void {
    if (!lock || (lock.mode === undefined && lock.retainUntilMs === undefined && lock.legalHold === undefined)) return;
    if (!bucket.versions.objectLockEnabled) throw new SedimentError('SEDIMENT_INVALID_REQUEST', 'Bucket is missing Object Lock Configuration');
    if ((lock.mode === undefined) !== (lock.retainUntilMs === undefined)) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied');
    }
    if (lock.mode !== undefined) validateRetention({ mode: lock.mode, retainUntilMs: lock.retainUntilMs as number }, this.clock.now());
  }

  /** Gives a new version its version id and lock fields (explicit, else the bucket's default retention). */
  private stampVersion(bucket: Bucket, m: ObjectManifest, lock: ObjectLockOptions | undefined): void {
    const v = bucket.versions;
    if (v.objectLockEnabled || v.status === 'Enabled') m.versionId = versionIdFor(m.seq);
    if (!v.objectLockEnabled) return;
    const retention: Retention | undefined =
      lock?.mode !== undefined ? { mode: lock.mode, retainUntilMs: lock.retainUntilMs as number } : defaultRetention(v.lock?.config, m.mtimeMs);
    if (retention) {
      m.lockMode = lockModeCode(retention.mode);
      m.retainUntilMs = retention.retainUntilMs;
    }
    m.legalHold = lock?.legalHold === true;
  }

  private lockBucketVersion(bucketName: string): Bucket {
    const b = this.liveBucket(bucketName);
    if (!b.versions.objectLockEnabled) throw new SedimentError('SEDIMENT_INVALID_REQUEST', 'Bucket is missing Object Lock Configuration');
    return b;
  }

  /**
   * Sets a version's retention (undefined removes it). Lengthening is always allowed; shortening,
   * removing or weakening COMPLIANCE never while it is in force; GOVERNANCE only with `bypassGovernance`.
   */
  async putObjectRetention(bucketName: string, key: string, retention: Retention | undefined, opts: { versionId?: string; bypassGovernance?: boolean } = {}): Promise<void> {
    this.lockBucketVersion(bucketName);
    const now = this.clock.now();
    if (retention) validateRetention(retention, now);
    await this.recommitVersion(bucketName, key, opts.versionId, (old) => {
      checkRetentionChange(old, retention, now, opts.bypassGovernance === true, `version ${showVersionId(old.versionId)} of "${bucketName}/${key}"`);
      return { ...old, lockMode: retention ? lockModeCode(retention.mode) : 0, retainUntilMs: retention?.retainUntilMs ?? 0 };
    });
  }

  /** SEDIMENT_NO_SUCH_LOCK_SETTING when the version has no retention. */
  async getObjectRetention(bucketName: string, key: string, opts: { versionId?: string } = {}): Promise<Retention> {
    this.checkOpen();
    this.lockBucketVersion(bucketName);
    const info = await this.headObject(bucketName, key, opts);
    if (!info.objectLock?.mode) throw new SedimentError('SEDIMENT_NO_SUCH_LOCK_SETTING', `"${bucketName}/${key}" has no retention`);
    return { mode: info.objectLock.mode, retainUntilMs: info.objectLock.retainUntilMs as number };
  }

  async putObjectLegalHold(bucketName: string, key: string, on: boolean, opts: { versionId?: string } = {}): Promise<void> {
    this.lockBucketVersion(bucketName);
    await this.recommitVersion(bucketName, key, opts.versionId, (old) => ({ ...old, legalHold: on }));
  }

  async getObjectLegalHold(bucketName: string, key: string, opts: { versionId?: string } = {}): Promise<boolean> {
    this.checkOpen();
    this.lockBucketVersion(bucketName);
    return (await this.headObject(bucketName, key, opts)).objectLock?.legalHold === true;
  }

  /** S3 ListObjectVersions: every version and delete marker, keys in UTF-8 order, newest version first. */
  listObjectVersions(bucketName: string, opts: ListVersionsOptions = {}): ListVersionsResult {
    this.checkOpen();
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    return listVersions(this.table, bucket, opts, storageClassName);
  }

  /**
   * NoncurrentVersionExpiration: removes versions that have been noncurrent for the rule's days (keeping
   * the rule's newest noncurrent versions), never one under retention or legal hold.
   */
  private async expireNoncurrent(
    b: Bucket,
    rules: LifecycleConfig['rules'],
    now: number,
    dayMs: number,
    dryRun: boolean,
    listMax: number,
    report: LifecycleReport,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const withRule = rules.filter((r) => r.noncurrentVersionExpiration);
    const markerRules = rules.filter((r) => r.expiration?.expiredObjectDeleteMarker === true);
    if (withRule.length === 0 && markerRules.length === 0) return;
    let examined = 0;
    // The live history (see runLifecycle): each key once, in order, however its chain changes meanwhile.
    for (const [key] of b.versions.history.scan()) {
      if (++examined % LIFECYCLE_SLICE_KEYS === 0) {
        await nextTurn();
        this.checkOpen();
        if (signal?.aborted) report.interrupted = true;
        if (report.interrupted || this.buckets.get(b.name) !== b || b.deleting) break;
      }
      const chain = versionsOf(b, key);
      // ExpiredObjectDeleteMarker: a delete marker that is a key's only version hides nothing; remove it.
      if (chain.length === 1 && isMarker(this.table, chain[0]!) && markerRules.some((r) => filterMatches({ ...r.filter, tags: undefined }, key, 0) && !r.filter.tags?.length)) {
        const versionId = this.table.versionIdOf(chain[0]!);
        if (!dryRun && !(await this.deleteVersion(b, key, versionId, false)).existed) continue;
        if (report.noncurrentExpiredCount++ < listMax) report.noncurrentExpired.push({ bucket: b.name, key, versionId: showVersionId(versionId), size: 0 });
        continue;
      }
      let noncurrentIndex = 0;
      for (let i = 1; i < chain.length; i++) {
        const slot = chain[i]!;
        const marker = isMarker(this.table, slot);
        if (!marker) noncurrentIndex++;
        // A version became noncurrent when the next newer one was created.
        const since = this.table.mtimeOf(chain[i - 1]!);
        const size = marker ? 0 : this.table.sizeOf(slot);
        const tags = !marker && withRule.some(needsTags) ? (await this.readManifest(this.table.read(slot))).tags : undefined;
        if (!versionsOf(b, key).includes(slot)) continue; // removed while its tags were read
        const due = withRule.some((r) => {
          const nve = r.noncurrentVersionExpiration!;
          if (!filterMatches(r.filter, key, size, tags)) return false;
          if (nve.newerNoncurrentVersions !== undefined && noncurrentIndex <= nve.newerNoncurrentVersions) return false;
          return now >= since + nve.noncurrentDays * dayMs;
        });
        if (!due) continue;
        const entry = this.table.read(slot);
        if (!marker && isLocked(await this.readManifest(entry), now)) {
          report.skippedLocked++;
          continue;
        }
        const versionId = showVersionId(entry.versionId);
        if (!dryRun) {
          try {
            const r = await this.deleteVersion(b, key, entry.versionId, false);
            if (!r.existed) continue;
          } catch (err) {
            if (err instanceof SedimentError && err.code === 'SEDIMENT_OBJECT_LOCKED') {
              report.skippedLocked++;
              continue;
            }
            throw err;
          }
        }
        if (report.noncurrentExpiredCount++ < listMax) report.noncurrentExpired.push({ bucket: b.name, key, versionId, size });
      }
    }
  }

  // ---------------------------------------------------------------- list

  listObjects(bucketName: string, opts: ListOptions = {}): ListResult {
    this.checkOpen();
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    return listKeys(bucket.keys, opts, (key, slot) => ({
      key,
      size: this.table.sizeOf(slot),
      etag: this.table.etag(slot),
      lastModifiedMs: this.table.mtimeOf(slot),
      storageClass: storageClassName(this.table.storageClassOf(slot)),
    }));
  }

  // ---------------------------------------------------------------- maintenance and stats

  /** Seals the active segment so every record is in a sealed segment (compaction, tests). */
  async sealActiveSegment(): Promise<void> {
    this.checkWritable();
    await this.writer.sealActive();
  }

  /**
   * The figures of stats() that cost no scan of the index (O(buckets + segments)): what a metrics scrape
   * may ask for every few seconds, whatever the number of objects.
   */
  gauges(): EngineGauges {
    this.checkOpen();
    let stored = 0;
    for (const s of this.segments.values()) stored += s.id === this.writer.activeSegmentId ? this.writer.activeSize : s.sizeBytes;
    let objects = 0;
    let buckets = 0;
    for (const b of this.buckets.values()) {
      objects += b.keys.size;
      if (b.seq > 0) buckets++;
    }
    return {
      buckets, objects, logicalBytes: this.logicalBytes, storedBytes: stored, segments: this.segments.size, dictionaries: this.dicts.count,
      damageAtOpen: this.openDamage.length, writable: this.writer.failed === undefined, framingBytes: this.chunkWriter.stats().framingBytes,
      readAheadBytes: this.reader.stats().readAheadBytes,
    };
  }

  stats(): EngineStats {
    this.checkOpen();
    let stored = 0;
    for (const s of this.segments.values()) stored += s.id === this.writer.activeSegmentId ? this.writer.activeSize : s.sizeBytes;
    let objects = 0;
    for (const b of this.buckets.values()) objects += b.keys.size;
    const tiers = { hot: { objects: 0, logicalBytes: 0 }, cold: { objects: 0, logicalBytes: 0 } };
    for (const b of this.buckets.values()) {
      for (const [, slot] of b.keys.scan()) {
        const t = this.table.storageClassOf(slot) === StorageClass.COLD ? tiers.cold : tiers.hot;
        t.objects++;
        t.logicalBytes += this.table.sizeOf(slot);
      }
    }
    return {
      tiers,
      buckets: this.listBuckets().length,
      objects,
      logicalBytes: this.logicalBytes,
      storedBytes: stored,
      segments: this.segments.size,
      activeSegmentId: this.writer.activeSegmentId,
      durability: this.durability,
      workerThreads: this.pool.usingWorkers ? this.pool.threads : 0,
      batchedChunks: this.pool.batchedChunks,
      ...this.chunkWriter.stats(),
      ...this.reader.stats(),
      dictionaries: { count: this.dicts.count, bytes: this.dicts.bytes, made: this.dicts.made, rejected: this.dicts.rejected, removed: this.dicts.removed },
      damage: [...this.openDamage],
    };
  }

  /**
   * Checks every frame of every segment and that every indexed object's records are intact.
   * `onProgress` gets, in phase 'segments', bytes checked so far and the total, then, in phase 'objects',
   * index entries (objects, versions, delete markers) checked so far and their number.
   * Memory: the valid record offsets of each segment, 8 bytes a record (at 1.5 million objects, a Set of
   * them took ~600 MiB), and one index entry at a time.
   */
  async verify(onProgress?: (done: number, total: number, phase: 'segments' | 'objects') => void, opts: { scan?: SegmentScanner } = {}): Promise<VerifyReport> {
    this.checkOpen();
    // Writes may go on while this runs: the check covers the log up to where it ended when verify was
    // called, so records appended later are neither scanned half-written nor looked up by the index.
    const end = { segmentId: this.writer.activeSegmentId, offset: this.writer.activeSize };
    await this.writer.drain().catch(() => undefined);
    const ids = [...this.segments.keys()].filter((id) => id <= end.segmentId || this.store.packIds.has(id)).sort((a, b) => a - b);
    let total = 0;
    for (const id of ids) total += this.segments.get(id)!.id === this.writer.activeSegmentId ? this.writer.activeSize : this.segments.get(id)!.sizeBytes;
    const report: VerifyReport = { segmentsChecked: 0, recordsChecked: 0, bytesChecked: 0, objectsChecked: 0, damage: [], damagedObjects: [], damagedDictionaries: this.dicts.damage() };
    const valid = new Map<number, RecordOffsets>();
    for (const id of ids) {
      let fh;
      try {
        fh = await this.fs.open(this.store.pathOf(id), 'read');
      } catch (err) {
        report.damage.push({ segmentId: id, offset: 0, length: 0, detail: `cannot open segment: ${(err as Error).message}` });
        continue;
      }
      try {
        const size = id === end.segmentId ? Math.min(end.offset, await fh.size()) : await fh.size();
        // A scanner (compaction's worker pool) checks the frames off the main thread.
        const listing = opts.scan
          ? await opts.scan(this.store.pathOf(id), id, size)
          : await scanSegment(fh, id, size).then((r) => ({ ...r, offsets: r.entries.map((e) => e.offset) }));
        const isActive = id === end.segmentId;
        report.damage.push(...listing.damage);
        if (!isActive && !listing.sealed) {
          report.damage.push({ segmentId: id, offset: listing.validEnd, length: size - listing.validEnd, detail: 'sealed segment has no valid footer/tail' });
        } else if (isActive && listing.validEnd < size) {
          report.damage.push({ segmentId: id, offset: listing.validEnd, length: size - listing.validEnd, detail: 'unreadable bytes at the end of the active segment' });
        }
        valid.set(id, new RecordOffsets(listing.offsets));
        report.segmentsChecked++;
        report.recordsChecked += listing.offsets.length;
        report.bytesChecked += size;
        onProgress?.(report.bytesChecked, total, 'segments');
      } finally {
        await fh.close();
      }
    }
    const missing = new Set<number>();
    let entries = 0;
    for (const b of this.buckets.values()) entries += b.keys.size + b.versions.history.size;
    for (const b of this.buckets.values()) {
      // Lazily, one row at a time from the live index (a versioned bucket's rows were copied whole).
      for (const [key, slot] of b.versions.versioned ? mergeVersionRows(b.keys.scan(), b.versions.history.scan()) : b.keys.scan()) {
        if (++report.objectsChecked % VERIFY_PROGRESS_ENTRIES === 0) onProgress?.(report.objectsChecked, entries, 'objects');
        const entry = this.table.read(slot);
        if (entry.segmentId > end.segmentId || (entry.segmentId === end.segmentId && entry.commitOffset >= end.offset)) continue;
        const reason = await this.objectProblem(entry, valid, missing);
        if (reason) report.damagedObjects.push({ bucket: b.name, key, reason });
      }
    }
    onProgress?.(report.objectsChecked, Math.max(entries, report.objectsChecked), 'objects');
    // A segment the index points into that the directory does not have (deleted, lost) is damage too,
    // and so is one the manifest lists (whatever it held that nothing else refers to is lost unseen).
    for (const id of missing) report.damage.push({ segmentId: id, offset: 0, length: 0, detail: 'segment file is missing but objects refer to it' });
    for (const id of this.liveSegments.missing) {
      if (!missing.has(id)) report.damage.push({ segmentId: id, offset: 0, length: 0, detail: 'segment file is missing (listed in the manifest); records only it held are lost' });
    }
    return report;
  }

  /**
   * Accepts the loss of segment files the manifest lists but the directory lacks (after `verify` named
   * them and nothing could bring them back): they are no longer listed or reported. Returns their ids.
   */
  async forgetMissingSegments(): Promise<number[]> {
    this.checkOpen();
    const ids = await this.liveSegments.forgetMissing();
    const gone = new Set(ids);
    for (let i = this.openDamage.length - 1; i >= 0; i--) {
      if (gone.has(this.openDamage[i].segmentId) && this.openDamage[i].length === 0) this.openDamage.splice(i, 1);
    }
    return ids;
  }

  private async objectProblem(entry: ObjectEntry, valid: Map<number, RecordOffsets>, missing: Set<number>): Promise<string | undefined> {
    const at = this.relocation.locate(entry.segmentId, entry.commitOffset) ?? { segmentId: entry.segmentId, offset: entry.commitOffset };
    if (!valid.has(at.segmentId) && !this.segments.has(at.segmentId)) missing.add(at.segmentId);
    if (!valid.get(at.segmentId)?.has(at.offset)) return `commit record at segment ${at.segmentId} offset ${at.offset} is damaged`;
    let manifest: ObjectManifest;
    try {
      manifest = await this.readManifest(entry);
    } catch (err) {
      return (err as Error).message;
    }
    // A cold object's chunks are in cold segments (checked when written, and on every read), not here.
    if (manifest.storageClass === StorageClass.COLD) return undefined;
    for (const ref of manifest.chunks) {
      const c = this.relocation.locate(ref.segmentId, ref.offset) ?? ref;
      if (!valid.has(c.segmentId) && !this.segments.has(c.segmentId)) missing.add(c.segmentId);
      if (!valid.get(c.segmentId)?.has(c.offset)) return `chunk at segment ${c.segmentId} offset ${c.offset} is damaged`;
      const dictProblem = await this.dictionaryProblem(ref, c);
      if (dictProblem) return `chunk at segment ${c.segmentId} offset ${c.offset}: ${dictProblem}`;
    }
    return undefined;
  }

  /**
   * For verify: a small compressed chunk (the only kind that may use a dictionary, FORMAT.md §2.7) whose
   * frame names a dictionary that is missing, damaged or has another check. Reads the frame's first 40 bytes.
   */
  private async dictionaryProblem(ref: ChunkRef, at: { segmentId: number; offset: number }): Promise<string | undefined> {
    const head = FRAME_HEADER_BYTES + CHUNK_META_BYTES + DICT_REF_BYTES;
    if (ref.rawLen >= this.pool.poolMinBytes || ref.frameLen >= ref.rawLen + FRAME_HEADER_BYTES + CHUNK_META_BYTES + FRAME_HASH_BYTES) return undefined;
    if (ref.frameLen < head) return undefined;
    const b = await this.store.readRaw(at.segmentId, at.offset, head);
    if ((b[9]! & CODEC_MASK) !== CODEC_ZSTD_DATA_DICT) return undefined;
    const id = b.readUInt32LE(FRAME_HEADER_BYTES + CHUNK_META_BYTES);
    const d = this.dicts.lookup(id);
    if (typeof d === 'string') return d;
    const check = b.readUInt32LE(FRAME_HEADER_BYTES + CHUNK_META_BYTES + 4);
    return d.check === check ? undefined : `coded with dictionary ${id} check ${check.toString(16)}, but that dictionary's check is ${d.check.toString(16)}`;
  }

  /** ColdAccess.dropVersion: removes version `seq` of bucket/key whatever its lock, if it is unchanged. */
  private async dropVersion(bucketName: string, key: string, seq: number): Promise<boolean> {
    this.checkWritable();
    const b = this.buckets.get(bucketName);
    const name = `${bucketName}/${key}`;
    /** The version's slot if it is still `seq` and nothing of the key is in flight, else -1. */
    const find = (): number => {
      if (!b || b.seq === 0 || b.deleting || this.buckets.get(bucketName) !== b || this.committing.has(name) || this.pendingDeletes.has(name)) return -1;
      let slot = b.keys.get(key);
      if ((slot < 0 || this.table.getSeq(slot) !== seq) && b.versions.versioned) slot = b.versions.history.get(key).find((s) => this.table.getSeq(s) === seq) ?? -1;
      return slot >= 0 && this.table.getSeq(slot) === seq ? slot : -1;
    };
    let slot = find();
    if (slot < 0) return false;
    const bucket = b as Bucket;
    const older = bucket.versions.versioned && bucket.keys.get(key) === slot ? bucket.versions.history.get(key)[0] : undefined;
    if (older !== undefined && !isMarker(this.table, older)) {
      // Marker first: a crash between the two leaves the lost version noncurrent, and the next run drops it.
      const marker = this.newMarker(bucket, key);
      const lostVersionId = this.table.versionIdOf(slot);
      await this.commit(marker);
      // A null marker (versioning suspended) replaces the null version: then it was the drop.
      if (marker.versionId === lostVersionId) return true;
      slot = find();
      if (slot < 0) return false;
    }
    // Nothing awaits between find() and the append: a write of the key comes before (and find fails) or after.
    const versionId = bucket.versions.versioned ? this.table.versionIdOf(slot) : '';
    const delSeq = this.nextSeq();
    const payload = encodeDelete({ seq: delSeq, bucket: bucketName, key, versionId, mtimeMs: this.clock.now(), flags: 0 });
    await this.whileDeleting(name, this.writer.append(encodeFrame(RecordType.DELETE, 0, EMPTY, payload), { type: RecordType.DELETE, payload }, true, () =>
      this.applyDelete(bucketName, key, delSeq, versionId),
    ).done);
    this.afterMutation();
    return true;
  }

  /** The narrow view cold-tier migration works through (src/maintenance/migration.ts). */
  coldAccess(): ColdAccess {
    const engine = this;
    const access: ColdAccess = {
      fs: this.fs,
      dir: this.dir,
      warn: (m) => this.warn(m),
      isClosed: () => this.closed,
      now: () => this.clock.now(),
      policies: () =>
        [...this.buckets.values()]
          .filter((b) => b.seq > 0 && !b.deleting && (b.lifecycle || b.tiering))
          // Rules that fail today's checks move nothing (runLifecycle reports them).
          .map((b) => ({ name: b.name, lifecycle: b.lifecycle?.invalid === undefined ? b.lifecycle?.config : undefined, tieringDays: b.tiering?.days })),
      objects: (bucket) => [...access.scanObjects(bucket)],
      scanObjects: function* (this: void, bucket: string): Generator<ColdCandidate> {
        const b = engine.buckets.get(bucket);
        if (!b) return;
        const gone = (): boolean => engine.closed || engine.buckets.get(bucket) !== b;
        for (const [key, slot] of b.keys.scan()) {
          if (gone()) return;
          // A delete marker has no bytes to move.
          if (isMarker(engine.table, slot)) continue;
          const e = engine.table.read(slot);
          yield { bucket, key, seq: e.seq, size: e.size, mtimeMs: e.mtimeMs, storageClass: e.storageClass, lastAccessMs: engine.access.lastAccessMs(bucket, key) };
        }
        if (!b.versions.versioned) return;
        // Noncurrent versions (NoncurrentVersionTransition): each became noncurrent when the next newer
        // version was created.
        for (const [key] of b.versions.history.scan()) {
          if (gone()) return;
          // Read now: the chain may change while the consumer awaits.
          const chain = versionsOf(b, key);
          const found: ColdCandidate[] = [];
          for (let i = 1; i < chain.length; i++) {
            const slot = chain[i]!;
            if (isMarker(engine.table, slot)) continue;
            const e = engine.table.read(slot);
            found.push({ bucket, key, seq: e.seq, size: e.size, mtimeMs: e.mtimeMs, storageClass: e.storageClass, noncurrentSinceMs: engine.table.mtimeOf(chain[i - 1]!) });
          }
          yield* found;
        }
      },
      coldObjects: () => {
        const out: ColdCandidate[] = [];
        for (const b of this.buckets.values()) {
          if (b.seq === 0) continue;
          const add = (key: string, slot: number): void => {
            if (this.table.storageClassOf(slot) !== StorageClass.COLD) return;
            const e = this.table.read(slot);
            out.push({ bucket: b.name, key, seq: e.seq, size: e.size, mtimeMs: e.mtimeMs, storageClass: e.storageClass });
          };
          for (const [key, slot] of b.keys.scan()) add(key, slot);
          // A version that became noncurrent after it moved keeps its cold chunks live (cold GC must
          // count them, or rewriting a cold segment would drop them).
          if (b.versions.versioned) for (const [key, slots] of b.versions.history.scan()) for (const slot of slots) add(key, slot);
        }
        return out;
      },
      scanColdObjects: function* (this: void): Generator<ColdCandidate> {
        const cold = (b: Bucket, key: string, slot: number): ColdCandidate | undefined => {
          if (engine.table.storageClassOf(slot) !== StorageClass.COLD) return undefined;
          const e = engine.table.read(slot);
          return { bucket: b.name, key, seq: e.seq, size: e.size, mtimeMs: e.mtimeMs, storageClass: e.storageClass };
        };
        for (const name of [...engine.buckets.keys()].sort()) {
          const b = engine.buckets.get(name);
          if (!b || b.seq === 0) continue;
          for (const [key, slot] of b.keys.scan()) {
            if (engine.closed || engine.buckets.get(name) !== b) break;
            const c = cold(b, key, slot);
            if (c) yield c;
          }
          if (!b.versions.versioned) continue;
          for (const [key, slots] of b.versions.history.scan()) {
            if (engine.closed || engine.buckets.get(name) !== b) break;
            // Read now: the chain may change while the consumer awaits.
            const found = slots.map((slot) => cold(b, key, slot)).filter((c): c is ColdCandidate => c !== undefined);
            yield* found;
          }
        }
      },
      readManifest: async (bucket, key, seq) => {
        const b = this.buckets.get(bucket);
        let slot = b?.keys.get(key) ?? -1;
        // A noncurrent version (cold GC accounts for it) is found in the key's history.
        if ((slot < 0 || this.table.getSeq(slot) !== seq) && b?.versions.versioned) slot = b.versions.history.get(key).find((s) => this.table.getSeq(s) === seq) ?? -1;
        if (slot < 0 || this.table.getSeq(slot) !== seq) return undefined;
        return this.readManifest(this.table.read(slot));
      },
      readHotChunkFrame: async (ref) => {
        const at = this.store.where(ref.segmentId, ref.offset);
        const bytes = await this.store.readRaw(at.segmentId, at.offset, ref.frameLen);
        if (bytes.length < FRAME_HEADER_BYTES || (bytes[9]! & CODEC_MASK) !== CODEC_ZSTD_DATA_DICT) return { bytes, ...at };
        const frame = verifyFrame(bytes, at.segmentId, at.offset, RecordType.CHUNK);
        const { raw } = openChunkFrame(frame, at.segmentId, at.offset, this.dicts.lookup);
        return { bytes: encodeFrame(RecordType.CHUNK, CODEC_RAW, frame.meta, raw), ...at };
      },
      readColdChunk: (ref, uploadId) => this.cold.readChunk({ ref, from: 0, to: ref.rawLen, uploadId }),
      recommit: async (bucket, key, expectSeq, manifest) => {
        this.checkWritable();
        const b = this.buckets.get(bucket);
        let slot = b && !b.deleting ? b.keys.get(key) : -1;
        // A noncurrent version is found in the key's history.
        if (b && !b.deleting && b.versions.versioned && (slot < 0 || this.table.getSeq(slot) !== expectSeq)) {
          slot = b.versions.history.get(key).find((s) => this.table.getSeq(s) === expectSeq) ?? -1;
        }
        // Nothing awaits from this check to the append inside commit(): a write of the key either came
        // first (and the check fails) or comes after (and wins on replay with its higher seq).
        if (slot < 0 || this.table.getSeq(slot) !== expectSeq || this.committing.has(`${bucket}/${key}`) || this.pendingDeletes.has(`${bucket}/${key}`)) return false;
        // In a bucket with versions the record rewrites that version where it stands (same version id,
        // lock fields kept); a plain COMMIT there would be a new version.
        const flags = (b as Bucket).versions.versioned ? manifest.flags | CommitFlag.IN_PLACE : manifest.flags;
        await engine.commit({ ...manifest, flags, seq: this.nextSeq() });
        return true;
      },
      dropVersion: (bucket, key, seq) => this.dropVersion(bucket, key, seq),
      raiseFormatVersion: (version) => raiseFormatVersion(this.fs, this.dir, version),
      coldBusy: (id) => this.cold.busy(id),
      forgetCold: (id) => this.cold.forget(id),
    };
    return access;
  }

  /** The narrow view compaction and scrub work through (src/maintenance/). */
  maintenance(): MaintenanceAccess {
    return {
      fs: this.fs,
      dir: this.dir,
      segmentsDir: this.segmentsDir,
      segmentBytesMax: this.segmentBytesMax,
      segmentRecordsMax: this.segmentRecordsMax,
      warn: (m) => this.warn(m),
      isClosed: () => this.closed,
      seq: () => this.seq,
      segments: () =>
        [...this.segments.values()].map((s) => ({
          id: s.id,
          kind: this.store.packIds.has(s.id) ? 'pack' : 'log',
          sealed: s.id !== this.writer.activeSegmentId && (s.sealed || this.store.packIds.has(s.id)),
          sizeBytes: s.id === this.writer.activeSegmentId ? this.writer.activeSize : s.sizeBytes,
        })),
      activeSegmentId: () => this.writer.activeSegmentId,
      dictionaries: { retired: () => this.dicts.retired(), remove: (ids) => this.dicts.remove(ids) },
      checkpointSegmentId: () => this.checkpointSegmentId,
      pathOf: (id) => this.store.pathOf(id),
      sealActive: () => this.sealActiveSegment(),
      checkpoint: () => this.checkpoint(),
      reserveSegmentId: () => this.writer.reserveSegmentId(),
      raiseFormatVersion: (version) => raiseFormatVersion(this.fs, this.dir, version),
      objectSeq: (bucket, key) => {
        const b = this.buckets.get(bucket);
        const slot = b ? b.keys.get(key) : -1;
        return slot >= 0 ? this.table.getSeq(slot) : undefined;
      },
      bucketSeq: (name) => {
        const b = this.buckets.get(name);
        return b && b.seq > 0 ? b.seq : undefined;
      },
      uploadCreateSeq: (id) => this.uploads.get(id)?.create.seq,
      uploadPartSeq: (id, n) => this.uploads.get(id)?.parts.get(n)?.rec.seq,
      bucketVersioned: (name) => this.buckets.get(name)?.versions.versioned ?? false,
      liveSnapshot: () => {
        const segmentId: number[] = [];
        const offset: number[] = [];
        const add = (refs: ChunkRef[]): void => {
          // A chunk not appended yet has segment 0 (ids start at 1): it will land in the active segment.
          for (const c of refs) if (c.segmentId > 0) segmentId.push(c.segmentId), offset.push(c.offset);
        };
        for (const u of this.uploads.values()) for (const p of u.parts.values()) add(p.rec.chunks);
        for (const refs of this.unsettled) add(refs);
        return {
          commits: this.table.commitLocations(),
          chunks: { segmentId: Float64Array.from(segmentId), offset: Float64Array.from(offset), count: segmentId.length },
        };
      },
      readCommitPayload: async (segmentId, offset, frameLen) => (await this.store.readFrame(segmentId, offset, frameLen, RecordType.COMMIT)).payload,
      locate: (segmentId, offset) => this.relocation.locate(segmentId, offset) ?? { segmentId, offset },
      installPack: (packId, inputs, records, sizeBytes) => {
        this.store.packIds.add(packId);
        this.relocation.install(packId, inputs, records);
        for (const id of inputs) this.segments.delete(id);
        this.segments.set(packId, { id: packId, sealed: true, sizeBytes });
      },
      dropSegments: (ids) => {
        this.relocation.install(0, ids, []);
        for (const id of ids) this.segments.delete(id);
      },
      recordReplacement: (packId, removed) => this.liveSegments.replace(packId, removed),
      whenUnread: (id) => this.store.whenUnread(id),
      isPinned: (id) => this.store.isPinned(id),
      forget: (id) => this.store.forget(id),
    };
  }

  /**
   * Starts the worker threads now; otherwise they start at first use, and the first requests of a busy
   * server wait for them (docs/PERFORMANCE.md, "Cold start"). Resolves once they answer.
   */
  async startWorkers(): Promise<void> {
    this.checkOpen();
    await this.pool.start();
  }

  /** Drains writes, writes a checkpoint, releases the directory lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.checkpointing;
    let failure: unknown;
    try {
      await this.writer.drain();
      // A read-only session (CLI ls/get/stat) leaves the existing checkpoint as it is.
      if (this.opsSinceCheckpoint > 0 || !this.hasCheckpoint) await this.checkpoint();
      // Reads since the last checkpoint (a read-mostly server, a CLI get) are kept for access-based tiering.
      if (this.access.dirty) await this.access.save(this.fs, this.dir, this.clock.now());
    } catch (err) {
      failure = err;
    }
    this.closed = true;
    await this.checkpointQueue; // a checkpoint scheduled during the drain must not write after the lock is gone
    await this.writer.close().catch((err) => {
      failure ??= err;
    });
    await this.dicts.close();
    await this.pool.close();
    await this.chunkWriter.close();
    this.reader.clear();
    await this.store.closeAll();
    await this.lock.release();
    if (failure && !(failure instanceof SedimentError && failure.code === 'SEDIMENT_WRITER_FAILED')) throw failure;
  }
}

assert(SEGMENT_HEADER_BYTES === 64, 'segment header size');

/** The lock a multipart upload asked for at creation, as options for the completed object. */
function uploadLock(c: UploadCreateRecord): ObjectLockOptions | undefined {
  if (!c.lock) return undefined;
  const mode = lockModeName(c.lock.lockMode);
  return { ...(mode ? { mode, retainUntilMs: c.lock.retainUntilMs } : {}), legalHold: c.lock.legalHold };
}

/**
 * The (key, row) pairs of a checkpoint source. One pair and one entry are reused for every row, so each
 * is valid only until the next is asked for: the checkpoint encoder reads a row as soon as it gets it.
 */
function* checkpointRows(keys: Iterable<[string, number]>, table: TableView): Generator<[string, ObjectEntry]> {
  const entry: ObjectEntry = {
    seq: 0, segmentId: 0, commitOffset: 0, commitLen: 0, size: 0, mtimeMs: 0, md5: Buffer.alloc(16),
    partCount: 0, storageClass: 0, flags: 0, versionId: '',
  };
  const pair: [string, ObjectEntry] = ['', entry];
  for (const [key, slot] of keys) {
    pair[0] = key;
    table.readInto(slot, entry);
    yield pair;
  }
}

/** Sets `info.partChecksum` to part `partNumber`'s checksum, if the object keeps one (resolveRange checked the number). */
function withPartChecksum(info: ObjectInfo, manifest: ObjectManifest, partNumber: number): void {
  const c = manifest.parts.find((p) => p.partNumber === partNumber)?.checksum;
  if (c !== undefined) info.partChecksum = objectChecksum(c);
}

/**
 * The bytes of part `partNumber` of a version: parts are stored in ascending part order, each `size` bytes
 * long. A version not uploaded in parts is one part, number 1 (as S3 answers it).
 */
export function partRange(manifest: ObjectManifest, partNumber: number): { start: number; end: number } {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > PART_NUMBER_MAX) {
    throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `part number must be an integer between 1 and ${PART_NUMBER_MAX}`);
  }
  if (manifest.parts.length === 0) {
    if (partNumber !== 1) throw new SedimentError('SEDIMENT_INVALID_PART_NUMBER', `part ${partNumber} of an object that was not uploaded in parts (it is part 1)`);
    return { start: 0, end: manifest.size - 1 };
  }
  let start = 0;
  for (const p of manifest.parts) {
    if (p.partNumber === partNumber) return { start, end: start + p.size - 1 };
    start += p.size;
  }
  throw new SedimentError('SEDIMENT_INVALID_PART_NUMBER', `the object has no part ${partNumber} (it has ${manifest.parts.length})`);
}
