// Per-bucket ordered key → slot map: a B+tree in UTF-8 byte order (nodes in key-index-nodes.ts).
//
// Why a B+tree: every PUT of a new key calls set() on the main thread, so no single call may do work
// that grows with the number of keys. The previous design (a sorted array plus a Map of recent inserts
// merged in when it reached n/8) blocked the event loop for hundreds of milliseconds per merge at a
// million keys. Here every operation touches one root-to-leaf path and at most one sibling per level:
// set, delete and get cost O(log n) comparisons plus O(leafMax + height × branchMax) entry moves,
// whatever the size. An ordered scan costs O(log n) to start and O(1) per key.
//
// Invariants (checked by checkInvariants(), which tests call):
// - all leaves are at depth `height`; keys increase strictly in UTF-8 order across the leaves in order;
// - branch separators bound their children's keys (see key-index-nodes.ts); every branch has ≥ 2
//   children; every leaf but an empty root leaf has ≥ 1 key; `count` is the number of keys;
// - a node of the current generation has only current-generation ancestors, and a node of an older
//   generation is never written (it may belong to a snapshot): writers copy it first (own*()).
// Slots are non-negative int32 (object table slots); -1 is what get/delete return for "absent".
import { assert } from '../util/errors.js';
import { ownedString } from '../util/owned-string.js';
import { Branch, BRANCH_MAX, branchChild, buildTree, Cursor, Leaf, LEAF_MAX, leafFind, nativeOrderHolds, type TreeNode } from './key-index-nodes.js';
import { compareUtf8 } from './utf8-order.js';

/** A UTF-16 unit where UTF-16 order and UTF-8 order can part: a surrogate, or a unit ≥ U+E000. */
const HIGH_UNIT = /[\ud800-\uffff]/;

/**
 * Asserts that `keys` increase strictly in UTF-8 order: out of order, lookups would silently miss keys.
 * Native string comparison (UTF-16 order, ~4× faster than compareUtf8 on long shared prefixes) decides
 * unless a key has a unit ≥ U+D800, where the two orders can differ; then compareUtf8 does.
 */
function assertIncreasing(keys: readonly string[]): void {
  let prevHigh = keys.length > 0 && HIGH_UNIT.test(keys[0]);
  for (let i = 1; i < keys.length; i++) {
    const a = keys[i - 1];
    const b = keys[i];
    const high = HIGH_UNIT.test(b);
    const ordered = a < b && !prevHigh && !high ? true : compareUtf8(a, b) < 0;
    if (!ordered) assert(false, `KeyIndex.loadSorted: ${JSON.stringify(b)} is not after ${JSON.stringify(a)}`);
    prevHigh = high;
  }
}

/** The index as it was when snapshot() was called: iterates (key, slot) in UTF-8 order. */
export class KeyIndexSnapshot implements Iterable<[string, number]> {
  constructor(
    private readonly root: TreeNode,
    private readonly height: number,
    /** Number of keys (what the iteration yields). */
    readonly count: number,
  ) {}

  *[Symbol.iterator](): Generator<[string, number]> {
    const c = new Cursor();
    c.seek(this.root, this.height, undefined, true);
    for (let leaf = c.leaf; leaf !== undefined; c.next(), leaf = c.leaf) yield [leaf.keys[c.pos], leaf.slots[c.pos]];
  }
}

export interface KeyIndexOptions {
  /** Keys per leaf at most (default 256, minimum 4). */
  leafMax?: number;
  /** Children per branch at most (default 128, minimum 4). */
  branchMax?: number;
}

export class KeyIndex {
  private readonly leafMax: number;
  /** A non-root leaf below this after a delete is merged with or refilled from a sibling. */
  private readonly leafMin: number;
  private readonly branchMax: number;
  /** As leafMin, for branches; ≥ 2, so that every branch keeps a sibling to rebalance with. */
  private readonly branchMin: number;
  private root: TreeNode;
  /** Branch levels above the leaves (0: the root is a leaf). */
  private height = 0;
  private count = 0;
  /** Generation of the nodes this index may write in place; snapshot() moves to the next one. */
  private gen = 0;
  /** Changes with every write: a running scan sees that its cursor may be stale and seeks again. */
  private version = 0;
  /** The branches on the path of the last descend() and the child taken in each (reused, no allocation). */
  private readonly path: Branch[] = [];
  private readonly pathAt: number[] = [];
  /**
   * What the last get() found, while its descend() is still the last one and nothing was written since: a
   * set() of the same key right after it (the commit of a new key does get, then set) reuses that
   * descent. About 5 % of replaying the log at open (docs/PERFORMANCE.md, session 23).
   */
  private memoKey: string | undefined;
  private memoFound = 0;
  private memoVersion = -1;

  constructor(opts: KeyIndexOptions = {}) {
    this.leafMax = opts.leafMax ?? LEAF_MAX;
    this.branchMax = opts.branchMax ?? BRANCH_MAX;
    assert(Number.isInteger(this.leafMax) && this.leafMax >= 4, `KeyIndex leafMax ${this.leafMax} is below 4`);
    assert(Number.isInteger(this.branchMax) && this.branchMax >= 4, `KeyIndex branchMax ${this.branchMax} is below 4`);
    this.leafMin = this.leafMax >>> 2;
    this.branchMin = Math.max(2, this.branchMax >>> 2);
    this.root = Leaf.empty(0, this.leafMax);
  }

  get size(): number {
    return this.count;
  }

  /** The leaf that holds or would hold `key`; records the path in path/pathAt. */
  private descend(key: string, native: boolean): Leaf {
    this.memoKey = undefined;
    let node = this.root;
    for (let d = 0; d < this.height; d++) {
      const b = node as Branch;
      const i = branchChild(b, key, native);
      this.path[d] = b;
      this.pathAt[d] = i;
      node = b.children[i];
    }
    return node as Leaf;
  }

  /** Makes the nodes on the recorded path writable (copies frozen ones, top down); returns the leaf. */
  private ownPath(): Leaf {
    if (this.root.gen !== this.gen) this.root = this.root.clone(this.gen);
    let node = this.root;
    for (let d = 0; d < this.height; d++) {
      const b = node as Branch;
      this.path[d] = b;
      node = this.ownChild(b, this.pathAt[d]);
    }
    return node as Leaf;
  }

  /** children[i] of a writable branch, made writable. */
  private ownChild(b: Branch, i: number): TreeNode {
    let c = b.children[i];
    if (c.gen !== this.gen) {
      c = c.clone(this.gen);
      b.children[i] = c;
    }
    return c;
  }

  get(key: string): number {
    const native = nativeOrderHolds(key);
    const leaf = this.descend(key, native);
    const i = leafFind(leaf, key, native);
    this.memoKey = key;
    this.memoFound = i;
    this.memoVersion = this.version;
    return i >= 0 ? leaf.slots[i] : -1;
  }

  set(key: string, slot: number): void {
    if (!(slot >= 0 && (slot | 0) === slot)) assert(false, `KeyIndex slot ${slot} is not a non-negative int32`);
    const native = nativeOrderHolds(key);
    const found = key === this.memoKey && this.memoVersion === this.version ? this.memoFound : leafFind(this.descend(key, native), key, native);
    this.memoKey = undefined;
    const leaf = this.ownPath();
    this.version++;
    if (found >= 0) {
      leaf.slots[found] = slot;
      return;
    }
    const pos = -(found + 1);
    const n = leaf.n;
    const keys = leaf.keys;
    for (let j = n; j > pos; j--) keys[j] = keys[j - 1];
    keys[pos] = ownedString(key); // a flat copy: a key sliced from a request URL would keep the URL alive
    leaf.slots.copyWithin(pos + 1, pos, n);
    leaf.slots[pos] = slot;
    leaf.n = n + 1;
    this.count++;
    if (leaf.n > this.leafMax && !this.spillLeaf(leaf)) this.splitLeaf(leaf, pos);
  }

  /**
   * Evens out an overflowing leaf of the recorded path with a sibling that has room, instead of splitting
   * it: splits alone leave leaves ~70% full under random inserts; spilling first raises that (memory is
   * mostly leaf capacity). Returns false when neither sibling has room.
   */
  private spillLeaf(leaf: Leaf): boolean {
    if (this.height === 0) return false;
    const d = this.height - 1;
    const p = this.path[d];
    const i = this.pathAt[d];
    // Room for at least an eighth of a leaf, so that a spill is not repeated at every insert.
    const roomy = this.leafMax - Math.max(1, this.leafMax >>> 3);
    if (i + 1 < p.n && (p.children[i + 1] as Leaf).n <= roomy) {
      this.rebalanceLeaves(leaf, this.ownChild(p, i + 1) as Leaf, p, i);
      return true;
    }
    if (i > 0 && (p.children[i - 1] as Leaf).n <= roomy) {
      this.rebalanceLeaves(this.ownChild(p, i - 1) as Leaf, leaf, p, i - 1);
      return true;
    }
    return false;
  }

  /**
   * Splits an overflowing leaf of the recorded path. An insert at its end (or start) keeps the old part
   * full, so keys arriving in increasing (or decreasing) order fill leaves completely; others split in half.
   */
  private splitLeaf(leaf: Leaf, pos: number): void {
    const n = leaf.n;
    const cut = pos === n - 1 ? n - 1 : pos === 0 ? 1 : n >>> 1;
    const right = Leaf.empty(this.gen, this.leafMax);
    for (let j = cut; j < n; j++) {
      right.keys[j - cut] = leaf.keys[j];
      leaf.keys[j] = '';
    }
    right.slots.set(leaf.slots.subarray(cut, n));
    right.n = n - cut;
    leaf.n = cut;
    this.insertChild(this.height - 1, right, right.keys[0]);
  }

  /** Puts `child` (whose keys are ≥ `sep`) right after the path's child at depth d; d = -1: above the root. */
  private insertChild(d: number, child: TreeNode, sep: string): void {
    if (d < 0) {
      const r = Branch.empty(this.gen, this.branchMax);
      r.children[0] = this.root;
      r.children[1] = child;
      r.keys[1] = sep;
      r.n = 2;
      this.root = r;
      this.height++;
      return;
    }
    const b = this.path[d];
    const at = this.pathAt[d] + 1;
    for (let j = b.n; j > at; j--) {
      b.keys[j] = b.keys[j - 1];
      b.children[j] = b.children[j - 1];
    }
    b.keys[at] = sep;
    b.children[at] = child;
    b.n++;
    if (b.n > this.branchMax) {
      // Halves: branches are few (one per ~100 keys), so their fill does not matter for memory.
      const n = b.n;
      const cut = n >>> 1;
      const right = Branch.empty(this.gen, this.branchMax);
      for (let j = cut; j < n; j++) {
        right.keys[j - cut] = b.keys[j];
        right.children[j - cut] = b.children[j];
        b.keys[j] = '';
        b.children[j] = undefined as unknown as TreeNode;
      }
      const up = right.keys[0];
      right.keys[0] = '';
      right.n = n - cut;
      b.n = cut;
      this.insertChild(d - 1, right, up);
    }
  }

  /** Returns the removed slot, or -1 when the key was absent. */
  delete(key: string): number {
    const native = nativeOrderHolds(key);
    const found = leafFind(this.descend(key, native), key, native);
    if (found < 0) return -1;
    const leaf = this.ownPath();
    this.version++;
    const slot = leaf.slots[found];
    const n = leaf.n - 1;
    const keys = leaf.keys;
    for (let j = found; j < n; j++) keys[j] = keys[j + 1];
    keys[n] = '';
    leaf.slots.copyWithin(found, found + 1, n + 1);
    leaf.n = n;
    this.count--;
    if (this.height > 0 && n < this.leafMin) this.rebalance(this.height - 1);
    return slot;
  }

  /**
   * The child of path[d] on the recorded path is below its minimum: refill it from a sibling or merge
   * the two; a merge removes a child from path[d], which may in turn need rebalancing.
   */
  private rebalance(d: number): void {
    const p = this.path[d];
    const l = this.pathAt[d] + 1 < p.n ? this.pathAt[d] : this.pathAt[d] - 1;
    const left = this.ownChild(p, l);
    const right = this.ownChild(p, l + 1);
    const merged = d === this.height - 1 ? this.rebalanceLeaves(left as Leaf, right as Leaf, p, l) : this.rebalanceBranches(left as Branch, right as Branch, p, l);
    if (!merged) return;
    for (let j = l + 1; j < p.n - 1; j++) {
      p.keys[j] = p.keys[j + 1];
      p.children[j] = p.children[j + 1];
    }
    p.n--;
    p.keys[p.n] = '';
    p.children[p.n] = undefined as unknown as TreeNode;
    if (d === 0) {
      if (p.n === 1) {
        this.root = p.children[0];
        this.height--;
      }
    } else if (p.n < this.branchMin) this.rebalance(d - 1);
  }

  /**
   * Merges `right` into `left` (returns true) or evens them out and updates their separator in p (they
   * are p.children[l] and [l + 1], writable; together they fit in two leaves).
   */
  private rebalanceLeaves(left: Leaf, right: Leaf, p: Branch, l: number): boolean {
    const total = left.n + right.n;
    if (total <= this.leafMax) {
      for (let j = 0; j < right.n; j++) left.keys[left.n + j] = right.keys[j];
      left.slots.set(right.slots.subarray(0, right.n), left.n);
      left.n = total;
      return true;
    }
    const want = total >>> 1;
    if (left.n < want) {
      const k = want - left.n;
      for (let j = 0; j < k; j++) left.keys[left.n + j] = right.keys[j];
      left.slots.set(right.slots.subarray(0, k), left.n);
      for (let j = 0; j < right.n - k; j++) right.keys[j] = right.keys[j + k];
      for (let j = right.n - k; j < right.n; j++) right.keys[j] = '';
      right.slots.copyWithin(0, k, right.n);
    } else {
      const k = left.n - want;
      for (let j = right.n - 1; j >= 0; j--) right.keys[j + k] = right.keys[j];
      right.slots.copyWithin(k, 0, right.n);
      for (let j = 0; j < k; j++) {
        right.keys[j] = left.keys[want + j];
        left.keys[want + j] = '';
      }
      right.slots.set(left.slots.subarray(want, left.n), 0);
    }
    right.n = total - want;
    left.n = want;
    p.keys[l + 1] = right.keys[0];
    return false;
  }

  /** As rebalanceLeaves, for branches: the separator in p moves down between the two, another moves up. */
  private rebalanceBranches(left: Branch, right: Branch, p: Branch, l: number): boolean {
    const total = left.n + right.n;
    const sep = p.keys[l + 1];
    if (total <= this.branchMax) {
      left.keys[left.n] = sep;
      left.children[left.n] = right.children[0];
      for (let j = 1; j < right.n; j++) {
        left.keys[left.n + j] = right.keys[j];
        left.children[left.n + j] = right.children[j];
      }
      left.n = total;
      return true;
    }
    const want = total >>> 1;
    if (left.n < want) {
      const k = want - left.n;
      right.keys[0] = sep;
      for (let j = 0; j < k; j++) {
        left.keys[left.n + j] = right.keys[j];
        left.children[left.n + j] = right.children[j];
      }
      p.keys[l + 1] = right.keys[k];
      for (let j = 0; j < right.n - k; j++) {
        right.keys[j] = right.keys[j + k];
        right.children[j] = right.children[j + k];
      }
      for (let j = right.n - k; j < right.n; j++) {
        right.keys[j] = '';
        right.children[j] = undefined as unknown as TreeNode;
      }
    } else {
      const k = left.n - want;
      for (let j = right.n - 1; j >= 0; j--) {
        right.keys[j + k] = right.keys[j];
        right.children[j + k] = right.children[j];
      }
      right.keys[k] = sep;
      for (let j = 0; j < k; j++) {
        right.keys[j] = left.keys[want + j];
        right.children[j] = left.children[want + j];
        left.keys[want + j] = '';
        left.children[want + j] = undefined as unknown as TreeNode;
      }
      p.keys[l + 1] = right.keys[0];
    }
    right.keys[0] = '';
    right.n = total - want;
    left.n = want;
    return false;
  }

  /**
   * Replaces the content of an empty index with keys already in strictly increasing UTF-8 order (a
   * checkpoint) and their slots. O(n); the arrays are copied, not kept.
   */
  loadSorted(keys: readonly string[], slots: Int32Array): void {
    assert(this.count === 0, 'KeyIndex.loadSorted on a non-empty index');
    assert(slots.length >= keys.length, 'KeyIndex.loadSorted: fewer slots than keys');
    assertIncreasing(keys);
    const { root, height } = buildTree(keys, slots, this.gen, this.leafMax, this.branchMax);
    this.root = root;
    this.height = height;
    this.count = keys.length;
    this.version++;
  }

  /**
   * The index as it is now, in O(1): later writes copy the nodes they change instead of writing into
   * the snapshot's. Holding a snapshot holds the nodes changed since; drop it when done.
   */
  snapshot(): KeyIndexSnapshot {
    this.gen++;
    return new KeyIndexSnapshot(this.root, this.height, this.count);
  }

  /**
   * Iterates (key, slot) pairs in UTF-8 order starting at the first key > `after` (or ≥ `from`). The
   * index may change between steps: each step yields the first key after the previous one as the index
   * is at that step, so keys come in strictly increasing order, none twice; a key present throughout is
   * yielded, and a deleted one is not yielded after its delete. Starting costs one descent; a step after a
   * change costs another (O(log n)), other steps O(1).
   */
  *scan(opts: { after?: string; from?: string } = {}): Generator<[string, number]> {
    const c = new Cursor();
    let bound = opts.after ?? opts.from;
    let inclusive = opts.after === undefined;
    let seen = this.version;
    c.seek(this.root, this.height, bound, inclusive);
    for (;;) {
      if (seen !== this.version) {
        seen = this.version;
        c.seek(this.root, this.height, bound, inclusive);
      }
      const leaf = c.leaf;
      if (leaf === undefined) return;
      const key = leaf.keys[c.pos];
      const slot = leaf.slots[c.pos];
      c.next();
      bound = key;
      inclusive = false;
      yield [key, slot];
    }
  }

  /** Throws an AssertionError if a structural invariant (header) is broken; returns the shape. O(n): for tests. */
  checkInvariants(): { height: number; leaves: number } {
    let keys = 0;
    let leaves = 0;
    let prev: string | undefined;
    const walk = (node: TreeNode, depth: number, lo: string | undefined, hi: string | undefined, ownedAbove: boolean): void => {
      assert(node.gen <= this.gen, 'node from a future generation');
      const owned = node.gen === this.gen;
      assert(!owned || ownedAbove, 'a writable node under a frozen one');
      if (depth === this.height) {
        const leaf = node as Leaf;
        assert(leaf instanceof Leaf, `expected a leaf at depth ${depth}`);
        assert(leaf.n <= this.leafMax && (leaf.n >= 1 || this.height === 0), `leaf with ${leaf.n} keys`);
        for (let i = 0; i < leaf.n; i++) {
          const k = leaf.keys[i];
          assert(prev === undefined || compareUtf8(prev, k) < 0, `keys out of order: ${JSON.stringify(prev)} then ${JSON.stringify(k)}`);
          assert(lo === undefined || compareUtf8(lo, k) <= 0, `key ${JSON.stringify(k)} below its separator`);
          assert(hi === undefined || compareUtf8(k, hi) < 0, `key ${JSON.stringify(k)} not below the next separator`);
          assert(leaf.slots[i] >= 0, 'negative slot');
          prev = k;
        }
        for (let i = leaf.n; i < leaf.keys.length; i++) assert(leaf.keys[i] === '', 'an unused leaf entry holds a key');
        keys += leaf.n;
        leaves++;
        return;
      }
      const b = node as Branch;
      assert(b instanceof Branch, `expected a branch at depth ${depth}`);
      assert(b.n >= 2 && b.n <= this.branchMax, `branch with ${b.n} children`);
      for (let i = 0; i < b.n; i++) {
        const childLo = i === 0 ? lo : b.keys[i];
        const childHi = i + 1 < b.n ? b.keys[i + 1] : hi;
        walk(b.children[i], depth + 1, childLo, childHi, owned);
      }
      for (let i = b.n; i < b.children.length; i++) assert(b.children[i] === undefined && b.keys[i] === '', 'an unused branch entry holds a child');
    };
    walk(this.root, 0, undefined, undefined, true);
    assert(keys === this.count, `count ${this.count} but ${keys} keys in the leaves`);
    return { height: this.height, leaves };
  }
}
