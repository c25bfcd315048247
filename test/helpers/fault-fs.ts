// A FileSystem wrapper that injects I/O errors: "fail the 3rd datasync of a .seg file with EIO".
// Rules match an operation name and a path pattern and fire once on the n-th match.
import type { DirLock, FileHandle, FileSystem, OpenMode } from '../../src/io/types.js';

export type FaultOp = 'datasync' | 'writev' | 'read' | 'truncate' | 'writeFile' | 'syncFile' | 'rename' | 'syncDir' | 'open';

interface Rule {
  op: FaultOp;
  path: RegExp;
  nth: number;
  code: string;
  seen: number;
}

export class FaultFs implements FileSystem {
  private rules: Rule[] = [];
  /** Faults that fired, for assertions ("the fault really happened"). */
  readonly fired: string[] = [];

  /** `syncDelayMs`: every fdatasync takes this long, like a real disk (0: one event-loop turn). */
  constructor(
    private readonly inner: FileSystem,
    private readonly syncDelayMs = 0,
  ) {}

  /** The `nth` (1-based) matching call fails with an error carrying `code`. */
  failOn(op: FaultOp, path: RegExp, nth = 1, code = 'EIO'): void {
    this.rules.push({ op, path, nth, code, seen: 0 });
  }

  private check(op: FaultOp, path: string): void {
    for (const r of this.rules) {
      if (r.op !== op || !r.path.test(path)) continue;
      r.seen++;
      if (r.seen === r.nth) {
        this.fired.push(`${op} ${path}`);
        const e = new Error(`${r.code}: injected fault on ${op} ${path}`) as NodeJS.ErrnoException;
        e.code = r.code;
        throw e;
      }
    }
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.check('open', path);
    const fh = await this.inner.open(path, mode);
    return {
      path: fh.path,
      read: async (...a) => (this.check('read', path), fh.read(...a)),
      writev: async (...a) => (this.check('writev', path), fh.writev(...a)),
      datasync: async () => {
        // An fdatasync takes time: let other work (more writes queueing behind it) run before it ends.
        await new Promise((r) => (this.syncDelayMs > 0 ? setTimeout(r, this.syncDelayMs) : setImmediate(r)));
        this.check('datasync', path);
        return fh.datasync();
      },
      truncate: async (n) => (this.check('truncate', path), fh.truncate(n)),
      size: () => fh.size(),
      close: () => fh.close(),
    };
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  async writeFile(path: string, data: Buffer, mode?: number): Promise<void> {
    this.check('writeFile', path);
    return this.inner.writeFile(path, data, mode);
  }
  async syncFile(path: string): Promise<void> {
    this.check('syncFile', path);
    return this.inner.syncFile(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', from);
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  fileSize(path: string): Promise<number> {
    return this.inner.fileSize(path);
  }
  async syncDir(path: string): Promise<void> {
    this.check('syncDir', path);
    return this.inner.syncDir(path);
  }
  lock(path: string, note: string): Promise<DirLock> {
    return this.inner.lock(path, note);
  }
  freeBytes(path: string): Promise<number> {
    return this.inner.freeBytes(path);
  }
}
