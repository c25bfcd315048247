// Request headers → engine put options, and object info → response headers (metadata round trip).
import { checksumText as showChecksum } from '../engine/checksums.js';
import { NOT_IN_HEADER_VALUE } from '../engine/names.js';
import type { ObjectInfo, PutOptions, StandardHeaders } from '../engine/types.js';
import { headerFor } from './checksums.js';
import { httpDate, quoteEtag, type S3Request } from './http-util.js';
import { S3Error } from './s3-error.js';
import { lockHeaders } from './ops-object-lock.js';
import { element, type XmlNode } from './xml.js';

const STANDARD: Array<[keyof StandardHeaders, string]> = [
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['cacheControl', 'cache-control'],
  ['contentLanguage', 'content-language'],
  ['expires', 'expires'],
];

/** The storage classes S3 knows. Every write is stored hot; an unknown name is refused as S3 does. */
const STORAGE_CLASSES = new Set([
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE',
]);

/** Refuses an `x-amz-storage-class` that names no S3 storage class (docs/S3-COMPATIBILITY.md). */
export function checkStorageClass(r: S3Request): void {
  const v = r.header('x-amz-storage-class');
  if (v !== undefined && !STORAGE_CLASSES.has(v)) throw new S3Error('InvalidStorageClass', `The storage class you specified is not valid: ${v}`);
}

/** Headers that ask S3 to encrypt the object (SSE-S3, SSE-KMS, SSE-C). */
const ENCRYPTION_HEADERS = ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-server-side-encryption-customer-algorithm'];

/**
 * sediment does not encrypt objects at rest: a write that asks for it is refused, never stored in the clear
 * as if it had been encrypted (docs/S3-COMPATIBILITY.md).
 */
export function checkNoEncryption(r: S3Request): void {
  for (const h of ENCRYPTION_HEADERS) {
    if (r.header(h) !== undefined) {
      throw new S3Error('NotImplemented', `sediment does not encrypt objects at rest, so ${h} cannot be honoured; encrypt on the client (restic, rclone crypt) or leave the header out`);
    }
  }
}

/** Content type, standard headers, x-amz-meta-* and x-amz-tagging of a PUT / Create / Copy(REPLACE). */
export function contentOptions(r: S3Request): Pick<PutOptions, 'contentType' | 'userMetadata' | 'headers' | 'tags'> {
  checkStorageClass(r);
  checkNoEncryption(r);
  const headers: StandardHeaders = {};
  for (const [field, name] of STANDARD) {
    let v = r.header(name);
    // aws-chunked is transfer framing, not a content coding of the stored object.
    if (name === 'content-encoding' && v !== undefined) {
      v = v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked').join(', ');
      if (v === '') v = undefined;
    }
    if (v !== undefined) headers[field] = v;
  }
  // Without a prototype: names such as `constructor` or `__proto__` are plain metadata names here.
  const userMetadata = Object.create(null) as Record<string, string>;
  for (let i = 0; i < r.req.rawHeaders.length; i += 2) {
    const name = r.req.rawHeaders[i].toLowerCase();
    if (name.startsWith('x-amz-meta-')) {
      const k = name.slice('x-amz-meta-'.length);
      userMetadata[k] = userMetadata[k] === undefined ? r.req.rawHeaders[i + 1] : `${userMetadata[k]},${r.req.rawHeaders[i + 1]}`;
    }
  }
  const tags = parseTagging(r.header('x-amz-tagging'));
  return { contentType: r.header('content-type'), userMetadata, headers, tags };
}

export function parseTagging(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined || value === '') return undefined;
  const tags = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(value)) {
    if (k === '' || k.length > 128 || v.length > 256) throw new S3Error('InvalidArgument', 'The tag provided was not a valid tag.');
    // A key given twice is refused, as S3 does, rather than one of the values being dropped unsaid.
    if (Object.hasOwn(tags, k)) {
      throw new S3Error('InvalidArgument', "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", {
        extra: { ArgumentName: 'x-amz-tagging', ArgumentValue: value },
      });
    }
    tags[k] = v;
  }
  return tags;
}

/**
 * A stored value as a header can carry it. The engine refuses values no header can carry, but objects
 * stored before it did may hold one: such a value goes out RFC 2047-encoded (`=?UTF-8?B?…?=`), as S3
 * sends non-ASCII metadata, rather than failing the whole response.
 */
function headerSafe(v: string): string {
  return NOT_IN_HEADER_VALUE.test(v) ? `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=` : v;
}

/** Response headers describing an object (GET/HEAD). */
export function objectHeaders(info: ObjectInfo, withChecksums: boolean): Record<string, string> {
  const h: Record<string, string> = {
    ETag: quoteEtag(info.etag),
    'Last-Modified': httpDate(info.lastModifiedMs),
    'Content-Type': headerSafe(info.contentType),
    'Accept-Ranges': 'bytes',
  };
  for (const [field, name] of STANDARD) {
    const v = info.headers[field];
    if (v !== undefined) h[name] = headerSafe(v);
  }
  for (const [k, v] of Object.entries(info.userMetadata)) h[`x-amz-meta-${k}`] = headerSafe(v);
  if (info.storageClass !== 'STANDARD') h['x-amz-storage-class'] = 'GLACIER_IR';
  if (info.versionId !== '') h['x-amz-version-id'] = info.versionId;
  lockHeaders(info, h);
  const tagCount = Object.keys(info.tags).length;
  if (tagCount > 0) h['x-amz-tagging-count'] = String(tagCount);
  if (withChecksums) {
    for (const c of info.checksums) h[headerFor(c.algorithm)] = checksumText(info, c);
    if (info.checksums.length > 0) h['x-amz-checksum-type'] = checksumType(info);
  }
  return h;
}

/** A stored checksum as S3 shows it: base64, with `-N` for a COMPOSITE checksum of an N-part object. */
export function checksumText(info: ObjectInfo, c: ObjectInfo['checksums'][number]): string {
  return showChecksum(c, info.partCount);
}

/** The type of the object's checksum: COMPOSITE or FULL_OBJECT (a single-part object's always is). */
export function checksumType(info: ObjectInfo): 'COMPOSITE' | 'FULL_OBJECT' {
  return info.checksums[0]?.type ?? 'FULL_OBJECT';
}

/** The Checksum* and ChecksumType elements of a result about `info` (none if it has no checksum). */
export function objectChecksumElements(info: ObjectInfo): XmlNode[] {
  if (info.checksums.length === 0) return [];
  return [...info.checksums.map((c) => element(`Checksum${c.algorithm}`, checksumText(info, c))), element('ChecksumType', checksumType(info))];
}

/** RFC 7232 evaluation as S3 does it. Returns 304/412 or undefined to proceed. */
export function evaluateConditions(
  get: (name: string) => string | undefined,
  info: { etag: string; lastModifiedMs: number },
  names = { ifMatch: 'if-match', ifNoneMatch: 'if-none-match', ifModifiedSince: 'if-modified-since', ifUnmodifiedSince: 'if-unmodified-since' },
): 304 | 412 | undefined {
  const etagMatches = (list: string): boolean =>
    list.split(',').some((t) => {
      const s = t.trim().replace(/^W\//, '');
      return s === '*' || s.replace(/"/g, '') === info.etag;
    });
  const seconds = Math.floor(info.lastModifiedMs / 1000) * 1000;
  const date = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  };
  const ifMatch = get(names.ifMatch);
  const ifNoneMatch = get(names.ifNoneMatch);
  const ims = date(get(names.ifModifiedSince));
  const ius = date(get(names.ifUnmodifiedSince));
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch)) return 412;
  } else if (ius !== undefined && seconds > ius) {
    return 412;
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch)) return 304;
  } else if (ims !== undefined && seconds <= ims) {
    return 304;
  }
  return undefined;
}
