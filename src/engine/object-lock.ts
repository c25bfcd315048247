// Object Lock (WORM): the rules that decide whether a version may be removed or have its retention
// changed, and the bucket's default retention. Pure functions of the stored lock fields and a time
// from the injected clock — never Date.now() — so tests can move time, and so the one place a clock
// matters is visible (docs/DURABILITY.md "Object Lock and the clock").
//
// - A version under legal hold, or whose retain-until time is in the future, is locked.
// - COMPLIANCE: nobody may remove it, shorten its retention or weaken its mode until the time passes.
// - GOVERNANCE: the same, unless the request bypasses governance retention.
// - Lengthening a retention (or GOVERNANCE → COMPLIANCE) is always allowed.
import { LockMode as LockModeCode } from '../format/constants.js';
import { SedimentError } from '../util/errors.js';
import { DAY_MS } from './lifecycle.js';

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A bucket's object lock configuration (BUCKET_CONFIG kind 3): its default retention, if any. */
export interface LockConfig {
  rule?: { mode: LockMode; days?: number; years?: number };
}

export interface Retention {
  mode: LockMode;
  retainUntilMs: number;
}

/** The lock fields of a version, as its COMMIT record holds them (§3.1). */
export interface LockFields {
  lockMode: number;
  retainUntilMs: number;
  legalHold: boolean;
}

export const RETENTION_DAYS_MAX = 36_500;
export const RETENTION_YEARS_MAX = 100;
/** A default-retention year (S3 counts 365 days). */
export const YEAR_MS = 365 * DAY_MS;

export function lockModeCode(mode: LockMode): number {
  return mode === 'COMPLIANCE' ? LockModeCode.COMPLIANCE : LockModeCode.GOVERNANCE;
}

export function lockModeName(code: number): LockMode | undefined {
  return code === LockModeCode.COMPLIANCE ? 'COMPLIANCE' : code === LockModeCode.GOVERNANCE ? 'GOVERNANCE' : undefined;
}

export function isLockMode(s: string): s is LockMode {
  return s === 'GOVERNANCE' || s === 'COMPLIANCE';
}

function invalid(message: string): never {
  throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', message);
}

export function validateLockConfig(c: LockConfig): void {
  const r = c.rule;
  if (!r) return;
  if (!isLockMode(r.mode)) invalid('the default retention mode must be GOVERNANCE or COMPLIANCE');
  if ((r.days === undefined) === (r.years === undefined)) invalid('the default retention must give either Days or Years');
  if (r.days !== undefined && !(Number.isInteger(r.days) && r.days >= 1 && r.days <= RETENTION_DAYS_MAX)) invalid(`Days must be an integer from 1 to ${RETENTION_DAYS_MAX}`);
  if (r.years !== undefined && !(Number.isInteger(r.years) && r.years >= 1 && r.years <= RETENTION_YEARS_MAX)) invalid(`Years must be an integer from 1 to ${RETENTION_YEARS_MAX}`);
}

/** The retention a new version gets from the bucket's default rule, as of `nowMs`. */
export function defaultRetention(c: LockConfig | undefined, nowMs: number): Retention | undefined {
  const r = c?.rule;
  if (!r) return undefined;
  return { mode: r.mode, retainUntilMs: nowMs + (r.days !== undefined ? r.days * DAY_MS : (r.years ?? 0) * YEAR_MS) };
}

/** Checks an explicit retention given with a new version or a PutObjectRetention. */
export function validateRetention(r: Retention, nowMs: number): void {
  if (!isLockMode(r.mode)) invalid('the retention mode must be GOVERNANCE or COMPLIANCE');
  if (!Number.isFinite(r.retainUntilMs)) invalid('the retain-until date is not a valid date');
  if (r.retainUntilMs <= nowMs) invalid('The retain until date must be in the future!');
}

/** Whether the version's retention is in force at `nowMs`. */
export function retentionActive(f: LockFields, nowMs: number): boolean {
  return f.lockMode !== LockModeCode.NONE && f.retainUntilMs > nowMs;
}

/**
 * Throws SEDIMENT_OBJECT_LOCKED unless the version may be removed for good now. `what` names it in the
 * message.
 */
export function checkRemovable(f: LockFields, nowMs: number, bypassGovernance: boolean, what: string): void {
  if (f.legalHold) throw new SedimentError('SEDIMENT_OBJECT_LOCKED', `${what} is under a legal hold`);
  if (!retentionActive(f, nowMs)) return;
  const until = new Date(f.retainUntilMs).toISOString();
  if (f.lockMode === LockModeCode.COMPLIANCE) throw new SedimentError('SEDIMENT_OBJECT_LOCKED', `${what} is under COMPLIANCE retention until ${until}`);
  if (!bypassGovernance) throw new SedimentError('SEDIMENT_OBJECT_LOCKED', `${what} is under GOVERNANCE retention until ${until} (bypass governance retention to remove it)`);
}

/** Whether any lock would stop removal without bypass (lifecycle, which never bypasses). */
export function isLocked(f: LockFields, nowMs: number): boolean {
  return f.legalHold || retentionActive(f, nowMs);
}

/** Throws SEDIMENT_OBJECT_LOCKED unless the retention may change from `old` to `next` (undefined: removed). */
export function checkRetentionChange(old: LockFields, next: Retention | undefined, nowMs: number, bypassGovernance: boolean, what: string): void {
  if (!retentionActive(old, nowMs)) return;
  const weaker =
    next === undefined ||
    next.retainUntilMs < old.retainUntilMs ||
    (old.lockMode === LockModeCode.COMPLIANCE && next.mode !== 'COMPLIANCE');
  if (!weaker) return;
  if (old.lockMode === LockModeCode.COMPLIANCE) {
    throw new SedimentError('SEDIMENT_OBJECT_LOCKED', `${what} is under COMPLIANCE retention until ${new Date(old.retainUntilMs).toISOString()}: it cannot be shortened or removed`);
  }
  if (!bypassGovernance) {
    throw new SedimentError('SEDIMENT_OBJECT_LOCKED', `${what} is under GOVERNANCE retention: shortening or removing it needs governance bypass`);
  }
}
