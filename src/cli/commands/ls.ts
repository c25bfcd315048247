// `ls [BUCKET[/PREFIX]]`: buckets, or the keys of a bucket. Like `aws s3 ls`, keys are grouped at '/'
// into "PRE" lines unless --recursive, and names are shown relative to the prefix's last '/'. Every
// page is fetched with the continuation token of the one before and printed as it arrives, so a
// listing of any size runs in bounded memory. --json prints one JSON object per line (JSON Lines).
import type { Command } from 'commander';
import type { BucketInfo, Engine, ListEntry } from '../../index.js';
import { contextOf, jsonOption, type CliContext } from '../context.js';
import { writeOut } from '../output.js';
import { withEngine } from '../with-engine.js';
import { formatBytes, formatIsoTime, formatLocalTime, toJson } from '../format.js';
import { parseBucketPath } from '../paths.js';

interface LsOptions {
  recursive?: boolean;
  json?: boolean;
  summarize?: boolean;
}

type Row = { kind: 'prefix'; prefix: string } | { kind: 'object'; entry: ListEntry };

const DATE_WIDTH = 19;
const SIZE_WIDTH = 12;
const ETAG_WIDTH = 32;

function rowName(row: Row): string {
  return row.kind === 'prefix' ? row.prefix : row.entry.key;
}

/** Merges a page's common prefixes and objects into one list in UTF-8 byte order (each is sorted). */
function mergePage(prefixes: string[], entries: ListEntry[]): Row[] {
  const rows: Row[] = [...prefixes.map((prefix): Row => ({ kind: 'prefix', prefix })), ...entries.map((entry): Row => ({ kind: 'object', entry }))];
  return rows.sort((a, b) => Buffer.compare(Buffer.from(rowName(a)), Buffer.from(rowName(b))));
}

function humanRow(row: Row, base: string): string {
  if (row.kind === 'prefix') {
    return `${''.padEnd(DATE_WIDTH)}  ${'PRE'.padStart(SIZE_WIDTH)}  ${''.padEnd(ETAG_WIDTH)}  ${row.prefix.slice(base.length)}`;
  }
  const e = row.entry;
  return `${formatLocalTime(e.lastModifiedMs)}  ${String(e.size).padStart(SIZE_WIDTH)}  ${e.etag.padEnd(ETAG_WIDTH)}  ${e.key.slice(base.length)}`;
}

function jsonRow(row: Row): string {
  if (row.kind === 'prefix') return toJson({ type: 'prefix', prefix: row.prefix });
  const e = row.entry;
  return toJson({ type: 'object', key: e.key, size: e.size, etag: e.etag, lastModified: formatIsoTime(e.lastModifiedMs), storageClass: e.storageClass });
}

function printBuckets(ctx: CliContext, buckets: BucketInfo[], json: boolean): void {
  for (const b of buckets) {
    ctx.stdout.write(
      json
        ? `${toJson({ type: 'bucket', name: b.name, region: b.region, created: formatIsoTime(b.createdMs) })}\n`
        : `${formatLocalTime(b.createdMs)}  ${b.name}\n`,
    );
  }
}

async function listKeys(ctx: CliContext, engine: Engine, bucket: string, prefix: string, opts: LsOptions): Promise<void> {
  const base = opts.recursive ? '' : prefix.slice(0, prefix.lastIndexOf('/') + 1);
  let token: string | undefined;
  let objects = 0;
  let bytes = 0;
  do {
    const page = engine.listObjects(bucket, { prefix, delimiter: opts.recursive ? undefined : '/', continuationToken: token });
    const lines = mergePage(page.commonPrefixes, page.contents).map((row) => (opts.json ? jsonRow(row) : humanRow(row, base)));
    if (lines.length > 0) await writeOut(ctx.stdout, `${lines.join('\n')}\n`);
    for (const e of page.contents) {
      objects++;
      bytes += e.size;
    }
    token = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (token !== undefined);
  if (opts.summarize && !opts.json) ctx.stdout.write(`\nTotal Objects: ${objects}\n   Total Size: ${formatBytes(bytes)} (${bytes} bytes)\n`);
}

export function registerLsCommand(program: Command): void {
  program
    .command('ls')
    .description('list buckets, or the objects in BUCKET under PREFIX')
    .argument('[path]', 'BUCKET or BUCKET/PREFIX')
    .option('-r, --recursive', 'list every key under the prefix instead of grouping at "/"')
    .option('--summarize', 'print the number and total size of the listed objects')
    .addOption(jsonOption('machine-readable output: one JSON object per line'))
    .action(async (arg: string | undefined, opts: LsOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const target = arg === undefined ? undefined : parseBucketPath(arg);
      await withEngine(ctx, {}, async (engine) => {
        if (target === undefined) printBuckets(ctx, engine.listBuckets(), opts.json === true);
        else await listKeys(ctx, engine, target.bucket, target.key, opts);
      });
    });
}
