// A ColdStore in a local directory (e.g. on a cheaper, larger disk), through the FileSystem interface.
// put: write to DIR/.tmp/<unique>, fsync it, rename over DIR/<name>, fsync the target directory — so a
// crash leaves the old blob, the new one or none, and a resolved put survives power loss. Leftovers in
// .tmp are removed when the store is opened. Names with '/' become subdirectories.
// A cold store belongs to one data directory (a migration pass deletes the cold segments its index does
// not reference): the store's directory is locked (DIR/.lock, flock) while a process has it open, so a
// second data directory's process pointed at it is refused instead of deleting the first one's data.
import type { DirLock, FileSystem } from '../io/types.js';
import { SedimentError } from '../util/errors.js';
import { checkBlobName, checkRange, notFound, type ColdBlob, type ColdStore } from './cold-store.js';

const TMP = '.tmp';
const LOCK = '.lock';

export class LocalDirColdStore implements ColdStore {
  readonly description: string;
  private counter = 0;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly lock: DirLock,
  ) {
    this.description = `local ${dir}`;
  }

  /**
   * Opens (creating if needed) the store's directory, locks it, and removes unfinished puts of an earlier
   * run. Rejects with SEDIMENT_LOCKED while another process (or another open in this one) has it.
   */
  static async open(fs: FileSystem, dir: string): Promise<LocalDirColdStore> {
    await mkdirs(fs, `${dir}/${TMP}`);
    let lock: DirLock;
    try {
      lock = await fs.lock(`${dir}/${LOCK}`, `pid ${process.pid}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      throw new SedimentError(
        'SEDIMENT_LOCKED',
        `cold store ${dir} is in use by another process (${(err as Error).message}); a cold store belongs to one data directory`,
        { cause: err },
      );
    }
    try {
      for (const n of await fs.readdir(`${dir}/${TMP}`)) await fs.unlink(`${dir}/${TMP}/${n}`);
    } catch (err) {
      await lock.release();
      throw err;
    }
    return new LocalDirColdStore(fs, dir, lock);
  }

  /** Releases the directory lock; the store must not be used afterwards. */
  close(): Promise<void> {
    return this.lock.release();
  }

  async put(name: string, data: Buffer): Promise<void> {
    checkBlobName(name);
    const target = `${this.dir}/${name}`;
    const parent = target.slice(0, target.lastIndexOf('/'));
    await mkdirs(this.fs, parent);
    const tmp = `${this.dir}/${TMP}/${process.pid}-${++this.counter}-${name.replace(/\//g, '_')}`;
    try {
      await this.fs.writeFile(tmp, data);
      await this.fs.syncFile(tmp);
      await this.fs.rename(tmp, target);
    } catch (err) {
      // A write cut short by a full disk leaves what fitted (up to a whole cold segment): removed now, not
      // at the next open of the store, which in a server may be months away — the space it holds is what
      // the next pass (and, with the default DATA/cold, the hot log) needs.
      await this.fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
    await this.fs.syncDir(parent);
  }

  freeBytes(): Promise<number> {
    return this.fs.freeBytes(this.dir);
  }

  async readRange(name: string, offset: number, length: number): Promise<Buffer> {
    checkBlobName(name);
    const path = `${this.dir}/${name}`;
    let fh;
    try {
      fh = await this.fs.open(path, 'read');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(name);
      throw err;
    }
    try {
      checkRange(name, await fh.size(), offset, length);
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = await fh.read(out, got, length - got, offset + got);
        if (n === 0) throw new SedimentError('SEDIMENT_IO', `cold blob ${name} ended early while reading`);
        got += n;
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  async stat(name: string): Promise<number | undefined> {
    checkBlobName(name);
    const path = `${this.dir}/${name}`;
    return (await this.fs.exists(path)) ? this.fs.fileSize(path) : undefined;
  }

  async list(prefix = ''): Promise<ColdBlob[]> {
    const out: ColdBlob[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const entry of await this.fs.readdir(rel === '' ? this.dir : `${this.dir}/${rel}`)) {
        if (rel === '' && (entry === TMP || entry === LOCK)) continue;
        const name = rel === '' ? entry : `${rel}/${entry}`;
        if (await isDir(this.fs, `${this.dir}/${name}`)) await walk(name);
        else if (name.startsWith(prefix)) out.push({ name, size: await this.fs.fileSize(`${this.dir}/${name}`) });
      }
    };
    await walk('');
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    const path = `${this.dir}/${name}`;
    if (!(await this.fs.exists(path))) return;
    await this.fs.unlink(path);
    await this.fs.syncDir(path.slice(0, path.lastIndexOf('/')));
  }
}

async function isDir(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.readdir(path);
    return true;
  } catch {
    return false;
  }
}

async function mkdirs(fs: FileSystem, path: string): Promise<void> {
  if (await fs.exists(path)) return;
  const parent = path.slice(0, path.lastIndexOf('/'));
  if (parent && parent !== path) await mkdirs(fs, parent);
  await fs.mkdir(path);
}
