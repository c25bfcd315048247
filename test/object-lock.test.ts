// Object Lock in the engine: every path that could remove a locked version is tried and refused
// (version delete with and without governance bypass, retention shortening, lifecycle expiration and
// noncurrent expiry, bucket deletion, compaction), across restarts and compaction passes; the time
// judged is the injected clock's. Also ListObjectVersions paging over thousands of versions.
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryFileSystem } from '../src/index.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { errorCode, readAll } from './helpers/engine-helpers.js';
import { mulberry32, testSeed } from './helpers/prng.js';

class TestClock {
  constructor(public ms = 1_700_000_000_000) {}
  now = (): number => this.ms;
}

async function openEngine(fs: MemoryFileSystem, clock: TestClock): Promise<Engine> {
  return Engine.open({ dir: '/d', fs, clock, workerThreads: 0, onWarning: () => undefined, chunkBytes: 64 << 10, segmentBytesMax: 1 << 20 });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return errorCode(err);
  }
}

async function bytes(e: Engine, bucket: string, key: string, versionId?: string): Promise<string> {
  return (await readAll((await e.getObject(bucket, key, { versionId })).body)).toString();
}

/** Restart, then a compaction pass over everything: the lock state must survive both. */
async function restartAndCompact(e: Engine, fs: MemoryFileSystem, clock: TestClock): Promise<Engine> {
  await e.close();
  const e2 = await openEngine(fs, clock);
  const pool = new MaintenancePool(fs, 0);
  const compactor = new Compactor(e2.maintenance(), pool, { freeBytesReserve: 0, deadShareMin: 0.01, batchBytes: 64 << 10, concurrency: 1 });
  await compactor.runPass({ sealFirst: true });
  await compactor.stop();
  await pool.close();
  return e2;
}

describe('object lock', () => {
  it('a bucket created with object lock is versioned for good', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    const e = await openEngine(fs, clock);
    await e.createBucket('locked', { objectLock: true });
    await e.createBucket('plain');
    expect(e.getBucketVersioning('locked')).toBe('Enabled');
    expect(await codeOf(e.setBucketVersioning('locked', 'Suspended'))).toBe('SEDIMENT_INVALID_BUCKET_STATE');
    expect(e.getObjectLockConfiguration('locked')).toEqual({ enabled: true });
    expect(() => e.getObjectLockConfiguration('plain')).toThrow(expect.objectContaining({ code: 'SEDIMENT_NO_LOCK_CONFIGURATION' }));
    // Lock settings need a lock bucket, a future date, and mode and date together; nothing is stored otherwise.
    expect(await codeOf(e.putObject('plain', 'k', 'x', { lock: { legalHold: true } }))).toBe('SEDIMENT_INVALID_REQUEST');
    expect(await codeOf(e.putObject('locked', 'k', 'x', { lock: { mode: 'COMPLIANCE', retainUntilMs: clock.ms - 1 } }))).toBe('SEDIMENT_INVALID_ARGUMENT');
    expect(await codeOf(e.putObject('locked', 'k', 'x', { lock: { mode: 'COMPLIANCE' } }))).toBe('SEDIMENT_INVALID_ARGUMENT');
    expect(await codeOf(e.setObjectLockConfiguration('plain', { rule: { mode: 'GOVERNANCE', days: 1 } }))).toBe('SEDIMENT_INVALID_BUCKET_STATE');
    expect(await codeOf(e.setObjectLockConfiguration('locked', { rule: { mode: 'GOVERNANCE', days: 0 } }))).toBe('SEDIMENT_INVALID_ARGUMENT');
    expect(e.listObjectVersions('locked').versions).toEqual([]);
    expect(e.listObjectVersions('plain').versions).toEqual([]);
    await e.close();
    const e2 = await openEngine(fs, clock);
    expect(e2.getBucketVersioning('locked')).toBe('Enabled');
    expect(e2.getBucketVersioning('plain')).toBe('Unversioned');
    await e2.close();
  });

  it('COMPLIANCE: no delete, no shortening, by anybody, until the date passes; across restarts and compaction', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    let e = await openEngine(fs, clock);
    await e.createBucket('vault', { objectLock: true });
    const until = clock.ms + 10 * DAY_MS;
    const v1 = (await e.putObject('vault', 'backup.tar', 'precious', { lock: { mode: 'COMPLIANCE', retainUntilMs: until } })).versionId;
    expect(v1).not.toBe('');
    const tryAll = async (): Promise<void> => {
      expect(await codeOf(e.deleteObject('vault', 'backup.tar', { versionId: v1 }))).toBe('SEDIMENT_OBJECT_LOCKED');
      expect(await codeOf(e.deleteObject('vault', 'backup.tar', { versionId: v1, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
      expect(await codeOf(e.putObjectRetention('vault', 'backup.tar', { mode: 'COMPLIANCE', retainUntilMs: until - 1 }, { versionId: v1, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
      expect(await codeOf(e.putObjectRetention('vault', 'backup.tar', { mode: 'GOVERNANCE', retainUntilMs: until + 1 }, { versionId: v1, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
      expect(await codeOf(e.putObjectRetention('vault', 'backup.tar', undefined, { versionId: v1, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
      expect(await codeOf(e.deleteBucket('vault'))).toBe('SEDIMENT_BUCKET_NOT_EMPTY');
      expect(await bytes(e, 'vault', 'backup.tar', v1)).toBe('precious');
      expect(await e.getObjectRetention('vault', 'backup.tar', { versionId: v1 })).toEqual({ mode: 'COMPLIANCE', retainUntilMs: until });
    };
    await tryAll();
    // A plain DELETE only hides it behind a delete marker.
    const del = await e.deleteObject('vault', 'backup.tar');
    expect(del.deleteMarker).toBe(true);
    expect(await codeOf(e.getObject('vault', 'backup.tar'))).toBe('SEDIMENT_NO_SUCH_KEY');
    await tryAll();
    e = await restartAndCompact(e, fs, clock);
    await tryAll();
    // Lengthening is allowed, and holds after a restart.
    await e.putObjectRetention('vault', 'backup.tar', { mode: 'COMPLIANCE', retainUntilMs: until + DAY_MS }, { versionId: v1 });
    e = await restartAndCompact(e, fs, clock);
    clock.ms = until + 1; // the old date has passed, the new one has not
    expect(await codeOf(e.deleteObject('vault', 'backup.tar', { versionId: v1, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
    clock.ms = until + DAY_MS + 1;
    expect((await e.deleteObject('vault', 'backup.tar', { versionId: v1 })).existed).toBe(true);
    expect(await codeOf(e.getObject('vault', 'backup.tar', { versionId: v1 }))).toBe('SEDIMENT_NO_SUCH_VERSION');
    await e.deleteObject('vault', 'backup.tar', { versionId: del.versionId });
    await e.deleteBucket('vault');
    await e.close();
  });

  it('GOVERNANCE: removable or shortened only with bypass; legal hold: by nobody until released', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    let e = await openEngine(fs, clock);
    await e.createBucket('gov', { objectLock: true });
    const until = clock.ms + DAY_MS;
    const g = (await e.putObject('gov', 'g', 'governed', { lock: { mode: 'GOVERNANCE', retainUntilMs: until } })).versionId;
    const h = (await e.putObject('gov', 'h', 'held', { lock: { legalHold: true } })).versionId;
    expect(await codeOf(e.deleteObject('gov', 'g', { versionId: g }))).toBe('SEDIMENT_OBJECT_LOCKED');
    expect(await codeOf(e.putObjectRetention('gov', 'g', { mode: 'GOVERNANCE', retainUntilMs: until - 1000 }, { versionId: g }))).toBe('SEDIMENT_OBJECT_LOCKED');
    expect(await codeOf(e.deleteObject('gov', 'h', { versionId: h, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
    expect(await e.getObjectLegalHold('gov', 'h')).toBe(true);
    e = await restartAndCompact(e, fs, clock);
    expect(await codeOf(e.deleteObject('gov', 'h', { versionId: h, bypassGovernance: true }))).toBe('SEDIMENT_OBJECT_LOCKED');
    expect(await codeOf(e.deleteObject('gov', 'g', { versionId: g }))).toBe('SEDIMENT_OBJECT_LOCKED');
    await e.putObjectRetention('gov', 'g', { mode: 'GOVERNANCE', retainUntilMs: until - 1000 }, { versionId: g, bypassGovernance: true });
    expect((await e.getObjectRetention('gov', 'g')).retainUntilMs).toBe(until - 1000);
    expect((await e.deleteObject('gov', 'g', { versionId: g, bypassGovernance: true })).existed).toBe(true);
    await e.putObjectLegalHold('gov', 'h', false, { versionId: h });
    e = await restartAndCompact(e, fs, clock);
    expect(await e.getObjectLegalHold('gov', 'h')).toBe(false);
    expect((await e.deleteObject('gov', 'h', { versionId: h })).existed).toBe(true);
    await e.deleteBucket('gov');
    await e.close();
  });

  it('default retention applies to new versions; lifecycle adds markers and never removes a locked version', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    let e = await openEngine(fs, clock);
    await e.createBucket('logs', { objectLock: true });
    await e.setObjectLockConfiguration('logs', { rule: { mode: 'COMPLIANCE', days: 30 } });
    expect(e.getObjectLockConfiguration('logs')).toEqual({ enabled: true, rule: { mode: 'COMPLIANCE', days: 30 } });
    const old = await e.putObject('logs', 'app.log', 'day 1');
    expect(old.objectLock).toEqual({ mode: 'COMPLIANCE', retainUntilMs: clock.ms + 30 * DAY_MS, legalHold: false });
    clock.ms += DAY_MS;
    const cur = await e.putObject('logs', 'app.log', 'day 2');
    await e.setBucketLifecycle('logs', {
      rules: [{ id: 'r', enabled: true, filter: {}, expiration: { days: 1 }, noncurrentVersionExpiration: { noncurrentDays: 1 } }],
    });
    clock.ms += 5 * DAY_MS;
    const r1 = await e.runLifecycle();
    // The current version expired: a delete marker now hides it; both versions are still there.
    expect(r1.expired.map((x) => x.key)).toEqual(['app.log']);
    expect(r1.noncurrentExpired).toEqual([]);
    expect(r1.skippedLocked).toBeGreaterThan(0);
    expect(await codeOf(e.getObject('logs', 'app.log'))).toBe('SEDIMENT_NO_SUCH_KEY');
    expect(await bytes(e, 'logs', 'app.log', old.versionId)).toBe('day 1');
    expect(await bytes(e, 'logs', 'app.log', cur.versionId)).toBe('day 2');
    e = await restartAndCompact(e, fs, clock);
    await e.runLifecycle();
    expect(e.listObjectVersions('logs').versions.filter((v) => !v.isDeleteMarker).map((v) => v.versionId)).toEqual([cur.versionId, old.versionId]);
    // Once the retention has passed, noncurrent expiry removes them.
    clock.ms += 40 * DAY_MS;
    const r3 = await e.runLifecycle();
    expect(r3.noncurrentExpired.map((x) => x.versionId).sort()).toEqual([cur.versionId, old.versionId].sort());
    await e.close();
  });

  it('a legal hold racing a version delete: either the hold lands and the delete is refused, or the version is gone', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    const e = await openEngine(fs, clock);
    await e.createBucket('race', { objectLock: true });
    for (let i = 0; i < 40; i++) {
      const v = (await e.putObject('race', `k${i}`, 'x')).versionId;
      const [hold, del] = await Promise.allSettled([
        e.putObjectLegalHold('race', `k${i}`, true, { versionId: v }),
        e.deleteObject('race', `k${i}`, { versionId: v }),
      ]);
      const holdOk = hold.status === 'fulfilled';
      const delOk = del.status === 'fulfilled';
      // Never both: a held version must not be deleted.
      expect(holdOk && delOk, `round ${i}`).toBe(false);
      if (!delOk) expect(errorCode((del as PromiseRejectedResult).reason)).toBe('SEDIMENT_OBJECT_LOCKED');
      if (!holdOk) expect(['SEDIMENT_NO_SUCH_VERSION', 'SEDIMENT_PRECONDITION_FAILED']).toContain(errorCode((hold as PromiseRejectedResult).reason));
      const exists = e.listObjectVersions('race', { prefix: `k${i}` }).versions.some((x) => x.versionId === v && x.key === `k${i}`);
      expect(exists, `round ${i}`).toBe(!delOk);
      if (exists) expect(await e.getObjectLegalHold('race', `k${i}`, { versionId: v })).toBe(holdOk);
    }
    await e.close();
  });

  it('the null version, suspended buckets and delete markers behave as in S3', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    const e = await openEngine(fs, clock);
    await e.createBucket('bkt');
    await e.putObject('bkt', 'k', 'null-1');
    await e.setBucketVersioning('bkt', 'Enabled');
    const v2 = (await e.putObject('bkt', 'k', 'v2')).versionId;
    expect(await bytes(e, 'bkt', 'k', 'null')).toBe('null-1');
    await e.setBucketVersioning('bkt', 'Suspended');
    const s = await e.putObject('bkt', 'k', 'null-2');
    expect(s.versionId).toBe('');
    expect(e.listObjectVersions('bkt').versions.map((v) => [v.versionId, v.isLatest])).toEqual([['null', true], [v2, false]]);
    const m = await e.deleteObject('bkt', 'k');
    expect(m).toEqual({ existed: true, versionId: 'null', deleteMarker: true });
    expect(await codeOf(e.getObject('bkt', 'k', { versionId: 'null' }))).toBe('SEDIMENT_DELETE_MARKER');
    expect(await codeOf(e.getObject('bkt', 'k', { versionId: 'nonsense' }))).toBe('SEDIMENT_INVALID_ARGUMENT');
    // ExpiredObjectDeleteMarker removes a marker only when it is the key's last version.
    await e.putObject('bkt', 'lonely', 'x');
    await e.deleteObject('bkt', 'lonely', { versionId: 'null' });
    const lonely = await e.deleteObject('bkt', 'lonely');
    await e.setBucketLifecycle('bkt', { rules: [{ id: 'm', enabled: true, filter: {}, expiration: { expiredObjectDeleteMarker: true } }] });
    const lr = await e.runLifecycle();
    expect(lr.noncurrentExpired).toEqual([{ bucket: 'bkt', key: 'lonely', versionId: lonely.versionId, size: 0 }]);
    expect(e.listObjectVersions('bkt', { prefix: 'lonely' }).versions).toEqual([]);
    expect(e.listObjectVersions('bkt', { prefix: 'k' }).versions.length).toBe(2);
    // Removing the marker makes the next version current again.
    await e.deleteObject('bkt', 'k', { versionId: 'null' });
    expect(await bytes(e, 'bkt', 'k')).toBe('v2');
    expect(await codeOf(e.deleteBucket('bkt'))).toBe('SEDIMENT_BUCKET_NOT_EMPTY');
    await e.close();
  });

  it('ListObjectVersions pages exactly over thousands of versions', async () => {
    const fs = new MemoryFileSystem();
    const clock = new TestClock();
    const e = await openEngine(fs, clock);
    await e.createBucket('many');
    await e.setBucketVersioning('many', 'Enabled');
    const rng = mulberry32(testSeed());
    const expected = new Map<string, string[]>();
    const keys = ['hot', 'a/1', 'a/2', 'b', 'c/d/e', 'zz'];
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i < 3000; i++) {
      const key = i < 1500 ? 'hot' : rng.pick(keys);
      const isDelete = rng.bool(0.1);
      writes.push(
        (isDelete ? e.deleteObject('many', key).then((r) => r.versionId as string) : e.putObject('many', key, String(i)).then((r) => r.versionId)).then((id) => {
          expected.set(key, [id, ...(expected.get(key) ?? [])]);
        }),
      );
      if (writes.length >= 64) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    // Commits that were in flight together become durable in log order, which is version id order.
    const sortedKeys = [...expected.keys()].sort();
    const all = sortedKeys.flatMap((k) => expected.get(k)!.sort().reverse().map((id) => `${k} ${id}`));
    expect(all.length).toBe(3000);
    for (const maxKeys of [1, 7, 999, 1000]) {
      const got: string[] = [];
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      for (;;) {
        const r = e.listObjectVersions('many', { maxKeys, keyMarker, versionIdMarker });
        expect(r.versions.length).toBeLessThanOrEqual(maxKeys);
        got.push(...r.versions.map((v) => `${v.key} ${v.versionId}`));
        if (!r.isTruncated) break;
        keyMarker = r.nextKeyMarker;
        versionIdMarker = r.nextVersionIdMarker;
      }
      expect(got).toEqual(all);
    }
    const withDelimiter = e.listObjectVersions('many', { delimiter: '/', maxKeys: 1000 });
    expect(withDelimiter.commonPrefixes).toEqual(['a/', 'c/']);
    await e.close();
  }, 60_000);
});
