// Per-bucket ordered key → slot map built for memory: a sorted array of keys with a parallel Int32Array
// of slots, plus a small unsorted Map of recent inserts that is merged in when it grows or when an
// ordered scan needs it. Deleting a key from the sorted part leaves a tombstone (slot -1) that the next
// merge drops. Lookups: Map probe + binary search. Invariant: a key is in at most one of the two parts.
import { compareUtf8 } from './utf8-order.js';

const MERGE_MIN = 4096;

export class KeyIndex {
  private keys: string[] = [];
  private slots: Int32Array = new Int32Array(16);
  private pending = new Map<string, number>();
  private tombstones = 0;

  get size(): number {
    return this.keys.length - this.tombstones + this.pending.size;
  }

  private find(key: string): number {
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareUtf8(this.keys[mid], key);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -(lo + 1);
  }

  get(key: string): number {
    const p = this.pending.get(key);
    if (p !== undefined) return p;
    const i = this.find(key);
    return i >= 0 ? this.slots[i] : -1;
  }

  set(key: string, slot: number): void {
    if (this.pending.has(key)) {
      this.pending.set(key, slot);
      return;
    }
    const i = this.find(key);
    if (i >= 0) {
      if (this.slots[i] === -1) this.tombstones--;
      this.slots[i] = slot;
      return;
    }
    this.pending.set(key, slot);
    if (this.pending.size >= Math.max(MERGE_MIN, this.keys.length >>> 3)) this.merge();
  }

  /** Returns the removed slot, or -1 when the key was absent. */
  delete(key: string): number {
    const p = this.pending.get(key);
    if (p !== undefined) {
      this.pending.delete(key);
      return p;
    }
    const i = this.find(key);
    if (i < 0 || this.slots[i] === -1) return -1;
    const slot = this.slots[i];
    this.slots[i] = -1;
    this.tombstones++;
    if (this.tombstones > MERGE_MIN && this.tombstones > this.keys.length >>> 2) this.merge();
    return slot;
  }

  /** Loads keys already in UTF-8 order (a checkpoint); only valid on an empty index. */
  loadSorted(keys: string[], slots: Int32Array): void {
    this.keys = keys;
    this.slots = slots;
    this.pending.clear();
    this.tombstones = 0;
  }

  private merge(): void {
    const add = [...this.pending.keys()].sort(compareUtf8);
    const total = this.keys.length - this.tombstones + add.length;
    const keys: string[] = new Array(total);
    const slots = new Int32Array(Math.max(16, total));
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < this.keys.length || j < add.length) {
      if (i < this.keys.length && this.slots[i] === -1) {
        i++;
        continue;
      }
      if (j >= add.length || (i < this.keys.length && compareUtf8(this.keys[i], add[j]) < 0)) {
        keys[k] = this.keys[i];
        slots[k++] = this.slots[i++];
      } else {
        keys[k] = add[j];
        slots[k++] = this.pending.get(add[j]) as number;
        j++;
      }
    }
    this.keys = keys;
    this.slots = slots;
    this.pending.clear();
    this.tombstones = 0;
  }

  /**
   * The live keys in UTF-8 order with their slots as they are now (slot -1: deleted, skip it). The key
   * array is shared (a merge replaces it, nothing writes into it); the slots are a copy.
   */
  snapshot(): { keys: readonly string[]; slots: Int32Array; count: number } {
    if (this.pending.size > 0 || this.tombstones > 0) this.merge();
    return { keys: this.keys, slots: this.slots.slice(0, this.keys.length), count: this.keys.length };
  }

  /** Iterates live (key, slot) pairs in UTF-8 order starting at the first key > `after` (or ≥ `from`). */
  *scan(opts: { after?: string; from?: string } = {}): Generator<[string, number]> {
    if (this.pending.size > 0 || this.tombstones > 0) this.merge();
    const keys = this.keys;
    const slots = this.slots;
    let i = 0;
    if (opts.after !== undefined) {
      const f = this.find(opts.after);
      i = f >= 0 ? f + 1 : -(f + 1);
    } else if (opts.from !== undefined) {
      const f = this.find(opts.from);
      i = f >= 0 ? f : -(f + 1);
    }
    for (; i < keys.length; i++) {
      // A concurrent merge replaces the arrays; this generator keeps reading its own snapshot.
      if (slots[i] !== -1) yield [keys[i], slots[i]];
    }
  }
}
