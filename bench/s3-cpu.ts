// Server CPU per request, side by side: the S3 bench's small workloads (and optionally the large log GET)
// against the bare server and one or more sediment builds, in rounds, each phase run against every
// server in turn (in reverse order every other round). On a shared 2-core machine throughput is noisy;
// CPU time per operation of the server process (all its threads, from /proc) is the steadier figure to
// compare changes by.
//
//   node dist/bench/s3-cpu.js [--variants=new,base=/path/to/old/dist/src/cli/main.js] [--bare]
//                             [--phases=small-put,small-get,large-log-put,large-log-get] [--rounds=N]
//                             [--ops=N] [--large-objects=N] [--cpu-prof=DIR] [--no-fsync] [--by-thread]
//                             [--client=loadgen|node-http]
//                             [--node-args-NAME="--flag=1 --other"]   (extra node flags for variant NAME)
//                             [--env-NAME="VAR=value OTHER=value"]    (extra environment for variant NAME)
//                             [--durability-NAME=none|fsync]          (durability of variant NAME; default
//                                                                      fsync, or none with --no-fsync)
import { S3LoadClient } from '../src/loadgen/s3-client.js';
import { BENCH_CLIENT_NAMES, BUCKET, FULL_SIZES, phases, REGION, runPhase, type BenchClient, type PhaseResult } from './s3-phases.js';
import { startServer, type RunningServer } from './servers/spawn.js';
import { readdirSync, readFileSync } from 'node:fs';
import { fmt, MiB } from './setup.js';

/** CPU ticks per thread name (comm) of a process, from /proc/PID/task/TID/stat. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      const name = tid === String(pid) ? 'main' : byThread ? `${comm.trim()}#${tid}` : comm.replace(/[0-9]+$/, '').trim();
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (byThread) {
        // user and system time apart: piscina and V8 helper threads show user time, libuv's pool system time
        out.set(`${name} user`, Number(f[11]));
        out.set(`${name} sys`, Number(f[12]));
      } else {
        out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
      }
    }
  } catch {
    // process gone or not Linux
  }
  return out;
}

function threadShare(a: Map<string, number>, b: Map<string, number>, ops: number): string {
  const parts: string[] = [];
  for (const [name, t] of b) {
    const d = t - (a.get(name) ?? 0);
    if (d > 0) parts.push(`${name} ${fmt((d * 10_000) / Math.max(1, ops), 0)}`); // 100 ticks/s → µs per op
  }
  return parts.join(', ');
}

const opts = new Map<string, string>();
/** `--by-thread`: CPU per thread id (with its name) instead of summed per thread name. */
const byThread = process.argv.includes('--by-thread');
for (const a of process.argv.slice(2)) {
  const [k, v] = a.split('=', 2) as [string, string | undefined];
  opts.set(k.replace(/^--/, ''), v ?? '');
}
// `--variants` values are `name` (this build) or `name=/path/to/main.js`; split on the first '=' only.
const variantArg = process.argv.slice(2).find((a) => a.startsWith('--variants='))?.slice('--variants='.length) ?? 'new';
const variants = variantArg.split(',').map((v) => {
  const eq = v.indexOf('=');
  return eq < 0 ? { name: v, main: undefined } : { name: v.slice(0, eq), main: v.slice(eq + 1) };
});
const wanted = (opts.get('phases') ?? 'small-put,small-get').split(',');
const rounds = Number(opts.get('rounds') ?? 1);
const ops = Number(opts.get('ops') ?? 8000);
const largeObjects = Number(opts.get('large-objects') ?? 8);
const profDir = opts.get('cpu-prof');
/** `--client=node-http`: drive the servers with the plain node:http client instead of loadgen. */
const client = (opts.get('client') ?? 'loadgen') as BenchClient;
if (!BENCH_CLIENT_NAMES.includes(client)) throw new Error(`--client must be one of ${BENCH_CLIENT_NAMES.join(', ')}`);
const sizes = { ...FULL_SIZES, smallObjects: ops, smallDurationMs: 20_000, largeObjects };
const specs = phases(sizes).filter((p) => wanted.includes(p.id));
const SEED = 20_260_101;

const servers: Array<RunningServer & { label: string }> = [];
try {
  if (opts.has('bare')) {
    const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=bare-${Date.now()}.cpuprofile`] : [];
    const s = await startServer('bare', { dataSpecs: [{ kind: 'log', seed: SEED }], nodeArgs });
    servers.push({ ...s, label: 'bare' });
  }
  for (const v of variants) {
    const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${v.name}-${Date.now()}.cpuprofile`] : [];
    const extra = process.argv.slice(2).find((a) => a.startsWith(`--node-args-${v.name}=`));
    if (extra) nodeArgs.push(...extra.slice(`--node-args-${v.name}=`.length).split(' ').filter((x) => x !== ''));
    const envArg = process.argv.slice(2).find((a) => a.startsWith(`--env-${v.name}=`));
    const env = Object.fromEntries(
      (envArg?.slice(`--env-${v.name}=`.length).split(' ') ?? []).filter((x) => x.includes('=')).map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]),
    );
    const durability = opts.get(`durability-${v.name}`) ?? (opts.has('no-fsync') ? 'none' : 'fsync');
    if (durability !== 'none' && durability !== 'fsync') throw new Error(`--durability-${v.name} must be none or fsync`);
    const s = await startServer('sediment', { durability, sedimentMain: v.main, nodeArgs, env });
    servers.push({ ...s, label: v.name });
  }
  for (const s of servers) {
    const admin = new S3LoadClient({ endpoint: s.endpoint, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, region: REGION, connectionsMax: 1, timeoutMs: 30_000 });
    await admin.createBucket(BUCKET);
    admin.close();
  }
  console.log('| round | phase | server | ops/s | MB/s | server µs/op | server cores | client cores | other load | errors | server µs/op by thread |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (let round = 1; round <= rounds; round++) {
    // Every other round runs the servers in reverse order: whoever runs second in a phase may meet what
    // the first left behind (session 14: 0.10–0.17 cores of other load during the second of two 64 MiB
    // PUT phases, which lost every round whichever build it was).
    const order = round % 2 === 1 ? servers : [...servers].reverse();
    for (const spec of specs) {
      for (const s of order) {
        // A get phase needs its put phase's objects: the put phase runs first in every round.
        const t0 = threadTicks(s.pid);
        const r: PhaseResult = await runPhase(s, { ...spec, objects: spec.objects }, { client, clientWorkers: 1, seed: SEED });
        const w = r.result;
        const threads = threadShare(t0, threadTicks(s.pid), w.ops);
        const usPerOp = r.serverCores === undefined ? NaN : (r.serverCores * w.elapsedMs * 1000) / Math.max(1, w.ops);
        console.log(
          `| ${round} | ${spec.label} | ${s.label} | ${fmt(w.opsPerS)} | ${fmt(w.mbPerS, 1)} | ${spec.objectBytes >= MiB ? fmt(usPerOp / (spec.objectBytes / MiB), 0) + '/MiB' : fmt(usPerOp, 0)} | ` +
            `${fmt(r.serverCores ?? NaN, 2)} | ${fmt(w.cpu.cores, 2)} | ${fmt(r.otherCores ?? NaN, 2)} | ${w.errors}${w.errors ? ' ' + w.errorSamples.slice(0, 2).join('; ') : ''} | ${threads} |`,
        );
      }
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
