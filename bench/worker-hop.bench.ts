// What one hop of a small-chunk batch to a worker thread and back costs, apart from the work done there
// (chunk-pool.ts frames batches of small chunks in piscina workers; the S3 server sends ~5 chunks a batch
// under 32 concurrent clients, the engine bench 16). The task is a batch of 5 × 4 KiB (`--items=N`) shaped as
// chunk-pool's BatchTask, the worker answers at once. Side by side in one run, alternating, two workers each:
//   - piscina as chunk-pool.ts used it for small batches until session 13 (recordTiming on, piscina's
//     default: a run-time and a wait-time histogram entry per task);
//   - piscina with recordTiming off (its pools use that now: large chunks, GETs, maintenance);
//   - a plain Worker answering MessagePort messages: the mechanism of batch-framers.ts, which frames the
//     small batches now, with the task as per-item objects (sessions 13-19) and packed by packBatch (now).
// Reported per round trip: wall time, CPU of the main thread, CPU of the whole process (all threads,
// from /proc: Linux only). Two batches are kept in flight, one per worker.
// Run: npm run build && node dist/bench/worker-hop.bench.js [--quick] [--items=N]   (also part of run-all.js micro)
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { packBatch } from '../src/engine/chunk-codec.js';
import { fmt, markdownTable, quickMode } from './setup.js';

export interface WorkerHopRow {
  variant: string;
  roundTrips: number;
  wallUs: number;
  mainCpuUs: number;
  processCpuUs: number;
}

const BATCH_ITEMS = 5;
const ITEM_BYTES = 4096;

/** CPU ms of the calling thread (`thread-self`) or the process, from /proc; NaN elsewhere. */
function cpuMs(which: 'thread-self' | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${which}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

type Shape = 'objects' | 'packed';

const RAW = new Uint8Array(ITEM_BYTES).fill(97);

/**
 * A batch as chunk-pool sends it: `packed` (packBatch: items and metadata in one moved buffer, since session
 * 20) or `objects` (the raws moved, per-item metas, lengths and flags cloned: the shape until then).
 */
function batchTask(shape: Shape, items: number): { task: object; transfer: ArrayBuffer[] } {
  const list = Array.from({ length: items }, (_, i) => ({
    raw: RAW,
    meta: { uploadId: i + 1, partNumber: 0, chunkIndex: 0, rawLen: ITEM_BYTES },
    wantMd5: true,
  }));
  if (shape === 'packed') {
    const packed = packBatch(list, 1);
    return { task: { kind: 'batch', packed }, transfer: [packed.buffer as ArrayBuffer] };
  }
  const packed = new Uint8Array(items * ITEM_BYTES);
  list.forEach((it, i) => packed.set(it.raw, i * ITEM_BYTES));
  const task = {
    kind: 'batch',
    packed,
    lengths: list.map((it) => it.raw.length),
    metas: list.map((it) => it.meta),
    wantMd5: list.map((it) => it.wantMd5),
    level: 1,
  };
  return { task, transfer: [packed.buffer] };
}

type RoundTrip = () => Promise<unknown>;

interface Variant {
  name: string;
  start(): { roundTrip: RoundTrip; stop(): Promise<void> };
}

const taskFile = fileURLToPath(new URL('./worker-hop-task.js', import.meta.url));

function piscinaVariant(name: string, recordTiming: boolean, items: number): Variant {
  return {
    name,
    start() {
      const pool = new Piscina({ filename: taskFile, minThreads: 2, maxThreads: 2, recordTiming });
      return {
        roundTrip: () => {
          const { task, transfer } = batchTask('objects', items);
          return pool.run(task, { transferList: transfer });
        },
        stop: () => pool.destroy(),
      };
    },
  };
}

const RAW_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => {
  const out = new Uint8Array(m.task.packed.length + 64);
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
});`;

const rawVariant = (name: string, shape: Shape, items: number): Variant => ({
  name,
  start() {
    const workers = [new Worker(RAW_WORKER, { eval: true }), new Worker(RAW_WORKER, { eval: true })];
    const pending = new Map<number, (v: unknown) => void>();
    for (const w of workers) {
      w.on('message', (m: { id: number; out: Uint8Array }) => {
        pending.get(m.id)?.(m.out);
        pending.delete(m.id);
      });
    }
    let next = 0;
    return {
      roundTrip: () =>
        new Promise((resolve) => {
          const id = next++;
          const { task, transfer } = batchTask(shape, items);
          pending.set(id, resolve);
          workers[id % workers.length].postMessage({ id, task }, transfer);
        }),
      stop: async () => {
        await Promise.all(workers.map((w) => w.terminate()));
      },
    };
  },
});

async function measure(v: Variant, roundTrips: number): Promise<{ wallMs: number; mainMs: number; processMs: number }> {
  const s = v.start();
  try {
    // Warm: threads started, both sides' code compiled.
    for (let i = 0; i < Math.min(2000, roundTrips); i++) await Promise.all([s.roundTrip(), s.roundTrip()]);
    const m0 = cpuMs('thread-self');
    const p0 = cpuMs('self');
    const t0 = performance.now();
    for (let i = 0; i < roundTrips / 2; i++) await Promise.all([s.roundTrip(), s.roundTrip()]);
    return { wallMs: performance.now() - t0, mainMs: cpuMs('thread-self') - m0, processMs: cpuMs('self') - p0 };
  } finally {
    await s.stop();
  }
}

export async function runWorkerHopBench(quick: boolean, items = BATCH_ITEMS): Promise<{ rows: WorkerHopRow[]; markdown: string }> {
  const roundTrips = quick ? 4000 : 40_000;
  const variants = [
    piscinaVariant('piscina, recordTiming on (its default; small batches until session 13)', true, items),
    piscinaVariant('piscina, recordTiming off (large chunks, GETs, maintenance)', false, items),
    rawVariant('plain Worker, MessagePort, per-item objects cloned (small batches in sessions 13-19)', 'objects', items),
    rawVariant('plain Worker, MessagePort, packed (packBatch; small batches now: batch-framers.ts)', 'packed', items),
  ];
  const sums = new Map<string, { wallMs: number; mainMs: number; processMs: number }>();
  // Two rounds, alternating, so that drift on a shared machine hits every variant alike.
  for (let round = 0; round < 2; round++) {
    for (const v of variants) {
      const r = await measure(v, roundTrips / 2);
      const acc = sums.get(v.name) ?? { wallMs: 0, mainMs: 0, processMs: 0 };
      sums.set(v.name, { wallMs: acc.wallMs + r.wallMs, mainMs: acc.mainMs + r.mainMs, processMs: acc.processMs + r.processMs });
    }
  }
  const rows: WorkerHopRow[] = variants.map((v) => {
    const s = sums.get(v.name)!;
    const us = (ms: number): number => (ms * 1000) / roundTrips;
    return { variant: v.name, roundTrips, wallUs: us(s.wallMs), mainCpuUs: us(s.mainMs), processCpuUs: us(s.processMs) };
  });
  const markdown = markdownTable(
    ['variant', 'round trips', 'wall µs', 'main thread CPU µs', 'process CPU µs (all threads)'],
    rows.map((r) => [r.variant, r.roundTrips, fmt(r.wallUs, 1), fmt(r.mainCpuUs, 1), fmt(r.processCpuUs, 1)]),
  );
  return { rows, markdown };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const items = Number(/^--items=(\d+)$/.exec(args.find((a) => a.startsWith('--items=')) ?? '')?.[1] ?? BATCH_ITEMS);
  const { markdown } = await runWorkerHopBench(quickMode(args), items);
  console.log(`one round trip of a batch of ${items} × ${ITEM_BYTES / 1024} KiB to a worker that answers at once:\n\n${markdown}\n`);
}
