// `migrate [--as-of DATE] [--dry-run] [--day-seconds N] [--level N]`: one cold-tier migration pass — moves
// the objects lifecycle Transitions or access-based tiering make due now (or as of DATE) to the cold tier,
// rewrites cold segments past the dead-share threshold and deletes unreferenced ones (docs/OPERATIONS.md).
import type { Command } from 'commander';
import { MaintenancePool, Migrator, type MigrationReport } from '../../index.js';
import { contextOf, jsonOption, type CliContext } from '../context.js';
import { formatBytes, toJson } from '../format.js';
import { withEngine } from '../with-engine.js';
import { parseDate, parseInteger } from '../option-values.js';
import { parseDayLength } from './lifecycle.js';

/** How the cold bytes written compare with the hot ones read (incompressible data comes out no smaller). */
function sizeRatio(r: MigrationReport): string {
  if (r.hotBytes === 0 || r.coldBytes === 0) return '';
  if (r.coldBytes < r.hotBytes) return ` (${(r.hotBytes / r.coldBytes).toFixed(2)}x smaller than hot)`;
  return ` (no smaller than hot: ${(r.coldBytes / r.hotBytes).toFixed(2)}x its size)`;
}

function reportText(r: MigrationReport, where: string): string {
  const lines = [
    `migration as of ${new Date(r.asOfMs).toISOString()}${r.dryRun ? ' (dry run: nothing changed)' : ''}, cold tier: ${where}`,
    `${r.objectsDue} object(s) due; ${r.dryRun ? 'would move them' : `moved ${r.objectsMoved} (${formatBytes(r.logicalBytes)})`}`,
  ];
  if (!r.dryRun) {
    lines.push(`read ${formatBytes(r.hotBytes)} of hot chunks, wrote ${r.coldSegmentsWritten} cold segment(s), ${formatBytes(r.coldBytes)}${sizeRatio(r)} in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  }
  if (r.coldSegmentsRewritten > 0) lines.push(`${r.coldSegmentsRewritten} cold segment(s) past the dead-share threshold ${r.dryRun ? 'would be rewritten' : 'rewritten'}`);
  if (r.coldSegmentsDeleted > 0) lines.push(`${r.coldSegmentsDeleted} unreferenced cold segment(s) ${r.dryRun ? 'would be deleted' : 'deleted'}`);
  if (r.skippedChanged > 0) lines.push(`${r.skippedChanged} object(s) changed during the pass: left hot (the change wins)`);
  if (r.skipped) lines.push(r.skipped);
  for (const d of r.damaged) lines.push(`damaged, left in place: ${d.bucket}/${d.key}: ${d.reason}`);
  // Only when something moved: a dry run or an empty pass leaves no hot copy behind.
  if (!r.dryRun && r.objectsMoved > 0) lines.push('their hot copies are now garbage: "sediment compact" (or serve\'s background compaction) frees them');
  return lines.join('\n');
}

function progress(ctx: CliContext): { update: (done: number, total: number) => void; finish: () => void } {
  if (ctx.quiet || !ctx.stderr.isTTY) return { update: () => undefined, finish: () => undefined };
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      ctx.stderr.write(`\r\x1b[Kmigrate [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} objects`);
      drawn = true;
    },
    finish() {
      if (drawn) ctx.stderr.write('\r\x1b[K');
    },
  };
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('move objects due for the cold tier (lifecycle Transitions, access-based tiering) there now')
    .option('--as-of <date>', 'judge ages as if it were this date (ISO 8601)', parseDate)
    .option('--dry-run', 'report what is due; change nothing')
    .option('--day-seconds <n>', 'length of a lifecycle day in seconds (tests only)', parseDayLength)
    .option('--level <n>', 'zstd level of cold chunks', parseInteger(1, 22), 12)
    .option('--threads <n>', 'worker threads for recompression', parseInteger(0, 64), 1)
    .addOption(jsonOption())
    .action(async (flags: { asOf?: number; dryRun?: boolean; daySeconds?: number; level: number; threads: number; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bar = progress(ctx);
      const { report, where } = await withEngine(ctx, {}, async (engine, cold) => {
        const pool = new MaintenancePool(engine.fs, flags.threads);
        try {
          const m = new Migrator(engine.coldAccess(), cold, pool, { level: flags.level });
          return { report: await m.runPass({ asOfMs: flags.asOf, dryRun: flags.dryRun, dayMs: flags.daySeconds, onProgress: bar.update }), where: cold.description };
        } finally {
          bar.finish();
          await pool.close();
        }
      });
      ctx.stdout.write(flags.json ? `${toJson({ coldStore: where, ...report })}\n` : `${reportText(report, where)}\n`);
    });
}
