// `npm run bench:s3`: the S3 front side by side with its references, in one run, with one client
// (src/loadgen: raw keep-alive HTTP, SigV4 on every request, every GET byte verified):
//   bare     - node:http that drains PUT bodies and serves GETs from memory (the HTTP ceiling)
//   s3rver   - a file-per-object S3 server for Node (no fsync)
//   sediment - `sediment serve --durability fsync --quiet` on a fresh data directory
// Each server is a child process started fresh; every workload (s3-phases.ts) runs against each server
// in turn, so all three see the same moment of the machine. Prints markdown tables and the acceptance check, saves JSON under the bench dir.
//
//   node dist/bench/s3.bench.js [--quick] [--servers=bare,s3rver,sediment] [--client-workers=N]
//                               [--attempts=N] [--busy-max=CORES] [--server-cpu-prof=DIR]
// --attempts repeats a measurement during which other processes kept more than --busy-max cores
// (default 0.3) busy, keeping the least disturbed one (default 1 attempt: no repeat).
// --server-cpu-prof starts the servers with `node --cpu-prof` writing profiles to DIR (slower runs).
// SEDIMENT_BENCH_QUIET_S=N waits up to N seconds before each measurement for the machine to be idle
// (the "other load" column shows how busy the rest of the machine was during each one).
import { createRequire } from 'node:module';
import { S3LoadClient } from '../src/loadgen/s3-client.js';
import { BUCKET, directoryBytes, FULL_SIZES, phases, QUICK_SIZES, REGION, runPhase, type PhaseResult } from './s3-phases.js';
import { ratioTable, resultsTable, targets, targetTable } from './s3-report.js';
import { SERVER_NAMES, startServer, type RunningServer, type ServerName } from './servers/spawn.js';
import { describeMachine, fmt, machineInfo, quickMode, saveResults } from './setup.js';

const DEFAULT_CLIENT_WORKERS = 1;

function s3rverVersion(): string {
  try {
    return (createRequire(import.meta.url)('s3rver/package.json') as { version: string }).version;
  } catch {
    return '(version unknown)';
  }
}
const SEED = 20_260_101;

function usage(problem: string): never {
  console.error(
    `s3.bench: ${problem}\nusage: node dist/bench/s3.bench.js [--quick] [--servers=${SERVER_NAMES.join(',')}] [--client-workers=N] ` +
      '[--attempts=N] [--busy-max=CORES] [--server-cpu-prof=DIR]',
  );
  process.exit(2);
}

interface Args {
  quick: boolean;
  servers: ServerName[];
  clientWorkers: number;
  attempts: number;
  busyMax: number;
  cpuProfDir?: string;
}

function parseArgs(argv: string[]): Args {
  let servers: ServerName[] = [...SERVER_NAMES];
  let attempts = 1;
  let busyMax = 0.3;
  let clientWorkers = DEFAULT_CLIENT_WORKERS;
  let cpuProfDir: string | undefined;
  for (const a of argv) {
    if (a === '--quick') continue;
    const [name, value] = a.split('=', 2) as [string, string | undefined];
    if (name === '--servers' && value) {
      const list = value.split(',');
      const bad = list.filter((s) => !(SERVER_NAMES as readonly string[]).includes(s));
      if (bad.length > 0) usage(`unknown server(s) ${bad.join(', ')}`);
      servers = list as ServerName[];
    } else if (name === '--client-workers' && value && /^\d+$/.test(value) && Number(value) >= 1) {
      clientWorkers = Number(value);
    } else if (name === '--attempts' && value && /^[1-9]$/.test(value)) {
      attempts = Number(value);
    } else if (name === '--busy-max' && value && Number(value) >= 0) {
      busyMax = Number(value);
    } else if (name === '--server-cpu-prof' && value) {
      cpuProfDir = value;
    } else usage(`unknown option ${a}`);
  }
  return { quick: quickMode(argv), servers, clientWorkers, attempts, busyMax, cpuProfDir };
}

const args = parseArgs(process.argv.slice(2));
const sizes = args.quick ? QUICK_SIZES : FULL_SIZES;
const specs = phases(sizes);
const machine = machineInfo();
const started = performance.now();
console.log(`# S3 bench${args.quick ? ' (quick)' : ''}\n${describeMachine(machine)}`);
console.log(`client: src/loadgen, ${args.clientWorkers} thread(s), raw keep-alive HTTP/1.1, SigV4 UNSIGNED-PAYLOAD, every GET byte verified`);

const results: PhaseResult[] = [];
let storedBytes: number | undefined;
let logicalBytes: number | undefined;
// All servers run for the whole bench (idle while another is measured), and every phase runs against
// each server in turn: a burst of load from elsewhere on the machine then hits one phase of all of
// them rather than every phase of one.
const servers: RunningServer[] = [];
try {
  for (const name of args.servers) {
    const nodeArgs = args.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProfDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
    const dataSpecs = [...new Set(specs.map((p) => p.kind))].map((kind) => ({ kind, seed: SEED }));
    const server = await startServer(name, { nodeArgs, durability: 'fsync', dataSpecs });
    servers.push(server);
    console.log(`${name}: ${server.endpoint} (pid ${server.pid})`);
    const admin = new S3LoadClient({ endpoint: server.endpoint, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, region: REGION, connectionsMax: 1, timeoutMs: 30_000 });
    await admin.createBucket(BUCKET);
    admin.close();
  }
  const written = new Map<string, number>(); // `${server} ${prefix}` -> objects its put phase wrote
  for (const spec of specs) {
    console.log(`\n${spec.label}`);
    for (const server of servers) {
      const objects = spec.workload === 'get' ? (written.get(`${server.name} ${spec.prefix}`) ?? 0) : spec.objects;
      if (objects === 0) continue;
      const measureStore = server.name === 'sediment' && spec.id === 'large-log-put' && server.dataDir !== undefined;
      // A measurement disturbed by other processes (other load > --busy-max cores) is repeated, up to
      // --attempts times; the least disturbed one is kept. Repeating a put rewrites the same objects.
      let r: PhaseResult | undefined;
      for (let attempt = 1; attempt <= args.attempts; attempt++) {
        const before = measureStore ? await directoryBytes(server.dataDir!) : 0;
        const a = await runPhase(server, { ...spec, objects }, { clientWorkers: args.clientWorkers, seed: SEED, onProgress: (l) => console.log(l) });
        if (spec.workload === 'put') written.set(`${server.name} ${spec.prefix}`, Math.max(written.get(`${server.name} ${spec.prefix}`) ?? 0, Math.min(spec.objects, a.result.opsIssued)));
        const other = a.otherCores ?? 0;
        if (!r || other < (r.otherCores ?? 0)) {
          r = a;
          if (measureStore) {
            storedBytes = (await directoryBytes(server.dataDir!)) - before;
            logicalBytes = a.result.bytes;
          }
        }
        if (other <= args.busyMax) break;
        if (attempt < args.attempts) console.log(`  ${server.name}: other load ${fmt(other, 2)} cores during the run; measuring again`);
      }
      if (!r) continue;
      results.push(r);
      const w = r.result;
      console.log(
        `  ${server.name}: ${fmt(w.ops)} ops, ${fmt(w.opsPerS)} ops/s, ${fmt(w.mbPerS, 1)} MB/s, p50 ${fmt(w.latency.p50Ms, 2)} ms, p99 ${fmt(w.latency.p99Ms, 2)} ms, ` +
          `errors ${w.errors}${w.errors ? ` (${w.errorSamples.join('; ')})` : ''}, client ${fmt(w.cpu.cores, 2)} cores, server ${r.serverCores === undefined ? '?' : fmt(r.serverCores, 2)} cores, other ${r.otherCores === undefined ? '?' : fmt(r.otherCores, 2)}`,
      );
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}

const storedRatio = storedBytes && logicalBytes ? logicalBytes / storedBytes : undefined;
const targetList = targets(results, storedRatio, `${sizes.largeBytes / 2 ** 20} MiB`);
const setup = [
  `Machine: ${machine.cpu}, ${machine.logicalCores} cores, ${machine.memoryGiB} GiB RAM, ${machine.platform}, Node ${machine.node}.`,
  `Client: src/loadgen (${args.clientWorkers} thread(s), raw keep-alive HTTP/1.1 sockets, SigV4 with UNSIGNED-PAYLOAD, every GET byte verified); ` +
    `every server a separate child process on 127.0.0.1, started fresh, each phase run against each server in turn; client and servers share the ${machine.logicalCores} cores.`,
  `sediment: \`sediment serve --durability fsync --quiet\` (acknowledged writes are fsynced); s3rver ${s3rverVersion()} (files, no fsync); bare: node:http, drains PUTs, GETs from memory.`,
  `Sizes: ${sizes.smallBytes / 1024} KiB objects at concurrency ${sizes.smallConcurrency}, up to ${fmt(sizes.smallObjects)} operations or ${sizes.smallDurationMs / 1000} s per phase (GET reads the objects its PUT wrote); ` +
    `${sizes.largeBytes / 2 ** 20} MiB objects at concurrency ${sizes.largeConcurrency}, ${sizes.largeObjects} objects per phase, log-like text and random bytes.`,
  'client cores / server cores = CPU time of that process (all threads) / wall time; other load = the rest of the machine (/proc/stat). MB/s = 10^6 B/s.',
  `Command: \`${['node dist/bench/s3.bench.js', ...process.argv.slice(2)].join(' ')}\`` +
    (args.attempts > 1 ? ` (a measurement with other load > ${args.busyMax} cores was repeated, up to ${args.attempts} times; the least disturbed is shown)` : ''),
];
const storedLine =
  storedRatio !== undefined && storedBytes !== undefined && logicalBytes !== undefined
    ? `sediment stored the ${fmt(logicalBytes / 2 ** 20)} MiB of the log-like PUT phase in ${fmt(storedBytes / 2 ** 20, 1)} MiB of segment data (logical / stored = ${fmt(storedRatio!, 2)}).`
    : '';
const markdown = [
  setup.map((l) => `- ${l}`).join('\n'),
  resultsTable(specs, results, args.servers),
  ratioTable(specs, results),
  storedLine,
  targetTable(targetList),
].filter(Boolean).join('\n\n');
console.log(`\n${markdown}\n`);
const file = await saveResults(args.quick ? 's3-quick' : 's3', { machine, quick: args.quick, sizes, clientWorkers: args.clientWorkers, results, storedBytes, logicalBytes, targets: targetList, markdown });
console.log(`results: ${file}\nbench finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
