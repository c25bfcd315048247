// The versions of a bucket's keys that are not the current object: noncurrent versions and delete
// markers, per key, newest first. The current object of a key stays in the bucket's KeyIndex (so reads
// and listings of unversioned buckets never look here); a key whose newest version is a delete marker
// is absent from the KeyIndex and has that marker first in its history.
//
// Invariants: a key is here only with at least one slot; every slot here is older (by creation) than
// the key's current object; the keys are kept in UTF-8 order (a KeyIndex of chain ids) for listing.
import { KeyIndex } from './key-index.js';

const NONE: readonly number[] = Object.freeze([]);

export class VersionHistory {
  private readonly index = new KeyIndex();
  private readonly chains: Array<number[] | undefined> = [];
  private readonly freeIds: number[] = [];
  /** Slots held, over all keys. */
  private slotCount = 0;

  /** Keys with a history. */
  get keyCount(): number {
    return this.index.size;
  }

  get size(): number {
    return this.slotCount;
  }

  /** The key's older versions, newest first (read-only view; empty if none). */
  get(key: string): readonly number[] {
    const id = this.index.get(key);
    return id < 0 ? NONE : (this.chains[id] as number[]);
  }

  /** Replaces the key's history (an empty list removes the key). */
  set(key: string, slots: number[]): void {
    const id = this.index.get(key);
    const before = id < 0 ? 0 : (this.chains[id] as number[]).length;
    this.slotCount += slots.length - before;
    if (slots.length === 0) {
      if (id >= 0) {
        this.index.delete(key);
        this.chains[id] = undefined;
        this.freeIds.push(id);
      }
      return;
    }
    if (id >= 0) {
      this.chains[id] = slots;
      return;
    }
    const fresh = this.freeIds.pop() ?? this.chains.length;
    this.chains[fresh] = slots;
    this.index.set(key, fresh);
  }

  /** Adds `slot` as the newest older version of `key`. */
  pushNewest(key: string, slot: number): void {
    this.set(key, [slot, ...this.get(key)]);
  }

  /** Adds `slot` as the oldest version of `key` (checkpoint load, which lists versions newest first). */
  pushOldest(key: string, slot: number): void {
    const id = this.index.get(key);
    if (id < 0) this.set(key, [slot]);
    else {
      (this.chains[id] as number[]).push(slot);
      this.slotCount++;
    }
  }

  /** Keys with a history, in UTF-8 order, from the first key ≥ `from` (or > `after`). */
  *scan(opts: { after?: string; from?: string } = {}): Generator<[string, readonly number[]]> {
    for (const [key, id] of this.index.scan(opts)) {
      const chain = this.chains[id];
      if (chain) yield [key, chain];
    }
  }

  /** Every slot held (for releasing them when the bucket goes away). */
  *slots(): Generator<number> {
    for (const chain of this.chains) if (chain) yield* chain;
  }
}
