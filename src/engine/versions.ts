// Versions of a key (S3 versioning): how COMMIT and DELETE records change a bucket's index once a
// bucket has a versioning state, and how a version is found. Used on the write path and on replay, so
// every function here is synchronous and idempotent under replay (a record whose effect the index
// already holds changes nothing).
//
// A key's versions, newest first, are: its current object in the bucket's KeyIndex (if any), then its
// VersionHistory. Rules (docs/FORMAT.md §3.1, §3.2):
// - a COMMIT (not IN_PLACE) is a new newest version; an existing version with the same versionId is
//   replaced (that is how the null version "" is overwritten: always in unversioned buckets, and by
//   PUT or DELETE in suspended ones);
// - a COMMIT with IN_PLACE rewrites that version's metadata where it stands (tags, retention, hold);
// - a COMMIT with DELETE_MARKER is a delete marker: the key has no current object while it is newest;
// - a DELETE removes the version it names for good; if that was the current object, the next older
//   version becomes current unless it is a delete marker.
import { FormatError } from '../format/binary.js';
import { BucketConfigKind, CommitFlag } from '../format/constants.js';
import type { BucketConfigRecord, ObjectManifest } from '../format/records.js';
import { SedimentError } from '../util/errors.js';
import { compareUtf8 } from './utf8-order.js';
import type { KeyIndex } from './key-index.js';
import type { ObjectEntry, ObjectTable } from './object-table.js';
import type { LockConfig } from './object-lock.js';
import { VersionHistory } from './version-history.js';

/** MD5 of zero bytes: a delete marker's digest. */
const EMPTY_MD5 = Buffer.from('d41d8cd98f00b204e9800998ecf8427e', 'hex');

export type VersioningStatus = 'Unversioned' | 'Enabled' | 'Suspended';

/** Per-bucket versioning state (BUCKET_CONFIG kinds 2 and 3, BUCKET_CREATE flag bit 0). */
export class BucketVersioning {
  readonly history = new VersionHistory();
  status: VersioningStatus = 'Unversioned';
  /** The BUCKET_CONFIG kind 2 record in force (for checkpoints). */
  statusRecord?: { seq: number; payload: Buffer };
  /** Set at creation (BUCKET_CREATE flag): versioning is on and cannot be suspended. */
  objectLockEnabled = false;
  /** Default retention (BUCKET_CONFIG kind 3) with its record. */
  lock?: { seq: number; payload: Buffer; config: LockConfig };

  /** Versions may exist: the bucket had a versioning state other than Unversioned at some point. */
  get versioned(): boolean {
    return this.status !== 'Unversioned' || this.objectLockEnabled || this.history.size > 0;
  }
}

export interface VersionedBucket {
  name: string;
  keys: KeyIndex;
  versions: BucketVersioning;
}

/** Version ids are the creation seq, zero-padded: unique in the data directory and sortable. */
export const VERSION_ID_DIGITS = 16;

export function versionIdFor(seq: number): string {
  return String(seq).padStart(VERSION_ID_DIGITS, '0');
}

/** A client's version id → the stored one ("null" is the null version, stored as ""). */
export function parseVersionId(s: string): string {
  if (s === 'null') return '';
  if (s.length !== VERSION_ID_DIGITS || !/^\d+$/.test(s)) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'Invalid version id specified');
  return s;
}

/** How a stored version id is shown to clients. */
export function showVersionId(v: string): string {
  return v === '' ? 'null' : v;
}

export function isMarker(table: ObjectTable, slot: number): boolean {
  return (table.flagsOf(slot) & CommitFlag.DELETE_MARKER) !== 0;
}

/** The key's versions, newest first. */
export function versionsOf(b: VersionedBucket, key: string): number[] {
  const cur = b.keys.get(key);
  const older = b.versions.history.get(key);
  return cur >= 0 ? [cur, ...older] : [...older];
}

/** The newest version of the key (its current object or a delete marker), or -1. */
export function newestVersion(b: VersionedBucket, key: string): number {
  const cur = b.keys.get(key);
  if (cur >= 0) return cur;
  const older = b.versions.history.get(key);
  return older.length > 0 ? older[0]! : -1;
}

export function findVersion(table: ObjectTable, b: VersionedBucket, key: string, versionId: string): number {
  const cur = b.keys.get(key);
  if (cur >= 0 && table.versionIdOf(cur) === versionId) return cur;
  for (const slot of b.versions.history.get(key)) if (table.versionIdOf(slot) === versionId) return slot;
  return -1;
}

/** Applies a new newest version; returns the change in logical bytes (0 when the index already had it). */
export function applyNewVersion(table: ObjectTable, b: VersionedBucket, key: string, entry: ObjectEntry): number {
  const cur = b.keys.get(key);
  const older = b.versions.history.get(key);
  if (cur >= 0 && table.getSeq(cur) >= entry.seq) return 0;
  for (const s of older) if (table.getSeq(s) >= entry.seq) return 0;
  let delta = entry.size;
  const keep: number[] = [];
  let current = cur;
  if (cur >= 0 && table.versionIdOf(cur) === entry.versionId) {
    delta -= table.sizeOf(cur);
    table.release(cur);
    current = -1;
  }
  for (const s of older) {
    if (table.versionIdOf(s) === entry.versionId) {
      delta -= table.sizeOf(s);
      table.release(s);
    } else keep.push(s);
  }
  if (current >= 0) keep.unshift(current);
  const slot = table.alloc(entry);
  if (entry.flags & CommitFlag.DELETE_MARKER) {
    if (cur >= 0) b.keys.delete(key);
    keep.unshift(slot);
  } else {
    b.keys.set(key, slot);
  }
  b.versions.history.set(key, keep);
  return delta;
}

/** After a removal: a key whose newest remaining version is an object has it as current object. */
function promote(table: ObjectTable, b: VersionedBucket, key: string): void {
  if (b.keys.get(key) >= 0) return;
  const older = b.versions.history.get(key);
  const next = older[0];
  if (next !== undefined && !isMarker(table, next)) {
    b.keys.set(key, next);
    b.versions.history.set(key, older.slice(1));
  }
}

/** Rewrites an existing version's entry where it stands; returns the change in logical bytes. */
export function applyInPlace(table: ObjectTable, b: VersionedBucket, key: string, entry: ObjectEntry): number {
  const slot = findVersion(table, b, key, entry.versionId);
  if (slot < 0 || table.getSeq(slot) >= entry.seq) return 0;
  const delta = entry.size - table.sizeOf(slot);
  // The entry keeps what it is (object or marker): only its metadata record moved.
  table.write(slot, { ...entry, flags: (entry.flags & ~CommitFlag.IN_PLACE) | (table.flagsOf(slot) & CommitFlag.DELETE_MARKER) });
  return delta;
}

/** Removes the named version for good (a DELETE older than it changes nothing); returns the change in logical bytes. */
export function removeVersion(table: ObjectTable, b: VersionedBucket, key: string, versionId: string, seq: number): number {
  const slot = findVersion(table, b, key, versionId);
  if (slot < 0 || table.getSeq(slot) >= seq) return 0;
  const delta = -table.sizeOf(slot);
  if (b.keys.get(key) === slot) b.keys.delete(key);
  else b.versions.history.set(key, b.versions.history.get(key).filter((s) => s !== slot));
  promote(table, b, key);
  table.release(slot);
  return delta;
}

/** Applies a BUCKET_CONFIG record of kind 2 (versioning) or 3 (object lock). Throws FormatError if undecodable. */
export function applyVersioningConfig(v: BucketVersioning, c: BucketConfigRecord, payload: Buffer): void {
  let value: unknown;
  try {
    value = c.value.length === 0 ? undefined : JSON.parse(c.value.toString('utf8'));
  } catch (err) {
    throw new FormatError(`bucket configuration kind ${c.kind} of bucket ${c.bucket} is not JSON: ${(err as Error).message}`);
  }
  if (c.kind === BucketConfigKind.VERSIONING) {
    if (v.statusRecord && v.statusRecord.seq >= c.seq) return;
    const status = (value as { status?: unknown } | undefined)?.status;
    if (status !== 'Enabled' && status !== 'Suspended') throw new FormatError(`bucket ${c.bucket}: unknown versioning status ${String(status)}`);
    v.status = status;
    v.statusRecord = { seq: c.seq, payload };
    return;
  }
  if (v.lock && v.lock.seq >= c.seq) return;
  v.lock = value === undefined ? undefined : { seq: c.seq, payload, config: value as LockConfig };
}

/** BUCKET_CONFIG payloads of kinds 2 and 3 in force (checkpoints keep them). */
export function versioningConfigPayloads(v: BucketVersioning): Buffer[] {
  const out: Buffer[] = [];
  if (v.statusRecord) out.push(v.statusRecord.payload);
  if (v.lock) out.push(v.lock.payload);
  return out;
}

/** Every version of the bucket as checkpoint rows: keys in UTF-8 order, each key's versions newest first. */
export function versionRows(b: VersionedBucket): Array<[string, number]> {
  return [...mergeVersionRows(b.keys.scan(), b.versions.history.scan())];
}

/**
 * Every (key, slot) of a versioned bucket in UTF-8 key order, a key's versions newest first: its current
 * object (from `current`, the bucket's keys) then its older versions and delete markers (from `older`,
 * the history), merged lazily.
 */
export function* mergeVersionRows(current: Iterator<[string, number]>, older: Iterator<[string, readonly number[]]>): Generator<[string, number]> {
  let c = current.next();
  let o = older.next();
  while (!c.done || !o.done) {
    const cmp = c.done ? 1 : o.done ? -1 : compareUtf8(c.value[0], o.value[0]);
    const key = cmp <= 0 ? (c.value as [string, number])[0] : (o.value as [string, readonly number[]])[0];
    if (cmp <= 0) {
      yield [key, (c.value as [string, number])[1]];
      c = current.next();
    }
    if (cmp >= 0) {
      for (const slot of (o.value as [string, readonly number[]])[1]) yield [key, slot];
      o = older.next();
    }
  }
}

/** A delete marker's COMMIT: no bytes, no metadata, flag DELETE_MARKER (§3.1). */
export function markerManifest(seq: number, bucket: string, key: string, versionId: string, mtimeMs: number): ObjectManifest {
  return {
    seq, bucket, key, versionId, uploadId: 0, mtimeMs, size: 0, md5: EMPTY_MD5, partCount: 0, storageClass: 0,
    flags: CommitFlag.DELETE_MARKER, contentType: '', headers: [], userMetadata: [], checksums: [],
    lockMode: 0, retainUntilMs: 0, legalHold: false, tags: [], chunks: [], parts: [],
  };
}
