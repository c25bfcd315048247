// Accepting the loss of cold data (maintenance/cold-forget.ts): only segments the store positively reports
// absent are acted on; the versions whose chunks were in them are removed durably (also under Object
// Lock, and reported so); an unreachable store, a store that only lists wrongly, another directory's store
// or one that may be the wrong store change nothing; afterwards verify --cold is clean and migration works.
import { describe, expect, it } from 'vitest';
import { verifyColdTier, type Engine } from '../src/index.js';
import { forgetLostColdData } from '../src/maintenance/cold-forget.js';
import { COLD_OWNER_BLOB } from '../src/maintenance/cold-owner.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { coldWorld } from './helpers/cold-world.js';
import { readAll } from './helpers/engine-helpers.js';

/** The code of the error `p` rejects with (it must reject). */
async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => 'resolved',
    (err: { code?: string }) => err.code,
  );
}

const logBody = (bytes: number, seed: number): Buffer => fillLogText(Buffer.alloc(bytes), seed);
const GLACIER = { rules: [{ id: 'c', enabled: true, filter: { prefix: 'cold/' }, transitions: [{ days: 1, storageClass: 'GLACIER' as const }] }] };
const keys = (e: Engine, bucket: string): string[] => e.listObjects(bucket).contents.map((c) => c.key);

/** Two batches of cold objects in cold segments 1 and 2 (16 KiB batches: one object each is enough), one hot object. */
async function twoSegments(): Promise<{ w: ReturnType<typeof coldWorld>; e: Engine; m: Awaited<ReturnType<ReturnType<typeof coldWorld>['open']>>['m'] }> {
  const w = coldWorld();
  const { e, m } = await w.open();
  await e.createBucket('logs');
  await e.setBucketLifecycle('logs', GLACIER);
  await e.putObject('logs', 'cold/a', logBody(20_000, 1));
  await e.putObject('logs', 'hot', 'stays hot');
  w.advanceDays(2);
  expect((await m.runPass()).objectsMoved).toBe(1);
  await e.putObject('logs', 'cold/b', logBody(20_000, 2));
  await e.putObject('logs', 'cold/c', logBody(20_000, 3));
  w.advanceDays(2);
  expect((await m.runPass()).objectsMoved).toBe(2);
  expect((await w.store.list()).map((b) => b.name)).toEqual(['000000000001.cold', '000000000002.cold', COLD_OWNER_BLOB]);
  return { w, e, m };
}

describe('forgetting lost cold data', () => {
  it('drops the versions of a lost cold segment, durably; the others stay; verify is clean; a rerun finds nothing', async () => {
    const { w, e } = await twoSegments();
    await w.store.delete('000000000002.cold');
    const before = await verifyColdTier(e.coldAccess());
    expect(before.damagedObjects.map((d) => [d.key, d.missing])).toEqual([['cold/b', true], ['cold/c', true]]);

    const dry = await forgetLostColdData(e.coldAccess(), w.store, { dryRun: true });
    expect(dry.dropped.map((d) => d.key)).toEqual(['cold/b', 'cold/c']);
    expect(keys(e, 'logs')).toEqual(['cold/a', 'cold/b', 'cold/c', 'hot']);

    const r = await forgetLostColdData(e.coldAccess(), w.store);
    expect(r).toMatchObject({ missingSegments: [2], changed: 0, unreadable: [] });
    expect(r.dropped).toEqual([
      { bucket: 'logs', key: 'cold/b', size: 20_000, missingSegments: [2] },
      { bucket: 'logs', key: 'cold/c', size: 20_000, missingSegments: [2] },
    ]);
    expect(keys(e, 'logs')).toEqual(['cold/a', 'hot']);
    expect(await errorCode(e.headObject('logs', 'cold/b'))).toBe('SEDIMENT_NO_SUCH_KEY');
    expect((await verifyColdTier(e.coldAccess())).damagedObjects).toEqual([]);
    expect((await readAll((await e.getObject('logs', 'cold/a')).body)).equals(logBody(20_000, 1))).toBe(true);
    expect(await forgetLostColdData(e.coldAccess(), w.store)).toMatchObject({ missingSegments: [], dropped: [] });

    // Durable: after power loss the versions are still gone; migration goes on.
    w.crash();
    const again = await w.open();
    expect(keys(again.e, 'logs')).toEqual(['cold/a', 'hot']);
    expect(again.e.stats().tiers.cold.objects).toBe(1);
    await again.e.putObject('logs', 'cold/d', logBody(5_000, 4));
    w.advanceDays(2);
    expect((await again.m.runPass()).objectsMoved).toBe(1);
    await again.e.close();
  });

  it('versioning suspended: a lost null version that is current is replaced by a null delete marker; the older version stays reachable', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await e.createBucket('sus');
    await e.setBucketVersioning('sus', 'Enabled');
    const v1 = await e.putObject('sus', 'k', 'older, hot');
    await e.setBucketVersioning('sus', 'Suspended');
    await e.putObject('sus', 'k', logBody(9_000, 5)); // the null version
    await e.setBucketLifecycle('sus', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] });
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(1);
    for (const b of await w.store.list()) if (b.name.endsWith('.cold')) await w.store.delete(b.name);
    const r = await forgetLostColdData(e.coldAccess(), w.store);
    expect(r).toMatchObject({ changed: 0, dropped: [{ key: 'k', size: 9_000 }] });
    expect(await errorCode(e.headObject('sus', 'k'))).toBe('SEDIMENT_NO_SUCH_KEY');
    expect(e.listObjectVersions('sus').versions.map((v) => [v.versionId, v.isDeleteMarker])).toEqual([['null', true], [v1.versionId, false]]);
    expect((await verifyColdTier(e.coldAccess())).damagedObjects).toEqual([]);
    await e.close();
  });

  it('killed midway (power loss right after the first drop is durable): what was dropped stays dropped, the rest as it was; a rerun finishes', async () => {
    const w = coldWorld({ batchBytesMax: 1 << 20 });
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', GLACIER);
    await e.putObject('logs', 'keep', 'hot');
    for (let i = 0; i < 150; i++) await e.putObject('logs', `cold/${String(i).padStart(3, '0')}`, logBody(500, i));
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(150);
    await w.store.delete('000000000001.cold');
    const access = e.coldAccess();
    const killing = {
      ...access,
      dropVersion: async (bucket: string, key: string, seq: number): Promise<boolean> => {
        const dropped = await access.dropVersion(bucket, key, seq);
        w.crash();
        return dropped;
      },
    };
    await expect(forgetLostColdData(killing, w.store)).rejects.toThrow(/EBADF/);
    const after = await w.open();
    // Drops share fsyncs: those in flight with the first may be durable too; the later ones never started.
    const left = keys(after.e, 'logs').filter((k) => k !== 'keep');
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(150);
    expect(keys(after.e, 'logs')).toContain('keep');
    const r = await forgetLostColdData(after.e.coldAccess(), w.store);
    expect(r.dropped.map((d) => d.key)).toEqual(left);
    expect(keys(after.e, 'logs')).toEqual(['keep']);
    expect((await verifyColdTier(after.e.coldAccess())).damagedObjects).toEqual([]);
    await after.e.close();
  });

  it('a cold store lost whole: refused without --cold-store-lost (it may be the wrong store); with it, everything cold is dropped and migration claims the new store', async () => {
    const { w, e, m } = await twoSegments();
    for (const b of await w.store.list()) await w.store.delete(b.name);
    const refused = forgetLostColdData(e.coldAccess(), w.store);
    expect(await errorCode(refused)).toBe('SEDIMENT_COLD_FOREIGN');
    await expect(forgetLostColdData(e.coldAccess(), w.store)).rejects.toThrow(/--cold-store-lost to drop the 3 object version/);
    expect(keys(e, 'logs')).toEqual(['cold/a', 'cold/b', 'cold/c', 'hot']);
    expect(await errorCode(m.runPass())).toBe('SEDIMENT_COLD_FOREIGN');

    const r = await forgetLostColdData(e.coldAccess(), w.store, { storeLost: true });
    expect(r.missingSegments).toEqual([1, 2]);
    expect(r.dropped.map((d) => d.key)).toEqual(['cold/a', 'cold/b', 'cold/c']);
    expect(keys(e, 'logs')).toEqual(['hot']);
    expect(e.stats().tiers.cold.objects).toBe(0);
    await e.putObject('logs', 'cold/new', logBody(5_000, 9));
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(1);
    expect((await w.store.list()).map((b) => b.name)).toContain(COLD_OWNER_BLOB);
    expect((await readAll((await e.getObject('logs', 'cold/new')).body)).equals(logBody(5_000, 9))).toBe(true);
    await e.close();
  });

  it('never acts on an unreachable store, a store that lists a segment it then reports present, or another directory\'s store', async () => {
    const { w, e } = await twoSegments();
    await w.store.delete('000000000002.cold');
    w.store.offline = true;
    expect(await errorCode(forgetLostColdData(e.coldAccess(), w.store))).toBe('SEDIMENT_COLD_UNAVAILABLE');
    w.store.offline = false;
    // An eventually consistent listing that misses a blob the store still has.
    const store = w.store;
    const lagging = Object.assign(Object.create(store) as typeof store, {
      list: async () => (await store.list()).filter((b) => b.name !== '000000000001.cold'),
    });
    await store.put('000000000002.cold', Buffer.from('back'));
    expect(await errorCode(forgetLostColdData(e.coldAccess(), lagging))).toBe('SEDIMENT_IO');
    await store.delete('000000000002.cold');
    // Another data directory's store.
    const owner = await store.readRange(COLD_OWNER_BLOB, 0, (await store.stat(COLD_OWNER_BLOB))!);
    await store.put(COLD_OWNER_BLOB, Buffer.from(`sediment-cold-owner ${'ab'.repeat(16)}\n`));
    expect(await errorCode(forgetLostColdData(e.coldAccess(), store))).toBe('SEDIMENT_COLD_FOREIGN');
    await store.put(COLD_OWNER_BLOB, owner);
    expect(keys(e, 'logs')).toEqual(['cold/a', 'cold/b', 'cold/c', 'hot']);
    await e.close();
  });

  it('versions: a lost current version reads as deleted (not as the older one), lost noncurrent ones go, Object Lock ones go and are reported', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await e.createBucket('vers', { objectLock: true });
    await e.setBucketLifecycle('vers', GLACIER);
    const v1 = await e.putObject('vers', 'cold/k', logBody(8_000, 1));
    const v2 = await e.putObject('vers', 'cold/k', logBody(8_000, 2), { lock: { mode: 'COMPLIANCE', retainUntilMs: w.now() + 400 * 86_400_000 } });
    const n1 = await e.putObject('vers', 'cold/n', logBody(8_000, 3));
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(2); // the current ones (no noncurrent rule)
    const n2 = await e.putObject('vers', 'cold/n', 'newer, hot'); // n1 is now a noncurrent cold version
    for (const b of await w.store.list()) if (b.name.endsWith('.cold')) await w.store.delete(b.name);
    const r = await forgetLostColdData(e.coldAccess(), w.store);
    expect(r.dropped).toEqual([
      { bucket: 'vers', key: 'cold/k', versionId: v2.versionId, size: 8_000, missingSegments: [1], objectLock: { mode: 'COMPLIANCE', retainUntilMs: expect.any(Number), legalHold: false } },
      { bucket: 'vers', key: 'cold/n', versionId: n1.versionId, size: 8_000, missingSegments: [1] },
    ]);
    expect(e.listObjectVersions('vers', { prefix: 'cold/n' }).versions.map((v) => v.versionId)).toEqual([n2.versionId]);
    // The older, hot version is still there, but the key reads as deleted: a marker is current.
    expect(await errorCode(e.headObject('vers', 'cold/k'))).toBe('SEDIMENT_NO_SUCH_KEY');
    const versions = e.listObjectVersions('vers', { prefix: 'cold/k' }).versions;
    expect(versions.map((v) => [v.isDeleteMarker, v.isLatest])).toEqual([[true, true], [false, false]]);
    expect(versions[1]!.versionId).toBe(v1.versionId);
    expect((await readAll((await e.getObject('vers', 'cold/k', { versionId: v1.versionId })).body)).equals(logBody(8_000, 1))).toBe(true);
    w.crash();
    const again = await w.open();
    expect(again.e.listObjectVersions('vers', { prefix: 'cold/k' }).versions.map((v) => v.isDeleteMarker ? 'marker' : v.versionId)).toEqual(['marker', v1.versionId]);
    await again.e.close();
  });
});
