// Multipart checksums over HTTP with @aws-sdk/client-s3: CreateMultipartUpload's x-amz-checksum-type,
// the checksum every part keeps, CompleteMultipartUpload's part checksums, full-object checksum, checksum
// type and object size checked before anything is stored, and the object's checksum in the completion
// result, HEAD/GET (the SDK validates a FULL_OBJECT one as it reads), GetObjectAttributes, ListParts,
// ListMultipartUploads, UploadPartCopy and CopyObject.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { crc32, crc32c, crc64nvme } from '../src/native/index.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';
import { mulberry32, testSeed } from './helpers/prng.js';

type Alg = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

function digest(alg: Alg, data: Uint8Array): Buffer {
  if (alg === 'CRC64NVME') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(crc64nvme(data));
    return b;
  }
  if (alg === 'CRC32' || alg === 'CRC32C') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((alg === 'CRC32' ? crc32(data) : crc32c(data)) >>> 0);
    return b;
  }
  return createHash(alg === 'SHA1' ? 'sha1' : 'sha256').update(data).digest();
}
const b64 = (alg: Alg, data: Uint8Array): string => digest(alg, data).toString('base64');
const composite = (alg: Alg, parts: Buffer[]): string => `${b64(alg, Buffer.concat(parts.map((p) => digest(alg, p))))}-${parts.length}`;

const seed = testSeed();
const rng = mulberry32(seed);
const BUCKET = 'sums';

async function status(p: Promise<unknown>): Promise<{ status?: number; name?: string; message?: string }> {
  try {
    await p;
    return { status: 200 };
  } catch (err) {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, name: e.name, message: e.message };
  }
}

async function body(s3: S3Client, key: string, checksumMode = true): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(checksumMode ? { ChecksumMode: 'ENABLED' } : {}) }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe(`multipart checksums over S3 (seed ${seed})`, () => {
  let h: S3Harness;
  let s3: S3Client;

  beforeAll(async () => {
    h = await startHarness({ partBytesMin: 1024 });
    s3 = h.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Uploads parts with the SDK computing `alg` for each; returns what CompleteMultipartUpload needs. */
  async function uploadParts(key: string, uploadId: string, parts: Buffer[], alg?: Alg): Promise<CompletedPart[]> {
    const out: CompletedPart[] = [];
    for (let i = 0; i < parts.length; i++) {
      const r = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: parts[i], ...(alg ? { ChecksumAlgorithm: alg as ChecksumAlgorithm } : {}) }));
      if (alg) expect(r[`Checksum${alg}` as 'ChecksumCRC32'], `part ${i + 1}`).toBe(b64(alg, parts[i]));
      out.push({ PartNumber: i + 1, ETag: r.ETag, ...(alg ? { [`Checksum${alg}`]: b64(alg, parts[i]) } : {}) });
    }
    return out;
  }

  it('CRC64NVME FULL_OBJECT: checked at completion, then shown by HEAD, GET (validated by the SDK) and GetObjectAttributes', async () => {
    const key = 'full/crc64';
    const parts = [rng.bytes(150_000), rng.bytes(90_001), rng.bytes(7)];
    const whole = Buffer.concat(parts);
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' }));
    expect(c).toMatchObject({ ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' });
    const done = await uploadParts(key, c.UploadId!, parts, 'CRC64NVME');
    const r = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: done },
        ChecksumType: 'FULL_OBJECT', ChecksumCRC64NVME: b64('CRC64NVME', whole), MpuObjectSize: whole.length,
      }),
    );
    expect(r).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', whole), ChecksumType: 'FULL_OBJECT' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', whole), ChecksumType: 'FULL_OBJECT' });
    // As S3: the parts count comes only with `partNumber`.
    expect(head.PartsCount).toBeUndefined();
    const headPart = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 2 }));
    expect(headPart.PartsCount).toBe(3);
    expect((await body(s3, key)).equals(whole)).toBe(true);
    const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'] }));
    expect(attrs.Checksum).toEqual({ ChecksumCRC64NVME: b64('CRC64NVME', whole), ChecksumType: 'FULL_OBJECT' });
    expect(attrs.ObjectParts?.TotalPartsCount).toBe(3);
  });

  it('CRC32 COMPOSITE (the default type for CRC32): part checksums are required and checked; the value is shown with -N', async () => {
    const key = 'composite/crc32';
    const parts = [rng.bytes(70_000), rng.bytes(3_000)];
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC32' }));
    expect(c).toMatchObject({ ChecksumAlgorithm: 'CRC32', ChecksumType: 'COMPOSITE' });
    const done = await uploadParts(key, c.UploadId!, parts, 'CRC32');
    const complete = (list: CompletedPart[]) => s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: list } }));
    const missing = await status(complete(done.map((p, i) => (i === 1 ? { PartNumber: p.PartNumber, ETag: p.ETag } : p))));
    expect(missing).toMatchObject({ status: 400, name: 'InvalidRequest' });
    expect(missing.message).toContain('It was missing for part 2');
    const wrong = await status(complete(done.map((p, i) => (i === 0 ? { ...p, ChecksumCRC32: b64('CRC32', Buffer.from('other')) } : p))));
    expect(wrong).toMatchObject({ status: 400, name: 'InvalidPart' });
    const r = await complete(done);
    expect(r).toMatchObject({ ChecksumCRC32: composite('CRC32', parts), ChecksumType: 'COMPOSITE' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ChecksumCRC32: composite('CRC32', parts), ChecksumType: 'COMPOSITE' });
    expect((await body(s3, key)).equals(Buffer.concat(parts))).toBe(true);
  });

  it('each part keeps its checksum: GetObjectAttributes lists the parts (paged), a GET or HEAD of one part shows it', async () => {
    const key = 'parts/crc32c';
    const parts = [rng.bytes(40_000), rng.bytes(2_000), rng.bytes(31_000), rng.bytes(5)];
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: await uploadParts(key, c.UploadId!, parts, 'CRC32C') } }));
    const all = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ['ObjectParts'] }));
    expect(all.ObjectParts).toMatchObject({ TotalPartsCount: 4, IsTruncated: false, MaxParts: 1000 });
    expect(all.ObjectParts!.Parts!.map((p) => [p.PartNumber, p.Size, p.ChecksumCRC32C])).toEqual(parts.map((p, i) => [i + 1, p.length, b64('CRC32C', p)]));
    const page = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ['ObjectParts'], MaxParts: 2, PartNumberMarker: '1' }));
    expect(page.ObjectParts).toMatchObject({ IsTruncated: true, MaxParts: 2, PartNumberMarker: '1', NextPartNumberMarker: '3' });
    expect(page.ObjectParts!.Parts!.map((p) => p.PartNumber)).toEqual([2, 3]);
    for (let n = 1; n <= parts.length; n++) {
      // The SDK checks the body it reads against the part's checksum.
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: n, ChecksumMode: 'ENABLED' }));
      expect(got.ChecksumCRC32C, `part ${n}`).toBe(b64('CRC32C', parts[n - 1]!));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(parts[n - 1]!)).toBe(true);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: n, ChecksumMode: 'ENABLED' }));
      expect(head.ChecksumCRC32C).toBe(b64('CRC32C', parts[n - 1]!));
    }
    // A single-part object has no parts to list.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'parts/single', Body: parts[0], ChecksumAlgorithm: 'CRC32C' }));
    expect((await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'parts/single', ObjectAttributes: ['ObjectParts', 'ETag'] }))).ObjectParts).toBeUndefined();
    const bad = await status(s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ['ObjectParts'], MaxParts: -1 })));
    expect(bad).toMatchObject({ status: 400, name: 'InvalidArgument' });
  });

  it('SHA256 COMPOSITE and CRC32C FULL_OBJECT', async () => {
    for (const [alg, type] of [['SHA256', 'COMPOSITE'], ['CRC32C', 'FULL_OBJECT']] as const) {
      const key = `mixed/${alg}`;
      const parts = [rng.bytes(40_000), rng.bytes(40_000), rng.bytes(1)];
      const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: alg, ChecksumType: type }));
      const done = await uploadParts(key, c.UploadId!, parts, alg);
      const r = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: done }, ChecksumType: type }));
      const want = type === 'COMPOSITE' ? composite(alg, parts) : b64(alg, Buffer.concat(parts));
      expect(r[`Checksum${alg}`], alg).toBe(want);
      expect(r.ChecksumType).toBe(type);
      expect((await body(s3, key)).equals(Buffer.concat(parts))).toBe(true);
    }
  });

  it('a wrong full-object checksum, checksum type or object size stores nothing and leaves the upload open', async () => {
    const key = 'refused/crc32c';
    const parts = [rng.bytes(20_000), rng.bytes(20_000)];
    const whole = Buffer.concat(parts);
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' }));
    const done = await uploadParts(key, c.UploadId!, parts, 'CRC32C');
    const base = { Bucket: BUCKET, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: done } };
    const attempts = [
      [{ ChecksumCRC32C: b64('CRC32C', whole.subarray(1)) }, 'BadDigest'],
      [{ ChecksumType: 'COMPOSITE' as const }, 'BadDigest'],
      [{ ChecksumCRC32C: `${b64('CRC32C', whole)}-3` }, 'BadDigest'],
      [{ MpuObjectSize: whole.length + 1 }, 'InvalidRequest'],
      [{ ChecksumCRC32: b64('CRC32', whole) }, 'InvalidArgument'],
    ] as const;
    for (const [extra, name] of attempts) {
      expect(await status(s3.send(new CompleteMultipartUploadCommand({ ...base, ...extra }))), JSON.stringify(extra)).toMatchObject({ status: 400, name });
      expect(await status(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).toMatchObject({ status: 404 });
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId }));
    expect(listed).toMatchObject({ ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' });
    expect(listed.Parts?.map((p) => p.ChecksumCRC32C)).toEqual(parts.map((p) => b64('CRC32C', p)));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.ChecksumAlgorithm, u.ChecksumType])).toEqual([[key, 'CRC32C', 'FULL_OBJECT']]);
    const r = await s3.send(new CompleteMultipartUploadCommand({ ...base, ChecksumCRC32C: b64('CRC32C', whole), ChecksumType: 'FULL_OBJECT', MpuObjectSize: whole.length }));
    expect(r.ChecksumCRC32C).toBe(b64('CRC32C', whole));
  });

  it('refuses impossible algorithm and type pairs, and a part checksummed with another algorithm than its upload', async () => {
    expect(await status(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'x', ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' })))).toMatchObject({ status: 400, name: 'InvalidRequest' });
    expect(await status(s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'x', ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' })))).toMatchObject({ status: 400, name: 'InvalidRequest' });
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'other-alg', ChecksumAlgorithm: 'CRC32' }));
    const r = await status(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'other-alg', UploadId: c.UploadId, PartNumber: 1, Body: rng.bytes(5000), ChecksumAlgorithm: 'CRC32C' })));
    expect(r).toMatchObject({ status: 400, name: 'InvalidRequest' });
    expect(r.message).toContain('expected checksum Type: crc32');
    expect((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'other-alg', UploadId: c.UploadId }))).Parts ?? []).toEqual([]);
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'x' }))).Uploads ?? []).toEqual([]);
  });

  it('an upload without an algorithm gets a FULL_OBJECT CRC64NVME (the SDK sends CRC32 per part meanwhile)', async () => {
    const key = 'default/none';
    const parts = [rng.bytes(30_000), rng.bytes(12_345)];
    const whole = Buffer.concat(parts);
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    expect(c.ChecksumAlgorithm).toBeUndefined();
    const done = await uploadParts(key, c.UploadId!, parts);
    const r = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: done } }));
    expect(r).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', whole), ChecksumType: 'FULL_OBJECT' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', whole), ChecksumType: 'FULL_OBJECT' });
    // CopyObject: the copy is one part, and a FULL_OBJECT checksum still holds for its bytes.
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'default/copy', CopySource: `${BUCKET}/${key}` }));
    expect(await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'default/copy', ChecksumMode: 'ENABLED' }))).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', whole), ChecksumType: 'FULL_OBJECT' });
    expect((await body(s3, 'default/copy')).equals(whole)).toBe(true);
  });

  it('UploadPartCopy computes the upload’s checksum of the copied bytes; CopyObject drops a COMPOSITE checksum and computes what it is asked for', async () => {
    const src = rng.bytes(60_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/src', Body: src }));
    const key = 'copy/dst';
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }));
    const p1 = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId, PartNumber: 1, CopySource: `${BUCKET}/copy/src`, CopySourceRange: 'bytes=0-49999' }));
    expect(p1.CopyPartResult?.ChecksumCRC32).toBe(b64('CRC32', src.subarray(0, 50_000)));
    const tail = rng.bytes(999);
    const r2 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId, PartNumber: 2, Body: tail, ChecksumAlgorithm: 'CRC32' }));
    expect(r2.ChecksumCRC32).toBe(b64('CRC32', tail));
    const whole = Buffer.concat([src.subarray(0, 50_000), tail]);
    const r = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET, Key: key, UploadId: c.UploadId, ChecksumCRC32: b64('CRC32', whole), ChecksumType: 'FULL_OBJECT',
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: r2.ETag, ChecksumCRC32: r2.ChecksumCRC32 }] },
      }),
    );
    expect(r.ChecksumCRC32).toBe(b64('CRC32', whole));
    // A COMPOSITE checksum does not hold for a one-part copy: the copy gets a CRC64NVME of its bytes instead.
    const compositeBytes = await body(s3, 'composite/crc32');
    const copied = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/of-composite', CopySource: `${BUCKET}/composite/crc32` }));
    expect(copied.CopyObjectResult).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', compositeBytes), ChecksumType: 'FULL_OBJECT' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/of-composite', ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ChecksumCRC64NVME: b64('CRC64NVME', compositeBytes), ChecksumType: 'FULL_OBJECT' });
    expect(head.ChecksumCRC32).toBeUndefined();
    // x-amz-checksum-algorithm on CopyObject: that checksum, computed over the copied bytes, replaces the source's.
    const asked = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/sha256', CopySource: `${BUCKET}/copy/src`, ChecksumAlgorithm: 'SHA256' }));
    expect(asked.CopyObjectResult?.ChecksumSHA256).toBe(b64('SHA256', src));
    const h2 = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/sha256', ChecksumMode: 'ENABLED' }));
    expect([h2.ChecksumSHA256, h2.ChecksumCRC64NVME, h2.ChecksumType]).toEqual([b64('SHA256', src), undefined, 'FULL_OBJECT']);
    expect(await status(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy/bad', CopySource: `${BUCKET}/copy/src`, ChecksumAlgorithm: 'MD5' })))).toMatchObject({ status: 400, name: 'InvalidRequest' });
    expect(await status(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy/bad' })))).toMatchObject({ status: 404 });
  });

  it('conditional completion (If-None-Match: *, If-Match): refused with 412/404 and the upload left open, or completed', async () => {
    const key = 'cond/obj';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'old' }));
    const old = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const done = await uploadParts(key, c.UploadId!, [rng.bytes(2000)]);
    const complete = (cond: { IfNoneMatch?: string; IfMatch?: string }, k = key, id = c.UploadId) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: k, UploadId: id, MultipartUpload: { Parts: done }, ...cond }));
    expect(await status(complete({ IfNoneMatch: '*' }))).toMatchObject({ status: 412, name: 'PreconditionFailed' });
    expect(await status(complete({ IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toMatchObject({ status: 412, name: 'PreconditionFailed' });
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag).toBe(old.ETag);
    expect((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: c.UploadId }))).Parts).toHaveLength(1);
    const r = await complete({ IfMatch: old.ETag });
    expect(r.ETag).toMatch(/-1"$/);
    // If-Match on a key that does not exist: NoSuchKey, as for PutObject.
    const c2 = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'cond/missing' }));
    const parts2 = await uploadParts('cond/missing', c2.UploadId!, [rng.bytes(10)]);
    const missing = await status(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'cond/missing', UploadId: c2.UploadId, MultipartUpload: { Parts: parts2 }, IfMatch: old.ETag })));
    expect(missing).toMatchObject({ status: 404, name: 'NoSuchKey' });
    expect((await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'cond/missing', UploadId: c2.UploadId, MultipartUpload: { Parts: parts2 }, IfNoneMatch: '*' }))).ETag).toMatch(/-1"$/);
  });

  it('every checksum and type is the same after a restart', async () => {
    const keys = ['full/crc64', 'composite/crc32', 'mixed/SHA256', 'mixed/CRC32C', 'refused/crc32c', 'default/none', 'copy/dst'];
    const before = await Promise.all(keys.map((k) => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: k, ChecksumMode: 'ENABLED' }))));
    await h.restart();
    s3 = h.client();
    for (let i = 0; i < keys.length; i++) {
      const after = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keys[i], ChecksumMode: 'ENABLED' }));
      for (const f of ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256', 'ChecksumType', 'ETag'] as const) {
        expect(after[f], `${keys[i]} ${f}`).toBe(before[i][f]);
      }
      expect(before[i].ChecksumType, keys[i]).toBeDefined();
    }
  });
});
