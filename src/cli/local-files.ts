// The user's own files: sources for `put` and destinations for `get`. (The engine's storage is reached
// only through the Engine; this module is about files the user names on the command line.)
//
// Contract of openOutputFile for a regular file: the destination appears only complete. Bytes go to a
// temporary file in the destination's directory (same file system, so the final rename is atomic), which
// is flushed before it is renamed over the destination; on any failure, or on SIGINT/SIGTERM, it is
// removed. A destination that is not a regular file (a FIFO, a device) is written directly.
import { randomBytes } from 'node:crypto';
import { createWriteStream, unlinkSync, type Stats } from 'node:fs';
import { lstat, open, readFile, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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

/** A destination `get` has opened: the bytes go in with `write`; `discard` undoes the opening. */
export interface OutputFile {
  readonly path: string;
  write(body: Readable): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Opens where `get` writes: `dest` itself, or `dest/<last part of the key>` when `dest` is a directory.
 * Everything that can be wrong with the destination is found here, before any object is read.
 * - A regular file (new, or one to replace; a symbolic link is followed to it) is written through a
 *   temporary file in its directory (see the header). A replaced file keeps its permission bits, and its
 *   owner when the process may set it.
 * - Anything else that exists (a FIFO, a device, a socket) and anything under /dev or /proc is opened and
 *   written directly: it cannot be replaced, and renaming over it would destroy it.
 */
export async function openOutputFile(dest: string, key: string): Promise<OutputFile> {
  let path = dest;
  const destStat = await stat(dest).catch(() => undefined);
  if (destStat?.isDirectory()) {
    const name = baseName(key);
    if (name === '' || name === '.' || name === '..') throw new CliError(`key "${key}" has no file name; give a destination file`);
    path = join(dest, name);
  } else if (dest.endsWith('/')) {
    throw new CliError(`directory ${dest} does not exist`);
  }
  const target = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (target?.isDirectory()) throw new CliError(`${path} is a directory`);
  if ((target && !target.isFile()) || /^\/(dev|proc)\//.test(path)) return openDirect(path);
  if (target === undefined && (await lstat(path).catch(() => undefined))?.isSymbolicLink()) {
    throw new CliError(`${path} is a symbolic link to a missing file`);
  }
  const real = target === undefined ? path : await realpath(path);
  const parent = dirname(real);
  const parentStat = await stat(parent).catch(() => undefined);
  if (!parentStat?.isDirectory()) throw new CliError(`directory ${parent} does not exist`);
  return openReplacing(real, target);
}

async function openDirect(path: string): Promise<OutputFile> {
  const fh = await open(path, 'w');
  return {
    path,
    write: (body) => pipeline(body, fh.createWriteStream()),
    discard: () => fh.close(),
  };
}

// The temporary name is short and fixed in length, so any destination name the file system takes works.
async function openReplacing(path: string, existing: Stats | undefined): Promise<OutputFile> {
  const temp = join(dirname(path), `.sediment-${process.pid}-${randomBytes(4).toString('hex')}.part`);
  trackTemp(temp);
  let settled = false;
  const discard = async (): Promise<void> => {
    if (settled) return;
    settled = true;
    await unlink(temp).catch(() => undefined);
    untrackTemp(temp);
  };
  try {
    // Created now, so a destination that cannot be written fails before any object is read; a replaced
    // file's permissions are set before its bytes arrive.
    const fh = await open(temp, 'wx');
    try {
      if (existing) await keepOwnership(fh, existing);
    } finally {
      await fh.close();
    }
  } catch (err) {
    await discard();
    throw err;
  }
  const write = async (body: Readable): Promise<void> => {
    try {
      await pipeline(body, createWriteStream(temp, { flags: 'r+', flush: true }));
      await rename(temp, path);
      settled = true;
      untrackTemp(temp);
    } catch (err) {
      await discard();
      throw err;
    }
  };
  return { path, write, discard };
}

async function keepOwnership(fh: FileHandle, was: Stats): Promise<void> {
  await fh.chmod(was.mode & 0o7777);
  if (process.getuid?.() === 0) await fh.chown(was.uid, was.gid);
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
