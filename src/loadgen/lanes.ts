// The operation loop of one client thread: `lanes` loops, each with at most one request in flight, that
// take operation numbers from a control block shared by all threads of a run, so that operation i is
// issued exactly once whatever the number of threads (and a duration-limited put writes objects
// 0..n-1 with no gaps).
// Contract: runLanes resolves when no lane will issue another operation and every issued one has
// finished; it never rejects for a failed operation (failures are counted in the returned stats).
import { type DataSpec } from './data.js';
import { LatencyHistogram, type HistogramSnapshot } from './histogram.js';
import { objectKeySuffix, type ResolvedOptions, type Workload } from './options.js';
import { SeededRandom } from './prng.js';
import { OperationError, S3LoadClient, type OperationErrorKind } from './s3-client.js';

/**
 * Slots of the shared control block (a BigInt64Array over a SharedArrayBuffer: 32-bit counters would wrap
 * after 2^31 operations, three days of a long run at 8,000 operations a second).
 */
export const CONTROL_NEXT_OP = 0;
export const CONTROL_STOP = 1;
export const CONTROL_OPS_DONE = 2;
export const CONTROL_ERRORS = 3;
export const CONTROL_SLOTS = 4;

export type Control = BigInt64Array;

export function createControl(): Control {
  return new BigInt64Array(new SharedArrayBuffer(CONTROL_SLOTS * 8));
}

export const ERROR_SAMPLES_MAX = 5;

/**
 * The kinds of operation a workload issues: one per workload, except mixed, which issues get and put.
 * An operation is one request, except multipart: the whole upload.
 */
export const OPERATION_KINDS = ['put', 'get', 'delete', 'list', 'multipart'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** The operations of one kind, or of all kinds together. */
export interface OperationStats {
  ops: number;
  bytes: number;
  errors: number;
  errorsByKind: Partial<Record<OperationErrorKind | 'other', number>>;
  latency: HistogramSnapshot;
}

export interface LaneStats extends OperationStats {
  /** Distinct error messages, the first ERROR_SAMPLES_MAX. */
  errorSamples: string[];
  /** Requests sent a second time (see Transport.retries); the operation's outcome is the second try's. */
  retries: number;
  /** The same counts by kind of operation (only the kinds the workload issues). */
  byKind: Partial<Record<OperationKind, OperationStats>>;
}

/** The kinds of operation a workload issues, in the order they are reported. */
export function operationKinds(workload: Workload): OperationKind[] {
  return workload === 'mixed' ? ['get', 'put'] : [workload];
}

function emptyOperationStats(): OperationStats {
  return { ops: 0, bytes: 0, errors: 0, errorsByKind: {}, latency: new LatencyHistogram().snapshot() };
}

function addErrorKinds(into: OperationStats['errorsByKind'], from: OperationStats['errorsByKind']): void {
  for (const [k, v] of Object.entries(from)) {
    const kind = k as keyof OperationStats['errorsByKind'];
    into[kind] = (into[kind] ?? 0) + (v ?? 0);
  }
}

/**
 * The most operations a run issues (Infinity: only the duration stops it). A run with a duration and no
 * opsMax lasts the duration: put, multipart and get go round the objects again; delete stops when every
 * object is gone.
 */
export function opsLimit(o: ResolvedOptions): number {
  if (o.opsMax !== undefined) return o.opsMax;
  if (o.workload === 'mixed' || o.workload === 'list') return Infinity;
  if (o.durationMs !== undefined && o.workload !== 'delete') return Infinity;
  return o.objects;
}

export interface LaneSetup {
  options: ResolvedOptions;
  control: Control;
  lanes: number;
  /** Global number of this thread's first lane (seeds the per-lane random choices of mixed). */
  firstLane: number;
  /** Date.now() after which no new operation starts. */
  deadlineEpochMs: number | undefined;
}

/** Operation `index`: what kind it is, and a start() that runs it and resolves with the payload bytes moved. */
type Operation = (index: number) => { kind: OperationKind; start: () => Promise<number> };

function keyOf(o: ResolvedOptions, index: number): string {
  return `${o.prefix}${objectKeySuffix(index)}`;
}

function makeOperation(o: ResolvedOptions, client: S3LoadClient, lane: number): Operation {
  const spec: DataSpec = o.data;
  switch (o.workload) {
    case 'put':
      return (i) => ({ kind: 'put', start: () => client.putObject(o.bucket, keyOf(o, i % o.objects), o.objectBytes, spec) });
    case 'multipart':
      return (i) => ({ kind: 'multipart', start: () => client.putMultipart(o.bucket, keyOf(o, i % o.objects), o.objectBytes, o.partBytes, spec, o.partsInFlight) });
    case 'get':
      return (i) => ({ kind: 'get', start: () => client.getObject(o.bucket, keyOf(o, i % o.objects), o.objectBytes, spec, o.verify) });
    case 'delete':
      return (i) => ({
        kind: 'delete',
        start: async () => {
          await client.deleteObject(o.bucket, keyOf(o, i));
          return 0;
        },
      });
    case 'mixed': {
      const rng = new SeededRandom((o.data.seed ^ Math.imul(lane + 1, 0x9e3779b9)) >>> 0);
      return (_i) => {
        const key = keyOf(o, rng.below(o.objects));
        return rng.below(100) < o.getPercent
          ? { kind: 'get', start: () => client.getObject(o.bucket, key, o.objectBytes, spec, o.verify) }
          : { kind: 'put', start: () => client.putObject(o.bucket, key, o.objectBytes, spec) };
      };
    }
    case 'list': {
      // Each lane pages through the prefix on its own; a finished pass must have seen every object of
      // the run (0..objects-1) exactly once, in order. Other keys under the prefix (objects an earlier run
      // with a larger -n left there) are listed too, but not counted.
      const ours = (key: string): boolean => {
        const suffix = key.slice(o.prefix.length);
        return /^\d{9}$/.test(suffix) && Number(suffix) < o.objects;
      };
      let token: string | undefined;
      let seen = 0;
      let last = '';
      const listPage = async (): Promise<number> => {
        const page = await client.listPage(o.bucket, o.prefix, o.listPageKeys, token);
        for (const k of page.keys) {
          if (!k.startsWith(o.prefix) || k <= last) {
            token = undefined;
            seen = 0;
            last = '';
            throw new OperationError('verify', `LIST: key ${JSON.stringify(k)} out of order or outside the prefix`);
          }
          last = k;
          if (ours(k)) seen++;
        }
        token = page.nextToken;
        if (token === undefined) {
          const total = seen;
          seen = 0;
          last = '';
          if (total !== o.objects) throw new OperationError('verify', `LIST: a full pass saw ${total} of the ${o.objects} objects`);
        }
        return 0;
      };
      return (_i) => ({ kind: 'list', start: listPage });
    }
  }
}

export async function runLanes(setup: LaneSetup): Promise<LaneStats> {
  const { options: o, control, deadlineEpochMs } = setup;
  const limit = opsLimit(o);
  // A multipart lane has up to partsInFlight requests out at once, each on a connection of its own.
  const perLane = o.workload === 'multipart' ? o.partsInFlight : 1;
  const client = new S3LoadClient({ ...o, connectionsMax: setup.lanes * perLane, timeoutMs: o.timeoutMs });
  // One histogram per kind of operation; the total's is their merge (mergeLaneStats).
  const histograms = new Map<OperationKind, LatencyHistogram>(operationKinds(o.workload).map((k) => [k, new LatencyHistogram()]));
  const stats: LaneStats = { ...emptyOperationStats(), errorSamples: [], retries: 0, byKind: {} };
  for (const k of histograms.keys()) stats.byKind[k] = emptyOperationStats();

  const next = (): number => {
    if (Atomics.load(control, CONTROL_STOP) !== 0n) return -1;
    if (deadlineEpochMs !== undefined && Date.now() >= deadlineEpochMs) {
      Atomics.store(control, CONTROL_STOP, 1n);
      return -1;
    }
    const i = Number(Atomics.add(control, CONTROL_NEXT_OP, 1n));
    return i < limit ? i : -1;
  };

  const lane = async (laneIndex: number): Promise<void> => {
    const op = makeOperation(o, client, laneIndex);
    for (let i = next(); i >= 0; i = next()) {
      const { kind, start } = op(i);
      const of = stats.byKind[kind]!;
      const t0 = performance.now();
      try {
        const bytes = await start(); // not `of.bytes += await ...`: that would read of.bytes before the await
        histograms.get(kind)!.recordMs(performance.now() - t0);
        of.ops++;
        of.bytes += bytes;
      } catch (err) {
        const errorKind = err instanceof OperationError ? err.kind : 'other';
        of.errors++;
        of.errorsByKind[errorKind] = (of.errorsByKind[errorKind] ?? 0) + 1;
        const sample = `${errorKind}: ${(err as Error)?.message ?? String(err)}`;
        if (stats.errorSamples.length < ERROR_SAMPLES_MAX && !stats.errorSamples.includes(sample)) stats.errorSamples.push(sample);
        Atomics.add(control, CONTROL_ERRORS, 1n);
      }
      Atomics.add(control, CONTROL_OPS_DONE, 1n);
    }
  };

  try {
    await Promise.all(Array.from({ length: setup.lanes }, (_, k) => lane(setup.firstLane + k)));
  } finally {
    stats.retries = client.retries;
    client.close();
  }
  for (const [k, h] of histograms) stats.byKind[k]!.latency = h.snapshot();
  return mergeLaneStats([stats]).stats;
}

/** Adds `from` into `into` (counts, error kinds and latency). */
function addOperationStats(into: OperationStats, intoHistogram: LatencyHistogram, from: OperationStats): void {
  into.ops += from.ops;
  into.bytes += from.bytes;
  into.errors += from.errors;
  addErrorKinds(into.errorsByKind, from.errorsByKind);
  intoHistogram.merge(from.latency);
}

/**
 * The stats of several threads as one: per kind, the sums of each kind's counts and latencies; the
 * totals, the sums over the kinds (the totals of the inputs are not read).
 */
export function mergeLaneStats(all: LaneStats[]): { stats: LaneStats; histogram: LatencyHistogram; histogramsByKind: Map<OperationKind, LatencyHistogram> } {
  const histogram = new LatencyHistogram();
  const histogramsByKind = new Map<OperationKind, LatencyHistogram>();
  const out: LaneStats = { ...emptyOperationStats(), errorSamples: [], retries: 0, byKind: {} };
  for (const s of all) {
    out.retries += s.retries;
    for (const m of s.errorSamples) if (out.errorSamples.length < ERROR_SAMPLES_MAX && !out.errorSamples.includes(m)) out.errorSamples.push(m);
    for (const [k, v] of Object.entries(s.byKind)) {
      const kind = k as OperationKind;
      const into = (out.byKind[kind] ??= emptyOperationStats());
      if (!histogramsByKind.has(kind)) histogramsByKind.set(kind, new LatencyHistogram());
      addOperationStats(into, histogramsByKind.get(kind)!, v!);
      addOperationStats(out, histogram, v!);
    }
  }
  for (const [k, h] of histogramsByKind) out.byKind[k]!.latency = h.snapshot();
  out.latency = histogram.snapshot();
  return { stats: out, histogram, histogramsByKind };
}
