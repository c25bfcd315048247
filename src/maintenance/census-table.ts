// A sealed segment's or pack's record list as the census needs it, in columns (typed arrays) that all
// live in ONE ArrayBuffer: built in a maintenance worker from the footer (or a scan), transferred to the
// main thread, and kept there for a whole compaction pass — and between passes (census-cache.ts) — at
// the cost of a dozen JS objects per segment instead of two or more per record. The census's objects
// per record were what made the young-generation collections slow on the main thread while a pass ran
// (docs/PERFORMANCE.md, "Compaction").
//
// A table holds only what the file says: liveness is a question to the index, asked per pass by the
// census (census.ts). Everything here is derived from bytes that a checksum covered when they were
// read; `footerKey` names those bytes, so a cached table is reused only while the file's footer still
// reads back valid and identical.
import { FormatError } from '../format/binary.js';
import { RecordType, SEGMENT_HEADER_BYTES, StorageClass } from '../format/constants.js';
import { FooterDecoder } from '../format/footer.js';
import { xxh64 } from '../format/hash.js';
import { PackFooterDecoder } from '../format/pack-footer.js';
import { decodeManifest, type ChunkMeta } from '../format/records.js';
import { decodeSegmentHeader } from '../format/segment-header.js';
import type { FileSystem } from '../io/types.js';
import { readPackFooterPayload } from '../engine/pack-files.js';
import { listSegment, readFooterPayload } from '../engine/segment-scan.js';

/** Row flags. */
export const ROW_DAMAGED = 1; // a pack entry flagged when it was copied: it failed its checksum then
export const ROW_COLD = 2; // a COMMIT of a cold object: its chunks are in cold segments, none here
export const ROW_MANIFEST_BAD = 4; // a COMMIT whose payload does not decode: its chunks cannot be named
export const ROW_NAMED = 8; // a COMMIT or DELETE with a well-formed bucket and key: `nameHash` holds their hash

export interface SegmentTable {
  readonly id: number;
  readonly kind: 'log' | 'pack';
  /** Rows, in file order (ascending `offset`). */
  readonly count: number;
  readonly type: Uint8Array;
  readonly flags: Uint8Array;
  /** Where the record is in this file now. */
  readonly offset: Float64Array;
  readonly frameLen: Uint32Array;
  /** Where it was first written (itself in a log segment; packs keep it: manifests address records by origin). */
  readonly originSegment: Float64Array;
  readonly originOffset: Float64Array;
  /** seq of a metadata record (Infinity for a CHUNK or a payload too short to say). */
  readonly seq: Float64Array;
  /** ROW_NAMED rows: hash of `bucket/key` (see nameHash). */
  readonly nameHash: Uint32Array;
  /** Payload of row i (metadata records) = blob[payloadStart[i], payloadStart[i + 1]); empty for a CHUNK. */
  readonly payloadStart: Uint32Array;
  readonly blob: Buffer;
  /** CHUNK rows: the chunk meta the pack footer repeats. */
  readonly chunkUpload: Float64Array;
  readonly chunkPart: Uint32Array;
  readonly chunkIndex: Uint32Array;
  readonly chunkRaw: Uint32Array;
  /** COMMIT rows: the chunks its manifest names (origins) = ref[refStart[i], refStart[i + 1]). */
  readonly refStart: Uint32Array;
  readonly refSegment: Float64Array;
  readonly refOffset: Float64Array;
  /** Row indexes ordered by (originSegment, originOffset). */
  readonly byOrigin: Uint32Array;
  /** Triples (origin segment, from, to): byOrigin[from, to) are that origin segment's rows. */
  readonly originRuns: Float64Array;
  /** Smallest seq of any metadata record (Infinity if none). */
  readonly minSeq: number;
  /** Its footer was unusable and the scan found damage. */
  readonly damaged: boolean;
  /** `size:xxh64(footer payload)` when built from a valid footer (only those are cached), else ''. */
  readonly footerKey: string;
  /** Bytes the table occupies (its ArrayBuffer). */
  readonly bytes: number;
}

/** A table as it crosses threads: numbers, and one ArrayBuffer to transfer. */
export interface SegmentTableWire {
  id: number;
  kind: 'log' | 'pack';
  count: number;
  refCount: number;
  runCount: number;
  blobBytes: number;
  minSeq: number;
  damaged: boolean;
  footerKey: string;
  buffer: ArrayBuffer;
}

export interface CensusTask {
  kind: 'census';
  path: string;
  segmentId: number;
  segmentKind: 'log' | 'pack';
  /** False for the active segment (scanned, as `info` asks). */
  sealed: boolean;
  /** footerKey of a table the caller holds: when the footer still matches, nothing is rebuilt. */
  knownFooterKey?: string;
}

export type CensusTaskResult = { unchanged: true } | { unchanged: false; table: SegmentTableWire };

/** Called with the rows just done; a promise to await when the caller's time slice is used up. */
export type Tick = (units: number) => Promise<void> | undefined;

/** Rows decoded between two ticks. */
const DECODE_SLICE = 256;

/**
 * Builds the table of one file. On the main thread (`tick` yields to the event loop) or in a worker
 * (`tick` never waits). Reads the header, tail and footer only, or scans the file when its footer is not
 * usable (the damage it finds makes the table `damaged`).
 */
export async function buildSegmentTable(fs: FileSystem, task: CensusTask, tick: Tick): Promise<CensusTaskResult> {
  const b = new TableBuilder(task.segmentId, task.segmentKind);
  if (task.segmentKind === 'pack') {
    const raw = await readPackFooterPayload(fs, task.path, task.segmentId);
    if (!raw) return built(b.finish(true, ''));
    const key = `${raw.sizeBytes}:${xxh64(raw.payload)}`;
    if (key === task.knownFooterKey) return { unchanged: true };
    try {
      const d = new PackFooterDecoder(raw.payload);
      const scratch: void[] = [];
      while (!d.done) {
        d.next(DECODE_SLICE, scratch, (type, offset, frameLen, originSegmentId, originOffset, damaged, chunk, payload) =>
          b.add(type, offset, frameLen, originSegmentId, originOffset, damaged, chunk, payload),
        );
        scratch.length = 0;
        const t = tick(DECODE_SLICE);
        if (t) await t;
      }
    } catch (err) {
      if (err instanceof FormatError) return built(new TableBuilder(task.segmentId, 'pack').finish(true, ''));
      throw err;
    }
    return built(b.finish(false, key));
  }
  if (task.sealed) {
    const footer = await readLogFooter(fs, task.path);
    if (footer) {
      const key = `${footer.size}:${xxh64(footer.payload)}`;
      if (key === task.knownFooterKey) return { unchanged: true };
      if (await decodeLogFooter(footer.payload, b, tick)) return built(b.finish(false, key));
    }
  }
  // The active segment, or a sealed one whose footer is not usable: every frame, checked.
  const scan = new TableBuilder(task.segmentId, 'log');
  const listing = await listSegment(fs, task.path, task.segmentId, task.sealed);
  for (let i = 0; i < listing.entries.length; i++) {
    const e = listing.entries[i];
    scan.add(e.type, e.offset, e.frameLen, task.segmentId, e.offset, false, e.chunk, e.payload);
    if (i % DECODE_SLICE === DECODE_SLICE - 1) {
      const t = tick(DECODE_SLICE);
      if (t) await t;
    }
  }
  return built(scan.finish(listing.damage.length > 0, ''));
}

function built(table: SegmentTableWire): CensusTaskResult {
  return { unchanged: false, table };
}

/** A sealed log segment's checked footer payload and file size, or undefined when header or footer is not usable. */
async function readLogFooter(fs: FileSystem, path: string): Promise<{ payload: Buffer; size: number } | undefined> {
  const fh = await fs.open(path, 'read');
  try {
    const size = await fh.size();
    const head = Buffer.alloc(Math.min(SEGMENT_HEADER_BYTES, size));
    await fh.read(head, 0, head.length, 0);
    try {
      decodeSegmentHeader(head);
    } catch {
      return undefined;
    }
    const payload = await readFooterPayload(fh, size);
    return payload && { payload, size };
  } finally {
    await fh.close();
  }
}

async function decodeLogFooter(payload: Buffer, b: TableBuilder, tick: Tick): Promise<boolean> {
  try {
    const d = new FooterDecoder(payload);
    const scratch: void[] = [];
    const id = b.id;
    while (!d.done) {
      d.next(DECODE_SLICE, scratch, (type, offset, frameLen, chunk, p) => b.add(type, offset, frameLen, id, offset, false, chunk, p));
      scratch.length = 0;
      const t = tick(DECODE_SLICE);
      if (t) await t;
    }
    return true;
  } catch (err) {
    if (err instanceof FormatError) return false;
    throw err;
  }
}

/**
 * 32-bit hash of the `bucket:str16 key:str16` bytes that COMMIT and DELETE payloads both hold after
 * `version:u8 seq:u64` (docs/FORMAT.md §3.1, §3.2), or -1 when they do not fit in the payload. The census
 * uses it to find COMMITs of a DELETE's key: a collision only makes a delete marker look held back (kept
 * one more pass), never a record look dead. FNV-1a, then a murmur3 finalizer so the low bits (the hash
 * table's slot) depend on every byte.
 */
export function nameHash(p: Uint8Array): number {
  if (p.length < 13) return -1;
  const bl = p[9] | (p[10] << 8);
  if (11 + bl + 2 > p.length) return -1;
  const kl = p[11 + bl] | (p[12 + bl] << 8);
  const end = 13 + bl + kl;
  if (end > p.length) return -1;
  let h = 0x811c9dc5;
  for (let i = 9; i < end; i++) h = Math.imul(h ^ p[i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function payloadSeq(p: Buffer | undefined): number {
  return p && p.length >= 9 ? Number(p.readBigUInt64LE(1)) : Infinity;
}

/** A growable column. */
class Column<A extends Float64Array | Uint32Array | Uint8Array> {
  n = 0;
  constructor(
    private a: A,
    private readonly make: (n: number) => A,
  ) {}
  push(v: number): void {
    if (this.n === this.a.length) {
      const next = this.make(Math.max(16, this.a.length * 2));
      next.set(this.a);
      this.a = next;
    }
    this.a[this.n++] = v;
  }
  values(): A {
    return this.a.subarray(0, this.n) as A;
  }
}

const f64 = (n: number): Float64Array => new Float64Array(n);
const u32 = (n: number): Uint32Array => new Uint32Array(n);
const u8 = (n: number): Uint8Array => new Uint8Array(n);

/** Collects rows, then packs them into one ArrayBuffer (finish). Exported for tests. */
export class TableBuilder {
  private readonly type = new Column(u8(1024), u8);
  private readonly flags = new Column(u8(1024), u8);
  private readonly offset = new Column(f64(1024), f64);
  private readonly frameLen = new Column(u32(1024), u32);
  private readonly originSegment = new Column(f64(1024), f64);
  private readonly originOffset = new Column(f64(1024), f64);
  private readonly seq = new Column(f64(1024), f64);
  private readonly nameHash = new Column(u32(1024), u32);
  private readonly payloadStart = new Column(u32(1024), u32);
  private readonly chunkUpload = new Column(f64(1024), f64);
  private readonly chunkPart = new Column(u32(1024), u32);
  private readonly chunkIndex = new Column(u32(1024), u32);
  private readonly chunkRaw = new Column(u32(1024), u32);
  private readonly refStart = new Column(u32(1024), u32);
  private readonly refSegment = new Column(f64(1024), f64);
  private readonly refOffset = new Column(f64(1024), f64);
  private blob = Buffer.allocUnsafeSlow(64 << 10);
  private blobBytes = 0;

  constructor(
    readonly id: number,
    readonly kind: 'log' | 'pack',
  ) {}

  add(type: number, offset: number, frameLen: number, originSegment: number, originOffset: number, damaged: boolean, chunk?: ChunkMeta, payload?: Buffer): void {
    let flags = damaged ? ROW_DAMAGED : 0;
    this.type.push(type);
    this.offset.push(offset);
    this.frameLen.push(frameLen);
    this.originSegment.push(originSegment);
    this.originOffset.push(originOffset);
    this.payloadStart.push(this.blobBytes);
    this.refStart.push(this.refSegment.n);
    this.chunkUpload.push(chunk?.uploadId ?? 0);
    this.chunkPart.push(chunk?.partNumber ?? 0);
    this.chunkIndex.push(chunk?.chunkIndex ?? 0);
    this.chunkRaw.push(chunk?.rawLen ?? 0);
    this.seq.push(type === RecordType.CHUNK ? Infinity : payloadSeq(payload));
    let hash = -1;
    if (payload && type !== RecordType.CHUNK) {
      this.append(payload);
      if (type === RecordType.COMMIT || type === RecordType.DELETE) hash = nameHash(payload);
      if (type === RecordType.COMMIT) flags |= this.addRefs(payload);
    }
    if (hash >= 0) flags |= ROW_NAMED;
    this.nameHash.push(hash >= 0 ? hash : 0);
    this.flags.push(flags);
  }

  /** The chunks a COMMIT names; returns the flags that say why there are none. */
  private addRefs(payload: Buffer): number {
    try {
      const m = decodeManifest(payload);
      // A cold object's chunks live in cold segments (their own id space, docs/FORMAT.md §2.6): none here.
      if (m.storageClass === StorageClass.COLD) return ROW_COLD;
      for (const c of m.chunks) {
        this.refSegment.push(c.segmentId);
        this.refOffset.push(c.offset);
      }
      return 0;
    } catch {
      return ROW_MANIFEST_BAD;
    }
  }

  private append(p: Buffer): void {
    if (this.blobBytes + p.length > this.blob.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(this.blob.length * 2, this.blobBytes + p.length));
      this.blob.copy(next, 0, 0, this.blobBytes);
      this.blob = next;
    }
    p.copy(this.blob, this.blobBytes);
    this.blobBytes += p.length;
  }

  /** Packs the rows into one ArrayBuffer; the builder is not used afterwards. */
  finish(damaged: boolean, footerKey: string): SegmentTableWire {
    const count = this.type.n;
    if (this.blobBytes > 0xffffffff) throw new RangeError(`census table of segment ${this.id}: ${this.blobBytes} payload bytes`);
    this.payloadStart.push(this.blobBytes);
    this.refStart.push(this.refSegment.n);
    const os = this.originSegment.values();
    const oo = this.originOffset.values();
    // Footers list records in file order, which in a log segment is origin order already; a pack holds
    // its inputs' records one input after the other, in no particular origin order.
    let sorted = true;
    for (let i = 1; i < count && sorted; i++) sorted = os[i - 1] < os[i] || (os[i - 1] === os[i] && oo[i - 1] <= oo[i]);
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    if (!sorted) order.sort((x, y) => os[x] - os[y] || oo[x] - oo[y]);
    const runs: number[] = [];
    for (let i = 0; i < count; i++) {
      if (i === 0 || os[order[i]] !== os[order[i - 1]]) {
        if (i > 0) runs.push(i);
        runs.push(os[order[i]], i);
      }
    }
    if (count > 0) runs.push(count);
    let minSeq = Infinity;
    const seq = this.seq.values();
    const type = this.type.values();
    for (let i = 0; i < count; i++) if (type[i] !== RecordType.CHUNK && seq[i] < minSeq) minSeq = seq[i];
    const wire: SegmentTableWire = {
      id: this.id, kind: this.kind, count, refCount: this.refSegment.n, runCount: runs.length / 3, blobBytes: this.blobBytes, minSeq, damaged, footerKey,
      buffer: new ArrayBuffer(0),
    };
    wire.buffer = new ArrayBuffer(layout(wire));
    const t = viewsOf(wire);
    t.type.set(type);
    t.flags.set(this.flags.values());
    t.offset.set(this.offset.values());
    t.frameLen.set(this.frameLen.values());
    t.originSegment.set(os);
    t.originOffset.set(oo);
    t.seq.set(seq);
    t.nameHash.set(this.nameHash.values());
    t.payloadStart.set(this.payloadStart.values());
    t.chunkUpload.set(this.chunkUpload.values());
    t.chunkPart.set(this.chunkPart.values());
    t.chunkIndex.set(this.chunkIndex.values());
    t.chunkRaw.set(this.chunkRaw.values());
    t.refStart.set(this.refStart.values());
    t.refSegment.set(this.refSegment.values());
    t.refOffset.set(this.refOffset.values());
    t.byOrigin.set(order);
    t.originRuns.set(runs);
    this.blob.copy(t.blob, 0, 0, this.blobBytes);
    return wire;
  }
}

type Columns = Omit<SegmentTable, 'id' | 'kind' | 'count' | 'minSeq' | 'damaged' | 'footerKey' | 'bytes'>;

/**
 * Carves the columns out of one buffer, 8-byte columns first so every view is aligned; with no buffer,
 * only measures. The one place that says where a column lives, for the builder and the reader alike.
 */
function carve(w: Omit<SegmentTableWire, 'buffer'>, buf?: ArrayBuffer): { bytes: number; cols?: Columns } {
  const { count: n, refCount: r } = w;
  let at = 0;
  const take = <A>(make: (b: ArrayBuffer, at: number, len: number) => A, len: number, size: number): A => {
    const v = buf ? make(buf, at, len) : (undefined as A);
    at += len * size;
    return v;
  };
  const F = (len: number): Float64Array => take((b, o, l) => new Float64Array(b, o, l), len, 8);
  const U = (len: number): Uint32Array => take((b, o, l) => new Uint32Array(b, o, l), len, 4);
  const B = (len: number): Uint8Array => take((b, o, l) => new Uint8Array(b, o, l), len, 1);
  const cols = {
    offset: F(n), originSegment: F(n), originOffset: F(n), seq: F(n), chunkUpload: F(n), refSegment: F(r), refOffset: F(r), originRuns: F(w.runCount * 3),
    frameLen: U(n), nameHash: U(n), payloadStart: U(n + 1), chunkPart: U(n), chunkIndex: U(n), chunkRaw: U(n), refStart: U(n + 1), byOrigin: U(n),
    type: B(n), flags: B(n),
    blob: take((b, o, l) => Buffer.from(b, o, l), w.blobBytes, 1),
  };
  return { bytes: at, cols: buf ? cols : undefined };
}

function layout(w: Omit<SegmentTableWire, 'buffer'>): number {
  return carve(w).bytes;
}

function viewsOf(w: SegmentTableWire): Columns {
  const c = carve(w, w.buffer);
  if (c.bytes !== w.buffer.byteLength || !c.cols) throw new RangeError(`census table of segment ${w.id}: ${w.buffer.byteLength} bytes, layout says ${c.bytes}`);
  return c.cols;
}

/** The table a wire form carries (views into its buffer: nothing is copied). */
export function openTable(w: SegmentTableWire): SegmentTable {
  return { id: w.id, kind: w.kind, count: w.count, minSeq: w.minSeq, damaged: w.damaged, footerKey: w.footerKey, bytes: w.buffer.byteLength, ...viewsOf(w) };
}

/** Payload of a metadata row (a view into the table's blob). */
export function rowPayload(t: SegmentTable, i: number): Buffer {
  return t.blob.subarray(t.payloadStart[i], t.payloadStart[i + 1]);
}

/** Chunk meta of a CHUNK row. */
export function rowChunk(t: SegmentTable, i: number): ChunkMeta {
  return { uploadId: t.chunkUpload[i], partNumber: t.chunkPart[i], chunkIndex: t.chunkIndex[i], rawLen: t.chunkRaw[i] };
}
