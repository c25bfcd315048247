// What every bench reports about where it ran, where its temporary data lives, and how its results are
// printed (a markdown table) and saved (JSON next to the temporary data). Style rule 11: a bench states
// its setup and compares side by side in one run.
import { closeSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export interface MachineInfo {
  cpu: string;
  logicalCores: number;
  availableParallelism: number;
  memoryGiB: number;
  platform: string;
  node: string;
  uvThreadpoolSize: string;
  /** pageState() and warmBytes() of this run. */
  pages: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    logicalCores: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    pages: pageState() === 'warm' ? `warm ${warmBytes() / MiB} MiB` : 'as-is',
  };
}

export function describeMachine(m: MachineInfo = machineInfo()): string {
  return (
    `CPU: ${m.cpu}, ${m.logicalCores} logical cores (availableParallelism ${m.availableParallelism}), ${m.memoryGiB} GiB RAM\n` +
    `OS: ${m.platform}; Node ${m.node}; UV_THREADPOOL_SIZE ${m.uvThreadpoolSize}\n` +
    `Memory state before each timed phase: ${pageState() === 'warm' ? `warm (${warmBytes() / MiB} MiB written and deleted just before; SEDIMENT_BENCH_PAGES=as-is to skip)` : 'as left by the previous phase (SEDIMENT_BENCH_PAGES=as-is)'}`
  );
}

/** True for the small smoke-test sizes: `--quick` on the command line or SEDIMENT_BENCH_QUICK=1. */
export function quickMode(argv: string[] = process.argv): boolean {
  return argv.includes('--quick') || process.env.SEDIMENT_BENCH_QUICK === '1';
}

/** Where bench data and result files go: $SEDIMENT_BENCH_DIR, else the OS temp dir. */
export function benchBaseDir(): string {
  return process.env.SEDIMENT_BENCH_DIR ?? os.tmpdir();
}

const liveDirs = new Set<string>();
let cleanupInstalled = false;

/**
 * On Ctrl-C or SIGTERM, and on any other exit (an uncaught error, e.g. EPIPE once `| head` has closed
 * stdout), scratch directories still in use are removed: each can hold gigabytes.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const removeLive = (): void => {
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    liveDirs.clear();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      removeLive();
      process.exit(130);
    });
  }
  process.once('exit', removeLive);
}

/** A fresh scratch directory under the bench base dir; remove it with `removeDir`. */
export async function scratchDir(label: string): Promise<string> {
  const base = benchBaseDir();
  await mkdir(base, { recursive: true });
  installCleanup();
  const dir = await mkdtemp(path.join(base, `sediment-bench-${label}-`));
  liveDirs.add(dir);
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/** Writes `data` as JSON under the bench base dir and returns the file path. */
export async function saveResults(name: string, data: unknown): Promise<string> {
  const dir = path.join(benchBaseDir(), 'sediment-bench-results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${name}-${stamp}.json`);
  await writeFile(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Formats a number with `digits` decimals and comma thousands separators. */
/** `n` for a table; 'n/a' for what was not measured (NaN, an infinite rate of a phase that took no time). */
export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const MiB = 1 << 20;
export const GiB = 1 << 30;
/** MB/s throughout the benches is 10^6 bytes per second. */
export function mbPerS(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** Runs `fn(i)` for i in [0, count) with at most `concurrency` calls in flight; rejects on the first failure. */
export async function forEachConcurrent(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/** Whole-machine CPU counters (Linux /proc/stat, in clock ticks summed over all CPUs); undefined elsewhere. */
export function systemCpu(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0) - (f[8] ?? 0) - (f[9] ?? 0); // guest time is inside user time
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Cores busy machine-wide between two systemCpu() samples. */
export function busyCores(a: ReturnType<typeof systemCpu>, b: ReturnType<typeof systemCpu>): number | undefined {
  if (!a || !b || b.total <= a.total) return undefined;
  return ((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length;
}

/**
 * Other sessions share this machine: before a timed phase, waits (at most $SEDIMENT_BENCH_QUIET_S seconds,
 * default 0) until less than 0.3 cores are busy over one second. Returns the last load seen.
 */
export async function waitForQuiet(): Promise<number | undefined> {
  const maxMs = Number(process.env.SEDIMENT_BENCH_QUIET_S ?? '0') * 1000;
  const until = performance.now() + maxMs;
  let load: number | undefined;
  if (maxMs <= 0) return undefined;
  do {
    const a = systemCpu();
    await new Promise((r) => setTimeout(r, maxMs > 0 ? 1000 : 0));
    load = busyCores(a, systemCpu());
    if (load === undefined || load < 0.3) break;
  } while (performance.now() < until);
  return load;
}

/**
 * The memory state a timed phase starts from. This machine is a VM whose balloon device reports the pages
 * the guest has freed to the host (virtio-balloon free page reporting; `/sys/bus/virtio/devices/*`, device
 * 5, feature bit 5): a few seconds after a file is deleted or a buffer unmapped, its pages are handed back,
 * and the next first write to each costs a host fault — measured here at ~4 ms of system time per MiB, the
 * same whether the page becomes page cache or a process's buffer. A plain 512 MiB write with fdatasync
 * then runs at ~220 MB/s instead of ~880 MB/s, and the order of phases (what a phase just before it freed)
 * decided which one a measurement got. So that every measurement, sediment's and the reference's alike,
 * starts from the same state, `preparePages()` writes and deletes a scratch file right before the timed
 * region ($SEDIMENT_BENCH_PAGES=warm, the default: the state of a server that has been writing for a while,
 * whose page cache recycles its own pages), or does nothing ($SEDIMENT_BENCH_PAGES=as-is).
 * docs/PERFORMANCE.md, "Memory state of this VM", has the figures.
 */
export function pageState(): 'warm' | 'as-is' {
  const v = process.env.SEDIMENT_BENCH_PAGES ?? 'warm';
  if (v !== 'warm' && v !== 'as-is') throw new Error(`SEDIMENT_BENCH_PAGES must be warm or as-is, not ${v}`);
  return v;
}

/** Bytes written and deleted by preparePages: $SEDIMENT_BENCH_WARM_MIB MiB (default 1280, 256 with --quick). */
export function warmBytes(): number {
  const mib = Number(process.env.SEDIMENT_BENCH_WARM_MIB ?? (quickMode() ? 256 : 1280));
  if (!Number.isFinite(mib) || mib < 0) throw new Error(`SEDIMENT_BENCH_WARM_MIB must be a number of MiB, not ${process.env.SEDIMENT_BENCH_WARM_MIB}`);
  return Math.floor(mib) * MiB;
}

let warmPiece: Buffer | undefined;

/** See pageState(). Synchronous on purpose: nothing else runs between it and the timed region. */
export function preparePages(bytes = warmBytes()): void {
  if (pageState() !== 'warm' || bytes === 0) return;
  warmPiece ??= Buffer.alloc(8 * MiB, 0x5a);
  const file = path.join(benchBaseDir(), `sediment-bench-warm-${process.pid}`);
  const fd = openSync(file, 'w');
  try {
    // Not synced: the file is deleted before writeback, so the pages are touched without disk I/O.
    for (let at = 0; at < bytes; at += warmPiece.length) writeSync(fd, warmPiece, 0, Math.min(warmPiece.length, bytes - at));
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
}

export interface Timed<T> {
  value: T;
  ms: number;
  /** CPU time of this process, all threads. */
  cpuMs: number;
  /** Average cores busy machine-wide minus this process's share: load from other processes. */
  otherCores?: number;
}

/** Wall time and process CPU time (all threads) of `fn`, and how busy the rest of the machine was. */
export async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const sys0 = systemCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const machine = busyCores(sys0, systemCpu());
  return { value, ms, cpuMs, otherCores: machine === undefined ? undefined : Math.max(0, machine - cpuMs / ms) };
}
