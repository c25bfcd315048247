// Which hot objects are due for the cold tier as of a given time (docs/OPERATIONS.md "Cold tier"):
// - a lifecycle rule of the bucket selects the object and one of its Transitions (Days or Date, any cold
//   StorageClass) is due, and no Expiration of a matching rule is due (expiry deletes it instead);
// - or the bucket has access-based tiering (N days) and the object was not read for N days (its upload
//   counts as a read; last reads are tracked in memory at minute granularity, saved with checkpoints);
// - a noncurrent version (bucket with versions): a NoncurrentVersionTransition of a matching rule is due,
//   counted from when it became noncurrent, and no NoncurrentVersionExpiration by age is (or one is, but
//   Object Lock keeps the version from being expired).
import { DAY_MS, expirationDue, filterMatches, needsTags, noncurrentExpirationDue, noncurrentTransitionDue, transitionDue } from '../engine/lifecycle.js';
import type { ColdAccess, ColdBucketPolicy, ColdCandidate } from '../engine/cold-access.js';
import { StorageClass } from '../format/constants.js';
import { isLocked } from '../engine/object-lock.js';

export interface DueObject extends ColdCandidate {
  reason: 'transition' | 'tiering' | 'noncurrent-transition';
}

/**
 * Objects examined between two turns of the event loop: a bucket of a million log objects would otherwise
 * hold the loop (and every request of `sediment serve`) for about a second per pass.
 */
export const PLAN_SLICE_OBJECTS = 1024;

/**
 * Can anything of a bucket with this policy be due for the cold tier? Not without an enabled Transition or
 * NoncurrentVersionTransition or access-based tiering: a log-retention bucket whose rules only expire is
 * then not walked at all, pass after pass.
 */
export function policyMovesAny(policy: ColdBucketPolicy): boolean {
  if (policy.tieringDays !== undefined) return true;
  return (policy.lifecycle?.rules ?? []).some((r) => r.enabled && ((r.transitions?.length ?? 0) > 0 || (r.noncurrentVersionTransitions?.length ?? 0) > 0));
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function dueForCold(access: ColdAccess, asOfMs: number, dayMs = DAY_MS): Promise<DueObject[]> {
  const out: DueObject[] = [];
  for (const policy of access.policies()) {
    if (!policyMovesAny(policy)) continue;
    const rules = (policy.lifecycle?.rules ?? []).filter((r) => r.enabled);
    const tagRules = rules.some(needsTags);
    let examined = 0;
    for (const o of access.scanObjects(policy.name)) {
      if (++examined % PLAN_SLICE_OBJECTS === 0) await nextTurn();
      if (o.storageClass !== StorageClass.STANDARD) continue;
      let tags: Array<[string, string]> | undefined;
      if (tagRules) {
        const m = await access.readManifest(o.bucket, o.key, o.seq).catch(() => undefined);
        if (!m) continue; // changed or unreadable: judged on the next pass
        tags = m.tags;
      }
      const matching = rules.filter((r) => filterMatches(r.filter, o.key, o.size, tags));
      if (o.noncurrentSinceMs !== undefined) {
        // A noncurrent version: only NoncurrentVersionTransition moves it (not Transition, not tiering),
        // unless NoncurrentVersionExpiration is about to remove it anyway — which it is not while Object
        // Lock holds it (retention, legal hold): such a version (a backup kept a year, expired after 30
        // days noncurrent) would otherwise stay hot for as long as it is locked.
        const since = o.noncurrentSinceMs;
        if (matching.some((r) => noncurrentExpirationDue(r, since, asOfMs, dayMs))) {
          const m = await access.readManifest(o.bucket, o.key, o.seq).catch(() => undefined);
          if (!m || !isLocked(m, asOfMs)) continue;
        }
        if (matching.some((r) => noncurrentTransitionDue(r, since, asOfMs, dayMs))) out.push({ ...o, reason: 'noncurrent-transition' });
        continue;
      }
      if (matching.some((r) => expirationDue(r, o.mtimeMs, asOfMs, dayMs))) continue;
      if (matching.some((r) => transitionDue(r, o.mtimeMs, asOfMs, dayMs) !== undefined)) {
        out.push({ ...o, reason: 'transition' });
      } else if (policy.tieringDays !== undefined && asOfMs - Math.max(o.mtimeMs, o.lastAccessMs ?? 0) >= policy.tieringDays * dayMs) {
        out.push({ ...o, reason: 'tiering' });
      }
    }
  }
  return out;
}
