// Bucket settings sediment does not keep (policy, CORS, encryption, website, replication, ownership
// controls, public access block, bucket tags, logging, notifications, request payment, transfer
// acceleration), answered as S3 answers for a bucket that has none of them: tools that read every
// setting of a bucket (`terraform` refreshing an aws_s3_bucket, `s3cmd info`, backup tools checking
// encryption) then work, where NotImplemented made them fail. Storing one is still NotImplemented
// (router.ts); deleting one that is not there succeeds, as on S3, and changes nothing.
import { sendEmpty, sendXml, type S3Request } from './http-util.js';
import { S3Error, type S3ErrorCode } from './s3-error.js';
import { element, elementWithAttrs, S3_XMLNS, type XmlNode } from './xml.js';

/** Sub-resources whose GET is an error naming the missing setting. */
const MISSING: Record<string, S3ErrorCode> = {
  policy: 'NoSuchBucketPolicy',
  policyStatus: 'NoSuchBucketPolicy',
  cors: 'NoSuchCORSConfiguration',
  encryption: 'ServerSideEncryptionConfigurationNotFoundError',
  website: 'NoSuchWebsiteConfiguration',
  replication: 'ReplicationConfigurationNotFoundError',
  ownershipControls: 'OwnershipControlsNotFoundError',
  publicAccessBlock: 'NoSuchPublicAccessBlockConfiguration',
  tagging: 'NoSuchTagSet',
};

/** Sub-resources whose GET is an empty (default) configuration. */
const EMPTY: Record<string, () => XmlNode> = {
  logging: () => elementWithAttrs('BucketLoggingStatus', { xmlns: S3_XMLNS }),
  notification: () => elementWithAttrs('NotificationConfiguration', { xmlns: S3_XMLNS }),
  requestPayment: () => elementWithAttrs('RequestPaymentConfiguration', { xmlns: S3_XMLNS }, element('Payer', 'BucketOwner')),
  accelerate: () => elementWithAttrs('AccelerateConfiguration', { xmlns: S3_XMLNS }),
};

/** Sub-resources with a Delete operation (policyStatus has none; the EMPTY ones are reset by a PUT). */
const DELETABLE = new Set(Object.keys(MISSING).filter((k) => k !== 'policyStatus'));

/** The sub-resource of a bucket request this module answers for `method`, if any. */
export function unsetSetting(method: string, query: ReadonlyMap<string, string>): string | undefined {
  if (method === 'GET') return [...Object.keys(MISSING), ...Object.keys(EMPTY)].find((k) => query.has(k));
  if (method === 'DELETE') return [...DELETABLE].find((k) => query.has(k));
  return undefined;
}

export async function answerUnsetSetting(r: S3Request, name: string): Promise<void> {
  r.ctx.engine.headBucket(r.bucket); // NoSuchBucket first, as S3
  if (r.method === 'DELETE') return sendEmpty(r, 204);
  const empty = EMPTY[name];
  if (empty !== undefined) return sendXml(r, 200, empty());
  throw new S3Error(MISSING[name]!, undefined, { extra: { BucketName: r.bucket } });
}
