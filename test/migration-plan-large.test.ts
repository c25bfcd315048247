// Planning a migration pass over a large bucket. `sediment serve` plans one after every lifecycle pass;
// measured at 540,000 log objects in a bucket whose rules only expire, each plan built a candidate object
// per object of the bucket in one turn of the event loop (~1 s during which no request was answered) and
// found nothing, by construction. Counted here, not timed: objects walked, event-loop turns given up.
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import type { ColdAccess } from '../src/engine/cold-access.js';
import { DAY_MS, type LifecycleRule } from '../src/engine/lifecycle.js';
import { dueForCold, PLAN_SLICE_OBJECTS } from '../src/maintenance/migration-plan.js';
import { turnsDuring } from './helpers/event-loop.js';

const T0 = Date.UTC(2026, 10, 1, 10, 30);

async function bucketOf(n: number, rules: LifecycleRule[]): Promise<Engine> {
  const e = await Engine.open({ dir: '/data', fs: new MemoryFileSystem(), clock: { now: () => T0 }, workerThreads: 0, onWarning: () => undefined });
  await e.createBucket('logs');
  for (let i = 0; i < n; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, n - i) }, (_, j) => e.putObject('logs', `app/${String(i + j).padStart(6, '0')}.log`, Buffer.from('x'))));
  }
  await e.setBucketLifecycle('logs', { rules });
  return e;
}

/** The engine's cold access, counting the objects it hands out (as a list or one at a time). */
function counted(e: Engine): { access: ColdAccess; walked: () => number } {
  const base = e.coldAccess();
  let walked = 0;
  const access: ColdAccess = {
    ...base,
    objects(bucket) {
      const all = base.objects(bucket);
      walked += all.length;
      return all;
    },
    *scanObjects(bucket) {
      for (const o of base.scanObjects(bucket)) {
        walked++;
        yield o;
      }
    },
  };
  return { access, walked: () => walked };
}

describe('migration plan over a large bucket', () => {
  it('does not walk a bucket whose rules only expire', async () => {
    const e = await bucketOf(500, [{ id: 'expire', enabled: true, filter: { prefix: 'app/' }, expiration: { days: 30 } }]);
    const { access, walked } = counted(e);
    expect(await dueForCold(access, T0 + 100 * DAY_MS)).toEqual([]);
    expect(walked()).toBe(0);
    // With a Transition, the bucket is walked (and everything is due 100 days on).
    await e.setBucketLifecycle('logs', { rules: [{ id: 'cold', enabled: true, filter: { prefix: 'app/' }, transitions: [{ days: 30, storageClass: 'GLACIER_IR' }] }] });
    expect(await dueForCold(access, T0 + 100 * DAY_MS)).toHaveLength(500);
    expect(walked()).toBe(500);
    await e.close();
  });

  it('gives the event loop a turn every slice of objects', async () => {
    const n = 4 * PLAN_SLICE_OBJECTS;
    const e = await bucketOf(n, [{ id: 'cold', enabled: true, filter: {}, transitions: [{ days: 30, storageClass: 'GLACIER_IR' }] }]);
    const { result: due, turns } = await turnsDuring(() => dueForCold(e.coldAccess(), T0 + DAY_MS)); // nothing due yet
    expect(due).toEqual([]);
    // Before, the whole plan ran in one turn (0 counted).
    expect(turns).toBeGreaterThanOrEqual(n / PLAN_SLICE_OBJECTS - 1);
    await e.close();
  });
});
