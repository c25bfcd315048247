// Does the addon's log writer thread (native/src/log-writer.c) pay? Side by side in one run, on real
// files: the time from handing a durable 4 KiB append to the appender until it is reported written and
// synced, for
//   - NativeAppender: the writer thread (write + fdatasync in one cycle, one trip to the event loop);
//   - JsAppender: the same cycles on node:fs promises (writev, then fdatasync: two trips);
//   - the floor: a synchronous pwrite + fdatasync loop on one thread (no event loop at all).
// Two settings: an idle event loop (a lone client), and a busy one, where the main thread runs bursts of
// CPU work (BUSY_US per event-loop turn, as a server handling a burst of requests does) while the
// appends wait. The busy case is the one a loaded S3 server lives in.
// Run: npm run build && node dist/bench/log-writer.bench.js [--quick]   (also part of run-all.js micro)
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JsAppender, nativeAppender } from '../src/io/log-appender.js';
import { RealFileSystem } from '../src/io/real-fs.js';
import type { AppendReport, FileHandle, LogAppender } from '../src/io/types.js';
import { fmt, markdownTable, quickMode } from './setup.js';

export interface LogWriterRow {
  setting: string;
  variant: string;
  appends: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
}

const APPEND_BYTES = 4096;
/** CPU work per event-loop turn in the busy setting. */
const BUSY_US = 1000;

function busyFor(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // spin: a burst of request handling
  }
}

function summarize(setting: string, variant: string, us: number[]): LogWriterRow {
  const sorted = [...us].sort((a, b) => a - b);
  const mean = us.reduce((s, x) => s + x, 0) / us.length;
  return { setting, variant, appends: us.length, meanUs: mean, p50Us: sorted[Math.floor(sorted.length / 2)], p99Us: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] };
}

/** Appends one at a time, each waiting for its report; returns the latency of each in µs. */
async function measure(kind: 'native' | 'js', path: string, appends: number, busy: boolean): Promise<number[]> {
  let waiting: { seq: number; resolve: () => void } | undefined;
  const report: AppendReport = (doneSeq, synced, failure) => {
    if (failure) throw failure.error;
    if (waiting && doneSeq >= waiting.seq && synced) {
      const w = waiting;
      waiting = undefined;
      w.resolve();
    }
  };
  let fd: number | undefined;
  let fh: FileHandle | undefined;
  let appender: LogAppender | undefined;
  if (kind === 'native') {
    fd = openSync(path, 'wx');
    appender = nativeAppender(fd, path, report);
  } else {
    fh = await new RealFileSystem().open(path, 'create-new');
    appender = new JsAppender(fh, report);
  }
  if (appender === undefined) throw new Error('the addon has no log writer: rebuild it (npm run install)');
  // The busy loop: every turn of the event loop spends BUSY_US of CPU.
  let spinning = busy;
  const spin = (): void => {
    if (!spinning) return;
    busyFor(BUSY_US);
    setImmediate(spin);
  };
  if (busy) setImmediate(spin);
  const out: number[] = [];
  const buf = Buffer.alloc(APPEND_BYTES, 0x61);
  try {
    for (let i = 0; i < appends; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const seq = appender.submit([buf], i * APPEND_BYTES, true);
        waiting = { seq, resolve };
      });
      out.push((performance.now() - t0) * 1000);
    }
  } finally {
    spinning = false;
    await appender.close();
    await fh?.close();
    if (fd !== undefined) closeSync(fd);
  }
  return out;
}

function floor(path: string, appends: number): number[] {
  const fd = openSync(path, 'wx');
  const buf = Buffer.alloc(APPEND_BYTES, 0x61);
  const out: number[] = [];
  try {
    for (let i = 0; i < appends; i++) {
      const t0 = performance.now();
      writeSync(fd, buf, 0, buf.length, i * APPEND_BYTES);
      fdatasyncSync(fd);
      out.push((performance.now() - t0) * 1000);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

export async function runLogWriterBench(quick: boolean): Promise<{ rows: LogWriterRow[]; markdown: string }> {
  const appends = quick ? 100 : 600;
  const dir = mkdtempSync(join(process.env.SEDIMENT_BENCH_DIR ?? tmpdir(), 'sediment-logwriter-'));
  const rows: LogWriterRow[] = [];
  try {
    // Alternate the variants in two rounds so that drift of the disk's flush time hits all alike.
    const samples = new Map<string, number[]>();
    const add = (k: string, v: number[]): void => void samples.set(k, [...(samples.get(k) ?? []), ...v]);
    for (let round = 0; round < 2; round++) {
      add('idle|floor', floor(join(dir, `floor-${round}.log`), appends / 2));
      for (const busy of [false, true]) {
        for (const kind of ['native', 'js'] as const) {
          const setting = busy ? 'busy' : 'idle';
          add(`${setting}|${kind}`, await measure(kind, join(dir, `${kind}-${setting}-${round}.log`), appends / 2, busy));
        }
      }
    }
    const label = { floor: 'pwrite + fdatasync, synchronous (the floor)', native: 'writer thread (NativeAppender)', js: 'node:fs writev, then fdatasync (JsAppender)' } as const;
    for (const [k, v] of samples) {
      const [setting, variant] = k.split('|') as ['idle' | 'busy', keyof typeof label];
      rows.push(summarize(setting === 'idle' ? 'idle event loop' : `event loop busy ${BUSY_US} µs per turn`, label[variant], v));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const markdown = markdownTable(
    ['setting', 'variant', 'appends', 'mean µs', 'p50 µs', 'p99 µs'],
    rows.map((r) => [r.setting, r.variant, r.appends, fmt(r.meanUs), fmt(r.p50Us), fmt(r.p99Us)]),
  );
  return { rows, markdown };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const { markdown } = await runLogWriterBench(quickMode(process.argv.slice(2)));
  console.log(`durable 4 KiB append, submitted until reported written and synced, one at a time:\n\n${markdown}\n`);
}
