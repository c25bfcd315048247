// Space accounting: which records of every sealed segment and pack are live, and how many bytes that
// is. Derived, not persisted: the census reads the footers (payload copies of every metadata record)
// and asks the index what is live right now, so it is exact after deletes, overwrites, completed or
// aborted multipart uploads and restarts by construction (docs/OPERATIONS.md "Space, compaction and scrub").
//
// A record is live when replaying the log without it could change the index:
// - CHUNK: referenced by a live object's manifest or by a part of an open multipart upload, or appended
//   by a PUT or part upload whose record is not applied yet (it may still come);
// - COMMIT / BUCKET_CREATE / UPLOAD_CREATE / UPLOAD_PART: the index holds exactly that version;
// - DELETE / BUCKET_DELETE / UPLOAD_ABORT ("tombstones"): until no older record they could cancel can
//   remain anywhere. A DELETE is kept while a segment outside the pass holds a COMMIT of its key with a
//   lower seq; BUCKET_DELETE and UPLOAD_ABORT while a segment outside the pass holds any record with a
//   lower seq. A DELETE whose key has since been written again is dead at once (the newer write wins on
//   replay anyway) — except in a versioned bucket, where it removed one version that a newer one does
//   not replace;
// - BUCKET_CONFIG and anything undecodable: kept (never guessed dead).
//
// What a file says comes as a table of columns (census-table.ts), built from its footer in a maintenance
// worker when a pool is given and, in compaction, kept from pass to pass while the footer is unchanged
// (census-cache.ts). The main thread only asks the index: it marks rows live by origin in per-census
// byte arrays, with no JS object per record (a heap of those, held for a whole pass, was what made the
// GC stall requests while compaction ran: docs/PERFORMANCE.md, "Compaction").
import { RecordType, SEGMENT_HEADER_BYTES, StorageClass } from '../format/constants.js';
import {
  decodeBucketCreate,
  decodeBucketDelete,
  decodeDelete,
  decodeManifest,
  decodeUploadAbort,
  decodeUploadCreate,
  decodeUploadPart,
  type ChunkMeta,
} from '../format/records.js';
import type { MaintenanceAccess, SegmentView } from '../engine/maintenance-access.js';
import type { CensusCache } from './census-cache.js';
import {
  buildSegmentTable,
  openTable,
  ROW_DAMAGED,
  ROW_MANIFEST_BAD,
  ROW_NAMED,
  rowChunk,
  rowPayload,
  type CensusTask,
  type CensusTaskResult,
  type SegmentTable,
  type Tick,
} from './census-table.js';
import type { MaintenancePool } from './maintenance-pool.js';

export interface SegmentAccount {
  id: number;
  kind: 'log' | 'pack';
  sizeBytes: number;
  liveBytes: number;
  /** Live records (rows of `table` whose verdict is live). */
  liveRecords: number;
  /** Bytes of dead records (header, footer and tail are overhead, neither live nor dead). */
  deadBytes: number;
  /** Smallest seq of any metadata record it holds (Infinity if none). */
  minSeq: number;
  /** Fully reflected in the newest checkpoint (log segments below its replay position, and packs). */
  covered: boolean;
  /** The active segment (in a census taken with includeActive): never a compaction input. */
  active: boolean;
  /**
   * Its footer was unusable and the scan found damage: records may hide in the damaged bytes, so it is
   * never an input (the damage stays reported exactly where it is).
   */
  damaged: boolean;
  /** The file's records (may be shared with the cache and later censuses: never modified). */
  table: SegmentTable;
  /** Per row of `table`, this census's verdict: 1 = live. */
  live: Uint8Array;
  /**
   * Per row: the seq of a live tombstone (DELETE, BUCKET_DELETE, UPLOAD_ABORT) that a pass may drop once
   * nothing older remains; NaN for every other row.
   */
  tombstoneSeq: Float64Array;
}

export interface Census {
  segments: SegmentAccount[];
  /** Every COMMIT in the census by the hash of its `bucket/key`, with its segment and seq. */
  holders: CommitHolders;
  /** Bytes of every segment file, the active one included. */
  storedBytes: number;
  /** Bytes of live records in sealed segments and packs plus the whole active segment (unless included). */
  liveBytes: number;
  /** Bytes of dead records (reclaimable); storedBytes - liveBytes - deadBytes is header/footer overhead. */
  deadBytes: number;
}

export interface CensusOptions {
  /** Also account the active segment (scanned): `info`. */
  includeActive?: boolean;
  /** Builds segment tables in its worker threads (inline when it has none). Default: inline. */
  pool?: MaintenancePool;
  /** Tables kept from earlier censuses of this engine (compaction passes). */
  cache?: CensusCache;
}

/** One record as a plain object: for tests and inspection (the census itself keeps columns). */
export interface CensusRecord {
  type: number;
  offset: number;
  frameLen: number;
  originSegmentId: number;
  originOffset: number;
  live: boolean;
  tombstoneSeq?: number;
  damaged: boolean;
  chunk?: ChunkMeta;
  payload?: Buffer;
}

/**
 * The census runs on the main thread between requests: it yields to the event loop once it has worked
 * this long (checked every few records). A count of records was not enough: commit payloads read from
 * the page cache come back synchronously, and 2,000 of them held the loop for ~100 ms (a PUT's p99).
 * 1 ms, not 4: a durable PUT needs several turns of the loop and can wait a whole slice in each; with the
 * census's records out of the JS heap, its slices (not GC pauses) were what PUTs waited for. On a busy
 * machine, PUTs during a cached census took a median of 1.5-18 ms (4 runs) with 4 ms slices and 3.6-6.3
 * ms with 1 ms slices, the census no slower (bench/census-diag.ts).
 */
const YIELD_AFTER_MS = 1;
const CHECK_EVERY = 32;
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function slicer(): Tick {
  let work = 0;
  let since = performance.now();
  return (units) => {
    work += units;
    if (work < CHECK_EVERY) return undefined;
    work = 0;
    if (performance.now() - since < YIELD_AFTER_MS) return undefined;
    return yieldToLoop().then(() => {
      since = performance.now();
    });
  };
}

/** Where each origin (segment id, offset) is among the census's rows: per origin segment, runs of rows sorted by offset. */
class OriginIndex {
  private readonly bySegment = new Map<number, Array<{ a: SegmentAccount; from: number; to: number }>>();

  constructor(accounts: SegmentAccount[]) {
    for (const a of accounts) {
      const runs = a.table.originRuns;
      for (let k = 0; k < runs.length; k += 3) {
        const list = this.bySegment.get(runs[k]);
        const run = { a, from: runs[k + 1], to: runs[k + 2] };
        if (list) list.push(run);
        else this.bySegment.set(runs[k], [run]);
      }
    }
  }

  /** Calls `fn` for every row of `type` whose origin is (segment, offset); returns how many there were. */
  visit(segment: number, offset: number, type: number, fn: (a: SegmentAccount, row: number) => void): number {
    const runs = this.bySegment.get(segment);
    if (!runs) return 0;
    let found = 0;
    for (const { a, from, to } of runs) {
      const t = a.table;
      const order = t.byOrigin;
      const off = t.originOffset;
      let lo = from;
      let hi = to;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (off[order[mid]] < offset) lo = mid + 1;
        else hi = mid;
      }
      for (let k = lo; k < to && off[order[k]] === offset; k++) {
        if (t.type[order[k]] !== type) continue;
        fn(a, order[k]);
        found++;
      }
    }
    return found;
  }
}

/**
 * COMMITs by the hash of their `bucket/key` (census-table.ts nameHash), in an open-addressing table of
 * typed arrays: a DELETE asks whether an older COMMIT of its key remains outside a pass's inputs.
 */
export class CommitHolders {
  private readonly slots: Int32Array;
  private readonly hash: Uint32Array;
  private readonly segment: Float64Array;
  private readonly seq: Float64Array;
  private readonly mask: number;
  private n = 0;

  private constructor(entries: number) {
    let cap = 16;
    while (cap < entries * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.hash = new Uint32Array(entries);
    this.segment = new Float64Array(entries);
    this.seq = new Float64Array(entries);
  }

  static async build(accounts: SegmentAccount[], tick: Tick): Promise<CommitHolders> {
    let entries = 0;
    for (const a of accounts) for (let i = 0; i < a.table.count; i++) if (named(a.table, i, RecordType.COMMIT)) entries++;
    const h = new CommitHolders(entries);
    for (const a of accounts) {
      const t = a.table;
      for (let i = 0; i < t.count; i++) {
        if (named(t, i, RecordType.COMMIT)) h.add(t.nameHash[i], a.id, t.seq[i]);
        if ((i & 1023) === 1023) {
          const w = tick(1024);
          if (w) await w;
        }
      }
    }
    return h;
  }

  private add(hash: number, segment: number, seq: number): void {
    const e = this.n++;
    this.hash[e] = hash;
    this.segment[e] = segment;
    this.seq[e] = seq;
    let s = hash & this.mask;
    while (this.slots[s] !== -1) s = (s + 1) & this.mask;
    this.slots[s] = e;
  }

  /** Whether a COMMIT whose name hashes to `hash`, with a seq below `seq`, is in a segment `counts` accepts. */
  anyOlder(hash: number, seq: number, counts: (segmentId: number) => boolean): boolean {
    for (let s = hash & this.mask; this.slots[s] !== -1; s = (s + 1) & this.mask) {
      const e = this.slots[s];
      if (this.hash[e] === hash && this.seq[e] < seq && counts(this.segment[e])) return true;
    }
    return false;
  }
}

function named(t: SegmentTable, i: number, type: number): boolean {
  return t.type[i] === type && (t.flags[i] & ROW_NAMED) !== 0;
}

/** The table of one file: the cached one while its footer is unchanged, else built (in a worker when the pool has one). */
async function tableOf(access: MaintenanceAccess, s: SegmentView, opts: CensusOptions, tick: Tick): Promise<SegmentTable> {
  const known = s.sealed ? opts.cache?.get(s.id, s.kind) : undefined;
  const task: CensusTask = { kind: 'census', path: access.pathOf(s.id), segmentId: s.id, segmentKind: s.kind, sealed: s.sealed, knownFooterKey: known?.footerKey };
  const result: CensusTaskResult = opts.pool ? await opts.pool.census(task, tick) : await buildSegmentTable(access.fs, task, tick);
  if (result.unchanged) {
    if (!known) throw new Error(`assertion failed: census of segment ${s.id} reported unchanged without a known table`);
    return known;
  }
  return openTable(result.table);
}

/** Builds the accounting of every sealed segment and pack. Reads footers; never reads chunk payloads. */
export async function takeCensus(access: MaintenanceAccess, opts: CensusOptions = {}): Promise<Census> {
  const tick = slicer();
  const { accounts, storedBytes, tailBytes } = await readTables(access, opts, tick);
  opts.cache?.retain(accounts.map((a) => a.table));
  const census: Census = { segments: accounts, holders: await CommitHolders.build(accounts, tick), storedBytes, liveBytes: 0, deadBytes: 0 };
  const bad = await markIndexed(access, accounts, tick);
  if (bad) {
    // A damaged COMMIT: its chunks cannot be named, so nothing it might reference may be dropped.
    access.warn(`census: cannot read commit at segment ${bad.segmentId} offset ${bad.offset}: ${bad.message}; compaction keeps every chunk`);
    return keepEverything(census, tailBytes);
  }
  await classifyOthers(access, accounts, tick);
  await settle(census, tailBytes, tick);
  return census;
}

/** Rows between two ticks in the loops over every row (a tick per row was a measurable share of the census). */
const ROWS_PER_TICK = 64;

/** One account per sealed file (and the active one with includeActive), in id order, with its table. */
async function readTables(access: MaintenanceAccess, opts: CensusOptions, tick: Tick): Promise<{ accounts: SegmentAccount[]; storedBytes: number; tailBytes: number }> {
  const covered = access.checkpointSegmentId();
  const accounts: SegmentAccount[] = [];
  let storedBytes = 0;
  let tailBytes = 0;
  for (const s of access.segments().sort((a, b) => a.id - b.id)) {
    storedBytes += s.sizeBytes;
    if (!s.sealed && !opts.includeActive) {
      tailBytes += s.sizeBytes;
      continue;
    }
    // The active segment (only on request: `info`) is read by a scan of its frames.
    const table = await tableOf(access, s, opts, tick);
    accounts.push({
      id: s.id, kind: s.kind, sizeBytes: s.sizeBytes, liveBytes: 0, liveRecords: 0, deadBytes: 0, minSeq: table.minSeq,
      covered: s.sealed && (s.kind === 'pack' || s.id < covered), active: !s.sealed, damaged: table.damaged,
      table, live: new Uint8Array(table.count), tombstoneSeq: new Float64Array(table.count).fill(NaN),
    });
  }
  return { accounts, storedBytes, tailBytes };
}

/**
 * Marks, by origin, the COMMITs the index holds and the chunks their manifests name, and the chunks live
 * without a COMMIT (open uploads' parts, uploads in flight), from one snapshot taken synchronously
 * (MaintenanceAccess.liveSnapshot): whatever becomes live after it was written after it, into the
 * active segment, or is a COMMIT that names chunks the snapshot already holds live (a completed upload,
 * a re-commit). Returns the first COMMIT whose manifest cannot be read (nothing can be dropped then).
 */
async function markIndexed(
  access: MaintenanceAccess,
  accounts: SegmentAccount[],
  tick: Tick,
): Promise<{ segmentId: number; offset: number; message: string } | undefined> {
  const live = access.liveSnapshot();
  const origins = new OriginIndex(accounts);
  let bad: { segmentId: number; offset: number; message: string } | undefined;
  const markChunk = (a: SegmentAccount, i: number): void => void (a.live[i] = 1);
  const markCommit = (a: SegmentAccount, i: number): void => {
    a.live[i] = 1;
    const t = a.table;
    if ((t.flags[i] & ROW_MANIFEST_BAD) !== 0) {
      bad ??= { segmentId: t.originSegment[i], offset: t.originOffset[i], message: manifestError(rowPayload(t, i)) };
      return;
    }
    for (let k = t.refStart[i]; k < t.refStart[i + 1]; k++) origins.visit(t.refSegment[k], t.refOffset[k], RecordType.CHUNK, markChunk);
  };
  const { chunks, commits } = live;
  for (let k = 0; k < chunks.count; k++) origins.visit(chunks.segmentId[k], chunks.offset[k], RecordType.CHUNK, markChunk);
  for (let k = 0; k < commits.count; k++) {
    if ((k & (ROWS_PER_TICK - 1)) === ROWS_PER_TICK - 1) {
      const w = tick(ROWS_PER_TICK);
      if (w) await w;
    }
    const segmentId = commits.segmentId[k];
    const offset = commits.offset[k];
    if (origins.visit(segmentId, offset, RecordType.COMMIT, markCommit) === 0) {
      // Not in the census (the active segment): read from the log.
      try {
        const m = decodeManifest(await access.readCommitPayload(segmentId, offset, commits.frameLen[k]));
        // A cold object's chunks live in cold segments (their own id space, docs/FORMAT.md §2.6): none here.
        if (m.storageClass !== StorageClass.COLD) for (const ch of m.chunks) origins.visit(ch.segmentId, ch.offset, RecordType.CHUNK, markChunk);
      } catch (err) {
        bad = { segmentId, offset, message: (err as Error).message };
      }
    }
    if (bad) return bad;
  }
  return undefined;
}

/** Every record other than a CHUNK or COMMIT (marked by markIndexed): asked of the index. */
async function classifyOthers(access: MaintenanceAccess, accounts: SegmentAccount[], tick: Tick): Promise<void> {
  for (const a of accounts) {
    const t = a.table;
    for (let i = 0; i < t.count; i++) {
      if (t.type[i] !== RecordType.CHUNK && t.type[i] !== RecordType.COMMIT) a.live[i] = classify(access, a, i) ? 1 : 0;
      if ((i & (ROWS_PER_TICK - 1)) === ROWS_PER_TICK - 1) {
        const w = tick(ROWS_PER_TICK);
        if (w) await w;
      }
    }
  }
}

/** Tombstones: live unless every other segment holds only newer records. Then the byte counts. */
async function settle(census: Census, tailBytes: number, tick: Tick): Promise<void> {
  const accounts = census.segments;
  let liveBytes = tailBytes;
  let deadBytes = 0;
  for (const a of accounts) {
    const alone = new Set([a.id]);
    const others = minSeqOutside(accounts, alone);
    const t = a.table;
    for (let i = 0; i < t.count; i++) {
      if (a.live[i] === 1 && tombstoneDroppable(census, a, i, alone, others)) a.live[i] = 0;
      if (a.live[i] === 1) {
        a.liveBytes += t.frameLen[i];
        a.liveRecords++;
      } else a.deadBytes += t.frameLen[i];
      if ((i & (ROWS_PER_TICK - 1)) === ROWS_PER_TICK - 1) {
        const w = tick(ROWS_PER_TICK);
        if (w) await w;
      }
    }
    liveBytes += a.liveBytes;
    deadBytes += a.deadBytes;
  }
  census.liveBytes = liveBytes;
  census.deadBytes = deadBytes;
}

function manifestError(p: Buffer): string {
  try {
    decodeManifest(p);
    return 'undecodable manifest';
  } catch (err) {
    return (err as Error).message;
  }
}

/** The rows of one account as plain objects (tests, inspection). */
export function censusRecords(a: SegmentAccount): CensusRecord[] {
  const t = a.table;
  return Array.from({ length: t.count }, (_, i) => ({
    type: t.type[i],
    offset: t.offset[i],
    frameLen: t.frameLen[i],
    originSegmentId: t.originSegment[i],
    originOffset: t.originOffset[i],
    live: a.live[i] === 1,
    ...(Number.isNaN(a.tombstoneSeq[i]) ? {} : { tombstoneSeq: a.tombstoneSeq[i] }),
    damaged: (t.flags[i] & ROW_DAMAGED) !== 0,
    ...(t.type[i] === RecordType.CHUNK ? { chunk: rowChunk(t, i) } : { payload: rowPayload(t, i) }),
  }));
}

/**
 * Whether tombstone row `i` of `a` may be left out of a pack whose inputs are `inputs`: nothing it could
 * cancel remains outside them (`othersMinSeq`: the lowest seq held outside them).
 */
export function tombstoneDroppable(c: Census, a: SegmentAccount, i: number, inputs: Set<number>, othersMinSeq: number, replaced?: Set<number>): boolean {
  const t = a.tombstoneSeq[i];
  if (Number.isNaN(t)) return false;
  if (t < othersMinSeq) return true;
  if (!named(a.table, i, RecordType.DELETE)) return false;
  // A segment replaced earlier in the same pass no longer holds a COMMIT of this key older than the
  // DELETE: such a COMMIT was dead (the DELETE cancelled it) and was not copied.
  return !c.holders.anyOlder(a.table.nameHash[i], t, (id) => !inputs.has(id) && !replaced?.has(id));
}

/** Smallest seq held by any sealed segment or pack not in `ids`. */
export function minSeqOutside(accounts: SegmentAccount[], ids: Set<number>): number {
  let min = Infinity;
  for (const a of accounts) if (!ids.has(a.id) && a.minSeq < min) min = a.minSeq;
  return min;
}

function keepEverything(c: Census, tailBytes: number): Census {
  let live = tailBytes;
  for (const a of c.segments) {
    a.live.fill(1);
    a.tombstoneSeq.fill(NaN);
    a.liveBytes = a.table.frameLen.reduce((n, len) => n + len, 0);
    a.liveRecords = a.table.count;
    a.deadBytes = 0;
    a.covered = false; // nothing is compacted while the census is incomplete
    live += a.liveBytes;
  }
  c.liveBytes = live;
  c.deadBytes = 0;
  return c;
}

/** Liveness of a metadata row other than a COMMIT; notes the seq of a tombstone in `a.tombstoneSeq`. */
function classify(access: MaintenanceAccess, a: SegmentAccount, i: number): boolean {
  const p = rowPayload(a.table, i);
  try {
    switch (a.table.type[i]) {
      case RecordType.BUCKET_CREATE: {
        const b = decodeBucketCreate(p);
        return access.bucketSeq(b.name) === b.seq;
      }
      case RecordType.UPLOAD_CREATE: {
        const u = decodeUploadCreate(p);
        return access.uploadCreateSeq(u.uploadId) === u.seq;
      }
      case RecordType.UPLOAD_PART: {
        const u = decodeUploadPart(p);
        return access.uploadPartSeq(u.uploadId, u.partNumber) === u.seq;
      }
      case RecordType.DELETE: {
        const d = decodeDelete(p);
        const now = access.objectSeq(d.bucket, d.key);
        // In a versioned bucket a newer version does not cancel the version this DELETE removed.
        if (now !== undefined && now > d.seq && d.versionId === '' && !access.bucketVersioned(d.bucket)) return false;
        a.tombstoneSeq[i] = d.seq;
        return true;
      }
      case RecordType.BUCKET_DELETE:
        a.tombstoneSeq[i] = decodeBucketDelete(p).seq;
        return true;
      case RecordType.UPLOAD_ABORT:
        a.tombstoneSeq[i] = decodeUploadAbort(p).seq;
        return true;
      default:
        return true;
    }
  } catch {
    return true;
  }
}

/** Header bytes every segment file starts with (not live, not reclaimable by itself). */
export const HEADER_BYTES = SEGMENT_HEADER_BYTES;
