// Cold-tier migration meets versioning and Object Lock: the current version moves by an in-place
// re-commit (same version id, lock fields kept, the key's other versions untouched), delete markers and
// noncurrent versions stay where they are, a version that became noncurrent after it moved keeps its cold
// bytes through cold garbage collection and segment rewrites, and a locked version stays locked.
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/index.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { errorCode, readAll } from './helpers/engine-helpers.js';
import { coldWorld, T0 } from './helpers/cold-world.js';

const body = (n: number, seed: number): Buffer => fillLogText(Buffer.alloc(n), seed);
// deadShareMax 0.01: any dead byte makes a cold segment a rewrite candidate.
const world = (): ReturnType<typeof coldWorld> => coldWorld({ deadShareMax: 0.01 });

async function text(e: Engine, bucket: string, key: string, versionId?: string): Promise<Buffer> {
  return readAll((await e.getObject(bucket, key, versionId === undefined ? {} : { versionId })).body);
}

describe('migration with versions and object lock', () => {
  it('moves current versions in place, keeps markers and noncurrent versions, keeps cold noncurrent bytes, keeps locks', async () => {
    const w = world();
    let { e, m } = await w.open();
    await e.createBucket('vers');
    await e.setBucketVersioning('vers', 'Enabled');
    await e.createBucket('vault', { objectLock: true });
    const v1 = body(40_000, 1);
    const v2 = body(50_000, 2);
    const a1 = (await e.putObject('vers', 'a', v1)).versionId;
    const a2 = (await e.putObject('vers', 'a', v2)).versionId;
    await e.putObject('vers', 'gone', body(1_000, 3));
    await e.deleteObject('vers', 'gone'); // current = delete marker
    const locked = body(30_000, 4);
    const until = T0 + 30 * DAY_MS;
    const l1 = (await e.putObject('vault', 'l', locked, { lock: { mode: 'COMPLIANCE', retainUntilMs: until } })).versionId;
    const rule = { rules: [{ id: 'cold', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' as const }] }] };
    await e.setBucketLifecycle('vers', rule);
    await e.setBucketLifecycle('vault', rule);
    const versionsBefore = e.listObjectVersions('vers');
    w.advanceDays(2);
    const r = await m.runPass();
    expect(r.damaged).toEqual([]);
    expect(r.objectsMoved, 'a (current) and l; not the marker, not the noncurrent a1 (no NoncurrentVersionTransition rule)').toBe(2);
    // Same versions, same ids, same order; only the current a is cold.
    const versionsAfter = e.listObjectVersions('vers');
    expect(versionsAfter.versions.map((v) => [v.key, v.versionId, v.isLatest])).toEqual(versionsBefore.versions.map((v) => [v.key, v.versionId, v.isLatest]));
    expect((await e.headObject('vers', 'a')).storageClass).toBe('COLD');
    expect((await e.headObject('vers', 'a')).versionId).toBe(a2);
    expect((await e.headObject('vers', 'a', { versionId: a1 })).storageClass).toBe('STANDARD');
    expect((await text(e, 'vers', 'a')).equals(v2)).toBe(true);
    expect((await text(e, 'vers', 'a', a1)).equals(v1)).toBe(true);
    expect(errorCode(await e.getObject('vers', 'gone').then(() => undefined, (err: unknown) => err))).toBe('SEDIMENT_NO_SUCH_KEY');
    // The locked version moved and is still locked, by the same rules.
    const head = await e.headObject('vault', 'l');
    expect([head.storageClass, head.versionId, head.objectLock?.mode, head.objectLock?.retainUntilMs]).toEqual(['COLD', l1, 'COMPLIANCE', until]);
    const refused = await e.deleteObject('vault', 'l', { versionId: l1, bypassGovernance: true }).then(() => undefined, (err: unknown) => err);
    expect(errorCode(refused)).toBe('SEDIMENT_OBJECT_LOCKED');

    // a3 makes the cold a2 noncurrent; a pass with a low dead-share threshold must not lose a2's bytes.
    const v3 = body(20_000, 5);
    await e.putObject('vers', 'a', v3);
    await m.runPass();
    w.advanceDays(2);
    await m.runPass();
    expect((await text(e, 'vers', 'a', a2)).equals(v2), 'noncurrent cold version after GC').toBe(true);
    // Power loss and reopen: everything as it was.
    w.crash();
    ({ e, m } = await w.open());
    expect((await text(e, 'vers', 'a', a2)).equals(v2)).toBe(true);
    expect((await text(e, 'vers', 'a', a1)).equals(v1)).toBe(true);
    expect((await text(e, 'vers', 'a')).equals(v3)).toBe(true);
    expect((await text(e, 'vault', 'l')).equals(locked)).toBe(true);
    expect((await e.headObject('vault', 'l')).objectLock?.mode).toBe('COMPLIANCE');
    await m.runPass();
    expect((await text(e, 'vers', 'a', a2)).equals(v2)).toBe(true);
    await e.close();
  });

  it('a locked noncurrent version whose NoncurrentVersionExpiration is due (but refused) still moves by NoncurrentVersionTransition', async () => {
    // A backup bucket: versions retained a year, noncurrent ones cold after a day and expired after two.
    // Expiry refuses a locked version; migration used to skip it as "about to be expired", so it stayed
    // hot for as long as the lock held.
    const w = world();
    const { e, m } = await w.open();
    await e.createBucket('vault', { objectLock: true });
    await e.setBucketLifecycle('vault', { rules: [{
      id: 'r', enabled: true, filter: {},
      noncurrentVersionTransitions: [{ noncurrentDays: 1, storageClass: 'GLACIER_IR' }], noncurrentVersionExpiration: { noncurrentDays: 2 },
    }] });
    const old = body(30_000, 7);
    const held = body(20_000, 8);
    const v1 = (await e.putObject('vault', 'k', old, { lock: { mode: 'COMPLIANCE', retainUntilMs: T0 + 365 * DAY_MS } })).versionId!;
    const h1 = (await e.putObject('vault', 'h', held, { lock: { legalHold: true } })).versionId!;
    const free = (await e.putObject('vault', 'f', body(10_000, 9))).versionId!;
    for (const key of ['k', 'h', 'f']) await e.putObject('vault', key, body(1_000, 10));
    w.advanceDays(3);
    const lr = await e.runLifecycle();
    expect(lr.skippedLocked).toBe(2);
    expect(lr.noncurrentExpired.map((x) => x.versionId)).toEqual([free]);
    const r = await m.runPass();
    expect(r).toMatchObject({ objectsMoved: 2, damaged: [] });
    const cold = e.listObjectVersions('vault').versions.filter((v) => v.storageClass === 'COLD').map((v) => v.versionId).sort();
    expect(cold).toEqual([v1, h1].sort());
    expect((await text(e, 'vault', 'k', v1)).equals(old)).toBe(true);
    expect((await text(e, 'vault', 'h', h1)).equals(held)).toBe(true);
    expect(errorCode(await e.deleteObject('vault', 'k', { versionId: v1 }).catch((err: unknown) => err))).toBe('SEDIMENT_OBJECT_LOCKED');
    await e.close();
  });

  it('NoncurrentVersionTransition moves noncurrent versions counted from when they became noncurrent; current ones stay', async () => {
    const w = world();
    let { e, m } = await w.open();
    await e.createBucket('hist');
    await e.setBucketVersioning('hist', 'Enabled');
    const bodies = [body(30_000, 11), body(30_000, 12), body(30_000, 13)];
    const ids: string[] = [];
    ids.push((await e.putObject('hist', 'k', bodies[0])).versionId); // noncurrent from day 2
    w.advanceDays(2);
    ids.push((await e.putObject('hist', 'k', bodies[1])).versionId); // noncurrent from day 5
    w.advanceDays(3);
    ids.push((await e.putObject('hist', 'k', bodies[2])).versionId); // current
    await e.putObject('hist', 'only', body(10_000, 14)); // current, no history
    await e.setBucketLifecycle('hist', { rules: [{ id: 'nct', enabled: true, filter: {}, noncurrentVersionTransitions: [{ noncurrentDays: 2, storageClass: 'GLACIER' }] }] });
    const cls = async (i: number): Promise<string> => (await e.headObject('hist', 'k', { versionId: ids[i] })).storageClass;
    // Day 5: ids[0] has been noncurrent 3 days (due), ids[1] 0 days (not yet).
    let r = await m.runPass();
    expect(r.damaged).toEqual([]);
    expect(r.objectsMoved).toBe(1);
    expect([await cls(0), await cls(1), await cls(2)]).toEqual(['COLD', 'STANDARD', 'STANDARD']);
    w.advanceDays(2);
    r = await m.runPass();
    expect(r.objectsMoved).toBe(1);
    expect([await cls(0), await cls(1), await cls(2)]).toEqual(['COLD', 'COLD', 'STANDARD']);
    expect((await e.headObject('hist', 'only')).storageClass).toBe('STANDARD');
    // Same versions, order and bytes; through a power loss too.
    w.crash();
    ({ e, m } = await w.open());
    expect(e.listObjectVersions('hist').versions.filter((v) => v.key === 'k').map((v) => v.versionId)).toEqual([...ids].reverse().map((id) => id));
    for (let i = 0; i < 3; i++) expect((await text(e, 'hist', 'k', ids[i])).equals(bodies[i]), `version ${i}`).toBe(true);
    expect([await cls(0), await cls(1), await cls(2)]).toEqual(['COLD', 'COLD', 'STANDARD']);
    await e.close();
  });
});
