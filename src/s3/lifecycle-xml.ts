// S3's LifecycleConfiguration XML <-> the engine's LifecycleConfig. Parsing is strict about structure
// (MalformedXML for unknown or misplaced elements, bad numbers, bad Status) and leaves the rules' meaning
// to the engine's validateLifecycle (InvalidArgument). Shared by the S3 adapter and the CLI.
import { randomUUID } from 'node:crypto';
import { isoDateMs } from '../util/iso-date.js';
import type { ColdStorageClass, LifecycleConfig, LifecycleFilter, LifecycleRule } from '../engine/lifecycle.js';
import { S3Error } from './s3-error.js';
import { element, elementWithAttrs, parseXml, renderXmlDocument, S3_XMLNS, type XmlChild, type XmlElement, type XmlNode } from './xml.js';
import { localName } from './xml-parse.js';

export const LIFECYCLE_XML_BYTES_MAX = 1024 * 1024;

function malformed(detail: string): never {
  throw new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${detail}`);
}

function children(el: XmlElement, allowed: readonly string[], where: string): Map<string, XmlElement[]> {
  const out = new Map<string, XmlElement[]>();
  for (const c of el.children) {
    const name = localName(c.name);
    if (!allowed.includes(name)) malformed(`unexpected <${name}> in <${where}>`);
    out.set(name, [...(out.get(name) ?? []), c]);
  }
  return out;
}

function one(m: Map<string, XmlElement[]>, name: string, where: string): XmlElement | undefined {
  const list = m.get(name);
  if (list && list.length > 1) malformed(`<${name}> appears more than once in <${where}>`);
  return list?.[0];
}

function text(el: XmlElement | undefined): string | undefined {
  return el === undefined ? undefined : el.text.trim();
}

function integer(el: XmlElement | undefined, name: string): number | undefined {
  const t = text(el);
  if (t === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(t)) malformed(`<${name}> must be an integer`);
  return Number(t);
}

function date(el: XmlElement | undefined): number | undefined {
  const t = text(el);
  if (t === undefined) return undefined;
  // ISO 8601, a day the calendar has (2027-02-31 is refused, not read as March 3); a date-time without a
  // zone is UTC here, as S3 reads it. S3 requires midnight UTC, which the engine checks (InvalidArgument).
  const ms = isoDateMs(/T[\d:.]+$/.test(t) ? `${t}Z` : t);
  if (ms === undefined) malformed('<Date> must be an ISO 8601 date that exists');
  return ms;
}

function tag(el: XmlElement): [string, string] {
  const m = children(el, ['Key', 'Value'], 'Tag');
  const k = text(one(m, 'Key', 'Tag'));
  if (k === undefined) malformed('<Tag> needs a <Key>');
  return [el.children.find((c) => localName(c.name) === 'Key')!.text, one(m, 'Value', 'Tag')?.text ?? ''];
}

function filterOf(el: XmlElement): LifecycleFilter {
  const m = children(el, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'], 'Filter');
  if ([...m.values()].reduce((n, l) => n + l.length, 0) > 1) malformed('<Filter> holds at most one condition; use <And> to combine them');
  const and = one(m, 'And', 'Filter');
  if (and) {
    const a = children(and, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'], 'And');
    return {
      prefix: one(a, 'Prefix', 'And')?.text,
      tags: (a.get('Tag') ?? []).map(tag),
      sizeGreaterThan: integer(one(a, 'ObjectSizeGreaterThan', 'And'), 'ObjectSizeGreaterThan'),
      sizeLessThan: integer(one(a, 'ObjectSizeLessThan', 'And'), 'ObjectSizeLessThan'),
    };
  }
  const t = one(m, 'Tag', 'Filter');
  return {
    prefix: one(m, 'Prefix', 'Filter')?.text,
    tags: t ? [tag(t)] : undefined,
    sizeGreaterThan: integer(one(m, 'ObjectSizeGreaterThan', 'Filter'), 'ObjectSizeGreaterThan'),
    sizeLessThan: integer(one(m, 'ObjectSizeLessThan', 'Filter'), 'ObjectSizeLessThan'),
  };
}

function storageClass(el: XmlElement | undefined): ColdStorageClass {
  const t = text(el);
  if (t === undefined) malformed('a transition needs a <StorageClass>');
  return t as ColdStorageClass; // the engine checks it against the classes it supports
}

function ruleOf(el: XmlElement): LifecycleRule {
  const m = children(el, ['ID', 'Status', 'Filter', 'Prefix', 'Expiration', 'Transition', 'NoncurrentVersionExpiration', 'NoncurrentVersionTransition', 'AbortIncompleteMultipartUpload'], 'Rule');
  const status = text(one(m, 'Status', 'Rule'));
  if (status !== 'Enabled' && status !== 'Disabled') malformed('<Status> must be Enabled or Disabled');
  const filterEl = one(m, 'Filter', 'Rule');
  const legacyPrefix = one(m, 'Prefix', 'Rule');
  if (filterEl && legacyPrefix) malformed('a rule has either <Filter> or <Prefix>, not both');
  const rule: LifecycleRule = {
    id: one(m, 'ID', 'Rule')?.text ?? '',
    enabled: status === 'Enabled',
    filter: filterEl ? filterOf(filterEl) : { prefix: legacyPrefix?.text },
  };
  if (legacyPrefix) rule.legacyPrefix = true;
  const exp = one(m, 'Expiration', 'Rule');
  if (exp) {
    const e = children(exp, ['Days', 'Date', 'ExpiredObjectDeleteMarker'], 'Expiration');
    const marker = text(one(e, 'ExpiredObjectDeleteMarker', 'Expiration'));
    if (marker !== undefined && marker !== 'true' && marker !== 'false') malformed('<ExpiredObjectDeleteMarker> must be true or false');
    rule.expiration = { days: integer(one(e, 'Days', 'Expiration'), 'Days'), dateMs: date(one(e, 'Date', 'Expiration')), expiredObjectDeleteMarker: marker === undefined ? undefined : marker === 'true' };
  }
  const transitions = m.get('Transition') ?? [];
  if (transitions.length > 0) {
    rule.transitions = transitions.map((t) => {
      const c = children(t, ['Days', 'Date', 'StorageClass'], 'Transition');
      return { days: integer(one(c, 'Days', 'Transition'), 'Days'), dateMs: date(one(c, 'Date', 'Transition')), storageClass: storageClass(one(c, 'StorageClass', 'Transition')) };
    });
  }
  const nve = one(m, 'NoncurrentVersionExpiration', 'Rule');
  if (nve) {
    const c = children(nve, ['NoncurrentDays', 'NewerNoncurrentVersions'], 'NoncurrentVersionExpiration');
    const days = integer(one(c, 'NoncurrentDays', 'NoncurrentVersionExpiration'), 'NoncurrentDays');
    if (days === undefined) malformed('<NoncurrentVersionExpiration> needs <NoncurrentDays>');
    rule.noncurrentVersionExpiration = { noncurrentDays: days, newerNoncurrentVersions: integer(one(c, 'NewerNoncurrentVersions', 'NoncurrentVersionExpiration'), 'NewerNoncurrentVersions') };
  }
  const nvt = m.get('NoncurrentVersionTransition') ?? [];
  if (nvt.length > 0) {
    rule.noncurrentVersionTransitions = nvt.map((t) => {
      const c = children(t, ['NoncurrentDays', 'StorageClass', 'NewerNoncurrentVersions'], 'NoncurrentVersionTransition');
      const days = integer(one(c, 'NoncurrentDays', 'NoncurrentVersionTransition'), 'NoncurrentDays');
      if (days === undefined) malformed('<NoncurrentVersionTransition> needs <NoncurrentDays>');
      return { noncurrentDays: days, storageClass: storageClass(one(c, 'StorageClass', 'NoncurrentVersionTransition')) };
    });
  }
  const abort = one(m, 'AbortIncompleteMultipartUpload', 'Rule');
  if (abort) {
    const c = children(abort, ['DaysAfterInitiation'], 'AbortIncompleteMultipartUpload');
    const days = integer(one(c, 'DaysAfterInitiation', 'AbortIncompleteMultipartUpload'), 'DaysAfterInitiation');
    if (days === undefined) malformed('<AbortIncompleteMultipartUpload> needs <DaysAfterInitiation>');
    rule.abortIncompleteMultipartUpload = { daysAfterInitiation: days };
  }
  return rule;
}

/** Parses a LifecycleConfiguration document. Throws S3Error MalformedXML; meaning is checked by the engine. */
export function parseLifecycleXml(body: Buffer | string): LifecycleConfig {
  const doc = parseXml(body, { maxBytes: LIFECYCLE_XML_BYTES_MAX });
  if (localName(doc.name) !== 'LifecycleConfiguration') malformed('the root element must be <LifecycleConfiguration>');
  const m = children(doc, ['Rule'], 'LifecycleConfiguration');
  const ruleEls = m.get('Rule') ?? [];
  const rules = ruleEls.map(ruleOf);
  if (rules.length === 0) malformed('<LifecycleConfiguration> needs at least one <Rule>');
  // A rule without <ID> gets one, as S3 gives it: a unique random name (shown by GetBucketLifecycleConfiguration).
  const taken = new Set(rules.map((r) => r.id));
  ruleEls.forEach((el, i) => {
    if (el.children.some((c) => localName(c.name) === 'ID')) return;
    let id: string;
    do id = Buffer.from(randomUUID()).toString('base64').replace(/=+$/, '');
    while (taken.has(id));
    taken.add(id);
    rules[i]!.id = id;
  });
  return { rules };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function filterXml(f: LifecycleFilter): XmlChild {
  const tagXml = ([k, v]: [string, string]) => element('Tag', element('Key', k), element('Value', v));
  const parts: XmlChild[] = [
    f.prefix !== undefined ? element('Prefix', f.prefix) : null,
    ...(f.tags ?? []).map(tagXml),
    f.sizeGreaterThan !== undefined ? element('ObjectSizeGreaterThan', f.sizeGreaterThan) : null,
    f.sizeLessThan !== undefined ? element('ObjectSizeLessThan', f.sizeLessThan) : null,
  ].filter((p) => p !== null);
  if (parts.length === 0) return element('Filter');
  return parts.length === 1 ? element('Filter', parts[0]) : element('Filter', element('And', ...parts));
}

/** The configuration as a document, as S3 returns it from GetBucketLifecycleConfiguration. */
export function lifecycleXml(config: LifecycleConfig): string {
  return renderXmlDocument(lifecycleXmlNode(config));
}

export function lifecycleXmlNode(config: LifecycleConfig): XmlNode {
  const rules = config.rules.map((r) => {
    const e = r.expiration;
    return element(
      'Rule',
      element('ID', r.id),
      r.legacyPrefix === true ? element('Prefix', r.filter.prefix ?? '') : filterXml(r.filter),
      element('Status', r.enabled ? 'Enabled' : 'Disabled'),
      ...(r.transitions ?? []).map((t) =>
        element('Transition', t.days !== undefined ? element('Days', t.days) : null, t.dateMs !== undefined ? element('Date', iso(t.dateMs)) : null, element('StorageClass', t.storageClass)),
      ),
      e
        ? element(
            'Expiration',
            e.days !== undefined ? element('Days', e.days) : null,
            e.dateMs !== undefined ? element('Date', iso(e.dateMs)) : null,
            e.expiredObjectDeleteMarker !== undefined ? element('ExpiredObjectDeleteMarker', e.expiredObjectDeleteMarker) : null,
          )
        : null,
      ...(r.noncurrentVersionTransitions ?? []).map((t) => element('NoncurrentVersionTransition', element('NoncurrentDays', t.noncurrentDays), element('StorageClass', t.storageClass))),
      r.noncurrentVersionExpiration
        ? element(
            'NoncurrentVersionExpiration',
            element('NoncurrentDays', r.noncurrentVersionExpiration.noncurrentDays),
            r.noncurrentVersionExpiration.newerNoncurrentVersions !== undefined ? element('NewerNoncurrentVersions', r.noncurrentVersionExpiration.newerNoncurrentVersions) : null,
          )
        : null,
      r.abortIncompleteMultipartUpload ? element('AbortIncompleteMultipartUpload', element('DaysAfterInitiation', r.abortIncompleteMultipartUpload.daysAfterInitiation)) : null,
    );
  });
  return elementWithAttrs('LifecycleConfiguration', { xmlns: S3_XMLNS }, ...rules);
}
