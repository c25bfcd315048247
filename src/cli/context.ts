// The global options every command shares (--data, --durability, --quiet), resolved once per command
// into a CliContext, and the option definitions used by several commands.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Durability } from '../index.js';
import { UsageError } from './errors.js';

export const DEFAULT_DATA_DIR = './sediment-data';

export interface CliContext {
  /** Absolute data directory. */
  dataDir: string;
  durability: Durability;
  quiet: boolean;
  /** Cold store location (--cold-dir / --cold-s3; environment and default resolved in src/s3/cold-config.ts). */
  cold: { dir?: string; s3?: string };
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

interface RawGlobals {
  data?: string;
  durability?: string;
  quiet?: boolean;
  coldDir?: string;
  coldS3?: string;
}

/**
 * `--data`, else $SEDIMENT_DATA, else ./sediment-data. An empty value is refused: resolve('') is the
 * current directory, which would quietly become (or be read as) the data directory.
 */
export function resolveDataDir(flag: string | undefined): string {
  if (flag === '') throw new UsageError('--data is empty (give the data directory)');
  const env = process.env.SEDIMENT_DATA;
  if (flag === undefined && env === '') throw new UsageError('SEDIMENT_DATA is set but empty (unset it, or give the data directory)');
  return resolve(flag ?? env ?? DEFAULT_DATA_DIR);
}

/** Builds the context from a command's own and inherited option values. */
export function contextOf(command: Command): CliContext {
  const raw = command.optsWithGlobals<RawGlobals>();
  const durability = raw.durability ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'none') throw new UsageError(`--durability must be fsync or none, not "${durability}"`);
  const cold = { dir: raw.coldDir === undefined ? undefined : resolve(raw.coldDir), s3: raw.coldS3 };
  return { dataDir: resolveDataDir(raw.data), durability, quiet: raw.quiet === true, cold, stdout: process.stdout, stderr: process.stderr };
}

/** `--data DIR`, a global option: every command works on a data directory. */
export function dataOption(): Option {
  return new Option('--data <dir>', `data directory (default: $SEDIMENT_DATA, else ${DEFAULT_DATA_DIR})`);
}

/** `--json`, for commands whose output scripts read. */
export function jsonOption(description = 'machine-readable JSON output'): Option {
  return new Option('--json', description);
}
