// Maps an authenticated request to its S3 operation. Anything not listed is NotImplemented — never
// a guess at a similar operation. Reading (or deleting) a bucket setting sediment does not keep is
// answered as for a bucket without it (ops-bucket-unset.ts); storing one is NotImplemented.
import type { S3Request } from './http-util.js';
import * as b from './ops-bucket.js';
import { answerUnsetSetting, unsetSetting } from './ops-bucket-unset.js';
import { deleteObjects } from './ops-delete-objects.js';
import { listObjects } from './ops-list.js';
import * as mp from './ops-multipart.js';
import * as o from './ops-object.js';
import * as tg from './ops-tagging.js';
import * as ol from './ops-object-lock.js';
import * as v from './ops-versioning.js';
import { S3Error } from './s3-error.js';

/** Sub-resources sediment does not implement; a request naming one gets NotImplemented. */
const UNSUPPORTED = [
  'policy', 'policyStatus', 'cors', 'encryption', 'replication', 'website', 'logging',
  'notification', 'requestPayment', 'accelerate', 'ownershipControls', 'publicAccessBlock', 'analytics', 'metrics',
  'inventory', 'intelligent-tiering', 'torrent', 'restore', 'select',
  'session', 'renameObject', 'metadataTable',
];

function unsupported(r: S3Request): string | undefined {
  if (r.query.size === 0) return undefined;
  return UNSUPPORTED.find((name) => r.query.has(name));
}

function notImplemented(r: S3Request, what: string): never {
  throw new S3Error('NotImplemented', `${r.method} ${what} is not implemented by sediment`);
}

export async function route(r: S3Request): Promise<void> {
  const q = r.query;
  if (r.bucket === '') {
    if (r.method === 'GET') return b.listBuckets(r);
    throw new S3Error('MethodNotAllowed');
  }
  if (r.key === '' && r.query.size > 0) {
    const unset = unsetSetting(r.method, r.query);
    if (unset !== undefined) return answerUnsetSetting(r, unset);
  }
  const sub = unsupported(r);
  if (sub !== undefined) notImplemented(r, `?${sub}`);
  if (r.key === '' && (q.has('retention') || q.has('legal-hold'))) notImplemented(r, `bucket ?${q.has('retention') ? 'retention' : 'legal-hold'}`);
  if (r.key !== '' && (q.has('versioning') || q.has('versions') || q.has('object-lock'))) notImplemented(r, 'that object sub-resource');
  if (r.key !== '' && q.has('lifecycle')) notImplemented(r, 'object ?lifecycle');
  if (r.key === '' && q.has('tagging')) notImplemented(r, 'bucket ?tagging');
  // ?attributes is GetObjectAttributes: GET on an object, nothing else.
  if (q.has('attributes') && (r.key === '' || r.method !== 'GET')) notImplemented(r, `${r.key === '' ? 'bucket' : 'object'} ?attributes`);
  if (r.key === '') {
    switch (r.method) {
      case 'GET':
        if (q.has('location')) return b.getBucketLocation(r);
        if (q.has('uploads')) return mp.listMultipartUploads(r);
        if (q.has('versioning')) return v.getBucketVersioning(r);
        if (q.has('versions')) return v.listObjectVersions(r);
        if (q.has('object-lock')) return ol.getObjectLockConfiguration(r);
        if (q.has('lifecycle')) return b.getBucketLifecycle(r);
        if (q.has('acl')) return b.getAcl(r);
        return listObjects(r, q.get('list-type') === '2');
      case 'HEAD':
        return b.headBucket(r);
      case 'PUT':
        if (q.has('lifecycle')) return b.putBucketLifecycle(r);
        if (q.has('versioning')) return v.putBucketVersioning(r);
        if (q.has('object-lock')) return ol.putObjectLockConfiguration(r);
        if (q.size > 0) notImplemented(r, `bucket ?${[...q.keys()][0]}`);
        return b.createBucket(r);
      case 'DELETE':
        if (q.has('lifecycle')) return b.deleteBucketLifecycle(r);
        if (q.size > 0) notImplemented(r, `bucket ?${[...q.keys()][0]}`);
        return b.deleteBucket(r);
      case 'POST':
        if (q.has('delete')) return deleteObjects(r);
        notImplemented(r, 'on a bucket');
      // falls through (never reached: notImplemented throws)
      default:
        throw new S3Error('MethodNotAllowed');
    }
  }
  switch (r.method) {
    case 'GET':
      if (q.has('uploadId')) return mp.listParts(r);
      if (q.has('tagging')) return tg.getObjectTagging(r);
      if (q.has('retention')) return ol.getObjectRetention(r);
      if (q.has('legal-hold')) return ol.getObjectLegalHold(r);
      if (q.has('acl')) return b.getAcl(r);
      if (q.has('attributes')) return o.getObjectAttributes(r);
      return o.getObject(r);
    case 'HEAD':
      return o.getObject(r);
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return mp.uploadPart(r);
      if (q.has('tagging')) return tg.putObjectTagging(r);
      if (q.has('retention')) return ol.putObjectRetention(r);
      if (q.has('legal-hold')) return ol.putObjectLegalHold(r);
      if (q.has('acl')) notImplemented(r, 'object ?acl');
      return o.putObject(r);
    case 'DELETE':
      if (q.has('uploadId')) return mp.abortMultipartUpload(r);
      if (q.has('tagging')) return tg.deleteObjectTagging(r);
      return o.deleteObject(r);
    case 'POST':
      if (q.has('uploads')) return mp.createMultipartUpload(r);
      if (q.has('uploadId')) return mp.completeMultipartUpload(r);
      notImplemented(r, 'on an object');
    // falls through
    default:
      throw new S3Error('MethodNotAllowed');
  }
}
