// Answers an S3 client compares with AWS's: conditional writes and deletes, request-header validation
// and listing parameters that an SDK (boto3, @aws-sdk/client-s3) sends and relies on. Each case was
// found by driving the server as a demanding SDK user would and comparing with S3's documented answers.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  GetObjectLockConfigurationCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, rawRequest } from './helpers/s3-raw.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

let h: S3Harness;
let s3: S3Client;

interface Failure {
  name: string;
  status: number | undefined;
}
/** Awaits `p`, expecting it to fail; returns the S3 error name and HTTP status. */
async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail, it succeeded');
}

async function text(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

beforeAll(async () => {
  h = await startHarness();
  s3 = h.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'conf' }));
});

afterAll(async () => {
  await h.close();
});

describe('CopyObject conditional writes (If-None-Match / If-Match name the destination)', () => {
  it('refuses to overwrite with If-None-Match: *, and checks If-Match against the destination', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'copy/src', Body: 'source' }));
    const dst = await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'copy/dst', Body: 'destination' }));
    const copy = (extra: { IfNoneMatch?: string; IfMatch?: string }, key = 'copy/dst') =>
      s3.send(new CopyObjectCommand({ Bucket: 'conf', Key: key, CopySource: 'conf/copy/src', ...extra }));

    expect(await failure(copy({ IfNoneMatch: '*' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(copy({ IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(copy({ IfMatch: '"0123456789abcdef0123456789abcdef"' }, 'copy/absent'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    // Nothing was written by the refused copies.
    expect(await text('conf', 'copy/dst')).toBe('destination');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'copy/absent' })))).toMatchObject({ status: 404 });

    // Conditions that hold let the copy through.
    await copy({ IfNoneMatch: '*' }, 'copy/new');
    expect(await text('conf', 'copy/new')).toBe('source');
    await copy({ IfMatch: dst.ETag });
    expect(await text('conf', 'copy/dst')).toBe('source');
  });
});

describe('conditional deletes (If-Match on DeleteObject, <ETag> in DeleteObjects)', () => {
  const wrong = '"0123456789abcdef0123456789abcdef"';

  it('DeleteObject with If-Match deletes only the object with that ETag', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'del/a', Body: 'a' }));
    const del = (IfMatch: string, Key = 'del/a') => s3.send(new DeleteObjectCommand({ Bucket: 'conf', Key, IfMatch }));
    expect(await failure(del(wrong))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await text('conf', 'del/a')).toBe('a');
    expect(await failure(del('*', 'del/absent'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    await del(put.ETag!);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'del/a' })))).toMatchObject({ status: 404 });
    await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'del/star', Body: 'b' }));
    await del('*', 'del/star');
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'del/star' })))).toMatchObject({ status: 404 });
  });

  it('in a versioned bucket, judges the current version: no marker is added on a mismatch', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'conf-versioned' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'conf-versioned', VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket: 'conf-versioned', Key: 'k', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: 'conf-versioned', Key: 'k', Body: 'two' }));
    const del = (IfMatch: string, VersionId?: string) => s3.send(new DeleteObjectCommand({ Bucket: 'conf-versioned', Key: 'k', IfMatch, VersionId }));
    expect(await failure(del(v1.ETag!))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(del(v1.ETag!, v1.VersionId))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'conf-versioned' }));
    expect(listed.DeleteMarkers ?? []).toEqual([]);
    expect((listed.Versions ?? []).map((v) => v.VersionId)).toEqual([v2.VersionId, v1.VersionId]);
    const marker = await del(v2.ETag!);
    expect(marker.DeleteMarker).toBe(true);
    // The newest version is now a marker: there is no current object to match.
    expect(await failure(del('*'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  it('DeleteObjects with <ETag> reports a mismatch as that key\'s error and deletes the rest', async () => {
    const a = await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'batch/a', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'batch/b', Body: 'b' }));
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'conf',
        Delete: { Objects: [{ Key: 'batch/a', ETag: a.ETag }, { Key: 'batch/b', ETag: wrong }, { Key: 'batch/absent', ETag: wrong }] },
      }),
    );
    expect((out.Deleted ?? []).map((d) => d.Key)).toEqual(['batch/a']);
    expect((out.Errors ?? []).map((e) => [e.Key, e.Code])).toEqual([
      ['batch/b', 'PreconditionFailed'],
      ['batch/absent', 'NoSuchKey'],
    ]);
    expect(await text('conf', 'batch/b')).toBe('b');
  });
});

describe('ListBuckets paging and filters (prefix, max-buckets, continuation-token, bucket-region)', () => {
  it('pages with max-buckets and the continuation token, filtered by prefix', async () => {
    const names = ['lb-a', 'lb-b', 'lb-c', 'lb-d', 'lb-e'];
    for (const Bucket of names) await s3.send(new CreateBucketCommand({ Bucket }));
    const filtered = await s3.send(new ListBucketsCommand({ Prefix: 'lb-' }));
    expect((filtered.Buckets ?? []).map((b) => b.Name)).toEqual(names);
    expect(filtered.Prefix).toBe('lb-');
    expect(filtered.ContinuationToken).toBeUndefined();

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListBucketsCommand({ Prefix: 'lb-', MaxBuckets: 2, ContinuationToken: token }));
      expect((page.Buckets ?? []).length).toBeLessThanOrEqual(2);
      seen.push(...(page.Buckets ?? []).map((b) => b.Name!));
      token = page.ContinuationToken;
      pages++;
    } while (token !== undefined && pages < 10);
    expect(seen).toEqual(names);
    expect(pages).toBe(3);

    expect((await s3.send(new ListBucketsCommand({ BucketRegion: 'us-east-1', Prefix: 'lb-' }))).Buckets?.length).toBe(5);
    expect((await s3.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }))).Buckets ?? []).toEqual([]);
  });

  it('refuses a bad max-buckets or continuation token with InvalidArgument', async () => {
    expect(await failure(s3.send(new ListBucketsCommand({ MaxBuckets: 0 })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new ListBucketsCommand({ MaxBuckets: 10001 })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new ListBucketsCommand({ ContinuationToken: 'not a token!' })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
  });
});

describe('x-amz-tagging with a key given twice', () => {
  it('is refused with InvalidArgument, nothing stored, as S3 does', async () => {
    const put = (Key: string, Tagging: string) => s3.send(new PutObjectCommand({ Bucket: 'conf', Key, Body: 'x', Tagging }));
    expect(await failure(put('tags/dup', 'a=1&a=2'))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'tags/dup' })))).toMatchObject({ status: 404 });
    expect(await failure(s3.send(new CreateMultipartUploadCommand({ Bucket: 'conf', Key: 'tags/dup', Tagging: 'k=v&k=v' })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    await put('tags/ok', 'a=1&b=2');
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'conf', Key: 'tags/ok' }));
    expect(tags.TagSet).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ]);
  });
});

describe('UploadPartCopy x-amz-copy-source-range', () => {
  it('must be bytes=first-last: an open or suffix range is InvalidArgument (400), not a 416', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'conf', Key: 'upc/src', Body: '0123456789' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'conf', Key: 'upc/dst' }));
    const copy = (CopySourceRange: string) =>
      s3.send(new UploadPartCopyCommand({ Bucket: 'conf', Key: 'upc/dst', UploadId, PartNumber: 1, CopySource: 'conf/upc/src', CopySourceRange }));
    for (const bad of ['bytes=5-', 'bytes=-5', '0-4', 'bytes=0-1,3-4', 'bytes=a-b']) {
      expect({ bad, f: await failure(copy(bad)) }).toMatchObject({ bad, f: { name: 'InvalidArgument', status: 400 } });
    }
    const ok = await copy('bytes=2-5');
    expect(ok.CopyPartResult?.ETag).toBeDefined();
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'conf', Key: 'upc/dst', UploadId }));
  });
});

describe('PutObjectLockConfiguration with both Days and Years', () => {
  it('is MalformedXML (as S3), and leaves the configuration as it was', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'conf-lock', ObjectLockEnabledForBucket: true }));
    const put = (DefaultRetention: { Mode: 'GOVERNANCE'; Days?: number; Years?: number }) =>
      s3.send(new PutObjectLockConfigurationCommand({ Bucket: 'conf-lock', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention } } }));
    await put({ Mode: 'GOVERNANCE', Days: 3 });
    expect(await failure(put({ Mode: 'GOVERNANCE', Days: 1, Years: 1 }))).toMatchObject({ name: 'MalformedXML', status: 400 });
    // Days out of range stays InvalidArgument.
    expect(await failure(put({ Mode: 'GOVERNANCE', Days: 0 }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    const got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'conf-lock' }));
    expect(got.ObjectLockConfiguration?.Rule?.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 3 });
  });
});

describe('DeleteObjects removing a delete marker by its version id', () => {
  it('reports DeleteMarker and DeleteMarkerVersionId (the marker removed), as S3', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'conf-versioned', Key: 'dm', Body: 'x' }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'conf-versioned', Key: 'dm' }));
    expect(marker.DeleteMarker).toBe(true);
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: 'conf-versioned', Delete: { Objects: [{ Key: 'dm', VersionId: marker.VersionId }] } }));
    expect(out.Deleted).toEqual([{ Key: 'dm', VersionId: marker.VersionId, DeleteMarker: true, DeleteMarkerVersionId: marker.VersionId }]);
    expect(await text('conf-versioned', 'dm')).toBe('x');
  });
});

describe('POST Object (a browser-style form upload, e.g. a presigned POST)', () => {
  it('answers 501 NotImplemented, not AccessDenied as if it were anonymous; plain anonymous requests stay 403', async () => {
    const boundary = 'sedimentboundary';
    const form =
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nform/upload\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`;
    const res = await rawRequest(h.port, { method: 'POST', path: '/conf', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: form });
    expect([res.status, errorCode(res)]).toEqual([501, 'NotImplemented']);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'conf', Key: 'form/upload' })))).toMatchObject({ status: 404 });
    const anonymous = await rawRequest(h.port, { method: 'POST', path: '/conf?delete', body: '<Delete/>' });
    expect([anonymous.status, errorCode(anonymous)]).toEqual([403, 'AccessDenied']);
  });
});

describe('x-amz-version-id of the null version', () => {
  it('is absent in a bucket that never had versioning, and "null" on GET / HEAD / GetObjectAttributes once it has', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'conf-null' }));
    await s3.send(new PutObjectCommand({ Bucket: 'conf-null', Key: 'before', Body: 'x' }));
    const reads = async (Key: string) => [
      (await s3.send(new HeadObjectCommand({ Bucket: 'conf-null', Key }))).VersionId,
      (await s3.send(new GetObjectCommand({ Bucket: 'conf-null', Key }))).VersionId,
      (await s3.send(new GetObjectAttributesCommand({ Bucket: 'conf-null', Key, ObjectAttributes: ['ETag'] }))).VersionId,
    ];
    expect(await reads('before')).toEqual([undefined, undefined, undefined]);

    await s3.send(new PutBucketVersioningCommand({ Bucket: 'conf-null', VersioningConfiguration: { Status: 'Enabled' } }));
    expect(await reads('before')).toEqual(['null', 'null', 'null']);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'conf-null', Key: 'before', VersionId: 'null' }))).VersionId).toBe('null');
    const v = await s3.send(new PutObjectCommand({ Bucket: 'conf-null', Key: 'after', Body: 'y' }));
    expect(await reads('after')).toEqual([v.VersionId, v.VersionId, v.VersionId]);

    await s3.send(new PutBucketVersioningCommand({ Bucket: 'conf-null', VersioningConfiguration: { Status: 'Suspended' } }));
    const suspended = await s3.send(new PutObjectCommand({ Bucket: 'conf-null', Key: 'suspended', Body: 'z' }));
    expect(suspended.VersionId).toBeUndefined(); // S3's PutObject answer in a suspended bucket has no version id
    expect(await reads('suspended')).toEqual(['null', 'null', 'null']);
  });
});

describe('x-amz-copy-source-version-id', () => {
  it('names the version copied on CopyObject and UploadPartCopy, "null" for a null version in a versioned bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'conf-copyv' }));
    await s3.send(new PutObjectCommand({ Bucket: 'conf-copyv', Key: 'plain', Body: 'before versioning' }));
    const unversioned = await s3.send(new CopyObjectCommand({ Bucket: 'conf-copyv', Key: 'plain-copy', CopySource: 'conf-copyv/plain' }));
    expect(unversioned.CopySourceVersionId).toBeUndefined();

    await s3.send(new PutBucketVersioningCommand({ Bucket: 'conf-copyv', VersioningConfiguration: { Status: 'Enabled' } }));
    const v = await s3.send(new PutObjectCommand({ Bucket: 'conf-copyv', Key: 'versioned', Body: 'v' }));
    const copyNull = await s3.send(new CopyObjectCommand({ Bucket: 'conf-copyv', Key: 'c1', CopySource: 'conf-copyv/plain?versionId=null' }));
    expect(copyNull.CopySourceVersionId).toBe('null');
    const copyV = await s3.send(new CopyObjectCommand({ Bucket: 'conf-copyv', Key: 'c2', CopySource: 'conf-copyv/versioned' }));
    expect(copyV.CopySourceVersionId).toBe(v.VersionId);

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'conf-copyv', Key: 'mp' }));
    const part = (CopySource: string) => s3.send(new UploadPartCopyCommand({ Bucket: 'conf-copyv', Key: 'mp', UploadId, PartNumber: 1, CopySource }));
    expect((await part(`conf-copyv/versioned?versionId=${v.VersionId}`)).CopySourceVersionId).toBe(v.VersionId);
    expect((await part('conf-copyv/versioned')).CopySourceVersionId).toBe(v.VersionId);
    expect((await part('conf-copyv/plain')).CopySourceVersionId).toBe('null');
    expect((await part('conf/copy/src')).CopySourceVersionId).toBeUndefined(); // a bucket that never had versioning
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'conf-copyv', Key: 'mp', UploadId }));
  });
});
