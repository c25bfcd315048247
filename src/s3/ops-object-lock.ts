// Object Lock at the HTTP edge: Put/GetObjectLockConfiguration (bucket ?object-lock),
// Put/GetObjectRetention (?retention), Put/GetObjectLegalHold (?legal-hold), and the
// x-amz-object-lock-* / x-amz-bypass-governance-retention headers. The engine judges every rule
// (src/engine/object-lock.ts); this file parses and renders S3's XML and headers.
import type { ObjectInfo, ObjectLockOptions } from '../engine/types.js';
import type { LockConfig } from '../engine/object-lock.js';
import { sendEmpty, sendXml, type S3Request } from './http-util.js';
import { S3Error } from './s3-error.js';
import { readVerifiedBody } from './small-body.js';
import { childElements, childText, element, elementWithAttrs, firstChild, localName, parseXml, S3_XMLNS } from './xml.js';

const LOCK_XML_BYTES_MAX = 16 * 1024;

/** Retain-until dates keep their milliseconds: a client that writes back what it read must not shorten them. */
function retainDate(ms: number): string {
  return new Date(ms).toISOString();
}

function mode(value: string | undefined, where: string): 'GOVERNANCE' | 'COMPLIANCE' {
  if (value !== 'GOVERNANCE' && value !== 'COMPLIANCE') throw new S3Error('MalformedXML', `${where}: Mode must be GOVERNANCE or COMPLIANCE`);
  return value;
}

/** An ISO 8601 date as S3 accepts it; undefined if it does not parse. */
function parseDate(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value.trim())) return undefined;
  const t = Date.parse(value.trim());
  return Number.isNaN(t) ? undefined : t;
}

/** x-amz-bypass-governance-retention: true. */
export function bypassGovernance(r: S3Request): boolean {
  return r.header('x-amz-bypass-governance-retention')?.trim().toLowerCase() === 'true';
}

/** The x-amz-object-lock-* headers of a PUT, copy or multipart create; undefined when none is given. */
export function lockOptions(r: S3Request): ObjectLockOptions | undefined {
  const m = r.header('x-amz-object-lock-mode');
  const until = r.header('x-amz-object-lock-retain-until-date');
  const hold = r.header('x-amz-object-lock-legal-hold');
  if (m === undefined && until === undefined && hold === undefined) return undefined;
  const out: ObjectLockOptions = {};
  if (m !== undefined) {
    if (m !== 'GOVERNANCE' && m !== 'COMPLIANCE') throw new S3Error('InvalidArgument', 'Unknown wormMode directive.', { extra: { ArgumentName: 'x-amz-object-lock-mode', ArgumentValue: m } });
    out.mode = m;
  }
  if (until !== undefined) {
    const t = parseDate(until);
    if (t === undefined) throw new S3Error('InvalidArgument', 'The retain until date must be provided in ISO 8601 format', { extra: { ArgumentName: 'x-amz-object-lock-retain-until-date', ArgumentValue: until } });
    out.retainUntilMs = t;
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF') throw new S3Error('InvalidArgument', 'Legal Hold must be either of ON or OFF', { extra: { ArgumentName: 'x-amz-object-lock-legal-hold', ArgumentValue: hold } });
    out.legalHold = hold === 'ON';
  }
  return out;
}

/** Response headers for a version's lock state (GET/HEAD). */
export function lockHeaders(info: ObjectInfo, h: Record<string, string>): void {
  const l = info.objectLock;
  if (!l) return;
  if (l.mode !== undefined && l.retainUntilMs !== undefined) {
    h['x-amz-object-lock-mode'] = l.mode;
    h['x-amz-object-lock-retain-until-date'] = retainDate(l.retainUntilMs);
  }
  h['x-amz-object-lock-legal-hold'] = l.legalHold ? 'ON' : 'OFF';
}

function versionIdOf(r: S3Request): string | undefined {
  return r.query.get('versionId');
}

async function xmlBody(r: S3Request, root: string): Promise<ReturnType<typeof parseXml>> {
  const doc = parseXml(await readVerifiedBody(r, LOCK_XML_BYTES_MAX), { maxBytes: LOCK_XML_BYTES_MAX });
  if (localName(doc.name) !== root) throw new S3Error('MalformedXML');
  return doc;
}

export async function putObjectLockConfiguration(r: S3Request): Promise<void> {
  r.ctx.engine.headBucket(r.bucket);
  const doc = await xmlBody(r, 'ObjectLockConfiguration');
  if (childText(doc, 'ObjectLockEnabled') !== 'Enabled') throw new S3Error('MalformedXML', 'ObjectLockEnabled must be Enabled');
  const rule = firstChild(doc, 'Rule');
  const config: LockConfig = {};
  if (rule) {
    const d = firstChild(rule, 'DefaultRetention');
    if (!d) throw new S3Error('MalformedXML', 'Rule needs a DefaultRetention');
    const days = childText(d, 'Days');
    const years = childText(d, 'Years');
    // The schema allows one of them: both is not a document S3 reads (MalformedXML, as S3 answers).
    if (days !== undefined && years !== undefined) throw new S3Error('MalformedXML', 'DefaultRetention gives either Days or Years, not both');
    const num = (v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      if (!/^-?\d{1,9}$/.test(v.trim())) throw new S3Error('MalformedXML', 'Days and Years must be integers');
      return Number(v);
    };
    config.rule = { mode: mode(childText(d, 'Mode'), 'DefaultRetention'), days: num(days), years: num(years) };
    if (config.rule.days === undefined) delete config.rule.days;
    if (config.rule.years === undefined) delete config.rule.years;
  }
  await r.ctx.engine.setObjectLockConfiguration(r.bucket, config);
  sendEmpty(r, 200);
}

export async function getObjectLockConfiguration(r: S3Request): Promise<void> {
  const c = r.ctx.engine.getObjectLockConfiguration(r.bucket);
  const rule = c.rule
    ? element('Rule', element('DefaultRetention', element('Mode', c.rule.mode), c.rule.days !== undefined ? element('Days', c.rule.days) : null, c.rule.years !== undefined ? element('Years', c.rule.years) : null))
    : null;
  sendXml(r, 200, elementWithAttrs('ObjectLockConfiguration', { xmlns: S3_XMLNS }, element('ObjectLockEnabled', 'Enabled'), rule));
}

export async function putObjectRetention(r: S3Request): Promise<void> {
  const doc = await xmlBody(r, 'Retention');
  const m = childText(doc, 'Mode');
  const until = childText(doc, 'RetainUntilDate');
  if (childElements(doc, 'Mode').length > 1 || (m === undefined) !== (until === undefined)) throw new S3Error('MalformedXML', 'Retention needs both Mode and RetainUntilDate, or neither');
  let retention;
  if (m !== undefined && until !== undefined) {
    const t = parseDate(until);
    if (t === undefined) throw new S3Error('MalformedXML', 'RetainUntilDate must be an ISO 8601 date');
    retention = { mode: mode(m, 'Retention'), retainUntilMs: t };
  }
  await r.ctx.engine.putObjectRetention(r.bucket, r.key, retention, { versionId: versionIdOf(r), bypassGovernance: bypassGovernance(r) });
  sendEmpty(r, 200);
}

export async function getObjectRetention(r: S3Request): Promise<void> {
  const ret = await r.ctx.engine.getObjectRetention(r.bucket, r.key, { versionId: versionIdOf(r) });
  sendXml(r, 200, elementWithAttrs('Retention', { xmlns: S3_XMLNS }, element('Mode', ret.mode), element('RetainUntilDate', retainDate(ret.retainUntilMs))));
}

export async function putObjectLegalHold(r: S3Request): Promise<void> {
  const doc = await xmlBody(r, 'LegalHold');
  const status = childText(doc, 'Status');
  if (status !== 'ON' && status !== 'OFF') throw new S3Error('MalformedXML', 'Status must be ON or OFF');
  await r.ctx.engine.putObjectLegalHold(r.bucket, r.key, status === 'ON', { versionId: versionIdOf(r) });
  sendEmpty(r, 200);
}

export async function getObjectLegalHold(r: S3Request): Promise<void> {
  const on = await r.ctx.engine.getObjectLegalHold(r.bucket, r.key, { versionId: versionIdOf(r) });
  sendXml(r, 200, elementWithAttrs('LegalHold', { xmlns: S3_XMLNS }, element('Status', on ? 'ON' : 'OFF')));
}
