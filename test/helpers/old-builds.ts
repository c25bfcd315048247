// Upgrades: a data directory written by an older build of sediment (test/fixtures/old-builds, one per data
// directory format 1 to 7, each made by test/fixtures/old-builds/make.mjs with the build named in its
// manifest) opens in this one with every object, version, setting and upload as that build wrote them,
// takes new writes, compaction and migration, and is raised only as docs/FORMAT.md §1.1 says. One test
// file per fixture (test/old-builds-v*.test.ts) calls upgradeTest.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand, GetObjectCommand, GetObjectLegalHoldCommand, GetObjectLockConfigurationCommand, GetObjectRetentionCommand,
  GetObjectTaggingCommand, ListBucketsCommand, ListObjectVersionsCommand, ListPartsCommand, PutObjectCommand, PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { RealFileSystem } from '../../src/index.js';
import { DATA_DIR_FORMAT_MANIFEST } from '../../src/format/constants.js';
import { openColdStore } from '../../src/s3/cold-config.js';
import { runCli } from './child.js';
import { startHarness, type S3Harness } from './s3-server.js';

export const OLD_BUILD_FIXTURES = fileURLToPath(new URL('../fixtures/old-builds/', import.meta.url));

interface ObjectEntry {
  key: string;
  versionId: string | null;
  isLatest: boolean;
  deleteMarker?: boolean;
  size: number;
  md5: string;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  storageClass?: string;
  tags?: Record<string, string>;
  retention?: { mode: string; retainUntil: string } | null;
  legalHold?: string | null;
  cacheControl?: string;
  /** Values no header carries (stored by the old CLI): checked through the engine, not over HTTP. */
  legacyValues?: boolean;
}
interface Manifest {
  commit: string;
  format: number;
  features: Record<string, boolean>;
  buckets: Record<string, { versioning: string | null; lifecycle: string[] | null; objectLock: { enabled: string; mode: string | null; days: number | null } | null; objects: ObjectEntry[] }>;
  uploads: Array<{ bucket: string; key: string; uploadId: string; checksum: string | null; md5: string; size: number; parts: Array<{ partNumber: number; size: number; etag: string; checksum?: string }> }>;
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const vid = (o: ObjectEntry): { VersionId?: string } => (o.versionId && o.versionId !== 'null' ? { VersionId: o.versionId } : {});
const formatOf = (dir: string): number => Number(/^sediment-data-dir (\d+)\n$/.exec(readFileSync(join(dir, 'FORMAT'), 'utf8'))![1]);

export type Cleanup = Array<() => Promise<void> | void>;

/** A copy of the fixture in a temp directory (opening it changes it). */
export function copyOf(name: string, cleanup: Cleanup): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sediment-old-build-')), 'data');
  cpSync(join(OLD_BUILD_FIXTURES, name), dir, { recursive: true });
  cleanup.push(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  return dir;
}

export function manifestOf(name: string): Manifest {
  return JSON.parse(readFileSync(join(OLD_BUILD_FIXTURES, `${name}.manifest.json`), 'utf8')) as Manifest;
}

/** The S3 front on DIR, with its default cold store (DIR/cold), as `sediment serve` opens it. */
async function serve(dir: string, cleanup: Cleanup): Promise<{ h: S3Harness; s3: S3Client; close: () => Promise<void> }> {
  const cold = await openColdStore(new RealFileSystem(), dir, {}, {});
  const h = await startHarness({ dir, coldStore: cold.store });
  const s3 = h.client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await h.close();
    await cold.close();
  };
  cleanup.push(close);
  return { h, s3, close };
}

/** Every bucket, listing, setting, version (bytes and metadata) and upload of the manifest, over S3 and the engine. */
async function expectAsWritten(m: Manifest, h: S3Harness, s3: S3Client, opts: { storageClass: boolean }): Promise<void> {
  const buckets = (await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name).sort();
  expect(buckets).toEqual(Object.keys(m.buckets).sort());
  for (const [bucket, b] of Object.entries(m.buckets)) {
    const v = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const listed = [
      ...(v.Versions ?? []).map((x) => `${x.Key} ${x.VersionId} ${x.IsLatest}`),
      ...(v.DeleteMarkers ?? []).map((x) => `${x.Key} ${x.VersionId} ${x.IsLatest} marker`),
    ].sort();
    expect(listed, bucket).toEqual(b.objects.map((o) => `${o.key} ${o.versionId ?? 'null'} ${o.isLatest}${o.deleteMarker ? ' marker' : ''}`).sort());
    if (b.versioning !== null) expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status ?? null, bucket).toBe(b.versioning);
    if (b.lifecycle !== null) {
      const rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules!;
      expect(rules.map((r) => r.ID).sort(), bucket).toEqual(b.lifecycle);
    }
    if (b.objectLock !== null) {
      const c = (await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration!;
      expect({ enabled: c.ObjectLockEnabled, mode: c.Rule?.DefaultRetention?.Mode ?? null, days: c.Rule?.DefaultRetention?.Days ?? null }, bucket).toEqual(b.objectLock);
    }
    for (const o of b.objects) {
      if (o.deleteMarker) continue;
      const what = `${bucket}/${o.key} ${o.versionId}`;
      const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, ...vid(o) }));
      const bytes = await g.Body!.transformToByteArray();
      expect({ size: bytes.length, md5: md5(bytes), etag: g.ETag }, what).toEqual({ size: o.size, md5: o.md5, etag: o.etag });
      if (opts.storageClass && o.storageClass !== undefined) expect(g.StorageClass ?? 'STANDARD', what).toBe(o.storageClass);
      const info = await h.engine.headObject(bucket, o.key, { versionId: o.versionId ?? undefined });
      expect({ contentType: info.contentType, metadata: info.userMetadata }, what).toEqual({ contentType: o.contentType, metadata: o.metadata });
      if (o.cacheControl !== undefined) expect(info.headers.cacheControl, what).toBe(o.cacheControl);
      if (!o.legacyValues) expect({ contentType: g.ContentType, metadata: g.Metadata }, what).toEqual({ contentType: o.contentType, metadata: o.metadata });
      if (o.tags !== undefined) {
        const t = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: o.key, ...vid(o) }));
        expect(Object.fromEntries((t.TagSet ?? []).map((x) => [x.Key, x.Value])), what).toEqual(o.tags);
      }
      if (o.retention) {
        const r = (await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: o.key, ...vid(o) }))).Retention!;
        expect({ mode: r.Mode, retainUntil: r.RetainUntilDate!.toISOString() }, what).toEqual(o.retention);
      }
      if (o.legalHold) expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: o.key, ...vid(o) }))).LegalHold!.Status, what).toBe(o.legalHold);
    }
  }
  for (const u of m.uploads) {
    const parts = (await s3.send(new ListPartsCommand({ Bucket: u.bucket, Key: u.key, UploadId: u.uploadId }))).Parts ?? [];
    expect(parts.map((p) => [p.PartNumber, p.ETag, p.Size]), u.key).toEqual(u.parts.map((p) => [p.partNumber, p.etag, p.size]));
  }
}

/** New writes after the upgrade: the uploads in progress completed, a put, a delete, tags and copies of old objects. */
async function writeMore(m: Manifest, s3: S3Client): Promise<void> {
  for (const u of m.uploads.splice(0)) {
    const parts = u.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag, ...(p.checksum ? { [`Checksum${u.checksum}`]: p.checksum } : {}) }));
    const r = await s3.send(new CompleteMultipartUploadCommand({ Bucket: u.bucket, Key: u.key, UploadId: u.uploadId, MultipartUpload: { Parts: parts } }));
    const g = await s3.send(new GetObjectCommand({ Bucket: u.bucket, Key: u.key }));
    const bytes = await g.Body!.transformToByteArray();
    expect(md5(bytes), u.key).toBe(u.md5);
    m.buckets[u.bucket]!.objects.push({ key: u.key, versionId: r.VersionId ?? null, isLatest: true, size: u.size, md5: u.md5, etag: g.ETag!, contentType: g.ContentType!, metadata: g.Metadata ?? {} });
  }
  const body = Buffer.from('written after the upgrade\n'.repeat(50));
  const p = await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'after/upgrade.txt', Body: body, ContentType: 'text/plain', Metadata: { by: 'new' } }));
  m.buckets.alpha!.objects.push({ key: 'after/upgrade.txt', versionId: null, isLatest: true, size: body.length, md5: md5(body), etag: p.ETag!, contentType: 'text/plain', metadata: { by: 'new' } });
  await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'small/b.json' }));
  m.buckets.alpha!.objects = m.buckets.alpha!.objects.filter((o) => o.key !== 'small/b.json');
  // Every current version of the old build is tagged and copied (both keep its stored content type and metadata).
  await s3.send(new CreateBucketCommand({ Bucket: 'copies' }));
  m.buckets.copies = { versioning: null, lifecycle: null, objectLock: null, objects: [] };
  for (const [bucket, b] of Object.entries(m.buckets)) {
    if (bucket === 'copies') continue;
    for (const o of [...b.objects]) {
      if (o.deleteMarker || !o.isLatest || o.key === 'after/upgrade.txt') continue;
      const tags = { upgraded: 'yes' };
      await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: o.key, Tagging: { TagSet: [{ Key: 'upgraded', Value: 'yes' }] } }));
      o.tags = tags;
      if (o.size > 64 << 10 && !o.legacyValues) continue; // the large ones are copied by other tests
      const c = await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: `${bucket}/${o.key}`, CopySource: encodeURIComponent(`${bucket}/${o.key}`) }));
      m.buckets.copies.objects.push({ ...o, key: `${bucket}/${o.key}`, versionId: null, etag: c.CopyObjectResult!.ETag!, storageClass: undefined, retention: undefined, legalHold: undefined });
    }
  }
}

/** The upgrade test of one fixture (its directory name in test/fixtures/old-builds). */
export function upgradeTest(name: string): void {
  describe(`data directory written by an older build: ${name}`, () => {
    const m = manifestOf(name);

    test('opens as written, takes new writes, compaction and migration, and reopens with every byte', { timeout: 60_000 }, async ({ onTestFinished }) => {
      const cleanup: Cleanup = [];
      onTestFinished(async () => {
        for (const c of cleanup.reverse()) await c();
      });
      const dir = copyOf(name, cleanup);
      expect(formatOf(dir)).toBe(m.format);
      const info = await runCli(dir, ['info', '--json']);
      expect(info.code, info.stderr).toBe(0);
      // Every open raises a directory below 5 to 5 (it then keeps DIR/manifest); nothing else is raised by reading.
      expect(JSON.parse(info.stdout).formatVersion).toBe(Math.max(m.format, DATA_DIR_FORMAT_MANIFEST));
      // That raise is told, once: the sediment that wrote the directory can no longer open it.
      if (m.format < DATA_DIR_FORMAT_MANIFEST) {
        expect(info.stderr).toBe(`sediment: warning: data directory raised from format ${m.format} to 5 (it now keeps DIR/manifest): sediment versions that read only up to format 4 refuse it from now on (docs/OPERATIONS.md "Upgrading and going back")\n`);
      } else {
        expect(info.stderr).toBe('');
      }
      const verify = await runCli(dir, ['verify', '--cold', '--objects']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stderr).toBe('');
      expect(verify.stdout).toMatch(/objects: every one as written/);

      let srv = await serve(dir, cleanup);
      await expectAsWritten(m, srv.h, srv.s3, { storageClass: true });
      // Reads and plain writes raise nothing: 1 to 4 were raised to 5 by the open (an older build then
      // refuses the directory); 5 to 7 stay as they were, so the build that wrote them still opens them.
      const plain = Buffer.from('a plain object\n');
      const p = await srv.s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'plain.txt', Body: plain, ContentType: 'text/plain' }));
      m.buckets.alpha!.objects.push({ key: 'plain.txt', versionId: null, isLatest: true, size: plain.length, md5: md5(plain), etag: p.ETag!, contentType: 'text/plain', metadata: {} });
      await srv.close();
      expect(formatOf(dir)).toBe(Math.max(m.format, DATA_DIR_FORMAT_MANIFEST));
      // The checkpoints this build wrote are of a version every build from format 3 on reads.
      for (const f of readdirSync(join(dir, 'checkpoints'))) {
        expect(readFileSync(join(dir, 'checkpoints', f)).readUInt16LE(8), f).toBeLessThanOrEqual(3);
      }

      srv = await serve(dir, cleanup);
      await writeMore(m, srv.s3);
      await srv.close();
      for (const args of [['compact', '--dead-share', '0.01'], ['migrate', '--as-of', '2045-01-01T00:00:00Z', '--level', '1']]) {
        const r = await runCli(dir, args);
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
      }
      srv = await serve(dir, cleanup);
      await expectAsWritten(m, srv.h, srv.s3, { storageClass: false });
      await srv.close();
      expect(formatOf(dir)).toBe(8); // the first multipart completion raised it
    });
  });
}
