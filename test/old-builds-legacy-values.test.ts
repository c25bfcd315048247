// An object an older sediment stored with values this one refuses for new writes (the old CLI took a
// content type, metadata and Cache-Control with a character past U+00FF, a line break, a control
// character): after the upgrade it can still be tagged and copied, keeping those values as stored.
import { CopyObjectCommand, CreateBucketCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { expect, test } from 'vitest';
import { copyOf, manifestOf, type Cleanup } from './helpers/old-builds.js';
import { startHarness } from './helpers/s3-server.js';

const FIXTURE = 'v1-496196a';

test('tagging and copying an object whose stored values no header carries keep them as stored', async ({ onTestFinished }) => {
  const cleanup: Cleanup = [];
  onTestFinished(async () => {
    for (const c of cleanup.reverse()) await c();
  });
  const want = manifestOf(FIXTURE).buckets.legacy!.objects[0]!;
  expect(want.legacyValues).toBe(true);
  const h = await startHarness({ dir: copyOf(FIXTURE, cleanup) });
  cleanup.push(() => h.close());
  const s3 = h.client();
  const stored = { contentType: 'text/plain; charset=\u20ac', userMetadata: { note: 'caf\u20ac', multi: 'line1\nline2' }, cacheControl: 'max-age=1\u0001' };
  const asStored = async (bucket: string, key: string): Promise<unknown> => {
    const i = await h.engine.headObject(bucket, key);
    return { contentType: i.contentType, userMetadata: i.userMetadata, cacheControl: i.headers.cacheControl };
  };
  expect(await asStored('legacy', 'values.txt')).toEqual(stored);

  // Tagging changes the tags only (it was refused: "content-type holds a character an HTTP header cannot carry").
  await s3.send(new PutObjectTaggingCommand({ Bucket: 'legacy', Key: 'values.txt', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
  expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'legacy', Key: 'values.txt' }))).TagSet).toEqual([{ Key: 'k', Value: 'v' }]);
  expect(await asStored('legacy', 'values.txt')).toEqual(stored);

  // A copy with the COPY directive has the source's values as stored (it was refused with InvalidArgument).
  await s3.send(new CreateBucketCommand({ Bucket: 'copies' }));
  const c = await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'values.txt', CopySource: 'legacy/values.txt' }));
  expect(c.CopyObjectResult!.ETag).toBe(want.etag);
  expect(await asStored('copies', 'values.txt')).toEqual(stored);
  // Served as the source is: RFC 2047-encoded.
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'copies', Key: 'values.txt' }));
  expect(head.Metadata!.note).toBe(`=?UTF-8?B?${Buffer.from('caf\u20ac').toString('base64')}?=`);

  // New values are still refused.
  await expect(h.engine.putObject('copies', 'new.txt', Buffer.from('x'), { userMetadata: { note: 'caf\u20ac' } })).rejects.toThrow(/HTTP header cannot carry/);
  await expect(h.engine.putObject('copies', 'new.txt', Buffer.from('x'), { contentType: 'text/\u20ac' })).rejects.toThrow(/HTTP header cannot carry/);
});
