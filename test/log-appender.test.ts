// The LogAppender contract (src/io/types.ts), for both implementations on real files: the addon's
// writer thread (NativeAppender) and the cycles on writev/datasync (JsAppender). Submissions are
// written in order and reported in order; a sync is reported as such; a failed write halts the appender
// (later submissions are dropped) until resume(); close() waits for what was submitted.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsAppender, openAppender } from '../src/io/log-appender.js';
import { RealFileSystem } from '../src/io/real-fs.js';
import type { AppendFailure, AppendReport, FileHandle, LogAppender } from '../src/io/types.js';
import { nativeAddon } from '../src/native/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sediment-appender-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

interface Report {
  doneSeq: number;
  synced: boolean;
  failure: AppendFailure | undefined;
}

/** A report is about submission `seq`: it is done, or it is the one whose failure is reported. */
function covers(r: Report, seq: number): boolean {
  return r.doneSeq >= seq || (r.failure !== undefined && r.failure.seq >= seq);
}

/** Collects reports; `until(seq)` resolves once a report is about `seq`. */
function recorder(): { reports: Report[]; report: AppendReport; until(seq: number): Promise<void> } {
  const reports: Report[] = [];
  let waiters: Array<{ seq: number; resolve: () => void }> = [];
  return {
    reports,
    report: (doneSeq, synced, failure) => {
      reports.push({ doneSeq, synced, failure });
      const ready = waiters.filter((w) => covers({ doneSeq, synced, failure }, w.seq));
      waiters = waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve();
    },
    until: (seq) => {
      if (reports.some((r) => covers(r, seq))) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ seq, resolve }));
    },
  };
}

const kinds: Array<{ name: string; make: (fh: FileHandle, report: AppendReport) => LogAppender | undefined }> = [
  { name: 'native writer thread', make: (fh, report) => (fh as unknown as { appender(r: AppendReport): LogAppender | undefined }).appender(report) },
  { name: 'JS cycles', make: (fh, report) => new JsAppender(fh, report) },
];

describe.each(kinds)('LogAppender: $name', ({ name, make }) => {
  const fs = new RealFileSystem();

  async function open(): Promise<{ fh: FileHandle; path: string }> {
    const path = join(dir, `f${fileNo++}`);
    return { fh: await fs.open(path, 'create-new'), path };
  }

  it('is available here', () => {
    // The addon is built by `npm ci`: a missing writer thread is a broken build, not a skip.
    if (name.startsWith('native')) expect(typeof nativeAddon?.logWriterOpen, 'addon exports logWriterOpen').toBe('function');
  });

  it('writes submissions in order at their positions and reports them in order', async () => {
    const { fh, path } = await open();
    const rec = recorder();
    const a = make(fh, rec.report);
    expect(a).toBeDefined();
    const expected: Buffer[] = [];
    let pos = 0;
    let last = 0;
    for (let i = 0; i < 200; i++) {
      const parts = [Buffer.alloc(1 + (i % 7) * 300, i & 0xff), Buffer.from(`#${i}#`)];
      last = a!.submit(parts, pos, i % 50 === 49);
      expect(last, 'sequence numbers count up from 1').toBe(i + 1);
      for (const p of parts) pos += p.length;
      expected.push(...parts);
    }
    await rec.until(last);
    await a!.close();
    await fh.close();
    expect(readFileSync(path).equals(Buffer.concat(expected))).toBe(true);
    const seqs = rec.reports.map((r) => r.doneSeq);
    expect(seqs[seqs.length - 1]).toBe(last);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `reports ${seqs.join(',')} increase`).toBe(true);
    expect(rec.reports.every((r) => r.failure === undefined)).toBe(true);
    // The last submission asked for a sync: the report that covers it says so.
    expect(rec.reports[rec.reports.length - 1].synced).toBe(true);
  });

  it('reports a cycle without a requested sync as not synced', async () => {
    const { fh } = await open();
    const rec = recorder();
    const a = make(fh, rec.report)!;
    const seq = a.submit([Buffer.from('no sync asked')], 0, false);
    await rec.until(seq);
    expect(rec.reports).toEqual([{ doneSeq: seq, synced: false, failure: undefined }]);
    await a.close();
    await fh.close();
  });

  it('a failed write halts it: the failure is reported, later submissions are dropped until resume()', async () => {
    const path = join(dir, `ro${fileNo++}`);
    writeFileSync(path, 'existing');
    const fh = await fs.open(path, 'read'); // writes fail with EBADF
    const rec = recorder();
    const a = make(fh, rec.report)!;
    const s1 = a.submit([Buffer.from('x')], 8, true);
    await rec.until(s1);
    expect(rec.reports).toHaveLength(1);
    const r = rec.reports[0];
    expect(r.doneSeq).toBe(s1 - 1);
    expect(r.failure?.op).toBe('write');
    expect(r.failure?.seq).toBe(s1);
    expect(r.failure?.error.code).toBe('EBADF');
    // Halted: this one is dropped without a report.
    a.submit([Buffer.from('y')], 8, true);
    await new Promise((res) => setTimeout(res, 50));
    expect(rec.reports).toHaveLength(1);
    // After resume() it tries again (and fails again: the file is still read-only).
    a.resume();
    const s3 = a.submit([Buffer.from('z')], 8, false);
    await rec.until(s3);
    expect(rec.reports).toHaveLength(2);
    expect(rec.reports[1].failure?.seq).toBe(s3);
    await a.close();
    await fh.close();
    expect(readFileSync(path, 'utf8')).toBe('existing');
  });

  it('close() after a failure returns even with submissions dropped since', async () => {
    const path = join(dir, `ro${fileNo++}`);
    writeFileSync(path, 'existing');
    const fh = await fs.open(path, 'read');
    const rec = recorder();
    const a = make(fh, rec.report)!;
    await rec.until(a.submit([Buffer.from('x')], 0, true));
    expect(rec.reports[0].failure?.error.code).toBe('EBADF');
    a.submit([Buffer.from('dropped')], 0, true);
    let closed = false;
    await Promise.race([a.close().then(() => (closed = true)), new Promise((res) => setTimeout(res, 2000))]);
    expect(closed, 'close() resolved').toBe(true);
    await fh.close();
  });

  it('close() waits for submitted work', async () => {
    const { fh, path } = await open();
    const rec = recorder();
    const a = make(fh, rec.report)!;
    const big = Buffer.alloc(8 << 20, 7);
    const seq = a.submit([big], 0, true);
    await a.close();
    expect(rec.reports[rec.reports.length - 1]?.doneSeq).toBe(seq);
    await fh.close();
    expect(readFileSync(path).length).toBe(big.length);
  });
});

describe('the native writer thread', () => {
  it('is what real files get, unless SEDIMENT_LOG_WRITER=js', async () => {
    const fh = await new RealFileSystem().open(join(dir, `n${fileNo++}`), 'create-new');
    const a = openAppender(fh, () => undefined);
    expect(a.constructor.name).toBe(process.env.SEDIMENT_LOG_WRITER === 'js' ? 'JsAppender' : 'NativeAppender');
    await a.close();
    await fh.close();
  });

  it('keeps the process alive only while work is outstanding', () => {
    // A child opens a writer, writes, and never closes it: it must still exit once the write is reported.
    const path = join(dir, `child${fileNo++}`);
    const code = `
      import { nativeAppender } from ${JSON.stringify(new URL('../dist/src/io/log-appender.js', import.meta.url).pathname)};
      import { openSync } from 'node:fs';
      const fd = openSync(${JSON.stringify(path)}, 'w');
      const a = nativeAppender(fd, 'child', (done, synced) => console.log('reported', done, synced));
      a.submit([Buffer.from('hello')], 0, true);
    `;
    // The compiled module (dist/, built by `npm ci`), as the crash tests' children use it.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('reported 1 true');
    expect(readFileSync(path, 'utf8')).toBe('hello');
  });

  it('survives its worker thread being terminated with writes outstanding, and a handle never closed', async () => {
    // The env's teardown finalizes the thread-safe function while the writer thread may still be writing:
    // the thread must be stopped first (addon.c, lw_tsfn_finalize), or it would call into freed memory.
    const { Worker } = await import('node:worker_threads');
    const path = join(dir, `worker${fileNo++}`);
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { openSync } = require('node:fs');
      const addon = require(${JSON.stringify(new URL('../native/build/Release/sediment_native.node', import.meta.url).pathname)});
      const fd = openSync(${JSON.stringify(path)}, 'w');
      const keep = [];
      const w = addon.logWriterOpen(fd, () => undefined);
      addon.logWriterRef(w, true);
      for (let i = 0; i < 200; i++) {
        const b = Buffer.alloc(64 * 1024, i);
        keep.push(b);
        addon.logWriterSubmit(w, [b], i * b.length, i % 10 === 9);
      }
      parentPort.postMessage('submitted');
      setInterval(() => keep.length, 1000);
    `;
    for (let round = 0; round < 5; round++) {
      const worker = new Worker(code, { eval: true });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      await worker.terminate();
    }
    // The process is still here and the addon still works.
    expect(typeof nativeAddon?.logWriterOpen).toBe('function');
  });

  it('refuses bad arguments with a TypeError or RangeError, not a crash', () => {
    const addon = nativeAddon!;
    const fd = openSync(join(dir, `args${fileNo++}`), 'w');
    try {
      expect(() => addon.logWriterOpen!(fd, 'not a function' as never)).toThrow(TypeError);
      const w = addon.logWriterOpen!(fd, () => undefined);
      expect(() => addon.logWriterSubmit!(w, 'nope' as never, 0, false)).toThrow(TypeError);
      expect(() => addon.logWriterSubmit!(w, [Buffer.from('a')], -1, false)).toThrow(RangeError);
      expect(() => addon.logWriterSubmit!(w, [Buffer.from('a')], 0, 'yes' as never)).toThrow(TypeError);
      expect(() => addon.logWriterSubmit!(w, ['text' as never], 0, false)).toThrow(TypeError);
      addon.logWriterClose!(w);
      addon.logWriterClose!(w); // idempotent
      expect(() => addon.logWriterSubmit!(w, [Buffer.from('a')], 0, false)).toThrow(/closed/);
    } finally {
      closeSync(fd);
    }
  });
});
