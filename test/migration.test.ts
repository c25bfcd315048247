// Cold-tier migration in the engine (memory file system, memory cold store): transitions by lifecycle
// rule and by access-based tiering, transparent (ranged) GETs of cold objects, storage class reporting,
// overwrites and deletes racing a pass, persistence across reopen and crash, cold garbage collection,
// an unreachable store, and refusing damaged cold bytes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, LocalDirColdStore, MemoryColdStore, MemoryFileSystem, Migrator, MaintenancePool, RealFileSystem, verifyColdTier } from '../src/index.js';
import type { ColdStore } from '../src/tier/cold-store.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { errorCode, readAll, tryGet } from './helpers/engine-helpers.js';
import { coldWorld, T0 } from './helpers/cold-world.js';

const world = (): ReturnType<typeof coldWorld> => coldWorld();

const logBody = (bytes: number, seed: number): Buffer => fillLogText(Buffer.alloc(bytes), seed);
/** The cold store's segments (its OWNER blob, test/cold-owner.test.ts, left out). */
const coldSegments = async (store: { list(): Promise<Array<{ name: string; size: number }>> }) => (await store.list()).filter((b) => b.name.endsWith('.cold'));

async function get(e: Engine, key: string, range?: { start: number; end: number }): Promise<Buffer> {
  return readAll((await e.getObject('logs', key, range ? { range } : {})).body);
}

describe('cold-tier migration', () => {
  it('moves objects due by a Transition rule, serves them byte-exact (ranges too), reports COLD, survives reopen', async () => {
    const w = world();
    let { e, m } = await w.open();
    await e.createBucket('logs');
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 30; i++) {
      const key = `app/${String(i).padStart(3, '0')}.log`;
      const body = logBody(i === 7 ? 300_000 : 2_000 + i * 997, i);
      bodies.set(key, body);
      await e.putObject('logs', key, body);
    }
    await e.putObject('logs', 'keep/hot.txt', 'stays hot');
    await e.setBucketLifecycle('logs', { rules: [{ id: 'cold', enabled: true, filter: { prefix: 'app/' }, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    expect((await m.runPass()).objectsDue).toBe(0); // not a day old yet
    w.advanceDays(2);
    const r = await m.runPass();
    expect(r).toMatchObject({ objectsDue: 30, objectsMoved: 30, skippedChanged: 0, damaged: [] });
    expect(r.coldSegmentsWritten).toBeGreaterThan(1); // 16 KiB batches: object 007 spans segments
    expect(r.coldBytes).toBeLessThan(r.hotBytes);
    for (const [key, body] of bodies) {
      expect((await get(e, key)).equals(body), key).toBe(true);
      expect((await e.headObject('logs', key)).storageClass).toBe('COLD');
    }
    const big = bodies.get('app/007.log')!;
    expect((await get(e, 'app/007.log', { start: 65_000, end: 200_123 })).equals(big.subarray(65_000, 200_124))).toBe(true);
    const data = await e.getObjectData('logs', 'app/007.log', { range: { start: 10, end: 70_000 }, bufferBytesMax: 1 << 20 });
    expect(data.data!.equals(big.subarray(10, 70_001))).toBe(true);
    expect(e.listObjects('logs').contents.find((c) => c.key === 'app/003.log')?.storageClass).toBe('COLD');
    expect((await e.headObject('logs', 'keep/hot.txt')).storageClass).toBe('STANDARD');
    expect(e.stats().tiers.cold.objects).toBe(30);
    expect((await m.runPass()).objectsDue).toBe(0); // already cold
    expect((await w.disk.readFile('/data/FORMAT')).toString()).toBe('sediment-data-dir 5\n');

    w.crash();
    ({ e, m } = await w.open());
    for (const [key, body] of bodies) expect((await get(e, key)).equals(body), key).toBe(true);
    await e.close();
    ({ e, m } = await w.open());
    expect((await e.headObject('logs', 'app/001.log')).storageClass).toBe('COLD');
    expect((await get(e, 'app/029.log')).equals(bodies.get('app/029.log')!)).toBe(true);
    await e.close();
  });

  it('lets overwrites and deletes during a pass win, and collects the cold garbage they leave', async () => {
    const w = world();
    const { e, m } = await w.open();
    await e.createBucket('logs');
    for (let i = 0; i < 40; i++) await e.putObject('logs', `k${i}`, logBody(3_000, i));
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] });
    w.advanceDays(2);
    // Race: change objects while the pass reads them (progress fires before each object is read).
    const racing = m.runPass({
      onProgress: (done) => {
        if (done === 5) void e.putObject('logs', 'k30', 'new k30');
        if (done === 6) void e.deleteObject('logs', 'k31');
      },
    });
    await e.putObject('logs', 'k39', 'overwritten before the pass reached it');
    const r = await racing;
    expect(r.objectsMoved + r.skippedChanged).toBe(40);
    expect(r.skippedChanged).toBeGreaterThanOrEqual(2);
    expect((await get(e, 'k30')).toString()).toBe('new k30');
    expect((await get(e, 'k39')).toString()).toBe('overwritten before the pass reached it');
    expect((await tryGet(e, 'logs', 'k31')).error).toBeDefined();
    expect((await e.headObject('logs', 'k30')).storageClass).toBe('STANDARD');
    for (let i = 0; i < 30; i++) expect((await get(e, `k${i}`)).equals(logBody(3_000, i))).toBe(true);

    // Delete most cold objects: their cold segments pass the dead-share threshold and are rewritten, then
    // the old ones (referenced by nothing) are deleted by the next pass.
    for (let i = 0; i < 30; i++) if (i % 4 !== 0) await e.deleteObject('logs', `k${i}`);
    const before = (await coldSegments(w.store)).map((b) => b.name);
    const r2 = await m.runPass();
    expect(r2.coldSegmentsRewritten).toBeGreaterThan(0);
    const r3 = await m.runPass();
    expect(r3.coldSegmentsDeleted).toBeGreaterThan(0);
    const after = (await coldSegments(w.store)).map((b) => b.name);
    expect(after.some((n) => before.includes(n))).toBe(false);
    for (let i = 0; i < 30; i += 4) expect((await get(e, `k${i}`)).equals(logBody(3_000, i))).toBe(true);
    await e.close();
  });

  it('a cold object re-tagged while a pass accounts the cold tier keeps its cold segment', async () => {
    const w = world();
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.putObject('logs', 'only', logBody(9_000, 5));
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(1);
    // The next pass reads the cold object's manifest; a tag change lands just before that read.
    const access = e.coldAccess();
    let tagged = false;
    const racing: typeof access = {
      ...access,
      readManifest: async (bucket, key, seq) => {
        if (!tagged) {
          tagged = true;
          await e.putObjectTagging('logs', 'only', { t: '1' });
        }
        return access.readManifest(bucket, key, seq);
      },
    };
    const pool = new MaintenancePool(new MemoryFileSystem(), 0);
    const r = await new Migrator(racing, w.store, pool).runPass();
    expect(tagged).toBe(true);
    expect(r.coldSegmentsDeleted).toBe(0);
    expect((await coldSegments(w.store)).length).toBe(1);
    expect((await get(e, 'only')).equals(logBody(9_000, 5))).toBe(true);
    expect((await e.headObject('logs', 'only')).tags).toEqual({ t: '1' });
    await e.close();
  });

  it('a delete appended but not yet durable wins over a re-commit (migration or tagging) checked meanwhile', async () => {
    const w = world();
    let { e } = await w.open();
    await e.createBucket('logs');
    await e.putObject('logs', 'gone', logBody(4_000, 7));
    await e.putObject('logs', 'gone2', logBody(4_000, 8));
    const a = e.coldAccess();
    const seq = a.objects('logs').find((o) => o.key === 'gone')!.seq;
    const manifest = (await a.readManifest('logs', 'gone', seq))!;
    // The DELETE is appended synchronously; its index update waits for the fsync. A re-commit decided in
    // that window must not be appended after it (its higher seq would bring the object back on apply).
    const deleting = e.deleteObject('logs', 'gone');
    const recommitted = a.recommit('logs', 'gone', seq, { ...manifest, tags: [['x', 'y']] });
    const deleting2 = e.deleteObject('logs', 'gone2');
    const tagging = e.putObjectTagging('logs', 'gone2', { t: '1' }).then(() => 'tagged', (err: unknown) => errorCode(err));
    expect(await recommitted).toBe(false);
    await deleting;
    await deleting2;
    expect(['SEDIMENT_PRECONDITION_FAILED', 'SEDIMENT_NO_SUCH_KEY']).toContain(await tagging);
    for (const key of ['gone', 'gone2']) expect(errorCode((await tryGet(e, 'logs', key)).error), key).toBe('SEDIMENT_NO_SUCH_KEY');
    await e.close();
    ({ e } = await w.open());
    for (const key of ['gone', 'gone2']) expect(errorCode((await tryGet(e, 'logs', key)).error), `${key} after reopen`).toBe('SEDIMENT_NO_SUCH_KEY');
    await e.close();
  });

  it('never reuses a cold segment id: the highest one stays until a higher one exists', async () => {
    const w = world();
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    await e.putObject('logs', 'a', logBody(3_000, 1));
    w.advanceDays(2);
    await m.runPass();
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000001.cold']);
    await e.deleteObject('logs', 'a');
    await m.runPass();
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000001.cold']); // garbage, but the highest
    await e.putObject('logs', 'b', logBody(3_000, 2));
    w.advanceDays(2);
    await m.runPass();
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000001.cold', '000000000002.cold']);
    await m.runPass();
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000002.cold']);
    expect((await get(e, 'b')).equals(logBody(3_000, 2))).toBe(true);
    await e.close();
  });

  it('a GET stream keeps the cold segments it reads until it ends, across a rewrite and later passes', async () => {
    // A slow download of an unchanged cold object: a pass rewrites its (mostly dead) cold segment into a
    // new one and re-commits the object; the next pass finds the old segment unreferenced. The stream still
    // reads from the chunk list it was opened with, so that segment must stay until the stream ends.
    const w = coldWorld({ batchBytesMax: 1 << 20 });
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    const big = logBody(8 * 65_536 + 7, 1);
    await e.putObject('logs', 'big', big);
    for (let i = 0; i < 40; i++) await e.putObject('logs', `f${i}`, logBody(60_000, 10 + i));
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(41);
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000001.cold']);
    for (let i = 0; i < 40; i++) await e.deleteObject('logs', `f${i}`);
    const bigAgain = logBody(8 * 65_536 + 7, 1);
    const g = await e.getObject('logs', 'big');
    const it = g.body[Symbol.asyncIterator]();
    const got: Buffer[] = [(await it.next()).value as Buffer]; // the stream is open, its later chunks not read yet
    expect(await m.runPass()).toMatchObject({ coldSegmentsRewritten: 1, objectsMoved: 1, coldSegmentsDeleted: 0 });
    expect((await m.runPass()).coldSegmentsDeleted).toBe(0); // unreferenced now, but the stream reads it
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000001.cold', '000000000002.cold']);
    for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value as Buffer);
    expect(Buffer.concat(got).equals(bigAgain)).toBe(true);
    // The stream has ended: the next pass deletes the old segment; the object reads from the new one.
    expect((await m.runPass()).coldSegmentsDeleted).toBe(1);
    expect((await coldSegments(w.store)).map((b) => b.name)).toEqual(['000000000002.cold']);
    expect((await get(e, 'big')).equals(big)).toBe(true);

    // A cold object overwritten while a GET streams it: the old version is read whole (as for hot ones).
    const g2 = await e.getObject('logs', 'big');
    const it2 = g2.body[Symbol.asyncIterator]();
    const got2: Buffer[] = [(await it2.next()).value as Buffer];
    await e.putObject('logs', 'big', 'new');
    await e.putObject('logs', 'later', logBody(3_000, 2));
    w.advanceDays(2);
    expect((await m.runPass()).coldSegmentsDeleted).toBe(0);
    await m.runPass();
    expect((await coldSegments(w.store)).map((b) => b.name)).toContain('000000000002.cold');
    for (let r = await it2.next(); !r.done; r = await it2.next()) got2.push(r.value as Buffer);
    expect(Buffer.concat(got2).equals(big)).toBe(true);
    await m.runPass();
    expect((await coldSegments(w.store)).map((b) => b.name)).not.toContain('000000000002.cold');
    await e.close();
  });

  it("never serves another object's cold chunk: a chunk address that leads to one in the cold store is corruption", async () => {
    // A pass once ran against the wrong, empty cold store when no cold object was left (so it could claim
    // it): its segment ids restarted at the real store's highest, a garbage segment kept so ids are not
    // reused there. Back on the real store, b's address leads to a's old chunk: a sound frame of the
    // same length (random bytes of the same size are stored raw), which used to be served as b's bytes.
    const disk = new MemoryFileSystem();
    const real = new MemoryColdStore();
    const wrong = new MemoryColdStore();
    let now = Date.UTC(2026, 10, 1);
    const e = await Engine.open({ dir: '/data', fs: disk, clock: { now: () => now }, workerThreads: 0, coldStore: real, onWarning: () => undefined });
    const pool = new MaintenancePool(disk, 0);
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    const a = randomBytes(20_000);
    const b = randomBytes(20_000);
    await e.putObject('logs', 'a', a);
    now += 2 * DAY_MS;
    expect((await new Migrator(e.coldAccess(), real, pool).runPass()).objectsMoved).toBe(1);
    await e.deleteObject('logs', 'a');
    await e.putObject('logs', 'b', b);
    now += 2 * DAY_MS;
    expect((await new Migrator(e.coldAccess(), wrong, pool).runPass()).objectsMoved).toBe(1);
    expect((await coldSegments(real)).map((x) => x.name)).toEqual(['000000000001.cold']);
    expect((await coldSegments(wrong)).map((x) => x.name)).toEqual(['000000000001.cold']);
    const got = await tryGet(e, 'logs', 'b');
    expect(got.data.equals(a)).toBe(false);
    expect(errorCode(got.error)).toBe('SEDIMENT_CORRUPTION');
    expect((got.error as Error).message).toContain('belongs to another object');
    const data = await e.getObjectData('logs', 'b', { bufferBytesMax: 1 << 20 }).catch((err: unknown) => err);
    expect(errorCode(data)).toBe('SEDIMENT_CORRUPTION');
    // verify --cold names it too.
    const v = await verifyColdTier(e.coldAccess());
    expect(v.damagedObjects.map((d) => d.key)).toEqual(['b']);
    await e.close();
  });

  it('an object overwritten while a pass reads it, whose old chunks compaction removes meanwhile, is a change, not damage', async () => {
    // A pass reads an object's chunks a batch at a time, long after its manifest. Overwritten meanwhile,
    // with the old chunks' segment compacted away, the read fails: that used to be reported (and logged
    // by serve) as a damaged object.
    const disk = new MemoryFileSystem();
    let now = Date.UTC(2026, 10, 1);
    const store = new MemoryColdStore();
    let meanwhile: (() => Promise<void>) | undefined;
    const held: ColdStore = {
      description: store.description,
      put: async (name, data) => {
        const f = name.endsWith('.cold') ? meanwhile : undefined;
        if (f) meanwhile = undefined;
        await f?.();
        return store.put(name, data);
      },
      readRange: (name, offset, length) => store.readRange(name, offset, length),
      stat: (name) => store.stat(name),
      list: (prefix) => store.list(prefix),
      delete: (name) => store.delete(name),
    };
    const e = await Engine.open({ dir: '/data', fs: disk, clock: { now: () => now }, workerThreads: 0, chunkBytes: 64 << 10, coldStore: store, onWarning: () => undefined });
    const pool = new MaintenancePool(disk, 0);
    const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0, deadShareMin: 0.01 });
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    const a = randomBytes(100_000);
    await e.putObject('logs', 'a', a);
    await e.putObject('logs', 'b', randomBytes(300_000));
    await e.sealActiveSegment();
    now += 2 * DAY_MS;
    // While the first cold segment (a's chunks, then b's first) is written, b is overwritten and its old
    // chunks compacted away; the pass then reads b's next chunk.
    meanwhile = async () => {
      await e.putObject('logs', 'b', 'new b');
      await e.sealActiveSegment();
      expect((await c.runPass()).segmentsCompacted).toBeGreaterThan(0);
    };
    const r = await new Migrator(e.coldAccess(), held, pool, { batchBytesMax: 60 << 10 }).runPass();
    expect(r).toMatchObject({ objectsMoved: 1, skippedChanged: 1, damaged: [] });
    expect((await get(e, 'a')).equals(a)).toBe(true);
    expect((await get(e, 'b')).toString()).toBe('new b');
    await e.close();
  });

  it('moves objects not read for N days with access-based tiering; reads keep them hot', async () => {
    const w = world();
    let { e, m } = await w.open();
    await e.createBucket('logs');
    await e.setBucketTiering('logs', 3);
    expect(e.getBucketTiering('logs')).toBe(3);
    await e.putObject('logs', 'read-often', logBody(5_000, 1));
    await e.putObject('logs', 'never-read', logBody(5_000, 2));
    w.advanceDays(2);
    await get(e, 'read-often');
    await e.close(); // a clean close saves the reads (no write happened since the last checkpoint)
    ({ e, m } = await w.open());
    w.advanceDays(2);
    const r = await m.runPass();
    expect(r.objectsMoved).toBe(1);
    expect((await e.headObject('logs', 'never-read')).storageClass).toBe('COLD');
    expect((await e.headObject('logs', 'read-often')).storageClass).toBe('STANDARD');
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(1);
    // Reads are saved with checkpoints too, and survive a crash that follows one.
    await e.putObject('logs', 'read-later', logBody(5_000, 3));
    w.advanceDays(2);
    await get(e, 'read-later');
    await e.checkpoint();
    w.crash();
    ({ e, m } = await w.open());
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(0); // read 2 days ago: stays hot
    await e.setBucketTiering('logs', undefined);
    expect(e.getBucketTiering('logs')).toBeUndefined();
    await e.close();
  });

  it('an unreachable cold store fails the pass and cold GETs with SEDIMENT_COLD_UNAVAILABLE, then recovers', async () => {
    const w = world();
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.putObject('logs', 'a', logBody(4_000, 1));
    await e.putObject('logs', 'b', logBody(4_000, 2));
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: { prefix: 'a' }, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    w.advanceDays(2);
    await m.runPass();
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    w.store.offline = true;
    await expect(m.runPass()).rejects.toMatchObject({ code: 'SEDIMENT_COLD_UNAVAILABLE' });
    expect(errorCode((await tryGet(e, 'logs', 'a')).error)).toBe('SEDIMENT_COLD_UNAVAILABLE');
    expect((await get(e, 'b')).equals(logBody(4_000, 2))).toBe(true); // hot objects are unaffected
    w.store.offline = false;
    expect((await m.runPass()).objectsMoved).toBe(1);
    expect((await get(e, 'a')).equals(logBody(4_000, 1))).toBe(true);
    expect((await get(e, 'b')).equals(logBody(4_000, 2))).toBe(true);
    await e.close();
  });

  it('a cold store without room for the next cold segment: the pass stops and says so, nothing moves or breaks, the next pass goes on', async () => {
    const w = coldWorld({ freeBytesReserve: 1000 });
    const { e, m } = await w.open();
    await e.createBucket('logs');
    for (let i = 0; i < 6; i++) await e.putObject('logs', `k${i}`, logBody(20_000, i));
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    w.advanceDays(2);
    w.store.free = 1500; // less than any cold segment plus the reserve
    const r = await m.runPass();
    expect(r.skipped).toMatch(/^migration stopped: cold segment \d+ needs \d+ bytes plus a reserve of 1000 in memory, 1500 available; its objects stay hot$/);
    expect([r.objectsMoved, r.coldSegmentsWritten]).toEqual([0, 0]);
    expect(await coldSegments(w.store)).toEqual([]);
    for (let i = 0; i < 6; i++) {
      expect((await e.headObject('logs', `k${i}`)).storageClass).toBe('STANDARD');
      expect((await get(e, `k${i}`)).equals(logBody(20_000, i))).toBe(true);
    }
    w.store.free = Number.MAX_SAFE_INTEGER;
    const again = await m.runPass();
    expect(again.skipped).toBeUndefined();
    expect(again.objectsMoved).toBe(6);
    for (let i = 0; i < 6; i++) expect((await get(e, `k${i}`)).equals(logBody(20_000, i))).toBe(true);
    await e.close();
  });

  it('never serves damaged cold bytes', async () => {
    const w = world();
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.putObject('logs', 'x', logBody(20_000, 3));
    await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'DEEP_ARCHIVE' }] }] });
    w.advanceDays(2);
    await m.runPass();
    const [blob] = await coldSegments(w.store);
    const bytes = await w.store.readRange(blob!.name, 0, blob!.size);
    bytes[200] ^= 0x40;
    await w.store.put(blob!.name, bytes);
    expect(errorCode((await tryGet(e, 'logs', 'x')).error)).toBe('SEDIMENT_CORRUPTION');
    await e.close();
  });

  it('on a real disk with worker threads: recompression in the maintenance pool, large cold chunks opened in the GET pool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-migrate-workers-'));
    try {
      const fs = new RealFileSystem();
      let now = T0;
      const cold = await LocalDirColdStore.open(fs, join(dir, 'cold'));
      const e = await Engine.open({ dir: join(dir, 'data'), fs, workerThreads: 1, clock: { now: () => now }, coldStore: cold, onWarning: () => undefined });
      const pool = new MaintenancePool(fs, 1);
      try {
        expect(await pool.usingWorkers()).toBe(true);
        await e.createBucket('logs');
        const big = logBody(3_500_000, 42); // 1 MiB chunks: zstd, opened by a worker on GET
        await e.putObject('logs', 'big.log', big);
        for (let i = 0; i < 12; i++) await e.putObject('logs', `small-${i}.log`, logBody(6_000, 100 + i)); // dictionary chunks
        await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
        now += 3 * DAY_MS;
        const r = await new Migrator(e.coldAccess(), cold, pool, { batchBytesMax: 1 << 20 }).runPass();
        expect(r).toMatchObject({ objectsMoved: 13, damaged: [] });
        expect(r.coldBytes).toBeLessThan(r.hotBytes);
        expect(e.stats().workerThreads).toBe(1);
        expect((await get(e, 'big.log')).equals(big)).toBe(true);
        expect((await get(e, 'big.log', { start: 1_000_000, end: 3_000_000 })).equals(big.subarray(1_000_000, 3_000_001))).toBe(true);
        for (let i = 0; i < 12; i++) expect((await get(e, `small-${i}.log`)).equals(logBody(6_000, 100 + i))).toBe(true);
      } finally {
        await pool.close();
        await e.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
