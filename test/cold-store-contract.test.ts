// One contract suite for every ColdStore (src/tier/cold-store.ts): in memory, a local directory on the
// in-memory file system (with a crash) and on the real disk, and S3 against s3rver and against a second
// sediment server, both on 127.0.0.1.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryFileSystem, RealFileSystem } from '../src/index.js';
import { S3ColdStore } from '../src/s3/cold-store-s3.js';
import type { ColdStore } from '../src/tier/cold-store.js';
import { LocalDirColdStore } from '../src/tier/local-dir-store.js';
import { MemoryColdStore } from '../src/tier/memory-store.js';
import { FaultFs } from './helpers/fault-fs.js';
import { ACCESS_KEY, SECRET_KEY, startHarness, type S3Harness } from './helpers/s3-server.js';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

const blob = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff));

let work = '';
let s3rver: S3rverInstance | undefined;
let s3rverPort = 0;
let sediment: S3Harness | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sediment-cold-'));
  const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(work, 's3rver'), configureBuckets: [{ name: 'cold' }] });
  s3rverPort = (await s3rver.run()).port;
  sediment = await startHarness();
  await sediment.client().send(new CreateBucketCommand({ Bucket: 'cold' }));
});

afterAll(async () => {
  await s3rver?.close();
  await sediment?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const stores: Array<[string, () => Promise<ColdStore>]> = [
  ['memory', async () => new MemoryColdStore()],
  ['local directory, in-memory file system', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/cold');
    return LocalDirColdStore.open(fs, '/cold/tier');
  }],
  ['local directory, real disk', async () => LocalDirColdStore.open(new RealFileSystem(), mkdtempSync(join(work, 'local-')))],
  ['S3: s3rver', async () => new S3ColdStore({ endpoint: `http://127.0.0.1:${s3rverPort}`, bucket: 'cold', prefix: `p${Math.random().toString(36).slice(2)}/`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })],
  ['S3: a second sediment server', async () => new S3ColdStore({ endpoint: sediment!.endpoint, bucket: 'cold', prefix: `p${Math.random().toString(36).slice(2)}/`, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY })],
];

describe.each(stores)('cold store contract: %s', (_name, makeStore) => {
  // Every store a test opens is closed after it: a local directory store holds its lock file open.
  const opened: ColdStore[] = [];
  const make = async (): Promise<ColdStore> => {
    const s = await makeStore();
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close?.();
  });

  it('puts whole blobs and reads exact ranges of them', async () => {
    const s = await make();
    const a = blob(300_000, 1);
    await s.put('seg/000001.cold', a);
    expect(await s.stat('seg/000001.cold')).toBe(a.length);
    expect((await s.readRange('seg/000001.cold', 0, a.length)).equals(a)).toBe(true);
    expect((await s.readRange('seg/000001.cold', 12_345, 100_000)).equals(a.subarray(12_345, 112_345))).toBe(true);
    expect((await s.readRange('seg/000001.cold', a.length - 1, 1)).equals(a.subarray(a.length - 1))).toBe(true);
    expect(await s.readRange('seg/000001.cold', 5, 0)).toHaveLength(0);
  });

  it('replaces a blob whole, lists by prefix in name order, deletes (also what is missing)', async () => {
    const s = await make();
    await s.put('b/2', blob(10, 2));
    await s.put('a/1', blob(20, 3));
    await s.put('b/1', blob(30, 4));
    await s.put('b/1', blob(40, 5));
    expect((await s.readRange('b/1', 0, 40)).equals(blob(40, 5))).toBe(true);
    expect(await s.list('b/')).toEqual([{ name: 'b/1', size: 40 }, { name: 'b/2', size: 10 }]);
    expect((await s.list()).map((x) => x.name)).toEqual(['a/1', 'b/1', 'b/2']);
    await s.delete('b/1');
    await s.delete('b/1');
    await s.delete('never-was');
    expect(await s.stat('b/1')).toBeUndefined();
    expect((await s.list()).map((x) => x.name)).toEqual(['a/1', 'b/2']);
  });

  it('refuses missing blobs, ranges past the end and bad names with typed errors', async () => {
    const s = await make();
    await s.put('x', blob(100, 6));
    await expect(s.readRange('missing', 0, 1)).rejects.toMatchObject({ code: 'SEDIMENT_COLD_NOT_FOUND' });
    await expect(s.readRange('x', 90, 11)).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_RANGE' });
    await expect(s.readRange('x', 101, 0)).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_RANGE' });
    await expect(s.readRange('x', -1, 1)).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_RANGE' });
    for (const bad of ['', '../x', 'a/../b', 'a b', 'a//b', '/abs']) await expect(s.put(bad, blob(1, 0))).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_ARGUMENT' });
  });
});

describe('cold store specifics', () => {
  it('local directory: one process at a time (a second open is SEDIMENT_LOCKED, naming the rule); the lock is not a blob', async () => {
    const dir = mkdtempSync(join(work, 'lock-'));
    const first = await LocalDirColdStore.open(new RealFileSystem(), dir);
    await first.put('a', blob(10, 1));
    await expect(LocalDirColdStore.open(new RealFileSystem(), dir)).rejects.toMatchObject({ code: 'SEDIMENT_LOCKED', message: expect.stringMatching(/belongs to one data directory/) });
    expect((await first.list()).map((b) => b.name)).toEqual(['a']);
    await first.close();
    const second = await LocalDirColdStore.open(new RealFileSystem(), dir);
    expect((await second.readRange('a', 0, 10)).equals(blob(10, 1))).toBe(true);
    await second.close();
  });

  it('local directory: a put survives power loss once resolved; an interrupted one leaves no trace', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/cold');
    let s = await LocalDirColdStore.open(fs, '/cold/tier');
    await s.put('done', blob(1000, 7));
    const pending = s.put('pending', blob(1000, 8));
    fs.crash(); // power loss while the second put may be anywhere between write and rename
    await pending.catch(() => undefined);
    fs.crash();
    s = await LocalDirColdStore.open(fs, '/cold/tier');
    expect((await s.readRange('done', 0, 1000)).equals(blob(1000, 7))).toBe(true);
    const names = (await s.list()).map((b) => b.name);
    expect(names.filter((n) => n !== 'pending')).toEqual(['done']);
    if (names.includes('pending')) expect((await s.readRange('pending', 0, 1000)).equals(blob(1000, 8))).toBe(true);
    expect(await fs.readdir('/cold/tier/.tmp')).toEqual([]);
  });

  it('local directory: a failed put leaves nothing in .tmp, at once (a full disk keeps no partial blob)', async () => {
    // A write cut short by a full disk leaves what fitted; it used to stay in .tmp until the store was
    // opened again (a server restart), holding space the next pass and, with DATA/cold, the hot log need.
    const dir = mkdtempSync(join(work, 'fail-'));
    const fs = new FaultFs(new RealFileSystem());
    const s = await LocalDirColdStore.open(fs, dir);
    for (const op of ['syncFile', 'rename'] as const) {
      fs.failOn(op, /\/\.tmp\//, 1, 'EIO');
      await expect(s.put(`x-${op}`, blob(4096, 3))).rejects.toMatchObject({ code: 'EIO' });
      expect(readdirSync(join(dir, '.tmp'))).toEqual([]);
    }
    fs.setSpace(1000);
    await expect(s.put('big', blob(4096, 4))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(readdirSync(join(dir, '.tmp'))).toEqual([]);
    fs.setSpace(undefined);
    await s.put('big', blob(4096, 4));
    expect((await s.list()).map((b) => b.name)).toEqual(['big']);
    await s.close();
  });

  it('S3: an unreachable endpoint is SEDIMENT_COLD_UNAVAILABLE, not "missing"', async () => {
    const s = new S3ColdStore({ endpoint: 'http://127.0.0.1:9', bucket: 'cold', accessKeyId: 'a', secretAccessKey: 'b', timeoutMs: 2000 });
    await expect(s.readRange('x', 0, 1)).rejects.toMatchObject({ code: 'SEDIMENT_COLD_UNAVAILABLE' });
    await expect(s.put('x', blob(1, 0))).rejects.toMatchObject({ code: 'SEDIMENT_COLD_UNAVAILABLE' });
    s.close();
  });

  it('S3: a missing bucket is an error, not "missing" (not one lost blob: the whole store is not there)', async () => {
    const s = new S3ColdStore({ endpoint: sediment!.endpoint, bucket: 'nosuch', accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
    await expect(s.readRange('000000000001.cold', 0, 10)).rejects.toMatchObject({ code: 'SEDIMENT_IO', name: 'ColdStoreRefusedError', message: expect.stringMatching(/404 NoSuchBucket/) });
    await expect(s.list()).rejects.toMatchObject({ code: 'SEDIMENT_IO', message: expect.stringMatching(/LIST s3 .*\/nosuch\/: HTTP 404 NoSuchBucket/) });
    s.close();
  });

  it('S3: wrong credentials are an error, not "missing" and not "unavailable"', async () => {
    const s = new S3ColdStore({ endpoint: sediment!.endpoint, bucket: 'cold', accessKeyId: ACCESS_KEY, secretAccessKey: 'wrong' });
    await expect(s.put('y', blob(1, 0))).rejects.toMatchObject({ code: 'SEDIMENT_IO', name: 'ColdStoreRefusedError', message: expect.stringMatching(/403 SignatureDoesNotMatch/) });
    s.close();
  });
});
