// Engine bench (e), issue 4: compaction. In one run, each step on a fresh directory:
//   fill N × 4 KiB random (incompressible) objects, durable, then delete a half and overwrite a quarter;
//   run A: one pass as `sediment compact` runs it (sealing first, dead share ≥ 0.1), unthrottled, nothing
//          else running → compaction MB/s
//          (live bytes read per second) and stored bytes afterwards vs live stored bytes (target ≤ 1.1×);
//   run B: the same fill and churn, then 4 KiB PUT and GET latency probes (one sequential loop each),
//          first idle, then while a throttled pass runs (the `serve` way) → p99 during / idle (target ≤ 2×).
import { randomBytes } from 'node:crypto';

import { Compactor, Engine, MaintenancePool, takeCensus, type PassStats } from '../src/index.js';
import { BUCKET, consume, engineOptions, measure, settleDisk, type EngineBenchSizes, type ResultRow } from './engine-common.js';
import { fmt, forEachConcurrent, removeDir, scratchDir } from './setup.js';

const OBJECT_BYTES = 4096;

function p99(samples: number[]): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

async function fillAndChurn(engine: Engine, count: number): Promise<string[]> {
  await engine.createBucket(BUCKET);
  const names = Array.from({ length: count }, (_, i) => `obj/${String(i).padStart(8, '0')}`);
  await forEachConcurrent(count, 64, async (i) => void (await engine.putObject(BUCKET, names[i], randomBytes(OBJECT_BYTES))));
  await forEachConcurrent(count, 64, async (i) => {
    if (i % 2 === 0) await engine.deleteObject(BUCKET, names[i]);
    else if (i % 4 === 1) await engine.putObject(BUCKET, names[i], randomBytes(OBJECT_BYTES));
  });
  return names.filter((_, i) => i % 2 === 1);
}

/**
 * Sequential PUT and GET loops, side by side, until `until` resolves — or, idle (no `until`), until both have
 * `ops` samples and at least `minMs` have passed.
 */
async function probe(engine: Engine, live: string[], tag: string, ops: number, until?: Promise<unknown>, minMs = 0): Promise<{ put: number[]; get: number[] }> {
  const put: number[] = [];
  const get: number[] = [];
  let done = false;
  void until?.then(() => (done = true), () => (done = true));
  // Idle: both loops run until each has `ops` samples, so every PUT probe (and every GET probe) has the
  // other loop running beside it, as it has during the pass. (Stopping each loop at its own count left the
  // idle PUTs alone once the faster GET loop had finished: a lighter load than during the pass.)
  // The idle window also lasts about as long as the pass it is compared with: a p99 over a 3 s window and
  // one over a 10 s window do not see the same share of the machine's own hiccups.
  const t0 = performance.now();
  const more = (): boolean => (until ? !done : put.length < ops || get.length < ops || performance.now() - t0 < minMs);
  const putLoop = async (): Promise<void> => {
    for (let i = 0; more(); i++) {
      await new Promise((r) => setImmediate(r));
      const t = performance.now();
      await engine.putObject(BUCKET, `probe/${tag}/${i}`, randomBytes(OBJECT_BYTES));
      put.push(performance.now() - t);
    }
  };
  const getLoop = async (): Promise<void> => {
    for (let i = 0; more(); i++) {
      // Each probe starts in a turn of its own, as a request arriving from a client does. A GET served
      // from the page cache can complete in microtasks alone (readCached), and a loop of those would
      // never let the event loop run: no fsync completion, no worker message, no timer (the PUT probes
      // and the pass would stall behind the loop, not behind compaction).
      await new Promise((r) => setImmediate(r));
      const t = performance.now();
      await consume((await engine.getObject(BUCKET, live[(i * 7919) % live.length])).body);
      get.push(performance.now() - t);
    }
  };
  await Promise.all([putLoop(), getLoop()]);
  return { put, get };
}

export async function benchCompaction(s: EngineBenchSizes, rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const count = s.compactionCount;
  const label = `${fmt(count)} × 4 KiB, half deleted, a quarter overwritten`;
  const opts = { segmentBytesMax: s.compactionSegmentBytes, workerThreads: 1 };

  // Run A: space and speed.
  let a: { st: PassStats; stored: number; live: number; otherCores?: number; cores: number };
  {
    const dir = await scratchDir('compaction-a');
    try {
      const engine = await Engine.open(engineOptions(dir, opts));
      try {
        await fillAndChurn(engine, count);
        settleDisk();
        const pool = new MaintenancePool(engine.fs, 1);
        // As `sediment compact` runs it: sealing first, dead share ≥ 0.1.
        const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0, deadShareMin: 0.1 });
        const t = await measure('(e) compaction pass, unthrottled', () => compactor.runPass({ sealFirst: true }));
        await pool.close();
        const c = await takeCensus(engine.maintenance(), { includeActive: true });
        a = { st: t.value, stored: c.storedBytes, live: c.liveBytes, otherCores: t.otherCores, cores: t.cpuMs / t.ms };
      } finally {
        await engine.close();
      }
    } finally {
      await removeDir(dir);
      settleDisk();
    }
  }
  const mbs = a.st.bytesRead / 1e6 / (a.st.durationMs / 1000);
  rows.push({
    id: 'e1', bench: `(e) stored bytes after compaction / live stored bytes (${label})`, sediment: a.stored / a.live, unit: '×',
    target: '≤ 1.1', pass: a.stored / a.live <= 1.1, note: `stored ${fmt(a.stored / 1e6, 1)} MB, live ${fmt(a.live / 1e6, 1)} MB, reclaimed ${fmt(a.st.bytesReclaimed / 1e6, 1)} MB`,
  });
  rows.push({
    id: 'e2', bench: `(e) compaction speed (live bytes read and copied, 1 worker thread)`, sediment: mbs, unit: 'MB/s', cores: a.cores, otherCores: a.otherCores,
    note: `${a.st.segmentsCompacted} segments → ${a.st.packsWritten} packs in ${fmt(a.st.durationMs / 1000, 2)} s`,
  });

  // Run B: latency while a pass runs.
  const dir = await scratchDir('compaction-b');
  try {
    const engine = await Engine.open(engineOptions(dir, opts));
    try {
      const live = await fillAndChurn(engine, count);
      await engine.sealActiveSegment();
      settleDisk();
      const idle = await measure('(e) 4 KiB PUT/GET probes, idle', () => probe(engine, live, 'idle', s.compactionProbeOps, undefined, s.compactionIdleMs));
      const pool = new MaintenancePool(engine.fs, 1);
      const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0, bytesPerSecMax: s.compactionThrottleBytes });
      const during = await measure('(e) 4 KiB PUT/GET probes during a throttled pass', async () => {
        const pass = compactor.runPass();
        const r = await probe(engine, live, 'during', 0, pass);
        return { ...r, st: await pass };
      });
      await pool.close();
      const rowsOf = (what: 'put' | 'get', name: string, id: string): void => {
        const i = p99(idle.value[what]);
        const d = p99(during.value[what]);
        rows.push({
          id, bench: `(e) 4 KiB ${name} p99 latency during compaction vs idle`, sediment: d, unit: 'ms', reference: 'idle', referenceValue: i,
          ratio: d / i, target: '≤ 2×', pass: d / i <= 2, otherCores: during.otherCores, referenceOtherCores: idle.otherCores,
          note: `${during.value[what].length} / ${idle.value[what].length} samples; pass throttled at ${fmt(s.compactionThrottleBytes / 1e6)} MB/s, ${during.value.st.segmentsCompacted} segments`,
        });
      };
      rowsOf('put', 'PUT (durable)', 'e3');
      rowsOf('get', 'GET', 'e4');
      extra.compaction = { runA: a, idleP99: { put: p99(idle.value.put), get: p99(idle.value.get) }, during: during.value.st };
    } finally {
      await engine.close();
    }
  } finally {
    await removeDir(dir);
    settleDisk();
  }
}
