// Bucket settings sediment does not keep, through @aws-sdk/client-s3 (src/s3/ops-bucket-unset.ts): every
// Get answers as S3 does for a bucket without the setting (its NotFound error, with the bucket's name, or
// the empty default configuration), every Delete succeeds and changes nothing, every Put is still
// NotImplemented and stores nothing, and a missing bucket is NoSuchBucket for all of them.
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketReplicationCommand,
  DeleteBucketTaggingCommand,
  DeleteBucketWebsiteCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAccelerateConfigurationCommand,
  GetBucketCorsCommand,
  GetBucketEncryptionCommand,
  GetBucketLoggingCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketReplicationCommand,
  GetBucketRequestPaymentCommand,
  GetBucketTaggingCommand,
  GetBucketWebsiteCommand,
  GetPublicAccessBlockCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

let h: S3Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.client().send(new CreateBucketCommand({ Bucket: 'plain' }));
});
afterAll(async () => {
  await h?.close();
});

interface Failure {
  name: string;
  status: number | undefined;
  bucketName: unknown;
}

/** `command`: any of the SDK's commands (their union is not assignable to send's parameter type). */
async function failure(s3: S3Client, command: object): Promise<Failure> {
  try {
    await s3.send(command as Parameters<S3Client['send']>[0]);
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number }; BucketName?: unknown };
    return { name: e.name, status: e.$metadata?.httpStatusCode, bucketName: e.BucketName };
  }
  throw new Error('the request succeeded');
}

const Bucket = 'plain';
const gets = (b: string) =>
  [
    ['NoSuchBucketPolicy', new GetBucketPolicyCommand({ Bucket: b })],
    ['NoSuchBucketPolicy', new GetBucketPolicyStatusCommand({ Bucket: b })],
    ['NoSuchCORSConfiguration', new GetBucketCorsCommand({ Bucket: b })],
    ['ServerSideEncryptionConfigurationNotFoundError', new GetBucketEncryptionCommand({ Bucket: b })],
    ['NoSuchWebsiteConfiguration', new GetBucketWebsiteCommand({ Bucket: b })],
    ['ReplicationConfigurationNotFoundError', new GetBucketReplicationCommand({ Bucket: b })],
    ['OwnershipControlsNotFoundError', new GetBucketOwnershipControlsCommand({ Bucket: b })],
    ['NoSuchPublicAccessBlockConfiguration', new GetPublicAccessBlockCommand({ Bucket: b })],
    ['NoSuchTagSet', new GetBucketTaggingCommand({ Bucket: b })],
  ] as const;

describe('bucket settings sediment does not keep', () => {
  it('each Get answers as for a bucket without the setting', async () => {
    const s3 = h.client();
    for (const [code, command] of gets(Bucket)) {
      expect(await failure(s3, command), code).toEqual({ name: code, status: 404, bucketName: Bucket });
    }
    expect((await s3.send(new GetBucketLoggingCommand({ Bucket }))).LoggingEnabled).toBeUndefined();
    const notifications = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket }));
    expect([notifications.TopicConfigurations, notifications.QueueConfigurations, notifications.LambdaFunctionConfigurations]).toEqual([undefined, undefined, undefined]);
    expect((await s3.send(new GetBucketRequestPaymentCommand({ Bucket }))).Payer).toBe('BucketOwner');
    expect((await s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket }))).Status).toBeUndefined();
  });

  it('each Delete succeeds and changes nothing; each Put is NotImplemented and stores nothing', async () => {
    const s3 = h.client();
    for (const command of [
      new DeleteBucketPolicyCommand({ Bucket }),
      new DeleteBucketCorsCommand({ Bucket }),
      new DeleteBucketEncryptionCommand({ Bucket }),
      new DeleteBucketWebsiteCommand({ Bucket }),
      new DeleteBucketReplicationCommand({ Bucket }),
      new DeleteBucketOwnershipControlsCommand({ Bucket }),
      new DeletePublicAccessBlockCommand({ Bucket }),
      new DeleteBucketTaggingCommand({ Bucket }),
    ]) {
      expect((await s3.send(command as Parameters<S3Client['send']>[0])).$metadata.httpStatusCode).toBe(204);
    }
    const puts = [
      new PutBucketPolicyCommand({ Bucket, Policy: '{"Version":"2012-10-17","Statement":[]}' }),
      new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }] } }),
      new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: [{ Key: 'team', Value: 'core' }] } }),
    ];
    for (const command of puts) expect((await failure(s3, command)).status).toBe(501);
    expect((await failure(s3, new GetBucketPolicyCommand({ Bucket }))).name).toBe('NoSuchBucketPolicy');
    expect((await failure(s3, new GetBucketTaggingCommand({ Bucket }))).name).toBe('NoSuchTagSet');
    expect(h.engine.listBuckets().map((b) => b.name)).toEqual(['plain']);
  });

  it('a missing bucket is NoSuchBucket for a Get and a Delete alike', async () => {
    const s3 = h.client();
    for (const [, command] of gets('nope-bucket')) expect((await failure(s3, command)).name).toBe('NoSuchBucket');
    expect((await failure(s3, new GetBucketLoggingCommand({ Bucket: 'nope-bucket' }))).name).toBe('NoSuchBucket');
    expect((await failure(s3, new DeleteBucketPolicyCommand({ Bucket: 'nope-bucket' }))).name).toBe('NoSuchBucket');
    expect(h.engine.listBuckets().map((b) => b.name)).toEqual(['plain']);
  });
});
