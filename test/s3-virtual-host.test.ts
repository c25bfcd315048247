// Virtual-hosted-style addressing (`http://BUCKET.s3.test:PORT/KEY`) for a server given `domains`: the
// AWS SDK with forcePathStyle off (its default) does buckets, objects, listings, multipart and copies that
// way, while path-style requests keep working on the same server. Every name resolves to 127.0.0.1 through
// the client's agent, so no DNS is needed.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { normalizeDomains, virtualHostBucket } from '../src/util/domains.js';
import { presignUrl } from '../src/s3/sigv4-sign.js';
import { ACCESS_KEY, REGION, SECRET_KEY, loopbackAgent, makeClient, startHarness, type S3Harness } from './helpers/s3-server.js';
import { payloadBuffer } from './helpers/s3-data.js';

describe('virtualHostBucket / normalizeDomains', () => {
  it('takes the bucket from BUCKET.DOMAIN (any port, any case, a trailing dot), nothing from the domain itself or other hosts', () => {
    const d = ['s3.example.com'];
    expect(virtualHostBucket('photos.s3.example.com', d)).toBe('photos');
    expect(virtualHostBucket('Photos.S3.Example.COM:9000', d)).toBe('photos');
    expect(virtualHostBucket('my.dotted.bucket.s3.example.com.', d)).toBe('my.dotted.bucket');
    for (const host of ['s3.example.com', 's3.example.com:9000', 'xs3.example.com', '127.0.0.1:9000', '[::1]:9000', 'example.com', undefined]) {
      expect(virtualHostBucket(host, d)).toBeUndefined();
    }
    expect(virtualHostBucket('b.s3.example.com', [])).toBeUndefined();
    expect(normalizeDomains(['S3.Example.com.', 'localhost'])).toEqual(['s3.example.com', 'localhost']);
    for (const bad of ['', 'http://s3.example.com', 's3.example.com:9000', 's3..example.com', '-s3.example.com', 'a b']) {
      expect(() => normalizeDomains([bad]), bad).toThrow(/is not a domain name/);
    }
  });
});

describe('an S3 server with a domain', () => {
  let h: S3Harness;
  let vhost: S3Client;
  let path: S3Client;
  beforeAll(async () => {
    h = await startHarness({ domains: ['s3.test'], partBytesMin: 1024 });
    vhost = makeClient(`http://s3.test:${h.port}`, { forcePathStyle: false, requestHandler: { httpAgent: loopbackAgent() } });
    path = makeClient(`http://127.0.0.1:${h.port}`);
  });
  afterAll(async () => {
    vhost?.destroy();
    path?.destroy();
    await h?.close();
  });

  it('serves buckets, objects, listings, multipart uploads and copies addressed by host name; path style still works', async () => {
    await vhost.send(new CreateBucketCommand({ Bucket: 'vh-bucket' }));
    await vhost.send(new HeadBucketCommand({ Bucket: 'vh-bucket' }));
    const body = payloadBuffer(10_000, 7);
    await vhost.send(new PutObjectCommand({ Bucket: 'vh-bucket', Key: 'dir/a b+c.txt', Body: body }));
    const got = await vhost.send(new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'dir/a b+c.txt' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    // The same object by path style, from the same server.
    const byPath = await path.send(new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'dir/a b+c.txt' }));
    expect(Buffer.from(await byPath.Body!.transformToByteArray()).equals(body)).toBe(true);

    const { UploadId } = await vhost.send(new CreateMultipartUploadCommand({ Bucket: 'vh-bucket', Key: 'mp' }));
    const parts = [payloadBuffer(2048, 1), payloadBuffer(100, 2)];
    const etags: string[] = [];
    for (const [i, p] of parts.entries()) etags.push((await vhost.send(new UploadPartCommand({ Bucket: 'vh-bucket', Key: 'mp', UploadId, PartNumber: i + 1, Body: p }))).ETag!);
    await vhost.send(new CompleteMultipartUploadCommand({ Bucket: 'vh-bucket', Key: 'mp', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
    await vhost.send(new CopyObjectCommand({ Bucket: 'vh-bucket', Key: 'copy', CopySource: 'vh-bucket/mp' }));
    const copy = await vhost.send(new GetObjectCommand({ Bucket: 'vh-bucket', Key: 'copy' }));
    expect(Buffer.from(await copy.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);

    const listed = await vhost.send(new ListObjectsV2Command({ Bucket: 'vh-bucket' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['copy', 'dir/a b+c.txt', 'mp']);
    const del = await vhost.send(new DeleteObjectsCommand({ Bucket: 'vh-bucket', Delete: { Objects: [{ Key: 'copy' }, { Key: 'mp' }] } }));
    expect(del.Deleted?.length).toBe(2);
    expect((await path.send(new ListObjectsV2Command({ Bucket: 'vh-bucket' }))).Contents?.map((c) => c.Key)).toEqual(['dir/a b+c.txt']);
  });

  it('a presigned URL for BUCKET.DOMAIN works; the same signature under another bucket name does not', async () => {
    const put = await vhost.send(new PutObjectCommand({ Bucket: 'vh-bucket', Key: 'presigned/x y.txt', Body: 'signed by URL' }));
    expect(put.ETag).toBeTruthy();
    const url = presignUrl({ method: 'GET', url: `http://vh-bucket.s3.test:${h.port}/presigned/x%20y.txt`, expiresSec: 60, accessKeyId: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION, date: new Date() });
    const get = (host: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const u = new URL(url);
        const req = httpRequest({ host: '127.0.0.1', port: h.port, path: u.pathname + u.search, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(`vh-bucket.s3.test:${h.port}`)).toEqual({ status: 200, body: 'signed by URL' });
    expect((await get(`other-bucket.s3.test:${h.port}`)).status).toBe(403); // Host is signed
  });

  it('a missing bucket named by the host is NoSuchBucket naming it', async () => {
    const f = await vhost.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })).then(
      () => undefined,
      (e: { name: string; BucketName?: string }) => e,
    );
    expect(f?.name).toBe('NoSuchBucket');
  });
});

describe('an S3 server without a domain', () => {
  it('takes a virtual-hosted request as path style: the key is taken for a bucket, the request fails, nothing is written', async () => {
    const h = await startHarness();
    const vhost = makeClient(`http://s3.test:${h.port}`, { forcePathStyle: false, requestHandler: { httpAgent: loopbackAgent() } });
    try {
      const f = await vhost.send(new PutObjectCommand({ Bucket: 'some-bucket', Key: 'some-key', Body: 'x' })).then(
        () => undefined,
        (e: { name: string }) => e.name,
      );
      // PUT /some-key?x-id=PutObject reads as a bucket request with a sub-resource sediment does not have.
      expect(f).toBe('NotImplemented');
      expect(h.engine.listBuckets()).toEqual([]);
    } finally {
      vhost.destroy();
      await h.close();
    }
  });
});
