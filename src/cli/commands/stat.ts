// `stat BUCKET/KEY`: everything the engine records about an object — size, ETag, dates, content type,
// storage class, version, user metadata, standard headers, checksums, tags and Object Lock state
// (retention mode and retain-until date, legal hold; shown only when the version has them).
import type { Command } from 'commander';
import type { ObjectInfo } from '../../index.js';
import { checksumText } from '../../engine/checksums.js';
import { contextOf, jsonOption } from '../context.js';
import { withEngine } from '../with-engine.js';
import { formatBytesExact, formatFields, formatIsoTime, toJson } from '../format.js';
import { parseObjectPath } from '../paths.js';

const HEADER_LABELS: Array<[keyof ObjectInfo['headers'], string]> = [
  ['cacheControl', 'cache-control'],
  ['contentDisposition', 'content-disposition'],
  ['contentEncoding', 'content-encoding'],
  ['contentLanguage', 'content-language'],
  ['expires', 'expires'],
];

function pairs(record: Record<string, string>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

function humanStat(info: ObjectInfo): string {
  const rows: Array<[string, string]> = [
    ['path', `${info.bucket}/${info.key}`],
    ['size', formatBytesExact(info.size)],
    ['etag', info.etag],
    ['last modified', formatIsoTime(info.lastModifiedMs)],
    ['content type', info.contentType],
    ['storage class', info.storageClass],
    ['version id', info.versionId === '' ? '-' : info.versionId],
  ];
  if (info.partCount > 0) rows.push(['parts', String(info.partCount)]);
  rows.push(['metadata', pairs(info.userMetadata)]);
  for (const [field, label] of HEADER_LABELS) {
    const value = info.headers[field];
    if (value !== undefined) rows.push([label, value]);
  }
  for (const c of info.checksums) rows.push([`checksum ${c.algorithm}`, `${checksumText(c, info.partCount)}${c.type ? ` (${c.type})` : ''}`]);
  rows.push(['tags', pairs(info.tags)]);
  const lock = info.objectLock;
  if (lock?.mode !== undefined || lock?.retainUntilMs !== undefined) {
    rows.push(['object lock', `${lock.mode ?? '-'} until ${lock.retainUntilMs === undefined ? '-' : formatIsoTime(lock.retainUntilMs)}`]);
  }
  if (lock?.legalHold) rows.push(['legal hold', 'ON']);
  return formatFields(rows);
}

function jsonStat(info: ObjectInfo): string {
  return toJson({ ...info, lastModified: formatIsoTime(info.lastModifiedMs) });
}

export function registerStatCommand(program: Command): void {
  program
    .command('stat')
    .description('show everything recorded about the object BUCKET/KEY')
    .argument('<path>', 'BUCKET/KEY')
    .option('--version-id <id>', 'this version ("null" for the null version; `sediment ls --versions` lists them)')
    .addOption(jsonOption())
    .action(async (pathArg: string, flags: { json?: boolean; versionId?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { bucket, key } = parseObjectPath(pathArg);
      const info = await withEngine(ctx, {}, (engine) => engine.headObject(bucket, key, { versionId: flags.versionId }));
      ctx.stdout.write(`${flags.json ? jsonStat(info) : humanStat(info)}\n`);
    });
}
