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

import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { Engine } from '../src/index.js';
import { bestOfRuns, engineOptions, settleDisk, warnings, type EngineBenchSizes, type ResultRow } from './engine-common.js';
import { benchLarge } from './engine-large.js';
import { benchReopen, benchReopenActiveSegment } from './engine-reopen.js';
import { LEGEND, resultsTable } from './engine-report.js';
import { benchSmall } from './engine-small.js';
import { benchCompaction } from './engine-compaction.js';
import { benchExpiry } from './engine-expiry.js';
import { benchRetention } from './engine-retention.js';
import { piecePool } from './data.js';
import { zstdVersion } from './references.js';
import { describeMachine, fmt, machineInfo, MiB, quickMode, removeDir, saveResults, scratchDir, type MachineInfo } from './setup.js';

export type { EngineBenchSizes, ResultRow } from './engine-common.js';

export type EnginePart = 'small' | 'large' | 'reopen' | 'compaction' | 'expiry' | 'retention';
export const ENGINE_PARTS: EnginePart[] = ['small', 'large', 'reopen', 'compaction', 'expiry', 'retention'];

const FULL: EngineBenchSizes = {
  smallCount: 100_000,
  smallBytes: 4096,
  smallConcurrency: 64,
  largeObjects: 16,
  largeObjectBytes: 64 * MiB,
  // The extra (b) row: 4 objects at a time, as rclone uploads by default (--transfers 4); 2 until session 22.
  largeConcurrencyExtra: 4,
  pieceBytes: MiB,
  poolPieces: 96,
  zstdLevel: 1,
  reopenCount: 1_000_000,
  reopenValueBytes: 64,
  reopenConcurrency: 256,
  activeSegmentBytesMax: 128 * MiB,
  compactionCount: 250_000,
  compactionSegmentBytes: 64 * MiB,
  compactionProbeOps: 2_000,
  compactionIdleMs: 10_000,
  compactionThrottleBytes: 64 * MiB,
  expiryDays: 30,
  expiryObjectsPerDay: 100,
  expiryObjectBytes: 256 * 1024,
  expirySegmentBytes: 4 * MiB,
  retentionDays: 30,
  retentionObjectsPerDay: 100,
  retentionObjectBytes: 256 * 1024,
  retentionSegmentBytes: 8 * MiB,
};

const QUICK: EngineBenchSizes = {
  ...FULL,
  smallCount: 5_000,
  largeObjects: 4,
  largeObjectBytes: 16 * MiB,
  poolPieces: 24,
  reopenCount: 50_000,
  activeSegmentBytesMax: 8 * MiB,
  compactionCount: 20_000,
  compactionSegmentBytes: 8 * MiB,
  compactionProbeOps: 500,
  compactionIdleMs: 2_000,
  compactionThrottleBytes: 16 * MiB,
  expiryDays: 30,
  expiryObjectsPerDay: 20,
  expiryObjectBytes: 64 * 1024,
  expirySegmentBytes: 1 * MiB,
  retentionDays: 30,
  retentionObjectsPerDay: 12,
  retentionObjectBytes: 64 * 1024,
  retentionSegmentBytes: 1 * MiB,
};

export interface EngineBenchReport {
  machine: MachineInfo;
  quick: boolean;
  /** --best-of=N: the acceptance measurements (a) and (b) kept the fastest of N runs. */
  bestOf: number;
  sizes: EngineBenchSizes;
  engineOptions: Record<string, unknown>;
  zstdCli?: string;
  rows: ResultRow[];
  extra: Record<string, unknown>;
  warnings: string[];
  markdown: string;
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
      `load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
      (bestOfRuns() > 1 ? `(a) and (b): the fastest of ${bestOfRuns()} runs each, sediment and references alike` : 'one run each (repeated only when disturbed, --attempts)'),
    `engine: ${JSON.stringify(engineOpts)} (defaults except durability/compressionLevel set explicitly)`,
    `(a) ${fmt(s.smallCount)} puts of ${s.smallBytes} B log-like objects, concurrency ${s.smallConcurrency}, durability fsync`,
    `(b) ${s.largeObjects} × ${s.largeObjectBytes / MiB} MiB objects per kind (log-like, random), streamed as Readable from ${s.pieceBytes / MiB} MiB pieces` +
      ` cycling over ${s.poolPieces} distinct generated pieces; durability fsync; zstd level ${s.zstdLevel}; zstd CLI: ${zstdCli ?? 'NOT FOUND (reference skipped)'}`,
    `(c) everything from (a) and (b) read back through getObject streams (warm page cache)`,
    `(d) ${fmt(s.reopenCount)} puts of ${s.reopenValueBytes} B values, concurrency ${s.reopenConcurrency}, durability 'none' for the FILL only; close; then Engine.open in a fresh node --expose-gc process; ` +
      `worst case: the same fill stopped when the unsealed segment holds ~95% of what a sealed one held (segmentBytesMax ${s.activeSegmentBytesMax / MiB} MiB)`,
    `(f) ${s.expiryDays} simulated days × ${s.expiryObjectsPerDay} log-like objects of ${s.expiryObjectBytes / 1024} KiB (segmentBytesMax ${s.expirySegmentBytes / MiB} MiB), a 7-day Expiration rule; ` +
      `on the last day one lifecycle pass then one compaction pass limited to wholly dead segments`,
    `(g) ${s.retentionDays} simulated days × ${s.retentionObjectsPerDay} distinct log-like objects of ${s.retentionObjectBytes / 1024} KiB (segmentBytesMax ${s.retentionSegmentBytes / MiB} MiB), ` +
      `1-day Transition to GLACIER_IR + 7-day Expiration; a lifecycle pass and a migration pass (local-directory cold store, 1 worker) at the end of each day, one compaction pass at the end; cold GETs from the local store and from s3rver`,
    `(e) ${fmt(s.compactionCount)} puts of 4 KiB random bytes (segmentBytesMax ${s.compactionSegmentBytes / MiB} MiB, durability fsync), delete every other, overwrite every fourth; ` +
      `run A: one unthrottled pass as \`sediment compact\` runs it (sealing first, dead share ≥ 0.1), 1 worker thread; run B: sequential 4 KiB PUTs and GETs side by side, idle (≥ ${s.compactionProbeOps} each and ≥ ${s.compactionIdleMs / 1000} s), then the same probes while a pass throttled at ${fmt(s.compactionThrottleBytes / 1e6)} MB/s runs`,
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

  if (parts.includes('compaction')) {
    const t = performance.now();
    await benchCompaction(s, rows, extra);
    console.log(`compaction done in ${fmt((performance.now() - t) / 1000, 1)} s`);
  }
  if (parts.includes('expiry')) {
    const t = performance.now();
    await benchExpiry(s, rows, extra);
    console.log(`expiry done in ${fmt((performance.now() - t) / 1000, 1)} s`);
  }
  if (parts.includes('retention')) {
    const t = performance.now();
    await benchRetention(s, rows, extra);
    console.log(`retention done in ${fmt((performance.now() - t) / 1000, 1)} s`);
  }

  rows.sort((x, y) => x.id.charCodeAt(0) - y.id.charCodeAt(0)); // by section (a)..(e), stable within
  const markdown = `${resultsTable(rows)}\n\n${LEGEND}`;
  console.log('\n' + markdown + '\n');
  if (warnings.length > 0) console.log(`engine warnings:\n${warnings.map((w) => `  ${w}`).join('\n')}`);
  const report: EngineBenchReport = { machine, quick, bestOf: bestOfRuns(), sizes: s, engineOptions: engineOpts, zstdCli, rows, extra, warnings: [...warnings], markdown: `${setup}\n\n${markdown}` };
  console.log(`results: ${await saveResults('engine', report)}`);
  return report;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  await runEngineBench();
}
