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
import { Readable } from 'node:stream';
import { RecordType, SEGMENT_HEADER_BYTES, StorageClass, ChecksumAlg } from '../format/constants.js';
import { encodeFrame } from '../format/frame.js';
import type { FooterEntry } from '../format/footer.js';
import { initHash } from '../format/hash.js';
import {
  decodeBucketCreate,
  decodeBucketDelete,
  decodeDelete,
  decodeManifest,
  encodeBucketCreate,
  encodeBucketDelete,
  encodeDelete,
  encodeManifest,
  type ChunkRef,
  type ObjectManifest,
} from '../format/records.js';
import { FormatError } from '../format/binary.js';
import { NewerFormatError } from '../format/segment-header.js';
import { RealFileSystem } from '../io/real-fs.js';
import { systemClock, type Clock, type DirLock, type FileSystem } from '../io/types.js';
import { CorruptionError, SedimentError, assert, ioError } from '../util/errors.js';
import { ChunkPool, defaultThreads } from './chunk-pool.js';
import { openChunkFrame } from './chunk-codec.js';
import { loadLatestCheckpoint, writeCheckpoint } from './checkpointer.js';
import { prepareDataDir } from './data-dir.js';
import { KeyIndex } from './key-index.js';
import { listKeys } from './list.js';
import { checkBucketName, checkKey, checkUserMetadata } from './names.js';
import { ObjectTable, type ObjectEntry } from './object-table.js';
import { createSegment, parseSegmentFileName, segmentFileName } from './segment-files.js';
import { listSegment, scanSegment, type Damage } from './segment-scan.js';
import { SegmentStore } from './segment-store.js';
import { SegmentWriter, type Durability } from './segment-writer.js';
import type {
  Body,
  BucketInfo,
  EngineOptions,
  EngineStats,
  GetOptions,
  GetResult,
  ListOptions,
  ListResult,
  ObjectChecksum,
  ObjectInfo,
  PutOptions,
  VerifyReport,
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
}

interface SegmentInfo {
  id: number;
  sealed: boolean;
  sizeBytes: number;
}

const EMPTY = Buffer.alloc(0);
const CHUNK_INFLIGHT_MAX = 4;
const HEADER_NAMES: Array<[keyof NonNullable<PutOptions['headers']>, string]> = [
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['cacheControl', 'cache-control'],
  ['contentLanguage', 'content-language'],
  ['expires', 'expires'],
];
const CHECKSUM_NAMES = Object.keys(ChecksumAlg) as Array<keyof typeof ChecksumAlg>;

function storageClassName(sc: number): 'STANDARD' | 'COLD' {
  return sc === StorageClass.COLD ? 'COLD' : 'STANDARD';
}

function toBuffer(piece: Uint8Array | string): Buffer {
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

export class Engine {
  private readonly buckets = new Map<string, Bucket>();
  private readonly table = new ObjectTable();
  private readonly segments = new Map<number, SegmentInfo>();
  private writer!: SegmentWriter;
  private readonly store: SegmentStore;
  private pool!: ChunkPool;
  private seq = 0;
  private uploadCounter: number;
  private logicalBytes = 0;
  private opsSinceCheckpoint = 0;
  private checkpointing: Promise<void> | undefined;
  private closed = false;
  private lock!: DirLock;
  private readonly openDamage: Damage[] = [];
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly dir: string;
  readonly durability: Durability;
  readonly chunkBytes: number;
  readonly segmentBytesMax: number;
  private readonly checkpointEveryOps: number;
  private readonly defaultRegion: string;
  private readonly warn: (m: string) => void;

  private constructor(private readonly opts: EngineOptions) {
    this.fs = opts.fs ?? new RealFileSystem();
    this.clock = opts.clock ?? systemClock;
    this.dir = opts.dir.replace(/\/+$/, '') || '/';
    this.durability = opts.durability ?? 'fsync';
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    this.segmentBytesMax = opts.segmentBytesMax ?? 128 << 20;
    this.checkpointEveryOps = opts.checkpointEveryOps ?? 200_000;
    this.defaultRegion = opts.defaultRegion ?? 'us-east-1';
    this.warn = opts.onWarning ?? ((m) => console.warn(`sediment: ${m}`));
    this.store = new SegmentStore(this.fs, this.segmentsDir);
    this.uploadCounter = this.clock.now() * 1000;
    if (this.chunkBytes < 64 << 10 || this.chunkBytes > 8 << 20) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'chunkBytes must be between 64 KiB and 8 MiB');
    }
    if (this.segmentBytesMax < 1 << 20 || this.segmentBytesMax > 0xffff_ffff) {
      throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'segmentBytesMax must be between 1 MiB and 4 GiB - 1');
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
      engine.pool = new ChunkPool(threads, opts.compressionLevel ?? 1);
    } catch (err) {
      await engine.store.closeAll();
      await engine.lock.release();
      throw err;
    }
    return engine;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const names = await this.fs.readdir(this.segmentsDir);
    const ids = names.map(parseSegmentFileName).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    let loading: { bucket: Bucket; keys: string[]; slots: Int32Array; n: number } | undefined;
    const ckpt = await loadLatestCheckpoint(this.fs, this.dir, {
      bucket: (b, count) => {
        const bucket: Bucket = { ...b, keys: new KeyIndex(), inflight: 0, deleting: false };
        this.buckets.set(b.name, bucket);
        this.table.reserve(this.table.count + count);
        loading = { bucket, keys: new Array(count), slots: new Int32Array(Math.max(16, count)), n: 0 };
        if (count === 0) bucket.keys.loadSorted([], loading.slots);
      },
      object: (key, e) => {
        const l = loading as NonNullable<typeof loading>;
        l.keys[l.n] = key;
        l.slots[l.n++] = this.table.alloc(e);
        this.logicalBytes += e.size;
        if (l.n === l.keys.length) l.bucket.keys.loadSorted(l.keys, l.slots);
      },
      warn: this.warn,
    });
    if (ckpt) this.seq = ckpt.seq;
    const from = ckpt ? { segmentId: ckpt.replaySegmentId, offset: ckpt.replayOffset } : { segmentId: 0, offset: 0 };

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
        listing = await listSegment(this.fs, path, id, !isLast);
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
        if (e.type !== RecordType.CHUNK) this.replay(id, e);
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

    let fh;
    if (active) {
      fh = await this.fs.open(`${this.segmentsDir}/${segmentFileName(active.segmentId)}`, 'readwrite');
    } else {
      const id = (ids.length > 0 ? ids[ids.length - 1] : 0) + 1;
      fh = await createSegment(this.fs, this.segmentsDir, id, this.clock.now());
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
        onSealed: (id, _entries, size) => {
          this.segments.set(id, { id, sealed: true, sizeBytes: size });
          this.scheduleCheckpoint();
        },
        onCreated: (id) => this.segments.set(id, { id, sealed: false, sizeBytes: SEGMENT_HEADER_BYTES }),
      },
      { ...active, fh },
    );
  }

  /** Applies one metadata record found in the log during open. */
  private replay(segmentId: number, e: FooterEntry): void {
    const payload = e.payload ?? EMPTY;
    try {
      switch (e.type) {
        case RecordType.COMMIT:
          this.applyCommit(decodeManifest(payload), segmentId, e.offset, e.frameLen);
          break;
        case RecordType.DELETE: {
          const d = decodeDelete(payload);
          this.applyDelete(d.bucket, d.key, d.seq);
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
        case RecordType.BUCKET_CONFIG:
          break;
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
    this.buckets.set(name, { name, createdMs, region, flags, seq, keys: existing?.keys ?? new KeyIndex(), inflight: existing?.inflight ?? 0, deleting: false });
  }

  private applyBucketDelete(name: string, seq: number): void {
    this.noteSeq(seq);
    const b = this.buckets.get(name);
    if (!b || b.seq >= seq) return;
    for (const [, slot] of b.keys.scan()) {
      this.logicalBytes -= this.table.sizeOf(slot);
      this.table.release(slot);
    }
    this.buckets.delete(name);
  }

  private applyCommit(m: ObjectManifest, segmentId: number, offset: number, frameLen: number): void {
    this.noteSeq(m.seq);
    const b = this.buckets.get(m.bucket);
    if (!b || b.seq > m.seq) return; // the bucket was deleted (and maybe re-created) after this commit
    const entry: ObjectEntry = {
      seq: m.seq, segmentId, commitOffset: offset, commitLen: frameLen, size: m.size, mtimeMs: m.mtimeMs,
      md5: m.md5, partCount: m.partCount, storageClass: m.storageClass, flags: m.flags, versionId: m.versionId,
    };
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

  private applyDelete(bucket: string, key: string, seq: number): void {
    this.noteSeq(seq);
    const b = this.buckets.get(bucket);
    if (!b) return;
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
    if (this.opsSinceCheckpoint >= this.checkpointEveryOps) this.scheduleCheckpoint();
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

  /** Writes a checkpoint of the index at the current durable position of the log. */
  async checkpoint(): Promise<void> {
    const position = { segmentId: this.writer.durableSegmentId, offset: this.writer.durableOffset };
    const seq = this.seq;
    this.opsSinceCheckpoint = 0;
    const sources = [...this.buckets.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((b) => {
        const keys = [...b.keys.scan()];
        return {
          bucket: { name: b.name, createdMs: b.createdMs, region: b.region, flags: b.flags, seq: b.seq },
          objectCount: keys.length,
          objects: (function* (table: ObjectTable) {
            for (const [k, slot] of keys) yield [k, table.read(slot)] as [string, ObjectEntry];
          })(this.table),
        };
      });
    await writeCheckpoint(this.fs, this.dir, { seq, replaySegmentId: position.segmentId, replayOffset: position.offset, createdMs: this.clock.now() }, sources);
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

  async createBucket(name: string, opts: { region?: string } = {}): Promise<BucketInfo> {
    this.checkWritable();
    checkBucketName(name);
    if (this.buckets.has(name)) throw new SedimentError('SEDIMENT_BUCKET_EXISTS', `bucket "${name}" already exists`);
    const region = opts.region ?? this.defaultRegion;
    const seq = this.nextSeq();
    const createdMs = this.clock.now();
    const payload = encodeBucketCreate({ seq, name, createdMs, region, flags: 0 });
    // Reserve the name now so a concurrent create fails instead of racing.
    this.buckets.set(name, { name, createdMs, region, flags: 0, seq: 0, keys: new KeyIndex(), inflight: 0, deleting: true });
    try {
      const r = this.writer.append(encodeFrame(RecordType.BUCKET_CREATE, 0, EMPTY, payload), { type: RecordType.BUCKET_CREATE, payload }, true, () =>
        this.applyBucketCreate(name, createdMs, region, 0, seq),
      );
      await r.done;
    } catch (err) {
      const b = this.buckets.get(name);
      if (b && b.seq === 0) this.buckets.delete(name);
      throw err;
    }
    this.afterMutation();
    return { name, createdMs, region };
  }

  async deleteBucket(name: string): Promise<void> {
    this.checkWritable();
    const b = this.bucketOrThrow(name);
    if (b.deleting) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${name}" is being created or deleted`);
    if (b.keys.size > 0 || b.inflight > 0) throw new SedimentError('SEDIMENT_BUCKET_NOT_EMPTY', `bucket "${name}" is not empty`);
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
    this.afterMutation();
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
    const userMetadata = Object.entries(opts.userMetadata ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
    checkUserMetadata(userMetadata);
    const headers: Array<[string, string]> = [];
    for (const [field, name] of HEADER_NAMES) {
      const v = opts.headers?.[field];
      if (v !== undefined) headers.push([name, v]);
    }
    const contentType = opts.contentType ?? 'binary/octet-stream';
    if (Buffer.byteLength(contentType) > 1024) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'content-type is too long');
    const checksums = (opts.checksums ?? []).map((c) => {
      const alg = ChecksumAlg[c.algorithm];
      if (alg === undefined) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `unknown checksum algorithm ${c.algorithm}`);
      return { alg, value: c.value };
    });
    const tags = Object.entries(opts.tags ?? {});
    if (tags.length > 10) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'at most 10 tags per object');

    bucket.inflight++;
    try {
      const uploadId = ++this.uploadCounter;
      const { chunks, size, md5 } = await this.writeChunks(body, uploadId, opts.signal);
      if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
        throw size < opts.expectedSize
          ? new SedimentError('SEDIMENT_INCOMPLETE_BODY', `body ended after ${size} of ${opts.expectedSize} bytes`)
          : new SedimentError('SEDIMENT_ENTITY_TOO_LARGE', `body is longer than the declared ${opts.expectedSize} bytes`);
      }
      if (opts.expectedMd5 && !opts.expectedMd5.equals(md5)) {
        throw new SedimentError('SEDIMENT_BAD_DIGEST', 'the MD5 of the body does not match the expected digest');
      }
      await opts.beforeCommit?.({ size, md5 });
      opts.signal?.throwIfAborted();
      this.checkWritable();
      if (this.buckets.get(bucketName) !== bucket || bucket.deleting) {
        throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" was deleted during the upload`);
      }
      const manifest: ObjectManifest = {
        seq: this.nextSeq(), bucket: bucketName, key, versionId: '', uploadId, mtimeMs: this.clock.now(), size, md5,
        partCount: 0, storageClass: StorageClass.STANDARD, flags: 0, contentType, headers, userMetadata, checksums,
        lockMode: 0, retainUntilMs: 0, legalHold: false, tags, chunks, parts: [],
      };
      await this.commit(manifest);
      return this.infoFromManifest(manifest);
    } finally {
      bucket.inflight--;
    }
  }

  private async commit(manifest: ObjectManifest): Promise<void> {
    const payload = encodeManifest(manifest);
    const frame = encodeFrame(RecordType.COMMIT, 0, EMPTY, payload);
    const r = this.writer.append(frame, { type: RecordType.COMMIT, payload }, true, () =>
      this.applyCommit(manifest, r.segmentId, r.offset, frame.length),
    );
    await r.done;
    this.afterMutation();
  }

  /** Splits the body into chunks, frames them (workers for large ones) and appends them, in bounded memory. */
  private async writeChunks(body: Body, uploadId: number, signal?: AbortSignal): Promise<{ chunks: ChunkRef[]; size: number; md5: Buffer }> {
    const md5 = createHash('md5');
    const chunks: ChunkRef[] = [];
    const inflight: Array<Promise<void>> = [];
    let size = 0;
    let failure: unknown;
    const emit = async (raw: Buffer): Promise<void> => {
      md5.update(raw);
      const index = chunks.length;
      const rawLen = raw.length;
      size += rawLen;
      chunks.push({ segmentId: 0, offset: 0, frameLen: 0, rawLen });
      const meta = { uploadId, partNumber: 0, chunkIndex: index, rawLen };
      const p = this.pool.frame(raw, meta).then((frame) => {
        this.checkWritable();
        const r = this.writer.append(frame, { type: RecordType.CHUNK, chunk: meta }, false);
        chunks[index] = { segmentId: r.segmentId, offset: r.offset, frameLen: frame.length, rawLen };
        return r.done;
      });
      p.catch((err) => {
        failure ??= err;
      });
      inflight.push(p);
      if (inflight.length >= CHUNK_INFLIGHT_MAX) await inflight.shift();
    };

    const direct = typeof body === 'string' || body instanceof Uint8Array;
    if (direct) {
      const buf = toBuffer(body as Uint8Array | string);
      for (let at = 0; at < buf.length; at += this.chunkBytes) {
        const piece = buf.subarray(at, Math.min(buf.length, at + this.chunkBytes));
        // Pieces of a caller's buffer are copied before a worker takes them (the pool checks ownership).
        await emit(piece);
        if (failure) break;
      }
    } else {
      let cur = Buffer.allocUnsafeSlow(this.chunkBytes);
      let fill = 0;
      for await (const piece of body as AsyncIterable<Uint8Array | string>) {
        signal?.throwIfAborted();
        if (failure) break;
        let src = toBuffer(piece);
        while (src.length > 0) {
          const n = Math.min(src.length, this.chunkBytes - fill);
          src.copy(cur, fill, 0, n);
          fill += n;
          src = src.subarray(n);
          if (fill === this.chunkBytes) {
            await emit(cur);
            cur = Buffer.allocUnsafeSlow(this.chunkBytes);
            fill = 0;
          }
        }
      }
      if (fill > 0 && !failure) await emit(cur.subarray(0, fill));
    }
    await Promise.allSettled(inflight);
    if (failure) throw failure;
    signal?.throwIfAborted();
    return { chunks, size, md5: md5.digest() };
  }

  // ---------------------------------------------------------------- read

  private slotOf(bucketName: string, key: string): { bucket: Bucket; slot: number } {
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    checkKey(key);
    const slot = bucket.keys.get(key);
    if (slot < 0) throw new SedimentError('SEDIMENT_NO_SUCH_KEY', `object "${bucketName}/${key}" does not exist`);
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
      checksums: m.checksums.map((c) => ({ algorithm: CHECKSUM_NAMES.find((n) => ChecksumAlg[n] === c.alg) ?? 'CRC32', value: c.value }) as ObjectChecksum),
      tags: Object.fromEntries(m.tags),
      storageClass: storageClassName(m.storageClass),
      versionId: m.versionId,
      partCount: m.partCount,
    };
  }

  async headObject(bucketName: string, key: string): Promise<ObjectInfo> {
    this.checkOpen();
    const { slot } = this.slotOf(bucketName, key);
    const manifest = await this.readManifest(this.table.read(slot));
    return this.infoFromManifest(manifest);
  }

  async getObject(bucketName: string, key: string, opts: GetOptions = {}): Promise<GetResult> {
    this.checkOpen();
    const { slot } = this.slotOf(bucketName, key);
    const manifest = await this.readManifest(this.table.read(slot));
    const info = this.infoFromManifest(manifest);
    let start = 0;
    let end = manifest.size - 1;
    if (opts.range) {
      const r = opts.range;
      if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start || r.start >= manifest.size) {
        throw new SedimentError('SEDIMENT_INVALID_RANGE', `range ${r.start}-${r.end} is not satisfiable for an object of ${manifest.size} bytes`);
      }
      start = r.start;
      end = Math.min(r.end, manifest.size - 1);
    }
    const pieces = this.planRange(manifest.chunks, start, end);
    // Read and verify the first chunk before answering, so a damaged object is an error, not a cut stream.
    const first = pieces.length > 0 ? await this.readChunk(pieces[0]) : undefined;
    const body = Readable.from(this.streamChunks(pieces, first), { objectMode: false, highWaterMark: 1 });
    return { info, range: opts.range ? { start, end } : undefined, body };
  }

  private planRange(chunks: ChunkRef[], start: number, end: number): Array<{ ref: ChunkRef; from: number; to: number }> {
    const out: Array<{ ref: ChunkRef; from: number; to: number }> = [];
    let pos = 0;
    for (const ref of chunks) {
      const cStart = pos;
      const cEnd = pos + ref.rawLen - 1;
      pos += ref.rawLen;
      if (cEnd < start || ref.rawLen === 0) continue;
      if (cStart > end) break;
      out.push({ ref, from: Math.max(start, cStart) - cStart, to: Math.min(end, cEnd) - cStart + 1 });
    }
    return out;
  }

  private async readChunk(p: { ref: ChunkRef; from: number; to: number }): Promise<Buffer> {
    const frame = await this.store.readFrame(p.ref.segmentId, p.ref.offset, p.ref.frameLen, RecordType.CHUNK);
    const { raw } = openChunkFrame(frame, p.ref.segmentId, p.ref.offset);
    if (raw.length !== p.ref.rawLen) throw new CorruptionError(p.ref.segmentId, p.ref.offset, 'chunk length differs from the manifest');
    return p.from === 0 && p.to === raw.length ? raw : raw.subarray(p.from, p.to);
  }

  private async *streamChunks(pieces: Array<{ ref: ChunkRef; from: number; to: number }>, first: Buffer | undefined): AsyncGenerator<Buffer> {
    if (first === undefined) return;
    let next: Promise<Buffer> | undefined = pieces.length > 1 ? this.readChunk(pieces[1]) : undefined;
    next?.catch(() => undefined);
    yield first;
    for (let i = 1; i < pieces.length; i++) {
      const cur = await (next as Promise<Buffer>);
      next = i + 1 < pieces.length ? this.readChunk(pieces[i + 1]) : undefined;
      next?.catch(() => undefined);
      yield cur;
    }
  }

  // ---------------------------------------------------------------- delete

  /** Deletes the object if it exists. Resolves after the delete is durable; `existed` tells which. */
  async deleteObject(bucketName: string, key: string): Promise<{ existed: boolean }> {
    this.checkWritable();
    const bucket = this.bucketOrThrow(bucketName);
    if (bucket.seq === 0) throw new SedimentError('SEDIMENT_NO_SUCH_BUCKET', `bucket "${bucketName}" does not exist`);
    checkKey(key);
    if (bucket.keys.get(key) < 0) return { existed: false };
    const seq = this.nextSeq();
    const payload = encodeDelete({ seq, bucket: bucketName, key, versionId: '', mtimeMs: this.clock.now(), flags: 0 });
    await this.writer.append(encodeFrame(RecordType.DELETE, 0, EMPTY, payload), { type: RecordType.DELETE, payload }, true, () =>
      this.applyDelete(bucketName, key, seq),
    ).done;
    this.afterMutation();
    return { existed: true };
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

  stats(): EngineStats {
    this.checkOpen();
    let stored = 0;
    for (const s of this.segments.values()) stored += s.id === this.writer.activeSegmentId ? this.writer.activeSize : s.sizeBytes;
    let objects = 0;
    for (const b of this.buckets.values()) objects += b.keys.size;
    return {
      buckets: this.listBuckets().length,
      objects,
      logicalBytes: this.logicalBytes,
      storedBytes: stored,
      segments: this.segments.size,
      activeSegmentId: this.writer.activeSegmentId,
      durability: this.durability,
      workerThreads: this.pool.usingWorkers ? this.pool.threads : 0,
      damage: [...this.openDamage],
    };
  }

  /**
   * Checks every frame of every segment and that every indexed object's records are intact.
   * `onProgress` gets bytes checked so far and the total.
   */
  async verify(onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<VerifyReport> {
    this.checkOpen();
    await this.writer.drain().catch(() => undefined);
    const ids = [...this.segments.keys()].sort((a, b) => a - b);
    let total = 0;
    for (const id of ids) total += this.segments.get(id)!.id === this.writer.activeSegmentId ? this.writer.activeSize : this.segments.get(id)!.sizeBytes;
    const report: VerifyReport = { segmentsChecked: 0, recordsChecked: 0, bytesChecked: 0, damage: [], damagedObjects: [] };
    const valid = new Map<number, Set<number>>();
    for (const id of ids) {
      let fh;
      try {
        fh = await this.fs.open(this.store.pathOf(id), 'read');
      } catch (err) {
        report.damage.push({ segmentId: id, offset: 0, length: 0, detail: `cannot open segment: ${(err as Error).message}` });
        continue;
      }
      try {
        const size = await fh.size();
        const listing = await scanSegment(fh, id, size);
        const isActive = id === this.writer.activeSegmentId;
        report.damage.push(...listing.damage);
        if (!isActive && !listing.sealed) {
          report.damage.push({ segmentId: id, offset: listing.validEnd, length: size - listing.validEnd, detail: 'sealed segment has no valid footer/tail' });
        } else if (isActive && listing.validEnd < size) {
          report.damage.push({ segmentId: id, offset: listing.validEnd, length: size - listing.validEnd, detail: 'unreadable bytes at the end of the active segment' });
        }
        valid.set(id, new Set(listing.entries.map((e) => e.offset)));
        report.segmentsChecked++;
        report.recordsChecked += listing.entries.length;
        report.bytesChecked += size;
        onProgress?.(report.bytesChecked, total);
      } finally {
        await fh.close();
      }
    }
    for (const b of this.buckets.values()) {
      for (const [key, slot] of b.keys.scan()) {
        const entry = this.table.read(slot);
        const reason = await this.objectProblem(entry, valid);
        if (reason) report.damagedObjects.push({ bucket: b.name, key, reason });
      }
    }
    return report;
  }

  private async objectProblem(entry: ObjectEntry, valid: Map<number, Set<number>>): Promise<string | undefined> {
    if (!valid.get(entry.segmentId)?.has(entry.commitOffset)) return `commit record at segment ${entry.segmentId} offset ${entry.commitOffset} is damaged`;
    let manifest: ObjectManifest;
    try {
      manifest = await this.readManifest(entry);
    } catch (err) {
      return (err as Error).message;
    }
    for (const c of manifest.chunks) {
      if (!valid.get(c.segmentId)?.has(c.offset)) return `chunk at segment ${c.segmentId} offset ${c.offset} is damaged`;
    }
    return undefined;
  }

  /** Drains writes, writes a checkpoint, releases the directory lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.checkpointing;
    let failure: unknown;
    try {
      await this.writer.drain();
      await this.checkpoint();
    } catch (err) {
      failure = err;
    }
    this.closed = true;
    await this.writer.close().catch((err) => {
      failure ??= err;
    });
    await this.pool.close();
    await this.store.closeAll();
    await this.lock.release();
    if (failure && !(failure instanceof SedimentError && failure.code === 'SEDIMENT_WRITER_FAILED')) throw failure;
  }
}

assert(SEGMENT_HEADER_BYTES === 64, 'segment header size');
