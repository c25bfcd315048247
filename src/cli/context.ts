// What every command shares: the resolved global options and the engine lifecycle. The engine is
// opened per command and closed in `finally` (close drains writes, writes a checkpoint and releases
// the directory lock), so a failed command leaves the directory as consistent as a successful one.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { Engine, RealFileSystem, type Durability } from '../index.js';
import { CliError, UsageError } from './errors.js';

export const DEFAULT_DATA_DIR = './sediment-data';

export interface CliContext {
  /** Absolute data directory. */
  dataDir: string;
  durability: Durability;
  quiet: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

interface RawGlobals {
  data?: string;
  durability?: string;
  quiet?: boolean;
}

/** `--data`, else $SEDIMENT_DATA, else ./sediment-data. */
export function resolveDataDir(flag: string | undefined): string {
  const env = process.env.SEDIMENT_DATA;
  return resolve(flag ?? (env !== undefined && env !== '' ? env : DEFAULT_DATA_DIR));
}

/** Builds the context from a command's own and inherited option values. */
export function contextOf(command: Command): CliContext {
  const raw = command.optsWithGlobals<RawGlobals>();
  const durability = raw.durability ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'none') throw new UsageError(`--durability must be fsync or none, not "${durability}"`);
  return { dataDir: resolveDataDir(raw.data), durability, quiet: raw.quiet === true, stdout: process.stdout, stderr: process.stderr };
}

export function warn(ctx: CliContext, message: string): void {
  ctx.stderr.write(`sediment: warning: ${message}\n`);
}

/** Printed by every command that opens the data directory with --durability none. */
export function warnIfNotDurable(ctx: CliContext): void {
  if (ctx.durability === 'none') warn(ctx, '--durability none is for benchmarks only: acknowledged writes can be lost in a crash');
}

/** Prints an informational line unless --quiet. */
export function say(ctx: CliContext, line: string): void {
  if (!ctx.quiet) ctx.stdout.write(`${line}\n`);
}

export interface OpenOptions {
  /** Create the data directory if it does not exist (mb, serve). Otherwise a missing one is an error. */
  create?: boolean;
  /** Use compression worker threads (worth their start-up cost only for object uploads). */
  workers?: boolean;
}

/** Refuses to turn an arbitrary or mistyped directory into a data directory behind the user's back. */
async function checkExisting(dataDir: string): Promise<void> {
  const fs = new RealFileSystem();
  if (!(await fs.exists(dataDir))) {
    throw new CliError(`data directory ${dataDir} does not exist (create a bucket with "sediment mb" first, or pass --data)`);
  }
  if (!(await fs.exists(`${dataDir}/FORMAT`))) throw new CliError(`${dataDir} is not a sediment data directory`);
}

/** Opens the engine, runs `work`, and always closes the engine; a failure of `work` wins over one of close. */
export async function withEngine<T>(ctx: CliContext, opts: OpenOptions, work: (engine: Engine) => Promise<T>): Promise<T> {
  warnIfNotDurable(ctx);
  if (!opts.create) await checkExisting(ctx.dataDir);
  const engine = await Engine.open({
    dir: ctx.dataDir,
    durability: ctx.durability,
    workerThreads: opts.workers ? undefined : 0,
    onWarning: (m) => warn(ctx, m),
  });
  let result: T;
  try {
    result = await work(engine);
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
  await engine.close();
  return result;
}

/** `--data DIR`, a global option: every command works on a data directory. */
export function dataOption(): Option {
  return new Option('--data <dir>', `data directory (default: $SEDIMENT_DATA, else ${DEFAULT_DATA_DIR})`);
}

/** `--json`, for commands whose output scripts read. */
export function jsonOption(): Option {
  return new Option('--json', 'machine-readable JSON output');
}

/** Writes to a stream and waits for it to drain when its buffer is full (long listings to slow pipes). */
export async function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}
