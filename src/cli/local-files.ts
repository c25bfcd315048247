// The user's own files: sources for `put` and destinations for `get`. (The engine's storage is reached
// only through the Engine; this module is about files the user names on the command line.)
//
// Contract of writeAtomically: the destination appears only complete. Bytes go to a temporary file in
// the destination's directory (same file system, so the final rename is atomic), which is flushed
// before it is renamed over the destination; on any failure, or on SIGINT/SIGTERM, it is removed.
import { randomBytes } from 'node:crypto';
import { createWriteStream, unlinkSync } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from './errors.js';
import { baseName } from './paths.js';

const READ_CHUNK_BYTES = 1 << 20;

/** Temporary files being written right now; removed if the process is interrupted. */
const pendingTemps = new Set<string>();
const INTERRUPTS: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
];
const interruptHandlers = new Map<NodeJS.Signals, () => void>();

/** Synchronous so it can run in a signal handler right before exit. */
function removePendingTempFiles(): void {
  for (const temp of pendingTemps) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  pendingTemps.clear();
}

// Handlers are installed only while a temporary file exists, so other commands (serve) keep their own
// signal handling.
function trackTemp(temp: string): void {
  pendingTemps.add(temp);
  if (interruptHandlers.size > 0) return;
  for (const [signal, exitCode] of INTERRUPTS) {
    const handler = (): void => {
      removePendingTempFiles();
      process.exit(exitCode);
    };
    interruptHandlers.set(signal, handler);
    process.once(signal, handler);
  }
}

function untrackTemp(temp: string): void {
  pendingTemps.delete(temp);
  if (pendingTemps.size > 0) return;
  for (const [signal, handler] of interruptHandlers) process.removeListener(signal, handler);
  interruptHandlers.clear();
}

/** Opens a regular file for streaming. Fails before anything else happens if it is missing or a directory. */
export async function openInputFile(file: string): Promise<{ stream: Readable; size: number }> {
  const fh = await open(file, 'r');
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new CliError(`${file} is a directory`);
    return { stream: fh.createReadStream({ highWaterMark: READ_CHUNK_BYTES }), size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Where `get` writes: `dest` itself, or `dest/<last part of the key>` when `dest` is a directory.
 * Checks that the containing directory exists, before any object is read.
 */
export async function resolveOutputPath(dest: string, key: string): Promise<string> {
  const st = await stat(dest).catch(() => undefined);
  let path = dest;
  if (st?.isDirectory()) {
    const name = baseName(key);
    if (name === '') throw new CliError(`key "${key}" has no file name; give a destination file`);
    path = join(dest, name);
  }
  const parent = dirname(path);
  const parentStat = await stat(parent).catch(() => undefined);
  if (!parentStat?.isDirectory()) throw new CliError(`directory ${parent} does not exist`);
  return path;
}

/** Streams `body` into `path`, replacing it only once every byte arrived (see the header). */
export async function writeAtomically(path: string, body: Readable): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.sediment-part`);
  trackTemp(temp);
  try {
    await pipeline(body, createWriteStream(temp, { flags: 'wx', flush: true }));
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  } finally {
    untrackTemp(temp);
  }
}


/** A small text file the user names (a configuration), read whole; a clear CliError if missing or too big. */
export async function readSmallTextFile(file: string, bytesMax: number): Promise<string> {
  try {
    const st = await stat(file);
    if (st.size > bytesMax) throw new CliError(`${file} is larger than ${bytesMax} bytes`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message}`);
  }
}
