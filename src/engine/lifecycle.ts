// Bucket lifecycle rules (the model behind S3's PutBucketLifecycleConfiguration): validation, and the
// decisions the lifecycle pass makes for each object and multipart upload. Pure functions of the rules,
// the object and a time, so tests can ask "what happens on day N" without waiting.
//
// Time rule (S3's): an action "after N days" is due at the object's mtime + N days rounded up to the next
// midnight UTC; a Date action is due at that midnight for every object. With a test day length (`dayMs`
// other than 86,400,000: a lifecycle "day" of a few seconds, like Ceph RGW's debug interval) there is no
// rounding: due = mtime + N × dayMs.
import { SedimentError } from '../util/errors.js';

export const DAY_MS = 86_400_000;
export const LIFECYCLE_RULES_MAX = 1000;
/** Storage classes a Transition may name; all of them mean "the cold tier" in sediment. */
export const COLD_STORAGE_CLASSES = ['STANDARD_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'] as const;
export type ColdStorageClass = (typeof COLD_STORAGE_CLASSES)[number];

export interface LifecycleFilter {
  prefix?: string;
  tags?: Array<[string, string]>;
  /** Objects strictly larger than this many bytes. */
  sizeGreaterThan?: number;
  /** Objects strictly smaller than this many bytes. */
  sizeLessThan?: number;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: LifecycleFilter;
  expiration?: { days?: number; dateMs?: number; expiredObjectDeleteMarker?: boolean };
  transitions?: Array<{ days?: number; dateMs?: number; storageClass: ColdStorageClass }>;
  noncurrentVersionExpiration?: { noncurrentDays: number; newerNoncurrentVersions?: number };
  noncurrentVersionTransitions?: Array<{ noncurrentDays: number; storageClass: ColdStorageClass }>;
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
  /**
   * The rule was written in S3's legacy form, a rule-level `<Prefix>` instead of a `<Filter>`, and is shown
   * back in that form (clients of the old GetBucketLifecycle API read only that). Its filter holds at most a
   * prefix. Changes nothing else.
   */
  legacyPrefix?: boolean;
}

export interface LifecycleConfig {
  rules: LifecycleRule[];
}

function invalid(message: string): never {
  throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', message);
}

const isMidnightUtc = (ms: number): boolean => Number.isFinite(ms) && ms % DAY_MS === 0;
const positiveInt = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;

/** `zeroDays`: Days 0 is valid too (S3: a Transition to GLACIER_IR, GLACIER or DEEP_ARCHIVE; due the next midnight UTC). */
function checkDaysOrDate(what: string, a: { days?: number; dateMs?: number }, zeroDays = false): void {
  const has = (a.days !== undefined ? 1 : 0) + (a.dateMs !== undefined ? 1 : 0);
  if (has !== 1) invalid(`${what} needs exactly one of Days or Date`);
  if (a.days !== undefined && !(positiveInt(a.days) || (zeroDays && a.days === 0))) {
    invalid(`'Days' in the ${what} action must be a ${zeroDays ? 'non-negative' : 'positive'} integer`);
  }
  if (a.dateMs !== undefined && !isMidnightUtc(a.dateMs)) invalid(`'Date' in the ${what} action must be midnight UTC (ISO 8601, e.g. 2027-01-01T00:00:00Z)`);
}

// ---- shape: the engine API is public and the CLI accepts JSON, so a configuration may be any value.
// Every field is checked for its type before its meaning; a field the model does not know is refused
// (a misspelt "expiration" must not silently leave a rule without its action). A field that is present
// but undefined counts as absent, as JSON.stringify (the stored form) drops it.

/** A type name for messages: "the string \"false\"", "null", "an array". */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks that `v` is an object whose defined fields are all in `known`; `where` names it in messages. */
function checkObject(v: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (!isRecord(v)) invalid(`${where} must be an object, not ${describeValue(v)}`);
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined && !known.includes(k)) invalid(`${where} has an unknown field "${k}" (known: ${known.join(', ')})`);
  }
  return v;
}

function checkField(o: Record<string, unknown>, field: string, where: string, type: 'string' | 'number' | 'boolean', required = false): void {
  const v = o[field];
  if (v === undefined) {
    if (required) invalid(`${where} needs "${field}" (a ${type})`);
    return;
  }
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) {
    invalid(`"${field}" in ${where} must be a ${type === 'boolean' ? 'boolean (true or false)' : type}, not ${describeValue(v)}`);
  }
}

function checkArray(o: Record<string, unknown>, field: string, where: string, each: (item: unknown, at: string) => void): void {
  const v = o[field];
  if (v === undefined) return;
  if (!Array.isArray(v)) invalid(`"${field}" in ${where} must be an array, not ${describeValue(v)}`);
  v.forEach((item, i) => each(item, `${field}[${i}] of ${where}`));
}

function checkRuleShape(r: unknown, index: number): void {
  const id = isRecord(r) && typeof r.id === 'string' ? r.id : undefined;
  const where = id !== undefined ? `rule "${id}"` : `rule ${index + 1}`;
  const rule = checkObject(r, where, ['id', 'enabled', 'filter', 'expiration', 'transitions', 'noncurrentVersionExpiration', 'noncurrentVersionTransitions', 'abortIncompleteMultipartUpload', 'legacyPrefix']);
  checkField(rule, 'id', where, 'string', true);
  checkField(rule, 'enabled', where, 'boolean', true);
  checkField(rule, 'legacyPrefix', where, 'boolean');
  if (rule.filter === undefined) invalid(`${where} needs "filter" (an object; {} selects every object)`);
  const filter = checkObject(rule.filter, `the filter of ${where}`, ['prefix', 'tags', 'sizeGreaterThan', 'sizeLessThan']);
  checkField(filter, 'prefix', `the filter of ${where}`, 'string');
  checkField(filter, 'sizeGreaterThan', `the filter of ${where}`, 'number');
  checkField(filter, 'sizeLessThan', `the filter of ${where}`, 'number');
  checkArray(filter, 'tags', `the filter of ${where}`, (t, at) => {
    if (!Array.isArray(t) || t.length !== 2 || typeof t[0] !== 'string' || typeof t[1] !== 'string') invalid(`${at} must be a [key, value] pair of strings`);
  });
  if (rule.expiration !== undefined) {
    const e = checkObject(rule.expiration, `the expiration of ${where}`, ['days', 'dateMs', 'expiredObjectDeleteMarker']);
    checkField(e, 'days', `the expiration of ${where}`, 'number');
    checkField(e, 'dateMs', `the expiration of ${where}`, 'number');
    checkField(e, 'expiredObjectDeleteMarker', `the expiration of ${where}`, 'boolean');
  }
  checkArray(rule, 'transitions', where, (t, at) => {
    const o = checkObject(t, at, ['days', 'dateMs', 'storageClass']);
    checkField(o, 'days', at, 'number');
    checkField(o, 'dateMs', at, 'number');
    checkField(o, 'storageClass', at, 'string', true);
  });
  if (rule.noncurrentVersionExpiration !== undefined) {
    const at = `the noncurrentVersionExpiration of ${where}`;
    const o = checkObject(rule.noncurrentVersionExpiration, at, ['noncurrentDays', 'newerNoncurrentVersions']);
    checkField(o, 'noncurrentDays', at, 'number', true);
    checkField(o, 'newerNoncurrentVersions', at, 'number');
  }
  checkArray(rule, 'noncurrentVersionTransitions', where, (t, at) => {
    const o = checkObject(t, at, ['noncurrentDays', 'storageClass']);
    checkField(o, 'noncurrentDays', at, 'number', true);
    checkField(o, 'storageClass', at, 'string', true);
  });
  if (rule.abortIncompleteMultipartUpload !== undefined) {
    const at = `the abortIncompleteMultipartUpload of ${where}`;
    checkField(checkObject(rule.abortIncompleteMultipartUpload, at, ['daysAfterInitiation']), 'daysAfterInitiation', at, 'number', true);
  }
}

/** Throws SEDIMENT_INVALID_ARGUMENT unless `config` has the LifecycleConfig shape, every field of its type. */
function checkLifecycleShape(config: unknown): asserts config is LifecycleConfig {
  const c = checkObject(config, 'a lifecycle configuration', ['rules']);
  if (!Array.isArray(c.rules)) invalid(`a lifecycle configuration is {"rules": [...]}; "rules" is ${describeValue(c.rules)}`);
  if (c.rules.length > LIFECYCLE_RULES_MAX) invalid(`at most ${LIFECYCLE_RULES_MAX} lifecycle rules`);
  c.rules.forEach(checkRuleShape);
}

/**
 * Throws SEDIMENT_INVALID_ARGUMENT naming the first problem (S3 answers such configurations with
 * InvalidArgument): first the shape and every field's type (any value is accepted as input), then the
 * rules' meaning.
 */
export function validateLifecycle(config: unknown): asserts config is LifecycleConfig {
  checkLifecycleShape(config);
  const rules = config.rules;
  if (rules.length === 0) invalid('a lifecycle configuration needs at least one rule');
  if (rules.length > LIFECYCLE_RULES_MAX) invalid(`at most ${LIFECYCLE_RULES_MAX} lifecycle rules`);
  const ids = new Set<string>();
  for (const r of rules) {
    if (r.id.length > 255) invalid('a rule ID is at most 255 characters');
    if (ids.has(r.id)) invalid(`rule ID "${r.id}" is used twice; rule IDs must be unique`);
    ids.add(r.id);
    const f = r.filter;
    if (f.prefix !== undefined && Buffer.byteLength(f.prefix) > 1024) invalid('a rule prefix is at most 1024 bytes');
    if (r.legacyPrefix === true && (f.tags !== undefined || f.sizeGreaterThan !== undefined || f.sizeLessThan !== undefined)) {
      invalid(`rule "${r.id}" has the legacy prefix form, whose filter holds only a prefix`);
    }
    for (const [k, v] of f.tags ?? []) {
      if (k.length === 0 || k.length > 128 || v.length > 256) invalid('a filter tag needs a key of 1 to 128 characters and a value of at most 256');
    }
    if (new Set((f.tags ?? []).map(([k]) => k)).size !== (f.tags ?? []).length) invalid('a filter names the same tag key twice');
    for (const [name, n] of [['ObjectSizeGreaterThan', f.sizeGreaterThan], ['ObjectSizeLessThan', f.sizeLessThan]] as const) {
      if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0)) invalid(`${name} must be a non-negative integer`);
    }
    if (f.sizeGreaterThan !== undefined && f.sizeLessThan !== undefined && f.sizeGreaterThan >= f.sizeLessThan) {
      invalid('ObjectSizeGreaterThan must be less than ObjectSizeLessThan');
    }
    const actions = [r.expiration, r.transitions?.length, r.noncurrentVersionExpiration, r.noncurrentVersionTransitions?.length, r.abortIncompleteMultipartUpload].filter(Boolean);
    if (actions.length === 0) invalid(`rule "${r.id}" has no action; at least one action needs to be specified in a rule`);
    const e = r.expiration;
    if (e) {
      if (e.expiredObjectDeleteMarker !== undefined) {
        if (e.days !== undefined || e.dateMs !== undefined) invalid('ExpiredObjectDeleteMarker cannot be combined with Days or Date');
        if (f.tags?.length) invalid('ExpiredObjectDeleteMarker cannot be used with a tag filter');
      } else {
        checkDaysOrDate('Expiration', e);
      }
    }
    const byClass = new Set<string>();
    for (const t of r.transitions ?? []) {
      if (!(COLD_STORAGE_CLASSES as readonly string[]).includes(t.storageClass)) invalid(`transition storage class must be one of ${COLD_STORAGE_CLASSES.join(', ')}`);
      checkDaysOrDate('Transition', t, t.storageClass !== 'STANDARD_IA');
      if (byClass.has(t.storageClass)) invalid(`rule "${r.id}" has two transitions to ${t.storageClass}`);
      byClass.add(t.storageClass);
      if (e?.days !== undefined && t.days !== undefined && t.days >= e.days) {
        invalid(`'Days' in the Expiration action of rule "${r.id}" must be greater than 'Days' in its Transition action`);
      }
      if (e?.dateMs !== undefined && t.dateMs !== undefined && t.dateMs >= e.dateMs) {
        invalid(`'Date' in the Expiration action of rule "${r.id}" must be later than 'Date' in its Transition action`);
      }
    }
    const nve = r.noncurrentVersionExpiration;
    if (nve) {
      if (!positiveInt(nve.noncurrentDays)) invalid("'NoncurrentDays' must be a positive integer");
      if (nve.newerNoncurrentVersions !== undefined && !(positiveInt(nve.newerNoncurrentVersions) && nve.newerNoncurrentVersions <= 100)) {
        invalid("'NewerNoncurrentVersions' must be an integer from 1 to 100");
      }
    }
    for (const t of r.noncurrentVersionTransitions ?? []) {
      if (!positiveInt(t.noncurrentDays)) invalid("'NoncurrentDays' must be a positive integer");
      if (!(COLD_STORAGE_CLASSES as readonly string[]).includes(t.storageClass)) invalid(`transition storage class must be one of ${COLD_STORAGE_CLASSES.join(', ')}`);
    }
    const abort = r.abortIncompleteMultipartUpload;
    if (abort) {
      if (!positiveInt(abort.daysAfterInitiation)) invalid("'DaysAfterInitiation' must be a positive integer");
      if (f.tags?.length || f.sizeGreaterThan !== undefined || f.sizeLessThan !== undefined) {
        invalid('AbortIncompleteMultipartUpload cannot be used with a tag or object size filter');
      }
    }
  }
}

/** What the rules see of an object. `tags` is only read when a rule filters on tags. */
export interface LifecycleSubject {
  key: string;
  size: number;
  mtimeMs: number;
  tags?: () => Promise<Array<[string, string]>> | Array<[string, string]>;
}

export function needsTags(rule: LifecycleRule): boolean {
  return (rule.filter.tags?.length ?? 0) > 0;
}

/** Does the rule's filter select this object? `tags` must be given when needsTags(rule). */
export function filterMatches(f: LifecycleFilter, key: string, size: number, tags?: Array<[string, string]>): boolean {
  if (f.prefix !== undefined && !key.startsWith(f.prefix)) return false;
  if (f.sizeGreaterThan !== undefined && !(size > f.sizeGreaterThan)) return false;
  if (f.sizeLessThan !== undefined && !(size < f.sizeLessThan)) return false;
  for (const [k, v] of f.tags ?? []) {
    if (!tags?.some(([tk, tv]) => tk === k && tv === v)) return false;
  }
  return true;
}

/** When an action "after `days` days" (or on `dateMs`) is due for something created at `createdMs`. */
export function dueAt(a: { days?: number; dateMs?: number }, createdMs: number, dayMs: number): number {
  if (a.dateMs !== undefined) return a.dateMs;
  const at = createdMs + (a.days ?? 0) * dayMs;
  return dayMs === DAY_MS ? Math.ceil(at / DAY_MS) * DAY_MS : at;
}

/** Is the (current) object due for expiration under this enabled rule? Filter matching is separate. */
export function expirationDue(rule: LifecycleRule, mtimeMs: number, nowMs: number, dayMs: number): boolean {
  const e = rule.expiration;
  if (!rule.enabled || !e || (e.days === undefined && e.dateMs === undefined)) return false;
  return nowMs >= dueAt(e, mtimeMs, dayMs);
}

/** The first transition of this enabled rule that is due, if any (the cold tier takes them all alike). */
export function transitionDue(rule: LifecycleRule, mtimeMs: number, nowMs: number, dayMs: number): ColdStorageClass | undefined {
  if (!rule.enabled) return undefined;
  for (const t of rule.transitions ?? []) if (nowMs >= dueAt(t, mtimeMs, dayMs)) return t.storageClass;
  return undefined;
}

/** NoncurrentVersionTransition: is a version noncurrent since `sinceMs` due for the cold tier under this rule? */
export function noncurrentTransitionDue(rule: LifecycleRule, sinceMs: number, nowMs: number, dayMs: number): boolean {
  if (!rule.enabled) return false;
  return (rule.noncurrentVersionTransitions ?? []).some((t) => nowMs >= sinceMs + t.noncurrentDays * dayMs);
}

/** NoncurrentVersionExpiration by age alone (the newer-versions count aside): expiry, not migration, handles it. */
export function noncurrentExpirationDue(rule: LifecycleRule, sinceMs: number, nowMs: number, dayMs: number): boolean {
  const nve = rule.noncurrentVersionExpiration;
  return rule.enabled && nve !== undefined && nve.newerNoncurrentVersions === undefined && nowMs >= sinceMs + nve.noncurrentDays * dayMs;
}

/** Is a multipart upload initiated at `initiatedMs` due to be aborted under this enabled rule? */
export function abortDue(rule: LifecycleRule, key: string, initiatedMs: number, nowMs: number, dayMs: number): boolean {
  const a = rule.abortIncompleteMultipartUpload;
  if (!rule.enabled || !a) return false;
  if (!filterMatches({ prefix: rule.filter.prefix }, key, 0)) return false;
  return nowMs >= dueAt({ days: a.daysAfterInitiation }, initiatedMs, dayMs);
}
