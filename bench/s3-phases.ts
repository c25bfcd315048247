// The workloads of the S3 bench (issue 3 item 8) and how one is run against one server with one client:
// the load generator of src/loadgen over either of its HTTP clients, plus the server process's CPU time
// (from /proc) and the load the rest of the machine put on it meanwhile.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { runWorkload, type WorkloadResult } from '../src/loadgen/run-workload.js';
import type { DataKind } from '../src/loadgen/data.js';
import type { HttpClientKind } from '../src/loadgen/transport.js';
import type { RunningServer } from './servers/spawn.js';
import { busyCores, MiB, preparePages, systemCpu, waitForQuiet } from './setup.js';

export interface S3BenchSizes {
  smallBytes: number;
  smallObjects: number;
  smallDurationMs: number;
  smallConcurrency: number;
  largeBytes: number;
  largeObjects: number;
  largeConcurrency: number;
}

export const FULL_SIZES: S3BenchSizes = {
  smallBytes: 4096,
  smallObjects: 20_000,
  smallDurationMs: 10_000,
  smallConcurrency: 32,
  largeBytes: 64 * MiB,
  largeObjects: 16,
  largeConcurrency: 4,
};

export const QUICK_SIZES: S3BenchSizes = {
  ...FULL_SIZES,
  smallObjects: 2_000,
  smallDurationMs: 3_000,
  largeBytes: 8 * MiB,
  largeObjects: 4,
};

export interface PhaseSpec {
  id: string;
  label: string;
  workload: 'put' | 'get';
  kind: DataKind;
  objectBytes: number;
  /** Objects to write, or (get) to read: the ones its put phase wrote. */
  objects: number;
  /** Stop after this many operations (get: goes round the objects again). */
  opsMax?: number;
  durationMs?: number;
  concurrency: number;
  prefix: string;
}

/** Phases in run order; each get follows the put that wrote its objects. */
export function phases(s: S3BenchSizes): PhaseSpec[] {
  const small = (workload: 'put' | 'get'): PhaseSpec => ({
    id: `small-${workload}`,
    label: `${s.smallBytes / 1024} KiB ${workload.toUpperCase()}`,
    workload,
    kind: 'log',
    objectBytes: s.smallBytes,
    objects: s.smallObjects,
    opsMax: s.smallObjects,
    durationMs: s.smallDurationMs,
    concurrency: s.smallConcurrency,
    prefix: 'small/',
  });
  const large = (workload: 'put' | 'get', kind: DataKind): PhaseSpec => ({
    id: `large-${kind}-${workload}`,
    label: `${s.largeBytes / MiB} MiB ${kind} ${workload.toUpperCase()}`,
    workload,
    kind,
    objectBytes: s.largeBytes,
    objects: s.largeObjects,
    concurrency: s.largeConcurrency,
    prefix: `large-${kind}/`,
  });
  return [small('put'), small('get'), large('put', 'log'), large('get', 'log'), large('put', 'random'), large('get', 'random')];
}

/**
 * The clients a phase can run with. Both are src/loadgen's lanes (same operation numbering, data, GET
 * verification, latency histogram and threads) and differ only in the HTTP client under them:
 * loadgen = raw keep-alive sockets, node-http = http.request with a keep-alive http.Agent, the "plain
 * node:http, SigV4" client issue 7's reference figures are stated for.
 */
export const BENCH_CLIENTS = { loadgen: 'raw', 'node-http': 'node-http' } as const satisfies Record<string, HttpClientKind>;
export type BenchClient = keyof typeof BENCH_CLIENTS;
export const BENCH_CLIENT_NAMES = Object.keys(BENCH_CLIENTS) as BenchClient[];

export interface PhaseResult {
  phase: string;
  server: string;
  client: BenchClient;
  result: WorkloadResult;
  /** CPU cores the server process kept busy (all its threads). */
  serverCores?: number;
  /** Cores busy machine-wide that were neither the client nor the server. */
  otherCores?: number;
}

let ticksPerSecond: number | undefined;

/** utime + stime of a process in ms (Linux /proc); undefined elsewhere. */
export function processCpuMs(pid: number): number | undefined {
  try {
    ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

/** Apparent size of all files under `dir`. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await directoryBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

export const BUCKET = 'bench';
export const REGION = 'us-east-1';

export interface PhaseRunOptions {
  /** Default loadgen. */
  client?: BenchClient;
  clientWorkers: number;
  seed: number;
  onProgress?: (line: string) => void;
}

/** Warm-up per server and client, before anything is measured (see warmUp). */
export const WARMUP = { objectBytes: 4096, objects: 2000, opsMax: 6000, durationMs: 3000, concurrency: 32, prefix: 'warmup/' } as const;

/**
 * 4 KiB PUTs then GETs against `server` with `client`, results discarded: the client's and the server's
 * JIT-compiled paths are then warm when the first measured phase starts. Without it the first phase of
 * each server ran cold (the bare server's first 20,000 PUTs: 7,900 PUT/s and 97 µs of server CPU each,
 * against 8,558 and 9,242 PUT/s, 86 and 77 µs, in the next two rounds).
 */
export async function warmUp(server: RunningServer, client: BenchClient, clientWorkers: number, seed: number): Promise<WorkloadResult[]> {
  const out: WorkloadResult[] = [];
  for (const workload of ['put', 'get'] as const) {
    // The GETs read only what the PUTs wrote (a slow server writes fewer than WARMUP.objects in time), and
    // none after a failed PUT (which object it was is not known).
    const put = out[0];
    const objects = put === undefined ? WARMUP.objects : put.errors > 0 ? 0 : Math.min(WARMUP.objects, put.opsIssued);
    if (objects <= 0) break;
    out.push(
      await runWorkload({
        endpoint: server.endpoint,
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
        region: REGION,
        bucket: BUCKET,
        prefix: `${client}/${WARMUP.prefix}`,
        workload,
        objectBytes: WARMUP.objectBytes,
        objects,
        durationMs: WARMUP.durationMs,
        opsMax: WARMUP.opsMax,
        concurrency: WARMUP.concurrency,
        data: { kind: 'log', seed },
        workers: Math.min(clientWorkers, WARMUP.concurrency),
        httpClient: BENCH_CLIENTS[client],
      }),
    );
  }
  return out;
}

export async function runPhase(server: RunningServer, p: PhaseSpec, o: PhaseRunOptions): Promise<PhaseResult> {
  const client = o.client ?? 'loadgen';
  spawnSync('sync'); // earlier phases' dirty pages must not be written back during this one
  await waitForQuiet(); // at most $SEDIMENT_BENCH_QUIET_S seconds (default 0: no wait)
  preparePages(); // every server starts each phase from the same memory state (setup.ts, pageState)
  const sys0 = systemCpu();
  const srv0 = processCpuMs(server.pid);
  const result = await runWorkload(
    {
      endpoint: server.endpoint,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      region: REGION,
      bucket: BUCKET,
      prefix: `${client}/${p.prefix}`, // each client writes and reads its own objects: neither overwrites the other's
      workload: p.workload,
      objectBytes: p.objectBytes,
      objects: p.objects,
      durationMs: p.durationMs,
      opsMax: p.opsMax,
      concurrency: p.concurrency,
      data: { kind: p.kind, seed: o.seed },
      workers: Math.min(o.clientWorkers, p.concurrency),
      httpClient: BENCH_CLIENTS[client],
    },
    o.onProgress ? { progressEveryMs: 5000, onProgress: (pr) => o.onProgress!(`  ${client} → ${server.name} ${p.label}: ${pr.opsDone} ops, ${pr.errors} errors, ${(pr.elapsedMs / 1000).toFixed(0)} s`) } : {},
  );
  const srv1 = processCpuMs(server.pid);
  const machine = busyCores(sys0, systemCpu());
  // A phase whose every request failed at once can take 0 ms: no rate then, not NaN.
  const serverCores = srv0 !== undefined && srv1 !== undefined && result.elapsedMs > 0 ? (srv1 - srv0) / result.elapsedMs : undefined;
  const otherCores = machine === undefined || !Number.isFinite(machine) ? undefined : Math.max(0, machine - result.cpu.cores - (serverCores ?? 0));
  return { phase: p.id, server: server.name, client, result, serverCores, otherCores };
}
