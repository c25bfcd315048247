// KeyIndex (src/engine/key-index.ts, a B+tree) against the design it replaced (a sorted array plus a Map
// of recent inserts merged in at n/8, copied below as MergingSortedArrayReference), side by side in one
// run on the same keys. What matters is the worst single call, since every PUT of a new key calls set()
// on the main thread, so every call is timed with performance.now(). N distinct keys shaped like the
// engine bench's log keys (`logs/2026/11/25/host-XX/NNNNNNNNN.log`, ~37 B) in a seeded random order.
//   control       a call of fixed work, timed the same way: the noise floor of this machine;
//   set           N inserts into a fresh index, each call timed;
//   list page     100 × (100 inserts of new keys, then one listing page: scan 1,000 keys after a random key);
//   delete        N/2 deletes in random order, each call timed;
//   set, get      the same N inserts into a fresh index, then N lookups, without per-call timers;
//   snapshot      one snapshot() (what a checkpoint takes) after one more insert;
//   loadSorted    building from N sorted keys (checkpoint load at open), and the memory the index holds.
// All of it runs R times, each run every implementation in turn. Timed calls: the first run as measured,
// and per call the least of the R runs, which filters out what rarely hits the same call twice (other
// processes) and keeps what the call itself costs (a merge, every run); then the same leaving out, per
// call, the runs in which a GC pause (perf_hooks 'gc' entries) overlapped it: GC pauses can come back at
// the same call, since the runs allocate alike. Untimed phases: best of R.
// Memory: heapUsed + arrayBuffers growth after full GCs, per key, key strings excluded (they exist before).
//
// Run: npm run build && node dist/bench/run-all.js keyindex [--quick]
//      (or node dist/bench/key-index.bench.js [--quick]); SEDIMENT_BENCH_KEYINDEX_KEYS=N (default 1,000,000,
//      quick 100,000) and SEDIMENT_BENCH_KEYINDEX_RUNS=R (default 3, quick 2) change the sizes;
//      SEDIMENT_BENCH_KEYINDEX_ONLY=before|after runs one implementation (the old one takes minutes at 5M).
import { loadavg } from 'node:os';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { KeyIndex } from '../src/engine/key-index.js';
import { compareUtf8 } from '../src/engine/utf8-order.js';
import { describeMachine, fmt, machineInfo, markdownTable, quickMode, saveResults, waitForQuiet, type MachineInfo } from './setup.js';

// ---------------------------------------------------------------- the reference (the design before)

const MERGE_MIN = 4096;

/**
 * REFERENCE ONLY, not used by the engine: src/engine/key-index.ts as it was before the B+tree (commit
 * b25cded), unchanged but for its name. A sorted array of keys with a parallel Int32Array of slots, plus
 * an unsorted Map of recent inserts merged in (sort + full merge, synchronously) when it reaches
 * max(4096, n/8) keys or when an ordered scan needs it; deletes leave tombstones (slot -1).
 */
class MergingSortedArrayReference {
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

  snapshot(): { keys: readonly string[]; slots: Int32Array; count: number } {
    if (this.pending.size > 0 || this.tombstones > 0) this.merge();
    return { keys: this.keys, slots: this.slots.slice(0, this.keys.length), count: this.keys.length };
  }

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
      if (slots[i] !== -1) yield [keys[i], slots[i]];
    }
  }
}

// ---------------------------------------------------------------- the bench

/** What both implementations offer (snapshot results differ in shape; only their cost is measured). */
interface OrderedIndex {
  readonly size: number;
  set(key: string, slot: number): void;
  get(key: string): number;
  delete(key: string): number;
  scan(opts?: { after?: string; from?: string }): Iterable<[string, number]>;
  loadSorted(keys: string[], slots: Int32Array): void;
  snapshot(): unknown;
}

const IMPLEMENTATIONS: Array<{ name: string; make: () => OrderedIndex }> = [
  { name: 'before: sorted array + pending Map', make: () => new MergingSortedArrayReference() },
  { name: 'after: B+tree (KeyIndex)', make: () => new KeyIndex() },
];

const PAGE_ROUNDS = 100;
const PAGE_INSERTS = 100;
const PAGE_KEYS = 1000;

export interface Latency {
  p99Us: number;
  p999Us: number;
  maxMs: number;
}

export interface CallStats {
  calls: number;
  /** Wall time of the phase (of its first run), per-call timers included. */
  totalMs: number;
  meanUs: number;
  /** The first run as measured: includes whatever else the machine did meanwhile. */
  raw?: Latency;
  /**
   * Per call, the least of `runs` identical runs. A delay from another process rarely hits the same call
   * twice, so it drops out; a cost of the call itself (a merge) is there in every run. A GC pause can
   * come back at the same call (the runs allocate alike), hence also:
   */
  leastOfRuns?: Latency;
  /** The same, leaving out each run in which a GC pause overlapped the call. */
  leastWithoutGc?: Latency;
  /** Calls with a GC pause in every run (left out of leastWithoutGc). */
  gcInEveryRun?: number;
  runs: number;
  /** Main-thread GC pauses during the first run, and the longest. */
  gcPauses?: number;
  gcMaxMs?: number;
  /** Main-thread time in major GCs (mark-compact) during the first run. */
  gcMajorMs?: number;
}

export interface KeyIndexBenchRow {
  implementation: string;
  phase: string;
  stats: CallStats;
}

export interface KeyIndexBenchReport {
  machine: MachineInfo;
  keys: number;
  runs: number;
  rows: KeyIndexBenchRow[];
  memory: Array<{ implementation: string; loadSortedMs: number; bytesPerKeyLoaded: number; bytesPerKeyInserted: number }>;
  markdown: string;
}

function envInt(name: string, fallback: number, min: number): number {
  const env = process.env[name];
  if (env === undefined || env === '') return fallback;
  const v = Number(env);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${env}"`);
  return v;
}

/** A seeded xorshift32 stream in [0, 1): the same order in every run. */
function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** 0..n-1 in a seeded random order. */
function permutation(n: number, seed: number): Int32Array {
  const out = Int32Array.from({ length: n }, (_, i) => i);
  const rnd = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** A flat (sequential) string, so that no rope is flattened during a measurement. */
function benchKey(i: number): string {
  return Buffer.from(`logs/2026/11/25/host-${String(i % 64).padStart(2, '0')}/${String(i).padStart(9, '0')}.log`, 'latin1').toString('latin1');
}

let gcFn: (() => void) | undefined;
function fullGc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 3; i++) gcFn();
}

function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Main-thread GC pauses seen by perf_hooks, as [start, end] in performance.now() time. */
const gcPauses: Array<[number, number, boolean]> = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = ((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind;
    gcPauses.push([e.startTime, e.startTime + e.duration, kind === constants.NODE_PERFORMANCE_GC_MAJOR]);
  }
});

/** A call slower than this is checked against the GC pauses (faster ones cannot hide a pause that matters). */
const GC_CHECK_MS = 0.2;

/** Per-call latencies of one phase over several runs. */
class CallTimes {
  readonly least: Float64Array;
  readonly leastWithoutGc: Float64Array;
  /** Slow calls of runs whose GC pauses the observer has not reported yet: [call, start, took]. */
  private unsettled: Array<[number, number, number]> = [];
  private first: { totalMs: number; meanUs: number; latency: Latency; span: [number, number] } | undefined;
  runs = 0;

  constructor(readonly calls: number) {
    this.least = new Float64Array(calls).fill(Infinity);
    this.leastWithoutGc = new Float64Array(calls).fill(Infinity);
  }

  /** Times `call(i)` for every i, one by one. settle() once the GC pauses are reported. */
  run(call: (i: number) => void): void {
    const took = new Float64Array(this.calls);
    const t0 = performance.now();
    for (let i = 0; i < this.calls; i++) {
      const a = performance.now();
      call(i);
      const d = performance.now() - a;
      took[i] = d;
      if (d > GC_CHECK_MS) this.unsettled.push([i, a, d]);
    }
    const t1 = performance.now();
    let sum = 0;
    for (let i = 0; i < this.calls; i++) {
      const d = took[i];
      sum += d;
      if (d < this.least[i]) this.least[i] = d;
      if (d <= GC_CHECK_MS && d < this.leastWithoutGc[i]) this.leastWithoutGc[i] = d;
    }
    if (this.runs++ === 0) this.first = { totalMs: t1 - t0, meanUs: (sum / this.calls) * 1000, latency: latency(took), span: [t0, t1] };
  }

  /** Counts the slow calls of the last runs that no GC pause overlapped. Call after flushGcEntries(). */
  settle(): void {
    const pauses = gcPauses.slice().sort((x, y) => x[0] - y[0]);
    for (const [i, start, d] of this.unsettled) {
      // the first pause that ends at or after the call started: does it begin before the call ended?
      let lo = 0;
      let hi = pauses.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pauses[mid][1] < start) lo = mid + 1;
        else hi = mid;
      }
      const overlapped = lo < pauses.length && pauses[lo][0] <= start + d;
      if (!overlapped && d < this.leastWithoutGc[i]) this.leastWithoutGc[i] = d;
    }
    this.unsettled = [];
  }

  stats(): CallStats {
    const first = this.first as NonNullable<typeof this.first>;
    const [t0, t1] = first.span;
    const gc = gcPauses.filter(([a, b]) => b >= t0 && a <= t1);
    const clean = this.leastWithoutGc.filter((d) => d !== Infinity);
    return {
      calls: this.calls,
      totalMs: first.totalMs,
      meanUs: first.meanUs,
      raw: first.latency,
      leastOfRuns: this.runs > 1 ? latency(this.least) : undefined,
      leastWithoutGc: clean.length > 0 ? latency(clean) : undefined,
      gcInEveryRun: this.calls - clean.length,
      runs: this.runs,
      gcPauses: gc.length,
      gcMaxMs: gc.reduce((m, [a, b]) => Math.max(m, b - a), 0),
      gcMajorMs: gc.reduce((sum, [a, b, major]) => sum + (major ? b - a : 0), 0),
    };
  }
}

function latency(took: Float64Array): Latency {
  const sorted = took.slice().sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p99Us: at(0.99) * 1000, p999Us: at(0.999) * 1000, maxMs: sorted[sorted.length - 1] };
}

let sink = 0; // consumes results so no call can be optimised away

/** Lets the observer deliver the GC entries of the phases that just ended. */
async function flushGcEntries(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A call of fixed work (hashing the key four times): its slowest calls are what the machine alone does. */
function fixedWork(s: string): number {
  let h = 0x811c9dc5;
  for (let r = 0; r < 4; r++) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

/** Everything measured of one implementation, over all runs. */
class Measured {
  readonly sets: CallTimes;
  readonly pages = new CallTimes(PAGE_ROUNDS);
  readonly deletes: CallTimes;
  /** Least over the runs (a disturbed run is only ever slower). */
  setUntimedMs = Infinity;
  getUntimedMs = Infinity;
  snapshotMs = Infinity;
  loadSortedMs = Infinity;
  bytesPerKeyInserted = 0;
  bytesPerKeyLoaded = 0;

  constructor(
    readonly name: string,
    readonly make: () => OrderedIndex,
    n: number,
  ) {
    this.sets = new CallTimes(n);
    this.deletes = new CallTimes(n >>> 1);
  }
}

interface Inputs {
  inOrder: string[];
  sortedKeys: string[];
  /**
   * Indexes into inOrder of the keys deleted in the delete phase and of the keys looked up (typed arrays:
   * key arrays beyond the two above would add to every GC's marking work), and the keys list pages start after.
   */
  doomed: Int32Array;
  lookups: Int32Array;
  pageFrom: string[];
}

/** On a fresh index: N timed inserts, list pages between inserts, N/2 timed deletes. */
function timedPhases(m: Measured, inp: Inputs): void {
  const ix = m.make();
  m.sets.run((i) => ix.set(inp.inOrder[i], i));
  m.pages.run((p) => {
    for (let j = 0; j < PAGE_INSERTS; j++) ix.set(`${inp.pageFrom[p]}/new-${j}`, j);
    let got = 0;
    for (const [key] of ix.scan({ after: inp.pageFrom[p] })) {
      sink ^= key.length;
      if (++got === PAGE_KEYS) break;
    }
  });
  m.deletes.run((i) => void (sink ^= ix.delete(inp.inOrder[inp.doomed[i]])));
  const expected = inp.inOrder.length - inp.doomed.length + PAGE_ROUNDS * PAGE_INSERTS;
  if (ix.size !== expected) throw new Error(`${m.name}: index size ${ix.size} after the timed phases, expected ${expected}`);
}

/** Average cost of set and get without per-call timers, a snapshot, and memory per key after random inserts. */
function untimedPhases(m: Measured, inp: Inputs, first: boolean): void {
  const n = inp.inOrder.length;
  fullGc();
  const before = heapBytes();
  const ix = m.make();
  let t = performance.now();
  for (let i = 0; i < n; i++) ix.set(inp.inOrder[i], i);
  m.setUntimedMs = Math.min(m.setUntimedMs, performance.now() - t);
  if (first) {
    fullGc();
    m.bytesPerKeyInserted = (heapBytes() - before) / n;
  }
  t = performance.now();
  for (let i = 0; i < n; i++) sink ^= ix.get(inp.inOrder[inp.lookups[i]]);
  m.getUntimedMs = Math.min(m.getUntimedMs, performance.now() - t);
  ix.set(`${inp.inOrder[0]}/one-more`, 0); // the old design merges its pending inserts in snapshot()
  t = performance.now();
  sink ^= ix.snapshot() === undefined ? 1 : 0;
  m.snapshotMs = Math.min(m.snapshotMs, performance.now() - t);
  if (ix.size !== n + 1) throw new Error(`${m.name}: index size ${ix.size} after ${n} inserts`);
}

/** Building from sorted keys (a checkpoint load), and the memory the index then holds. */
function loadPhase(m: Measured, sortedKeys: string[], first: boolean): void {
  const n = sortedKeys.length;
  fullGc();
  const before = heapBytes();
  const load = m.make();
  // Built before timing and not held here afterwards: what the index keeps of them is its memory.
  let keys: string[] | undefined = sortedKeys.slice();
  let slots: Int32Array | undefined = Int32Array.from({ length: n }, (_, i) => i);
  const t0 = performance.now();
  load.loadSorted(keys, slots);
  m.loadSortedMs = Math.min(m.loadSortedMs, performance.now() - t0);
  keys = undefined;
  slots = undefined;
  if (first) {
    fullGc();
    m.bytesPerKeyLoaded = (heapBytes() - before) / n;
  }
  if (load.get(sortedKeys[n >>> 1]) !== n >>> 1) throw new Error(`${m.name}: loadSorted lost a key`);
}

function untimedStats(calls: number, totalMs: number, runs: number): CallStats {
  return { calls, totalMs, meanUs: (totalMs / calls) * 1000, runs };
}

export async function runKeyIndexBench(opts: { quick?: boolean } = {}): Promise<KeyIndexBenchReport> {
  const quick = opts.quick ?? quickMode();
  const n = envInt('SEDIMENT_BENCH_KEYINDEX_KEYS', quick ? 100_000 : 1_000_000, 10_000);
  const runs = envInt('SEDIMENT_BENCH_KEYINDEX_RUNS', quick ? 2 : 3, 1);
  const machine = machineInfo();
  console.log('## KeyIndex: worst single call, before vs after');
  console.log(describeMachine(machine));
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other sessions may share this machine)`);
  console.log(`keys: ${fmt(n)} distinct log-like keys (~37 B), seeded random order; ${runs} runs of the timed phases; mode ${quick ? 'quick' : 'full'}\n`);

  const sortedKeys = Array.from({ length: n }, (_, i) => benchKey(i)).sort(compareUtf8);
  const inOrder = Array.from(permutation(n, 1), (i) => sortedKeys[i]);
  const inp: Inputs = {
    inOrder,
    sortedKeys,
    doomed: permutation(n, 9).slice(0, n >>> 1),
    lookups: permutation(n, 7),
    pageFrom: Array.from(permutation(n, 8).subarray(0, PAGE_ROUNDS), (i) => sortedKeys[i]),
  };
  const control = new CallTimes(n);
  const only = process.env.SEDIMENT_BENCH_KEYINDEX_ONLY;
  const chosen = IMPLEMENTATIONS.filter((impl) => only === undefined || only === '' || impl.name.startsWith(`${only}:`));
  if (chosen.length === 0) throw new Error(`SEDIMENT_BENCH_KEYINDEX_ONLY must be "before" or "after", got "${only}"`);
  const measured = chosen.map((impl) => new Measured(impl.name, impl.make, n));
  gcObserver.observe({ entryTypes: ['gc'] });
  try {
    // Run by run, every implementation in turn: a busy spell on a shared machine then hits all of them.
    for (let r = 0; r < runs; r++) {
      fullGc();
      await waitForQuiet();
      control.run((i) => void (sink ^= fixedWork(inOrder[i])));
      await flushGcEntries();
      control.settle();
      for (const m of measured) {
        fullGc();
        await waitForQuiet();
        timedPhases(m, inp);
        await flushGcEntries();
        for (const t of [m.sets, m.pages, m.deletes]) t.settle();
        untimedPhases(m, inp, r === 0);
        loadPhase(m, sortedKeys, r === 0);
        console.log(`  run ${r + 1}/${runs}: ${m.name} done`);
      }
    }
    await flushGcEntries();
  } finally {
    gcObserver.disconnect();
  }
  const rows: KeyIndexBenchRow[] = [{ implementation: 'control: fixed work', phase: 'hash the key 4 times', stats: control.stats() }];
  const memory: KeyIndexBenchReport['memory'] = [];
  for (const m of measured) {
    rows.push(
      { implementation: m.name, phase: 'set', stats: m.sets.stats() },
      { implementation: m.name, phase: 'list page', stats: m.pages.stats() },
      { implementation: m.name, phase: 'delete', stats: m.deletes.stats() },
      { implementation: m.name, phase: `set, no per-call timer (best of ${runs})`, stats: untimedStats(n, m.setUntimedMs, runs) },
      { implementation: m.name, phase: `get, no per-call timer (best of ${runs})`, stats: untimedStats(n, m.getUntimedMs, runs) },
      { implementation: m.name, phase: `snapshot (best of ${runs})`, stats: untimedStats(1, m.snapshotMs, runs) },
    );
    memory.push({ implementation: m.name, loadSortedMs: m.loadSortedMs, bytesPerKeyLoaded: m.bytesPerKeyLoaded, bytesPerKeyInserted: m.bytesPerKeyInserted });
  }

  const num = (x: number | undefined, d: number): string => (x === undefined ? '—' : fmt(x, d));
  const md = [
    markdownTable(
      [
        'phase',
        'implementation',
        'calls',
        'total ms',
        'mean µs',
        'first run: p99.9 µs',
        'max ms',
        `least of ${runs} runs: p99.9 µs`,
        'max ms',
        'runs with a GC pause left out: max ms (calls with one in every run)',
        'first run: GC pauses (longest ms; ms in major GCs)',
      ],
      rows.map(({ phase, implementation, stats: s }) => [
        phase,
        implementation,
        fmt(s.calls),
        fmt(s.totalMs),
        fmt(s.meanUs, 2),
        num(s.raw?.p999Us, 1),
        num(s.raw?.maxMs, 2),
        num(s.leastOfRuns?.p999Us, 1),
        num(s.leastOfRuns?.maxMs, 2),
        s.leastWithoutGc === undefined ? '—' : `${fmt(s.leastWithoutGc.maxMs, 2)} (${s.gcInEveryRun})`,
        s.gcPauses === undefined ? '—' : `${s.gcPauses} (${fmt(s.gcMaxMs ?? 0, 1)}; ${fmt(s.gcMajorMs ?? 0, 1)})`,
      ]),
    ),
    '',
    `list page = ${PAGE_INSERTS} inserts of new keys + one scan of ${PAGE_KEYS} keys after a random key. ` +
      'Memory: heapUsed + arrayBuffers growth per key after full GCs, key strings excluded.',
    '',
    markdownTable(
      ['implementation', `loadSorted ms (best of ${runs})`, 'B/key after loadSorted', 'B/key after random inserts'],
      memory.map((m) => [m.implementation, fmt(m.loadSortedMs, 1), fmt(m.bytesPerKeyLoaded, 1), fmt(m.bytesPerKeyInserted, 1)]),
    ),
  ].join('\n');
  console.log('\n' + md + '\n');
  const report: KeyIndexBenchReport = { machine, keys: n, runs, rows, memory, markdown: md };
  console.log(`results: ${await saveResults('key-index', report)}`);
  return report;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  await runKeyIndexBench();
}
