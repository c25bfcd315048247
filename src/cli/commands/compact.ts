// `compact`: one compaction pass by hand. Seals the active segment first so every record is considered,
// shows a progress bar on a terminal, and prints what the pass did (segments, bytes read, written and
// reclaimed, time). The space accounting before and after comes from the same census the pass used.
import type { Command } from 'commander';
import { Compactor, dictionaryLine, DictionaryCollector, MaintenancePool, passLine, writeStatus } from '../../index.js';
import { contextOf, jsonOption } from '../context.js';
import { withEngine } from '../with-engine.js';
import { countOf, toJson } from '../format.js';
import { byteProgress } from '../progress.js';
import { CliError } from '../errors.js';
import { parseInteger, parseNumber } from '../option-values.js';

interface CompactFlags {
  json?: boolean;
  deadShare: number;
  bytesPerSec: number;
  threads: number;
  concurrency: number;
  segmentMb?: number;
}

export function registerCompactCommand(program: Command): void {
  program
    .command('compact')
    .description('reclaim the space of deleted and overwritten objects now (seals the active segment first), then delete unused dictionary files')
    // By hand the point is to reclaim now: a lower bar than the background's 0.3 (which bounds how much
    // live data automatic passes rewrite).
    .option('--dead-share <fraction>', 'compact a segment once this share of it is dead', parseNumber(0.01, 1), 0.1)
    .option('--bytes-per-sec <n>', 'copy throttle in bytes/s (0 = as fast as the disk goes)', parseInteger(0, Number.MAX_SAFE_INTEGER), 0)
    .option('--threads <n>', 'worker threads for the copies', parseInteger(1, 64), 1)
    .option('--concurrency <n>', 'segment groups copied at the same time', parseInteger(1, 64), 1)
    .option('--segment-mb <n>', 'most live data per pack, MiB (default: the segment size, 128)', parseNumber(1, 4095))
    .addOption(jsonOption())
    .action(async (flags: CompactFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const progress = byteProgress(ctx, 'compacting');
      const segmentBytesMax = flags.segmentMb === undefined ? undefined : Math.round(flags.segmentMb * 1048576);
      const stats = await withEngine(ctx, { segmentBytesMax }, async (engine) => {
        const pool = new MaintenancePool(engine.fs, flags.threads);
        const compactor = new Compactor(engine.maintenance(), pool, {
          deadShareMin: flags.deadShare, bytesPerSecMax: flags.bytesPerSec, concurrency: flags.concurrency,
        });
        const dictionaries = new DictionaryCollector(engine.maintenance(), pool);
        try {
          // The collector notes the retired dictionaries before the seal, and deletes after the pass
          // those that no frame still names (dictionary-gc.ts).
          await dictionaries.runPass();
          const st = await compactor.runPass({ sealFirst: true, onProgress: (done, total) => progress.update(done, total) });
          await writeStatus(engine.fs, engine.dir, { lastPass: st }).catch(() => undefined);
          const d = await dictionaries.runPass();
          return { ...st, dictionaries: d };
        } finally {
          progress.finish();
          await pool.close();
        }
      });
      ctx.stdout.write(`${flags.json ? toJson(stats) : passLine(stats)}\n`);
      if (!flags.json && stats.dictionaries.retired > 0) ctx.stdout.write(`${dictionaryLine(stats.dictionaries)}\n`);
      if (stats.damaged.length > 0) {
        throw new CliError(`compaction found ${countOf(stats.damaged.length, 'damaged record')} (kept and reported; run "sediment verify")`);
      }
    });
}
