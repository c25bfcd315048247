// The in-memory index entries, stored column-wise in typed arrays so that a million objects cost tens
// of bytes each instead of a JS object apiece. A slot holds what LIST and the read path need without
// touching disk: where the COMMIT record is, size, mtime, ETag digest, part count, storage class, seq.
// Everything else (content-type, metadata, chunk list) is read from the COMMIT record on demand.

import type { IndexEntry as ObjectEntry } from '../format/checkpoint.js';

export type { ObjectEntry };

export class ObjectTable {
  private cap = 0;
  private seq = new Float64Array(0);
  private segmentId = new Uint32Array(0);
  /** Segments are < 4 GiB (segmentBytesMax), so an offset fits in 32 bits. */
  private commitOffset = new Uint32Array(0);
  private commitLen = new Uint32Array(0);
  private size = new Float64Array(0);
  private mtimeMs = new Float64Array(0);
  private md5 = new Uint8Array(0);
  private partCount = new Uint16Array(0);
  private storageClass = new Uint8Array(0);
  private flags = new Uint8Array(0);
  /** Version ids are rare until versioning exists; kept sparse. */
  private versionIds = new Map<number, string>();
  private free: number[] = [];
  private used = 0;

  get count(): number {
    return this.used - this.free.length;
  }

  private grow(exact?: number): void {
    const cap = exact ?? Math.max(1024, this.cap * 2);
    const g = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T, per = 1): T => {
      const n = new (a.constructor as new (len: number) => T)(cap * per);
      n.set(a);
      return n;
    };
    this.seq = g(this.seq);
    this.segmentId = g(this.segmentId);
    this.commitOffset = g(this.commitOffset);
    this.commitLen = g(this.commitLen);
    this.size = g(this.size);
    this.mtimeMs = g(this.mtimeMs);
    this.md5 = g(this.md5, 16);
    this.partCount = g(this.partCount);
    this.storageClass = g(this.storageClass);
    this.flags = g(this.flags);
    this.cap = cap;
  }

  /** Pre-sizes the table to exactly `n` slots (checkpoint load): no doubling slack. */
  reserve(n: number): void {
    if (this.cap < n) this.grow(n);
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
      segmentId[k] = this.segmentId[s];
      offset[k] = this.commitOffset[s];
      frameLen[k++] = this.commitLen[s];
    }
    return { segmentId, offset, frameLen, count };
  }

  alloc(e: ObjectEntry): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.cap) this.grow();
      slot = this.used++;
    }
    this.write(slot, e);
    return slot;
  }

  write(slot: number, e: ObjectEntry): void {
    if (this.views.size > 0) this.preserve(slot);
    this.seq[slot] = e.seq;
    this.segmentId[slot] = e.segmentId;
    this.commitOffset[slot] = e.commitOffset;
    this.commitLen[slot] = e.commitLen;
    this.size[slot] = e.size;
    this.mtimeMs[slot] = e.mtimeMs;
    this.md5.set(e.md5, slot * 16);
    this.partCount[slot] = e.partCount;
    this.storageClass[slot] = e.storageClass;
    this.flags[slot] = e.flags;
    if (e.versionId !== '') this.versionIds.set(slot, e.versionId);
    else this.versionIds.delete(slot);
  }

  release(slot: number): void {
    if (this.views.size > 0) this.preserve(slot);
    this.versionIds.delete(slot);
    this.free.push(slot);
  }

  getSeq(slot: number): number {
    return this.seq[slot];
  }

  read(slot: number): ObjectEntry {
    return {
      seq: this.seq[slot],
      segmentId: this.segmentId[slot],
      commitOffset: this.commitOffset[slot],
      commitLen: this.commitLen[slot],
      size: this.size[slot],
      mtimeMs: this.mtimeMs[slot],
      md5: Buffer.from(this.md5.subarray(slot * 16, slot * 16 + 16)),
      partCount: this.partCount[slot],
      storageClass: this.storageClass[slot],
      flags: this.flags[slot],
      versionId: this.versionIds.get(slot) ?? '',
    };
  }

  /** `read` into `e` (no allocation): fills every field; `e.md5` must be a 16-byte buffer, which is overwritten. */
  readInto(slot: number, e: ObjectEntry): ObjectEntry {
    e.seq = this.seq[slot];
    e.segmentId = this.segmentId[slot];
    e.commitOffset = this.commitOffset[slot];
    e.commitLen = this.commitLen[slot];
    e.size = this.size[slot];
    e.mtimeMs = this.mtimeMs[slot];
    const at = slot * 16;
    for (let i = 0; i < 16; i++) e.md5[i] = this.md5[at + i];
    e.partCount = this.partCount[slot];
    e.storageClass = this.storageClass[slot];
    e.flags = this.flags[slot];
    e.versionId = this.versionIds.get(slot) ?? '';
    return e;
  }

  etag(slot: number): string {
    const hex = Buffer.from(this.md5.buffer, this.md5.byteOffset + slot * 16, 16).toString('hex');
    return this.partCount[slot] > 0 ? `${hex}-${this.partCount[slot]}` : hex;
  }
  sizeOf(slot: number): number {
    return this.size[slot];
  }
  mtimeOf(slot: number): number {
    return this.mtimeMs[slot];
  }
  flagsOf(slot: number): number {
    return this.flags[slot];
  }
  versionIdOf(slot: number): string {
    return this.versionIds.get(slot) ?? '';
  }
  storageClassOf(slot: number): number {
    return this.storageClass[slot];
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
