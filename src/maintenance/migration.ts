// Cold-tier migration (docs/ARCHITECTURE.md "Cold tier", docs/DURABILITY.md "Cold-tier migration"). One pass:
// 1. account the cold tier: which cold segments the index references and how many of their bytes are live;
//    delete cold segments nothing references (orphans of a killed pass, or fully dead) unless a GET reads
//    them; pick cold segments whose dead share passed `deadShareMax` for rewriting;
// 2. plan: hot objects due (migration-plan.ts) plus the objects of those cold segments;
// 3. batches of chunk frames (at most `batchBytesMax` of input) go to a worker that verifies them,
//    recompresses them and lays out one cold segment (cold-build.ts);
// 4. write cold → read back and compare byte for byte → re-commit each finished object (a COMMIT of the
//    same version with storageClass COLD and the cold chunk list, fsync'd) only if the index still holds
//    the version that was read: an overwrite or delete during the pass wins, its cold copy is garbage;
// 5. the hot copies are now dead records: compaction (or whole-segment drop) reclaims them.
// A crash anywhere leaves either the hot version (the cold segment is an orphan, deleted by a later pass)
// or the durable re-commit. Nothing here runs at open: startup never deletes remote data. Passes run one at
// a time. An unreachable store fails the pass (SEDIMENT_COLD_UNAVAILABLE); the next pass retries.
import { coldSegmentName, decodeColdSegment, parseColdSegmentName } from '../format/cold-segment.js';
import { DATA_DIR_FORMAT_COLD, RecordType, StorageClass } from '../format/constants.js';
import { encodeFrame } from '../format/frame.js';
import { encodeChunkMeta, type ChunkRef, type ObjectManifest } from '../format/records.js';
import type { ColdAccess } from '../engine/cold-access.js';
import { COLD_LEVEL_DEFAULT } from '../engine/cold-codec.js';
import { DAY_MS } from '../engine/lifecycle.js';
import type { ColdBlob, ColdStore } from '../tier/cold-store.js';
import { COLD_OWNER_BLOB, claimColdStore } from './cold-owner.js';
import { SedimentError, assert } from '../util/errors.js';
import type { MaintenancePool } from './maintenance-pool.js';
import { dueForCold } from './migration-plan.js';

export interface MigrationSettings {
  /** zstd level of cold chunks. Default COLD_LEVEL_DEFAULT (12). */
  level?: number;
  /** Input (hot frame) bytes per cold segment. Default 32 MiB. */
  batchBytesMax?: number;
  /** A cold segment whose dead share is above this is rewritten. Default 0.5. */
  deadShareMax?: number;
  /**
   * A cold segment is written only if the cold store (when it can tell: a local directory) has room for
   * it plus this much; otherwise the pass stops there and says so. Default 64 MiB.
   */
  freeBytesReserve?: number;
}

export interface MigrationPassOptions {
  asOfMs?: number;
  dayMs?: number;
  /** Plan and report only. */
  dryRun?: boolean;
  onProgress?: (doneObjects: number, totalObjects: number) => void;
}

export interface MigrationReport {
  asOfMs: number;
  dryRun: boolean;
  objectsDue: number;
  objectsMoved: number;
  /** Object bytes moved to (or rewritten in) the cold tier. */
  logicalBytes: number;
  /** Bytes of the hot CHUNK frames read (what the hot tier will free once compacted). */
  hotBytes: number;
  /** Bytes of cold segments written. */
  coldBytes: number;
  coldSegmentsWritten: number;
  coldSegmentsRewritten: number;
  coldSegmentsDeleted: number;
  /** Why the pass stopped early for lack of room in the cold store (nothing else is affected). */
  skipped?: string;
  /** Changed (overwritten, deleted, re-tagged) during the pass: left hot, the change wins. */
  skippedChanged: number;
  damaged: Array<{ bucket: string; key: string; reason: string }>;
  elapsedMs: number;
}

interface Job {
  bucket: string;
  key: string;
  seq: number;
  manifest: ObjectManifest;
  /** The object's chunks in the cold tier, filled as batches are written. */
  refs: Array<ChunkRef | undefined>;
  left: number;
  failed: boolean;
}

/** The cold tier as the index sees it at the start of a pass. */
interface ColdAccounting {
  /** Referenced cold segment id → bytes of the chunk frames referenced in it. */
  live: Map<number, number>;
  /** Every cold object with the cold segments it uses. */
  objects: Array<{ bucket: string; key: string; seq: number; segments: number[] }>;
  /** Some cold object's references could not be read (or changed): delete nothing this pass. */
  unknown: boolean;
}

interface BatchItem {
  job: Job;
  index: number;
  frame: Buffer;
  from: { segmentId: number; offset: number };
}

export class Migrator {
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly level: number;
  private readonly batchBytesMax: number;
  private readonly deadShareMax: number;
  private readonly freeBytesReserve: number;

  constructor(
    private readonly access: ColdAccess,
    readonly store: ColdStore,
    private readonly pool: MaintenancePool,
    s: MigrationSettings = {},
  ) {
    this.level = s.level ?? COLD_LEVEL_DEFAULT;
    this.batchBytesMax = s.batchBytesMax ?? 32 << 20;
    this.deadShareMax = s.deadShareMax ?? 0.5;
    this.freeBytesReserve = s.freeBytesReserve ?? 64 << 20;
    if (!Number.isInteger(this.level) || this.level < 1 || this.level > 22) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'cold zstd level must be 1..22');
  }

  /** Runs one pass after any pass in progress. */
  runPass(opts: MigrationPassOptions = {}): Promise<MigrationReport> {
    const run = this.running.then(() => this.pass(opts));
    this.running = run.catch(() => undefined);
    return run;
  }

  /** No new batch starts after this; resolves once the running pass is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async pass(opts: MigrationPassOptions): Promise<MigrationReport> {
    const started = performance.now();
    const a = this.access;
    const asOfMs = opts.asOfMs ?? a.now();
    const report: MigrationReport = {
      asOfMs, dryRun: opts.dryRun === true, objectsDue: 0, objectsMoved: 0, logicalBytes: 0, hotBytes: 0, coldBytes: 0,
      coldSegmentsWritten: 0, coldSegmentsRewritten: 0, coldSegmentsDeleted: 0, skippedChanged: 0, damaged: [], elapsedMs: 0,
    };
    // Refused before anything is listed, written or deleted if another data directory owns the store
    // (cold-owner.ts); claimed before the first write or delete if nobody does yet.
    await claimColdStore(a.fs, a.dir, this.store, 'check');
    const listed = await this.store.list();
    const cold = await this.coldAccounting();
    this.refuseStrangerStore(listed, cold);
    let nextId = 1;
    for (const b of listed) nextId = Math.max(nextId, (parseColdSegmentName(b.name) ?? 0) + 1);
    for (const id of cold.live.keys()) nextId = Math.max(nextId, id + 1);
    if (!report.dryRun && listed.some((b) => parseColdSegmentName(b.name) !== undefined)) await claimColdStore(a.fs, a.dir, this.store, 'claim');
    const rewrite = await this.collectGarbage(listed, cold, report);
    const due = await dueForCold(a, asOfMs, opts.dayMs ?? DAY_MS);
    const rewriting = cold.objects.filter((o) => o.segments.some((id) => rewrite.has(id)));
    report.objectsDue = due.length;
    report.coldSegmentsRewritten = rewrite.size;
    if (report.dryRun) return this.finish(report, started);
    if (due.length + rewriting.length > 0) {
      await a.raiseFormatVersion(DATA_DIR_FORMAT_COLD);
      await claimColdStore(a.fs, a.dir, this.store, 'claim');
    }

    try {
      await this.pipeline([...due.map((d) => [d, false] as const), ...rewriting.map((r) => [r, true] as const)], () => nextId++, opts, report);
    } catch (err) {
      if (!(err instanceof NoRoom)) throw err;
      report.skipped = err.message;
      a.warn(err.message);
    }
    return this.finish(report, started);
  }

  /**
   * Reads the objects' chunks into batches; up to one batch per worker thread is built and written while
   * the next one is read (the main thread's reads overlap the workers' recompression). A failed batch
   * fails the pass once the others have settled; it re-commits nothing of its own.
   */
  private async pipeline(
    objects: ReadonlyArray<readonly [{ bucket: string; key: string; seq: number }, boolean]>,
    newId: () => number,
    opts: MigrationPassOptions,
    report: MigrationReport,
  ): Promise<void> {
    const total = objects.length;
    let done = 0;
    let batch: BatchItem[] = [];
    let batchBytes = 0;
    const buildsInFlight = Math.max(1, this.pool.threads);
    const inflight = new Set<Promise<void>>();
    let failure: unknown;
    const settle = async (limit: number): Promise<void> => {
      while (inflight.size > limit) await Promise.race(inflight);
      if (failure !== undefined) throw failure;
    };
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const items = batch;
      batch = [];
      batchBytes = 0;
      await settle(buildsInFlight - 1);
      const p: Promise<void> = this.writeBatch(newId(), items, report)
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    };
    try {
      await this.moveAll(objects, {
        onObject: () => opts.onProgress?.(done++, total),
        add: async (item, isCold) => {
          batch.push(item);
          batchBytes += item.frame.length;
          report.hotBytes += isCold ? 0 : item.frame.length;
          if (batchBytes >= this.batchBytesMax) await flush();
          return failure === undefined;
        },
      }, report);
      await flush();
    } finally {
      await Promise.allSettled(inflight);
    }
    await settle(0);
    opts.onProgress?.(total, total);
  }

  /** Reads each object's chunks (hot frames, or cold chunks to rewrite) and hands them to `sink.add`. */
  private async moveAll(
    objects: ReadonlyArray<readonly [{ bucket: string; key: string; seq: number }, boolean]>,
    sink: { onObject: () => void; add: (item: BatchItem, isCold: boolean) => Promise<boolean> },
    report: MigrationReport,
  ): Promise<void> {
    const a = this.access;
    for (const [o, isCold] of objects) {
      if (this.stopped || a.isClosed()) break;
      sink.onObject();
      let manifest: ObjectManifest | undefined;
      try {
        manifest = await a.readManifest(o.bucket, o.key, o.seq);
      } catch (err) {
        report.damaged.push({ bucket: o.bucket, key: o.key, reason: (err as Error).message });
        continue;
      }
      if (!manifest || (manifest.storageClass === StorageClass.COLD) !== isCold) {
        report.skippedChanged++;
        continue;
      }
      const job: Job = { bucket: o.bucket, key: o.key, seq: o.seq, manifest, refs: manifest.chunks.map(() => undefined), left: manifest.chunks.length, failed: false };
      if (job.left === 0) {
        // An empty object has no bytes to move: only its storage class changes.
        await this.recommit(job, report);
        continue;
      }
      for (let i = 0; i < manifest.chunks.length && !job.failed; i++) {
        const ref = manifest.chunks[i]!;
        let item: BatchItem;
        try {
          item = isCold ? await this.coldSource(job, i, ref) : await this.hotSource(job, i, ref);
        } catch (err) {
          if (err instanceof SedimentError && err.code === 'SEDIMENT_COLD_UNAVAILABLE') throw err;
          job.failed = true;
          // The chunks are read long after the manifest (a batch at a time): an object overwritten or
          // deleted meanwhile may have had its old chunks compacted away. That is a change, not damage.
          const now = await a.readManifest(o.bucket, o.key, o.seq).catch(() => manifest);
          if (now === undefined) report.skippedChanged++;
          else report.damaged.push({ bucket: o.bucket, key: o.key, reason: (err as Error).message });
          break;
        }
        if (!(await sink.add(item, isCold))) return;
      }
    }
  }

  /**
   * Deletes the listed cold segments no current object references (unless a GET reads one, or some
   * object's references are unknown this pass); returns those whose dead share is past the threshold.
   */
  private async collectGarbage(listed: ColdBlob[], cold: ColdAccounting, report: MigrationReport): Promise<Set<number>> {
    const rewrite = new Set<number>();
    // The highest id stays, garbage or not, until a higher one exists: ids are derived from the listing,
    // so this keeps them from ever being reused (a reader's cached dictionary, a cache in front of S3).
    const highest = Math.max(0, ...listed.map((b) => parseColdSegmentName(b.name) ?? 0));
    for (const b of listed) {
      const id = parseColdSegmentName(b.name);
      if (id === undefined) continue;
      const live = cold.live.get(id);
      if (live === undefined) {
        if (!report.dryRun && !cold.unknown && id !== highest && !this.access.coldBusy(id)) {
          await this.store.delete(b.name);
          this.access.forgetCold(id);
          report.coldSegmentsDeleted++;
        }
      } else if (b.size > 0 && 1 - live / b.size > this.deadShareMax) {
        rewrite.add(id);
      }
    }
    return rewrite;
  }

  /**
   * A store with no OWNER may be claimed only if it can be this directory's: when the index references
   * cold segments and the store holds none of them, the directory's cold data is elsewhere — the pass was
   * pointed at the wrong store (a forgotten --cold-s3 falls back to DATA/cold). Claiming it would move new
   * objects into a store the other commands do not read, with segment ids that may already name other
   * bytes in the real one; so nothing is written, claimed or deleted. (A store written before owners
   * existed holds the segments its directory references, and is claimed as before.)
   */
  private refuseStrangerStore(listed: ColdBlob[], cold: ColdAccounting): void {
    if (cold.live.size === 0 || listed.some((b) => b.name === COLD_OWNER_BLOB)) return;
    const ids = new Set(listed.map((b) => parseColdSegmentName(b.name)));
    if ([...cold.live.keys()].some((id) => ids.has(id))) return;
    const sample = [...cold.live.keys()].sort((x, y) => x - y).slice(0, 3).map((id) => coldSegmentName(id)).join(', ');
    throw new SedimentError(
      'SEDIMENT_COLD_FOREIGN',
      `cold store ${this.store.description} has no ${COLD_OWNER_BLOB} and none of the ${cold.live.size} cold segment(s) this data directory's objects are in (${sample}...): ` +
        'it is not this directory\'s cold store, so nothing was moved, claimed or deleted. Give every command the cold store the objects were moved to (--cold-dir / --cold-s3, OPERATIONS.md "Cold tier"); ' +
        'if that store was lost whole, "sediment verify --cold --forget-missing --cold-store-lost" drops the objects whose data was in it (OPERATIONS.md "A lost cold store")',
    );
  }

  private finish(report: MigrationReport, started: number): MigrationReport {
    report.elapsedMs = performance.now() - started;
    return report;
  }

  private async hotSource(job: Job, index: number, ref: ChunkRef): Promise<BatchItem> {
    const r = await this.access.readHotChunkFrame(ref);
    return { job, index, frame: r.bytes, from: { segmentId: r.segmentId, offset: r.offset } };
  }

  /** A chunk of a cold segment being rewritten: read (verified) and re-framed raw; the worker recompresses it. */
  private async coldSource(job: Job, index: number, ref: ChunkRef): Promise<BatchItem> {
    const raw = await this.access.readColdChunk(ref, job.manifest.uploadId);
    const meta = encodeChunkMeta({ uploadId: job.manifest.uploadId, partNumber: 0, chunkIndex: index, rawLen: raw.length });
    return { job, index, frame: encodeFrame(RecordType.CHUNK, 0, meta, raw), from: { segmentId: ref.segmentId, offset: ref.offset } };
  }

  /** Build (worker) → put → read back and compare → re-commit the objects this batch completes. */
  private async writeBatch(id: number, items: BatchItem[], report: MigrationReport): Promise<void> {
    let live = items.filter((it) => !it.job.failed);
    let built;
    for (;;) {
      if (live.length === 0) return;
      const packed = Buffer.concat(live.map((it) => it.frame));
      built = await this.pool.coldBuild({
        kind: 'cold-build', segmentId: id, createdMs: this.access.now(), level: this.level,
        packed: new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength), lengths: live.map((it) => it.frame.length), from: live.map((it) => it.from),
      });
      if (built instanceof Uint8Array) break;
      // A damaged hot frame: its object stays hot (and reported); the others go on without it.
      const bad = live[built.index]!.job;
      bad.failed = true;
      report.damaged.push({ bucket: bad.bucket, key: bad.key, reason: built.message });
      live = live.filter((it) => it.job !== bad);
    }
    const bytes = Buffer.from(built.buffer, built.byteOffset, built.byteLength);
    // Where each chunk landed: the segment's own footer (decoding it also checks every frame's hash).
    const chunks = decodeColdSegment(bytes, id).entries.filter((e) => e.type === RecordType.CHUNK);
    assert(chunks.length === live.length, `cold segment ${id} holds ${chunks.length} chunks, ${live.length} were given`);
    const name = coldSegmentName(id);
    const free = await this.store.freeBytes?.();
    if (free !== undefined && free < bytes.length + this.freeBytesReserve) {
      throw new NoRoom(
        `migration stopped: cold segment ${id} needs ${bytes.length} bytes plus a reserve of ${this.freeBytesReserve} in ${this.store.description}, ${free} available; its objects stay hot`,
      );
    }
    await this.store.put(name, bytes);
    const back = await this.store.readRange(name, 0, bytes.length);
    if (!back.equals(bytes)) {
      throw new SedimentError('SEDIMENT_IO', `cold segment ${name} read back differs from what was written (${this.store.description}); nothing was moved`);
    }
    report.coldSegmentsWritten++;
    report.coldBytes += bytes.length;
    live.forEach((it, k) => {
      it.job.refs[it.index] = { segmentId: id, offset: chunks[k]!.offset, frameLen: chunks[k]!.frameLen, rawLen: it.job.manifest.chunks[it.index]!.rawLen };
      it.job.left--;
    });
    const finished = [...new Set(live.map((it) => it.job))].filter((j) => j.left === 0 && !j.failed);
    await Promise.all(finished.map((j) => this.recommit(j, report)));
  }

  private async recommit(job: Job, report: MigrationReport): Promise<void> {
    const manifest: ObjectManifest = { ...job.manifest, storageClass: StorageClass.COLD, chunks: job.refs as ChunkRef[] };
    if (await this.access.recommit(job.bucket, job.key, job.seq, manifest)) {
      report.objectsMoved++;
      report.logicalBytes += job.manifest.size;
    } else {
      report.skippedChanged++;
    }
  }

  /** Live bytes per referenced cold segment, and the cold objects with the segments they use. */
  private async coldAccounting(): Promise<ColdAccounting> {
    const a = this.access;
    const live = new Map<number, number>();
    const objects: Array<{ bucket: string; key: string; seq: number; segments: number[] }> = [];
    let unknown = false;
    for (const o of a.coldObjects()) {
      let m: ObjectManifest | undefined;
      try {
        m = await a.readManifest(o.bucket, o.key, o.seq);
      } catch (err) {
        // Its cold segments cannot be named: no cold segment may be judged unreferenced this pass.
        a.warn(`migration: cannot read the manifest of ${o.bucket}/${o.key}: ${(err as Error).message}; no cold segment is deleted this pass`);
        unknown = true;
        continue;
      }
      if (!m) {
        // Changed since the listing (re-tagged: same cold chunks, new seq; or overwritten, deleted):
        // its cold segments may still be referenced, so none is judged unreferenced this pass.
        unknown = true;
        continue;
      }
      const segments = new Set<number>();
      for (const c of m.chunks) {
        live.set(c.segmentId, (live.get(c.segmentId) ?? 0) + c.frameLen);
        segments.add(c.segmentId);
      }
      objects.push({ bucket: o.bucket, key: o.key, seq: o.seq, segments: [...segments] });
    }
    return { live, objects, unknown };
  }
}

/** The cold store has no room for the next cold segment: the pass stops, nothing is lost or damaged. */
class NoRoom extends Error {}
