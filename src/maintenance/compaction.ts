// Compaction: reclaims the space of dead records (docs/OPERATIONS.md "Compaction", docs/DURABILITY.md
// "Compaction"). Planned here on the main thread; the byte copying runs in piscina workers.
//
// A pass: census (census.ts) → pick groups → for each group, copy its live records verbatim (xxh64
// checked, never recompressed) into tmp/NNN.pack, write the pack footer (inputs + origins), fsync,
// rename into segments/, fsync segments/ — from here the pack wins over its inputs, also after a
// crash — then swap it in (relocation: reads of moved records go to the pack), wait for the last
// in-flight read of each input, unlink the inputs, fsync segments/.
//
// Invariants:
// - Only sealed log segments below the newest checkpoint's replay position, and packs, are inputs: what
//   they hold is in the checkpoint, so the normal open never replays a pack (DURABILITY.md).
// - A record dead at the census stays dead (liveness only moves from a record to newer ones), so a
//   delete or overwrite during the pass simply leaves one more dead record in the pack.
// - A live record that fails its checksum is copied anyway and flagged in the pack footer: it stays
//   reported (reads of it fail, verify and scrub name it) instead of silently vanishing.
import { DATA_DIR_FORMAT_PACKS, RecordType, SEGMENT_HEADER_BYTES, TIER_HOT } from '../format/constants.js';
import { encodeFrame } from '../format/frame.js';
import { encodeTail } from '../format/footer.js';
import { encodePackEntries, packFooterParts, type PackEntry } from '../format/pack-footer.js';
import { encodeSegmentHeader } from '../format/segment-header.js';
import type { MaintenanceAccess } from '../engine/maintenance-access.js';
import { packFileName } from '../engine/pack-files.js';
import { SedimentError } from '../util/errors.js';
import { minSeqOutside, takeCensus, tombstoneDroppable, type Census, type SegmentAccount } from './census.js';
import { CensusCache } from './census-cache.js';
import { ROW_DAMAGED, rowChunk, rowPayload } from './census-table.js';
import type { CopyTask } from './copy-records.js';
import type { MaintenancePool } from './maintenance-pool.js';

export interface CompactionSettings {
  /** A sealed segment whose dead share (dead / file bytes) reaches this is compacted. Default 0.3. */
  deadShareMin?: number;
  /**
   * Sealed segments whose live bytes are below this share of segmentBytesMax, and whose live records are
   * below this share of segmentRecordsMax, are packed together. Default 0.5.
   */
  underFilledShare?: number;
  /** Copy throttle in bytes read per second; 0 = unthrottled. */
  bytesPerSecMax?: number;
  /** Groups copied at the same time. Default 1. */
  concurrency?: number;
  /** Free space kept in reserve beyond what a group will write. Default 64 MiB. */
  freeBytesReserve?: number;
  /** Bytes per copy task (one worker call). Default 1 MiB. */
  batchBytes?: number;
  /** fdatasync the pack after every copy task (smooths the flush for concurrent writes). Default true. */
  flushEachBatch?: boolean;
  /** A replaced file is truncated by this much at a time before its unlink (0: unlink at once). Default 8 MiB. */
  shrinkStepBytes?: number;
  /** Pause between two truncation steps (about one group commit of the log). Default 10 ms. */
  shrinkPauseMs?: number;
  /**
   * Census tables (a segment's decoded footer) kept between passes, in bytes; 0 keeps none. Default
   * 256 MiB (a 64 MiB segment of 4 KiB objects takes about 5 MiB).
   */
  censusCacheBytesMax?: number;
}

export interface DamagedRecord {
  segmentId: number;
  offset: number;
  frameLen: number;
  /** Where the damaged bytes were copied to (they stay reported there). */
  packId?: number;
  packOffset?: number;
  detail: string;
}

export interface PassStats {
  startedMs: number;
  durationMs: number;
  /** Input segments and packs replaced. */
  segmentsCompacted: number;
  packsWritten: number;
  bytesRead: number;
  bytesWritten: number;
  /** File bytes before minus after. */
  bytesReclaimed: number;
  recordsCopied: number;
  recordsDropped: number;
  damaged: DamagedRecord[];
  /** Why groups were not compacted (not enough free space, engine closing). */
  skipped: string[];
  /** Accounting after the pass. */
  storedBytes: number;
  liveBytes: number;
}

export interface PassOptions {
  /** Seal the active segment first so every record is considered (`sediment compact`). */
  sealFirst?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

const DEFAULTS = {
  deadShareMin: 0.3, underFilledShare: 0.5, bytesPerSecMax: 0, concurrency: 1, freeBytesReserve: 64 << 20, batchBytes: 1 << 20, flushEachBatch: true,
  shrinkStepBytes: 8 << 20, shrinkPauseMs: 10, censusCacheBytesMax: 256 << 20,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Compactor {
  private readonly s: Required<CompactionSettings>;
  private stopping = false;
  private running: Promise<PassStats> | undefined;
  private lastSignature: string | undefined;
  /** Segment tables from earlier passes (census-cache.ts): a pass decodes only the footers that are new. */
  readonly cache: CensusCache;
  lastPass: PassStats | undefined;
  /** Removals of replaced segments that waited for a GET stream to let go (removeWhenUnpinned). */
  private readonly deferredRemovals = new Set<Promise<void>>();

  constructor(
    private readonly access: MaintenanceAccess,
    private readonly pool: MaintenancePool,
    settings: CompactionSettings = {},
  ) {
    this.s = { ...DEFAULTS, ...settings };
    this.cache = new CensusCache(this.s.censusCacheBytesMax);
    if (!(this.s.deadShareMin > 0 && this.s.deadShareMin <= 1)) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'deadShareMin must be in (0, 1]');
    if (!(this.s.concurrency >= 1)) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'compaction concurrency must be at least 1');
  }

  /** Stops after the current copy task; the interrupted pass leaves only tmp/ garbage (removed at open). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running?.catch(() => undefined);
  }

  /**
   * Whether a pass could find anything new since the last one: false when no mutation was applied and
   * the set of segments is the same (the background scheduler then skips the census).
   */
  hasWork(): boolean {
    const sig = this.signature();
    return sig !== this.lastSignature;
  }

  private signature(seq = this.access.seq()): string {
    return `${seq}:${this.access.segments().filter((s) => s.sealed).map((s) => s.id).join(',')}`;
  }

  /** Runs one pass (one at a time: a second call waits for the first and runs after it). */
  runPass(opts: PassOptions = {}): Promise<PassStats> {
    const prev = this.running?.catch(() => undefined) ?? Promise.resolve();
    const run = prev.then(() => this.pass(opts));
    this.running = run;
    return run;
  }

  /** Groups the picker would compact now, with the census they come from. */
  pick(census: Census, coveredOnly: boolean): SegmentAccount[][] {
    const max = this.access.segmentBytesMax;
    const recordsMax = this.access.segmentRecordsMax;
    const eligible = census.segments.filter((a) => !a.active && !a.damaged && (a.covered || !coveredOnly));
    const groups: SegmentAccount[][] = [];
    const under: SegmentAccount[] = [];
    for (const a of eligible) {
      const deadShare = a.sizeBytes > 0 ? a.deadBytes / a.sizeBytes : 0;
      // Wholly dead (e.g. every record expired): dropped without writing anything, whatever the settings.
      if (a.liveBytes === 0 && a.deadBytes > 0) groups.push([a]);
      // A segment sealed at its record limit is full, however few bytes its (small) records take: packing it
      // with others would reclaim nothing, rewrite it all and make a file of more records than the limit.
      else if (a.liveBytes < max * this.s.underFilledShare && a.liveRecords < recordsMax * this.s.underFilledShare) under.push(a);
      else if (deadShare >= this.s.deadShareMin) groups.push([a]);
    }
    // Under-filled ones are packed together in id order, up to one segment's worth of live bytes and records.
    let cur: SegmentAccount[] = [];
    let curLive = 0;
    let curRecords = 0;
    const flush = (): void => {
      if (cur.length === 0) return;
      const single = cur.length === 1 ? cur[0] : undefined;
      if (!single || single.liveBytes === 0 || single.deadBytes / single.sizeBytes >= this.s.deadShareMin) groups.push(cur);
      cur = [];
      curLive = 0;
      curRecords = 0;
    };
    for (const a of under) {
      if (curLive + a.liveBytes > max || curRecords + a.liveRecords > recordsMax) flush();
      cur.push(a);
      curLive += a.liveBytes;
      curRecords += a.liveRecords;
    }
    flush();
    return groups.sort((x, y) => x[0].id - y[0].id);
  }

  private async pass(opts: PassOptions): Promise<PassStats> {
    const started = Date.now();
    const stats: PassStats = {
      startedMs: started, durationMs: 0, segmentsCompacted: 0, packsWritten: 0, bytesRead: 0, bytesWritten: 0, bytesReclaimed: 0,
      recordsCopied: 0, recordsDropped: 0, damaged: [], skipped: [], storedBytes: 0, liveBytes: 0,
    };
    if (opts.sealFirst) await this.access.sealActive();
    // Taken before the census: a mutation applied while it runs makes the next pass run.
    const startSeq = this.access.seq();
    // Inputs must be covered by a checkpoint (so open never needs to replay a pack). A checkpoint rewrites
    // the whole index, so one is taken only when the picker wants a sealed segment that none covers yet,
    // then the census is taken again under it; a pass with nothing to compact there writes none (before
    // session 22 every pass after a seal did, about once a minute on a server taking writes).
    let census = await takeCensus(this.access, { pool: this.pool, cache: this.cache });
    if (this.pick(census, false).some((g) => g.some((a) => !a.covered && a.kind === 'log'))) {
      await this.access.checkpoint();
      census = await takeCensus(this.access, { pool: this.pool, cache: this.cache });
    }
    const groups = this.pick(census, true);
    const total = groups.reduce((n, g) => n + g.reduce((m, a) => m + a.liveBytes, 0), 0);
    const progress = { done: 0, total, started: Date.now() };
    opts.onProgress?.(0, total);
    let next = 0;
    // Groups go oldest first, so delete markers in later groups can go once the records they cancel have.
    const replaced = new Set<number>();
    const worker = async (): Promise<void> => {
      while (next < groups.length && !this.stopping && !this.access.isClosed()) {
        const g = groups[next++];
        await this.compactGroup(g, census, replaced, stats, progress, opts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.s.concurrency, Math.max(1, groups.length)) }, worker));
    if (this.stopping || this.access.isClosed()) stats.skipped.push('stopped before the pass finished');
    // Live bytes do not change by compaction (writes during the pass aside): the census's figure stands.
    stats.storedBytes = this.access.segments().reduce((n, s) => n + s.sizeBytes, 0);
    stats.liveBytes = census.liveBytes;
    stats.durationMs = Date.now() - started;
    this.lastPass = stats;
    // The files as the pass left them (its packs are not new work), with the seq it started from:
    // mutations during the pass make the next one run.
    if (stats.skipped.length === 0) this.lastSignature = this.signature(startSeq);
    return stats;
  }

  private async throttle(progress: { done: number; started: number }): Promise<void> {
    if (this.s.bytesPerSecMax <= 0) return;
    const due = progress.started + (progress.done / this.s.bytesPerSecMax) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(Math.min(wait, 5_000));
  }

  private async compactGroup(
    group: SegmentAccount[],
    census: Census,
    replaced: Set<number>,
    stats: PassStats,
    progress: { done: number; total: number; started: number },
    opts: PassOptions,
  ): Promise<void> {
    const a = this.access;
    const inputs = group.map((g) => g.id);
    const inputSet = new Set(inputs);
    const othersMin = minSeqOutside(census.segments, inputSet);
    // Rows kept, per input (indexes into its census table); a group of 64 MiB segments of small
    // objects has 100,000+ rows, so the loop lets the event loop in now and then.
    const kept: number[][] = [];
    for (const g of group) {
      const rows: number[] = [];
      for (let i = 0; i < g.table.count; i++) {
        if (g.live[i] === 1 && !tombstoneDroppable(census, g, i, inputSet, othersMin, replaced)) rows.push(i);
        if ((i & 8191) === 8191) await new Promise((r) => setImmediate(r));
      }
      kept.push(rows);
    }
    const keptCount = kept.reduce((n, rows) => n + rows.length, 0);
    let liveBytes = 0;
    let footerEstimate = 0;
    for (let gi = 0; gi < group.length; gi++) {
      const t = group[gi].table;
      for (const i of kept[gi]) {
        liveBytes += t.frameLen[i];
        footerEstimate += 60 + (t.payloadStart[i + 1] - t.payloadStart[i]);
      }
    }
    const inputBytes = group.reduce((n, g) => n + g.sizeBytes, 0);
    const dropped = group.reduce((n, g) => n + g.table.count, 0) - keptCount;

    if (liveBytes === 0) {
      a.dropSegments(inputs);
      this.cache.drop(inputs);
      for (const id of inputs) replaced.add(id);
      await a.recordReplacement(undefined, inputs);
      await this.unlinkInputs(inputs);
      stats.segmentsCompacted += inputs.length;
      stats.recordsDropped += dropped;
      stats.bytesReclaimed += inputBytes;
      return;
    }
    const need = SEGMENT_HEADER_BYTES + liveBytes + footerEstimate + 64;
    const free = await a.fs.freeBytes(a.dir);
    if (free < need + this.s.freeBytesReserve) {
      const msg = `compaction skipped segments ${inputs.join(',')}: needs ${need} bytes free plus a reserve of ${this.s.freeBytesReserve}, ${free} available`;
      a.warn(msg);
      stats.skipped.push(msg);
      return;
    }

    const packId = a.reserveSegmentId();
    const tmpPath = `${a.dir}/tmp/${packFileName(packId)}`;
    const fh = await a.fs.open(tmpPath, 'create-new');
    let at = SEGMENT_HEADER_BYTES;
    // Where each copied record went, for the swap: numbers only while the copy runs (the pass holds no
    // object per record; the relocation entries are made at the swap, in one synchronous step).
    const moved = { originSegment: new Float64Array(keptCount), originOffset: new Float64Array(keptCount), offset: new Float64Array(keptCount), n: 0 };
    // The footer's entries, encoded batch by batch (all at once at the end held the loop ~40 ms).
    const footerParts: Buffer[] = [];
    try {
      await fh.writev([encodeSegmentHeader({ tier: TIER_HOT, segmentId: packId, createdMs: Date.now() })], 0);
      for (let gi = 0; gi < group.length; gi++) {
        const rows = kept[gi];
        const t = group[gi].table;
        const srcPath = a.pathOf(group[gi].id);
        for (let i = 0; i < rows.length; ) {
          if (this.stopping || a.isClosed()) throw new StopError();
          let j = i;
          let bytes = 0;
          while (j < rows.length && (j === i || bytes + t.frameLen[rows[j]] <= this.s.batchBytes)) bytes += t.frameLen[rows[j++]];
          const batch = rows.slice(i, j);
          const task: CopyTask = {
            kind: 'copy', srcPath, dstPath: tmpPath, dstOffset: at, sync: this.s.flushEachBatch,
            offsets: new Float64Array(batch.length), frameLens: new Uint32Array(batch.length), types: new Uint8Array(batch.length),
          };
          for (let k = 0; k < batch.length; k++) {
            task.offsets[k] = t.offset[batch[k]];
            task.frameLens[k] = t.frameLen[batch[k]];
            task.types[k] = t.type[batch[k]];
          }
          const result = await this.pool.copy(task);
          const bad = new Map(result.damaged.map((d) => [d.index, d.detail]));
          const entries: PackEntry[] = [];
          for (let k = 0; k < batch.length; k++) {
            const r = batch[k];
            const detail = bad.get(k);
            const damaged = detail !== undefined || (t.flags[r] & ROW_DAMAGED) !== 0;
            const chunk = t.type[r] === RecordType.CHUNK;
            entries.push({
              type: t.type[r], offset: at, frameLen: t.frameLen[r], originSegmentId: t.originSegment[r], originOffset: t.originOffset[r], damaged,
              chunk: chunk ? rowChunk(t, r) : undefined, payload: chunk ? undefined : rowPayload(t, r),
            });
            moved.originSegment[moved.n] = t.originSegment[r];
            moved.originOffset[moved.n] = t.originOffset[r];
            moved.offset[moved.n++] = at;
            if (detail !== undefined) {
              const d: DamagedRecord = { segmentId: group[gi].id, offset: t.offset[r], frameLen: t.frameLen[r], packId, packOffset: at, detail };
              stats.damaged.push(d);
              a.warn(`compaction: damaged live record in segment ${d.segmentId} at offset ${d.offset} (${detail}); copied as is to pack ${packId} offset ${at}, still reported`);
            }
            at += t.frameLen[r];
          }
          footerParts.push(encodePackEntries(entries));
          stats.bytesRead += result.bytesRead;
          stats.bytesWritten += result.bytesWritten;
          progress.done += bytes;
          opts.onProgress?.(progress.done, progress.total);
          await this.throttle(progress);
          i = j;
        }
      }
      const footer = encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), packFooterParts(inputs, moved.n, footerParts));
      const tail = encodeTail(at);
      await fh.writev([footer, tail], at);
      at += footer.length + tail.length;
      // The pack's bytes are durable before its name appears in segments/ (the rename is the commit).
      await fh.datasync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await a.fs.unlink(tmpPath).catch(() => undefined);
      if (err instanceof StopError) {
        stats.skipped.push(`stopped while writing pack ${packId}`);
        return;
      }
      throw err;
    }
    await fh.close();
    if (a.isClosed()) {
      await a.fs.unlink(tmpPath).catch(() => undefined);
      return;
    }
    // An older sediment must refuse a directory holding packs rather than misread it (FORMAT.md §1.1).
    await a.raiseFormatVersion(DATA_DIR_FORMAT_PACKS);
    await a.fs.rename(tmpPath, `${a.segmentsDir}/${packFileName(packId)}`);
    await a.fs.syncDir(a.segmentsDir);
    // Durable: from here on the pack wins over its inputs, at open too.
    const records = Array.from({ length: moved.n }, (_, k) => ({ originSegmentId: moved.originSegment[k], originOffset: moved.originOffset[k], offset: moved.offset[k] }));
    a.installPack(packId, inputs, records, at);
    this.cache.drop(inputs);
    for (const id of inputs) replaced.add(id);
    await a.recordReplacement(packId, inputs);
    await this.unlinkInputs(inputs);
    stats.segmentsCompacted += inputs.length;
    stats.packsWritten++;
    stats.recordsCopied += moved.n;
    stats.recordsDropped += dropped;
    stats.bytesReclaimed += inputBytes - at;
  }

  /**
   * Unlinks replaced files once their last reader is done; one directory fsync for all. A file a GET
   * stream still pins (it reads a version overwritten or deleted since it began, or a live one it
   * located there) is removed later, once the stream ends, so a slow download never holds the pass
   * back. Deferring is safe: the manifest no longer lists the file (recordReplacement), and an open
   * removes such a leftover.
   */
  private async unlinkInputs(ids: number[]): Promise<void> {
    const a = this.access;
    for (const id of ids) {
      // After close the directory may belong to another process: leftovers are removed at its open.
      if (a.isClosed()) return;
      if (a.isPinned(id)) {
        this.removeWhenUnpinned(id);
        continue;
      }
      await this.removeInput(id);
    }
    await a.fs.syncDir(a.segmentsDir);
  }

  private async removeInput(id: number): Promise<void> {
    const a = this.access;
    const path = a.pathOf(id);
    await a.whenUnread(id);
    await a.forget(id);
    await this.shrink(path);
    await a.fs.unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  private removeWhenUnpinned(id: number): void {
    const a = this.access;
    const done = (async () => {
      await a.whenUnread(id);
      if (a.isClosed()) return;
      await this.removeInput(id);
      await a.fs.syncDir(a.segmentsDir);
    })().catch((err: unknown) => {
      if (!a.isClosed()) a.warn(`compaction: removing replaced segment ${id} after its last reader failed: ${(err as Error).message}; the next open removes it`);
    });
    this.deferredRemovals.add(done);
    void done.finally(() => this.deferredRemovals.delete(done));
  }

  /** Resolves once the removals deferred for pinned segments are done (tests; close does not wait). */
  async removalsSettled(): Promise<void> {
    while (this.deferredRemovals.size > 0) await Promise.all([...this.deferredRemovals]);
  }

  /**
   * Frees a replaced file's space in steps before its unlink. Freeing 64 MiB of extents at once goes into
   * the next journal commit, which is the one the log's next fdatasync waits for: the few PUTs after each
   * unlink took ~20 ms instead of ~2 (docs/PERFORMANCE.md, "Compaction"). Nobody reads the file any more
   * (whenUnread, forget) and a valid pack replaces it, so a crash part way leaves only a shorter leftover
   * that open removes like any replaced file.
   */
  private async shrink(path: string): Promise<void> {
    const step = this.s.shrinkStepBytes;
    if (step <= 0) return;
    let fh;
    try {
      fh = await this.access.fs.open(path, 'readwrite');
    } catch {
      return; // gone already: nothing to free
    }
    try {
      for (let size = await fh.size(); size > step && !this.access.isClosed(); ) {
        size -= step;
        await fh.truncate(size);
        await sleep(this.s.shrinkPauseMs);
      }
    } finally {
      await fh.close();
    }
  }
}

class StopError extends Error {}
