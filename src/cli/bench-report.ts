// What `sediment bench --json` prints besides the results: the run's settings with the defaults filled in
// (never the credentials), a command line that repeats the run, and the client machine. The shape is
// documented in README.md ("sediment bench"); fields are only ever added.
import { cpus } from 'node:os';
import { validateOptions, type DataKind, type Workload, type WorkloadOptions, type WorkloadResult } from '../loadgen/index.js';

/** What `--json` prints: how the run was set up (enough to repeat it, no credentials), then its results. */
export interface BenchReport {
  /** The sediment version that ran the load (the client's, not the server's). */
  sediment: string;
  /** A command line that repeats the run (credentials left out: they come from the same place again). */
  command: string;
  settings: BenchSettings;
  client: { node: string; platform: string; arch: string; cpus: number; cpuModel: string };
  /** Wall-clock start and end of the whole command (ISO 8601, UTC); each result has its own. */
  startedAt: string;
  endedAt: string;
  /** settings.endpoint and settings.bucket, kept where the first versions of this report had them. */
  endpoint: string;
  bucket: string;
  /** Objects written untimed before the first workload (0: none; see --no-prepare). */
  prepared: number;
  interrupted: boolean;
  results: WorkloadResult[];
}

export interface BenchSettings {
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  workloads: Workload[];
  objectBytes: number;
  objects: number;
  concurrency: number;
  workers: number;
  /** -d in ms, null when not given. */
  durationMs: number | null;
  /** --ops, null when not given. */
  opsMax: number | null;
  data: { kind: DataKind; seed: number };
  verify: boolean;
  prepare: boolean;
  getPercent: number;
  partBytes: number;
  partsInFlight: number;
  /** --timeout in ms, or its default. */
  timeoutMs: number;
  httpClient: string;
}

/** The settings of a run of `workloads` with the options `base` (those of the first workload), defaults filled in. */
export function benchSettings(base: WorkloadOptions, workloads: Workload[], prepare: boolean): BenchSettings {
  const o = validateOptions(base);
  return {
    endpoint: o.endpoint,
    region: o.region,
    bucket: o.bucket,
    prefix: o.prefix,
    workloads,
    objectBytes: o.objectBytes,
    objects: o.objects,
    concurrency: o.concurrency,
    workers: o.workers,
    durationMs: o.durationMs ?? null,
    opsMax: o.opsMax ?? null,
    data: { kind: o.data.kind, seed: o.data.seed },
    verify: o.verify,
    prepare,
    getPercent: o.getPercent,
    partBytes: o.partBytes,
    partsInFlight: o.partsInFlight,
    timeoutMs: o.timeoutMs,
    httpClient: o.httpClient,
  };
}

/** A word of a POSIX shell command line: as it is when it is safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that repeats a run: every setting spelled out, so that changed defaults do not change
 * it; --timeout only when given (without it, creating the bucket has its own shorter timeout).
 */
export function commandLine(s: BenchSettings, timeoutGiven: boolean): string {
  const words = ['sediment', 'bench', '--endpoint', s.endpoint, '--region', s.region, '--bucket', s.bucket, '--prefix', s.prefix, '-w', s.workloads.join(','),
    '-s', String(s.objectBytes), '-n', String(s.objects), '-c', String(s.concurrency), '--workers', String(s.workers)];
  if (s.durationMs !== null) words.push('-d', `${s.durationMs}ms`);
  if (s.opsMax !== null) words.push('--ops', String(s.opsMax));
  words.push('--data-kind', s.data.kind, '--seed', String(s.data.seed), '--get-percent', String(s.getPercent), '--part-size', String(s.partBytes),
    '--parts-in-flight', String(s.partsInFlight));
  if (timeoutGiven) words.push('--timeout', `${s.timeoutMs}ms`);
  if (!s.verify) words.push('--no-verify');
  if (!s.prepare) words.push('--no-prepare');
  return words.map(shellWord).join(' ');
}

export function clientInfo(): BenchReport['client'] {
  const cores = cpus();
  return { node: process.version, platform: process.platform, arch: process.arch, cpus: cores.length, cpuModel: cores[0]?.model.trim() ?? 'unknown' };
}
