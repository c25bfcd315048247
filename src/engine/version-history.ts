// The versions of a bucket's keys that are not the current object: noncurrent versions and delete
// markers, per key, newest first. The current object of a key stays in the bucket's KeyIndex (so reads
// and listings of unversioned buckets never look here); a key whose newest version is a delete marker
// is absent from the KeyIndex and has that marker first in its history.
//
// Invariants: a key is here only with at least one slot; every slot here is older (by creation) than
// the key's current object; the keys are kept in UTF-8 order (a KeyIndex of chain ids) for listing.
import { KeyIndex, type KeyIndexSnapshot } from './key-index.js';

const NONE: readonly number[] = Object.freeze([]);

export class VersionHistory {
  private readonly index = new KeyIndex();
  private readonly chains: Array<number[] | undefined> = [];
  private readonly freeIds: number[] = [];
  /** Slots held, over all keys. */
  private slotCount = 0;
  /** Open snapshots (normally none or one: checkpoints run one at a time). */
  private readonly snapshots = new Set<HistorySnapshot>();

  /**
   * The histories as they are now, for a reader that works across event-loop turns while versions come
   * and go (a checkpoint being encoded). Copy-on-write: the key → chain-id tree is a B+tree snapshot,
   * and a chain the history is about to replace (or an id it is about to reuse) is kept aside first.
   * Close it when done.
   */
  snapshot(): HistorySnapshot {
    const snap = new HistorySnapshot(this.index.snapshot(), this.chains, this.chains.length, this.slotCount, () => this.snapshots.delete(snap));
    this.snapshots.add(snap);
    return snap;
  }

  /** Every change of `chains[id]` goes through here, so that open snapshots keep what they may read. */
  private assign(id: number, chain: number[] | undefined): void {
    for (const snap of this.snapshots) snap.keep(id);
    this.chains[id] = chain;
  }

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
        this.assign(id, undefined);
        this.freeIds.push(id);
      }
      return;
    }
    if (id >= 0) {
      this.assign(id, slots);
      return;
    }
    const fresh = this.freeIds.pop() ?? this.chains.length;
    this.assign(fresh, slots);
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
      const chain = this.chains[id] as number[];
      // In place (the load of a long history stays linear), unless a snapshot may be reading it.
      if (this.snapshots.size === 0) chain.push(slot);
      else this.assign(id, [...chain, slot]);
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

/** VersionHistory as it was when `snapshot()` was called (see there). */
export class HistorySnapshot {
  /** Chains replaced since the snapshot, as they were (undefined: the id was free). */
  private readonly kept = new Map<number, number[] | undefined>();
  private closed = false;

  constructor(
    private readonly keys: KeyIndexSnapshot,
    /** The history's live array of chains: read through `kept` for ids changed since. */
    private readonly chains: ReadonlyArray<number[] | undefined>,
    /** Ids at or past this did not exist when the snapshot was taken: no key of it refers to them. */
    private readonly idsAtSnapshot: number,
    /** Older versions and delete markers held, over all keys, when the snapshot was taken. */
    readonly slotCount: number,
    private readonly onClose: () => void,
  ) {}

  /** Called by the history before `chains[id]` changes. */
  keep(id: number): void {
    if (id < this.idsAtSnapshot && !this.kept.has(id)) this.kept.set(id, this.chains[id]);
  }

  /** Keys with a history, in UTF-8 order, with their older versions newest first. */
  *scan(): Generator<[string, readonly number[]]> {
    for (const [key, id] of this.keys) {
      if (this.closed) throw new Error('assertion failed: scan of a closed HistorySnapshot');
      const chain = this.kept.has(id) ? this.kept.get(id) : this.chains[id];
      if (chain) yield [key, chain];
    }
  }

  /** Stops keeping chains. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kept.clear();
    this.onClose();
  }
}
