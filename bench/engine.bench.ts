// The engine macro bench of issue 2 item 8: every engine workload runs next to its reference in the same
// run, on the same bytes, each on a fresh directory under the bench dir:
//   (a) N small (4 KiB) log-like puts at concurrency C, durable  vs  one file per object + fdatasync each
//   (b) 1 GiB of large log-like objects and 1 GiB of random bytes, streamed  vs  a plain sequential
//       write + fdatasync of the same bytes, and vs the zstd CLI (-1 -T1) on the same bytes
//   (c) reading all of it back (large: MB/s; small: ops/s, vs reading the per-object files back)
//   (d) reopen time and index memory with 1,000,000 small objects, measured in a fresh child process
// Engine writes use durability 'fsync' except the FILL of (d), which uses 'none' (the measured reopen
// does not depend on how the data was made durable; close() syncs and checkpoints).
//
// Run: npm run build && node dist/bench/run-all.js engine [--quick] [--only=small,large,reopen]
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Engine, type EngineOptions } from '../src/index.js';
import { logKey, objectMd5, objectPieces, objectStream, piecePool, smallObject } from './data.js';
import type { ReopenMeasurement } from './reopen-child.js';
import {
  prepareDirs,
  readFilePerObject,
  writeFilePerObject,
  writeSequential,
  zstdCompressFile,
  zstdVersion,
} from './references.js';
import {
  describeMachine,
  fmt,
  forEachConcurrent,
  GiB,
  machineInfo,
  markdownTable,
  mbPerS,
  MiB,
  quickMode,
  removeDir,
  saveResults,
  scratchDir,
  busyCores,
  systemCpu,
  timed,
  waitForQuiet,
  type MachineInfo,
  type Timed,
} from './setup.js';

export type EnginePart = 'small' | 'large' | 'reopen';
export const ENGINE_PARTS: EnginePart[] = ['small', 'large', 'reopen'];

export interface EngineBenchSizes {
  smallCount: number;
  smallBytes: number;
  smallConcurrency: number;
  largeObjects: number;
  largeObjectBytes: number;
  /** Concurrent uploads in the extra (b) row; the main row streams one object at a time. */
  largeConcurrencyExtra: number;
  pieceBytes: number;
  /** Distinct generated pieces the inputs cycle through. */
  poolPieces: number;
  zstdLevel: number;
  reopenCount: number;
  reopenValueBytes: number;
  reopenConcurrency: number;
  /** segmentBytesMax for the unsealed-segment worst case of (d) (the engine may also seal by record count). */
  activeSegmentBytesMax: number;
}

const FULL: EngineBenchSizes = {
  smallCount: 100_000,
  smallBytes: 4096,
  smallConcurrency: 64,
  largeObjects: 16,
  largeObjectBytes: 64 * MiB,
  largeConcurrencyExtra: 2,
  pieceBytes: MiB,
  poolPieces: 96,
  zstdLevel: 1,
  reopenCount: 1_000_000,
  reopenValueBytes: 64,
  reopenConcurrency: 256,
  activeSegmentBytesMax: 128 * MiB,
};

const QUICK: EngineBenchSizes = {
  ...FULL,
  smallCount: 5_000,
  largeObjects: 4,
  largeObjectBytes: 16 * MiB,
  poolPieces: 24,
  reopenCount: 50_000,
  activeSegmentBytesMax: 8 * MiB,
};

export interface ResultRow {
  id: string;
  bench: string;
  sediment: number;
  unit: string;
  reference?: string;
  referenceValue?: number;
  /** sediment / reference, or for "lower is better" targets the measured value itself. */
  ratio?: number;
  target?: string;
  pass?: boolean;
  /** CPU cores busy on average in this process during the sediment run (all threads). */
  cores?: number;
  /** Cores other processes kept busy during the sediment run and during the reference run. */
  otherCores?: number;
  referenceOtherCores?: number;
  note?: string;
}

export interface EngineBenchReport {
  machine: MachineInfo;
  quick: boolean;
  sizes: EngineBenchSizes;
  engineOptions: Record<string, unknown>;
  zstdCli?: string;
  rows: ResultRow[];
  extra: Record<string, unknown>;
  warnings: string[];
  markdown: string;
}

const BUCKET = 'bench';
const LEGEND =
  'ratio = sediment / reference. cores used = CPU time of the bench process (all threads) / wall time. ' +
  'other load = cores kept busy by other processes on the machine during the sediment run / the reference run ' +
  '(/proc/stat minus this process; for the zstd CLI minus its one core). MB/s = 10^6 B/s.';
const warnings: string[] = [];

function engineOptions(dir: string, extra: Partial<EngineOptions> = {}): EngineOptions {
  return { dir, durability: 'fsync', onWarning: (m) => warnings.push(m), ...extra };
}

/** Lets earlier phases' dirty pages reach the disk so they do not slow the next phase. */
function settleDisk(): void {
  spawnSync('sync');
}

/** Times `fn` after waiting for the machine to be quiet (see waitForQuiet); logs progress. */
async function measure<T>(label: string, fn: () => Promise<T>): Promise<Timed<T>> {
  const load = await waitForQuiet();
  const t = await timed(fn);
  const before = load === undefined ? '' : `before ${load.toFixed(2)}, `;
  console.log(`  ${label}: ${fmt(t.ms / 1000, 2)} s (other load ${before}during ${t.otherCores?.toFixed(2) ?? '?'} cores)`);
  return t;
}

/** A measurement counts as undisturbed when other processes kept at most this many cores busy. */
const BUSY_MAX = 0.3;

/** How many times a disturbed measurement is repeated: $SEDIMENT_BENCH_ATTEMPTS (default 1 = never). */
function attempts(): number {
  return Math.max(1, Number(process.env.SEDIMENT_BENCH_ATTEMPTS ?? '1') || 1);
}

/** Runs `fn` (which starts from a fresh directory) until a run is undisturbed, keeping the least disturbed. */
async function leastDisturbed<T>(label: string, fn: () => Promise<T>, disturbance: (r: T) => number | undefined): Promise<T> {
  let best: T | undefined;
  let bestLoad = Infinity;
  const n = attempts();
  for (let i = 1; i <= n; i++) {
    const r = await fn();
    const load = disturbance(r) ?? 0;
    if (load < bestLoad) {
      best = r;
      bestLoad = load;
    }
    if (load <= BUSY_MAX) break;
    if (i < n) console.log(`  ${label}: other processes kept ${load.toFixed(2)} cores busy; repeating (attempt ${i + 1} of ${n})`);
  }
  return best as T;
}

async function consume(body: AsyncIterable<Buffer>, md5?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  for await (const piece of body) {
    n += piece.length;
    md5?.update(piece);
  }
  return n;
}

// ---------------------------------------------------------------- (a) + (c) small objects

async function benchSmall(s: EngineBenchSizes, pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const names = Array.from({ length: s.smallCount }, (_, i) => logKey(i));
  const body = (i: number) => smallObject(pool, i, s.smallBytes);
  const logical = s.smallCount * s.smallBytes;
  const label = `${fmt(s.smallCount)} × ${s.smallBytes / 1024} KiB log-like`;

  // sediment
  const eng = await leastDisturbed('(a) sediment', async () => {
    const dir = await scratchDir('small');
    try {
      const engine = await Engine.open(engineOptions(dir));
      try {
        await engine.createBucket(BUCKET);
        const put = await measure('(a) sediment puts', () => forEachConcurrent(s.smallCount, s.smallConcurrency, async (i) => void (await engine.putObject(BUCKET, names[i], body(i)))));
        const st = engine.stats();
        const read = await measure('(c) sediment gets, small', async () => {
          let bytes = 0;
          await forEachConcurrent(s.smallCount, s.smallConcurrency, async (i) => {
            const n = await consume((await engine.getObject(BUCKET, names[i])).body);
            bytes += n; // not `bytes += await …`: that would read `bytes` before the await
          });
          if (bytes !== logical) throw new Error(`read ${bytes} bytes, expected ${logical}`);
        });
        const verify = await measure('(c) sediment gets + MD5, small', () =>
          forEachConcurrent(s.smallCount, s.smallConcurrency, async (i) => {
            const r = await engine.getObject(BUCKET, names[i]);
            const h = createHash('md5');
            await consume(r.body, h);
            const got = h.digest('hex');
            const want = createHash('md5').update(body(i)).digest('hex');
            if (got !== want || r.info.etag !== want) throw new Error(`object ${names[i]}: MD5 ${got}, ETag ${r.info.etag}, expected ${want}`);
          }),
        );
        return { put, read, verify, st };
      } finally {
        await engine.close();
      }
    } finally {
      await removeDir(dir);
      settleDisk();
    }
  }, (r) => r.put.otherCores);
  const { put, read, verify, st } = eng;
  extra.small = { storedBytes: st.storedBytes, logicalBytes: st.logicalBytes, segments: st.segments, workerThreads: st.workerThreads };
  const storedRatio = st.storedBytes / st.logicalBytes;

  // reference: one file per object
  const ref = await leastDisturbed('(a) reference', async () => {
    const refDir = await scratchDir('files');
    try {
      const dirs = await prepareDirs(refDir, names);
      const refPut = await measure('(a) reference: file per object', () => writeFilePerObject(refDir, names, dirs, body, s.smallConcurrency));
      const refRead = await measure('(c) reference: read files back', async () => {
        const bytes = await readFilePerObject(refDir, names, s.smallConcurrency);
        if (bytes !== logical) throw new Error(`reference read ${bytes} bytes, expected ${logical}`);
      });
      return { refPut, refRead };
    } finally {
      await removeDir(refDir);
      settleDisk();
    }
  }, (r) => r.refPut.otherCores);
  const { refPut, refRead } = ref;
  {
    const putOps = s.smallCount / (put.ms / 1000);
    const refOps = s.smallCount / (refPut.ms / 1000);
    rows.push({
      id: 'a-small-put',
      bench: `(a) put ${label}, concurrency ${s.smallConcurrency}, durable`,
      sediment: putOps,
      unit: 'ops/s',
      reference: `one file per object: open, write, fdatasync, close (concurrency ${s.smallConcurrency}); dir fsyncs`,
      referenceValue: refOps,
      ratio: putOps / refOps,
      target: '≥ 5×',
      pass: putOps / refOps >= 5,
      cores: put.cpuMs / put.ms,
      otherCores: put.otherCores,
      referenceOtherCores: refPut.otherCores,
    });
    rows.push({
      id: 'a-small-stored',
      bench: `(a) stored / logical bytes, ${label}`,
      sediment: storedRatio,
      unit: '×',
      note: 'segment bytes (frames, commit records, footers) / object bytes',
    });
    const readOps = s.smallCount / (read.ms / 1000);
    const refReadOps = s.smallCount / (refRead.ms / 1000);
    rows.push({
      id: 'c-small-get',
      bench: `(c) get ${label}, concurrency ${s.smallConcurrency}, stream consumed`,
      sediment: readOps,
      unit: 'ops/s',
      reference: 'fs.readFile of each per-object file (same concurrency)',
      referenceValue: refReadOps,
      ratio: readOps / refReadOps,
      cores: read.cpuMs / read.ms,
      otherCores: read.otherCores,
      referenceOtherCores: refRead.otherCores,
      note: 'warm page cache',
    });
    rows.push({
      id: 'c-small-get-md5',
      bench: `(c) get + MD5 check vs ETag and source, ${label}`,
      sediment: s.smallCount / (verify.ms / 1000),
      unit: 'ops/s',
      cores: verify.cpuMs / verify.ms,
      otherCores: verify.otherCores,
      note: 'all objects verified',
    });
  }
}

// ---------------------------------------------------------------- (b) + (c) large objects

async function ingestLarge(
  s: EngineBenchSizes,
  pool: Buffer[],
  pieces: number,
  concurrency: number,
  readBack: boolean,
): Promise<{ put: Timed<unknown>; read?: Timed<unknown>; verify?: Timed<unknown>; storedBytes: number; logicalBytes: number; segments: number }> {
  const dir = await scratchDir('large');
  try {
    const engine = await Engine.open(engineOptions(dir, { compressionLevel: s.zstdLevel }));
    try {
      await engine.createBucket(BUCKET);
      const key = (i: number) => `archive/2026/11/25/bundle-${String(i).padStart(4, '0')}.log`;
      const put = await measure(`(b) sediment ingest, concurrency ${concurrency}`, () => forEachConcurrent(s.largeObjects, concurrency, async (i) => void (await engine.putObject(BUCKET, key(i), objectStream(pool, i, pieces)))));
      const st = engine.stats();
      const out: Awaited<ReturnType<typeof ingestLarge>> = { put, storedBytes: st.storedBytes, logicalBytes: st.logicalBytes, segments: st.segments };
      if (readBack) {
        out.read = await measure('(c) sediment gets, large', async () => {
          for (let i = 0; i < s.largeObjects; i++) {
            const n = await consume((await engine.getObject(BUCKET, key(i))).body);
            if (n !== s.largeObjectBytes) throw new Error(`object ${i}: read ${n} bytes, expected ${s.largeObjectBytes}`);
          }
        });
        const expected = Array.from({ length: s.largeObjects }, (_, i) => objectMd5(pool, i, pieces));
        out.verify = await measure('(c) sediment gets + MD5, large', async () => {
          for (let i = 0; i < s.largeObjects; i++) {
            const r = await engine.getObject(BUCKET, key(i));
            const h = createHash('md5');
            await consume(r.body, h);
            const got = h.digest('hex');
            const want = expected[i];
            if (got !== want || r.info.etag !== want) throw new Error(`object ${i}: MD5 ${got}, ETag ${r.info.etag}, expected ${want}`);
          }
        });
      }
      return out;
    } finally {
      await engine.close();
    }
  } finally {
    await removeDir(dir);
    settleDisk();
  }
}

async function benchLarge(s: EngineBenchSizes, kind: 'log' | 'random', pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>, haveZstd: boolean): Promise<void> {
  const pieces = s.largeObjectBytes / s.pieceBytes;
  const total = s.largeObjects * s.largeObjectBytes;
  const label = `${s.largeObjects} × ${s.largeObjectBytes / MiB} MiB ${kind === 'log' ? 'log-like' : 'random'} (${fmt(total / GiB, 2)} GiB)`;

  const main = await leastDisturbed(`(b) sediment ${kind}`, () => ingestLarge(s, pool, pieces, 1, true), (r) => r.put.otherCores);
  const more = await leastDisturbed(`(b) sediment ${kind}, concurrent`, () => ingestLarge(s, pool, pieces, s.largeConcurrencyExtra, false), (r) => r.put.otherCores);

  // references on the same bytes, in the same order
  const refDir = await scratchDir(`plain-${kind}`);
  let plainRun: Timed<number>;
  let cli: { ms: number; outBytes?: number; otherCores?: number } | undefined;
  try {
    const file = path.join(refDir, 'all.bin');
    const allPieces = function* () {
      for (let i = 0; i < s.largeObjects; i++) yield* objectPieces(pool, i, pieces);
    };
    plainRun = await leastDisturbed(
      '(b) reference: plain write',
      async () => {
        await rm(file, { force: true });
        settleDisk();
        return measure('(b) reference: plain sequential write', () => writeSequential(file, allPieces()));
      },
      (r) => r.otherCores,
    );
    if (haveZstd) {
      // Best of two timed runs from the page cache, then one run piped here to count the output.
      const a = await measure('(b) reference: zstd CLI, run 1', () => zstdCompressFile(file, s.zstdLevel));
      const b = await measure('(b) reference: zstd CLI, run 2', () => zstdCompressFile(file, s.zstdLevel));
      const counted = await zstdCompressFile(file, s.zstdLevel, true);
      const best = a.value.ms <= b.value.ms ? a : b;
      // The machine-wide load during the run includes zstd's own core.
      cli = { ms: best.value.ms, outBytes: counted.outBytes, otherCores: best.otherCores === undefined ? undefined : Math.max(0, best.otherCores - 1) };
    }
  } finally {
    await removeDir(refDir);
  }
  settleDisk();

  const ingest = mbPerS(total, main.put.ms);
  const ingest2 = mbPerS(total, more.put.ms);
  const plain = mbPerS(total, plainRun.ms);
  const cliMbs = cli ? mbPerS(total, cli.ms) : undefined;
  const isLog = kind === 'log';
  const base = {
    bench: `(b) ingest ${label}, one object at a time, durable`,
    sediment: ingest,
    unit: 'MB/s',
    cores: main.put.cpuMs / main.put.ms,
    otherCores: main.put.otherCores,
  };
  rows.push({
    ...base,
    id: `b-${kind}-vs-plain`,
    reference: 'plain sequential write (1 MiB pieces) + fdatasync',
    referenceValue: plain,
    referenceOtherCores: plainRun.otherCores,
    ratio: ingest / plain,
    ...(isLog ? {} : { target: '≥ 0.6×', pass: ingest / plain >= 0.6 }),
  });
  if (cli && cliMbs !== undefined) {
    rows.push({
      ...base,
      id: `b-${kind}-vs-zstd`,
      reference: `zstd -${s.zstdLevel} -T1 -c FILE > /dev/null (page cache, best of 2)`,
      referenceValue: cliMbs,
      referenceOtherCores: cli.otherCores,
      ratio: ingest / cliMbs,
      ...(isLog ? { target: '≥ 0.6×', pass: ingest / cliMbs >= 0.6 } : {}),
    });
  }
  rows.push({
    id: `b-${kind}-c${s.largeConcurrencyExtra}`,
    bench: `(b) ingest ${label}, ${s.largeConcurrencyExtra} objects at a time, durable`,
    sediment: ingest2,
    unit: 'MB/s',
    reference: isLog ? `zstd -${s.zstdLevel} -T1 CLI` : 'plain sequential write + fdatasync',
    referenceValue: isLog ? cliMbs : plain,
    ratio: isLog ? (cliMbs ? ingest2 / cliMbs : undefined) : ingest2 / plain,
    cores: more.put.cpuMs / more.put.ms,
    otherCores: more.put.otherCores,
  });
  rows.push({
    id: `b-${kind}-stored`,
    bench: `(b) stored / logical bytes, ${label}`,
    sediment: main.storedBytes / main.logicalBytes,
    unit: '×',
    reference: cli?.outBytes !== undefined ? `zstd -${s.zstdLevel} CLI output / input` : undefined,
    referenceValue: cli?.outBytes !== undefined ? cli.outBytes / total : undefined,
  });
  const read = main.read as Timed<unknown>;
  const verify = main.verify as Timed<unknown>;
  const readMbs = mbPerS(total, read.ms);
  rows.push({
    id: `c-${kind}-get`,
    bench: `(c) get ${label}, one stream at a time, bytes counted`,
    sediment: readMbs,
    unit: 'MB/s',
    target: '≥ 400 MB/s',
    pass: readMbs >= 400,
    cores: read.cpuMs / read.ms,
    otherCores: read.otherCores,
    note: 'warm page cache',
  });
  rows.push({
    id: `c-${kind}-get-md5`,
    bench: `(c) get + MD5 check vs ETag and source, ${label}`,
    sediment: mbPerS(total, verify.ms),
    unit: 'MB/s',
    cores: verify.cpuMs / verify.ms,
    otherCores: verify.otherCores,
    note: 'all objects verified',
  });
  extra[`large-${kind}`] = {
    putMs: main.put.ms,
    putConcurrentMs: more.put.ms,
    plainWriteMs: plainRun.ms,
    zstdCliMs: cli?.ms,
    zstdCliOutBytes: cli?.outBytes,
    storedBytes: main.storedBytes,
    logicalBytes: main.logicalBytes,
    segments: main.segments,
  };
}

// ---------------------------------------------------------------- (d) reopen with 1M objects

/** runChild, repeated while other processes disturb it (the child itself keeps about one core busy). */
async function reopenMeasured(dir: string, workerThreads: number | 'default'): Promise<ReopenMeasurement & { otherCores?: number }> {
  return leastDisturbed(
    '(d) reopen',
    async () => {
      await waitForQuiet();
      const sys0 = systemCpu();
      const m = await runChild(dir, workerThreads);
      const busy = busyCores(sys0, systemCpu());
      return { ...m, otherCores: busy === undefined ? undefined : Math.max(0, busy - 1) };
    },
    (r) => r.otherCores,
  );
}

function runChild(dir: string, workerThreads: number | 'default'): Promise<ReopenMeasurement> {
  const script = fileURLToPath(new URL('./reopen-child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, dir, String(workerThreads)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => void (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`reopen child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() as string) as ReopenMeasurement);
      } catch (err) {
        reject(new Error(`reopen child printed no result: ${out}`, { cause: err }));
      }
    });
  });
}

/** Sizes of the files under `dir`, by path relative to it. */
async function dirFiles(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath ?? e.path, e.name);
    out[path.relative(dir, full)] = (await stat(full)).size;
  }
  return out;
}

async function benchReopen(s: EngineBenchSizes, pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const dir = await scratchDir('reopen');
  try {
    let keyBytes = 0;
    const engine = await Engine.open(engineOptions(dir, { durability: 'none' }));
    let fill: Timed<unknown>;
    let close: Timed<unknown>;
    try {
      await engine.createBucket(BUCKET);
      fill = await measure('(d) fill', () =>
        forEachConcurrent(s.reopenCount, s.reopenConcurrency, async (i) => {
          const key = logKey(i);
          keyBytes += Buffer.byteLength(key);
          await engine.putObject(BUCKET, key, smallObject(pool, i, s.reopenValueBytes));
        }),
      );
    } finally {
      close = await timed(() => engine.close());
    }
    const files = await dirFiles(dir);
    const onDisk = Object.values(files).reduce((a, b) => a + b, 0);
    const lean = await reopenMeasured(dir, 0);
    const full = await reopenMeasured(dir, 'default');
    if (lean.objects !== s.reopenCount) throw new Error(`reopened engine has ${lean.objects} objects, expected ${s.reopenCount}`);
    const indexBytes = lean.heapDeltaBytes + lean.arrayBuffersDeltaBytes;
    const perObject = (indexBytes - keyBytes) / s.reopenCount;
    const label = `${fmt(s.reopenCount)} objects (${s.reopenValueBytes} B values, keys ~${Math.round(keyBytes / s.reopenCount)} B)`;
    rows.push({
      id: 'd-reopen-time',
      bench: `(d) reopen (Engine.open) with ${label}, fresh process, workerThreads 0`,
      sediment: lean.openMs / 1000,
      unit: 's',
      target: '≤ 3 s',
      pass: lean.openMs <= 3000,
      otherCores: lean.otherCores,
      note: `with default worker threads: ${fmt(full.openMs / 1000, 2)} s`,
    });
    rows.push({
      id: 'd-index-bytes',
      bench: `(d) index memory per object excluding key bytes, ${label}`,
      sediment: perObject,
      unit: 'B/object',
      target: '≤ 100 B + key',
      pass: perObject <= 100,
      note: `(heapUsed + arrayBuffers growth − ${fmt(keyBytes)} key bytes) / objects; RSS growth ${fmt(lean.rssDeltaBytes / s.reopenCount)} B/object`,
    });
    rows.push({
      id: 'd-fill',
      bench: `(d) fill: put ${label}, concurrency ${s.reopenConcurrency}, durability 'none' (fill only)`,
      sediment: s.reopenCount / (fill.ms / 1000),
      unit: 'ops/s',
      cores: fill.cpuMs / fill.ms,
      otherCores: fill.otherCores,
      note: `close (drain + checkpoint) ${fmt(close.ms / 1000, 2)} s; data dir ${fmt(onDisk / MiB, 1)} MiB`,
    });
    extra.reopen = { lean, full, keyBytes, indexBytes, onDiskBytes: onDisk, files, fillMs: fill.ms, closeMs: close.ms };
  } finally {
    await removeDir(dir);
  }
}

/**
 * The reopen cost that (d) can miss: everything after the last sealed segment is scanned frame by frame
 * at open, and its footer entries are held in memory until the segment seals. This fills until one
 * segment has sealed (by bytes or by record count, whichever the engine uses), then fills the next one
 * to ~95% of what the first held, closes, and measures the reopen like (d).
 */
async function benchReopenActiveSegment(s: EngineBenchSizes, pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const dir = await scratchDir('reopen-active');
  const segmentBytesMax = s.activeSegmentBytesMax;
  try {
    const engine = await Engine.open(engineOptions(dir, { durability: 'none', segmentBytesMax }));
    let count = 0;
    let keyBytes = 0;
    let perSegment = 0; // objects the first segment held when it sealed
    let activeSince = 0; // object count when the current active segment started
    try {
      await engine.createBucket(BUCKET);
      const first = engine.stats().activeSegmentId;
      const batch = 1_000;
      for (;;) {
        await forEachConcurrent(batch, s.reopenConcurrency, async (j) => {
          const i = count + j;
          const key = logKey(i);
          keyBytes += Buffer.byteLength(key);
          await engine.putObject(BUCKET, key, smallObject(pool, i, s.reopenValueBytes));
        });
        count += batch;
        const active = engine.stats().activeSegmentId;
        if (perSegment === 0 && active !== first) {
          perSegment = count;
          activeSince = count;
        } else if (perSegment > 0 && active !== first + 1) {
          throw new Error('a second segment sealed while filling the worst case');
        }
        if (perSegment > 0 && count - activeSince + batch > 0.95 * perSegment) break;
      }
    } finally {
      await engine.close();
    }
    const segFiles = Object.entries(await dirFiles(dir)).filter(([name]) => name.startsWith('segments/'));
    const lean = await reopenMeasured(dir, 0);
    if (lean.objects !== count) throw new Error(`reopened engine has ${lean.objects} objects, expected ${count}`);
    const perObject = (lean.heapDeltaBytes + lean.arrayBuffersDeltaBytes - keyBytes) / count;
    const activeBytes = segFiles[segFiles.length - 1]?.[1] ?? 0;
    const label =
      `${fmt(count)} objects, ${fmt(count - activeSince)} of them in the unsealed last segment (${fmt(activeBytes / MiB, 1)} MiB; ` +
      `the sealed one held ~${fmt(perSegment)})`;
    rows.push({
      id: 'd-active-time',
      bench: `(d) worst case: reopen with ${label}`,
      sediment: lean.openMs / 1000,
      unit: 's',
      note: 'the same fill as (d), stopped just before the second segment seals: open scans every frame of the unsealed segment',
    });
    rows.push({
      id: 'd-active-bytes',
      bench: `(d) worst case: index memory per object excluding key bytes, ${label}`,
      sediment: perObject,
      unit: 'B/object',
      note: `RSS growth ${fmt(lean.rssDeltaBytes / count)} B/object`,
    });
    extra.reopenActiveSegment = { count, inActive: count - activeSince, perSegment, keyBytes, segmentBytesMax, segmentFiles: Object.fromEntries(segFiles), lean };
  } finally {
    await removeDir(dir);
  }
}

// ---------------------------------------------------------------- report

function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined) return '—';
  if (unit === '×') return v.toFixed(3);
  if (unit === 's') return fmt(v, 2);
  if (unit === 'B/object') return fmt(v, 1);
  return fmt(v);
}

/** Cores busy in other processes during the sediment run / the reference run. */
function otherLoad(r: ResultRow): string {
  const f = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(2));
  if (r.otherCores === undefined && r.referenceOtherCores === undefined) return '—';
  return r.referenceOtherCores === undefined ? f(r.otherCores) : `${f(r.otherCores)} / ${f(r.referenceOtherCores)}`;
}

export function resultsTable(rows: ResultRow[]): string {
  return markdownTable(
    ['bench', 'sediment', 'unit', 'reference', 'reference value', 'ratio', 'target', 'result', 'cores used', 'other load', 'note'],
    rows.map((r) => [
      r.bench,
      formatValue(r.sediment, r.unit),
      r.unit,
      r.reference ?? '—',
      formatValue(r.referenceValue, r.unit),
      r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
      r.target ?? '—',
      r.pass === undefined ? 'info' : r.pass ? '**pass**' : '**FAIL**',
      r.cores === undefined ? '—' : r.cores.toFixed(2),
      otherLoad(r),
      r.note ?? '',
    ]),
  );
}

export async function runEngineBench(opts: { quick?: boolean; parts?: EnginePart[] } = {}): Promise<EngineBenchReport> {
  const quick = opts.quick ?? quickMode();
  const parts = opts.parts ?? ENGINE_PARTS;
  const s = quick ? QUICK : FULL;
  const machine = machineInfo();
  const zstdCli = await zstdVersion();
  const probeDir = await scratchDir('probe');
  let engineOpts: Record<string, unknown>;
  try {
    const probe = await Engine.open(engineOptions(probeDir));
    engineOpts = {
      durability: probe.durability,
      chunkBytes: probe.chunkBytes,
      segmentBytesMax: probe.segmentBytesMax,
      compressionLevel: s.zstdLevel,
      workerThreads: probe.stats().workerThreads,
    };
    await probe.close();
  } finally {
    await removeDir(probeDir);
  }

  const setup = [
    describeMachine(machine),
    `mode: ${quick ? 'quick (smoke sizes, not for the record)' : 'full'}; parts: ${parts.join(', ')}; bench dir: ${path.dirname(probeDir)}; ` +
      `load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `engine: ${JSON.stringify(engineOpts)} (defaults except durability/compressionLevel set explicitly)`,
    `(a) ${fmt(s.smallCount)} puts of ${s.smallBytes} B log-like objects, concurrency ${s.smallConcurrency}, durability fsync`,
    `(b) ${s.largeObjects} × ${s.largeObjectBytes / MiB} MiB objects per kind (log-like, random), streamed as Readable from ${s.pieceBytes / MiB} MiB pieces` +
      ` cycling over ${s.poolPieces} distinct generated pieces; durability fsync; zstd level ${s.zstdLevel}; zstd CLI: ${zstdCli ?? 'NOT FOUND (reference skipped)'}`,
    `(c) everything from (a) and (b) read back through getObject streams (warm page cache)`,
    `(d) ${fmt(s.reopenCount)} puts of ${s.reopenValueBytes} B values, concurrency ${s.reopenConcurrency}, durability 'none' for the FILL only; close; then Engine.open in a fresh node --expose-gc process; ` +
      `worst case: the same fill stopped when the unsealed segment holds ~95% of what a sealed one held (segmentBytesMax ${s.activeSegmentBytesMax / MiB} MiB)`,
  ].join('\n');
  console.log('## engine bench');
  console.log(setup + '\n');

  const rows: ResultRow[] = [];
  const extra: Record<string, unknown> = {};
  warnings.length = 0;
  settleDisk();
  if (parts.includes('small') || parts.includes('large')) {
    const logPool = piecePool('log', s.poolPieces, s.pieceBytes, 1);
    if (parts.includes('small')) {
      const t = performance.now();
      await benchSmall(s, logPool, rows, extra);
      console.log(`small objects done in ${fmt((performance.now() - t) / 1000, 1)} s`);
    }
    if (parts.includes('large')) {
      const t = performance.now();
      await benchLarge(s, 'log', logPool, rows, extra, zstdCli !== undefined);
      console.log(`large log-like objects done in ${fmt((performance.now() - t) / 1000, 1)} s`);
    }
  }
  if (parts.includes('large')) {
    const t = performance.now();
    const randomPool = piecePool('random', s.poolPieces, s.pieceBytes, 2);
    await benchLarge(s, 'random', randomPool, rows, extra, zstdCli !== undefined);
    console.log(`large random objects done in ${fmt((performance.now() - t) / 1000, 1)} s`);
  }
  if (parts.includes('reopen')) {
    const t = performance.now();
    const valuePool = piecePool('log', 4, s.pieceBytes, 3);
    await benchReopen(s, valuePool, rows, extra);
    await benchReopenActiveSegment(s, valuePool, rows, extra);
    console.log(`reopen done in ${fmt((performance.now() - t) / 1000, 1)} s`);
  }

  rows.sort((x, y) => x.id.charCodeAt(0) - y.id.charCodeAt(0)); // by section (a)..(d), stable within
  const markdown = `${resultsTable(rows)}\n\n${LEGEND}`;
  console.log('\n' + markdown + '\n');
  if (warnings.length > 0) console.log(`engine warnings:\n${warnings.map((w) => `  ${w}`).join('\n')}`);
  const report: EngineBenchReport = { machine, quick, sizes: s, engineOptions: engineOpts, zstdCli, rows, extra, warnings: [...warnings], markdown: `${setup}\n\n${markdown}` };
  console.log(`results: ${await saveResults('engine', report)}`);
  return report;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  await runEngineBench();
}
