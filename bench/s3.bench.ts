// `npm run bench:s3`: the S3 front side by side with its references, in one run, with one client
// (src/loadgen: raw keep-alive HTTP, SigV4 on every request, every GET byte verified):
//   bare     - node:http that drains PUT bodies and serves GETs from memory (the HTTP ceiling)
//   s3rver   - a file-per-object S3 server for Node (no fsync)
//   sediment - `sediment serve --durability fsync --quiet` on a fresh data directory
// Each server is a child process started fresh; the workloads (s3-phases.ts) run against one server
// after the other. Prints markdown tables and the acceptance check, saves JSON under the bench dir.
//
//   node dist/bench/s3.bench.js [--quick] [--servers=bare,s3rver,sediment] [--client-workers=N]
//                               [--server-cpu-prof=DIR]
// --server-cpu-prof starts the servers with `node --cpu-prof` writing profiles to DIR (slower runs).
import { S3LoadClient } from '../src/loadgen/s3-client.js';
import { BUCKET, directoryBytes, FULL_SIZES, phases, QUICK_SIZES, REGION, runPhase, type PhaseResult } from './s3-phases.js';
import { ratioTable, resultsTable, targets, targetTable } from './s3-report.js';
import { SERVER_NAMES, startServer, type ServerName } from './servers/spawn.js';
import { describeMachine, fmt, machineInfo, quickMode, saveResults } from './setup.js';

const DEFAULT_CLIENT_WORKERS = 1;
const SEED = 20_260_101;

function usage(problem: string): never {
  console.error(`s3.bench: ${problem}\nusage: node dist/bench/s3.bench.js [--quick] [--servers=${SERVER_NAMES.join(',')}] [--client-workers=N] [--server-cpu-prof=DIR]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { quick: boolean; servers: ServerName[]; clientWorkers: number; cpuProfDir?: string } {
  let servers: ServerName[] = [...SERVER_NAMES];
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
    } else if (name === '--server-cpu-prof' && value) {
      cpuProfDir = value;
    } else usage(`unknown option ${a}`);
  }
  return { quick: quickMode(argv), servers, clientWorkers, cpuProfDir };
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
for (const name of args.servers) {
  const nodeArgs = args.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProfDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const server = await startServer(name, { nodeArgs, durability: 'fsync' });
  console.log(`\n${name}: ${server.endpoint} (pid ${server.pid})`);
  try {
    const admin = new S3LoadClient({ endpoint: server.endpoint, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, region: REGION, connectionsMax: 1, timeoutMs: 30_000 });
    await admin.createBucket(BUCKET);
    admin.close();
    const written = new Map<string, number>();
    for (const spec of specs) {
      const objects = spec.workload === 'get' ? (written.get(spec.prefix) ?? 0) : spec.objects;
      if (objects === 0) continue;
      const measureStore = name === 'sediment' && spec.id === 'large-log-put' && server.dataDir !== undefined;
      const before = measureStore ? await directoryBytes(server.dataDir!) : 0;
      const r = await runPhase(server, { ...spec, objects }, { clientWorkers: args.clientWorkers, seed: SEED, onProgress: (l) => console.log(l) });
      if (spec.workload === 'put') written.set(spec.prefix, Math.min(spec.objects, r.result.opsIssued));
      if (measureStore) {
        storedBytes = (await directoryBytes(server.dataDir!)) - before;
        logicalBytes = r.result.bytes;
      }
      results.push(r);
      const w = r.result;
      console.log(
        `  ${spec.label}: ${fmt(w.ops)} ops, ${fmt(w.opsPerS)} ops/s, ${fmt(w.mbPerS, 1)} MB/s, p50 ${fmt(w.latency.p50Ms, 2)} ms, p99 ${fmt(w.latency.p99Ms, 2)} ms, ` +
          `errors ${w.errors}${w.errors ? ` (${w.errorSamples.join('; ')})` : ''}, client ${fmt(w.cpu.cores, 2)} cores, server ${r.serverCores === undefined ? '?' : fmt(r.serverCores, 2)} cores`,
      );
    }
  } finally {
    await server.stop();
  }
}

const storedRatio = storedBytes && logicalBytes ? logicalBytes / storedBytes : undefined;
const targetList = targets(results, storedRatio);
const setup = [
  `Machine: ${machine.cpu}, ${machine.logicalCores} cores, ${machine.memoryGiB} GiB RAM, ${machine.platform}, Node ${machine.node}.`,
  `Client: src/loadgen (${args.clientWorkers} thread(s), raw keep-alive HTTP/1.1 sockets, SigV4 with UNSIGNED-PAYLOAD, every GET byte verified); ` +
    `every server a separate child process on 127.0.0.1, started fresh; client and server share the ${machine.logicalCores} cores.`,
  `sediment: \`sediment serve --durability fsync --quiet\` (acknowledged writes are fsynced); s3rver ${'3.7.1'} (files, no fsync); bare: node:http, drains PUTs, GETs from memory.`,
  `Sizes: ${sizes.smallBytes / 1024} KiB objects at concurrency ${sizes.smallConcurrency}, up to ${fmt(sizes.smallObjects)} operations or ${sizes.smallDurationMs / 1000} s per phase (GET reads the objects its PUT wrote); ` +
    `${sizes.largeBytes / 2 ** 20} MiB objects at concurrency ${sizes.largeConcurrency}, ${sizes.largeObjects} objects per phase, log-like text and random bytes.`,
  'client cores / server cores = CPU time of that process (all threads) / wall time; other load = the rest of the machine (/proc/stat). MB/s = 10^6 B/s.',
];
const storedLine =
  storedBytes !== undefined && logicalBytes !== undefined
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
