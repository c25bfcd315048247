// One "process" view of a shared MemoryFileSystem. MemoryFileSystem.crash() invalidates open handles,
// but path operations (writeFile, rename, unlink, syncDir) of an engine that was "killed" would still
// reach the new disk state; a real killed process cannot do that. Each engine incarnation in a crash
// test gets its own view, and kill() makes every later call through it (and its handles) fail with
// EBADF, so nothing the dead engine still has in flight can touch the disk after the crash.
import type { MemoryFileSystem } from '../../src/io/memory-fs.js';
import type { DirLock, FileHandle, FileSystem, OpenMode } from '../../src/io/types.js';

function dead(what: string): NodeJS.ErrnoException {
  const e = new Error(`EBADF: process was killed (${what})`) as NodeJS.ErrnoException;
  e.code = 'EBADF';
  return e;
}

export class ProcessFs implements FileSystem {
  private alive = true;
  private readonly held: DirLock[] = [];

  constructor(readonly disk: MemoryFileSystem) {}

  /**
   * The process dies. Call before `disk.crash()` for power loss; alone, it is a SIGKILL that leaves
   * the page cache (unsynced bytes) in place, and the kernel drops the process's flock locks.
   */
  kill(): void {
    this.alive = false;
    for (const l of this.held.splice(0)) void l.release();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.alive) throw dead(what);
    const out = await fn();
    if (!this.alive) throw dead(what);
    return out;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const fh = await this.call(`open ${path}`, () => this.disk.open(path, mode));
    const guard = <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) => (...a: A): Promise<R> => this.call(`${name} ${path}`, () => fn(...a));
    return {
      path: fh.path,
      read: guard('read', fh.read.bind(fh)),
      writev: guard('writev', fh.writev.bind(fh)),
      datasync: guard('datasync', fh.datasync.bind(fh)),
      truncate: guard('truncate', fh.truncate.bind(fh)),
      size: guard('size', fh.size.bind(fh)),
      close: () => fh.close(),
    };
  }
  readFile(path: string): Promise<Buffer> {
    return this.call(`readFile ${path}`, () => this.disk.readFile(path));
  }
  writeFile(path: string, data: Buffer, mode?: number): Promise<void> {
    return this.call(`writeFile ${path}`, () => this.disk.writeFile(path, data, mode));
  }
  syncFile(path: string): Promise<void> {
    return this.call(`syncFile ${path}`, () => this.disk.syncFile(path));
  }
  readdir(path: string): Promise<string[]> {
    return this.call(`readdir ${path}`, () => this.disk.readdir(path));
  }
  mkdir(path: string): Promise<void> {
    return this.call(`mkdir ${path}`, () => this.disk.mkdir(path));
  }
  rename(from: string, to: string): Promise<void> {
    return this.call(`rename ${from}`, () => this.disk.rename(from, to));
  }
  unlink(path: string): Promise<void> {
    return this.call(`unlink ${path}`, () => this.disk.unlink(path));
  }
  exists(path: string): Promise<boolean> {
    return this.call(`exists ${path}`, () => this.disk.exists(path));
  }
  fileSize(path: string): Promise<number> {
    return this.call(`fileSize ${path}`, () => this.disk.fileSize(path));
  }
  syncDir(path: string): Promise<void> {
    return this.call(`syncDir ${path}`, () => this.disk.syncDir(path));
  }
  async lock(path: string, note: string): Promise<DirLock> {
    const lock = await this.call(`lock ${path}`, () => this.disk.lock(path, note));
    this.held.push(lock);
    return {
      release: async () => {
        if (!this.alive) return;
        const i = this.held.indexOf(lock);
        if (i >= 0) this.held.splice(i, 1);
        await lock.release();
      },
    };
  }
  freeBytes(path: string): Promise<number> {
    return this.call(`freeBytes ${path}`, () => this.disk.freeBytes());
  }
}
