// Diagnostic for issue 4 (PUT p99 during compaction): what the compaction census costs the main thread.
// Less sensitive to a shared machine than a p99 ratio: it reports GC pauses and event-loop stalls, which
// come from this process's own heap, next to the latency of durable 4 KiB PUTs probed meanwhile.
//   node dist/bench/census-diag.js fill DIR N          N × 4 KiB random objects (64 MiB segments), then
//                                                      delete every other and overwrite every fourth, as
//                                                      bench/engine-compaction.ts does; sealed and closed
//   node --expose-gc dist/bench/census-diag.js census DIR [--runs=N]
//                                                      census as a pass takes it (maintenance pool of 1
//                                                      worker thread), N times; sequential durable PUTs meanwhile
//   node --expose-gc dist/bench/census-diag.js pass DIR [--throttle=MBps]
//                                                      a whole throttled pass (the `serve` way) instead
// `census` leaves the sealed segments as they were (probe PUTs go to the active segment); `pass` rewrites
// DIR: run it on a copy. Main-thread measures only: the worker threads' GC does not stall requests.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { constants as perf, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

import { getHeapStatistics } from 'node:v8';

import * as sediment from '../src/index.js';
import { Compactor, Engine, MaintenancePool, takeCensus } from '../src/index.js';
import { busyCores, forEachConcurrent, systemCpu } from './setup.js';

const BUCKET = 'bench';
const OBJECT_BYTES = 4096;
const SEGMENT_BYTES = 64 << 20;

async function fill(dir: string, count: number): Promise<void> {
  const e = await Engine.open({ dir, durability: 'none', segmentBytesMax: SEGMENT_BYTES });
  await e.createBucket(BUCKET);
  const name = (i: number): string => `obj/${String(i).padStart(8, '0')}`;
  await forEachConcurrent(count, 64, async (i) => void (await e.putObject(BUCKET, name(i), randomBytes(OBJECT_BYTES))));
  await forEachConcurrent(count, 64, async (i) => {
    if (i % 2 === 0) await e.deleteObject(BUCKET, name(i));
    else if (i % 4 === 1) await e.putObject(BUCKET, name(i), randomBytes(OBJECT_BYTES));
  });
  await e.sealActiveSegment();
  await e.close();
  console.log(`filled ${dir}: ${count} objects, half deleted, a quarter overwritten`);
}

/** CPU ms (user + sys) of the main thread so far, from /proc (Linux; NaN elsewhere). Ticks are 10 ms. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

interface Gc {
  count: number;
  totalMs: number;
  maxMs: number;
  byKind: Map<string, { count: number; totalMs: number; maxMs: number }>;
}

const GC_KINDS: Record<number, string> = {
  [perf.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [perf.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [perf.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [perf.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

/** Runs `fn` while recording main-thread GC pauses, event-loop delay, peak heap and sequential durable PUTs. */
async function observe(e: Engine, tag: string, fn: () => Promise<unknown>): Promise<void> {
  const gc: Gc = { count: 0, totalMs: 0, maxMs: 0, byKind: new Map() };
  const obs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      const k = gc.byKind.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
      k.count++;
      k.totalMs += entry.duration;
      k.maxMs = Math.max(k.maxMs, entry.duration);
      gc.byKind.set(kind, k);
    }
  });
  (globalThis as { gc?: () => void }).gc?.();
  const mem0 = process.memoryUsage();
  const heap0 = mem0.heapUsed;
  let heapPeak = heap0;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size)), 10);
  const puts: number[] = [];
  let done = false;
  const sys0 = systemCpu();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const h = monitorEventLoopDelay({ resolution: 1 });
  obs.observe({ entryTypes: ['gc'] });
  h.enable();
  const t0 = performance.now();
  const work = fn().finally(() => (done = true));
  const probe = (async () => {
    for (let i = 0; !done; i++) {
      await new Promise((r) => setImmediate(r));
      const t = performance.now();
      await e.putObject(BUCKET, `probe/${tag}/${i}`, randomBytes(OBJECT_BYTES));
      puts.push(performance.now() - t);
    }
  })();
  const result = await work;
  await probe;
  const ms = performance.now() - t0;
  h.disable();
  clearInterval(sampler);
  // Let the observer deliver the last entries.
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  const cpu = process.cpuUsage(cpu0);
  const mainMs = mainThreadCpuMs() - main0;
  const machine = busyCores(sys0, systemCpu());
  const own = (cpu.user + cpu.system) / 1000 / ms;
  // What the result keeps alive (the census, for a census run) after a full collection.
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  const retained = mem.heapUsed - heap0;
  const retainedBuffers = mem.arrayBuffers - mem0.arrayBuffers;
  // A census from a build with census tables: the bytes they take (outside the JS heap).
  const tables = (result as { segments?: Array<{ table?: { bytes: number } }> } | undefined)?.segments?.reduce((n, a) => n + (a.table?.bytes ?? 0), 0);
  const s = [...puts].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
  const f = (n: number, d = 1): string => n.toFixed(d);
  const kinds = [...gc.byKind].map(([k, v]) => `${k} ${v.count}× (max ${f(v.maxMs)} ms, total ${f(v.totalMs)} ms)`).join(', ');
  console.log(
    `${tag}: ${f(ms, 0)} ms; event-loop delay p50 ${f(h.percentile(50) / 1e6)} p99 ${f(h.percentile(99) / 1e6)} max ${f(h.max / 1e6)} ms; ` +
      `GC ${gc.count} pauses, max ${f(gc.maxMs)} ms, total ${f(gc.totalMs)} ms [${kinds}]; ` +
      `heap used: before ${f(heap0 / 2 ** 20)} MiB, peak ${f(heapPeak / 2 ** 20)} MiB, retained by the result ${f(retained / 2 ** 20)} MiB (+ ${f(retainedBuffers / 2 ** 20)} MiB ArrayBuffers${tables ? `; census tables ${f(tables / 2 ** 20)} MiB` : ''}); ` +
      `durable 4 KiB PUTs ${puts.length}: p50 ${f(q(0.5))} p99 ${f(q(0.99))} max ${f(s[s.length - 1] ?? NaN)} ms; ` +
      `main thread CPU ${f(mainMs, 0)} ms, process CPU ${f(own, 2)} cores, other load ${machine === undefined ? '?' : f(Math.max(0, machine - own), 2)} cores`,
  );
}

async function census(dir: string, runs: number): Promise<void> {
  const e = await Engine.open({ dir, durability: 'fsync', segmentBytesMax: SEGMENT_BYTES });
  const pool = new MaintenancePool(e.fs, 1);
  try {
    // Idle reference: the same probes with nothing else running, for as long as a census takes.
    await observe(e, 'idle (1.5 s)', () => new Promise((r) => setTimeout(r, 1500)));
    // As a pass takes it: with the pool and the compactor's cache where this build has them (a build
    // from before the census tables ignores both). Census 1 starts with an empty cache.
    const Cache = (sediment as Record<string, unknown>).CensusCache as (new (bytesMax: number) => unknown) | undefined;
    const cache = Cache ? new Cache(256 << 20) : undefined;
    for (let i = 0; i < runs; i++) {
      await observe(e, `census ${i + 1}`, () => takeCensus(e.maintenance(), { pool, cache } as never));
    }
  } finally {
    await pool.close();
    await e.close();
  }
}

async function pass(dir: string, throttleMBps: number): Promise<void> {
  const e = await Engine.open({ dir, durability: 'fsync', segmentBytesMax: SEGMENT_BYTES });
  const pool = new MaintenancePool(e.fs, 1);
  try {
    await observe(e, 'idle (1.5 s)', () => new Promise((r) => setTimeout(r, 1500)));
    const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0, bytesPerSecMax: throttleMBps * 1e6 });
    await observe(e, `pass throttled at ${throttleMBps} MB/s`, () => c.runPass());
    console.log(`pass: ${JSON.stringify({ ...c.lastPass, damaged: c.lastPass?.damaged.length })}`);
  } finally {
    await pool.close();
    await e.close();
  }
}

const [mode, dir, ...rest] = process.argv.slice(2);
const flag = (name: string, dflt: number): number => Number(/=(.*)$/.exec(rest.find((a) => a.startsWith(`--${name}=`)) ?? '')?.[1] ?? dflt);
if (mode === 'fill' && dir && rest[0]) await fill(dir, Number(rest[0]));
else if (mode === 'census' && dir) await census(dir, flag('runs', 3));
else if (mode === 'pass' && dir) await pass(dir, flag('throttle', 64));
else {
  console.error('usage: census-diag.js fill DIR N | census DIR [--runs=N] | pass DIR [--throttle=MBps]');
  process.exit(2);
}
