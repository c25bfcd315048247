// A FileSystem wrapper that injects I/O errors: "fail the 3rd datasync of a .seg file with EIO".
// Rules match an operation name and a path pattern and fire once on the n-th match (or on every match
// from the n-th on, with `sticky`: a disk that stays broken).
// The code 'FLIP' on a read rule does not fail the read: it changes one byte of what it returns.
// A disk-space budget (setSpace) makes the disk fill up as a real one does: a write that would grow
// the files past it writes the part that fits, then fails with ENOSPC (a short write); truncate and
// unlink give the space back, freeSpace() adds some (an operator deleting files elsewhere).
// pauseRead holds the next matching read until the test resumes it: a deterministic window in which the
// test runs other work (a race made to happen, not hoped for).
import type { DirLock, FileHandle, FileSystem, OpenMode } from '../../src/io/types.js';

export type FaultOp = 'datasync' | 'writev' | 'read' | 'truncate' | 'writeFile' | 'syncFile' | 'rename' | 'syncDir' | 'open';

interface Rule {
  op: FaultOp;
  path: RegExp;
  nth: number;
  code: string;
  seen: number;
  sticky: boolean;
}

function fault(code: string, what: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: injected fault on ${what}`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

export class FaultFs implements FileSystem {
  private rules: Rule[] = [];
  /** Faults that fired, for assertions ("the fault really happened"). */
  readonly fired: string[] = [];
  /** Bytes the files may still grow by; undefined: no limit. */
  private space: number | undefined;
  /** Writes refused or cut short for lack of space. */
  enospc = 0;

  /** `syncDelayMs`: every fdatasync takes this long, like a real disk (0: one event-loop turn). */
  constructor(
    private readonly inner: FileSystem,
    private readonly syncDelayMs = 0,
  ) {}

  /** The `nth` (1-based) matching call fails with an error carrying `code`. */
  failOn(op: FaultOp, path: RegExp, nth = 1, code = 'EIO', sticky = false): void {
    this.rules.push({ op, path, nth, code, seen: 0, sticky });
  }

  /**
   * The next read of a file matching `path` waits until `resume()`; `reached` resolves once it waits.
   */
  pauseRead(path: RegExp): { reached: Promise<void>; resume: () => void } {
    let reached!: () => void;
    let resume!: () => void;
    const p = { reached: new Promise<void>((r) => (reached = r)), resume: () => resume() };
    const resumed = new Promise<void>((r) => (resume = r));
    this.pauses.push({ path, hit: () => (reached(), resumed) });
    return p;
  }

  private readonly pauses: Array<{ path: RegExp; hit: () => Promise<void> }> = [];

  /** Removes every rule (the disk was replaced / the fault is gone). */
  clearFaults(): void {
    this.rules = [];
  }

  /** Limits how many more bytes the files may grow by (undefined: no limit). */
  setSpace(bytes: number | undefined): void {
    this.space = bytes;
  }

  freeSpace(bytes: number): void {
    if (this.space !== undefined) this.space += bytes;
  }

  get spaceLeft(): number | undefined {
    return this.space;
  }

  /** How many bytes of a write of `total` bytes at `position` into a file of `size` bytes fit; takes the space. */
  private claim(size: number, position: number, total: number): number {
    if (this.space === undefined) return total;
    const growth = Math.max(0, position + total - size);
    if (growth <= this.space) {
      this.space -= growth;
      return total;
    }
    const fits = Math.min(total, Math.max(0, size + this.space - position));
    this.space -= Math.max(0, position + fits - size);
    return fits;
  }

  private check(op: FaultOp, path: string): void {
    for (const r of this.rules) {
      if (r.op !== op || !r.path.test(path)) continue;
      r.seen++;
      if (r.seen === r.nth || (r.sticky && r.seen > r.nth)) {
        this.fired.push(`${op} ${path}`);
        throw fault(r.code, `${op} ${path}`);
      }
    }
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    this.check('open', path);
    const fh = await this.inner.open(path, mode);
    return {
      path: fh.path,
      read: async (buf, off, len, pos) => {
        const pause = this.pauses.findIndex((x) => x.path.test(path));
        if (pause >= 0) await this.pauses.splice(pause, 1)[0]!.hit();
        try {
          this.check('read', path);
        } catch (err) {
          // 'FLIP': the read "succeeds" with one byte changed (a disk or bus that returns wrong data).
          if ((err as NodeJS.ErrnoException).code !== 'FLIP') throw err;
          const n = await fh.read(buf, off, len, pos);
          if (n > 0) buf[off + Math.floor(n / 2)] ^= 0x20;
          return n;
        }
        return fh.read(buf, off, len, pos);
      },
      writev: async (buffers, position) => {
        this.check('writev', path);
        let total = 0;
        for (const b of buffers) total += b.length;
        const fits = this.claim(await fh.size(), position, total);
        if (fits === total) return fh.writev(buffers, position);
        // A short write: the bytes that fit reach the file, then the disk is full.
        this.enospc++;
        if (fits > 0) await fh.writev([Buffer.concat(buffers).subarray(0, fits)], position);
        throw fault('ENOSPC', `writev ${path} (disk full)`);
      },
      datasync: async () => {
        // An fdatasync takes time: let other work (more writes queueing behind it) run before it ends.
        await new Promise((r) => (this.syncDelayMs > 0 ? setTimeout(r, this.syncDelayMs) : setImmediate(r)));
        this.check('datasync', path);
        return fh.datasync();
      },
      truncate: async (n) => {
        this.check('truncate', path);
        const before = await fh.size();
        await fh.truncate(n);
        if (n < before) this.freeSpace(before - n);
        else if (this.space !== undefined) this.space = Math.max(0, this.space - (n - before));
      },
      size: () => fh.size(),
      close: () => fh.close(),
    };
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  async writeFile(path: string, data: Buffer, mode?: number): Promise<void> {
    this.check('writeFile', path);
    const before = (await this.inner.exists(path)) ? await this.inner.fileSize(path) : 0;
    if (this.space !== undefined) {
      if (data.length - before > this.space) {
        this.enospc++;
        throw fault('ENOSPC', `writeFile ${path} (disk full)`);
      }
      this.space -= Math.max(0, data.length - before);
    }
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
  async unlink(path: string): Promise<void> {
    const size = await this.inner.fileSize(path).catch(() => 0);
    await this.inner.unlink(path);
    this.freeSpace(size);
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
