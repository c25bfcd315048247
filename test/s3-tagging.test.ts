// Object tagging through @aws-sdk/client-s3: x-amz-tagging on PUT, Put/Get/DeleteObjectTagging, S3's
// limits, bytes/ETag/Last-Modified untouched by a tag change, tags surviving a restart, and a lifecycle
// tag filter acting on tags set after the upload.
import {
  CreateBucketCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

let h: S3Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.client().send(new CreateBucketCommand({ Bucket: 'tags' }));
});
afterAll(async () => {
  await h?.close();
});

const tagsOf = async (key: string) => (await h.client().send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: key }))).TagSet;

describe('object tagging', () => {
  it('returns the tags given on PUT, replaces and deletes them without touching the object', async () => {
    const s3 = h.client();
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'a.txt', Body: 'hello', Tagging: 'kind=log&team=core' }));
    expect(await tagsOf('a.txt')).toEqual([{ Key: 'kind', Value: 'log' }, { Key: 'team', Value: 'core' }]);
    const before = await s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'a.txt' }));
    await new Promise((r) => setTimeout(r, 1100)); // Last-Modified has one-second resolution
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'a.txt', Tagging: { TagSet: [{ Key: 'kind', Value: 'tmp' }] } }));
    expect(await tagsOf('a.txt')).toEqual([{ Key: 'kind', Value: 'tmp' }]);
    const after = await s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'a.txt' }));
    expect(after.ETag).toBe(before.ETag);
    expect(after.LastModified).toEqual(before.LastModified);
    expect(after.TagCount).toBe(1);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'tags', Key: 'a.txt' }))).Body?.transformToString()).toBe('hello');
    await h.restart();
    expect(await tagsOf('a.txt')).toEqual([{ Key: 'kind', Value: 'tmp' }]);
    await h.client().send(new DeleteObjectTaggingCommand({ Bucket: 'tags', Key: 'a.txt' }));
    expect(await tagsOf('a.txt')).toEqual([]);
  });

  it("refuses tags outside S3's limits and tags of a missing object, changing nothing", async () => {
    const s3 = h.client();
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'b', Body: 'b', Tagging: 'x=1' }));
    const put = (TagSet: Array<{ Key: string; Value: string }>) => s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'b', Tagging: { TagSet } }));
    await expect(put([{ Key: 'k'.repeat(129), Value: 'v' }])).rejects.toMatchObject({ name: 'InvalidTag' });
    await expect(put([{ Key: 'k', Value: 'v'.repeat(257) }])).rejects.toMatchObject({ name: 'InvalidTag' });
    await expect(put([{ Key: 'k', Value: '1' }, { Key: 'k', Value: '2' }])).rejects.toMatchObject({ name: 'InvalidTag' });
    await expect(put(Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })))).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    await expect(s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'missing', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(s3.send(new GetObjectTaggingCommand({ Bucket: 'tags', Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(await tagsOf('b')).toEqual([{ Key: 'x', Value: '1' }]);
  });

  it('lets a lifecycle tag filter expire objects tagged after their upload', async () => {
    const s3 = h.client();
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'c', Body: 'c' }));
    await s3.send(new PutObjectCommand({ Bucket: 'tags', Key: 'd', Body: 'd' }));
    await h.engine.setBucketLifecycle('tags', { rules: [{ id: 'tmp', enabled: true, filter: { tags: [['kind', 'scratch']] }, expiration: { days: 1 } }] });
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'tags', Key: 'c', Tagging: { TagSet: [{ Key: 'kind', Value: 'scratch' }] } }));
    const r = await h.engine.runLifecycle({ asOfMs: Date.now() + 2 * DAY_MS });
    expect(r.expired.map((x) => x.key)).toEqual(['c']);
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'tags', Key: 'd' }))).resolves.toBeDefined();
  });
});
