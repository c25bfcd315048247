// ListObjects (V1) and ListObjectsV2, including encoding-type=url and fetch-owner.
import type { ListResult } from '../engine/types.js';
import { awsUriEncode } from './aws-uri.js';
import { isoDate, quoteEtag, sendXml, type S3Request } from './http-util.js';
import { owner } from './ops-bucket.js';
import { S3Error } from './s3-error.js';
import { element, elementWithAttrs, S3_XMLNS } from './xml.js';

function maxKeysOf(r: S3Request): number {
  const v = r.query.get('max-keys');
  if (v === undefined || v === '') return 1000;
  if (!/^\d{1,9}$/.test(v)) throw new S3Error('InvalidArgument', 'max-keys must be a non-negative integer', { extra: { ArgumentName: 'max-keys', ArgumentValue: v } });
  return Math.min(Number(v), 1000);
}

function encoder(r: S3Request): (s: string) => string {
  const t = r.query.get('encoding-type');
  if (t === undefined) return (s) => s;
  if (t !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { extra: { ArgumentName: 'encoding-type', ArgumentValue: t } });
  return (s) => awsUriEncode(s, true);
}

function storageClass(sc: string): string {
  return sc === 'STANDARD' ? 'STANDARD' : 'GLACIER_IR';
}

export async function listObjects(r: S3Request, v2: boolean): Promise<void> {
  const enc = encoder(r);
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(r);
  let result: ListResult;
  const continuationToken = v2 ? r.query.get('continuation-token') : undefined;
  const startAfter = v2 ? r.query.get('start-after') : r.query.get('marker');
  if (continuationToken === '') throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  result = r.ctx.engine.listObjects(r.bucket, { prefix, delimiter, maxKeys, startAfter, continuationToken });
  const withOwner = !v2 || r.query.get('fetch-owner') === 'true';
  const contents = result.contents.map((c) =>
    element(
      'Contents',
      element('Key', enc(c.key)),
      element('LastModified', isoDate(c.lastModifiedMs)),
      element('ETag', quoteEtag(c.etag)),
      element('Size', c.size),
      withOwner ? owner(r) : null,
      element('StorageClass', storageClass(c.storageClass)),
    ),
  );
  const prefixes = result.commonPrefixes.map((p) => element('CommonPrefixes', element('Prefix', enc(p))));
  const common = [
    element('Name', r.bucket),
    element('Prefix', enc(prefix)),
  ];
  const tail = [
    element('MaxKeys', maxKeys),
    delimiter !== '' ? element('Delimiter', enc(delimiter)) : null,
    r.query.get('encoding-type') === 'url' ? element('EncodingType', 'url') : null,
    element('IsTruncated', result.isTruncated),
  ];
  if (v2) {
    sendXml(
      r,
      200,
      elementWithAttrs(
        'ListBucketResult',
        { xmlns: S3_XMLNS },
        ...common,
        continuationToken !== undefined ? element('ContinuationToken', continuationToken) : null,
        startAfter !== undefined ? element('StartAfter', enc(startAfter)) : null,
        element('KeyCount', result.contents.length + result.commonPrefixes.length),
        ...tail,
        result.nextContinuationToken !== undefined ? element('NextContinuationToken', result.nextContinuationToken) : null,
        ...contents,
        ...prefixes,
      ),
    );
  } else {
    sendXml(
      r,
      200,
      elementWithAttrs(
        'ListBucketResult',
        { xmlns: S3_XMLNS },
        ...common,
        element('Marker', enc(startAfter ?? '')),
        ...tail,
        result.isTruncated && result.nextMarker !== undefined ? element('NextMarker', enc(result.nextMarker)) : null,
        ...contents,
        ...prefixes,
      ),
    );
  }
}
