// Runs one workload against one S3 endpoint and returns its numbers. With `workers` > 1 the lanes are
// spread over worker threads (each with its own connections and event loop; the data pool is shared
// memory, built once); otherwise they run on the calling thread.
// Contracts: the data pool is built and the threads are started before the clock starts; the result's
// elapsed time runs from the first operation to the end of the last; `cpu` is this whole process (all
// threads) over that time, so it is the client's own cost.
import { Worker } from 'node:worker_threads';
import { dataPool, sharePool, type DataSpec } from './data.js';
import type { LatencySummary } from './histogram.js';
import {
  CONTROL_ERRORS,
  CONTROL_NEXT_OP,
  CONTROL_OPS_DONE,
  CONTROL_STOP,
  createControl,
  mergeLaneStats,
  opsLimit,
  runLanes,
  type Control,
  type LaneSetup,
  type LaneStats,
  type OperationKind,
  type OperationStats,
} from './lanes.js';
import { validateOptions, type ResolvedOptions, type Workload, type WorkloadOptions } from './options.js';
import type { OperationErrorKind } from './s3-client.js';
import type { HttpClientKind } from './transport.js';
import type { WorkerInput, WorkerMessage } from './worker-entry.js';

export interface Progress {
  elapsedMs: number;
  opsDone: number;
  errors: number;
}

export interface RunHooks {
  /** Called every `progressEveryMs` (default 1000) while the run lasts. */
  onProgress?: (p: Progress) => void;
  progressEveryMs?: number;
  /** The worker thread script (default: the compiled worker-entry.js next to this module). */
  workerUrl?: URL;
  /**
   * Once aborted, no new operation starts (in every thread); the operations in flight finish and the
   * run returns its numbers so far, like a run whose duration ended.
   */
  signal?: AbortSignal;
}

/** The figures of the operations of one kind, or of all of them. Rates are per second of the workload's elapsed time. */
export interface OperationResult {
  /** Successful operations. */
  ops: number;
  errors: number;
  errorsByKind: Partial<Record<OperationErrorKind | 'other', number>>;
  /** Object payload bytes moved by successful operations. */
  bytes: number;
  opsPerS: number;
  /** 10^6 bytes per second. */
  mbPerS: number;
  /** Of the successful operations; every figure is 0 when `count` is 0. */
  latency: LatencySummary;
}

export interface WorkloadResult {
  workload: Workload;
  objectBytes: number;
  /** The objects the run worked on (indexes 0..objects-1). */
  objects: number;
  concurrency: number;
  workers: number;
  httpClient: HttpClientKind;
  data: DataSpec;
  /** Successful operations. */
  ops: number;
  /** Operations issued (successful or not). For put: objects 0..min(opsIssued, objects)-1 were written. */
  opsIssued: number;
  errors: number;
  errorsByKind: Partial<Record<OperationErrorKind | 'other', number>>;
  errorSamples: string[];
  /**
   * Requests the client sent a second time because the server closed a reused keep-alive connection
   * without answering (a server dropping requests shows here, not as errors, when the retry succeeds).
   */
  retries: number;
  /** Object payload bytes moved by successful operations. */
  bytes: number;
  elapsedMs: number;
  opsPerS: number;
  /** 10^6 bytes per second. */
  mbPerS: number;
  latency: LatencySummary;
  /**
   * The same figures by kind of operation: one entry for most workloads (its own name), two for mixed
   * (get and put, each present even when it issued nothing). The totals above are their sums.
   */
  operations: Partial<Record<OperationKind, OperationResult>>;
  /** Wall-clock time of the start and the end of the timed run (ISO 8601, UTC). */
  startedAt: string;
  endedAt: string;
  /** This process's CPU time during the run; `cores` = CPU time / elapsed time. */
  cpu: { userMs: number; systemMs: number; cores: number };
}

/** x per second of `elapsedMs`; 0 for an empty run, never NaN or Infinity. */
function perSecond(x: number, elapsedMs: number): number {
  return elapsedMs > 0 ? x / (elapsedMs / 1000) : 0;
}

function operationResult(s: OperationStats, latency: LatencySummary, elapsedMs: number): OperationResult {
  return {
    ops: s.ops,
    errors: s.errors,
    errorsByKind: s.errorsByKind,
    bytes: s.bytes,
    opsPerS: perSecond(s.ops, elapsedMs),
    mbPerS: perSecond(s.bytes / 1e6, elapsedMs),
    latency,
  };
}

const WORKER_URL = new URL('./worker-entry.js', import.meta.url);

function splitLanes(concurrency: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, w) => Math.floor(concurrency / workers) + (w < concurrency % workers ? 1 : 0));
}

async function runInWorkers(o: ResolvedOptions, control: Control, lanes: number[], startClock: () => number | undefined, workerUrl: URL): Promise<LaneStats[]> {
  const pool = sharePool(o.data);
  const workers: Worker[] = [];
  const ready: Array<Promise<void>> = [];
  const done: Array<Promise<LaneStats>> = [];
  let firstLane = 0;
  for (const n of lanes) {
    const input: WorkerInput = { options: o, control, lanes: n, firstLane, pool };
    firstLane += n;
    const w = new Worker(workerUrl, { workerData: input });
    workers.push(w);
    let onReady!: () => void;
    ready.push(new Promise<void>((r) => (onReady = r)));
    done.push(
      new Promise<LaneStats>((resolve, reject) => {
        w.on('message', (m: WorkerMessage) => {
          if (m.type === 'ready') onReady();
          else if (m.type === 'done') resolve(m.stats);
          else reject(new Error(`load generator worker failed: ${m.message}`));
        });
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`load generator worker exited with code ${code}`)));
      }),
    );
  }
  try {
    await Promise.race([Promise.all(ready), Promise.all(done)]);
    const deadline = startClock();
    for (const w of workers) w.postMessage({ type: 'start', deadlineEpochMs: deadline });
    return await Promise.all(done);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Runs the workload; throws only for bad options or a broken worker, never for failed operations. */
export async function runWorkload(options: WorkloadOptions, hooks: RunHooks = {}): Promise<WorkloadResult> {
  const o = validateOptions(options);
  dataPool(o.data);
  const control = createControl();
  let t0 = 0;
  let startedAt = new Date();
  let cpu0 = process.cpuUsage();
  const startClock = (): number | undefined => {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    startedAt = new Date();
    return o.durationMs === undefined ? undefined : Date.now() + o.durationMs;
  };
  const stop = (): void => void Atomics.store(control, CONTROL_STOP, 1n);
  if (hooks.signal?.aborted) stop();
  hooks.signal?.addEventListener('abort', stop, { once: true });
  let timer: NodeJS.Timeout | undefined;
  if (hooks.onProgress) {
    const every = hooks.progressEveryMs ?? 1000;
    timer = setInterval(() => {
      if (t0 === 0) return;
      hooks.onProgress!({ elapsedMs: performance.now() - t0, opsDone: Number(Atomics.load(control, CONTROL_OPS_DONE)), errors: Number(Atomics.load(control, CONTROL_ERRORS)) });
    }, every);
    timer.unref();
  }
  let all: LaneStats[];
  try {
    if (o.workers === 1) {
      const setup: LaneSetup = { options: o, control, lanes: o.concurrency, firstLane: 0, deadlineEpochMs: startClock() };
      all = [await runLanes(setup)];
    } else {
      all = await runInWorkers(o, control, splitLanes(o.concurrency, o.workers), startClock, hooks.workerUrl ?? WORKER_URL);
    }
  } finally {
    if (timer) clearInterval(timer);
    hooks.signal?.removeEventListener('abort', stop);
  }
  const elapsedMs = performance.now() - t0;
  const endedAt = new Date();
  const cpu = process.cpuUsage(cpu0);
  const { stats, histogram, histogramsByKind } = mergeLaneStats(all);
  const operations: WorkloadResult['operations'] = {};
  for (const [kind, h] of histogramsByKind) operations[kind] = operationResult(stats.byKind[kind]!, h.summary(), elapsedMs);
  return {
    workload: o.workload,
    objectBytes: o.objectBytes,
    objects: o.objects,
    concurrency: o.concurrency,
    workers: o.workers,
    httpClient: o.httpClient,
    data: o.data,
    ops: stats.ops,
    opsIssued: Math.min(Number(Atomics.load(control, CONTROL_NEXT_OP)), opsLimit(o)),
    errors: stats.errors,
    errorsByKind: stats.errorsByKind,
    errorSamples: stats.errorSamples,
    retries: stats.retries,
    bytes: stats.bytes,
    elapsedMs,
    opsPerS: perSecond(stats.ops, elapsedMs),
    mbPerS: perSecond(stats.bytes / 1e6, elapsedMs),
    latency: histogram.summary(),
    operations,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000, cores: perSecond((cpu.user + cpu.system) / 1e6, elapsedMs) },
  };
}

/**
 * Writes objects 0..objects-1 (what get, mixed, delete and list need), untimed, and resolves with the
 * number written: `objects`, or fewer when hooks.signal stopped it (objects 0..n-1). Throws when any PUT
 * failed, with the first failures in the message.
 */
export async function prepareObjects(options: WorkloadOptions, hooks: RunHooks = {}): Promise<number> {
  const r = await runWorkload({ ...options, workload: 'put', opsMax: options.objects, durationMs: undefined }, hooks);
  if (r.errors > 0) throw new Error(`preparing ${options.objects} objects: ${r.errors} PUT(s) failed: ${r.errorSamples.join('; ')}`);
  return r.ops;
}
