// The cold tier behind the S3 front, with the cold segments in an S3 store (s3rver on 127.0.0.1):
// lifecycle rules set over S3 move objects at a migration pass; HEAD, GET and ListObjectsV2 report
// x-amz-storage-class GLACIER_IR; GETs (whole and ranged) are transparent; when the cold store is
// unreachable, cold GETs answer 503 ServiceUnavailable, hot objects are unaffected, a migration pass
// fails without moving or losing anything — and once the store is back, everything works again.
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutBucketLifecycleConfigurationCommand, PutObjectCommand, CreateBucketCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaintenancePool, Migrator, RealFileSystem } from '../src/index.js';
import { S3ColdStore } from '../src/s3/cold-store-s3.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;

let work = '';
let s3rver: S3rverInstance | undefined;
let port = 0;
let h: S3Harness;
let store: S3ColdStore;

async function startS3rver(p: number): Promise<void> {
  s3rver = new S3rver({ address: '127.0.0.1', port: p, silent: true, directory: join(work, 's3rver'), configureBuckets: [{ name: 'cold' }] });
  port = (await s3rver.run()).port;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sediment-s3-cold-'));
  await startS3rver(0);
  store = new S3ColdStore({ endpoint: `http://127.0.0.1:${port}`, bucket: 'cold', prefix: 'tier/', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', timeoutMs: 5_000 });
  h = await startHarness({ coldStore: store });
});

afterAll(async () => {
  await h?.close();
  store?.close();
  await s3rver?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const body = (n: number, seed: number): Buffer => fillLogText(Buffer.alloc(n), seed);
const DAY = 86_400_000;

async function getBytes(key: string, range?: string): Promise<Buffer> {
  const r = await h.client().send(new GetObjectCommand({ Bucket: 'logs', Key: key, Range: range }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function statusOf(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
    return { status: 200, code: '' };
  } catch (err) {
    const e = err as S3ServiceException;
    return { status: e.$metadata?.httpStatusCode ?? 0, code: e.name };
  }
}

describe('cold tier in an S3 store (s3rver)', () => {
  it('migrates, reports GLACIER_IR, serves whole and ranged GETs, answers 503 while the store is down and recovers', async () => {
    const c = h.client();
    await c.send(new CreateBucketCommand({ Bucket: 'logs' }));
    const objects = new Map<string, Buffer>();
    for (let i = 0; i < 12; i++) objects.set(`2026/11/${String(i).padStart(2, '0')}.log`, body(i === 3 ? 2_500_000 : 20_000 + i * 3_000, i));
    for (const [key, b] of objects) await c.send(new PutObjectCommand({ Bucket: 'logs', Key: key, Body: b }));
    await c.send(new PutObjectCommand({ Bucket: 'logs', Key: 'hot/readme', Body: 'hot' }));
    await c.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: 'logs',
      LifecycleConfiguration: { Rules: [{ ID: 'to-cold', Status: 'Enabled', Filter: { Prefix: '2026/' }, Transitions: [{ Days: 1, StorageClass: 'GLACIER_IR' }] }] },
    }));
    const pool = new MaintenancePool(new RealFileSystem(), 1);
    const migrator = new Migrator(h.engine.coldAccess(), store, pool, { batchBytesMax: 128 << 10 });
    try {
      const r = await migrator.runPass({ asOfMs: Date.now() + 3 * DAY });
      expect(r).toMatchObject({ objectsDue: 12, objectsMoved: 12, damaged: [] });
      expect(r.coldSegmentsWritten).toBeGreaterThan(1);

      const head = await c.send(new HeadObjectCommand({ Bucket: 'logs', Key: '2026/11/03.log' }));
      expect(head.StorageClass).toBe('GLACIER_IR');
      expect(head.ContentLength).toBe(2_500_000);
      expect((await c.send(new HeadObjectCommand({ Bucket: 'logs', Key: 'hot/readme' }))).StorageClass).toBeUndefined(); // STANDARD: header omitted
      const list = await c.send(new ListObjectsV2Command({ Bucket: 'logs' }));
      expect(list.Contents!.filter((o) => o.StorageClass === 'GLACIER_IR').length).toBe(12);
      expect(list.Contents!.find((o) => o.Key === 'hot/readme')!.StorageClass).toBe('STANDARD');
      for (const [key, b] of objects) expect((await getBytes(key)).equals(b), key).toBe(true);
      const got = await c.send(new GetObjectCommand({ Bucket: 'logs', Key: '2026/11/04.log' }));
      expect(got.StorageClass).toBe('GLACIER_IR');
      await got.Body!.transformToByteArray();
      const big = objects.get('2026/11/03.log')!;
      expect((await getBytes('2026/11/03.log', 'bytes=1000000-1500000')).equals(big.subarray(1_000_000, 1_500_001))).toBe(true);
      expect((await getBytes('2026/11/03.log', 'bytes=-100')).equals(big.subarray(big.length - 100))).toBe(true);
      expect((await getBytes('2026/11/05.log', 'bytes=7-20')).equals(objects.get('2026/11/05.log')!.subarray(7, 21))).toBe(true);

      // The cold store goes away.
      await s3rver!.close();
      const down = await statusOf(getBytes('2026/11/01.log'));
      expect(down).toEqual({ status: 503, code: 'ServiceUnavailable' });
      expect((await getBytes('hot/readme')).toString()).toBe('hot');
      await c.send(new PutObjectCommand({ Bucket: 'logs', Key: '2026/12/late.log', Body: body(30_000, 99) }));
      await expect(migrator.runPass({ asOfMs: Date.now() + 3 * DAY })).rejects.toMatchObject({ code: 'SEDIMENT_COLD_UNAVAILABLE' });
      expect((await getBytes('2026/12/late.log')).equals(body(30_000, 99))).toBe(true);

      // ...and comes back (same port, same data).
      await startS3rver(port);
      for (const [key, b] of objects) expect((await getBytes(key)).equals(b), key).toBe(true);
      const again = await migrator.runPass({ asOfMs: Date.now() + 3 * DAY });
      expect(again.objectsMoved).toBe(1);
      expect((await c.send(new HeadObjectCommand({ Bucket: 'logs', Key: '2026/12/late.log' }))).StorageClass).toBe('GLACIER_IR');
      expect((await getBytes('2026/12/late.log')).equals(body(30_000, 99))).toBe(true);

      // A restart keeps all of it (the index says where the cold bytes are; nothing remote is touched at open).
      await h.restart();
      for (const [key, b] of objects) expect((await getBytes(key)).equals(b), key).toBe(true);
    } finally {
      await pool.close();
    }
  }, 120_000);
});
