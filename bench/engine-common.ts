// What the engine bench workloads share: sizes, result rows, the engine options every run uses, and
// how a phase is timed (after waiting for a quiet machine, repeated while other processes disturb it).
import { spawnSync } from 'node:child_process';
import type { createHash } from 'node:crypto';

import type { EngineOptions } from '../src/index.js';
import { fmt, preparePages, timed, waitForQuiet, type Timed } from './setup.js';

export interface EngineBenchSizes {
  smallCount: number;
  smallBytes: number;
  smallConcurrency: number;
  largeObjects: number;
  largeObjectBytes: number;
  /** Concurrent uploads in the extra (b) row; the main row streams one object at a time. */
  largeConcurrencyExtra: number;
  pieceBytes: number;
  /** Distinct generated pieces the inputs cycle through. */
  poolPieces: number;
  zstdLevel: number;
  reopenCount: number;
  reopenValueBytes: number;
  reopenConcurrency: number;
  /** segmentBytesMax for the unsealed-segment worst case of (d) (the engine may also seal by record count). */
  activeSegmentBytesMax: number;
  /** (e) compaction: 4 KiB objects filled before half are deleted/overwritten. */
  compactionCount: number;
  compactionSegmentBytes: number;
  /** (e) latency probes: operations of each kind while idle. */
  compactionProbeOps: number;
  /** Run B's idle probes last at least this long (about as long as the throttled pass they are compared with). */
  compactionIdleMs: number;
  /** (e) throttle of the pass the probes run against, bytes/s. */
  compactionThrottleBytes: number;
  expiryDays: number;
  expiryObjectsPerDay: number;
  expiryObjectBytes: number;
  expirySegmentBytes: number;
  /** (g) log retention with the cold tier. */
  retentionDays: number;
  retentionObjectsPerDay: number;
  retentionObjectBytes: number;
  retentionSegmentBytes: number;
}

export interface ResultRow {
  id: string;
  bench: string;
  sediment: number;
  unit: string;
  reference?: string;
  referenceValue?: number;
  /** sediment / reference, or for "lower is better" targets the measured value itself. */
  ratio?: number;
  target?: string;
  pass?: boolean;
  /** CPU cores busy on average in this process during the sediment run (all threads). */
  cores?: number;
  /** Cores other processes kept busy during the sediment run and during the reference run. */
  otherCores?: number;
  referenceOtherCores?: number;
  note?: string;
}

export const BUCKET = 'bench';

/** Warnings the engines reported during the run (printed with the results). */
export const warnings: string[] = [];

export function engineOptions(dir: string, extra: Partial<EngineOptions> = {}): EngineOptions {
  return { dir, durability: 'fsync', onWarning: (m) => warnings.push(m), ...extra };
}

/** Lets earlier phases' dirty pages reach the disk so they do not slow the next phase. */
export function settleDisk(): void {
  spawnSync('sync');
}

/** Times `fn` after waiting for the machine to be quiet (see waitForQuiet) and preparing its pages; logs progress. */
export async function measure<T>(label: string, fn: () => Promise<T>): Promise<Timed<T>> {
  const load = await waitForQuiet();
  preparePages(); // the same memory state for every measurement (setup.ts, pageState)
  const t = await timed(fn);
  const before = load === undefined ? '' : `before ${load.toFixed(2)}, `;
  console.log(`  ${label}: ${fmt(t.ms / 1000, 2)} s (other load ${before}during ${t.otherCores?.toFixed(2) ?? '?'} cores)`);
  return t;
}

/** A measurement counts as undisturbed when other processes kept at most this many cores busy. */
export const BUSY_MAX = 0.3;

/** How many times a disturbed measurement is repeated: $SEDIMENT_BENCH_ATTEMPTS (default 1 = never). */
function attempts(): number {
  return Math.max(1, Number(process.env.SEDIMENT_BENCH_ATTEMPTS ?? '1') || 1);
}

/** How many times each acceptance measurement runs with --best-of: $SEDIMENT_BENCH_BEST_OF (default 1). */
export function bestOfRuns(): number {
  return Math.max(1, Math.min(9, Number(process.env.SEDIMENT_BENCH_BEST_OF ?? '1') || 1));
}

/**
 * Runs `fn` (which starts from a fresh directory) until a run is undisturbed, keeping the least disturbed.
 * With --best-of=N (and a `ms` for the run's timed part) it runs N times instead, whatever the load, and
 * keeps the fastest: what a machine whose speed moves from run to run (this VM) lets through at its best,
 * the same rule for sediment and for the references.
 */
export async function leastDisturbed<T>(label: string, fn: () => Promise<T>, disturbance: (r: T) => number | undefined, ms?: (r: T) => number): Promise<T> {
  let best: T | undefined;
  const runs = bestOfRuns();
  if (runs > 1 && ms !== undefined) {
    for (let i = 1; i <= runs; i++) {
      const r = await fn();
      console.log(`  ${label}: run ${i} of ${runs}: ${fmt(ms(r) / 1000, 2)} s`);
      if (best === undefined || ms(r) < ms(best)) best = r;
    }
    return best as T;
  }
  let bestLoad = Infinity;
  const n = attempts();
  for (let i = 1; i <= n; i++) {
    const r = await fn();
    const load = disturbance(r) ?? 0;
    if (load < bestLoad) {
      best = r;
      bestLoad = load;
    }
    if (load <= BUSY_MAX) break;
    if (i < n) console.log(`  ${label}: other processes kept ${load.toFixed(2)} cores busy; repeating (attempt ${i + 1} of ${n})`);
  }
  return best as T;
}

export async function consume(body: AsyncIterable<Buffer>, md5?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  for await (const piece of body) {
    n += piece.length;
    md5?.update(piece);
  }
  return n;
}
