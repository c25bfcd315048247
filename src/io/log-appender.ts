// Group commit below the event loop: the two LogAppenders (contract in types.ts).
//
// Why: a durable PUT used to wait for two trips through the event loop after its frames were queued:
// the writev's completion (after which the fdatasync was issued) and the fdatasync's. On a server whose
// main thread is busy with requests, each trip waited for the current burst of work: a 4 KiB PUT over
// HTTP spent ~0.9 ms between its writev finishing and the main thread seeing it, and ~0.3 ms more
// before its sync started (docs/PERFORMANCE.md, "Group commit below the event loop").
//
// - NativeAppender: the addon's writer thread (native/src/log-writer.c). It writes what is queued and
//   syncs, then takes what arrived meanwhile, without waiting for the event loop between cycles; the
//   event loop hears of each cycle once, through a thread-safe function.
// - JsAppender: the same cycles on FileHandle.writev/datasync, for any FileSystem (the in-memory one of
//   the tests) and for systems without the addon.
//
// Contracts (both): reports come in submission order; a failure halts the appender (what is queued, and
// what is submitted later, is dropped) until resume(); nothing here throws on an I/O error.
import { getSystemErrorName } from 'node:util';
import { nativeAddon, type NativeLogWriter } from '../native/index.js';
import type { AppendFailure, AppendReport, FileHandle, LogAppender } from './types.js';

/** A cycle writes at most this many bytes (and at least one submission) before it reports. */
const CYCLE_BYTES = 32 << 20;

interface Op {
  seq: number;
  buffers: Buffer[];
  position: number;
  sync: boolean;
  bytes: number;
}

/** Cycles on writev + datasync of any FileHandle. */
export class JsAppender implements LogAppender {
  private ops: Op[] = [];
  private nextSeq = 1;
  private active = false;
  private halted = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly fh: FileHandle,
    private readonly report: AppendReport,
  ) {}

  submit(buffers: Buffer[], position: number, sync: boolean): number {
    const seq = this.nextSeq++;
    if (this.halted) return seq; // dropped, as the failure report said
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    this.ops.push({ seq, buffers, position, sync, bytes });
    if (!this.active) void this.run();
    return seq;
  }

  resume(): void {
    this.ops = [];
    this.halted = false;
  }

  close(): Promise<void> {
    if (!this.active) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.active = true;
    while (this.ops.length > 0 && !this.halted) {
      let n = 1;
      let bytes = this.ops[0].bytes;
      while (n < this.ops.length && bytes + this.ops[n].bytes <= CYCLE_BYTES) bytes += this.ops[n++].bytes;
      const cycle = this.ops.splice(0, n);
      let done = cycle[cycle.length - 1].seq;
      let failure: AppendFailure | undefined;
      let wantSync = false;
      for (const op of cycle) {
        try {
          await this.fh.writev(op.buffers, op.position);
        } catch (err) {
          failure = { op: 'write', seq: op.seq, error: err as NodeJS.ErrnoException };
          done = op.seq - 1;
          break;
        }
        wantSync ||= op.sync;
      }
      let synced = false;
      if (failure === undefined && wantSync) {
        try {
          await this.fh.datasync();
          synced = true;
        } catch (err) {
          failure = { op: 'sync', seq: cycle[0].seq, error: err as NodeJS.ErrnoException };
          done = cycle[0].seq - 1;
        }
      }
      if (failure !== undefined) {
        this.halted = true;
        this.ops = [];
      }
      this.report(done, synced, failure);
    }
    this.active = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

type LogWriterAddon = Required<Pick<NonNullable<typeof nativeAddon>, 'logWriterOpen' | 'logWriterSubmit' | 'logWriterResume' | 'logWriterRef' | 'logWriterClose'>>;

function logWriterAddon(): LogWriterAddon | undefined {
  const a = nativeAddon;
  if (a?.logWriterOpen && a.logWriterSubmit && a.logWriterResume && a.logWriterRef && a.logWriterClose) return a as LogWriterAddon;
  return undefined;
}

/** The addon's writer thread for an open file descriptor. */
class NativeAppender implements LogAppender {
  private readonly handle: NativeLogWriter;
  private lastSeq = 0;
  private doneSeq = 0;
  private closed = false;
  /** A failure was reported and resume() not called yet: the thread drops what is submitted. */
  private halted = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly addon: LogWriterAddon,
    fd: number,
    private readonly path: string,
    private readonly report: AppendReport,
  ) {
    this.handle = addon.logWriterOpen(fd, (doneSeq, synced, errno, failedOp, failedSeq) => this.onReport(doneSeq, synced, errno, failedOp, failedSeq));
  }

  submit(buffers: Buffer[], position: number, sync: boolean): number {
    const seq = this.addon.logWriterSubmit(this.handle, buffers, position, sync);
    if (this.halted) {
      // Dropped by the halted thread, never reported: not outstanding.
      this.lastSeq = this.doneSeq = seq;
      return seq;
    }
    // Outstanding work keeps the process alive (as a pending fs request would); an idle writer does not.
    if (this.lastSeq === this.doneSeq) this.addon.logWriterRef(this.handle, true);
    this.lastSeq = seq;
    return seq;
  }

  resume(): void {
    this.addon.logWriterResume(this.handle);
    this.halted = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.doneSeq < this.lastSeq) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.closed = true;
    this.addon.logWriterClose(this.handle);
  }

  private onReport(doneSeq: number, synced: boolean, errno: number, failedOp: number, failedSeq: number): void {
    let failure: AppendFailure | undefined;
    if (errno !== 0) {
      const op = failedOp === 0 ? 'write' : 'sync';
      const code = getSystemErrorName(-errno);
      const syscall = op === 'write' ? 'pwritev' : 'fdatasync';
      const error: NodeJS.ErrnoException = Object.assign(new Error(`${code}: ${syscall} of ${this.path} failed`), { code, errno: -errno, syscall, path: this.path });
      failure = { op, seq: failedSeq, error };
      this.doneSeq = this.lastSeq; // everything after doneSeq was dropped: nothing is outstanding
      this.halted = true;
    } else {
      this.doneSeq = doneSeq;
    }
    if (this.doneSeq >= this.lastSeq && !this.closed) this.addon.logWriterRef(this.handle, false);
    try {
      this.report(doneSeq, synced, failure);
    } finally {
      if (this.doneSeq >= this.lastSeq) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}

/** True when files of the real file system get the addon's writer thread (SEDIMENT_LOG_WRITER=js turns it off). */
export function nativeAppenderAvailable(): boolean {
  return logWriterAddon() !== undefined && process.env.SEDIMENT_LOG_WRITER !== 'js';
}

/** The addon's writer thread for `fd`, or undefined when it is not available. */
export function nativeAppender(fd: number, path: string, report: AppendReport): LogAppender | undefined {
  const addon = logWriterAddon();
  if (addon === undefined || process.env.SEDIMENT_LOG_WRITER === 'js') return undefined;
  return new NativeAppender(addon, fd, path, report);
}

/** The file's own appender if it has one, else cycles on its writev/datasync. */
export function openAppender(fh: FileHandle, report: AppendReport): LogAppender {
  return fh.appender?.(report) ?? new JsAppender(fh, report);
}
