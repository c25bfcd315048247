// The per-bucket key index (a B+tree) and S3 listing over it. A seeded random model test runs set,
// delete, get, seeks, ordered scans (also while the index changes under them) and snapshots against a
// Map kept in UTF-8 byte order by Buffer.compare, growing each tree until it has several branch levels
// and shrinking it back to one leaf, so that every split, merge, refill and root change happens; tiny
// node sizes reach deep trees with few keys, the default sizes are what the engine uses. The tree's own
// invariants are checked along the way. A failure names its seed; replay with
// SEDIMENT_SEED=<seed> npx vitest run test/engine-key-index.test.ts
import { describe, expect, it } from 'vitest';
import { KeyIndex, type KeyIndexOptions, type KeyIndexSnapshot } from '../src/engine/key-index.js';
import { Leaf, leafFind, nativeOrderHolds } from '../src/engine/key-index-nodes.js';
import { listKeys } from '../src/engine/list.js';
import { byteOrder } from './helpers/engine-helpers.js';
import { codePointPrefix, expectedListing, KEY_PIECES } from './helpers/model.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';

function randomKey(rng: Rng): string {
  let k = '';
  for (let n = rng.int(1, 5); n > 0; n--) k += rng.pick(KEY_PIECES);
  return k;
}

/** Runs `fn`; a failure (an expect or an AssertionError from the index) is rethrown naming the seed. */
function withSeed(seed: number, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`seed ${seed} (replay: SEDIMENT_SEED=${seed}): ${message}`, { cause: err });
  }
}

/**
 * UTF-8 byte order, computed as code point order (UTF-8 keeps code point order; keys here are well formed).
 * Independent of compareUtf8, which gets there by fixing up UTF-16 code unit order.
 */
function codePointOrder(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i) as number;
    const cb = b.codePointAt(j) as number;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j);
}

/** A failed check in the hot loop (expect() per operation would dominate the run time). */
function check(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

/** The model: key → slot, with the live keys in an array for uniform picks, ordered on demand. */
class Model {
  readonly map = new Map<string, number>();
  private readonly live: string[] = [];
  private readonly at = new Map<string, number>();

  readonly cmp = codePointOrder;

  get size(): number {
    return this.map.size;
  }

  set(k: string, slot: number): void {
    if (!this.map.has(k)) {
      this.at.set(k, this.live.length);
      this.live.push(k);
    }
    this.map.set(k, slot);
  }

  delete(k: string): void {
    const i = this.at.get(k);
    if (i === undefined) return;
    const last = this.live.pop() as string;
    if (last !== k) {
      this.live[i] = last;
      this.at.set(last, i);
    }
    this.at.delete(k);
    this.map.delete(k);
  }

  pick(rng: Rng): string {
    return rng.pick(this.live);
  }

  sorted(): string[] {
    return [...this.live].sort(this.cmp);
  }

  entries(): Array<[string, number]> {
    return this.sorted().map((k) => [k, this.map.get(k) as number]);
  }

  /** The first key > `bound` (≥ when inclusive; the first key when undefined), by a pass over all keys. */
  successor(bound: string | undefined, inclusive: boolean): string | undefined {
    let best: string | undefined;
    for (const k of this.live) {
      if (bound !== undefined) {
        const c = this.cmp(k, bound);
        if (c < 0 || (c === 0 && !inclusive)) continue;
      }
      if (best === undefined || this.cmp(k, best) < 0) best = k;
    }
    return best;
  }
}

/** Index in `sorted` of the first key > `bound` (≥ when inclusive). */
function lowerBound(model: Model, sorted: string[], bound: string, inclusive: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = model.cmp(sorted[mid], bound);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface RunConfig {
  nodes: KeyIndexOptions;
  /** Grow to this many keys, then shrink to none; `cycles` times. */
  peakKeys: number;
  cycles: number;
  /** Full comparison (invariants, whole scan, seeks, snapshots, a scan under changes) every this many ops. */
  checkEvery: number;
  /** Steps of each scan run while the index changes. */
  scanSteps: number;
}

interface RunStats {
  ops: number;
  maxHeight: number;
  endHeight: number;
  snapshotsChecked: number;
  liveScanSteps: number;
}

/** One seeded run of random operations against the model; every result is compared as it happens. */
function modelRun(seed: number, cfg: RunConfig): RunStats {
  const rng = mulberry32(seed);
  const index = new KeyIndex(cfg.nodes);
  const model = new Model();
  const stats: RunStats = { ops: 0, maxHeight: 0, endHeight: 0, snapshotsChecked: 0, liveScanSteps: 0 };
  const snapshots: Array<{ snap: KeyIndexSnapshot; expected: Array<[string, number]> }> = [];
  let nextSlot = 0;

  const freshKey = (): string => {
    for (;;) {
      const k = rng.bool(0.2) ? randomKey(rng) : `${randomKey(rng)}${rng.int(0, 1e7)}`;
      if (!model.map.has(k)) return k;
    }
  };

  // Start from a checkpoint load of a random size (often empty).
  const loaded = rng.bool(0.5) ? 0 : rng.int(1, cfg.peakKeys >>> 1);
  for (let i = 0; i < loaded; i++) model.set(freshKey(), nextSlot++);
  const initial = model.entries();
  index.loadSorted(
    initial.map(([k]) => k),
    Int32Array.from(initial, ([, s]) => s),
  );

  /** One random operation, checked against the model; growing: mostly inserts, else mostly deletes. */
  const step = (growing: boolean): void => {
    stats.ops++;
    const r = rng.next();
    const [insert, overwrite, remove, removeAbsent] = growing ? [0.6, 0.7, 0.8, 0.82] : [0.15, 0.2, 0.8, 0.82];
    if (r < insert || model.size === 0) {
      const k = freshKey();
      const slot = nextSlot++ & 0x7fffffff;
      index.set(k, slot);
      model.set(k, slot);
    } else if (r < overwrite) {
      const k = model.pick(rng);
      const slot = nextSlot++ & 0x7fffffff;
      index.set(k, slot);
      model.set(k, slot);
    } else if (r < remove) {
      const k = model.pick(rng);
      const got = index.delete(k);
      check(got === model.map.get(k), () => `op ${stats.ops}: delete ${JSON.stringify(k)} returned ${got}, model has ${model.map.get(k)}`);
      model.delete(k);
    } else if (r < removeAbsent) {
      const k = freshKey();
      const got = index.delete(k);
      check(got === -1, () => `op ${stats.ops}: delete of absent ${JSON.stringify(k)} returned ${got}`);
    } else {
      const k = rng.bool(0.5) ? model.pick(rng) : freshKey();
      const got = index.get(k);
      check(got === (model.map.get(k) ?? -1), () => `op ${stats.ops}: get ${JSON.stringify(k)} returned ${got}, model has ${model.map.get(k)}`);
    }
    check(index.size === model.size, () => `op ${stats.ops}: size ${index.size}, model ${model.size}`);
  };

  const fullCheck = (): void => {
    const shape = index.checkInvariants();
    stats.maxHeight = Math.max(stats.maxHeight, shape.height);
    const expected = model.entries();
    expect([...index.scan()], 'whole scan').toEqual(expected);
    const sorted = expected.map(([k]) => k);
    for (let i = 0; i < 6; i++) {
      const bound = rng.bool(0.5) && sorted.length > 0 ? rng.pick(sorted) : codePointPrefix(rng, freshKey());
      const after = rng.bool(0.5);
      const from = lowerBound(model, sorted, bound, !after);
      const want = expected.slice(from, from + 40);
      const got: Array<[string, number]> = [];
      for (const e of index.scan(after ? { after: bound } : { from: bound })) {
        got.push(e);
        if (got.length === want.length) break;
      }
      expect(got, `scan ${after ? 'after' : 'from'} ${JSON.stringify(bound)}`).toEqual(want);
    }
    // Snapshots taken earlier still show the index as it was then, whatever changed since.
    for (const s of snapshots) {
      expect(s.snap.count).toBe(s.expected.length);
      expect([...s.snap], 'snapshot content').toEqual(s.expected);
      stats.snapshotsChecked++;
    }
    if (snapshots.length >= 3 || (snapshots.length > 0 && rng.bool(0.3))) snapshots.shift();
    if (rng.bool(0.6)) snapshots.push({ snap: index.snapshot(), expected });
    liveScan();
  };

  // A scan while the index changes: each step must yield the successor of the last key in the index as
  // it is at that step, with its current slot.
  const liveScan = (): void => {
    let bound: string | undefined = rng.bool(0.3) || model.size === 0 ? undefined : rng.bool(0.5) ? model.pick(rng) : freshKey();
    const after = rng.bool(0.5);
    const iter = index.scan(bound === undefined ? {} : after ? { after: bound } : { from: bound });
    let inclusive = !after;
    for (let s = 0; s < cfg.scanSteps; s++) {
      for (let m = rng.int(0, 3); m > 0; m--) step(rng.bool(0.5));
      const want = model.successor(bound, inclusive);
      const got = iter.next();
      stats.liveScanSteps++;
      if (want === undefined) {
        expect(got.done, `live scan past ${JSON.stringify(bound)}`).toBe(true);
        return;
      }
      expect(got.value, `live scan step ${s} after ${JSON.stringify(bound)}`).toEqual([want, model.map.get(want)]);
      bound = want;
      inclusive = false;
    }
  };

  for (let cycle = 0; cycle < cfg.cycles; cycle++) {
    for (const growing of [true, false]) {
      while (growing ? model.size < cfg.peakKeys : model.size > 0) {
        step(growing);
        if (stats.ops % cfg.checkEvery === 0) fullCheck();
      }
      fullCheck();
    }
  }
  // fullCheck's live scan mixes in random operations, so the last check may have left a few keys (up to
  // a few dozen, enough for a valid tree of height 1 with small nodes): delete down to empty, and the
  // tree must be back to one leaf.
  while (model.size > 0) step(false);
  stats.endHeight = index.checkInvariants().height;
  return stats;
}

describe('KeyIndex vs a model', () => {
  it("the model's order is UTF-8 byte order", () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    for (let i = 0; i < 5000; i++) {
      const a = randomKey(rng);
      const b = rng.bool(0.2) ? a + randomKey(rng) : randomKey(rng);
      expect(Math.sign(codePointOrder(a, b)), `seed ${seed}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(Math.sign(byteOrder(a, b)));
    }
  });

  const configs: Array<{ name: string; cfg: RunConfig; minHeight: number }> = [
    { name: 'leaves of 4, branches of 4', cfg: { nodes: { leafMax: 4, branchMax: 4 }, peakKeys: 700, cycles: SOAK ? 12 : 3, checkEvery: 150, scanSteps: 30 }, minHeight: 4 },
    { name: 'leaves of 5, branches of 7', cfg: { nodes: { leafMax: 5, branchMax: 7 }, peakKeys: 900, cycles: SOAK ? 12 : 3, checkEvery: 200, scanSteps: 30 }, minHeight: 3 },
    { name: 'leaves of 16, branches of 5', cfg: { nodes: { leafMax: 16, branchMax: 5 }, peakKeys: 2500, cycles: SOAK ? 8 : 2, checkEvery: 500, scanSteps: 30 }, minHeight: 3 },
    // The engine's sizes: 256 keys per leaf, 128 children per branch; height 2 needs > 128 leaves.
    { name: 'default sizes', cfg: { nodes: {}, peakKeys: SOAK ? 120_000 : 45_000, cycles: 1, checkEvery: 15_000, scanSteps: 8 }, minHeight: 2 },
  ];
  for (const { name, cfg, minHeight } of configs) {
    it(`random set/delete/get/seek/scan/snapshot, growing to ${cfg.peakKeys} keys and back (${name})`, () => {
      const seed = testSeed();
      withSeed(seed, () => {
        const stats = modelRun(seed, cfg);
        // The run must have crossed every threshold: several branch levels up, back down to one leaf.
        expect(stats.maxHeight).toBeGreaterThanOrEqual(minHeight);
        expect(stats.endHeight).toBe(0);
        expect(stats.snapshotsChecked).toBeGreaterThan(0);
        expect(stats.liveScanSteps).toBeGreaterThan(0);
      });
    });
  }

  it('loadSorted builds a valid tree for every size around the node boundaries', () => {
    const seed = testSeed();
    withSeed(seed, () => {
      const rng = mulberry32(seed);
      const model = new Model();
      while (model.size < 400) model.set(`${randomKey(rng)}${model.size}`, model.size);
      const all = model.entries();
      for (const nodes of [{ leafMax: 4, branchMax: 4 }, { leafMax: 6, branchMax: 5 }, {}]) {
        for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 19, 20, 21, 24, 25, 63, 64, 65, 99, 100, 101, 399, 400]) {
          const index = new KeyIndex(nodes);
          const part = all.slice(0, n);
          index.loadSorted(
            part.map(([k]) => k),
            Int32Array.from(part, ([, s]) => s),
          );
          index.checkInvariants();
          expect(index.size).toBe(n);
          expect([...index.scan()], `${n} keys, ${JSON.stringify(nodes)}`).toEqual(part);
          for (const [k, s] of part) expect(index.get(k)).toBe(s);
          // and it takes inserts and deletes from there
          index.set('\u{10ffff}', 7);
          if (n > 0) expect(index.delete(part[n >> 1][0])).toBe(part[n >> 1][1]);
          index.checkInvariants();
        }
      }
    });
  });
});

describe('native comparison for keys without high units', () => {
  const seed = testSeed();
  it(`finds the same place as the UTF-8 comparison, among keys of every shape (seed ${seed}; replay with SEDIMENT_SEED)`, () => {
    const rng = mulberry32(seed);
    const pieces = [...KEY_PIECES, '\ud7ff', 'logs/2026/11/25/host-07/', '000012345.log'];
    const stored = [...new Set(Array.from({ length: 400 }, () => {
      let k = '';
      for (let n = rng.int(1, 4); n > 0; n--) k += rng.pick(pieces);
      return k;
    }))].sort(codePointOrder);
    const leaf = Leaf.empty(0, stored.length);
    stored.forEach((k, i) => {
      leaf.keys[i] = k;
      leaf.slots[i] = i;
    });
    leaf.n = stored.length;
    const probes = [...stored, ...stored.map((k) => k + 'a'), ...stored.map((k) => k.slice(0, -1)), 'a', '\ud7ff', '\ud7ff\ud7ff', ''];
    let native = 0;
    for (const probe of probes) {
      if (!nativeOrderHolds(probe)) continue;
      native++;
      expect(leafFind(leaf, probe, true), probe).toBe(leafFind(leaf, probe, false));
    }
    expect(native).toBeGreaterThan(100);
    expect(nativeOrderHolds('\ud7ff')).toBe(true);
    expect(nativeOrderHolds('a\ud800')).toBe(false);
    expect(nativeOrderHolds('\ue000')).toBe(false);
    expect(nativeOrderHolds('😀')).toBe(false);
  });
});

describe('KeyIndex.loadSorted input check', () => {
  const load = (keys: string[]): KeyIndex => {
    const index = new KeyIndex({ leafMax: 4, branchMax: 4 });
    index.loadSorted(keys, Int32Array.from(keys, (_, i) => i));
    return index;
  };

  it('takes keys in UTF-8 order, where it differs from UTF-16 order', () => {
    // U+E000 < U+1F600 in UTF-8, but its UTF-16 unit 0xE000 > the surrogate 0xD83D.
    const keys = ['a', 'a/b', 'é', '\ue000', '\ue000x', '😀', '😀a', '\u{10ffff}'];
    expect([...load(keys).scan()].map(([k]) => k)).toEqual(keys);
  });

  it('refuses keys out of order or repeated', () => {
    expect(() => load(['a', 'c', 'b'])).toThrow(/"b" is not after "c"/);
    expect(() => load(['a', 'b', 'b'])).toThrow(/"b" is not after "b"/);
    expect(() => load(['a', '😀', '\ue000'])).toThrow(/is not after/);
    expect(() => load(['😀b', '😀a'])).toThrow(/is not after/);
  });
});

describe('KeyIndex scans and snapshots while it changes', () => {
  const key = (i: number): string => `k${String(i).padStart(5, '0')}`;

  it('a scan sees changes ahead of it, not behind it, and never yields a key twice', () => {
    const index = new KeyIndex();
    for (let i = 0; i < 10_000; i += 2) index.set(key(i), i);
    const it = index.scan();
    const seen: string[] = [];
    for (let step = it.next(); !step.done; step = it.next()) {
      seen.push(step.value[0]);
      if (seen.length === 100) {
        // the scan is at k00198: new keys behind and ahead of it, deletes ahead, and 5,000 inserts
        index.set(key(1), 1);
        index.set(key(201), 201);
        for (let i = 300; i < 400; i += 2) index.delete(key(i));
        for (let i = 0; i < 5000; i++) index.set(`new${i}`, i);
      }
    }
    expect(seen.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => key(2 * i)));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).not.toContain(key(1));
    expect(seen).toContain(key(201));
    expect(seen.filter((k) => k >= key(300) && k < key(400))).toEqual([]);
    expect(seen.filter((k) => k.startsWith('new'))).toHaveLength(5000);
    expect(seen).toEqual([...seen].sort(byteOrder));
  });

  it('a snapshot keeps its keys and slots while the index is rewritten', () => {
    const index = new KeyIndex({ leafMax: 8, branchMax: 4 });
    for (let i = 0; i < 3000; i++) index.set(key(i), i);
    const snap = index.snapshot();
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) index.delete(key(i));
      else index.set(key(i), i + 1_000_000);
    }
    for (let i = 0; i < 3000; i++) index.set(`x${i}`, i);
    const second = index.snapshot();
    for (let i = 0; i < 3000; i++) index.delete(`x${i}`);
    index.checkInvariants();
    expect(snap.count).toBe(3000);
    expect([...snap]).toEqual(Array.from({ length: 3000 }, (_, i) => [key(i), i]));
    expect(second.count).toBe(5000);
    expect([...second].filter(([k]) => k.startsWith('x'))).toHaveLength(3000);
    expect(index.size).toBe(2000);
    expect(index.get(key(1))).toBe(1_000_001);
    expect(index.get(key(3))).toBe(-1);
  });

  it('a set right after a get of the same key reuses its descent only while nothing else came between', () => {
    // Small nodes, so that inserts split leaves and branches: a stale reused position would put a key in
    // the wrong place, which checkInvariants and the model comparison catch.
    const seed = testSeed();
    const rng = mulberry32(seed);
    const index = new KeyIndex({ leafMax: 4, branchMax: 4 });
    const model = new Map<string, number>();
    const snaps: Array<[KeyIndexSnapshot, Array<[string, number]>]> = [];
    for (let step = 0; step < 20_000; step++) {
      const k = key(rng.int(0, 3000));
      const slot = rng.int(0, 1_000_000);
      expect(index.get(k), `seed ${seed}, step ${step}`).toBe(model.get(k) ?? -1);
      // What may come between the get and the set: another key's get, a delete, a set, a snapshot, nothing.
      const between = rng.int(0, 9);
      const other = key(rng.int(0, 3000));
      if (between === 0) index.get(other);
      else if (between === 1) model.delete(other), index.delete(other);
      else if (between === 2) model.set(other, 7), index.set(other, 7);
      else if (between === 3 && snaps.length < 20) snaps.push([index.snapshot(), [...model].sort(([a], [b]) => byteOrder(a, b))]);
      if (rng.bool(0.8)) model.set(k, slot), index.set(k, slot);
      else model.delete(k), index.delete(k);
    }
    index.checkInvariants();
    expect(index.size).toBe(model.size);
    expect([...index.scan()]).toEqual([...model].sort(([a], [b]) => byteOrder(a, b)));
    for (const [snap, want] of snaps) expect([...snap]).toEqual(want);
  });

  it('set refuses a slot that is not a non-negative int32 (-1 means absent)', () => {
    const index = new KeyIndex();
    expect(() => index.set('a', -1)).toThrow(/non-negative int32/);
    expect(() => index.set('a', 1.5)).toThrow(/non-negative int32/);
    expect(index.size).toBe(0);
  });
});

function listAllItems(index: KeyIndex, q: { prefix: string; delimiter: string; startAfter?: string }, maxKeys: number): string[] {
  const items: string[] = [];
  let token: string | undefined;
  for (let pages = 0; ; pages++) {
    const r = listKeys(index, { ...q, maxKeys, continuationToken: token }, (key, slot) => ({ key, size: slot, etag: '', lastModifiedMs: 0, storageClass: 'STANDARD' }));
    const page = [...r.contents.map((c) => 'k:' + c.key), ...r.commonPrefixes.map((p) => 'p:' + p)].sort((a, b) => byteOrder(a.slice(2), b.slice(2)));
    expect(page.length).toBeLessThanOrEqual(maxKeys);
    items.push(...page);
    if (!r.isTruncated) return items;
    token = r.nextContinuationToken;
    if (pages > 100_000) throw new Error('listing does not end');
  }
}

describe('listing over a large index', () => {
  for (const nodes of [{}, { leafMax: 4, branchMax: 4 }]) {
    it(`paging with prefix, delimiter and start-after visits every item exactly once (nodes ${JSON.stringify(nodes)})`, () => {
      const seed = testSeed();
      const rng = mulberry32(seed);
      const index = new KeyIndex(nodes);
      const keys = new Set<string>();
      while (keys.size < 6000) keys.add(randomKey(rng));
      for (const k of keys) index.set(k, 1);
      for (const k of [...keys].slice(0, 1500)) {
        index.delete(k);
        keys.delete(k);
      }
      const all = [...keys];
      const queries = SOAK ? 400 : 40;
      for (let q = 0; q < queries; q++) {
        const prefix = rng.bool(0.3) ? '' : codePointPrefix(rng, rng.pick(all));
        const delimiter = rng.pick(['', '/', 'é', '😀', '\ufffd', 'a', 'x/']);
        const startAfter = rng.bool(0.3) ? codePointPrefix(rng, rng.pick(all)) || undefined : undefined;
        const maxKeys = rng.pick([1, 2, 5, 97, 1000]);
        const query = { prefix, delimiter, startAfter };
        expect(listAllItems(index, query, maxKeys), `seed ${seed}: ${JSON.stringify({ ...query, maxKeys })}`).toEqual(expectedListing(all, query));
      }
    });
  }
});
