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
   * A copy of the used slots as they are now, for a reader that works across event-loop turns (a
   * checkpoint being encoded while writes go on): memcpy of the columns, ~56 bytes a slot.
   */
  snapshot(): ObjectTable {
    const t = new ObjectTable();
    const n = this.used;
    t.seq = this.seq.slice(0, n);
    t.segmentId = this.segmentId.slice(0, n);
    t.commitOffset = this.commitOffset.slice(0, n);
    t.commitLen = this.commitLen.slice(0, n);
    t.size = this.size.slice(0, n);
    t.mtimeMs = this.mtimeMs.slice(0, n);
    t.md5 = this.md5.slice(0, n * 16);
    t.partCount = this.partCount.slice(0, n);
    t.storageClass = this.storageClass.slice(0, n);
    t.flags = this.flags.slice(0, n);
    t.versionIds = new Map(this.versionIds);
    t.cap = n;
    t.used = n;
    return t;
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
