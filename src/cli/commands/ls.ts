// `ls [BUCKET[/PREFIX]]`: buckets, or the keys of a bucket. Like `aws s3 ls`, keys are grouped at '/'
// into "PRE" lines unless --recursive, and names are shown relative to the prefix's last '/'. Every
// page is fetched with the continuation token of the one before and printed as it arrives, so a
// listing of any size runs in bounded memory. --json prints one JSON object per line (JSON Lines).
// --versions lists every version and delete marker (S3 ListObjectVersions), each key's newest first.
import type { Command } from 'commander';
import type { BucketInfo, Engine, ListEntry } from '../../index.js';
import type { VersionEntry } from '../../engine/list-versions.js';
import { contextOf, jsonOption, type CliContext } from '../context.js';
import { writeOut } from '../output.js';
import { withEngine } from '../with-engine.js';
import { formatBytes, formatIsoTime, formatLocalTime, toJson } from '../format.js';
import { parseBucketPath } from '../paths.js';
import { UsageError } from '../errors.js';

interface LsOptions {
  recursive?: boolean;
  json?: boolean;
  summarize?: boolean;
  versions?: boolean;
}

type Row = { kind: 'prefix'; prefix: string } | { kind: 'object'; entry: ListEntry } | { kind: 'version'; entry: VersionEntry };

const DATE_WIDTH = 19;
const SIZE_WIDTH = 12;
const ETAG_WIDTH = 32;

function rowName(row: Row): string {
  return row.kind === 'prefix' ? row.prefix : row.entry.key;
}

/**
 * Merges a page's common prefixes and objects (or versions) into one list in UTF-8 byte order (each is
 * sorted; the sort is stable, so a key's versions stay newest first).
 */
function mergePage(prefixes: string[], entries: Row[]): Row[] {
  const rows: Row[] = [...prefixes.map((prefix): Row => ({ kind: 'prefix', prefix })), ...entries];
  return rows.sort((a, b) => Buffer.compare(Buffer.from(rowName(a)), Buffer.from(rowName(b))));
}

function humanRow(row: Row, base: string): string {
  if (row.kind === 'prefix') {
    return `${''.padEnd(DATE_WIDTH)}  ${'PRE'.padStart(SIZE_WIDTH)}  ${''.padEnd(ETAG_WIDTH)}  ${row.prefix.slice(base.length)}`;
  }
  const e = row.entry;
  if (row.kind === 'version') {
    const v = row.entry;
    const size = v.isDeleteMarker ? 'DEL' : String(v.size);
    return `${formatLocalTime(v.lastModifiedMs)}  ${size.padStart(SIZE_WIDTH)}  ${(v.isDeleteMarker ? '' : v.etag).padEnd(ETAG_WIDTH)}  ${v.key.slice(base.length)}  ${v.versionId}${v.isLatest ? ' (latest)' : ''}`;
  }
  return `${formatLocalTime(e.lastModifiedMs)}  ${String(e.size).padStart(SIZE_WIDTH)}  ${e.etag.padEnd(ETAG_WIDTH)}  ${e.key.slice(base.length)}`;
}

function jsonRow(row: Row): string {
  if (row.kind === 'prefix') return toJson({ type: 'prefix', prefix: row.prefix });
  if (row.kind === 'version') {
    const v = row.entry;
    if (v.isDeleteMarker) return toJson({ type: 'deleteMarker', key: v.key, versionId: v.versionId, isLatest: v.isLatest, lastModified: formatIsoTime(v.lastModifiedMs) });
    return toJson({ type: 'version', key: v.key, versionId: v.versionId, isLatest: v.isLatest, size: v.size, etag: v.etag, lastModified: formatIsoTime(v.lastModifiedMs), storageClass: v.storageClass });
  }
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
    const lines = mergePage(page.commonPrefixes, page.contents.map((entry): Row => ({ kind: 'object', entry }))).map((row) => (opts.json ? jsonRow(row) : humanRow(row, base)));
    if (lines.length > 0) await writeOut(ctx.stdout, `${lines.join('\n')}\n`);
    for (const e of page.contents) {
      objects++;
      bytes += e.size;
    }
    token = page.isTruncated ? page.nextContinuationToken : undefined;
  } while (token !== undefined);
  if (opts.summarize && !opts.json) ctx.stdout.write(`\nTotal Objects: ${objects}\n   Total Size: ${formatBytes(bytes)} (${bytes} bytes)\n`);
}

/** Every version and delete marker under the prefix, page by page (key-marker and version-id-marker). */
async function listVersions(ctx: CliContext, engine: Engine, bucket: string, prefix: string, opts: LsOptions): Promise<void> {
  const base = opts.recursive ? '' : prefix.slice(0, prefix.lastIndexOf('/') + 1);
  let marker: { keyMarker: string; versionIdMarker?: string } | undefined;
  let versions = 0;
  let bytes = 0;
  do {
    const page = engine.listObjectVersions(bucket, { prefix, delimiter: opts.recursive ? undefined : '/', ...marker });
    const lines = mergePage(page.commonPrefixes, page.versions.map((entry): Row => ({ kind: 'version', entry }))).map((row) => (opts.json ? jsonRow(row) : humanRow(row, base)));
    if (lines.length > 0) await writeOut(ctx.stdout, `${lines.join('\n')}\n`);
    for (const v of page.versions) {
      if (v.isDeleteMarker) continue;
      versions++;
      bytes += v.size;
    }
    marker = page.isTruncated ? { keyMarker: page.nextKeyMarker!, versionIdMarker: page.nextVersionIdMarker } : undefined;
  } while (marker !== undefined);
  if (opts.summarize && !opts.json) ctx.stdout.write(`\nTotal Versions: ${versions}\n   Total Size: ${formatBytes(bytes)} (${bytes} bytes)\n`);
}

export function registerLsCommand(program: Command): void {
  program
    .command('ls')
    .description('list buckets, or the objects in BUCKET under PREFIX')
    .argument('[path]', 'BUCKET or BUCKET/PREFIX')
    .option('-r, --recursive', 'list every key under the prefix instead of grouping at "/"')
    .option('--summarize', 'print the number and total size of the listed objects')
    .option('--versions', 'list every version and delete marker (newest first per key), with its version id')
    .addOption(jsonOption('machine-readable output: one JSON object per line'))
    .action(async (arg: string | undefined, opts: LsOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const target = arg === undefined ? undefined : parseBucketPath(arg);
      await withEngine(ctx, {}, async (engine) => {
        if (target === undefined) {
          if (opts.versions) throw new UsageError('--versions lists the versions in a bucket: give BUCKET[/PREFIX]');
          printBuckets(ctx, engine.listBuckets(), opts.json === true);
        } else if (opts.versions) await listVersions(ctx, engine, target.bucket, target.key, opts);
        else await listKeys(ctx, engine, target.bucket, target.key, opts);
      });
    });
}
