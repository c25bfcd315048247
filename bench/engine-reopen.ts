// Engine bench (d): reopen time and index memory with 1,000,000 small objects, measured in a fresh
// process (bench/reopen-child.ts), plus the worst case of a nearly full unsealed last segment.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Engine } from '../src/index.js';
import { BUCKET, engineOptions, leastDisturbed, measure, type EngineBenchSizes, type ResultRow } from './engine-common.js';
import { logKey, smallObject } from './data.js';
import type { ReopenMeasurement } from './reopen-child.js';
import { busyCores, fmt, forEachConcurrent, MiB, removeDir, scratchDir, systemCpu, timed, waitForQuiet, type Timed } from './setup.js';

/** runChild, repeated while other processes disturb it (the child reports its own CPU time). */
async function reopenMeasured(dir: string, workerThreads: number | 'default'): Promise<ReopenMeasurement & { otherCores?: number }> {
  return leastDisturbed(
    '(d) reopen',
    async () => {
      await waitForQuiet();
      const sys0 = systemCpu();
      const t0 = performance.now();
      const m = await runChild(dir, workerThreads);
      const ms = performance.now() - t0;
      const busy = busyCores(sys0, systemCpu());
      return { ...m, otherCores: busy === undefined ? undefined : Math.max(0, busy - m.processCpuMs / ms) };
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

export async function benchReopen(s: EngineBenchSizes, pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
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
export async function benchReopenActiveSegment(s: EngineBenchSizes, pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
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
