// `tiering get|set|delete BUCKET [--days N]`: access-based tiering of a bucket (like S3
// Intelligent-Tiering's archive tier): objects not read for N days move to the cold tier at the next
// migration pass. Stored as a BUCKET_CONFIG record of kind 4 (docs/FORMAT.md §3.8).
import type { Command } from 'commander';
import { contextOf, jsonOption } from '../context.js';
import { toJson } from '../format.js';
import { parseBucketOnly } from '../paths.js';
import { withEngine } from '../with-engine.js';
import { parseInteger } from '../option-values.js';

export function registerTieringCommand(program: Command): void {
  const t = program.command('tiering').description('access-based tiering: move objects not read for N days to the cold tier');

  t.command('get')
    .argument('<bucket>')
    .addOption(jsonOption())
    .description("print the bucket's tiering setting")
    .action(async (bucketArg: string, flags: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(bucketArg);
      const days = await withEngine(ctx, {}, async (e) => e.getBucketTiering(bucket));
      ctx.stdout.write(flags.json ? `${toJson({ bucket, days: days ?? null })}\n` : days === undefined ? `${bucket}: no access-based tiering\n` : `${bucket}: objects not read for ${days} day(s) go cold\n`);
    });

  t.command('set')
    .argument('<bucket>')
    .requiredOption('--days <n>', 'days without a read before an object goes cold', parseInteger(1, 36_500))
    .description('turn access-based tiering on (or change its days)')
    .action(async (bucketArg: string, flags: { days: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(bucketArg);
      await withEngine(ctx, {}, (e) => e.setBucketTiering(bucket, flags.days));
      if (!ctx.quiet) ctx.stderr.write(`${bucket}: objects not read for ${flags.days} day(s) go cold at the next migration\n`);
    });

  t.command('delete')
    .argument('<bucket>')
    .description('turn access-based tiering off')
    .action(async (bucketArg: string, _flags: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(bucketArg);
      await withEngine(ctx, {}, (e) => e.setBucketTiering(bucket, undefined));
    });
}
