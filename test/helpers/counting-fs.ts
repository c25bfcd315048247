// A FileSystem wrapper that counts what reaches the disk, for tests that assert I/O by numbers.
import type { DirLock, FileHandle, FileSystem, OpenMode } from '../../src/io/types.js';

/** Counts the bytes written per file (writev and writeFile) and the fdatasyncs, delegating everything to `inner`. */
export class CountingFs implements FileSystem {
  readonly written = new Map<string, number>();
  readonly datasyncs = new Map<string, number>();
  /** writev calls per path. */
  readonly writevs = new Map<string, number>();
  constructor(private readonly inner: FileSystem) {}
  private add(path: string, n: number): void {
    this.written.set(path, (this.written.get(path) ?? 0) + n);
  }
  /** Bytes written to paths matching `re` since `since` (a copy of `written`). */
  bytesSince(since: Map<string, number>, re: RegExp): number {
    let n = 0;
    for (const [p, b] of this.written) if (re.test(p)) n += b - (since.get(p) ?? 0);
    return n;
  }
  /** Completed writev calls to paths matching `re`. */
  writevsOf(re: RegExp): number {
    let n = 0;
    for (const [p, c] of this.writevs) if (re.test(p)) n += c;
    return n;
  }
  /** Completed fdatasyncs of paths matching `re`. */
  syncsOf(re: RegExp): number {
    let n = 0;
    for (const [p, c] of this.datasyncs) if (re.test(p)) n += c;
    return n;
  }
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const h = await this.inner.open(path, mode);
    const add = (n: number): void => this.add(path, n);
    return {
      path: h.path,
      read: (b, o, l, p) => h.read(b, o, l, p),
      writev: async (bufs, pos) => {
        await h.writev(bufs, pos);
        add(bufs.reduce((s, x) => s + x.length, 0));
        this.writevs.set(path, (this.writevs.get(path) ?? 0) + 1);
      },
      datasync: async () => {
        await h.datasync();
        this.datasyncs.set(path, (this.datasyncs.get(path) ?? 0) + 1);
      },
      truncate: (l) => h.truncate(l),
      size: () => h.size(),
      close: () => h.close(),
    };
  }
  readFile(p: string): Promise<Buffer> { return this.inner.readFile(p); }
  async writeFile(p: string, data: Buffer, mode?: number): Promise<void> {
    await this.inner.writeFile(p, data, mode);
    this.add(p, data.length);
  }
  syncFile(p: string): Promise<void> { return this.inner.syncFile(p); }
  readdir(p: string): Promise<string[]> { return this.inner.readdir(p); }
  mkdir(p: string): Promise<void> { return this.inner.mkdir(p); }
  rename(a: string, b: string): Promise<void> { return this.inner.rename(a, b); }
  unlink(p: string): Promise<void> { return this.inner.unlink(p); }
  exists(p: string): Promise<boolean> { return this.inner.exists(p); }
  fileSize(p: string): Promise<number> { return this.inner.fileSize(p); }
  syncDir(p: string): Promise<void> { return this.inner.syncDir(p); }
  lock(p: string, note: string): Promise<DirLock> { return this.inner.lock(p, note); }
  freeBytes(p: string): Promise<number> { return this.inner.freeBytes(p); }
}
