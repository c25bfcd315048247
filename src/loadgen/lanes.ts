// The operation loop of one client thread: `lanes` loops, each with at most one request in flight, that
// take operation numbers from a control block shared by all threads of a run, so that operation i is
// issued exactly once whatever the number of threads (and a duration-limited put writes objects
// 0..n-1 with no gaps).
// Contract: runLanes resolves when no lane will issue another operation and every issued one has
// finished; it never rejects for a failed operation (failures are counted in the returned stats).
import { type DataSpec } from './data.js';
import { LatencyHistogram, type HistogramSnapshot } from './histogram.js';
import { objectKeySuffix, type ResolvedOptions } from './options.js';
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

export interface LaneStats {
  ops: number;
  bytes: number;
  errors: number;
  errorsByKind: Partial<Record<OperationErrorKind | 'other', number>>;
  errorSamples: string[];
  /** Requests sent a second time (see Transport.retries); the operation's outcome is the second try's. */
  retries: number;
  latency: HistogramSnapshot;
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

type Operation = (index: number) => Promise<number>;

function keyOf(o: ResolvedOptions, index: number): string {
  return `${o.prefix}${objectKeySuffix(index)}`;
}

function makeOperation(o: ResolvedOptions, client: S3LoadClient, lane: number): Operation {
  const spec: DataSpec = o.data;
  switch (o.workload) {
    case 'put':
      return (i) => client.putObject(o.bucket, keyOf(o, i % o.objects), o.objectBytes, spec);
    case 'multipart':
      return (i) => client.putMultipart(o.bucket, keyOf(o, i % o.objects), o.objectBytes, o.partBytes, spec, o.partsInFlight);
    case 'get':
      return (i) => client.getObject(o.bucket, keyOf(o, i % o.objects), o.objectBytes, spec, o.verify);
    case 'delete':
      return async (i) => {
        await client.deleteObject(o.bucket, keyOf(o, i));
        return 0;
      };
    case 'mixed': {
      const rng = new SeededRandom((o.data.seed ^ Math.imul(lane + 1, 0x9e3779b9)) >>> 0);
      return (_i) => {
        const key = keyOf(o, rng.below(o.objects));
        return rng.below(100) < o.getPercent
          ? client.getObject(o.bucket, key, o.objectBytes, spec, o.verify)
          : client.putObject(o.bucket, key, o.objectBytes, spec);
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
      return async (_i) => {
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
    }
  }
}

export async function runLanes(setup: LaneSetup): Promise<LaneStats> {
  const { options: o, control, deadlineEpochMs } = setup;
  const limit = opsLimit(o);
  // A multipart lane has up to partsInFlight requests out at once, each on a connection of its own.
  const perLane = o.workload === 'multipart' ? o.partsInFlight : 1;
  const client = new S3LoadClient({ ...o, connectionsMax: setup.lanes * perLane, timeoutMs: o.timeoutMs });
  const histogram = new LatencyHistogram();
  const stats: LaneStats = { ops: 0, bytes: 0, errors: 0, errorsByKind: {}, errorSamples: [], retries: 0, latency: histogram.snapshot() };

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
      const t0 = performance.now();
      try {
        const bytes = await op(i); // not `stats.bytes += await ...`: that would read stats.bytes before the await
        histogram.recordMs(performance.now() - t0);
        stats.ops++;
        stats.bytes += bytes;
      } catch (err) {
        const kind = err instanceof OperationError ? err.kind : 'other';
        stats.errors++;
        stats.errorsByKind[kind] = (stats.errorsByKind[kind] ?? 0) + 1;
        if (stats.errorSamples.length < ERROR_SAMPLES_MAX) stats.errorSamples.push(`${kind}: ${(err as Error)?.message ?? String(err)}`);
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
  stats.latency = histogram.snapshot();
  return stats;
}

export function mergeLaneStats(all: LaneStats[]): { stats: LaneStats; histogram: LatencyHistogram } {
  const histogram = new LatencyHistogram();
  const out: LaneStats = { ops: 0, bytes: 0, errors: 0, errorsByKind: {}, errorSamples: [], retries: 0, latency: histogram.snapshot() };
  for (const s of all) {
    out.ops += s.ops;
    out.bytes += s.bytes;
    out.errors += s.errors;
    out.retries += s.retries;
    for (const [k, v] of Object.entries(s.errorsByKind)) {
      const kind = k as keyof LaneStats['errorsByKind'];
      out.errorsByKind[kind] = (out.errorsByKind[kind] ?? 0) + (v ?? 0);
    }
    for (const m of s.errorSamples) if (out.errorSamples.length < ERROR_SAMPLES_MAX) out.errorSamples.push(m);
    histogram.merge(s.latency);
  }
  out.latency = histogram.snapshot();
  return { stats: out, histogram };
}
