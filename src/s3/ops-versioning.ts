// Versioning operations: Get/PutBucketVersioning (?versioning) and ListObjectVersions (?versions).
// The engine keeps the versions (src/engine/versions.ts); this file only speaks S3's XML.
import type { ListVersionsResult } from '../engine/list-versions.js';
import { awsUriEncode } from './aws-uri.js';
import { isoDate, quoteEtag, sendEmpty, sendXml, type S3Request } from './http-util.js';
import { owner } from './ops-bucket.js';
import { S3Error } from './s3-error.js';
import { readVerifiedBody } from './small-body.js';
import { childText, element, elementWithAttrs, localName, parseXml, S3_XMLNS } from './xml.js';

const VERSIONING_XML_BYTES_MAX = 16 * 1024;

export async function getBucketVersioning(r: S3Request): Promise<void> {
  const status = r.ctx.engine.getBucketVersioning(r.bucket);
  // A bucket that never had versioning answers an empty configuration, as S3 does.
  sendXml(r, 200, elementWithAttrs('VersioningConfiguration', { xmlns: S3_XMLNS }, status === 'Unversioned' ? null : element('Status', status)));
}

export async function putBucketVersioning(r: S3Request): Promise<void> {
  r.ctx.engine.headBucket(r.bucket);
  const doc = parseXml(await readVerifiedBody(r, VERSIONING_XML_BYTES_MAX), { maxBytes: VERSIONING_XML_BYTES_MAX });
  if (localName(doc.name) !== 'VersioningConfiguration') throw new S3Error('MalformedXML');
  const status = childText(doc, 'Status');
  const mfa = childText(doc, 'MfaDelete');
  if (mfa !== undefined && mfa !== 'Disabled') throw new S3Error('NotImplemented', 'MFA Delete is not supported by sediment');
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML', 'Status must be Enabled or Suspended');
  await r.ctx.engine.setBucketVersioning(r.bucket, status);
  sendEmpty(r, 200);
}

function maxKeysOf(r: S3Request): number {
  const v = r.query.get('max-keys');
  if (v === undefined || v === '') return 1000;
  if (!/^\d{1,9}$/.test(v)) throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer', { extra: { ArgumentName: 'max-keys', ArgumentValue: v } });
  return Math.min(Number(v), 1000);
}

export async function listObjectVersions(r: S3Request): Promise<void> {
  const encType = r.query.get('encoding-type');
  if (encType !== undefined && encType !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { extra: { ArgumentName: 'encoding-type', ArgumentValue: encType } });
  const enc = encType === 'url' ? (s: string) => awsUriEncode(s, true) : (s: string) => s;
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const keyMarker = r.query.get('key-marker') ?? '';
  const versionIdMarker = r.query.get('version-id-marker') ?? '';
  const maxKeys = maxKeysOf(r);
  const result: ListVersionsResult = r.ctx.engine.listObjectVersions(r.bucket, { prefix, delimiter, keyMarker, versionIdMarker, maxKeys });
  const entries = result.versions.map((v) =>
    v.isDeleteMarker
      ? element('DeleteMarker', element('Key', enc(v.key)), element('VersionId', v.versionId), element('IsLatest', v.isLatest), element('LastModified', isoDate(v.lastModifiedMs)), owner(r))
      : element(
          'Version',
          element('Key', enc(v.key)),
          element('VersionId', v.versionId),
          element('IsLatest', v.isLatest),
          element('LastModified', isoDate(v.lastModifiedMs)),
          element('ETag', quoteEtag(v.etag)),
          element('Size', v.size),
          owner(r),
          element('StorageClass', v.storageClass === 'STANDARD' ? 'STANDARD' : 'GLACIER_IR'),
        ),
  );
  sendXml(
    r,
    200,
    elementWithAttrs(
      'ListVersionsResult',
      { xmlns: S3_XMLNS },
      element('Name', r.bucket),
      element('Prefix', enc(prefix)),
      element('KeyMarker', enc(keyMarker)),
      element('VersionIdMarker', versionIdMarker),
      result.nextKeyMarker !== undefined ? element('NextKeyMarker', enc(result.nextKeyMarker)) : null,
      result.nextVersionIdMarker !== undefined ? element('NextVersionIdMarker', result.nextVersionIdMarker) : null,
      element('MaxKeys', maxKeys),
      delimiter !== '' ? element('Delimiter', enc(delimiter)) : null,
      encType === 'url' ? element('EncodingType', 'url') : null,
      element('IsTruncated', result.isTruncated),
      ...entries,
      ...result.commonPrefixes.map((p) => element('CommonPrefixes', element('Prefix', enc(p)))),
    ),
  );
}
