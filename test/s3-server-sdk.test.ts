// The S3 front driven by the current @aws-sdk/client-s3 with its defaults (request checksums on, so
// PUTs carry x-amz-checksum-crc32 in a header or as an aws-chunked trailer), path style, over a real
// socket on 127.0.0.1 and a real data directory. Phases write, restart engine + server on the same
// directory, and re-read everything that should have survived. The part-size minimum stays at S3's
// real 5 MiB in this file.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareUtf8Bytes, hashStream, mapLimit, md5Hex, multipartEtag, payloadBuffer, payloadMd5, payloadStream } from './helpers/s3-data.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

const MiB = 1024 * 1024;

let h: S3Harness;
let s3: S3Client;

/** What should be readable after a restart: bucket\0key → size, MD5 and (optionally) headers. */
interface Expected {
  size: number;
  md5: string;
  etag?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}
const model = new Map<string, Expected>();
const slot = (bucket: string, key: string): string => `${bucket}\u0000${key}`;
function remember(bucket: string, key: string, data: Buffer | { size: number; md5: string }, extra: Omit<Expected, 'size' | 'md5'> = {}): void {
  const e = Buffer.isBuffer(data) ? { size: data.length, md5: md5Hex(data) } : data;
  model.set(slot(bucket, key), { ...e, ...extra });
}
function forget(bucket: string, key: string): void {
  model.delete(slot(bucket, key));
}

interface SdkFailure {
  name: string;
  status: number | undefined;
  message: string;
}
/** Awaits `p`, expecting it to fail; returns the S3 error name and HTTP status. */
async function failure(p: Promise<unknown>): Promise<SdkFailure> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the request to fail, it succeeded');
}

async function bodyOf(out: GetObjectCommandOutput): Promise<Buffer> {
  return Buffer.from(await out.Body!.transformToByteArray());
}
async function get(bucket: string, key: string, extra: Partial<ConstructorParameters<typeof GetObjectCommand>[0]> = {}): Promise<{ out: GetObjectCommandOutput; body: Buffer }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return { out, body: await bodyOf(out) };
}
const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '');

/** GETs every object in the model (streamed, hashed) and checks size, MD5 and recorded headers. */
async function verifyModel(): Promise<number> {
  const entries = [...model.entries()];
  await mapLimit(entries, 8, async ([k, e]) => {
    const [bucket, key] = k.split('\u0000');
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const got = await hashStream(out.Body as Readable);
    expect({ key, ...got }).toEqual({ key, size: e.size, md5: e.md5 });
    expect(unquote(out.ETag)).toBe(e.etag ?? e.md5);
    if (e.contentType !== undefined) expect(out.ContentType).toBe(e.contentType);
    if (e.metadata !== undefined) expect(out.Metadata).toEqual(e.metadata);
  });
  return entries.length;
}

beforeAll(async () => {
  h = await startHarness();
  s3 = h.client();
});
afterAll(async () => {
  await h?.close();
});

async function restart(): Promise<void> {
  await h.restart();
  s3 = h.client();
}

// ------------------------------------------------------------------------------------------ buckets

describe('buckets', () => {
  it('creates with and without a LocationConstraint, lists, heads and locates them', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'beta', CreateBucketConfiguration: { LocationConstraint: 'us-east-1' as never } }));
    const bad = await failure(s3.send(new CreateBucketCommand({ Bucket: 'gamma', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })));
    expect(bad).toMatchObject({ name: 'InvalidLocationConstraint', status: 400 });
    // us-east-1 (this server's region) answers 200 to creating a bucket you own, as S3 does there; asking
    // for Object Lock the bucket does not have is still 409.
    expect((await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }))).$metadata.httpStatusCode).toBe(200);
    const again = await failure(s3.send(new CreateBucketCommand({ Bucket: 'alpha', ObjectLockEnabledForBucket: true })));
    expect(again).toMatchObject({ name: 'BucketAlreadyOwnedByYou', status: 409 });
    const invalid = await failure(s3.send(new CreateBucketCommand({ Bucket: 'Not_Valid' })));
    expect(invalid).toMatchObject({ name: 'InvalidBucketName', status: 400 });

    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toEqual(['alpha', 'beta']);
    for (const b of list.Buckets ?? []) expect(Math.abs(b.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(list.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);

    const head = await s3.send(new HeadBucketCommand({ Bucket: 'alpha' }));
    expect(head.BucketRegion).toBe('us-east-1');
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'nope-bucket' })))).toMatchObject({ status: 404 });

    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'beta' }));
    expect(loc.LocationConstraint ?? '').toBe(''); // us-east-1 is the empty constraint
    expect(await failure(s3.send(new GetBucketLocationCommand({ Bucket: 'nope-bucket' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });

  it('refuses to delete a bucket that is not empty, deletes an empty one', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'doomed' }));
    await s3.send(new PutObjectCommand({ Bucket: 'doomed', Key: 'x', Body: 'x' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'doomed' })))).toMatchObject({ name: 'BucketNotEmpty', status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'doomed', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'doomed' }));
    expect(await failure(s3.send(new HeadBucketCommand({ Bucket: 'doomed' })))).toMatchObject({ status: 404 });
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'doomed' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'doomed', Key: 'x', Body: 'x' })))).toMatchObject({ name: 'NoSuchBucket' });
  });
});

// ------------------------------------------------------------------------------------------ objects

describe('PutObject / GetObject / HeadObject', () => {
  const text = 'hello, sediment — ünïcödé 😀\n';
  const expires = new Date('2031-02-03T04:05:06Z');
  let textEtag = '';

  it('stores a string body with metadata and standard headers, returned by HEAD and GET', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'alpha',
        Key: 'docs/hello.txt',
        Body: text,
        ContentType: 'text/plain; charset=utf-8',
        ContentEncoding: 'identity',
        ContentDisposition: 'attachment; filename="hello.txt"',
        CacheControl: 'max-age=60, private',
        ContentLanguage: 'en-GB',
        Expires: expires,
        Metadata: { color: 'blue', 'multi-word': 'a value with spaces' },
      }),
    );
    textEtag = unquote(put.ETag);
    expect(textEtag).toBe(md5Hex(text));
    expect(put.ChecksumCRC32).toBe(crcBase64(Buffer.from(text)));
    expect(put.ChecksumType).toBe('FULL_OBJECT');

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'docs/hello.txt' }));
    expect(head.ContentLength).toBe(Buffer.byteLength(text));
    expect(unquote(head.ETag)).toBe(textEtag);
    expect(head.ContentType).toBe('text/plain; charset=utf-8');
    expect(head.ContentEncoding).toBe('identity');
    expect(head.ContentDisposition).toBe('attachment; filename="hello.txt"');
    expect(head.CacheControl).toBe('max-age=60, private');
    expect(head.ContentLanguage).toBe('en-GB');
    expect(head.Expires?.getTime()).toBe(expires.getTime());
    expect(head.Metadata).toEqual({ color: 'blue', 'multi-word': 'a value with spaces' });
    expect(Math.abs(head.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(head.AcceptRanges).toBe('bytes');
    expect(head.ChecksumCRC32).toBeUndefined(); // only with x-amz-checksum-mode: ENABLED

    const withSum = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'docs/hello.txt', ChecksumMode: 'ENABLED' }));
    expect(withSum.ChecksumCRC32).toBe(crcBase64(Buffer.from(text)));

    const { out, body } = await get('alpha', 'docs/hello.txt');
    expect(body.toString()).toBe(text);
    expect(out.ContentType).toBe('text/plain; charset=utf-8');
    expect(out.Metadata).toEqual({ color: 'blue', 'multi-word': 'a value with spaces' });
    remember('alpha', 'docs/hello.txt', Buffer.from(text), { contentType: 'text/plain; charset=utf-8', metadata: { color: 'blue', 'multi-word': 'a value with spaces' } });
  });

  it('stores a Buffer body and an empty body', async () => {
    const data = payloadBuffer(3 * MiB + 17, 1);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'bin/three-mib', Body: data }));
    expect(unquote(put.ETag)).toBe(md5Hex(data));
    const { out, body } = await get('alpha', 'bin/three-mib');
    expect(body.equals(data)).toBe(true);
    expect(out.ContentType).toBe('application/octet-stream');
    remember('alpha', 'bin/three-mib', data);

    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'bin/empty', Body: Buffer.alloc(0) }));
    const empty = await get('alpha', 'bin/empty');
    expect(empty.body.length).toBe(0);
    expect(unquote(empty.out.ETag)).toBe(md5Hex(''));
    remember('alpha', 'bin/empty', Buffer.alloc(0));
  });

  it('streams a 20 MiB body of unknown length (Readable + ContentLength, aws-chunked with trailer)', async () => {
    const size = 20 * MiB;
    const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'big/twenty', Body: payloadStream(size, 20), ContentLength: size }));
    const md5 = payloadMd5(size, 20);
    expect(unquote(put.ETag)).toBe(md5);
    const out = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'big/twenty' }));
    expect(out.ContentLength).toBe(size);
    expect(await hashStream(out.Body as Readable)).toEqual({ size, md5 });
    remember('alpha', 'big/twenty', { size, md5 });
  });

  it('serves single ranges: a-b, a-, suffix -n, clamps past the end, 416 at or past the size', async () => {
    const data = payloadBuffer(3 * MiB + 17, 1);
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-99', 10, 99],
      ['bytes=1048570-1048600', 1048570, 1048600], // across the engine's 1 MiB chunk boundary
      [`bytes=${data.length - 5}-`, data.length - 5, data.length - 1],
      ['bytes=-100', data.length - 100, data.length - 1],
      [`bytes=-${data.length + 50}`, 0, data.length - 1],
      [`bytes=3000000-${data.length + 1000}`, 3000000, data.length - 1],
    ];
    for (const [range, start, end] of cases) {
      const { out, body } = await get('alpha', 'bin/three-mib', { Range: range });
      expect({ range, len: body.length }).toEqual({ range, len: end - start + 1 });
      expect(body.equals(data.subarray(start, end + 1))).toBe(true);
      expect(out.ContentRange).toBe(`bytes ${start}-${end}/${data.length}`);
      expect(out.ContentLength).toBe(end - start + 1);
      expect(out.$metadata.httpStatusCode).toBe(206);
    }
    for (const range of [`bytes=${data.length}-`, `bytes=${data.length + 10}-${data.length + 20}`]) {
      expect(await failure(get('alpha', 'bin/three-mib', { Range: range }))).toMatchObject({ name: 'InvalidRange', status: 416 });
    }
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'bin/three-mib', Range: 'bytes=5-9' }));
    expect(head.ContentLength).toBe(5);
    expect(head.ContentRange).toBe(`bytes 5-9/${data.length}`);
  });

  it('evaluates If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since', async () => {
    const key = 'docs/hello.txt';
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const ok = async (extra: Parameters<typeof get>[2]) => expect((await get('alpha', key, extra)).body.toString()).toBe(text);
    await ok({ IfMatch: `"${textEtag}"` });
    await ok({ IfMatch: '*' });
    await ok({ IfNoneMatch: '"0123456789abcdef0123456789abcdef"' });
    await ok({ IfModifiedSince: past });
    await ok({ IfUnmodifiedSince: future });
    expect(await failure(get('alpha', key, { IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(get('alpha', key, { IfUnmodifiedSince: past }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect((await failure(get('alpha', key, { IfNoneMatch: `"${textEtag}"` }))).status).toBe(304);
    expect((await failure(get('alpha', key, { IfModifiedSince: future }))).status).toBe(304);
    // RFC 7232 precedence as S3 applies it: If-Match true + If-Unmodified-Since false → 200;
    // If-None-Match false + If-Modified-Since true → 304.
    await ok({ IfMatch: `"${textEtag}"`, IfUnmodifiedSince: past });
    expect((await failure(get('alpha', key, { IfNoneMatch: `"${textEtag}"`, IfModifiedSince: past }))).status).toBe(304);
    // Preconditions come before the range: an unsatisfiable range with a failed condition is 304/412, not 416.
    const beyond = `bytes=${Buffer.byteLength(text) + 10}-`;
    expect((await failure(get('alpha', key, { IfNoneMatch: `"${textEtag}"`, Range: beyond }))).status).toBe(304);
    expect(await failure(get('alpha', key, { IfMatch: '"0123456789abcdef0123456789abcdef"', Range: beyond }))).toMatchObject({ status: 412 });
    expect(await failure(get('alpha', key, { IfMatch: `"${textEtag}"`, Range: beyond }))).toMatchObject({ name: 'InvalidRange', status: 416 });
    // HEAD answers the same statuses (with no body).
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, IfMatch: '"nope"' })))).status).toBe(412);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, IfNoneMatch: `"${textEtag}"` })))).status).toBe(304);
  });

  it('applies response-* overrides to GET', async () => {
    const exp = new Date('2040-01-01T00:00:00Z');
    const { out, body } = await get('alpha', 'docs/hello.txt', {
      ResponseContentType: 'application/x-override',
      ResponseContentDisposition: 'inline; filename="x.bin"',
      ResponseCacheControl: 'no-store',
      ResponseContentLanguage: 'fr',
      ResponseContentEncoding: 'identity',
      ResponseExpires: exp,
    });
    expect(body.toString()).toBe(text);
    expect(out.ContentType).toBe('application/x-override');
    expect(out.ContentDisposition).toBe('inline; filename="x.bin"');
    expect(out.CacheControl).toBe('no-store');
    expect(out.ContentLanguage).toBe('fr');
    expect(out.ContentEncoding).toBe('identity');
    expect(out.Expires?.getTime()).toBe(exp.getTime());
  });

  it('answers NoSuchKey for a missing key (GET) and 404 (HEAD)', async () => {
    expect(await failure(get('alpha', 'no/such/key'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'no/such/key' })))).toMatchObject({ name: 'NotFound', status: 404 });
    expect(await failure(get('nope-bucket', 'k'))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });

  it('conditional PutObject: If-None-Match "*" creates once; If-Match replaces only the matching version', async () => {
    const key = 'cond/once';
    const first = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'first', IfNoneMatch: '*' }));
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'second', IfNoneMatch: '*' })))).toMatchObject({
      name: 'PreconditionFailed',
      status: 412,
    });
    expect((await get('alpha', key)).body.toString()).toBe('first');
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'third', IfMatch: '"0123456789abcdef0123456789abcdef"' })))).toMatchObject({
      status: 412,
    });
    const replaced = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: 'fourth', IfMatch: first.ETag }));
    expect(unquote(replaced.ETag)).toBe(md5Hex('fourth'));
    expect((await get('alpha', key)).body.toString()).toBe('fourth');
    // If-Match on a key that does not exist: S3 answers 404 NoSuchKey.
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cond/missing', Body: 'x', IfMatch: first.ETag })))).toMatchObject({
      name: 'NoSuchKey',
      status: 404,
    });
    // Exactly one of several racing If-None-Match: * writes wins.
    const racers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'cond/race', Body: `racer ${i}`, IfNoneMatch: '*' }))),
    );
    const winners = racers.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect((await get('alpha', 'cond/race')).body.toString()).toBe(`racer ${winners[0]}`);
    remember('alpha', key, Buffer.from('fourth'));
    remember('alpha', 'cond/race', Buffer.from(`racer ${winners[0]}`));
  });

  it('DeleteObject removes a key; deleting a missing key succeeds', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'del/me', Body: 'bye' }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'del/me' }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(await failure(get('alpha', 'del/me'))).toMatchObject({ name: 'NoSuchKey' });
    expect((await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'del/me' }))).$metadata.httpStatusCode).toBe(204);
  });
});

function crcBase64(data: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0);
  return b.toString('base64');
}

// ------------------------------------------------------------------------------------ DeleteObjects

describe('DeleteObjects', () => {
  it('reports every key when not quiet (missing keys count as deleted)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'beta', Key: 'd/1', Body: '1' }));
    await s3.send(new PutObjectCommand({ Bucket: 'beta', Key: 'd/2 two', Body: '2' }));
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'beta', Delete: { Objects: [{ Key: 'd/1' }, { Key: 'd/2 two' }, { Key: 'd/never' }], Quiet: false } }),
    );
    expect(out.Deleted?.map((d) => d.Key)).toEqual(['d/1', 'd/2 two', 'd/never']);
    expect(out.Errors ?? []).toEqual([]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'beta', Prefix: 'd/' }))).KeyCount).toBe(0);
  });

  it('deletes 1000 keys in one quiet request', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `bulk/${String(i).padStart(4, '0')} ü`);
    await mapLimit(keys, 32, (k) => h.engine.putObject('beta', k, k));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: 'beta', Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    expect(out.Deleted ?? []).toEqual([]);
    expect(out.Errors ?? []).toEqual([]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'beta', Prefix: 'bulk/' }))).KeyCount).toBe(0);
    const tooMany = [...keys, 'one-more'].map((Key) => ({ Key }));
    expect(await failure(s3.send(new DeleteObjectsCommand({ Bucket: 'beta', Delete: { Objects: tooMany } })))).toMatchObject({ name: 'MalformedXML', status: 400 });
  });
});

// ---------------------------------------------------------------------------------------- CopyObject

describe('CopyObject', () => {
  const srcKey = 'src dir/a+b ü 😀.txt';
  const srcBody = Buffer.from('copy me, please: ' + 'x'.repeat(5000));
  const srcMeta = { origin: 'copy-source', n: '1' };
  let srcEtag = '';

  beforeAll(async () => {
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'alpha', Key: srcKey, Body: srcBody, ContentType: 'text/x-source', Metadata: srcMeta, CacheControl: 'no-cache' }),
    );
    srcEtag = unquote(put.ETag);
    remember('alpha', srcKey, srcBody, { contentType: 'text/x-source', metadata: srcMeta });
  });

  const source = (bucket: string, key: string): string => `${bucket}/${encodeURIComponent(key)}`;

  it('COPY directive to another bucket keeps bytes, ETag, content type and metadata', async () => {
    const out = await s3.send(new CopyObjectCommand({ Bucket: 'beta', Key: 'copies/one', CopySource: source('alpha', srcKey) }));
    expect(unquote(out.CopyObjectResult?.ETag)).toBe(srcEtag);
    expect(Math.abs(out.CopyObjectResult!.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
    const { out: g, body } = await get('beta', 'copies/one');
    expect(body.equals(srcBody)).toBe(true);
    expect(g.ContentType).toBe('text/x-source');
    expect(g.Metadata).toEqual(srcMeta);
    expect(g.CacheControl).toBe('no-cache');
    remember('beta', 'copies/one', srcBody, { contentType: 'text/x-source', metadata: srcMeta });
  });

  it('REPLACE directive takes metadata and content type from the request', async () => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'alpha',
        Key: 'copies/replaced',
        CopySource: source('alpha', srcKey),
        MetadataDirective: 'REPLACE',
        ContentType: 'application/x-new',
        Metadata: { fresh: 'yes' },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'copies/replaced' }));
    expect(head.ContentType).toBe('application/x-new');
    expect(head.Metadata).toEqual({ fresh: 'yes' });
    expect(head.CacheControl).toBeUndefined();
    expect(unquote(head.ETag)).toBe(srcEtag);
    remember('alpha', 'copies/replaced', srcBody, { contentType: 'application/x-new', metadata: { fresh: 'yes' } });
  });

  it('decodes URL-encoded sources (%2B, spaces, unicode, leading slash) and reads a raw "+" as a plus', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'plus+sign', Body: 'plus' }));
    remember('alpha', 'plus+sign', Buffer.from('plus'));
    const variants: Array<[string, string, string]> = [
      [`/alpha/${encodeURIComponent(srcKey)}`, 'copies/leading-slash', srcBody.toString()],
      ['alpha/plus+sign', 'copies/raw-plus', 'plus'],
      ['alpha/plus%2Bsign', 'copies/encoded-plus', 'plus'],
      [`alpha/src%20dir/a%2Bb%20%C3%BC%20%F0%9F%98%80.txt`, 'copies/hand-encoded', srcBody.toString()],
    ];
    for (const [CopySource, Key, expected] of variants) {
      await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key, CopySource }));
      expect((await get('alpha', Key)).body.toString()).toBe(expected);
      remember('alpha', Key, Buffer.from(expected));
    }
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copies/x', CopySource: 'alpha/plus%20sign' })))).toMatchObject({
      name: 'NoSuchKey',
      status: 404,
    });
  });

  it('checks copy-source conditions', async () => {
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const copy = (extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>) =>
      s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copies/conditional', CopySource: source('alpha', srcKey), ...extra }));
    for (const extra of [
      { CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"' },
      { CopySourceIfNoneMatch: `"${srcEtag}"` },
      { CopySourceIfModifiedSince: future },
      { CopySourceIfUnmodifiedSince: past },
    ]) {
      expect({ extra, f: await failure(copy(extra)) }).toMatchObject({ extra, f: { name: 'PreconditionFailed', status: 412 } });
    }
    expect(await failure(get('alpha', 'copies/conditional'))).toMatchObject({ name: 'NoSuchKey' });
    await copy({ CopySourceIfMatch: `"${srcEtag}"`, CopySourceIfUnmodifiedSince: future });
    await copy({ CopySourceIfNoneMatch: '"0123456789abcdef0123456789abcdef"', CopySourceIfModifiedSince: past });
    remember('alpha', 'copies/conditional', srcBody, { contentType: 'text/x-source', metadata: srcMeta });
  });

  it('refuses to copy an object onto itself without changes; REPLACE onto itself updates metadata', async () => {
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: srcKey, CopySource: source('alpha', srcKey) })))).toMatchObject({
      name: 'InvalidRequest',
      status: 400,
    });
    await s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copies/self', CopySource: source('alpha', srcKey) }));
    await s3.send(
      new CopyObjectCommand({ Bucket: 'alpha', Key: 'copies/self', CopySource: source('alpha', 'copies/self'), MetadataDirective: 'REPLACE', Metadata: { v: '2' } }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'copies/self' }));
    expect(head.Metadata).toEqual({ v: '2' });
    expect(unquote(head.ETag)).toBe(srcEtag);
    remember('alpha', 'copies/self', srcBody, { metadata: { v: '2' } });
  });

  it('answers NoSuchKey / NoSuchBucket for a missing source', async () => {
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'x', CopySource: 'alpha/does-not-exist' })))).toMatchObject({ name: 'NoSuchKey' });
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'x', CopySource: 'nope-bucket/k' })))).toMatchObject({ name: 'NoSuchBucket' });
  });
});

// ------------------------------------------------------------------------------------------ listing

describe('listing 2,500 keys in UTF-8 byte order', () => {
  const bucket = 'listing';
  const keys: string[] = [];
  const specials = [
    'a b c',
    'a+b',
    'a%2Fb',
    'ü/ñ/ø',
    'ü/ñ/ø ',
    '\uFF61 halfwidth', // U+FF61: UTF-16 sorts it after astral surrogates, UTF-8 before them
    '\uE000 private',
    '\uFFFD replacement',
    '😀 grin',
    '𝄞 clef/inner',
    '😀/nested/deep',
    'tab\there',
    '~tilde',
    'z'.repeat(400),
  ];

  beforeAll(async () => {
    for (let i = 0; keys.length < 2500 - specials.length; i++) {
      const dir = ['logs', 'data', 'ünï', '😀', 'a b'][i % 5];
      keys.push(`${dir}/${String(i % 37).padStart(2, '0')}/obj-${i}`);
    }
    keys.push(...specials);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // The awkward keys and a few hundred others go through the SDK; the bulk goes straight into the
    // engine (the SDK costs ~4 ms of client CPU per PUT here, and the listing is what is under test).
    const viaSdk = new Set([...specials, ...keys.slice(0, 300)]);
    await mapLimit(keys, 32, async (k, i) => {
      if (viaSdk.has(k)) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `#${i}` }));
      else await h.engine.putObject(bucket, k, `#${i}`);
    });
    keys.sort(compareUtf8Bytes);
  });

  async function pageV2(maxKeys: number, extra: Partial<ConstructorParameters<typeof ListObjectsV2Command>[0]> = {}) {
    const seen: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    for (;;) {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: maxKeys, ContinuationToken: token, ...extra }));
      pages++;
      const n = (out.Contents?.length ?? 0) + (out.CommonPrefixes?.length ?? 0);
      expect(out.KeyCount).toBe(n);
      expect(n).toBeLessThanOrEqual(maxKeys);
      seen.push(...(out.Contents ?? []).map((c) => c.Key!));
      prefixes.push(...(out.CommonPrefixes ?? []).map((c) => c.Prefix!));
      if (!out.IsTruncated) break;
      expect(n).toBe(maxKeys);
      expect(out.NextContinuationToken).toBeTruthy();
      token = out.NextContinuationToken;
    }
    return { seen, prefixes, pages };
  }

  it('V2 pages with MaxKeys 7 and 1000: every key exactly once, in UTF-8 byte order', async () => {
    const small = await pageV2(7);
    expect(small.pages).toBe(Math.ceil(2500 / 7));
    expect(small.seen).toEqual(keys);
    const big = await pageV2(1000);
    expect(big.pages).toBe(3);
    expect(big.seen).toEqual(keys);
  });

  it('V1 pages with markers (NextMarker or the last key)', async () => {
    for (const maxKeys of [7, 1000]) {
      const seen: string[] = [];
      let marker: string | undefined;
      for (;;) {
        const out = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: maxKeys, Marker: marker }));
        const page = (out.Contents ?? []).map((c) => c.Key!);
        seen.push(...page);
        if (!out.IsTruncated) break;
        marker = out.NextMarker ?? page[page.length - 1];
      }
      expect(seen).toEqual(keys);
    }
  });

  it('V2 start-after, prefix and delimiter (common prefixes paged exactly once)', async () => {
    const after = keys[1234];
    const rest = await pageV2(1000, { StartAfter: after });
    expect(rest.seen).toEqual(keys.slice(1235));

    const inDir = await pageV2(50, { Prefix: 'ünï/' });
    expect(inDir.seen).toEqual(keys.filter((k) => k.startsWith('ünï/')));

    const top = await pageV2(2, { Delimiter: '/' });
    const expectedTop = [...new Set(keys.filter((k) => k.includes('/')).map((k) => k.slice(0, k.indexOf('/') + 1)))].sort(compareUtf8Bytes);
    expect(top.prefixes).toEqual(expectedTop);
    expect(top.seen).toEqual(keys.filter((k) => !k.includes('/')));

    const nested = await pageV2(5, { Prefix: '😀/', Delimiter: '/' });
    const under = keys.filter((k) => k.startsWith('😀/')).map((k) => k.slice('😀/'.length));
    expect(nested.prefixes).toEqual([...new Set(under.filter((k) => k.includes('/')).map((k) => `😀/${k.slice(0, k.indexOf('/') + 1)}`))].sort(compareUtf8Bytes));
    expect(nested.seen).toEqual([]);
  });

  it('V1 with a delimiter pages by NextMarker: each common prefix exactly once', async () => {
    const expectedTop = [...new Set(keys.filter((k) => k.includes('/')).map((k) => k.slice(0, k.indexOf('/') + 1)))].sort(compareUtf8Bytes);
    for (const maxKeys of [1, 2, 1000]) {
      const prefixes: string[] = [];
      const seen: string[] = [];
      let marker: string | undefined;
      for (let page = 0; page < 100; page++) {
        const out = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', MaxKeys: maxKeys, Marker: marker }));
        prefixes.push(...(out.CommonPrefixes ?? []).map((p) => p.Prefix!));
        seen.push(...(out.Contents ?? []).map((c) => c.Key!));
        if (!out.IsTruncated) break;
        expect(out.NextMarker).toBeTruthy();
        marker = out.NextMarker;
      }
      expect({ maxKeys, prefixes }).toEqual({ maxKeys, prefixes: expectedTop });
      expect(seen).toEqual(keys.filter((k) => !k.includes('/')));
    }
  });

  it('V2 fetch-owner and V1 owner; sizes and ETags in the entries', async () => {
    const without = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 3 }));
    expect(without.Contents?.[0].Owner).toBeUndefined();
    const withOwner = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 3, FetchOwner: true }));
    expect(withOwner.Contents?.[0].Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 3 }));
    expect(v1.Contents?.[0].Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
    const first = withOwner.Contents![0];
    const body = (await get(bucket, first.Key!)).body;
    expect(first.Size).toBe(body.length);
    expect(unquote(first.ETag)).toBe(md5Hex(body));
    expect(first.StorageClass).toBe('STANDARD');
  });

  it('EncodingType url encodes keys, prefixes and markers (decoded, they page exactly)', async () => {
    const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    const seen: string[] = [];
    let token: string | undefined;
    for (;;) {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 400, ContinuationToken: token, EncodingType: 'url' }));
      expect(out.EncodingType).toBe('url');
      for (const c of out.Contents ?? []) {
        expect(c.Key).not.toMatch(/[ \t\u0080-\uFFFF]/); // no raw space, tab or non-ASCII
        seen.push(decode(c.Key!));
      }
      if (!out.IsTruncated) break;
      token = out.NextContinuationToken;
    }
    expect(seen).toEqual(keys);
    const pre = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a b', Delimiter: '/', EncodingType: 'url' }));
    expect(pre.CommonPrefixes?.map((p) => decode(p.Prefix!))).toEqual(['a b/']);
    expect(decode(pre.Prefix!)).toBe('a b');
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Marker: 'ü/ñ/ø', EncodingType: 'url', MaxKeys: 1 }));
    expect(decode(v1.Contents![0].Key!)).toBe('ü/ñ/ø ');
    expect(decode(v1.Marker!)).toBe('ü/ñ/ø');
  });

  it('answers NoSuchBucket, and an empty listing for an unknown prefix', async () => {
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'nope-bucket' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
    const none = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'zzz-nothing/' }));
    expect(none.KeyCount).toBe(0);
    expect(none.IsTruncated).toBe(false);
  });
});

// ------------------------------------------------------------------------------------ checksums

/** key, algorithm, value: checked again after the restart. */
const checksumsAfterRestart: Array<[string, ChecksumAlgorithm, string]> = [];

describe('flexible checksums', () => {
  const algorithms: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
  const field = (alg: ChecksumAlgorithm) => `Checksum${alg}` as const;
  const independent = (alg: ChecksumAlgorithm, data: Buffer): string | undefined => {
    if (alg === 'CRC32') return crcBase64(data);
    if (alg === 'SHA1') return createHash('sha1').update(data).digest('base64');
    if (alg === 'SHA256') return createHash('sha256').update(data).digest('base64');
    return undefined; // CRC32C / CRC64NVME: the SDK computed the value it sent, the server verified it
  };

  for (const alg of algorithms) {
    it(`${alg}: verified on PUT (header and trailer), stored, returned on HEAD/GET with ChecksumMode`, async () => {
      const data = payloadBuffer(300_000 + algorithms.indexOf(alg), 40 + algorithms.indexOf(alg));
      const key = `sums/${alg.toLowerCase()}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: key, Body: data, ChecksumAlgorithm: alg }));
      const value = (put as unknown as Record<string, unknown>)[field(alg)] as string;
      expect(value).toBeTruthy();
      if (independent(alg, data) !== undefined) expect(value).toBe(independent(alg, data));

      // The same bytes as a stream go as aws-chunked with the checksum in a trailer.
      const streamed = await s3.send(
        new PutObjectCommand({ Bucket: 'alpha', Key: `${key}-streamed`, Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), ContentLength: data.length, ChecksumAlgorithm: alg }),
      );
      expect((streamed as unknown as Record<string, unknown>)[field(alg)]).toBe(value);

      for (const k of [key, `${key}-streamed`]) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: k, ChecksumMode: 'ENABLED' }));
        expect((head as unknown as Record<string, unknown>)[field(alg)]).toBe(value);
        // The SDK validates the GET body against the returned checksum itself.
        const { out, body } = await get('alpha', k, { ChecksumMode: 'ENABLED' });
        expect((out as unknown as Record<string, unknown>)[field(alg)]).toBe(value);
        expect(body.equals(data)).toBe(true);
        remember('alpha', k, data);
      }
      checksumsAfterRestart.push([key, alg, value]);
    });
  }

  it('a wrong checksum value is refused (BadDigest) and stores nothing', async () => {
    const wrong = Buffer.alloc(4).toString('base64');
    const f = await failure(s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'sums/wrong', Body: 'data', ChecksumCRC32: wrong })));
    expect(f.status).toBe(400);
    expect(f.name).toBe('BadDigest');
    expect(await failure(get('alpha', 'sums/wrong'))).toMatchObject({ name: 'NoSuchKey' });
  });
});
// ------------------------------------------------------------------------------------- awkward keys

const oddKeys = [
  'with space',
  '  leading and trailing  ',
  'ünïcödé/日本語/emoji 😀 𝄞',
  'control\u0001\u0002\u001f\u007f chars',
  'line\nbreak\rand\ttab',
  '../../etc/passwd',
  'a/../b/./c',
  './dot',
  '..',
  'double//slash/',
  '%2F%20literal-percent',
  'plus+and=equals&amp;',
  'question?mark#hash',
  '<xml> & "quotes" \'apos\'',
  '~!@$^*()[]{}|\\;:,',
];

describe('keys with spaces, unicode, control characters and ../', () => {
  it('PUT, HEAD, GET, list (url-encoded) and DELETE each awkward key', async () => {
    for (const [i, key] of oddKeys.entries()) {
      const body = Buffer.from(`odd key #${i}: ${key}`);
      await s3.send(new PutObjectCommand({ Bucket: 'beta', Key: key, Body: body }));
      expect({ key, got: (await get('beta', key)).body.toString() }).toEqual({ key, got: body.toString() });
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'beta', Key: key }));
      expect(head.ContentLength).toBe(body.length);
      remember('beta', key, body);
    }
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: 'beta', EncodingType: 'url', ContinuationToken: token }));
      listed.push(...(out.Contents ?? []).map((c) => decodeURIComponent(c.Key!.replace(/\+/g, ' '))));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    for (const key of oddKeys) expect(listed).toContain(key);
    // "../" stays part of the key: it never escapes the bucket.
    expect(await failure(get('beta', '../alpha/docs/hello.txt'))).toMatchObject({ name: 'NoSuchKey' });
    expect(await failure(get('beta', 'etc/passwd'))).toMatchObject({ name: 'NoSuchKey' });

    const gone = oddKeys[3];
    await s3.send(new DeleteObjectCommand({ Bucket: 'beta', Key: gone }));
    expect(await failure(get('beta', gone))).toMatchObject({ name: 'NoSuchKey' });
    forget('beta', gone);
  });

  it('CopyObject and DeleteObjects with awkward keys', async () => {
    const src = oddKeys[2];
    await s3.send(new CopyObjectCommand({ Bucket: 'beta', Key: 'copy of ' + oddKeys[5], CopySource: `beta/${encodeURIComponent(src)}` }));
    expect((await get('beta', 'copy of ' + oddKeys[5])).body.toString()).toBe(`odd key #2: ${src}`);
    remember('beta', 'copy of ' + oddKeys[5], Buffer.from(`odd key #2: ${src}`));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: 'beta', Delete: { Objects: [{ Key: oddKeys[4] }, { Key: oddKeys[13] }] } }));
    expect(out.Deleted?.map((d) => d.Key)).toEqual([oddKeys[4], oddKeys[13]]);
    forget('beta', oddKeys[4]);
    forget('beta', oddKeys[13]);
  });
});

// -------------------------------------------------------------------------- restart between phases

describe('restart (phase 1 → 2)', () => {
  it('re-reads every object, header, checksum and listing after engine + server restart', async () => {
    await restart();
    const n = await verifyModel();
    expect(n).toBeGreaterThan(30);
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['alpha', 'beta', 'listing']);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'docs/hello.txt' }));
    expect(head.ContentDisposition).toBe('attachment; filename="hello.txt"');
    expect(head.Expires?.toISOString()).toBe('2031-02-03T04:05:06.000Z');
    for (const [key, alg, value] of checksumsAfterRestart) {
      const out = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, ChecksumMode: 'ENABLED' }));
      expect((out as unknown as Record<string, unknown>)[`Checksum${alg}`]).toBe(value);
    }
    let count = 0;
    let token: string | undefined;
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', ContinuationToken: token }));
      count += out.KeyCount ?? 0;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    expect(count).toBe(2500);
  });
});

// ---------------------------------------------------------------------------------------- multipart

describe('multipart uploads (real 5 MiB minimum part size)', () => {
  const key = 'mp/big object ü';
  let uploadId = '';
  const part1 = payloadBuffer(5 * MiB, 101);
  const part2 = payloadBuffer(5 * MiB + 12_345, 102);
  const copyRange: [number, number] = [1_000_000, 1_000_000 + 1.5 * MiB - 1]; // from big/twenty
  let partEtags: string[] = [];

  it('Create, UploadPart, restart mid-upload, UploadPartCopy with a range, ListParts, ListMultipartUploads', async () => {
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: key, ContentType: 'application/x-mp', Metadata: { kind: 'multipart' }, CacheControl: 'max-age=5' }),
    );
    expect(created.Bucket).toBe('alpha');
    expect(created.Key).toBe(key);
    uploadId = created.UploadId!;
    expect(uploadId).toBeTruthy();

    const p1 = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 1, Body: part1 }));
    expect(unquote(p1.ETag)).toBe(md5Hex(part1));
    // Part 2 first as a wrong body, then replaced: the last upload of a part number wins.
    await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 2, Body: payloadBuffer(5 * MiB, 999) }));

    await restart(); // an upload in progress survives a restart

    const p2 = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumber: 2, Body: part2 }));
    expect(unquote(p2.ETag)).toBe(md5Hex(part2));
    const p3 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'alpha',
        Key: key,
        UploadId: uploadId,
        PartNumber: 3,
        CopySource: 'alpha/big/twenty',
        CopySourceRange: `bytes=${copyRange[0]}-${copyRange[1]}`,
      }),
    );
    const copied = payloadBuffer(20 * MiB, 20).subarray(copyRange[0], copyRange[1] + 1);
    expect(unquote(p3.CopyPartResult?.ETag)).toBe(md5Hex(copied));
    partEtags = [p1.ETag!, p2.ETag!, p3.CopyPartResult!.ETag!];

    const parts = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, part1.length, partEtags[0]],
      [2, part2.length, partEtags[1]],
      [3, copied.length, partEtags[2]],
    ]);
    expect(parts.IsTruncated).toBe(false);
    const paged = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, MaxParts: 2 }));
    expect(paged.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(paged.IsTruncated).toBe(true);
    const rest = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId, PartNumberMarker: paged.NextPartNumberMarker }));
    expect(rest.Parts?.map((p) => p.PartNumber)).toEqual([3]);

    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha' }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toContainEqual([key, uploadId]);
    // Not visible as an object before Complete.
    expect(await failure(get('alpha', key))).toMatchObject({ name: 'NoSuchKey' });
  });

  it('Complete: ETag is MD5 of part MD5s + "-3", bytes and headers are right, ranges cross part boundaries', async () => {
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'alpha',
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: partEtags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const copied = payloadBuffer(20 * MiB, 20).subarray(copyRange[0], copyRange[1] + 1);
    const whole = Buffer.concat([part1, part2, copied]);
    const etag = multipartEtag([md5Hex(part1), md5Hex(part2), md5Hex(copied)]);
    expect(unquote(done.ETag)).toBe(etag);
    expect(done.Key).toBe(key);

    const { out, body } = await get('alpha', key);
    expect(body.length).toBe(whole.length);
    expect(body.equals(whole)).toBe(true);
    expect(unquote(out.ETag)).toBe(etag);
    expect(out.ContentType).toBe('application/x-mp');
    expect(out.Metadata).toEqual({ kind: 'multipart' });
    expect(out.CacheControl).toBe('max-age=5');
    for (const [start, end] of [
      [part1.length - 10, part1.length + 9],
      [part1.length + part2.length - 1, part1.length + part2.length],
      [part1.length - 3, part1.length + part2.length + 3],
    ]) {
      const r = await get('alpha', key, { Range: `bytes=${start}-${end}` });
      expect(r.body.equals(whole.subarray(start, end + 1))).toBe(true);
    }
    const tail = await get('alpha', key, { Range: 'bytes=-1000' });
    expect(tail.body.equals(whole.subarray(whole.length - 1000))).toBe(true);

    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha' }));
    expect(uploads.Uploads?.map((u) => u.UploadId) ?? []).not.toContain(uploadId);
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: key, UploadId: uploadId })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    remember('alpha', key, whole, { etag, contentType: 'application/x-mp', metadata: { kind: 'multipart' } });
  });

  it('GET / HEAD by PartNumber: each part as a 206 range with PartsCount; part 1 of any other object is all of it', async () => {
    const copied = payloadBuffer(20 * MiB, 20).subarray(copyRange[0], copyRange[1] + 1);
    const parts = [part1, part2, copied];
    const etag = multipartEtag(parts.map(md5Hex));
    let start = 0;
    for (const [i, part] of parts.entries()) {
      const end = start + part.length - 1;
      const { out, body } = await get('alpha', key, { PartNumber: i + 1 });
      expect(out.$metadata.httpStatusCode).toBe(206);
      expect(out.ContentRange).toBe(`bytes ${start}-${end}/${part1.length + part2.length + copied.length}`);
      expect(out.ContentLength).toBe(part.length);
      expect(out.PartsCount).toBe(3);
      expect(unquote(out.ETag)).toBe(etag); // the whole object's ETag, as S3 answers
      expect(md5Hex(body)).toBe(md5Hex(part));
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: i + 1 }));
      expect([head.$metadata.httpStatusCode, head.ContentLength, head.ContentRange, head.PartsCount]).toEqual([206, part.length, out.ContentRange, 3]);
      start = end + 1;
    }
    // A part the object does not have, on GET and HEAD (HEAD has no body: the status tells).
    expect(await failure(get('alpha', key, { PartNumber: 4 }))).toMatchObject({ name: 'InvalidPartNumber', status: 416 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: key, PartNumber: 4 })))).toMatchObject({ status: 416 });
    // Preconditions come first: a failing If-Match answers 412 even for a part that does not exist.
    expect(await failure(get('alpha', key, { PartNumber: 4, IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(get('alpha', key, { PartNumber: 1, Range: 'bytes=0-9' }))).toMatchObject({ name: 'InvalidRequest', status: 400 });
    for (const PartNumber of [0, 10_001]) {
      expect(await failure(get('alpha', key, { PartNumber }))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    }

    // An object not uploaded in parts is part 1; it has no part 2 and no PartsCount.
    const single = payloadBuffer(300_000, 103);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'mp/single', Body: single }));
    const one = await get('alpha', 'mp/single', { PartNumber: 1 });
    expect([one.out.$metadata.httpStatusCode, one.out.ContentRange, one.out.PartsCount]).toEqual([206, `bytes 0-${single.length - 1}/${single.length}`, undefined]);
    expect(one.body.equals(single)).toBe(true);
    expect(await failure(get('alpha', 'mp/single', { PartNumber: 2 }))).toMatchObject({ name: 'InvalidPartNumber', status: 416 });
    // An empty object: part 1 is empty, no byte for a Content-Range to name (200, no body).
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'mp/empty', Body: '' }));
    const none = await get('alpha', 'mp/empty', { PartNumber: 1 });
    expect([none.out.$metadata.httpStatusCode, none.out.ContentRange, none.body.length]).toEqual([200, undefined, 0]);
    for (const k of ['mp/single', 'mp/empty']) await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: k }));
  });

  it('GetObjectAttributes: ETag, size, storage class and parts count; checksums of a single-part object; bad requests', async () => {
    const copied = payloadBuffer(20 * MiB, 20).subarray(copyRange[0], copyRange[1] + 1);
    const all = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
    const mpAttrs = await s3.send(new GetObjectAttributesCommand({ Bucket: 'alpha', Key: key, ObjectAttributes: [...all] }));
    expect(mpAttrs.ETag).toBe(multipartEtag([part1, part2, copied].map(md5Hex)));
    expect(mpAttrs.ObjectSize).toBe(part1.length + part2.length + copied.length);
    expect(mpAttrs.StorageClass).toBe('STANDARD');
    expect(mpAttrs.ObjectParts?.TotalPartsCount).toBe(3);
    expect(mpAttrs.LastModified).toBeInstanceOf(Date);

    const body = payloadBuffer(70_000, 104);
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'attrs/single', Body: body, ChecksumAlgorithm: 'SHA256' }));
    const one = await s3.send(new GetObjectAttributesCommand({ Bucket: 'alpha', Key: 'attrs/single', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'] }));
    expect([one.ETag, one.ObjectSize, one.ObjectParts, one.StorageClass]).toEqual([md5Hex(body), body.length, undefined, undefined]);
    expect(one.Checksum?.ChecksumSHA256).toBe(createHash('sha256').update(body).digest('base64'));
    expect(one.Checksum?.ChecksumType).toBe('FULL_OBJECT');

    expect(await failure(s3.send(new GetObjectAttributesCommand({ Bucket: 'alpha', Key: 'attrs/single', ObjectAttributes: ['Size' as never] })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    expect(await failure(s3.send(new GetObjectAttributesCommand({ Bucket: 'alpha', Key: 'attrs/absent', ObjectAttributes: ['ETag'] })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'attrs/single' }));
  });

  it('PartNumber names the numbers the parts were uploaded as (parts 1 and 3: no part 2)', async () => {
    const k = 'mp/sparse';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: k }));
    const first = payloadBuffer(5 * MiB, 401);
    const a = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: k, UploadId, PartNumber: 1, Body: first }));
    const c = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: k, UploadId, PartNumber: 3, Body: 'the third part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: k, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 3, ETag: c.ETag }] } }));
    const third = await get('alpha', k, { PartNumber: 3 });
    expect(third.body.toString()).toBe('the third part');
    expect([third.out.ContentRange, third.out.PartsCount]).toEqual([`bytes ${first.length}-${first.length + 13}/${first.length + 14}`, 2]);
    expect(await failure(get('alpha', k, { PartNumber: 2 }))).toMatchObject({ name: 'InvalidPartNumber', status: 416 });
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: k }));
  });

  it('EntityTooSmall: two 1 MiB parts against the real 5 MiB minimum', async () => {
    const k = 'mp/too-small';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: k }));
    const a = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: k, UploadId, PartNumber: 1, Body: payloadBuffer(MiB, 201) }));
    const b = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: k, UploadId, PartNumber: 2, Body: payloadBuffer(MiB, 202) }));
    const f = await failure(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: k, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 2, ETag: b.ETag }] } })),
    );
    expect(f).toMatchObject({ name: 'EntityTooSmall', status: 400 });
    expect(await failure(get('alpha', k))).toMatchObject({ name: 'NoSuchKey' });
    // A single small part is fine: the last part may be smaller than the minimum.
    const one = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: k, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.ETag }] } }));
    expect(unquote(one.ETag)).toBe(multipartEtag([md5Hex(payloadBuffer(MiB, 201))]));
    remember('alpha', k, payloadBuffer(MiB, 201), { etag: unquote(one.ETag) });
  });

  it('InvalidPart (wrong ETag or a part never uploaded), InvalidPartOrder, then Abort', async () => {
    const k = 'mp/invalid';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: k }));
    const a = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: k, UploadId, PartNumber: 1, Body: payloadBuffer(5 * MiB, 301) }));
    const b = await s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: k, UploadId, PartNumber: 2, Body: 'tail' }));
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: 'alpha', Key: k, UploadId, MultipartUpload: { Parts } }));
    expect(await failure(complete([{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 2, ETag: '"0123456789abcdef0123456789abcdef"' }]))).toMatchObject({
      name: 'InvalidPart',
      status: 400,
    });
    expect(await failure(complete([{ PartNumber: 1, ETag: a.ETag }, { PartNumber: 7, ETag: b.ETag }]))).toMatchObject({ name: 'InvalidPart' });
    expect(await failure(complete([{ PartNumber: 2, ETag: b.ETag }, { PartNumber: 1, ETag: a.ETag }]))).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
    // Still in progress after the failed completes.
    expect((await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: k, UploadId }))).Parts).toHaveLength(2);

    const abort = await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: k, UploadId }));
    expect(abort.$metadata.httpStatusCode).toBe(204);
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: k, UploadId })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    expect(await failure(complete([{ PartNumber: 1, ETag: a.ETag }]))).toMatchObject({ name: 'NoSuchUpload' });
    expect(await failure(get('alpha', k))).toMatchObject({ name: 'NoSuchKey' });
  });

  it('NoSuchUpload for an unknown upload id; part numbers outside 1..10000 are refused', async () => {
    const f = await failure(s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'mp/x', UploadId: 'no-such-upload-id', PartNumber: 1, Body: 'x' })));
    expect(f).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    expect(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp/x', UploadId: 'no-such-upload-id' })))).toMatchObject({
      name: 'NoSuchUpload',
    });
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp/x' }));
    for (const PartNumber of [0, 10001]) {
      expect(await failure(s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'mp/x', UploadId, PartNumber, Body: 'x' })))).toMatchObject({
        name: 'InvalidArgument',
        status: 400,
      });
    }
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp/x', UploadId }));
  });

  it('ListMultipartUploads pages by key and upload id marker, with a prefix', async () => {
    const ids: Array<[string, string]> = [];
    for (const k of ['mpl/a', 'mpl/b', 'mpl/b', 'mpl/c d']) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: k }));
      ids.push([k, UploadId!]);
    }
    const seen: Array<[string, string]> = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha', Prefix: 'mpl/', MaxUploads: 1, KeyMarker, UploadIdMarker }));
      seen.push(...(out.Uploads ?? []).map((u): [string, string] => [u.Key!, u.UploadId!]));
      if (!out.IsTruncated) break;
      KeyMarker = out.NextKeyMarker;
      UploadIdMarker = out.NextUploadIdMarker;
    }
    expect(seen).toEqual(ids);
    for (const [k, id] of ids) await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: k, UploadId: id }));
  });
});

// ------------------------------------------------------------------------------------- final restart

describe('restart (phase 2 → end)', () => {
  it('re-reads everything again, including the multipart objects', async () => {
    await restart();
    expect(await verifyModel()).toBeGreaterThan(30);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha' }));
    expect(uploads.Uploads ?? []).toEqual([]);
    const r = await get('alpha', 'mp/big object ü', { Range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` });
    const across = Buffer.concat([payloadBuffer(5 * MiB, 101).subarray(5 * MiB - 2), payloadBuffer(5 * MiB + 12_345, 102).subarray(0, 2)]);
    expect(r.body.equals(across)).toBe(true);
  });
});
