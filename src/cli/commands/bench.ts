// `bench`: the S3 load generator (src/loadgen) against any S3 endpoint — this server or another one.
// Workloads run in the order given, on the same objects (`put,get` writes them, then reads them back);
// a run that starts with anything but put first writes the objects it needs, untimed (unless --no-prepare:
// they exist from an earlier run). Every GET byte is
// checked against the deterministic data it was written with (unless --no-verify). The summary table
// (or --json) reports ops/s, MB/s, latency percentiles, errors, retried requests and the client's own CPU
// use, for each workload and, for mixed, for its GETs and PUTs apart; --json adds the run's settings (no
// credentials), a command line that repeats it, the client's version and times. A run with errors exits 1
// after printing its table; a workload that a tiny -d ended before its first operation is an error (exit 1),
// not a row of zeros. When a put or multipart run wrote fewer than -n
// objects (--ops, -d), the workloads after it use those it wrote. The first SIGINT/SIGTERM stops issuing
// operations, lets those in flight finish and prints the results so far (exit 130/143); a second exits.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { RealFileSystem } from '../../index.js';
import {
  DATA_KINDS,
  WORKLOADS,
  formatSummary,
  prepareObjects,
  runWorkload,
  S3LoadClient,
  validateOptions,
  type DataKind,
  type RunHooks,
  type Workload,
  type WorkloadOptions,
  type WorkloadResult,
} from '../../loadgen/index.js';
import { contextOf, jsonOption, type CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { benchSettings, clientInfo, commandLine, type BenchReport } from '../bench-report.js';
import { packageVersion } from '../version.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** "4KiB", "64 MiB", "1m", "512" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError('expected a size such as 4KiB, 64MiB or 1000');
  return bytes;
}

/**
 * "30s", "2m", "500ms", "10" (seconds) → whole milliseconds (rounded: the clock a run stops by counts
 * milliseconds), at least 1.
 */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 2m or 500ms');
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!);
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError('the duration is too long');
  if (ms < 1) throw new InvalidArgumentError('the duration must be at least 1ms');
  return ms;
}

function parseCount(text: string): number {
  const n = Number(text.replace(/_/g, ''));
  if (!/^\d[\d_]*$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** 0 to 2^32-1: the seeds the data generator takes. */
function parseSeed(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 2 ** 32 - 1) throw new InvalidArgumentError('expected an integer from 0 to 4294967295');
  return n;
}

function parseWorkloads(text: string): Workload[] {
  const list = text.split(',').map((w) => w.trim());
  for (const w of list) {
    if (!(WORKLOADS as readonly string[]).includes(w)) throw new InvalidArgumentError(`unknown workload "${w}" (choose from ${WORKLOADS.join(', ')})`);
  }
  return list as Workload[];
}

/** The load generator's option names, as the flags that set them. */
const FLAG_OF_OPTION: Record<string, string> = {
  objectBytes: '-s/--size',
  objects: '-n/--objects',
  concurrency: '-c/--concurrency',
  workers: '--workers',
  opsMax: '--ops',
  durationMs: '-d/--duration',
  getPercent: '--get-percent',
  partBytes: '--part-size',
  partsInFlight: '--parts-in-flight',
  timeoutMs: '--timeout (in ms)',
};

/** A validateOptions message in the command line's terms. */
function flagNames(message: string): string {
  return message.replace(/\b(objectBytes|objects|concurrency|workers|opsMax|durationMs|getPercent|partBytes|partsInFlight|timeoutMs)\b/g, (name) => FLAG_OF_OPTION[name]!);
}

interface BenchFlags {
  endpoint: string;
  region: string;
  accessKey?: string;
  secretKey?: string;
  bucket: string;
  prefix: string;
  workload: Workload[];
  size: number;
  objects: number;
  concurrency: number;
  duration?: number;
  ops?: number;
  dataKind: DataKind;
  seed: number;
  workers: number;
  verify: boolean;
  prepare: boolean;
  getPercent: number;
  partSize: number;
  partsInFlight: number;
  timeout?: number;
  json?: boolean;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Where they came from, for the message when the endpoint refuses them. */
  source: string;
}

/** Flags, else $SEDIMENT_ACCESS_KEY/$SEDIMENT_SECRET_KEY, else $AWS_ACCESS_KEY_ID/..., else DATA/credentials.json (read only). */
async function credentials(flags: BenchFlags, ctx: CliContext): Promise<Credentials> {
  const pairs: Array<[string | undefined, string | undefined, string]> = [
    [flags.accessKey, flags.secretKey, '--access-key and --secret-key'],
    [process.env.SEDIMENT_ACCESS_KEY, process.env.SEDIMENT_SECRET_KEY, 'SEDIMENT_ACCESS_KEY and SEDIMENT_SECRET_KEY'],
    [process.env.AWS_ACCESS_KEY_ID, process.env.AWS_SECRET_ACCESS_KEY, 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'],
  ];
  for (const [ak, sk, what] of pairs) {
    if (!ak && !sk) continue; // unset or empty
    if (!ak || !sk) throw new UsageError(`give both or neither of ${what}`);
    return { accessKeyId: ak, secretAccessKey: sk, source: what };
  }
  const fs = new RealFileSystem();
  const path = `${ctx.dataDir}/credentials.json`;
  if (await fs.exists(path)) {
    try {
      const c = JSON.parse((await fs.readFile(path)).toString('utf8')) as { accessKeyId?: unknown; secretAccessKey?: unknown };
      if (typeof c.accessKeyId === 'string' && typeof c.secretAccessKey === 'string') return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, source: path };
    } catch {
      // reported below
    }
    throw new CliError(`${path} does not hold "accessKeyId" and "secretAccessKey"`);
  }
  throw new UsageError(`no credentials: give --access-key and --secret-key, set SEDIMENT_ACCESS_KEY/SEDIMENT_SECRET_KEY, or point --data at the served directory (no ${path})`);
}

/** Progress on stderr: a line redrawn twice a second on a terminal, else (a log, a pipe) one line every 5 s. */
const PROGRESS_LOG_EVERY_MS = 5000;

function progressLine(ctx: CliContext, label: string, total: number | undefined): { hooks: RunHooks; finish: () => void } {
  if (ctx.quiet) return { hooks: {}, finish: () => undefined };
  const tty = ctx.stderr.isTTY === true;
  let drawn = false;
  return {
    hooks: {
      progressEveryMs: tty ? 500 : PROGRESS_LOG_EVERY_MS,
      onProgress: (p) => {
        const rate = p.elapsedMs > 0 ? Math.round(p.opsDone / (p.elapsedMs / 1000)) : 0;
        const of = total !== undefined ? ` of ${total}` : '';
        const text = `${label}: ${p.opsDone}${of} ops, ${rate} ops/s, ${p.errors} errors, ${(p.elapsedMs / 1000).toFixed(1)} s`;
        ctx.stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
        drawn = tty;
      },
    },
    finish: () => {
      if (drawn) ctx.stderr.write('\r\x1b[K');
    },
  };
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load-test an S3 endpoint (this server or any other): put, get, mixed, list, delete, multipart')
    .option('--endpoint <url>', 'S3 endpoint, http:// only', 'http://127.0.0.1:9000')
    .option('--region <region>', 'region to sign for', 'us-east-1')
    .option('--access-key <id>', 'access key (default: env, else the --data directory\'s credentials.json)')
    .option('--secret-key <secret>', 'secret key')
    .option('--bucket <name>', 'bucket to work in (created if missing)', 'sediment-bench')
    .option('--prefix <prefix>', 'key prefix of the objects', 'bench/')
    .option('-w, --workload <list>', `comma-separated, run in order: ${WORKLOADS.join(', ')}`, parseWorkloads, ['put', 'get'] as Workload[])
    .option('-s, --size <bytes>', 'object size (4KiB, 64MiB, ...)', parseSize, 4096)
    .option('-n, --objects <n>', 'objects the run works on', parseCount, 10_000)
    .option('-c, --concurrency <n>', 'requests in flight (and connections)', parseCount, 32)
    .option('-d, --duration <time>', 'stop each workload after this long (30s, 2m)', parseDuration)
    .option('--ops <n>', 'stop each workload after this many operations', parseCount)
    .addOption(new Option('--data-kind <kind>', 'object content').choices([...DATA_KINDS]).default('log'))
    .option('--seed <n>', 'seed of the generated data', parseSeed, 1)
    .option('--workers <n>', 'client threads (each with its own connections)', parseCount, 1)
    .option('--no-verify', 'do not check GET bytes')
    .option('--no-prepare', 'do not write the objects first when the first workload is not put (they exist from an earlier run with the same --size, --data-kind and --seed)')
    .option('--get-percent <n>', 'mixed: share of GETs in percent', (t) => {
      const n = Number(t);
      if (!/^\d+$/.test(t) || n > 100) throw new InvalidArgumentError('expected 0 to 100');
      return n;
    }, 50)
    .option('--part-size <bytes>', 'multipart: bytes per part, the last one shorter (5MiB to 5GiB)', parseSize, 8 * 1024 * 1024)
    .option('--parts-in-flight <n>', 'multipart: parts of one upload sent at once (connections: this times -c)', parseCount, 1)
    .option('--timeout <time>', 'a request with no progress for this long fails (default 120s, at most 24h; creating the bucket: 30s)', parseDuration)
    .addOption(jsonOption('print the results as JSON'))
    .action(async (flags: BenchFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { source: credentialsSource, ...creds } = await credentials(flags, ctx);
      const base: WorkloadOptions = {
        endpoint: flags.endpoint.replace(/\/+$/, ''),
        region: flags.region,
        ...creds,
        workload: flags.workload[0],
        bucket: flags.bucket,
        prefix: flags.prefix,
        objectBytes: flags.size,
        objects: flags.objects,
        concurrency: flags.concurrency,
        durationMs: flags.duration,
        opsMax: flags.ops,
        data: { kind: flags.dataKind, seed: flags.seed },
        verify: flags.verify,
        getPercent: flags.getPercent,
        partBytes: flags.partSize,
        partsInFlight: flags.partsInFlight,
        workers: flags.workers,
        timeoutMs: flags.timeout,
      };
      // Every workload's options are checked before anything is sent.
      try {
        for (const w of flags.workload) validateOptions({ ...base, workload: w });
      } catch (err) {
        throw new UsageError(flagNames((err as Error).message.replace(/^load generator: /, '')));
      }
      // Ctrl-C (or SIGTERM) once: no new operation starts, those in flight finish, the results so far are
      // printed and the exit status is 128 + the signal's number. Twice: exit at once.
      const interrupt = new AbortController();
      let signalled: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals): void => {
        const code = signal === 'SIGINT' ? 130 : 143;
        if (signalled !== undefined) process.exit(code);
        signalled = signal;
        interrupt.abort();
        if (!ctx.quiet) ctx.stderr.write(`${ctx.stderr.isTTY ? '\r\x1b[K' : ''}${signal}: stopping, waiting for the requests in flight (again to quit at once)\n`);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await runBench(flags, ctx, base, credentialsSource, interrupt.signal);
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      if (signalled !== undefined) {
        ctx.stderr.write(`sediment: interrupted by ${signalled}\n`);
        process.exitCode = signalled === 'SIGINT' ? 130 : 143;
      }
    });
}

/** 500 → "500ms", 1500 → "1.5s" (for messages). */
function durationLabel(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

async function runBench(flags: BenchFlags, ctx: CliContext, base: WorkloadOptions, credentialsSource: string, signal: AbortSignal): Promise<void> {
  const settings = benchSettings(base, flags.workload, flags.prepare);
  const startedAt = new Date();
  const writesFirst = flags.workload[0] === 'put' || flags.workload[0] === 'multipart';
  const client = new S3LoadClient({ ...base, connectionsMax: 1, timeoutMs: base.timeoutMs ?? 30_000 });
  try {
    // --no-prepare promises objects of an earlier run: a bucket that does not exist has none, and every
    // read would only fail with a 404.
    if (!flags.prepare && !writesFirst && !(await client.bucketExists(flags.bucket))) {
      throw new CliError(`bucket ${flags.bucket} does not exist at ${base.endpoint}: --no-prepare needs the objects an earlier run wrote there (run without --no-prepare to write them first)`);
    }
    await client.createBucket(flags.bucket);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const why = (err as Error).message.replace(`create bucket ${flags.bucket}: `, '').replace(`HEAD bucket ${flags.bucket}: `, '');
    // The answers of S3 servers to keys they do not know or a secret that does not match.
    const refused = /\b(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|InvalidClientTokenId)\b/.test(why) ? ` (the credentials came from ${credentialsSource})` : '';
    throw new CliError(`cannot create bucket ${flags.bucket} at ${base.endpoint}: ${why}${refused}`);
  } finally {
    client.close();
  }
  const say = (line: string): void => {
    if (!ctx.quiet && !flags.json) ctx.stderr.write(`${line}\n`);
  };
  // What the user must know about the results (with -q and --json too: stderr, not the report).
  const warn = (line: string): void => void ctx.stderr.write(`sediment: ${line}\n`);
  const results: WorkloadResult[] = [];
  let prepared = 0;
  const report = (): void => {
    if (!flags.json) return void ctx.stdout.write(`${formatSummary(results)}\n`);
    const out: BenchReport = {
      sediment: packageVersion(),
      command: commandLine(settings, flags.timeout !== undefined),
      settings,
      client: clientInfo(),
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      endpoint: settings.endpoint,
      bucket: settings.bucket,
      prepared,
      interrupted: signal.aborted,
      results,
    };
    ctx.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  };
  // put and multipart write the objects themselves.
  if (flags.workload[0] !== 'put' && flags.workload[0] !== 'multipart' && flags.prepare) {
    say(`writing ${flags.objects} objects of ${flags.size} B first (not timed)`);
    const progress = progressLine(ctx, 'writing', flags.objects);
    try {
      prepared = await prepareObjects({ ...base, workload: 'put', concurrency: Math.min(flags.concurrency, 64), workers: 1 }, { ...progress.hooks, signal });
    } catch (err) {
      throw new CliError((err as Error).message);
    } finally {
      progress.finish();
    }
  }
  // The objects the next workload can count on: all of them when they were written first (or exist
  // already), else those the put and multipart runs so far wrote (objects 0..written-1: a run cut short
  // by --ops or -d writes fewer than -n, and reading the others would only count 404s as errors).
  let objects = writesFirst ? 0 : flags.objects;
  for (const [at, workload] of flags.workload.entries()) {
    if (signal.aborted) break;
    const writes = workload === 'put' || workload === 'multipart';
    const n = writes ? flags.objects : objects;
    const opsMax = workload === 'delete' && flags.ops !== undefined ? Math.min(flags.ops, n) : flags.ops;
    const total = flags.duration === undefined ? opsMax ?? (workload === 'mixed' || workload === 'list' ? undefined : n) : undefined;
    const progress = progressLine(ctx, workload, total);
    let result: WorkloadResult;
    try {
      result = await runWorkload({ ...base, workload, objects: n, opsMax }, { ...progress.hooks, signal });
    } finally {
      progress.finish();
    }
    if (result.opsIssued === 0 && !signal.aborted) {
      // Only a duration shorter than the time to start the first operation gets here (--ops and -n are at
      // least 1): a row of zeros would look like a measurement. The workloads before it are reported.
      if (results.length > 0) report();
      throw new CliError(`${workload}: -d ${durationLabel(flags.duration!)} ended before the first operation started; nothing was measured (give a longer -d)`);
    }
    results.push(result);
    if (writes) {
      // Objects 0..objects-1 were attempted; those whose write failed are missing (and reading them fails).
      objects = Math.max(objects, Math.min(result.opsIssued, flags.objects));
      const cutShort = objects < flags.objects;
      if (at < flags.workload.length - 1) {
        if (result.errors > 0 && cutShort) warn(`${workload} tried to write ${objects} of ${flags.objects} objects and ${result.errors} failed; the workloads after it use those ${objects} and will miss the ones that failed`);
        else if (result.errors > 0) warn(`${workload}: ${result.errors} write(s) failed; the workloads after it will miss the objects those were for`);
        else if (cutShort) say(`${workload} wrote ${objects} of ${flags.objects} objects; the workloads after it use those`);
      }
    }
    if (workload === 'delete' && result.ops < n) {
      // Ending with delete is how a run cleans up: say when it did not (cut short by --ops, -d or Ctrl-C, or failed deletes).
      const why = [result.errors > 0 ? `${result.errors} DELETE(s) failed` : '', result.opsIssued < n ? `${n - result.opsIssued} not sent` : ''].filter(Boolean).join(', ');
      warn(`delete removed ${result.ops} of the ${n} objects (${why}); those of the others that exist remain in bucket ${flags.bucket} under prefix ${JSON.stringify(flags.prefix)}`);
    }
  }
  report();
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const see = flags.json ? 'see "results"' : 'see the table';
  if (errors > 0 && !signal.aborted) throw new CliError(`${errors} operation(s) failed (${see})`);
  if (errors > 0) ctx.stderr.write(`sediment: ${errors} operation(s) failed (${see})\n`);
}
