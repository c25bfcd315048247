// The in-memory index entries, stored column-wise in typed arrays so that a million objects cost tens
// of bytes each instead of a JS object apiece. A slot holds what LIST and the read path need without
// touching disk: where the COMMIT record is, size, mtime, ETag digest, part count, storage class, seq.
// Everything else (content-type, metadata, chunk list) is read from the COMMIT record on demand.

import type { IndexEntry as ObjectEntry } from '../format/checkpoint.js';

export type { ObjectEntry };

/** Slots per page. A page is allocated whole, so this bounds the slack: ≤ 8,191 slots (~0.45 MB). */
const PAGE_SHIFT = 13;
const PAGE_SLOTS = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_SLOTS - 1;

/** The columns of PAGE_SLOTS consecutive slots. */
interface Page {
  seq: Float64Array;
  segmentId: Uint32Array;
  /** Segments are < 4 GiB (segmentBytesMax), so an offset fits in 32 bits. */
  commitOffset: Uint32Array;
  commitLen: Uint32Array;
  size: Float64Array;
  mtimeMs: Float64Array;
  /** 16 bytes a slot. */
  md5: Uint8Array;
  partCount: Uint16Array;
  storageClass: Uint8Array;
  flags: Uint8Array;
}

function newPage(): Page {
  return {
    seq: new Float64Array(PAGE_SLOTS),
    segmentId: new Uint32Array(PAGE_SLOTS),
    commitOffset: new Uint32Array(PAGE_SLOTS),
    commitLen: new Uint32Array(PAGE_SLOTS),
    size: new Float64Array(PAGE_SLOTS),
    mtimeMs: new Float64Array(PAGE_SLOTS),
    md5: new Uint8Array(PAGE_SLOTS * 16),
    partCount: new Uint16Array(PAGE_SLOTS),
    storageClass: new Uint8Array(PAGE_SLOTS),
    flags: new Uint8Array(PAGE_SLOTS),
  };
}

/**
 * The columns are kept in pages of 8,192 slots: growing adds a page and never copies what is there
 * (doubling whole columns copied every row: at a million objects a ~60 MB copy that held the event loop
 * for 50–90 ms, and the first new object after an open, which sizes the table exactly, always paid it).
 */
export class ObjectTable {
  private readonly pages: Page[] = [];
  /** Version ids are rare until versioning exists; kept sparse. */
  private versionIds = new Map<number, string>();
  private free: number[] = [];
  private used = 0;

  get count(): number {
    return this.used - this.free.length;
  }

  private get cap(): number {
    return this.pages.length * PAGE_SLOTS;
  }

  /** Pre-sizes the table for `n` slots (checkpoint load), a page at a time. */
  reserve(n: number): void {
    while (this.cap < n) this.pages.push(newPage());
  }

  /**
   * The rows as they are now, for a reader that works across event-loop turns while writes go on and
   * reuse freed slots (a checkpoint being encoded). Copy-on-write: nothing is copied up front; a row the
   * table is about to change or free is first kept aside for every open view that may read it, so the
   * cost is one saved row per slot changed while the view is open, not a copy of every column (which at
   * a million objects held the event loop for ~150 ms and took ~60 MB). Close the view when done.
   */
  view(): TableView {
    const v = new TableView(this, this.used, () => this.views.delete(v));
    this.views.add(v);
    return v;
  }

  /** Open views (normally none or one: checkpoints run one at a time). */
  private readonly views = new Set<TableView>();

  /** Keeps the current row of `slot` for every open view that may still read it, before it changes. */
  private preserve(slot: number): void {
    for (const v of this.views) v.keep(slot);
  }

  /**
   * Where the COMMIT of every held slot is, copied as one state: compaction's census marks from it
   * across event-loop turns while writes go on and reuse freed slots. Every held slot is an entry the
   * index holds (a current object, an older version or a delete marker).
   */
  commitLocations(): { segmentId: Uint32Array; offset: Uint32Array; frameLen: Uint32Array; count: number } {
    const n = this.used;
    const freed = new Uint8Array(n);
    for (const s of this.free) freed[s] = 1;
    const count = n - this.free.length;
    const segmentId = new Uint32Array(count);
    const offset = new Uint32Array(count);
    const frameLen = new Uint32Array(count);
    for (let s = 0, k = 0; s < n; s++) {
      if (freed[s] === 1) continue;
      const p = this.pages[s >>> PAGE_SHIFT]!;
      const i = s & PAGE_MASK;
      segmentId[k] = p.segmentId[i];
      offset[k] = p.commitOffset[i];
      frameLen[k++] = p.commitLen[i];
    }
    return { segmentId, offset, frameLen, count };
  }

  alloc(e: ObjectEntry): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.cap) this.pages.push(newPage());
      slot = this.used++;
    }
    this.write(slot, e);
    return slot;
  }

  write(slot: number, e: ObjectEntry): void {
    if (this.views.size > 0) this.preserve(slot);
    const p = this.pages[slot >>> PAGE_SHIFT]!;
    const i = slot & PAGE_MASK;
    p.seq[i] = e.seq;
    p.segmentId[i] = e.segmentId;
    p.commitOffset[i] = e.commitOffset;
    p.commitLen[i] = e.commitLen;
    p.size[i] = e.size;
    p.mtimeMs[i] = e.mtimeMs;
    p.md5.set(e.md5, i * 16);
    p.partCount[i] = e.partCount;
    p.storageClass[i] = e.storageClass;
    p.flags[i] = e.flags;
    if (e.versionId !== '') this.versionIds.set(slot, e.versionId);
    else this.versionIds.delete(slot);
  }

  release(slot: number): void {
    if (this.views.size > 0) this.preserve(slot);
    this.versionIds.delete(slot);
    this.free.push(slot);
  }

  getSeq(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT]!.seq[slot & PAGE_MASK]!;
  }

  read(slot: number): ObjectEntry {
    const p = this.pages[slot >>> PAGE_SHIFT]!;
    const i = slot & PAGE_MASK;
    return {
      seq: p.seq[i]!,
      segmentId: p.segmentId[i]!,
      commitOffset: p.commitOffset[i]!,
      commitLen: p.commitLen[i]!,
      size: p.size[i]!,
      mtimeMs: p.mtimeMs[i]!,
      md5: Buffer.from(p.md5.subarray(i * 16, i * 16 + 16)),
      partCount: p.partCount[i]!,
      storageClass: p.storageClass[i]!,
      flags: p.flags[i]!,
      versionId: this.versionIds.get(slot) ?? '',
    };
  }

  /** `read` into `e` (no allocation): fills every field; `e.md5` must be a 16-byte buffer, which is overwritten. */
  readInto(slot: number, e: ObjectEntry): ObjectEntry {
    const p = this.pages[slot >>> PAGE_SHIFT]!;
    const i = slot & PAGE_MASK;
    e.seq = p.seq[i]!;
    e.segmentId = p.segmentId[i]!;
    e.commitOffset = p.commitOffset[i]!;
    e.commitLen = p.commitLen[i]!;
    e.size = p.size[i]!;
    e.mtimeMs = p.mtimeMs[i]!;
    const at = i * 16;
    for (let b = 0; b < 16; b++) e.md5[b] = p.md5[at + b]!;
    e.partCount = p.partCount[i]!;
    e.storageClass = p.storageClass[i]!;
    e.flags = p.flags[i]!;
    e.versionId = this.versionIds.get(slot) ?? '';
    return e;
  }

  etag(slot: number): string {
    const p = this.pages[slot >>> PAGE_SHIFT]!;
    const i = slot & PAGE_MASK;
    const hex = Buffer.from(p.md5.buffer, p.md5.byteOffset + i * 16, 16).toString('hex');
    return p.partCount[i]! > 0 ? `${hex}-${p.partCount[i]}` : hex;
  }
  sizeOf(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT]!.size[slot & PAGE_MASK]!;
  }
  mtimeOf(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT]!.mtimeMs[slot & PAGE_MASK]!;
  }
  flagsOf(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT]!.flags[slot & PAGE_MASK]!;
  }
  versionIdOf(slot: number): string {
    return this.versionIds.get(slot) ?? '';
  }
  storageClassOf(slot: number): number {
    return this.pages[slot >>> PAGE_SHIFT]!.storageClass[slot & PAGE_MASK]!;
  }
}

/** A read-only view of an ObjectTable as it was when `view()` was called (see there). */
export class TableView {
  /** Rows changed since the view was taken, as they were. */
  private readonly kept = new Map<number, ObjectEntry>();
  private closed = false;

  constructor(
    private readonly table: ObjectTable,
    /** Slots at or past this were not in use when the view was taken: no reader of the view asks for them. */
    private readonly used: number,
    private readonly onClose: () => void,
  ) {}

  /** Called by the table before slot `slot` changes. */
  keep(slot: number): void {
    if (slot < this.used && !this.kept.has(slot)) this.kept.set(slot, this.table.read(slot));
  }

  /** The row of `slot` as it was when the view was taken. Throws once the view is closed (a bug). */
  read(slot: number): ObjectEntry {
    if (this.closed) throw new Error('assertion failed: read from a closed TableView');
    return this.kept.get(slot) ?? this.table.read(slot);
  }

  /** `read` into `e` (see ObjectTable.readInto). */
  readInto(slot: number, e: ObjectEntry): ObjectEntry {
    if (this.closed) throw new Error('assertion failed: read from a closed TableView');
    const k = this.kept.get(slot);
    if (k === undefined) return this.table.readInto(slot, e);
    Object.assign(e, k, { md5: e.md5 });
    k.md5.copy(e.md5);
    return e;
  }

  /** Rows kept aside so far (for tests and stats). */
  get keptRows(): number {
    return this.kept.size;
  }

  /** Stops keeping rows and releases those kept. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kept.clear();
    this.onClose();
  }
}
