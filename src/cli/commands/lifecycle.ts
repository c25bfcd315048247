// `lifecycle get|set|delete BUCKET` and `lifecycle run [--as-of DATE] [--dry-run]`: a bucket's lifecycle
// rules (S3's LifecycleConfiguration XML, or the engine's JSON form), and a lifecycle pass applied as if
// it were DATE — for operators' what-ifs (with --dry-run nothing changes) and for tests. Transitions are
// applied by the migration pass that follows the lifecycle pass (the one `sediment migrate` runs).
import { InvalidArgumentError, type Command } from 'commander';
import { validateLifecycle, type LifecycleConfig } from '../../engine/lifecycle.js';
import { isS3Error } from '../../s3/s3-error.js';
import { lifecycleXml, parseLifecycleXml } from '../../s3/lifecycle-xml.js';
import { contextOf, jsonOption, type CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { formatBytes, toJson } from '../format.js';
import { readSmallTextFile } from '../local-files.js';
import { parseBucketOnly } from '../paths.js';
import { withEngine } from '../with-engine.js';
import { parseDate } from '../option-values.js';
import { refuseDirectoryStdin } from './put.js';
import { MaintenancePool, Migrator } from '../../index.js';

const CONFIG_BYTES_MAX = 1024 * 1024;

async function readConfigText(file: string | undefined): Promise<string> {
  if (file === undefined || file === '-') {
    refuseDirectoryStdin();
    const parts: Buffer[] = [];
    let n = 0;
    for await (const p of process.stdin) {
      n += (p as Buffer).length;
      if (n > CONFIG_BYTES_MAX) throw new CliError('the lifecycle configuration is larger than 1 MiB');
      parts.push(p as Buffer);
    }
    return Buffer.concat(parts).toString('utf8');
  }
  return readSmallTextFile(file, CONFIG_BYTES_MAX);
}

/**
 * XML (S3's form) or JSON (`{"rules": [...]}`, as `lifecycle get --json` prints it), checked by the
 * engine's validateLifecycle (every field's type, then the rules' meaning) before the data directory is
 * opened: a bad configuration is a usage error (SEDIMENT_INVALID_ARGUMENT, exit 2).
 */
export function parseConfigText(text: string): LifecycleConfig {
  const t = text.trim();
  let config: unknown;
  if (t.startsWith('{')) {
    try {
      config = JSON.parse(t);
    } catch (err) {
      throw new UsageError(`the lifecycle configuration is not valid JSON: ${(err as Error).message}`);
    }
  } else {
    try {
      config = parseLifecycleXml(t);
    } catch (err) {
      if (isS3Error(err)) throw new UsageError(`the lifecycle configuration is not valid: ${err.message}`);
      throw err;
    }
  }
  validateLifecycle(config);
  return config;
}

export function parseDayLength(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new InvalidArgumentError('expected a positive number of seconds');
  return n * 1000;
}

function runReport(ctx: CliContext, r: Awaited<ReturnType<import('../../index.js').Engine['runLifecycle']>>): string {
  const verb = r.dryRun ? 'would expire' : 'expired';
  const lines = [
    `lifecycle as of ${new Date(r.asOfMs).toISOString()}${r.dryRun ? ' (dry run: nothing changed)' : ''}: ${r.bucketsWithRules} bucket(s) with rules, ${r.objectsExamined} object(s) examined`,
    `${verb} ${r.expiredCount} object(s), ${formatBytes(r.expiredBytes)}`,
  ];
  if (!ctx.quiet) for (const o of r.expired) lines.push(`  ${o.bucket}/${o.key}`);
  lines.push(`${r.dryRun ? 'would abort' : 'aborted'} ${r.abortedUploads.length} incomplete multipart upload(s)`);
  if (!ctx.quiet) for (const u of r.abortedUploads) lines.push(`  ${u.bucket}/${u.key} (upload ${u.uploadId})`);
  if (r.skippedChanged > 0) lines.push(`${r.skippedChanged} object(s) changed while the pass ran: left for the next pass`);
  for (const x of r.invalidRules) lines.push(`not applied: ${x.problem}`);
  return lines.join('\n');
}

export function registerLifecycleCommand(program: Command): void {
  const lc = program.command('lifecycle').description("a bucket's lifecycle rules, and lifecycle passes");

  lc.command('get')
    .argument('<bucket>')
    .description("print the bucket's lifecycle configuration (S3 XML; --json for JSON)")
    .addOption(jsonOption())
    .action(async (bucketArg: string, flags: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(bucketArg);
      const config = await withEngine(ctx, {}, async (e) => e.getBucketLifecycle(bucket));
      ctx.stdout.write(flags.json ? `${toJson(config)}\n` : `${lifecycleXml(config)}\n`);
    });

  lc.command('set')
    .argument('<bucket>')
    .argument('[file]', 'S3 LifecycleConfiguration XML or JSON; - or none for stdin')
    .description('replace the bucket\'s lifecycle configuration')
    .action(async (bucketArg: string, file: string | undefined, _flags: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(bucketArg);
      if (file === undefined && process.stdin.isTTY) {
        throw new UsageError('no FILE given and stdin is a terminal (give a FILE, "-", or pipe the configuration in)');
      }
      const config = parseConfigText(await readConfigText(file));
      await withEngine(ctx, {}, (e) => e.setBucketLifecycle(bucket, config));
      if (!ctx.quiet) ctx.stderr.write(`lifecycle of ${bucket}: ${config.rules.length} rule(s) set\n`);
    });

  lc.command('delete')
    .argument('<bucket>')
    .description("remove the bucket's lifecycle configuration")
    .action(async (bucketArg: string, _flags: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const bucket = parseBucketOnly(bucketArg);
      await withEngine(ctx, {}, async (e) => {
        e.getBucketLifecycle(bucket); // "has none" is an error, as in S3's GET
        await e.setBucketLifecycle(bucket, undefined);
      });
    });

  lc.command('run')
    .description('apply every bucket\'s lifecycle rules now (or as of --as-of): expire objects, abort stale uploads, move due objects to the cold tier')
    .option('--as-of <date>', 'judge ages as if it were this date (ISO 8601)', parseDate)
    .option('--dry-run', 'report what would happen; change nothing')
    .option('--day-seconds <n>', 'length of a lifecycle day in seconds (tests only)', parseDayLength)
    .addOption(jsonOption())
    .action(async (flags: { asOf?: number; dryRun?: boolean; daySeconds?: number; json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const drawProgress = !ctx.quiet && ctx.stderr.isTTY;
      let drawn = false;
      const { report, migration } = await withEngine(ctx, {}, async (e, cold) => {
        const report = await e.runLifecycle({
          asOfMs: flags.asOf,
          dryRun: flags.dryRun,
          dayMs: flags.daySeconds,
          onProgress: drawProgress
            ? (done, total) => {
                ctx.stderr.write(`\r\x1b[Klifecycle: ${done} of ${total} objects`);
                drawn = true;
              }
            : undefined,
        });
        // Transitions: the same migration pass `sediment migrate` runs, as of the same moment.
        const pool = new MaintenancePool(e.fs, 1);
        try {
          const migration = await new Migrator(e.coldAccess(), cold, pool).runPass({ asOfMs: report.asOfMs, dryRun: flags.dryRun, dayMs: flags.daySeconds });
          return { report, migration };
        } finally {
          await pool.close();
        }
      });
      if (drawn) ctx.stderr.write('\r\x1b[K');
      const moved = migration.dryRun
        ? `${migration.objectsDue} object(s) due for the cold tier (dry run: not moved)`
        : `moved ${migration.objectsMoved} object(s) to the cold tier (${formatBytes(migration.logicalBytes)}; ${migration.coldSegmentsWritten} cold segment(s), ${formatBytes(migration.coldBytes)})` +
          (migration.skippedChanged > 0 ? `, ${migration.skippedChanged} changed meanwhile and left hot` : '');
      ctx.stdout.write(`${flags.json ? toJson({ ...report, migration }) : `${runReport(ctx, report)}\n${moved}`}\n`);
    });
}
