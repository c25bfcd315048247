// `serve`: runs the S3 HTTP front on a data directory. The server lives in src/s3/server.ts and is
// loaded on demand, so the other commands never pay for (or depend on) the HTTP layer. Contract with
// that module: it exports `runServer(opts: ServeOptions)`, which opens the engine, listens, and
// resolves when the server has shut down (it owns signals and the engine's close).
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { RealFileSystem, type BackgroundSettings, type Durability } from '../../index.js';
import { parseInteger, parseNumber } from '../option-values.js';
import { contextOf } from '../context.js';
import { warnIfNotDurable } from '../output.js';
import { CliError } from '../errors.js';
import { tuneServerProcess } from '../server-tuning.js';
import { normalizeDomains } from '../../util/domains.js';

export interface ServeOptions {
  /** Absolute data directory (created if missing). */
  dataDir: string;
  host: string;
  port: number;
  region: string;
  durability: Durability;
  quiet: boolean;
  segmentBytesMax: number;
  maintenance: BackgroundSettings;
  lifecycleEveryMs?: number;
  lifecycleDayMs?: number;
  cold?: { dir?: string; s3?: string };
  coldLevel?: number;
  dictionaries?: boolean;
  /** Background read of the whole cold tier: interval (undefined: the server's default) and throttle. */
  coldScrubEveryMs?: number;
  coldScrubBytesPerSecMax?: number;
  /** Domains for virtual-hosted-style addressing (--domain). */
  domains?: string[];
  /** Open connections at most (--max-connections; undefined: the server's default). */
  connectionsMax?: number;
}

interface ServeFlags {
  host: string;
  port: number;
  region: string;
  segmentMb: number;
  compactEvery: number;
  compactDeadShare: number;
  compactBytesPerSec: number;
  compactThreads: number;
  compactConcurrency: number;
  scrubEvery: number;
  scrubBytesPerSec: number;
  lifecycleEvery: number;
  lifecycleDaySeconds?: number;
  coldLevel: number;
  coldScrubEvery?: number;
  coldScrubBytesPerSec: number;
  domain?: string[];
  maxConnections?: number;
  /** False with --no-dictionaries. */
  dictionaries: boolean;
}

function parseSeconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text)) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

type RunServer = (opts: ServeOptions) => Promise<unknown>;

const SERVER_MODULE = new URL('../../s3/server.js', import.meta.url);

function parseBytes(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a number of bytes');
  return n;
}

function collectDomain(text: string, previous: string[] | undefined): string[] {
  let d: string[];
  try {
    d = normalizeDomains(text.split(','));
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return [...(previous ?? []), ...d];
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
}

async function loadRunServer(): Promise<RunServer> {
  if (!(await new RealFileSystem().exists(fileURLToPath(SERVER_MODULE)))) throw new CliError('the S3 server is not part of this build (src/s3/server.ts is missing)');
  const mod = (await import(SERVER_MODULE.href)) as { runServer?: unknown };
  if (typeof mod.runServer !== 'function') throw new CliError('the S3 server module does not export runServer');
  return mod.runServer as RunServer;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the data directory over the S3 HTTP API')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 9000)
    .option('--region <region>', 'region the server answers for', 'us-east-1')
    .option('--segment-mb <n>', 'size of new segments, MiB', parseNumber(1, 4095), 128)
    .option('--compact-every <seconds>', 'automatic compaction pass interval (0 = off)', parseNumber(0, 1e9), 60)
    .option('--compact-dead-share <fraction>', 'compact a segment once this share of it is dead', parseNumber(0.01, 1), 0.3)
    .option('--compact-bytes-per-sec <n>', 'compaction copy throttle, bytes/s (0 = unthrottled)', parseInteger(0, Number.MAX_SAFE_INTEGER), 64 << 20)
    .option('--compact-threads <n>', 'worker threads for compaction and scrub', parseInteger(1, 64), 1)
    .option('--compact-concurrency <n>', 'segment groups compacted at the same time', parseInteger(1, 64), 1)
    .option('--scrub-every <hours>', 'background scrub interval (0 = off)', parseNumber(0, 1e6), 24)
    .option('--scrub-bytes-per-sec <n>', 'scrub read throttle, bytes/s', parseInteger(1, Number.MAX_SAFE_INTEGER), 32 << 20)
    .option('--lifecycle-every <seconds>', 'run lifecycle rules this often (0: never)', parseSeconds, 3600)
    .option('--lifecycle-day-seconds <n>', 'a lifecycle "day" lasts this many seconds (tests only)', (t) => {
      const n = parseSeconds(t);
      if (!(n >= 1)) throw new InvalidArgumentError('expected at least 1 second');
      return n;
    })
    .option('--cold-level <n>', 'zstd level of cold-tier chunks', parseInteger(1, 22), 12)
    .option('--cold-scrub-every <days>', 'read the whole cold tier back this often (0 = off; default 7 for a local cold directory, off for an S3 cold store)', parseNumber(0, 36500))
    .option('--cold-scrub-bytes-per-sec <n>', 'cold scrub read throttle, bytes/s', parseInteger(1, Number.MAX_SAFE_INTEGER), 8 << 20)
    .option('--max-connections <n>', 'open connections at most; one more is closed as it arrives (default: 1000)', parseInteger(1, 1_000_000))
    .option('--domain <name>', 'also answer virtual-hosted-style requests for BUCKET.<name> (repeatable; path style always works)', collectDomain)
    .option('--no-dictionaries', 'make no zstd dictionaries for buckets of small objects (existing ones are still read)')
    .action(async (flags: ServeFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      tuneServerProcess(); // may restart this process in place (same pid) with V8 heap flags
      const runServer = await loadRunServer();
      warnIfNotDurable(ctx);
      await runServer({
        dataDir: ctx.dataDir, host: flags.host, port: flags.port, region: flags.region, durability: ctx.durability, quiet: ctx.quiet,
        segmentBytesMax: Math.round(flags.segmentMb * 1048576),
        maintenance: {
          compactEveryMs: flags.compactEvery * 1000, deadShareMin: flags.compactDeadShare, bytesPerSecMax: flags.compactBytesPerSec,
          threads: flags.compactThreads, concurrency: flags.compactConcurrency,
          scrubEveryMs: flags.scrubEvery * 3_600_000, scrubBytesPerSecMax: flags.scrubBytesPerSec,
        },
        lifecycleEveryMs: Math.round(flags.lifecycleEvery * 1000),
        lifecycleDayMs: flags.lifecycleDaySeconds === undefined ? undefined : Math.round(flags.lifecycleDaySeconds * 1000),
        cold: ctx.cold,
        coldLevel: flags.coldLevel,
        coldScrubEveryMs: flags.coldScrubEvery === undefined ? undefined : Math.round(flags.coldScrubEvery * 86_400_000),
        coldScrubBytesPerSecMax: flags.coldScrubBytesPerSec,
        domains: flags.domain,
        connectionsMax: flags.maxConnections,
        dictionaries: flags.dictionaries,
      });
    });
}
