// The real file system on node:fs. Locking uses flock(2) from the native addon so a lock dies with
// its process (SIGKILL included).
import * as fsp from 'node:fs/promises';
import { constants } from 'node:fs';
import { flock, preadNoWait } from '../native/index.js';

/** Cleared the first time the system says RWF_NOWAIT reads are unsupported. */
let noWaitReads = true;
import type { AppendReport, DirLock, FileHandle, FileSystem, LogAppender, OpenMode } from './types.js';
import { nativeAppender } from './log-appender.js';

class RealFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  async read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, bufOffset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  readCached(buf: Buffer, position: number): boolean {
    if (!noWaitReads) return false;
    const n = preadNoWait(this.fh.fd, buf, position);
    if (n === -2) noWaitReads = false;
    return n === buf.length;
  }

  async writev(buffers: Buffer[], position: number): Promise<void> {
    let pending = buffers;
    let pos = position;
    while (pending.length > 0) {
      const { bytesWritten } = await this.fh.writev(pending, pos);
      pos += bytesWritten;
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const b of pending) {
        if (skip >= b.length) {
          skip -= b.length;
          continue;
        }
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
      pending = rest;
    }
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }
  appender(report: AppendReport): LogAppender | undefined {
    return nativeAppender(this.fh.fd, this.path, report);
  }
  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }
  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

const FLAGS: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readwrite: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT,
  'create-new': constants.O_RDWR | constants.O_CREAT | constants.O_EXCL,
};

export class RealFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    return new RealFileHandle(path, await fsp.open(path, FLAGS[mode], 0o644));
  }
  readFile(path: string): Promise<Buffer> {
    return fsp.readFile(path);
  }
  writeFile(path: string, data: Buffer, mode = 0o644): Promise<void> {
    return fsp.writeFile(path, data, { mode });
  }
  async syncFile(path: string): Promise<void> {
    const fh = await fsp.open(path, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  readdir(path: string): Promise<string[]> {
    return fsp.readdir(path);
  }
  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true });
  }
  rename(from: string, to: string): Promise<void> {
    return fsp.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return fsp.unlink(path);
  }
  async exists(path: string): Promise<boolean> {
    try {
      await fsp.stat(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }
  async fileSize(path: string): Promise<number> {
    return (await fsp.stat(path)).size;
  }
  async syncDir(path: string): Promise<void> {
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  async lock(path: string, note: string): Promise<DirLock> {
    const fh = await fsp.open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    let locked = false;
    try {
      locked = flock(fh.fd, true, true);
      if (!locked) {
        const holder = (await fh.readFile({ encoding: 'utf8' })).trim();
        const err = new Error(`locked by ${holder || 'another process'}`) as NodeJS.ErrnoException;
        err.code = 'ELOCKED';
        throw err;
      }
      await fh.truncate(0);
      await fh.write(note, 0, 'utf8');
    } catch (err) {
      await fh.close();
      throw err;
    }
    return {
      release: async () => {
        await fh.truncate(0).catch(() => undefined);
        await fh.close();
      },
    };
  }
  async freeBytes(path: string): Promise<number> {
    const s = await fsp.statfs(path);
    return s.bavail * s.bsize;
  }
}
