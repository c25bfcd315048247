// ListObjectVersions over a bucket's current objects and their history: keys in UTF-8 byte order, each
// key's versions newest first, with prefix, delimiter (common prefixes), key-marker / version-id-marker
// and max-keys as S3 defines them. A page never repeats or skips a version: the markers name the last
// version (or common prefix) returned, and resuming after a common prefix skips every key under it.
import { SedimentError } from '../util/errors.js';
import type { ObjectTable } from './object-table.js';
import { MAX_KEYS_LIMIT } from './list.js';
import { compareUtf8, prefixSuccessor } from './utf8-order.js';
import { isMarker, parseVersionId, showVersionId, versionsOf, type VersionedBucket } from './versions.js';

export interface ListVersionsOptions {
  prefix?: string;
  delimiter?: string;
  /** Resume after this key (and, with versionIdMarker, after that version of it). */
  keyMarker?: string;
  /** A version id as clients see it ("null" for the null version); only with keyMarker. */
  versionIdMarker?: string;
  /** 0..1000, default 1000. */
  maxKeys?: number;
}

export interface VersionEntry {
  key: string;
  /** As clients see it: "null" for the null version. */
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number;
  etag: string;
  lastModifiedMs: number;
  storageClass: 'STANDARD' | 'COLD';
}

export interface ListVersionsResult {
  versions: VersionEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Present when truncated: the key-marker and version-id-marker of the next page. */
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}


/** Keys that have a current object or a history, in UTF-8 order, from `from` (inclusive) or after `after`. */
function* mergedKeys(b: VersionedBucket, opts: { from?: string; after?: string }): Generator<string> {
  const cur = b.keys.scan(opts);
  const old = b.versions.history.scan(opts);
  let c = cur.next();
  let o = old.next();
  while (!c.done || !o.done) {
    const cmp = c.done ? 1 : o.done ? -1 : compareUtf8(c.value[0], o.value[0]);
    if (cmp <= 0) {
      yield (c.value as [string, number])[0];
      c = cur.next();
      if (cmp === 0) o = old.next();
    } else {
      yield (o.value as [string, readonly number[]])[0];
      o = old.next();
    }
  }
}

export function listVersions(table: ObjectTable, b: VersionedBucket, opts: ListVersionsOptions, storageClassName: (sc: number) => 'STANDARD' | 'COLD'): ListVersionsResult {
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter ?? '';
  const maxKeys = opts.maxKeys ?? MAX_KEYS_LIMIT;
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'max-keys must be a non-negative integer');
  const limit = Math.min(maxKeys, MAX_KEYS_LIMIT);
  const keyMarker = opts.keyMarker ?? '';
  const vMarker = opts.versionIdMarker ?? '';
  if (vMarker !== '' && keyMarker === '') throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'A version-id marker cannot be specified without a key marker.');
  const resumeVersion = vMarker !== '' ? parseVersionId(vMarker) : undefined;

  const result: ListVersionsResult = { versions: [], commonPrefixes: [], isTruncated: false };
  if (limit === 0) return result;

  let skipPrefix: string | undefined;
  let start: { from?: string; after?: string } = prefix !== '' ? { from: prefix } : {};
  if (keyMarker !== '') {
    const isPrefix = delimiter !== '' && resumeVersion === undefined && keyMarker.startsWith(prefix) && keyMarker.endsWith(delimiter) && keyMarker.indexOf(delimiter, prefix.length) === keyMarker.length - delimiter.length;
    if (isPrefix) skipPrefix = keyMarker;
    const succ = isPrefix ? prefixSuccessor(keyMarker) : undefined;
    const resume = resumeVersion !== undefined ? { from: keyMarker } : succ !== undefined ? { from: succ } : { after: keyMarker };
    if (compareUtf8(keyMarker, prefix) >= 0) start = resume;
  }

  let count = 0;
  let last: { key: string; versionId?: string } | undefined;
  let keys = mergedKeys(b, start);
  outer: for (let step = keys.next(); !step.done; step = keys.next()) {
    const key = step.value;
    if (!key.startsWith(prefix)) break;
    if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
    if (delimiter !== '') {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const cp = key.slice(0, at + delimiter.length);
        if (count === limit) {
          result.isTruncated = true;
          break;
        }
        result.commonPrefixes.push(cp);
        count++;
        last = { key: cp };
        skipPrefix = cp;
        const succ = prefixSuccessor(cp);
        if (succ !== undefined) keys = mergedKeys(b, { from: succ });
        continue;
      }
    }
    const chain = versionsOf(b, key);
    let i = 0;
    if (resumeVersion !== undefined && key === keyMarker) {
      const at = chain.findIndex((s) => table.versionIdOf(s) === resumeVersion);
      // The marker version was deleted since: versions created after it (higher ids) were listed.
      i = at >= 0 ? at + 1 : chain.findIndex((s) => table.versionIdOf(s) !== '' && table.versionIdOf(s) < resumeVersion);
      if (i < 0) continue;
    }
    for (; i < chain.length; i++) {
      if (count === limit) {
        result.isTruncated = true;
        break outer;
      }
      const slot = chain[i]!;
      const marker = isMarker(table, slot);
      result.versions.push({
        key,
        versionId: showVersionId(table.versionIdOf(slot)),
        isLatest: i === 0,
        isDeleteMarker: marker,
        size: marker ? 0 : table.sizeOf(slot),
        etag: marker ? '' : table.etag(slot),
        lastModifiedMs: table.mtimeOf(slot),
        storageClass: storageClassName(table.storageClassOf(slot)),
      });
      count++;
      last = { key, versionId: showVersionId(table.versionIdOf(slot)) };
    }
  }
  if (result.isTruncated && last) {
    result.nextKeyMarker = last.key;
    if (last.versionId !== undefined) result.nextVersionIdMarker = last.versionId;
  }
  return result;
}
