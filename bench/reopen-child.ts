// Measures Engine.open on an existing data directory in a fresh process, so nothing from filling it
// (caches, garbage, JIT state) is counted. Run by engine.bench.ts as
//   node --expose-gc dist/bench/reopen-child.js DIR WORKER_THREADS|default
// and prints one JSON line: open time, heap and ArrayBuffer growth across open (after full GCs), RSS
// growth, and the object count the reopened engine reports. Modules are loaded and xxhash instantiated
// before the baseline, so the delta is the index, not code.
import { Engine } from '../src/index.js';
import { initHash } from '../src/format/hash.js';

export interface ReopenMeasurement {
  openMs: number;
  heapDeltaBytes: number;
  arrayBuffersDeltaBytes: number;
  rssDeltaBytes: number;
  objects: number;
  /** Worker threads the engine runs (0 = inline). */
  workerThreads: number;
  /** CPU time of this whole child process (all threads), so the parent can tell its load from others'. */
  processCpuMs: number;
}

function settle(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

const [dir, threadsArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: reopen-child.js DIR WORKER_THREADS');
// 'default' leaves workerThreads unset (the engine picks one per core).
const workerThreads = threadsArg === 'default' ? undefined : Number(threadsArg ?? '0');
await initHash();
const before = settle();
const t0 = performance.now();
const engine = await Engine.open({ dir, durability: 'fsync', workerThreads, onWarning: (m) => console.error(`warning: ${m}`) });
const openMs = performance.now() - t0;
const after = settle();
const objects = engine.stats().objects;
const result: ReopenMeasurement = {
  openMs,
  heapDeltaBytes: after.heapUsed - before.heapUsed,
  arrayBuffersDeltaBytes: after.arrayBuffers - before.arrayBuffers,
  rssDeltaBytes: after.rss - before.rss,
  objects,
  workerThreads: engine.stats().workerThreads,
  processCpuMs: 0,
};
await engine.close();
const cpu = process.cpuUsage();
result.processCpuMs = (cpu.user + cpu.system) / 1000;
console.log(JSON.stringify(result));
