// The file-system interface: the only way the engine touches storage. Implementations: real-fs.ts
// (node:fs), memory-fs.ts (keeps synced and unsynced bytes apart to simulate crashes) and
// fault-fs.ts (injects errors). Paths are '/'-separated and absolute within the implementation.

export interface FileHandle {
  readonly path: string;
  /** Positional read; returns bytes read (short only at end of file). */
  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number>;
  /**
   * Optional synchronous read that never waits for the device: fills all of `buf` from `position` and
   * returns true when the bytes are already in memory (page cache), else returns false having read
   * nothing useful (the caller then uses `read`, which also reports any error).
   */
  readCached?(buf: Buffer, position: number): boolean;
  /** Writes all of `buffers` contiguously at `position`. Not durable until datasync/sync resolves. */
  writev(buffers: Buffer[], position: number): Promise<void>;
  /** Resolves once every write that completed before the call is durable (fdatasync). */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
  /**
   * Optional: an appender of this file's own (the addon's writer thread, see log-appender.ts), or
   * undefined when there is none here; callers then use JsAppender over writev/datasync.
   */
  appender?(report: AppendReport): LogAppender | undefined;
}

/** A failed write or sync of a LogAppender; every submission after the report's doneSeq was dropped. */
export interface AppendFailure {
  op: 'write' | 'sync';
  /** The submission whose write failed, or the first of the cycle whose sync failed. */
  seq: number;
  error: NodeJS.ErrnoException;
}

/**
 * Progress of a LogAppender: every submission up to `doneSeq` is written and, when `synced`, durable (an
 * fdatasync that started after those writes completed has succeeded).
 */
export type AppendReport = (doneSeq: number, synced: boolean, failure: AppendFailure | undefined) => void;

/**
 * The single writer of an append-only file, with group commit below the event loop (log-appender.ts).
 * submit() queues `buffers` at `position` and returns the submission's sequence number (1, 2, ...);
 * with `sync`, an fdatasync follows before it is reported. Reports come in order, one per cycle (what
 * was queued when the previous cycle ended). The caller keeps submitted buffers alive and unchanged
 * until a report covers them or says they were dropped. After a failure report, submissions are
 * dropped until resume(). close() waits for the submitted work and stops the appender.
 */
export interface LogAppender {
  submit(buffers: Buffer[], position: number, sync: boolean): number;
  resume(): void;
  close(): Promise<void>;
}

export type OpenMode = 'read' | 'readwrite' | 'create' | 'create-new';

export interface DirLock {
  release(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  readFile(path: string): Promise<Buffer>;
  /** Writes a whole file (not durable by itself: follow with syncFile/rename/syncDir as needed). */
  writeFile(path: string, data: Buffer, mode?: number): Promise<void>;
  /** fsync of a file by path. */
  syncFile(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  fileSize(path: string): Promise<number>;
  /** fsync of a directory: makes creations, renames and unlinks in it durable. */
  syncDir(path: string): Promise<void>;
  /** Exclusive lock on `path` (created if missing); rejects with code 'ELOCKED' and the holder's note if held. */
  lock(path: string, note: string): Promise<DirLock>;
  /** Free bytes available on the file system holding `path`. */
  freeBytes(path: string): Promise<number>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/');
}
