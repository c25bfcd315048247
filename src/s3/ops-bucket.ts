// Service and bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
// GetBucketLocation, and the read-only answers for settings sediment does not have yet.
import { isoDate, sendEmpty, sendXml, type S3Request } from './http-util.js';
import { readVerifiedBody } from './small-body.js';
import { S3Error } from './s3-error.js';
import { isSedimentError } from '../util/errors.js';
import { childText, element, elementWithAttrs, parseXml, S3_XMLNS } from './xml.js';
import { LIFECYCLE_XML_BYTES_MAX, lifecycleXmlNode, parseLifecycleXml } from './lifecycle-xml.js';

export function owner(r: S3Request): ReturnType<typeof element> {
  return element('Owner', element('ID', r.ctx.ownerId), element('DisplayName', r.ctx.ownerName));
}

/** ListBuckets' continuation token: the last name of the page before, opaque to clients (base64url). */
const bucketToken = (name: string): string => Buffer.from(name, 'utf8').toString('base64url');

function afterToken(token: string): string {
  const name = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!/^[a-z0-9.-]{1,255}$/.test(name) || bucketToken(name) !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  }
  return name;
}

/**
 * ListBuckets, with S3's `prefix`, `bucket-region`, `max-buckets` (1..10000; without it, every bucket)
 * and `continuation-token` (given back while more buckets remain).
 */
export async function listBuckets(r: S3Request): Promise<void> {
  const prefix = r.query.get('prefix') ?? '';
  const region = r.query.get('bucket-region') ?? '';
  const maxRaw = r.query.get('max-buckets');
  let max = Infinity;
  if (maxRaw !== undefined) {
    if (!/^\d{1,5}$/.test(maxRaw) || Number(maxRaw) < 1 || Number(maxRaw) > 10000) {
      throw new S3Error('InvalidArgument', 'max-buckets must be an integer from 1 to 10000', { extra: { ArgumentName: 'max-buckets', ArgumentValue: maxRaw } });
    }
    max = Number(maxRaw);
  }
  const tokenRaw = r.query.get('continuation-token');
  const after = tokenRaw !== undefined ? afterToken(tokenRaw) : undefined;
  const matching = r.ctx.engine
    .listBuckets()
    .filter((b) => b.name.startsWith(prefix) && (region === '' || b.region === region) && (after === undefined || b.name > after));
  const buckets = matching.slice(0, max);
  const more = matching.length > buckets.length;
  sendXml(
    r,
    200,
    elementWithAttrs(
      'ListAllMyBucketsResult',
      { xmlns: S3_XMLNS },
      owner(r),
      element('Buckets', buckets.map((b) => element('Bucket', element('Name', b.name), element('CreationDate', isoDate(b.createdMs)), element('BucketRegion', b.region)))),
      more ? element('ContinuationToken', bucketToken(buckets[buckets.length - 1]!.name)) : null,
      r.query.has('prefix') ? element('Prefix', prefix) : null,
    ),
  );
}

export async function createBucket(r: S3Request): Promise<void> {
  const body = await readVerifiedBody(r, 64 * 1024);
  let region = r.ctx.region;
  if (body.length > 0) {
    const doc = parseXml(body, { maxBytes: 64 * 1024 });
    if (doc.name.replace(/^.*:/, '') !== 'CreateBucketConfiguration') throw new S3Error('MalformedXML');
    const lc = childText(doc, 'LocationConstraint');
    if (lc !== undefined && lc !== '' && lc !== r.ctx.region) {
      throw new S3Error('InvalidLocationConstraint', `The specified location-constraint is not valid: this server's region is ${r.ctx.region}`, {
        httpStatus: 400,
      });
    }
    if (lc) region = lc;
  }
  // Object Lock can only be turned on at creation; it turns versioning on for good.
  const objectLock = r.header('x-amz-bucket-object-lock-enabled')?.trim().toLowerCase() === 'true';
  try {
    await r.ctx.engine.createBucket(r.bucket, { region, objectLock });
  } catch (err) {
    // In us-east-1 S3 answers 200 to creating a bucket you already own (a legacy rule scripts rely on:
    // `aws s3 mb` run twice); elsewhere, or when the request asks for what the bucket lacks (Object
    // Lock), 409 BucketAlreadyOwnedByYou.
    const owned = isSedimentError(err) && err.code === 'SEDIMENT_BUCKET_EXISTS';
    if (!owned || r.ctx.region !== 'us-east-1' || region !== 'us-east-1' || objectLock) throw err;
  }
  sendEmpty(r, 200, { Location: `/${r.bucket}` });
}

export async function headBucket(r: S3Request): Promise<void> {
  const b = r.ctx.engine.headBucket(r.bucket);
  sendEmpty(r, 200, { 'x-amz-bucket-region': b.region });
}

export async function deleteBucket(r: S3Request): Promise<void> {
  await r.ctx.engine.deleteBucket(r.bucket);
  sendEmpty(r, 204);
}

export async function getBucketLocation(r: S3Request): Promise<void> {
  const b = r.ctx.engine.headBucket(r.bucket);
  // S3 answers an empty LocationConstraint for us-east-1.
  sendXml(r, 200, elementWithAttrs('LocationConstraint', { xmlns: S3_XMLNS }, b.region === 'us-east-1' ? null : b.region));
}

export async function getAcl(r: S3Request): Promise<void> {
  if (r.key !== '') await r.ctx.engine.headObject(r.bucket, r.key);
  else r.ctx.engine.headBucket(r.bucket);
  sendXml(
    r,
    200,
    elementWithAttrs(
      'AccessControlPolicy',
      { xmlns: S3_XMLNS },
      owner(r),
      element(
        'AccessControlList',
        element(
          'Grant',
          elementWithAttrs('Grantee', { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:type': 'CanonicalUser' }, element('ID', r.ctx.ownerId), element('DisplayName', r.ctx.ownerName)),
          element('Permission', 'FULL_CONTROL'),
        ),
      ),
    ),
  );
}

// Put/Get/DeleteBucketLifecycleConfiguration (?lifecycle). Rules are checked by the engine
// (InvalidArgument) after the XML parses (MalformedXML); S3 requires an integrity header on PUT.
export async function putBucketLifecycle(r: S3Request): Promise<void> {
  if (r.header('content-md5') === undefined && !Object.keys(r.req.headers).some((h) => h.startsWith('x-amz-checksum-'))) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  r.ctx.engine.headBucket(r.bucket);
  const config = parseLifecycleXml(await readVerifiedBody(r, LIFECYCLE_XML_BYTES_MAX));
  await r.ctx.engine.setBucketLifecycle(r.bucket, config);
  sendEmpty(r, 200);
}

export async function getBucketLifecycle(r: S3Request): Promise<void> {
  sendXml(r, 200, lifecycleXmlNode(r.ctx.engine.getBucketLifecycle(r.bucket)));
}

export async function deleteBucketLifecycle(r: S3Request): Promise<void> {
  r.ctx.engine.headBucket(r.bucket);
  await r.ctx.engine.setBucketLifecycle(r.bucket, undefined);
  sendEmpty(r, 204);
}
