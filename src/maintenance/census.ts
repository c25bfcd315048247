// Space accounting: which records of every sealed segment and pack are live, and how many bytes that
// is. Derived, not persisted: the census reads the footers (payload copies of every metadata record)
// and asks the index what is live right now, so it is exact after deletes, overwrites, completed or
// aborted multipart uploads and restarts by construction (docs/OPERATIONS.md "Space accounting").
//
// A record is live when replaying the log without it could change the index:
// - CHUNK: referenced by a live object's manifest or by a part of an open multipart upload;
// - COMMIT / BUCKET_CREATE / UPLOAD_CREATE / UPLOAD_PART: the index holds exactly that version;
// - DELETE / BUCKET_DELETE / UPLOAD_ABORT ("tombstones"): until no older record they could cancel can
//   remain anywhere. A DELETE is kept while a segment outside the pass holds a COMMIT of its key with a
//   lower seq; BUCKET_DELETE and UPLOAD_ABORT while a segment outside the pass holds any record with a
//   lower seq. A DELETE whose key has since been written again is dead at once (the newer write wins on
//   replay anyway) — except in a versioned bucket, where it removed one version that a newer one does
//   not replace;
// - BUCKET_CONFIG and anything undecodable: kept (never guessed dead).
import { RecordType, SEGMENT_HEADER_BYTES, StorageClass } from '../format/constants.js';
import type { FooterEntry } from '../format/footer.js';
import {
  decodeBucketCreate,
  decodeBucketDelete,
  decodeDelete,
  decodeManifest,
  decodeUploadAbort,
  decodeUploadCreate,
  decodeUploadPart,
} from '../format/records.js';
import type { MaintenanceAccess, SegmentView } from '../engine/maintenance-access.js';
import { FormatError } from '../format/binary.js';
import { FooterDecoder } from '../format/footer.js';
import type { ChunkMeta } from '../format/records.js';
import { PackFooterDecoder, type PackEntryMaker } from '../format/pack-footer.js';
import { decodeSegmentHeader } from '../format/segment-header.js';
import { readPackFooterPayload } from '../engine/pack-files.js';
import { listSegment, readFooterPayload } from '../engine/segment-scan.js';

export interface CensusRecord {
  type: number;
  /** Offset in the file that holds it now. */
  offset: number;
  frameLen: number;
  originSegmentId: number;
  originOffset: number;
  chunk?: FooterEntry['chunk'];
  payload?: Buffer;
  /** Live now (tombstones: counted live; whether a pass may drop one is decided per pass). */
  live: boolean;
  /** seq of a tombstone (DELETE, BUCKET_DELETE, UPLOAD_ABORT) that may be dropped once nothing older remains. */
  tombstoneSeq?: number;
  /** DELETE: `bucket/key`, so only records of that key elsewhere hold it back. */
  tombstoneKey?: string;
  /** Already known damaged (a pack entry flagged when it was copied). */
  damaged?: boolean;
}

export interface SegmentAccount {
  id: number;
  kind: 'log' | 'pack';
  sizeBytes: number;
  liveBytes: number;
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
  records: CensusRecord[];
}

export interface Census {
  segments: SegmentAccount[];
  /** `bucket/key` → every segment holding a COMMIT of it, with the lowest such seq there. */
  commitHolders: Map<string, Array<{ id: number; seq: number }>>;
  /** Bytes of every segment file, the active one included. */
  storedBytes: number;
  /** Bytes of live records in sealed segments and packs plus the whole active segment (unless included). */
  liveBytes: number;
  /** Bytes of dead records (reclaimable); storedBytes - liveBytes - deadBytes is header/footer overhead. */
  deadBytes: number;
}

/**
 * The census runs on the main thread between requests: it yields to the event loop once it has worked
 * this long (checked every few records). A count of records was not enough: commit payloads read from
 * the page cache come back synchronously, and 2,000 of them held the loop for ~100 ms (a PUT's p99).
 */
const YIELD_AFTER_MS = 4;
const CHECK_EVERY = 32;
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Called with the units of work just done; returns a promise (to await) when the time slice is used up,
 * else undefined (no await, so no microtask per record).
 */
type Tick = (units: number) => Promise<void> | undefined;

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
/**
 * Origins (segment id, offset) as keys, one inner collection per segment: offsets in a segment are small
 * integers (V8 Smis), where segmentId * 2^32 + offset was a heap-allocated number per entry — hundreds of
 * thousands of them surviving the census make the young-generation collections it triggers slow.
 */
class OriginMap<V> {
  private readonly bySegment = new Map<number, Map<number, V>>();
  set(segmentId: number, offset: number, v: V): void {
    let m = this.bySegment.get(segmentId);
    if (!m) this.bySegment.set(segmentId, (m = new Map()));
    m.set(offset, v);
  }
  get(segmentId: number, offset: number): V | undefined {
    return this.bySegment.get(segmentId)?.get(offset);
  }
}

class OriginSet {
  private readonly bySegment = new Map<number, Set<number>>();
  add(segmentId: number, offset: number): void {
    let m = this.bySegment.get(segmentId);
    if (!m) this.bySegment.set(segmentId, (m = new Set()));
    m.add(offset);
  }
  has(segmentId: number, offset: number): boolean {
    return this.bySegment.get(segmentId)?.has(offset) ?? false;
  }
}

function payloadSeq(p: Buffer | undefined): number {
  return p && p.length >= 9 ? Number(p.readBigUInt64LE(1)) : Infinity;
}

/** Footer slices decoded between checks of the time slice (one slice is well under a millisecond). */
const DECODE_SLICE = 512;

/**
 * A segment's records, from its footer, decoded a slice at a time. Falls back to listSegment (a full scan
 * that reports damage) when the footer is not usable. Payloads are views into the footer buffer.
 */
async function recordsOf(access: MaintenanceAccess, s: SegmentView, tick: Tick): Promise<{ records: CensusRecord[]; damaged: boolean }> {
  const path = access.pathOf(s.id);
  if (s.kind === 'pack') {
    const raw = await readPackFooterPayload(access.fs, path, s.id);
    const records: CensusRecord[] = [];
    try {
      const d = raw && new PackFooterDecoder(raw.payload);
      if (!d) return { records: [], damaged: true };
      const make: PackEntryMaker<CensusRecord> = (type, offset, frameLen, originSegmentId, originOffset, damaged, chunk, payload) => ({
        type, offset, frameLen, originSegmentId, originOffset, chunk, payload, live: false, damaged, tombstoneSeq: undefined, tombstoneKey: undefined,
      });
      while (!d.done) {
        d.next(DECODE_SLICE, records, make);
        await tick(DECODE_SLICE);
      }
    } catch (err) {
      if (err instanceof FormatError) return { records: [], damaged: true };
      throw err;
    }
    return { records, damaged: false };
  }
  // One object per record, built by the decoder in the census's own shape (the census keeps every record
  // of every segment alive until the pass ends: each object saved is GC work saved).
  const make = (type: number, offset: number, frameLen: number, chunk?: ChunkMeta, payload?: Buffer): CensusRecord => ({
    type, offset, frameLen, originSegmentId: s.id, originOffset: offset, chunk, payload, live: false, damaged: false, tombstoneSeq: undefined, tombstoneKey: undefined,
  });
  const records = s.sealed ? await footerRecords(access, path, tick, make) : undefined;
  if (records) return { records, damaged: false };
  const listing = await listSegment(access.fs, path, s.id, s.sealed);
  return { records: listing.entries.map((e) => make(e.type, e.offset, e.frameLen, e.chunk, e.payload)), damaged: listing.damage.length > 0 };
}

/** A sealed log segment's records from its footer, or undefined when its header or footer is not usable. */
async function footerRecords(
  access: MaintenanceAccess,
  path: string,
  tick: Tick,
  make: (type: number, offset: number, frameLen: number, chunk?: ChunkMeta, payload?: Buffer) => CensusRecord,
): Promise<CensusRecord[] | undefined> {
  const fh = await access.fs.open(path, 'read');
  let payload: Buffer | undefined;
  try {
    const size = await fh.size();
    const head = Buffer.alloc(Math.min(SEGMENT_HEADER_BYTES, size));
    await fh.read(head, 0, head.length, 0);
    try {
      decodeSegmentHeader(head);
    } catch {
      return undefined;
    }
    payload = await readFooterPayload(fh, size);
  } finally {
    await fh.close();
  }
  if (!payload) return undefined;
  const records: CensusRecord[] = [];
  try {
    const d = new FooterDecoder(payload);
    while (!d.done) {
      d.next(DECODE_SLICE, records, make);
      await tick(DECODE_SLICE);
    }
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
  return records;
}

/** Builds the accounting of every sealed segment and pack. Reads footers; never reads chunk payloads. */
export async function takeCensus(access: MaintenanceAccess, opts: { includeActive?: boolean } = {}): Promise<Census> {
  const views = access.segments();
  const covered = access.checkpointSegmentId();
  const accounts: SegmentAccount[] = [];
  const commitPayloads = new OriginMap<Buffer>();
  const commitHolders: Census['commitHolders'] = new Map();
  const tick = slicer();
  let storedBytes = 0;
  let tailBytes = 0;
  for (const s of views.sort((a, b) => a.id - b.id)) {
    storedBytes += s.sizeBytes;
    if (!s.sealed && !opts.includeActive) {
      tailBytes += s.sizeBytes;
      continue;
    }
    // The active segment (only on request: `info`) is read by a scan of its frames.
    const { records, damaged } = await recordsOf(access, s, tick);
    for (const r of records) {
      const t = tick(1);
      if (t) await t;
      if (r.type !== RecordType.COMMIT || !r.payload) continue;
      commitPayloads.set(r.originSegmentId, r.originOffset, r.payload);
      const name = commitName(r.payload);
      if (name === undefined) continue;
      const seq = payloadSeq(r.payload);
      const list = commitHolders.get(name);
      const mine = list?.find((h) => h.id === s.id);
      if (mine) mine.seq = Math.min(mine.seq, seq);
      else if (list) list.push({ id: s.id, seq });
      else commitHolders.set(name, [{ id: s.id, seq }]);
    }
    accounts.push({ id: s.id, kind: s.kind, sizeBytes: s.sizeBytes, liveBytes: 0, deadBytes: 0, minSeq: Infinity, covered: s.sealed && (s.kind === 'pack' || s.id < covered), active: !s.sealed, damaged, records });
  }

  const liveCommits = new OriginSet();
  const liveChunks = new OriginSet();
  for (const c of access.liveCommits()) {
    const t = tick(1);
    if (t) await t;
    liveCommits.add(c.segmentId, c.offset);
    let payload = commitPayloads.get(c.segmentId, c.offset);
    try {
      payload ??= await access.readCommitPayload(c.segmentId, c.offset, c.frameLen);
      const m = decodeManifest(payload);
      // A cold object's chunks live in cold segments (their own id space, docs/FORMAT.md §2.6): none here.
      if (m.storageClass !== StorageClass.COLD) for (const ch of m.chunks) liveChunks.add(ch.segmentId, ch.offset);
    } catch (err) {
      // A damaged COMMIT: its chunks cannot be named, so nothing it might reference may be dropped.
      access.warn(`census: cannot read commit at segment ${c.segmentId} offset ${c.offset}: ${(err as Error).message}; compaction keeps every chunk`);
      return keepEverything(accounts, commitHolders, storedBytes, tailBytes);
    }
  }
  for (const p of access.openUploadParts()) for (const ch of p.chunks) liveChunks.add(ch.segmentId, ch.offset);

  for (const a of accounts) {
    for (const r of a.records) {
      const t = tick(1);
      if (t) await t;
      if (r.type !== RecordType.CHUNK) a.minSeq = Math.min(a.minSeq, payloadSeq(r.payload));
      r.live = classify(access, r, liveCommits, liveChunks);
    }
  }
  // Tombstones: live unless every other segment holds only newer records.
  const census: Census = { segments: accounts, commitHolders, storedBytes, liveBytes: 0, deadBytes: 0 };
  let liveBytes = tailBytes;
  let deadBytes = 0;
  for (const a of accounts) {
    const alone = new Set([a.id]);
    const others = minSeqOutside(accounts, alone);
    for (const r of a.records) {
      const t = tick(1);
      if (t) await t;
      if (r.live && tombstoneDroppable(census, r, alone, others)) r.live = false;
      if (r.live) a.liveBytes += r.frameLen;
      else a.deadBytes += r.frameLen;
    }
    liveBytes += a.liveBytes;
    deadBytes += a.deadBytes;
  }
  census.liveBytes = liveBytes;
  census.deadBytes = deadBytes;
  return census;
}

/** `bucket/key` of a COMMIT payload (version:u8 seq:u64 bucket:str16 key:str16), without decoding the rest. */
function commitName(p: Buffer): string | undefined {
  if (p.length < 13) return undefined;
  const bl = p.readUInt16LE(9);
  if (11 + bl + 2 > p.length) return undefined;
  const kl = p.readUInt16LE(11 + bl);
  if (13 + bl + kl > p.length) return undefined;
  return `${p.toString('utf8', 11, 11 + bl)}/${p.toString('utf8', 13 + bl, 13 + bl + kl)}`;
}

/**
 * Whether a tombstone may be left out of a pack whose inputs are `inputs`: nothing it could cancel
 * remains outside them (`othersMinSeq`: the lowest seq held outside them).
 */
export function tombstoneDroppable(c: Census, r: CensusRecord, inputs: Set<number>, othersMinSeq: number, replaced?: Set<number>): boolean {
  if (r.tombstoneSeq === undefined) return false;
  if (r.tombstoneSeq < othersMinSeq) return true;
  if (r.tombstoneKey === undefined) return false;
  const t = r.tombstoneSeq;
  // A segment replaced earlier in the same pass no longer holds a COMMIT of this key older than the
  // DELETE: such a COMMIT was dead (the DELETE cancelled it) and was not copied.
  return !(c.commitHolders.get(r.tombstoneKey) ?? []).some((h) => !inputs.has(h.id) && !replaced?.has(h.id) && h.seq < t);
}

/** Smallest seq held by any sealed segment or pack not in `ids`. */
export function minSeqOutside(accounts: SegmentAccount[], ids: Set<number>): number {
  let min = Infinity;
  for (const a of accounts) if (!ids.has(a.id) && a.minSeq < min) min = a.minSeq;
  return min;
}

function keepEverything(accounts: SegmentAccount[], commitHolders: Census['commitHolders'], storedBytes: number, tailBytes: number): Census {
  for (const a of accounts) {
    for (const r of a.records) r.live = true;
    a.liveBytes = a.records.reduce((n, r) => n + r.frameLen, 0);
    a.deadBytes = 0;
    a.covered = false; // nothing is compacted while the census is incomplete
  }
  const live = tailBytes + accounts.reduce((n, a) => n + a.liveBytes, 0);
  return { segments: accounts, commitHolders, storedBytes, liveBytes: live, deadBytes: 0 };
}

function classify(access: MaintenanceAccess, r: CensusRecord, liveCommits: OriginSet, liveChunks: OriginSet): boolean {
  const p = r.payload ?? Buffer.alloc(0);
  try {
    switch (r.type) {
      case RecordType.CHUNK:
        return liveChunks.has(r.originSegmentId, r.originOffset);
      case RecordType.COMMIT:
        return liveCommits.has(r.originSegmentId, r.originOffset);
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
        r.tombstoneSeq = d.seq;
        r.tombstoneKey = `${d.bucket}/${d.key}`;
        return true;
      }
      case RecordType.BUCKET_DELETE:
        r.tombstoneSeq = decodeBucketDelete(p).seq;
        return true;
      case RecordType.UPLOAD_ABORT:
        r.tombstoneSeq = decodeUploadAbort(p).seq;
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
