// Accepting the loss of cold data (docs/OPERATIONS.md "A lost cold store"): `verify --cold --forget-missing`.
// When cold segments are gone from the cold store for good (a deleted bucket prefix, a lost disk), the
// object versions whose chunks were in them cannot be read, `verify --cold` names them at every run, and a
// store that holds none of the directory's segments refuses migration (SEDIMENT_COLD_FOREIGN). This
// removes those versions, one durable DELETE record each (ColdAccess.dropVersion), so the index stops
// promising bytes that no longer exist.
//
// It acts only on what the store positively reports absent: the listing must succeed (an unreachable store,
// wrong credentials or a missing S3 bucket fail it, and nothing is dropped), and each segment missing from
// it must be reported absent again by stat. Damaged segments that are present are left alone (a copy may
// still be put back). A store that has no OWNER blob and none of the directory's segments may just be the
// wrong store (a forgotten --cold-s3 falls back to DATA/cold; an unmounted disk is an empty directory):
// then nothing is dropped unless the caller says the whole store was lost (`storeLost`).
//
// Object Lock does not keep a version whose bytes are lost: its retention promised that the data would not
// be removed, and that promise is already broken by the loss; keeping the version would make listings and
// HEAD claim an object that no GET can return, and keep `verify` failing and migration refused for as long
// as the retention lasts (COMPLIANCE: possibly years). Each such version is reported with its lock.
//
// Crash safety: nothing is deleted from the cold store; each drop is its own record, durable before it is
// reported (drops of different keys share fsyncs), so a kill midway leaves some versions dropped and the
// others as they were, and running it again finishes the job.
import { coldSegmentName, parseColdSegmentName } from '../format/cold-segment.js';
import type { ColdAccess } from '../engine/cold-access.js';
import { lockModeName } from '../engine/object-lock.js';
import type { ColdStore } from '../tier/cold-store.js';
import { SedimentError } from '../util/errors.js';
import { COLD_OWNER_BLOB, claimColdStore } from './cold-owner.js';

/** Keys whose lost versions are dropped at the same time (their DELETE records share fsyncs). */
const DROPS_IN_FLIGHT = 64;

export interface LostVersion {
  bucket: string;
  key: string;
  /** The version id, when it has one (not for an object of a bucket without versions, nor a null version). */
  versionId?: string;
  size: number;
  /** The cold segments of the version that the store does not have. */
  missingSegments: number[];
  /** The version's Object Lock, when it had one: it was removed all the same (its bytes are gone). */
  objectLock?: { mode?: string; retainUntilMs?: number; legalHold: boolean };
}

export interface ColdForgetReport {
  /** Cold segments the index references and the store positively does not have. */
  missingSegments: number[];
  /** Versions removed (with dryRun: that would be). */
  dropped: LostVersion[];
  /** Versions that changed while this ran (left as they are; run again). */
  changed: number;
  /** Cold versions whose record could not be read: their segments are unknown, so they were left. */
  unreadable: Array<{ bucket: string; key: string; reason: string }>;
}

export interface ColdForgetOptions {
  /** The store holds none of the directory's cold segments and has no OWNER blob, and that is because it was lost whole. */
  storeLost?: boolean;
  /** Report what would be dropped; change nothing. */
  dryRun?: boolean;
}

export async function forgetLostColdData(access: ColdAccess, store: ColdStore, opts: ColdForgetOptions = {}): Promise<ColdForgetReport> {
  const report: ColdForgetReport = { missingSegments: [], dropped: [], changed: 0, unreadable: [] };
  // Another directory's store is never judged: its segments are not ours to miss.
  await claimColdStore(access.fs, access.dir, store, 'check');
  const listed = await store.list();
  const present = new Set(listed.map((b) => parseColdSegmentName(b.name)).filter((id): id is number => id !== undefined));

  const versions: Array<LostVersion & { seq: number }> = [];
  const referenced = new Set<number>();
  for (const o of access.coldObjects()) {
    let m;
    try {
      m = await access.readManifest(o.bucket, o.key, o.seq);
    } catch (err) {
      report.unreadable.push({ bucket: o.bucket, key: o.key, reason: (err as Error).message });
      continue;
    }
    if (!m) {
      report.changed++;
      continue;
    }
    const segments = [...new Set(m.chunks.map((c) => c.segmentId))];
    for (const id of segments) referenced.add(id);
    const missing = segments.filter((id) => !present.has(id));
    if (missing.length === 0) continue;
    const lost: LostVersion & { seq: number } = { bucket: o.bucket, key: o.key, seq: o.seq, size: m.size, missingSegments: missing };
    if (m.versionId !== '') lost.versionId = m.versionId;
    if (m.lockMode !== 0 || m.legalHold) lost.objectLock = { mode: lockModeName(m.lockMode), retainUntilMs: m.lockMode !== 0 ? m.retainUntilMs : undefined, legalHold: m.legalHold };
    versions.push(lost);
  }

  // Absent from the listing; each confirmed absent by the store itself (an error here stops everything).
  for (const id of [...referenced].filter((x) => !present.has(x)).sort((x, y) => x - y)) {
    if ((await store.stat(coldSegmentName(id))) !== undefined) {
      throw new SedimentError('SEDIMENT_IO', `cold store ${store.description} lists no ${coldSegmentName(id)} but reports it present: nothing was dropped; run again once the store answers consistently`);
    }
    report.missingSegments.push(id);
  }
  if (report.missingSegments.length === 0) return report;

  const hasOwner = listed.some((b) => b.name === COLD_OWNER_BLOB);
  const holdsSome = [...referenced].some((id) => present.has(id));
  if (!hasOwner && !holdsSome && !opts.storeLost) {
    throw new SedimentError(
      'SEDIMENT_COLD_FOREIGN',
      `cold store ${store.description} has no ${COLD_OWNER_BLOB} and none of the ${referenced.size} cold segment(s) this data directory's objects are in: ` +
        'it may be the wrong store (a forgotten --cold-dir / --cold-s3, an unmounted disk) rather than a lost one, so nothing was dropped. ' +
        `If the cold store really was lost whole, add --cold-store-lost to drop the ${versions.length} object version(s) whose data was in it`,
    );
  }

  if (opts.dryRun) {
    report.dropped = versions.map(({ seq: _, ...lost }) => lost);
    return report;
  }
  // Keys up to DROPS_IN_FLIGHT at a time, so that their records share fsyncs (a lost store may have held
  // millions); the versions of one key one after another (a drop of the key in flight makes the next wait).
  const byKey = new Map<string, number[]>();
  versions.forEach((v, i) => {
    const name = `${v.bucket}/${v.key}`;
    const list = byKey.get(name);
    if (list) list.push(i);
    else byKey.set(name, [i]);
  });
  const dropped: boolean[] = [];
  const dropKey = async (indexes: number[]): Promise<void> => {
    for (const i of indexes) {
      const { seq, ...lost } = versions[i]!;
      if (!(await access.dropVersion(lost.bucket, lost.key, seq))) continue;
      dropped[i] = true;
      const lock = lost.objectLock ? ` (it was under Object Lock: ${lockText(lost.objectLock)})` : '';
      access.warn(`dropped ${lost.bucket}/${lost.key}${lost.versionId ? ` version ${lost.versionId}` : ''}: its cold segment(s) ${lost.missingSegments.map(coldSegmentName).join(', ')} are gone from ${store.description}${lock}`);
    }
  };
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  for (const indexes of byKey.values()) {
    if (failure !== undefined) break;
    const p: Promise<void> = dropKey(indexes)
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= DROPS_IN_FLIGHT) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
  // In the order they were found, whatever order they finished in.
  versions.forEach(({ seq: _, ...lost }, i) => {
    if (dropped[i]) report.dropped.push(lost);
    else report.changed++;
  });
  for (const id of report.missingSegments) access.forgetCold(id);
  return report;
}

export function lockText(l: NonNullable<LostVersion['objectLock']>): string {
  const parts: string[] = [];
  if (l.mode) parts.push(`${l.mode} retention until ${new Date(l.retainUntilMs ?? 0).toISOString()}`);
  if (l.legalHold) parts.push('legal hold');
  return parts.join(', ');
}
