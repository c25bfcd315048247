// Small, single-workload repros of the engine bench for profiling, e.g.
//   node dist/bench/repro.js small 20000 --profile=small.cpuprofile   (main thread, timed region only)
//   node dist/bench/repro.js small 20000 --heapProfile=small.heapprofile   (what the main thread allocated)
//   node --cpu-prof --cpu-prof-dir=prof dist/bench/repro.js small 20000
//   node --cpu-prof --cpu-prof-dir=prof dist/bench/repro.js large log 8
//   node --cpu-prof --cpu-prof-dir=prof dist/bench/repro.js large random 8 --durability=none
//   node dist/bench/repro.js fill DIR 50000          (keeps DIR; then profile the reopen with
//   node --expose-gc --cpu-prof dist/bench/reopen-child.js DIR 0)
//   node dist/bench/repro.js fill DIR 400000 --crash=nockpt   (no checkpoint, killed: the next open replays all;
//                                                              --crash=default keeps the default interval)
// Inputs are generated before the timed region, which starts from warm pages (setup.ts, preparePages); one line reports throughput, CPU (all threads), page
// faults and context switches of the timed region only. --cpu-prof profiles the main thread and every
// worker thread into separate files.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';

import { Engine, type Durability } from '../src/index.js';
import { logKey, objectStream, piecePool, smallObject } from './data.js';
import { forEachConcurrent, MiB, preparePages, removeDir, scratchDir, timed } from './setup.js';

interface Flags {
  /** Write a main-thread CPU profile of the timed region only (node:inspector) to this file. */
  profile?: string;
  /** Write a sampling heap profile of the timed region (objects collected since included) to this file. */
  heapProfile?: string;
  durability: Durability;
  concurrency?: number;
  workerThreads?: number;
  md5Threads?: number;
  /** EngineOptions.batchSmallChunks (default true; `--batchSmallChunks=0` frames small chunks inline). */
  batchSmallChunks?: boolean;
  /**
   * fill only: end with `sync` and a SIGKILL instead of a clean close, so that the next open replays:
   * `nockpt` writes no checkpoint at all (everything is replayed), `default` keeps the default interval.
   */
  crash?: 'nockpt' | 'default';
}

function parse(argv: string[]): { pos: string[]; flags: Flags } {
  const flags: Flags = { durability: 'fsync' };
  const pos: string[] = [];
  for (const a of argv) {
    const m = /^--(\w+)=(.*)$/.exec(a);
    if (!m) {
      pos.push(a);
      continue;
    }
    if (m[1] === 'durability') flags.durability = m[2] as Durability;
    else if (m[1] === 'concurrency') flags.concurrency = Number(m[2]);
    else if (m[1] === 'workerThreads') flags.workerThreads = Number(m[2]);
    else if (m[1] === 'md5Threads') flags.md5Threads = Number(m[2]);
    else if (m[1] === 'batchSmallChunks') flags.batchSmallChunks = m[2] === '1' || m[2] === 'true';
    else if (m[1] === 'profile') flags.profile = m[2];
    else if (m[1] === 'heapProfile') flags.heapProfile = m[2];
    else if (m[1] === 'crash' && (m[2] === 'nockpt' || m[2] === 'default')) flags.crash = m[2];
    else throw new Error(`unknown flag ${a}`);
  }
  return { pos, flags };
}

/** A thread's CPU ms (user, sys), its name, and how often it was switched out while runnable. */
interface ThreadSample {
  user: number;
  sys: number;
  name: string;
  preempted: number;
}

/** Per thread of this process, from /proc (Linux; empty elsewhere). Ticks are 10 ms. */
function threadCpu(): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'latin1');
      const preempted = Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
      out.set(Number(tid), { user: Number(f[11]) * 10, sys: Number(f[12]) * 10, name, preempted });
    }
  } catch {
    // not Linux, or the thread ended between the listing and the read
  }
  return out;
}

/** Per-thread CPU used between two snapshots: the main thread first, then the busiest others. */
function describeThreads(a: Map<number, ThreadSample>, b: Map<number, ThreadSample>): string {
  const rows = [...b].map(([tid, t]) => {
    const t0 = a.get(tid) ?? { user: 0, sys: 0, preempted: 0 };
    return { tid, name: t.name, user: t.user - t0.user, sys: t.sys - t0.sys, preempted: t.preempted - t0.preempted };
  });
  const main = rows.find((r) => r.tid === process.pid);
  const others = rows.filter((r) => r.tid !== process.pid && r.user + r.sys >= 20).sort((x, y) => y.user + y.sys - (x.user + x.sys));
  const f = (r: { user: number; sys: number; preempted: number }) => `user ${r.user} ms + sys ${r.sys} ms, preempted ${r.preempted} times`;
  return [`  main thread: ${main ? f(main) : '?'}`, ...others.map((r) => `  thread ${r.tid} (${r.name}): ${f(r)}`)].join('\n');
}

let profileFile: string | undefined;
let heapProfileFile: string | undefined;

/**
 * Runs `fn` between `start` and `stop` of an inspector session and writes what `stop` returns (a
 * profile) to `file`; without a file, just runs `fn`.
 */
async function inspected(
  file: string | undefined,
  what: string,
  start: (s: Session) => Promise<unknown>,
  stop: (s: Session) => Promise<{ profile: unknown }>,
  fn: () => Promise<void>,
): Promise<void> {
  if (!file) return fn();
  const session = new Session();
  session.connect();
  await start(session);
  try {
    await fn();
  } finally {
    const { profile } = await stop(session);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`main-thread ${what} of the timed region: ${file}`);
  }
}

/** Runs `fn` under the inspector's sampling profiler when --profile=FILE was given. */
function profiled(fn: () => Promise<void>): Promise<void> {
  return inspected(
    profileFile,
    'profile',
    async (s) => {
      await s.post('Profiler.enable');
      await s.post('Profiler.setSamplingInterval', { interval: 250 });
      await s.post('Profiler.start');
    },
    (s) => s.post('Profiler.stop'),
    fn,
  );
}

/**
 * Runs `fn` under the inspector's sampling heap profiler when --heapProfile=FILE was given: every
 * allocation sampled (one per 512 bytes on average), including objects the garbage collector has since
 * freed, so the profile says what the timed region allocated, not what it kept. Open it in Chrome DevTools.
 */
function heapProfiled(fn: () => Promise<void>): Promise<void> {
  return inspected(
    heapProfileFile,
    'heap profile',
    async (s) => {
      await s.post('HeapProfiler.enable');
      await s.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    },
    (s) => s.post('HeapProfiler.stopSampling'),
    fn,
  );
}

async function report(what: string, units: number, unitName: string, fn: () => Promise<void>): Promise<void> {
  preparePages(); // the memory state the benches measure in (setup.ts; SEDIMENT_BENCH_PAGES=as-is skips it)
  const ru0 = process.resourceUsage();
  const th0 = threadCpu();
  const t = await timed(() => profiled(() => heapProfiled(fn)));
  const th = threadCpu();
  const ru = process.resourceUsage();
  console.log(
    `${what}: ${(units / (t.ms / 1000)).toFixed(0)} ${unitName}/s in ${t.ms.toFixed(0)} ms; process CPU ${(t.cpuMs / t.ms).toFixed(2)} cores ` +
      `(user ${((ru.userCPUTime - ru0.userCPUTime) / 1000).toFixed(0)} ms, sys ${((ru.systemCPUTime - ru0.systemCPUTime) / 1000).toFixed(0)} ms); ` +
      `minor faults ${ru.minorPageFault - ru0.minorPageFault}; voluntary ctx switches ${ru.voluntaryContextSwitches - ru0.voluntaryContextSwitches}; ` +
      `other load ${t.otherCores?.toFixed(2) ?? '?'} cores`,
  );
  console.log(`CPU by thread (piscina workers: mostly user time; libuv pool threads: mostly sys time):\n${describeThreads(th0, th)}`);
}

async function small(count: number, f: Flags): Promise<void> {
  const pool = piecePool('log', 8, MiB, 1);
  const dir = await scratchDir('repro');
  try {
    const e = await Engine.open({ dir, durability: f.durability, workerThreads: f.workerThreads, md5Threads: f.md5Threads, batchSmallChunks: f.batchSmallChunks });
    await e.createBucket('bench');
    const c = f.concurrency ?? 64;
    await report(`small puts, 4 KiB, concurrency ${c}, ${f.durability}`, count, 'put', () =>
      forEachConcurrent(count, c, async (i) => void (await e.putObject('bench', logKey(i), smallObject(pool, i, 4096)))),
    );
    await e.close();
  } finally {
    await removeDir(dir);
  }
}

async function large(kind: 'log' | 'random', objects: number, f: Flags): Promise<void> {
  const pool = piecePool(kind, 96, MiB, 2);
  const dir = await scratchDir('repro');
  try {
    const e = await Engine.open({ dir, durability: f.durability, workerThreads: f.workerThreads, md5Threads: f.md5Threads, batchSmallChunks: f.batchSmallChunks });
    await e.createBucket('bench');
    const c = f.concurrency ?? 1;
    await report(`large ${kind}, ${objects} × 64 MiB, concurrency ${c}, ${f.durability}`, objects * 64 * MiB, 'B', () =>
      forEachConcurrent(objects, c, async (i) => void (await e.putObject('bench', `o${i}`, objectStream(pool, i, 64)))),
    );
    await e.close();
  } finally {
    await removeDir(dir);
  }
}

async function fill(dir: string, count: number, f: Flags): Promise<void> {
  const pool = piecePool('log', 4, MiB, 3);
  const e = await Engine.open({
    dir, durability: f.durability === 'fsync' ? 'none' : f.durability, workerThreads: f.workerThreads, md5Threads: f.md5Threads,
    batchSmallChunks: f.batchSmallChunks, checkpointEveryOps: f.crash === 'nockpt' ? Number.MAX_SAFE_INTEGER : undefined,
  });
  await e.createBucket('bench');
  const c = f.concurrency ?? 256;
  await report(`fill ${count} × 64 B, concurrency ${c}`, count, 'put', () =>
    forEachConcurrent(count, c, async (i) => void (await e.putObject('bench', logKey(i), smallObject(pool, i, 64)))),
  );
  if (f.crash) {
    // Everything written reaches the disk (durability 'none' synced nothing), then no close: no checkpoint
    // of the end, as after a crash.
    execFileSync('sync');
    console.log(`killing the filler (--crash=${f.crash}): the next open of ${dir} replays`);
    process.kill(process.pid, 'SIGKILL');
  }
  await e.close();
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const { pos, flags } = parse(process.argv.slice(2));
  profileFile = flags.profile;
  heapProfileFile = flags.heapProfile;
  const [mode, a, b] = pos;
  if (mode === 'small') await small(Number(a ?? 20_000), flags);
  else if (mode === 'large' && (a === 'log' || a === 'random')) await large(a, Number(b ?? 8), flags);
  else if (mode === 'fill' && a) await fill(a, Number(b ?? 50_000), flags);
  else {
    console.error(
      'usage: repro.js small [COUNT] | large log|random [OBJECTS] | fill DIR [COUNT]  ' +
        '[--durability=fsync|none] [--concurrency=N] [--workerThreads=N] [--md5Threads=N] [--batchSmallChunks=0|1] [--profile=FILE] [--heapProfile=FILE] [--crash=nockpt|default]',
    );
    process.exit(2);
  }
}
