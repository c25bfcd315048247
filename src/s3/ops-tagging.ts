// Put/Get/DeleteObjectTagging (?tagging on an object). Tags live in the object's manifest (FORMAT.md
// §3.1); setting them writes a new manifest for the same bytes (no data copied, Last-Modified and ETag
// unchanged). S3's limits: at most 10 tags, keys 1-128 and values 0-256 characters, keys unique.
import { sendEmpty, sendXml, type S3Request } from './http-util.js';
import { S3Error } from './s3-error.js';
import { readVerifiedBody } from './small-body.js';
import { element, elementWithAttrs, parseXml, S3_XMLNS } from './xml.js';
import { localName } from './xml-parse.js';

const TAGGING_XML_BYTES_MAX = 64 * 1024;

function invalidTag(detail: string): never {
  throw new S3Error('InvalidTag', detail);
}

/** Parses `<Tagging><TagSet><Tag><Key/><Value/></Tag>*</TagSet></Tagging>`. */
export function parseTaggingXml(body: Buffer): Record<string, string> {
  const doc = parseXml(body, { maxBytes: TAGGING_XML_BYTES_MAX });
  if (localName(doc.name) !== 'Tagging') throw new S3Error('MalformedXML');
  const sets = doc.children.filter((c) => localName(c.name) === 'TagSet');
  if (sets.length !== 1 || doc.children.length !== 1) throw new S3Error('MalformedXML');
  const tags = Object.create(null) as Record<string, string>; // `__proto__` is a tag key like any other
  let n = 0;
  for (const t of sets[0].children) {
    if (localName(t.name) !== 'Tag') throw new S3Error('MalformedXML');
    const keys = t.children.filter((c) => localName(c.name) === 'Key');
    const values = t.children.filter((c) => localName(c.name) === 'Value');
    if (keys.length !== 1 || values.length > 1 || t.children.length !== keys.length + values.length) throw new S3Error('MalformedXML');
    const k = keys[0].text;
    const v = values[0]?.text ?? '';
    if (k.length === 0 || k.length > 128) invalidTag('The TagKey you have provided is invalid');
    if (v.length > 256) invalidTag('The TagValue you have provided is invalid');
    if (Object.hasOwn(tags, k)) invalidTag('Cannot provide multiple Tags with the same key');
    tags[k] = v;
    n++;
  }
  if (n > 10) throw new S3Error('BadRequest', 'Object tags cannot be greater than 10');
  return tags;
}

export async function getObjectTagging(r: S3Request): Promise<void> {
  const info = await r.ctx.engine.headObject(r.bucket, r.key, { versionId: r.query.get('versionId') });
  const tagSet = Object.entries(info.tags).map(([k, v]) => element('Tag', element('Key', k), element('Value', v)));
  sendXml(r, 200, elementWithAttrs('Tagging', { xmlns: S3_XMLNS }, element('TagSet', ...tagSet)));
}

export async function putObjectTagging(r: S3Request): Promise<void> {
  const versionId = r.query.get('versionId');
  await r.ctx.engine.headObject(r.bucket, r.key, { versionId });
  const tags = parseTaggingXml(await readVerifiedBody(r, TAGGING_XML_BYTES_MAX));
  await r.ctx.engine.putObjectTagging(r.bucket, r.key, tags, { versionId });
  sendEmpty(r, 200);
}

export async function deleteObjectTagging(r: S3Request): Promise<void> {
  await r.ctx.engine.putObjectTagging(r.bucket, r.key, {}, { versionId: r.query.get('versionId') });
  sendEmpty(r, 204);
}
