// An in-memory FileSystem that keeps synced and unsynced state apart, for crash simulation.
// Model: a file's bytes become durable on datasync/syncFile; a name (creation, rename, unlink) becomes
// durable on syncDir of its parent directory. crash() throws away everything not durable — optionally
// keeping a random prefix of unsynced appended bytes (a torn tail) — and invalidates all open handles,
// so a process "killed" by the crash can no longer change the disk. Directories are durable on mkdir.
import type { DirLock, FileHandle, FileSystem, OpenMode } from './types.js';

class Inode {
  data: Buffer = Buffer.alloc(0);
  synced: Buffer = Buffer.alloc(0);
  mode = 0o644;
}

function enoent(path: string): NodeJS.ErrnoException {
  const e = new Error(`ENOENT: no such file or directory, '${path}'`) as NodeJS.ErrnoException;
  e.code = 'ENOENT';
  return e;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export interface CrashOptions {
  /** Keep a random prefix of each file's unsynced tail (0..all bytes), as a torn write would. */
  tornTail?: boolean;
  random?: () => number;
}

export class MemoryFileSystem implements FileSystem {
  private files = new Map<string, Inode>();
  private durable = new Map<string, Inode>();
  private dirs = new Set<string>(['/']);
  private locks = new Set<string>();
  private generation = 0;
  /** Free bytes reported by freeBytes(); tests lower it to simulate a full disk. */
  freeSpace = 2 ** 40;

  private checkGen(gen: number, path: string): void {
    if (gen !== this.generation) {
      const e = new Error(`handle for ${path} is from before a simulated crash`) as NodeJS.ErrnoException;
      e.code = 'EBADF';
      throw e;
    }
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    let inode = this.files.get(path);
    if (mode === 'create-new' && inode) {
      const e = new Error(`EEXIST: '${path}'`) as NodeJS.ErrnoException;
      e.code = 'EEXIST';
      throw e;
    }
    if (!inode) {
      if (mode === 'read' || mode === 'readwrite') throw enoent(path);
      if (!this.dirs.has(parentOf(path))) throw enoent(parentOf(path));
      inode = new Inode();
      this.files.set(path, inode);
    }
    return this.handle(path, inode);
  }

  private handle(path: string, inode: Inode): FileHandle {
    const gen = this.generation;
    let closed = false;
    const check = (): void => {
      this.checkGen(gen, path);
      if (closed) throw new Error(`handle for ${path} is closed`);
    };
    return {
      path,
      read: async (buf, bufOffset, length, position) => {
        check();
        const n = Math.max(0, Math.min(length, inode.data.length - position));
        // Like pread(2): at or past the end of the file, a read returns 0 bytes (Buffer.copy would throw).
        if (n > 0) inode.data.copy(buf, bufOffset, position, position + n);
        return n;
      },
      writev: async (buffers, position) => {
        check();
        let total = 0;
        for (const b of buffers) total += b.length;
        const end = position + total;
        if (end > inode.data.length) {
          const next = Buffer.alloc(Math.max(end, inode.data.length));
          inode.data.copy(next, 0);
          inode.data = next;
        }
        let pos = position;
        for (const b of buffers) {
          inode.data.set(b, pos);
          pos += b.length;
        }
      },
      datasync: async () => {
        check();
        inode.synced = Buffer.from(inode.data);
      },
      truncate: async (length) => {
        check();
        const next = Buffer.alloc(length);
        inode.data.copy(next, 0, 0, Math.min(length, inode.data.length));
        inode.data = next;
      },
      size: async () => {
        check();
        return inode.data.length;
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async readFile(path: string): Promise<Buffer> {
    const inode = this.files.get(path);
    if (!inode) throw enoent(path);
    return Buffer.from(inode.data);
  }
  async writeFile(path: string, data: Buffer, mode = 0o644): Promise<void> {
    if (!this.dirs.has(parentOf(path))) throw enoent(parentOf(path));
    let inode = this.files.get(path);
    if (!inode) {
      inode = new Inode();
      this.files.set(path, inode);
    }
    inode.data = Buffer.from(data);
    inode.mode = mode;
  }
  async syncFile(path: string): Promise<void> {
    const inode = this.files.get(path);
    if (!inode) throw enoent(path);
    inode.synced = Buffer.from(inode.data);
  }
  async readdir(path: string): Promise<string[]> {
    if (!this.dirs.has(path)) throw enoent(path);
    const out = new Set<string>();
    const prefix = path === '/' ? '/' : path + '/';
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p.startsWith(prefix) && p !== path) {
        const rest = p.slice(prefix.length);
        if (rest.length > 0 && !rest.includes('/')) out.add(rest);
      }
    }
    return [...out].sort();
  }
  async mkdir(path: string): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    let cur = '';
    for (const p of parts) {
      cur += '/' + p;
      this.dirs.add(cur);
    }
  }
  async rename(from: string, to: string): Promise<void> {
    const inode = this.files.get(from);
    if (!inode) throw enoent(from);
    if (!this.dirs.has(parentOf(to))) throw enoent(parentOf(to));
    this.files.delete(from);
    this.files.set(to, inode);
  }
  async unlink(path: string): Promise<void> {
    if (!this.files.delete(path)) throw enoent(path);
  }
  async exists(path: string): Promise<boolean> {
    return this.files.has(path) || this.dirs.has(path);
  }
  async fileSize(path: string): Promise<number> {
    const inode = this.files.get(path);
    if (!inode) throw enoent(path);
    return inode.data.length;
  }
  async syncDir(path: string): Promise<void> {
    if (!this.dirs.has(path)) throw enoent(path);
    for (const p of [...this.durable.keys()]) {
      if (parentOf(p) === path && !this.files.has(p)) this.durable.delete(p);
    }
    for (const [p, inode] of this.files) {
      if (parentOf(p) === path) this.durable.set(p, inode);
    }
  }
  async lock(path: string, note: string): Promise<DirLock> {
    if (this.locks.has(path)) {
      const e = new Error(`locked by ${note}`) as NodeJS.ErrnoException;
      e.code = 'ELOCKED';
      throw e;
    }
    this.locks.add(path);
    const gen = this.generation;
    return {
      release: async () => {
        if (gen === this.generation) this.locks.delete(path);
      },
    };
  }
  async freeBytes(): Promise<number> {
    return this.freeSpace;
  }

  /** Simulates power loss / SIGKILL: only durable names and synced bytes survive. */
  crash(opts: CrashOptions = {}): void {
    const random = opts.random ?? Math.random;
    this.generation++;
    this.locks.clear();
    const next = new Map<string, Inode>();
    for (const [p, inode] of this.durable) {
      let data = inode.synced;
      if (opts.tornTail && inode.data.length > data.length && inode.data.subarray(0, data.length).equals(data)) {
        const extra = Math.floor(random() * (inode.data.length - data.length + 1));
        data = inode.data.subarray(0, data.length + extra);
      }
      const fresh = new Inode();
      fresh.data = Buffer.from(data);
      fresh.synced = Buffer.from(data);
      fresh.mode = inode.mode;
      next.set(p, fresh);
    }
    this.files = next;
    this.durable = new Map(next);
  }

  /** Flips one byte of a file in place (both durable and current state), for corruption tests. */
  flipByte(path: string, offset: number, mask = 0xff): void {
    const inode = this.files.get(path);
    if (!inode) throw enoent(path);
    inode.data[offset] ^= mask;
    if (offset < inode.synced.length) inode.synced[offset] ^= mask;
  }
}
