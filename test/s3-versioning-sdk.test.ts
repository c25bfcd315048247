// Versioning and Object Lock through @aws-sdk/client-s3 against the in-process server on 127.0.0.1:
// version ids on PUT/GET/HEAD/DELETE/copy, delete markers (404 / 405 with x-amz-delete-marker),
// ListObjectVersions paging, and every deletion path tried against a locked version (DeleteObject,
// DeleteObjects, retention shortening, DeleteBucket), before and after a restart.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

let h: S3Harness;
let s3: S3Client;

beforeAll(async () => {
  h = await startHarness();
  s3 = h.client();
});

afterAll(async () => {
  await h.close();
});

/** The S3 error (code and HTTP status) a command fails with. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number; headers: Record<string, string> }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) {
      return { name: err.name, status: err.$metadata.httpStatusCode, headers: ((err.$response as { headers?: Record<string, string> } | undefined)?.headers ?? {}) };
    }
    throw err;
  }
  throw new Error('the command succeeded');
}

async function text(bucket: string, key: string, versionId?: string): Promise<string> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return r.Body!.transformToString();
}

describe('versioning over S3', () => {
  it('versions, delete markers and version ids', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'ver' }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'ver' }))).Status).toBeUndefined();
    const before = await s3.send(new PutObjectCommand({ Bucket: 'ver', Key: 'doc', Body: 'null version' }));
    expect(before.VersionId).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'ver', VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'ver' }))).Status).toBe('Enabled');
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: 'ver', Key: 'doc', Body: 'one' }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: 'ver', Key: 'doc', Body: 'two' }))).VersionId!;
    expect(v1).toMatch(/^\d+$/);
    expect(v2 > v1).toBe(true);
    expect(await text('ver', 'doc')).toBe('two');
    expect(await text('ver', 'doc', v1)).toBe('one');
    expect(await text('ver', 'doc', 'null')).toBe('null version');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: v1 }));
    expect(head.VersionId).toBe(v1);
    expect(head.ContentLength).toBe(3);

    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'ver', Key: 'doc' }));
    expect(del.DeleteMarker).toBe(true);
    expect(del.VersionId).toMatch(/^\d+$/);
    const gone = await failure(s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc' })));
    expect(gone.name).toBe('NoSuchKey');
    expect(gone.headers['x-amz-delete-marker']).toBe('true');
    const marker = await failure(s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: del.VersionId })));
    expect(marker.status).toBe(405);
    expect(marker.name).toBe('MethodNotAllowed');
    expect((await failure(s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: '0000000000999999' })))).name).toBe('NoSuchVersion');
    expect((await failure(s3.send(new GetObjectCommand({ Bucket: 'ver', Key: 'doc', VersionId: 'bogus' })))).name).toBe('InvalidArgument');

    // Copy an old version back: it becomes the current object again.
    const copied = await s3.send(new CopyObjectCommand({ Bucket: 'ver', Key: 'doc', CopySource: `ver/doc?versionId=${v1}` }));
    expect(copied.VersionId).toMatch(/^\d+$/);
    expect(copied.CopySourceVersionId).toBe(v1);
    expect(await text('ver', 'doc')).toBe('one');

    const list = await s3.send(new ListObjectVersionsCommand({ Bucket: 'ver' }));
    expect(list.Versions!.map((v) => [v.VersionId, v.IsLatest, v.Size])).toEqual([
      [copied.VersionId, true, 3],
      [v2, false, 3],
      [v1, false, 3],
      ['null', false, 12],
    ]);
    expect(list.DeleteMarkers!.map((d) => [d.Key, d.VersionId, d.IsLatest])).toEqual([['doc', del.VersionId, false]]);

    // DeleteObjects: by version, and a marker.
    const multi = await s3.send(new DeleteObjectsCommand({ Bucket: 'ver', Delete: { Objects: [{ Key: 'doc', VersionId: v2 }, { Key: 'other' }] } }));
    expect(multi.Deleted!.map((d) => [d.Key, d.VersionId, d.DeleteMarker ?? false])).toEqual([
      ['doc', v2, false],
      ['other', undefined, true],
    ]);
    expect(multi.Deleted![1].DeleteMarkerVersionId).toMatch(/^\d+$/);
    expect((await failure(s3.send(new DeleteBucketCommand({ Bucket: 'ver' })))).name).toBe('BucketNotEmpty');

    await s3.send(new PutBucketVersioningCommand({ Bucket: 'ver', VersioningConfiguration: { Status: 'Suspended' } }));
    const suspended = await s3.send(new PutObjectCommand({ Bucket: 'ver', Key: 'doc', Body: 'new null' }));
    expect(suspended.VersionId).toBeUndefined();
    expect(await text('ver', 'doc', 'null')).toBe('new null');

    await h.restart();
    s3 = h.client();
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'ver' }))).Status).toBe('Suspended');
    expect(await text('ver', 'doc', v1)).toBe('one');
    // Remove every version and marker: then the bucket can go.
    const all = await s3.send(new ListObjectVersionsCommand({ Bucket: 'ver' }));
    const ids = [...(all.Versions ?? []), ...(all.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId! }));
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: 'ver', Delete: { Objects: ids, Quiet: true } }));
    expect(res.Errors ?? []).toEqual([]);
    await s3.send(new DeleteBucketCommand({ Bucket: 'ver' }));
  });

  it('ListObjectVersions pages with key and version markers', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'pages' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'pages', VersioningConfiguration: { Status: 'Enabled' } }));
    const want: string[] = [];
    for (const key of ['a', 'b/c', 'b/d', 'e']) {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.unshift((await s3.send(new PutObjectCommand({ Bucket: 'pages', Key: key, Body: `${key}${i}` }))).VersionId!);
      want.push(...ids.map((id) => `${key} ${id}`));
    }
    const got: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      const r = await s3.send(new ListObjectVersionsCommand({ Bucket: 'pages', MaxKeys: 7, KeyMarker, VersionIdMarker }));
      got.push(...(r.Versions ?? []).map((v) => `${v.Key} ${v.VersionId}`));
      if (!r.IsTruncated) break;
      KeyMarker = r.NextKeyMarker;
      VersionIdMarker = r.NextVersionIdMarker;
    }
    expect(got).toEqual(want);
    const grouped = await s3.send(new ListObjectVersionsCommand({ Bucket: 'pages', Delimiter: '/', MaxKeys: 30 }));
    expect(grouped.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['b/']);
    expect(grouped.Versions!.length).toBe(29);
  });
});

describe('object lock over S3', () => {
  const future = (days: number): Date => new Date(Date.now() + days * 86_400_000);

  it('refuses every deletion of a locked version, before and after a restart', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'vault', ObjectLockEnabledForBucket: true }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'vault' }))).Status).toBe('Enabled');
    expect((await failure(s3.send(new PutBucketVersioningCommand({ Bucket: 'vault', VersioningConfiguration: { Status: 'Suspended' } })))).name).toBe('InvalidBucketState');
    await s3.send(new PutObjectLockConfigurationCommand({
      Bucket: 'vault',
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
    }));
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'vault' }));
    expect(cfg.ObjectLockConfiguration?.Rule?.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 1 });

    const until = future(3);
    const c = (await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'c', Body: 'compliance', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }))).VersionId!;
    const g = (await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'g', Body: 'default governance' }))).VersionId!;
    const l = (await s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'l', Body: 'held', ObjectLockLegalHoldStatus: 'ON' }))).VersionId!;
    const headC = await s3.send(new HeadObjectCommand({ Bucket: 'vault', Key: 'c' }));
    expect(headC.ObjectLockMode).toBe('COMPLIANCE');
    expect(headC.ObjectLockRetainUntilDate?.getTime()).toBe(until.getTime());
    expect((await s3.send(new GetObjectRetentionCommand({ Bucket: 'vault', Key: 'g' }))).Retention?.Mode).toBe('GOVERNANCE');
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'vault', Key: 'l' }))).LegalHold?.Status).toBe('ON');

    const attempts = async (): Promise<void> => {
      for (const [key, id] of [['c', c], ['g', g], ['l', l]] as const) {
        const one = await failure(s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: key, VersionId: id })));
        expect([key, one.name, one.status]).toEqual([key, 'AccessDenied', 403]);
      }
      for (const [key, id] of [['c', c], ['l', l]] as const) {
        const bypass = await failure(s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: key, VersionId: id, BypassGovernanceRetention: true })));
        expect([key, bypass.name]).toEqual([key, 'AccessDenied']);
      }
      const many = await s3.send(new DeleteObjectsCommand({ Bucket: 'vault', BypassGovernanceRetention: false, Delete: { Objects: [{ Key: 'c', VersionId: c }, { Key: 'g', VersionId: g }, { Key: 'l', VersionId: l }] } }));
      expect(many.Errors!.map((e) => [e.Key, e.Code])).toEqual([['c', 'AccessDenied'], ['g', 'AccessDenied'], ['l', 'AccessDenied']]);
      expect(many.Deleted ?? []).toEqual([]);
      const shorten = await failure(s3.send(new PutObjectRetentionCommand({ Bucket: 'vault', Key: 'c', VersionId: c, BypassGovernanceRetention: true, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: future(1) } })));
      expect(shorten.name).toBe('AccessDenied');
      const weaken = await failure(s3.send(new PutObjectRetentionCommand({ Bucket: 'vault', Key: 'c', VersionId: c, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: future(30) } })));
      expect(weaken.name).toBe('AccessDenied');
      expect((await failure(s3.send(new DeleteBucketCommand({ Bucket: 'vault' })))).name).toBe('BucketNotEmpty');
      expect(await text('vault', 'c', c)).toBe('compliance');
      expect(await text('vault', 'l', l)).toBe('held');
    };
    await attempts();
    // A plain DELETE only adds a marker; the locked bytes stay.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'c' }));
    expect(marker.DeleteMarker).toBe(true);
    await h.restart();
    s3 = h.client();
    await attempts();
    // Governance bypass works for governance only; lengthening compliance is fine.
    await s3.send(new PutObjectRetentionCommand({ Bucket: 'vault', Key: 'c', VersionId: c, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: future(10) } }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'g', VersionId: g, BypassGovernanceRetention: true }));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: 'vault', Key: 'l', VersionId: l, LegalHold: { Status: 'OFF' } }));
    // l still has the bucket's default GOVERNANCE retention.
    expect((await failure(s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'l', VersionId: l })))).name).toBe('AccessDenied');
    await s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'l', VersionId: l, BypassGovernanceRetention: true }));
    expect((await failure(s3.send(new DeleteObjectCommand({ Bucket: 'vault', Key: 'c', VersionId: c, BypassGovernanceRetention: true })))).name).toBe('AccessDenied');
  });

  it('keeps the lock asked for at CreateMultipartUpload and stamps it on the completed object, across a restart', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'mpvault', ObjectLockEnabledForBucket: true }));
    const until = future(2);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpvault', Key: 'big', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON' }));
    // The upload record is durable before the parts: a restart in between keeps the lock request.
    await h.restart();
    s3 = h.client();
    const part = await s3.send(new UploadPartCommand({ Bucket: 'mpvault', Key: 'big', UploadId: up.UploadId, PartNumber: 1, Body: 'multipart locked body' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'mpvault', Key: 'big', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'mpvault', Key: 'big', VersionId: done.VersionId }));
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus]).toEqual(['COMPLIANCE', until.getTime(), 'ON']);
    const refused = await failure(s3.send(new DeleteObjectCommand({ Bucket: 'mpvault', Key: 'big', VersionId: done.VersionId, BypassGovernanceRetention: true })));
    expect(refused.name).toBe('AccessDenied');
    expect(await text('mpvault', 'big', done.VersionId)).toBe('multipart locked body');
    // In a bucket without Object Lock the same headers are refused, and no upload is created.
    await s3.send(new CreateBucketCommand({ Bucket: 'mpnolock' }));
    const bad = await failure(s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpnolock', Key: 'k', ObjectLockLegalHoldStatus: 'ON' })));
    expect(bad.name).toBe('InvalidRequest');
    expect(h.engine.listMultipartUploads('mpnolock')).toEqual([]);
  });

  it('rejects lock settings where S3 does', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'nolock' }));
    expect((await failure(s3.send(new PutObjectCommand({ Bucket: 'nolock', Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })))).name).toBe('InvalidRequest');
    expect((await failure(s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'nolock' })))).name).toBe('ObjectLockConfigurationNotFoundError');
    await s3.send(new CreateBucketCommand({ Bucket: 'lock2', ObjectLockEnabledForBucket: true }));
    const past = await failure(s3.send(new PutObjectCommand({ Bucket: 'lock2', Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() - 1000) })));
    expect(past.name).toBe('InvalidArgument');
    await s3.send(new PutObjectCommand({ Bucket: 'lock2', Key: 'k', Body: 'x' }));
    expect((await failure(s3.send(new GetObjectRetentionCommand({ Bucket: 'lock2', Key: 'k' })))).name).toBe('NoSuchObjectLockConfiguration');
    // Nothing was stored by the refused PUTs.
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'lock2' }));
    expect(versions.Versions!.length).toBe(1);
  });
});

describe('bad versioning and lock requests', () => {
  it('answer S3 error XML and change nothing', async () => {
    const { signedRequest, xmlField } = await import('./helpers/s3-raw.js');
    await s3.send(new CreateBucketCommand({ Bucket: 'hostile', ObjectLockEnabledForBucket: true }));
    const v = (await s3.send(new PutObjectCommand({ Bucket: 'hostile', Key: 'k', Body: 'x' }))).VersionId!;
    const cases: Array<{ method: string; path: string; body?: string; headers?: Record<string, string>; code: string; status: number }> = [
      { method: 'PUT', path: '/hostile?versioning', body: '<VersioningConfiguration><Status>Maybe</Status></VersioningConfiguration>', code: 'MalformedXML', status: 400 },
      { method: 'PUT', path: '/hostile?versioning', body: '<not xml', code: 'MalformedXML', status: 400 },
      { method: 'PUT', path: '/hostile?versioning', body: '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>', code: 'InvalidBucketState', status: 409 },
      { method: 'GET', path: '/hostile?versions&max-keys=-1', code: 'InvalidArgument', status: 400 },
      { method: 'GET', path: '/hostile?versions&version-id-marker=0000000000000001', code: 'InvalidArgument', status: 400 },
      { method: 'GET', path: '/hostile?versions&key-marker=k&version-id-marker=%00%00', code: 'InvalidArgument', status: 400 },
      { method: 'PUT', path: '/hostile?object-lock', body: '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>FOREVER</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>', code: 'MalformedXML', status: 400 },
      { method: 'PUT', path: '/hostile?object-lock', body: '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>', code: 'MalformedXML', status: 400 },
      { method: 'PUT', path: `/hostile/k?retention&versionId=${v}`, body: '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>yesterday</RetainUntilDate></Retention>', code: 'MalformedXML', status: 400 },
      { method: 'PUT', path: `/hostile/k?retention&versionId=${v}`, body: '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2001-01-01T00:00:00Z</RetainUntilDate></Retention>', code: 'InvalidArgument', status: 400 },
      { method: 'PUT', path: `/hostile/k?legal-hold&versionId=${v}`, body: '<LegalHold><Status>MAYBE</Status></LegalHold>', code: 'MalformedXML', status: 400 },
      { method: 'PUT', path: '/hostile/k2', body: 'x', headers: { 'x-amz-object-lock-mode': 'FOREVER', 'x-amz-object-lock-retain-until-date': '2099-01-01T00:00:00Z' }, code: 'InvalidArgument', status: 400 },
      { method: 'PUT', path: '/hostile/k2', body: 'x', headers: { 'x-amz-object-lock-legal-hold': 'maybe' }, code: 'InvalidArgument', status: 400 },
      { method: 'PUT', path: '/hostile/k2', body: 'x', headers: { 'x-amz-object-lock-retain-until-date': 'soon' }, code: 'InvalidArgument', status: 400 },
      { method: 'GET', path: '/hostile/k?versionId=12', code: 'InvalidArgument', status: 400 },
      { method: 'DELETE', path: '/hostile/k?versionId=..%2F..', code: 'InvalidArgument', status: 400 },
      { method: 'GET', path: '/hostile?retention', code: 'NotImplemented', status: 501 },
    ];
    for (const c of cases) {
      const res = await signedRequest({ method: c.method, path: c.path, port: h.port, body: c.body, headers: c.headers });
      expect([c.method, c.path, res.status, xmlField(res.body, 'Code')]).toEqual([c.method, c.path, c.status, c.code]);
    }
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket: 'hostile' }));
    expect(list.Versions!.map((x) => [x.Key, x.VersionId])).toEqual([['k', v]]);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'hostile' }))).Status).toBe('Enabled');
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: 'hostile' }))).ObjectLockConfiguration?.Rule).toBeUndefined();
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: 'hostile', Key: 'k' }))).LegalHold?.Status).toBe('OFF');
  });
});
