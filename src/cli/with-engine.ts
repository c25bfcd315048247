// The engine lifecycle of a command: open the data directory, do the work, always close. Close drains
// writes, writes a checkpoint and releases the directory lock, so a failed command leaves the directory
// as consistent as a successful one, and the lock is free for the next command.
import { Engine, RealFileSystem, type ColdStore } from '../index.js';
import { openColdStore } from '../s3/cold-config.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { warn, warnIfNotDurable } from './output.js';

export interface OpenOptions {
  /** Create the data directory if it does not exist (mb, serve). Otherwise a missing one is an error. */
  create?: boolean;
  /** Use compression worker threads (worth their start-up cost only for object uploads). */
  workers?: boolean;
  /** Segment size for new segments and compaction packs (engine default otherwise). */
  segmentBytesMax?: number;
}

/** Refuses to turn an arbitrary or mistyped directory into a data directory behind the user's back. */
async function checkExisting(dataDir: string): Promise<void> {
  const fs = new RealFileSystem();
  // ENOTDIR: DIR (or a directory above it) is a file; said plainly rather than as "DIR/FORMAT: not a directory".
  const exists = (path: string): Promise<boolean> =>
    fs.exists(path).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOTDIR' ? new CliError(`data directory ${dataDir} is not a directory (a file is in the way)`) : err;
    });
  if (!(await exists(dataDir))) {
    throw new CliError(`data directory ${dataDir} does not exist (create a bucket with "sediment mb" first, or pass --data)`);
  }
  if (!(await exists(`${dataDir}/FORMAT`))) throw new CliError(`${dataDir} is not a sediment data directory`);
}

/** Opens the engine, runs `work`, and always closes the engine; a failure of `work` wins over one of close. */
export async function withEngine<T>(ctx: CliContext, opts: OpenOptions, work: (engine: Engine, cold: ColdStore) => Promise<T>): Promise<T> {
  warnIfNotDurable(ctx);
  if (!opts.create) await checkExisting(ctx.dataDir);
  const cold = await openColdStore(new RealFileSystem(), ctx.dataDir, ctx.cold);
  const engine = await Engine.open({
    coldStore: cold.store,
    dir: ctx.dataDir,
    durability: ctx.durability,
    workerThreads: opts.workers ? undefined : 0,
    segmentBytesMax: opts.segmentBytesMax,
    onWarning: (m) => warn(ctx, m),
  });
  let result: T;
  try {
    result = await work(engine, cold.store);
  } catch (err) {
    await engine.close().catch(() => undefined);
    cold.close();
    throw err;
  }
  await engine.close();
  cold.close();
  return result;
}
