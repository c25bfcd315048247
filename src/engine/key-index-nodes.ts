// The nodes of the KeyIndex B+tree (src/engine/key-index.ts) and the read-only walks over them: search
// within a node, an ordered cursor, and the bulk build from sorted keys. Nothing here changes a node
// that already belongs to a tree; the mutations live in key-index.ts.
//
// Layout: leaves hold up to leafMax keys in UTF-8 byte order (compareUtf8) with a parallel Int32Array
// of slots; branches hold up to branchMax children and, for i ≥ 1, a separator keys[i] such that every
// key under children[i - 1] is < keys[i] ≤ every key under children[i] (keys[0] is unused). A separator
// need not be a live key: deleting a leaf's first key leaves it in place. Node sizes are per tree (tests
// use tiny ones to reach deep trees with few keys). Every node's arrays have one spare entry, so an
// insert can overflow a full node before it is split. Entries at index ≥ n are unused and hold '' (no
// reference to a removed key, which the GC could then not collect).
//
// `gen` is the generation a node was created in. A snapshot freezes every node that exists when it is
// taken (the index moves to a new generation); the live tree copies a frozen node before changing it.
import { compareUtf8 } from './utf8-order.js';

/** Keys per leaf at most, by default. An insert shifts at most this many entries; a leaf copy is ~3 KiB. */
export const LEAF_MAX = 256;
/** Children per branch at most, by default (two levels of branches cover 8 million keys). */
export const BRANCH_MAX = 128;

export class Leaf {
  constructor(
    public gen: number,
    public n: number,
    readonly keys: string[],
    readonly slots: Int32Array,
  ) {}

  /** A leaf for up to `max` keys (and the one spare). */
  static empty(gen: number, max: number): Leaf {
    return new Leaf(gen, 0, new Array<string>(max + 1).fill(''), new Int32Array(max + 1));
  }

  clone(gen: number): Leaf {
    return new Leaf(gen, this.n, this.keys.slice(), this.slots.slice());
  }
}

export class Branch {
  constructor(
    public gen: number,
    public n: number,
    readonly keys: string[],
    readonly children: TreeNode[],
  ) {}

  /** A branch for up to `max` children (and the one spare). */
  static empty(gen: number, max: number): Branch {
    return new Branch(gen, 0, new Array<string>(max + 1).fill(''), new Array<TreeNode>(max + 1));
  }

  clone(gen: number): Branch {
    return new Branch(gen, this.n, this.keys.slice(), this.children.slice());
  }
}

/** Which one a node is follows from its depth: the tree's leaves are all at depth `height`. */
export type TreeNode = Leaf | Branch;

/**
 * True when every UTF-16 unit of `key` is below U+D800. Then native string comparison with `key` gives
 * its UTF-8 byte order: compareUtf8 corrects the UTF-16 order only where both strings have a unit
 * ≥ U+D800 at their first difference, and this key has none (keys of any other shape take compareUtf8).
 * Native comparison is 3-4× faster on keys that share long prefixes (`logs/2026/11/25/host-07/…`).
 */
export function nativeOrderHolds(key: string): boolean {
  return !HIGH_UNIT.test(key);
}
const HIGH_UNIT = /[\uD800-\uFFFF]/;


/** The index of `key` in the leaf, or -(insertion point + 1) when it is absent. */
export function leafFind(leaf: Leaf, key: string, native = nativeOrderHolds(key)): number {
  const keys = leaf.keys;
  let lo = 0;
  let hi = leaf.n - 1;
  if (native) {
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid];
      if (k === key) return mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -(lo + 1);
  }
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(keys[mid], key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -(lo + 1);
}

/** The child whose key range holds `key`: the last i with i = 0 or keys[i] ≤ key. */
export function branchChild(b: Branch, key: string, native = nativeOrderHolds(key)): number {
  const keys = b.keys;
  let lo = 1;
  let hi = b.n - 1;
  if (native) {
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] <= key) lo = mid + 1;
      else hi = mid - 1;
    }
    return lo - 1;
  }
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUtf8(keys[mid], key) <= 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo - 1;
}

/**
 * A position in a tree, for ordered iteration. It holds the nodes on its path, so it is valid only while
 * those nodes do not change: always for a snapshot (frozen nodes); the live index's scan re-seeks after
 * any change (see KeyIndex.scan).
 */
export class Cursor {
  private readonly branches: Branch[] = [];
  private readonly at: number[] = [];
  private height = 0;
  /** The current leaf; undefined once past the last key. */
  leaf: Leaf | undefined;
  pos = 0;

  /** Moves to the first key ≥ `key` (`inclusive`) or > `key`; to the first key when `key` is undefined. */
  seek(root: TreeNode, height: number, key: string | undefined, inclusive: boolean): void {
    this.height = height;
    let node = root;
    for (let d = 0; d < height; d++) {
      const b = node as Branch;
      const i = key === undefined ? 0 : branchChild(b, key);
      this.branches[d] = b;
      this.at[d] = i;
      node = b.children[i];
    }
    const leaf = node as Leaf;
    this.leaf = leaf;
    if (key === undefined) this.pos = 0;
    else {
      const f = leafFind(leaf, key);
      this.pos = f >= 0 ? (inclusive ? f : f + 1) : -(f + 1);
    }
    this.settle();
  }

  next(): void {
    this.pos++;
    this.settle();
  }

  /** Steps over the end of a leaf (or an empty root leaf) to the next leaf that has a key there. */
  private settle(): void {
    while (this.leaf !== undefined && this.pos >= this.leaf.n) this.nextLeaf();
  }

  private nextLeaf(): void {
    let d = this.height - 1;
    while (d >= 0 && this.at[d] + 1 >= this.branches[d].n) d--;
    if (d < 0) {
      this.leaf = undefined;
      return;
    }
    this.at[d]++;
    let node = this.branches[d].children[this.at[d]];
    for (d++; d < this.height; d++) {
      this.branches[d] = node as Branch;
      this.at[d] = 0;
      node = (node as Branch).children[0];
    }
    this.leaf = node as Leaf;
    this.pos = 0;
  }
}

/** Splits `total` items into ceil(total / max) runs of nearly equal length (each ≥ max / 2 when total > max). */
function evenRuns(total: number, max: number): { runs: number; base: number; extra: number } {
  const runs = Math.max(1, Math.ceil(total / max));
  return { runs, base: Math.floor(total / runs), extra: total % runs };
}

/**
 * Builds a tree of generation `gen` from keys in strictly increasing UTF-8 order, leaves as full as
 * evenness allows (the first insert into a full leaf splits it). O(n); returns the root and height.
 */
export function buildTree(keys: readonly string[], slots: Int32Array, gen: number, leafMax: number, branchMax: number): { root: TreeNode; height: number } {
  let level: TreeNode[] = [];
  let mins: string[] = [];
  {
    const { runs, base, extra } = evenRuns(keys.length, leafMax);
    let at = 0;
    for (let r = 0; r < runs; r++) {
      const len = base + (r < extra ? 1 : 0);
      const leaf = Leaf.empty(gen, leafMax);
      for (let j = 0; j < len; j++) leaf.keys[j] = keys[at + j];
      leaf.slots.set(slots.subarray(at, at + len));
      leaf.n = len;
      level.push(leaf);
      mins.push(len > 0 ? keys[at] : '');
      at += len;
    }
  }
  let height = 0;
  while (level.length > 1) {
    const { runs, base, extra } = evenRuns(level.length, branchMax);
    const up: TreeNode[] = [];
    const upMins: string[] = [];
    let at = 0;
    for (let r = 0; r < runs; r++) {
      const len = base + (r < extra ? 1 : 0);
      const b = Branch.empty(gen, branchMax);
      for (let j = 0; j < len; j++) {
        b.children[j] = level[at + j];
        if (j > 0) b.keys[j] = mins[at + j];
      }
      b.n = len;
      up.push(b);
      upMins.push(mins[at]);
      at += len;
    }
    level = up;
    mins = upMins;
    height++;
  }
  return { root: level[0], height };
}
