// Preparing a data directory at open (docs/FORMAT.md §1): layout, FORMAT file, lock, tmp cleanup.
import { DATA_DIR_FORMAT_CREATED, DATA_DIR_FORMAT_VERSION, FORMAT_FILE_PREFIX } from '../format/constants.js';
import type { DirLock, FileSystem } from '../io/types.js';
import { SedimentError, ioError } from '../util/errors.js';

/** Creates or checks the layout and takes the exclusive lock. */
export async function prepareDataDir(fs: FileSystem, dir: string): Promise<DirLock> {
  try {
    await fs.mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      // A file has the path, or one of the directories above it is a file.
      throw new SedimentError('SEDIMENT_IO', `data directory ${dir} is not a directory (a file is in the way)`, { cause: err });
    }
    throw ioError(err, `creating data directory ${dir}`);
  }
  let lock: DirLock;
  try {
    lock = await fs.lock(`${dir}/LOCK`, `pid ${process.pid}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new SedimentError('SEDIMENT_LOCKED', `data directory ${dir} is in use by another process (${(err as Error).message})`, { cause: err });
    }
    throw ioError(err, `locking data directory ${dir}`);
  }
  try {
    await checkFormatFile(fs, dir);
    for (const sub of ['segments', 'checkpoints', 'tmp']) await fs.mkdir(`${dir}/${sub}`);
    for (const name of await fs.readdir(`${dir}/tmp`)) await fs.unlink(`${dir}/tmp/${name}`);
  } catch (err) {
    await lock.release();
    throw err instanceof SedimentError ? err : ioError(err, `preparing data directory ${dir}`);
  }
  return lock;
}

/** The version in DIR/FORMAT (after prepareDataDir checked it). */
export async function readFormatVersion(fs: FileSystem, dir: string): Promise<number> {
  const m = /^sediment-data-dir (\d+)\n?$/.exec((await fs.readFile(`${dir}/FORMAT`)).toString('utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * Raises DIR/FORMAT to `version` (never lowers it): tmp file, fsync, rename, fsync of DIR. Done before a
 * directory first holds data an older sediment would misread (a pack), so that one refuses it instead.
 */
export function raiseFormatVersion(fs: FileSystem, dir: string, version: number): Promise<void> {
  // One raise at a time per directory: two would share tmp/FORMAT (the second rename would find it gone,
  // or a writer could truncate it while the other renames it).
  let chains = raising.get(fs);
  if (chains === undefined) raising.set(fs, (chains = new Map()));
  const next = (chains.get(dir) ?? Promise.resolve()).then(() => raiseNow(fs, dir, version));
  const tail = next.catch(() => undefined);
  chains.set(dir, tail);
  void tail.then(() => {
    if (chains.get(dir) === tail) chains.delete(dir);
  });
  return next;
}

const raising = new WeakMap<FileSystem, Map<string, Promise<unknown>>>();

async function raiseNow(fs: FileSystem, dir: string, version: number): Promise<void> {
  if ((await readFormatVersion(fs, dir)) >= version) return;
  await fs.writeFile(`${dir}/tmp/FORMAT`, Buffer.from(`${FORMAT_FILE_PREFIX}${version}\n`));
  await fs.syncFile(`${dir}/tmp/FORMAT`);
  await fs.rename(`${dir}/tmp/FORMAT`, `${dir}/FORMAT`);
  await fs.syncDir(dir);
}

async function checkFormatFile(fs: FileSystem, dir: string): Promise<void> {
  const path = `${dir}/FORMAT`;
  if (await fs.exists(path)) {
    const text = (await fs.readFile(path)).toString('utf8');
    const m = /^sediment-data-dir (\d+)\n?$/.exec(text);
    if (!m) throw new SedimentError('SEDIMENT_FORMAT_VERSION', `${path} is not a sediment FORMAT file`);
    const v = Number(m[1]);
    // Versions start at 1: a 0 was never written, so the file is damaged or not sediment's, and is left as it is.
    if (v < 1) throw new SedimentError('SEDIMENT_FORMAT_VERSION', `${path} says format ${m[1]}, which no sediment writes (formats start at 1): damaged or not a sediment data directory`);
    if (v > DATA_DIR_FORMAT_VERSION) {
      throw new SedimentError('SEDIMENT_FORMAT_VERSION', `data directory format ${v} is newer than this sediment supports (${DATA_DIR_FORMAT_VERSION}); upgrade sediment`);
    }
    return;
  }
  if ((await fs.exists(`${dir}/segments`)) && (await fs.readdir(`${dir}/segments`)).length > 0) {
    throw new SedimentError('SEDIMENT_FORMAT_VERSION', `${dir} has segments but no FORMAT file: not a sediment data directory, or damaged`);
  }
  await fs.mkdir(`${dir}/tmp`);
  await fs.writeFile(`${dir}/tmp/FORMAT`, Buffer.from(`${FORMAT_FILE_PREFIX}${DATA_DIR_FORMAT_CREATED}\n`));
  await fs.syncFile(`${dir}/tmp/FORMAT`);
  await fs.rename(`${dir}/tmp/FORMAT`, path);
  await fs.syncDir(dir);
}
