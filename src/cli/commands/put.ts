// `put BUCKET/KEY [FILE|-]`: streams a file or stdin into an object. The body flows through
// stream.pipeline into the engine chunk by chunk, so memory stays bounded whatever the size; the
// object becomes visible only once its commit is durable, and a failed upload stores nothing.
// A key that is empty or ends with '/' gets the file's name appended, like `aws s3 cp`.
import { fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { ObjectInfo, PutOptions } from '../../index.js';
import { guessContentType } from '../content-type.js';
import { contextOf } from '../context.js';
import { say } from '../output.js';
import { withEngine } from '../with-engine.js';
import { CliError, UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { DATE_EXAMPLE, isoDateMs } from '../option-values.js';
import { openInputFile } from '../local-files.js';
import { baseName, checkUtf8, parseBucketPath } from '../paths.js';

interface PutFlags {
  contentType?: string;
  meta: Record<string, string>;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  lockMode?: string;
  retainUntil?: string;
  legalHold?: boolean;
}

/** Accumulates repeated `--meta k=v` into a record. */
function collectMeta(pair: string, acc: Record<string, string>): Record<string, string> {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid --meta "${pair}" (expected NAME=VALUE)`);
  return { ...acc, [pair.slice(0, eq)]: pair.slice(eq + 1) };
}

function objectKey(key: string, file: string): string {
  if (key !== '' && !key.endsWith('/')) return key;
  if (file === '-') throw new UsageError('a key is required when reading from stdin (expected BUCKET/KEY)');
  const name = baseName(file);
  if (name === '') throw new UsageError(`cannot take a key from "${file}"`);
  return key + checkUtf8(name, `file name "${name}" (the key is taken from it)`);
}

/** --lock-mode/--retain-until/--legal-hold → the engine's lock options (checked again by the engine). */
function lockOptions(flags: PutFlags): PutOptions['lock'] {
  if (flags.lockMode === undefined && flags.retainUntil === undefined && !flags.legalHold) return undefined;
  const mode = flags.lockMode?.toUpperCase();
  if (mode !== undefined && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw new UsageError('--lock-mode must be GOVERNANCE or COMPLIANCE');
  const until = flags.retainUntil !== undefined ? isoDateMs(flags.retainUntil) : undefined;
  if (flags.retainUntil !== undefined && until === undefined) throw new UsageError(`--retain-until "${flags.retainUntil}" is not ${DATE_EXAMPLE}`);
  return { mode, retainUntilMs: until, legalHold: flags.legalHold ? true : undefined };
}

/** `put B/K < DIR` would read nothing and store an empty object: refused like a directory FILE. */
export function refuseDirectoryStdin(): void {
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return; // no stdin to look at (closed): the read reports it
  }
  if (st.isDirectory()) throw new CliError('stdin is a directory');
}

function putOptions(flags: PutFlags, nameForType: string): PutOptions {
  return {
    lock: lockOptions(flags),
    contentType: flags.contentType ?? guessContentType(nameForType),
    userMetadata: flags.meta,
    headers: {
      cacheControl: flags.cacheControl,
      contentDisposition: flags.contentDisposition,
      contentEncoding: flags.contentEncoding,
      contentLanguage: flags.contentLanguage,
    },
  };
}

export function registerPutCommand(program: Command): void {
  program
    .command('put')
    .description('upload FILE, or stdin when FILE is "-" or missing, as BUCKET/KEY')
    .argument('<path>', 'BUCKET/KEY (a key ending in "/" gets the file name appended)')
    .argument('[file]', 'file to upload, or "-" for stdin', '-')
    .option('--content-type <type>', 'Content-Type (default: guessed from the file name, else binary/octet-stream)')
    .option('--meta <name=value>', 'user metadata, repeatable', collectMeta, {})
    .option('--cache-control <value>', 'Cache-Control header to store')
    .option('--content-disposition <value>', 'Content-Disposition header to store')
    .option('--content-encoding <value>', 'Content-Encoding header to store')
    .option('--content-language <value>', 'Content-Language header to store')
    .option('--lock-mode <mode>', 'Object Lock retention mode, GOVERNANCE or COMPLIANCE (with --retain-until; bucket made with --object-lock)')
    .option('--retain-until <date>', 'Object Lock retain-until date, ISO 8601')
    .option('--legal-hold', 'put the new version under an Object Lock legal hold')
    .action(async (pathArg: string, file: string, flags: PutFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const target = parseBucketPath(pathArg);
      const key = objectKey(target.key, file);
      if (file === '-' && process.stdin.isTTY && cmd.args.length < 2) {
        throw new UsageError('no FILE given and stdin is a terminal (give a FILE, "-", or pipe the data in)');
      }
      // Open the source first: a missing file (or a directory on stdin) fails before the data directory is locked.
      if (file === '-') refuseDirectoryStdin();
      const source: Readable = file === '-' ? process.stdin : (await openInputFile(file)).stream;
      const opts = putOptions(flags, file === '-' ? key : file);
      let info: ObjectInfo | undefined;
      try {
        await withEngine(ctx, { workers: true }, async (engine) => {
          await pipeline(source, async (body: AsyncIterable<Buffer>) => {
            info = await engine.putObject(target.bucket, key, body, opts);
          });
        });
      } finally {
        if (!source.destroyed && source !== process.stdin) source.destroy();
      }
      if (info) say(ctx, `upload: ${file === '-' ? '(stdin)' : file} to ${target.bucket}/${key}  ${formatBytes(info.size)}  etag ${info.etag}${info.versionId !== '' ? `  version ${info.versionId}` : ''}`);
    });
}
