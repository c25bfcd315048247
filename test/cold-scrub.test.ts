// The background read of the cold tier (`serve`'s cold scrub, src/maintenance/cold-scrub.ts) and the check
// under it (verifyColdTier): damage named by object, exactly the objects a GET refuses; the throttle and an
// early stop; an object that migration or a client changes mid-check is not damage; an unreachable store
// is a failed pass that is tried again, not damage.
import { describe, expect, it } from 'vitest';
import { readStatus, startColdScrubSchedule, verifyColdTier, type Engine, type Migrator } from '../src/index.js';
import type { ColdAccess } from '../src/engine/cold-access.js';
import { ColdStoreRefusedError } from '../src/tier/cold-store.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { errorCode, tryGet } from './helpers/engine-helpers.js';
import { coldWorld } from './helpers/cold-world.js';

const logBody = (bytes: number, seed: number): Buffer => fillLogText(Buffer.alloc(bytes), seed);

/** `n` objects of `bytes` each, moved to the cold tier; their bodies by key. */
async function coldObjects(e: Engine, m: Migrator, w: ReturnType<typeof coldWorld>, n: number, bytes: number): Promise<Map<string, Buffer>> {
  await e.createBucket('logs');
  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    const body = logBody(bytes, i + 1);
    bodies.set(`k${i}`, body);
    await e.putObject('logs', `k${i}`, body);
  }
  await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] });
  w.advanceDays(2);
  expect((await m.runPass()).objectsMoved).toBe(n);
  return bodies;
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('cold scrub', () => {
  it('reads every cold object back and names exactly the objects whose bytes are damaged', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await coldObjects(e, m, w, 8, 60_000);
    const blobs = await w.store.list();
    expect(blobs.length).toBeGreaterThan(2);
    const victim = blobs[1]!;
    const bytes = await w.store.readRange(victim.name, 0, victim.size);
    bytes[Math.floor(victim.size / 2)] ^= 0x10;
    await w.store.put(victim.name, bytes);
    // What a GET says of each object is the truth the scrub must report.
    const refused: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await tryGet(e, 'logs', `k${i}`);
      if (r.error !== undefined) {
        expect(errorCode(r.error)).toBe('SEDIMENT_CORRUPTION');
        refused.push(`k${i}`);
      }
    }
    expect(refused.length).toBeGreaterThan(0);

    const lines: string[] = [];
    const s = startColdScrubSchedule(e.coldAccess(), { everyMs: 20, tickMs: 5, bytesPerSecMax: 0, log: (l) => lines.push(l) });
    await until(() => lines.some((l) => /^cold scrub: \d+ objects/.test(l)));
    await s.stop();
    const damaged = lines.filter((l) => l.startsWith('cold scrub: damaged ')).map((l) => /^cold scrub: damaged logs\/(k\d+): /.exec(l)?.[1]);
    expect(damaged.sort()).toEqual(refused.sort());
    expect(lines.find((l) => /^cold scrub: \d+ objects/.test(l))).toMatch(new RegExp(`^cold scrub: 8 objects, \\d+ chunks, [0-9.]+ MiB checked in [0-9.]+ s, ${refused.length} damaged$`));
    const status = await readStatus(e.coldAccess().fs, '/data');
    expect(status.lastColdScrub).toMatchObject({ objectsChecked: 8, damageCount: refused.length, stoppedEarly: false });
    expect(status.lastColdScrub?.error).toBeUndefined();
    await e.close();
  });

  it('keeps to its throttle and stops early when told', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await coldObjects(e, m, w, 6, 100_000);
    const rate = 1_500_000; // bytes/s: 600 kB take ≥ 0.4 s
    let t = performance.now();
    const seen: number[] = [];
    const full = await verifyColdTier(e.coldAccess(), { bytesPerSecMax: rate, onProgress: (r) => seen.push(r.bytesChecked) });
    const took = performance.now() - t;
    expect([full.objectsChecked, full.bytesChecked, full.damagedObjects]).toEqual([6, 600_000, []]);
    // Progress after every chunk, growing to the total.
    expect(seen).toHaveLength(full.chunksChecked);
    expect(seen.every((b, i) => i === 0 || b > seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe(600_000);
    expect(took).toBeGreaterThanOrEqual(0.9 * (600_000 / rate) * 1000);

    // Stopped after 100 ms of a pass throttled to ~2 s: it returns within a second, having read part of the tier.
    let stop = false;
    setTimeout(() => (stop = true), 100);
    t = performance.now();
    const part = await verifyColdTier(e.coldAccess(), { bytesPerSecMax: 300_000, shouldStop: () => stop });
    expect(performance.now() - t).toBeLessThan(1_100);
    expect(part.bytesChecked).toBeGreaterThan(0);
    expect(part.bytesChecked).toBeLessThan(600_000);
    await e.close();
  });

  it('an object changed between its manifest and its chunk read is counted as changed, not damaged; a lost blob it still names is damage', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await coldObjects(e, m, w, 3, 20_000);
    const base = e.coldAccess();
    // Before the first chunk read: overwrite k0 (its version changes) and remove the blob its chunk is in.
    let first = true;
    const racing: ColdAccess = Object.assign(Object.create(base) as ColdAccess, {
      async readColdChunk(ref: Parameters<ColdAccess['readColdChunk']>[0]) {
        if (first) {
          first = false;
          await e.putObject('logs', 'k0', 'overwritten while being checked');
          for (const b of await w.store.list()) if (b.name.startsWith(String(ref.segmentId).padStart(12, '0'))) await w.store.delete(b.name);
        }
        return base.readColdChunk(ref);
      },
    });
    const r = await verifyColdTier(racing);
    expect(r.objectsChanged).toBe(1);
    // k1 and k2 shared the removed blob or not: whatever they still name and cannot read is damage, and a GET agrees.
    const unreadable: string[] = [];
    for (const k of ['k1', 'k2']) if ((await tryGet(e, 'logs', k)).error !== undefined) unreadable.push(k);
    expect(r.damagedObjects.map((d) => d.key).sort()).toEqual(unreadable);
    expect(r.objectsChecked + r.objectsChanged).toBe(3);

    // Remove every blob without changing any object: all that is left cold is damaged.
    for (const b of await w.store.list()) await w.store.delete(b.name);
    const lost = await verifyColdTier(e.coldAccess());
    expect(lost.objectsChanged).toBe(0);
    expect(lost.damagedObjects.map((d) => d.key).sort()).toEqual(['k1', 'k2']);
    await e.close();
  });

  it('scanColdObjects yields what coldObjects lists (noncurrent versions too), one at a time, and follows deletes', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await e.createBucket('logs');
    await e.setBucketVersioning('logs', 'Enabled');
    for (let i = 0; i < 5; i++) await e.putObject('logs', `k${i}`, logBody(5_000, i));
    await e.createBucket('other');
    await e.putObject('other', 'o', logBody(5_000, 9));
    for (const b of ['logs', 'other']) await e.setBucketLifecycle(b, { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] });
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(6);
    await e.putObject('logs', 'k1', 'new hot version: the cold one is noncurrent now');
    const id = (c: { bucket: string; key: string; seq: number }): string => `${c.bucket}/${c.key}@${c.seq}`;
    const access = e.coldAccess();
    const listed = access.coldObjects().map(id).sort();
    expect(listed).toHaveLength(6);
    expect([...access.scanColdObjects()].map(id).sort()).toEqual(listed);
    // Live: a key deleted while the scan is paused is not yielded afterwards.
    const scan = access.scanColdObjects();
    const first = scan.next().value!;
    expect(id(first)).toBe(id(access.coldObjects().sort((a, b) => (id(a) < id(b) ? -1 : 1))[0]!));
    await e.deleteObject('logs', 'k4', { versionId: (await e.headObject('logs', 'k4')).versionId });
    const rest = [...scan].map(id);
    expect(rest.some((r) => r.startsWith('logs/k4@'))).toBe(false);
    expect(rest).toHaveLength(4);
    await e.close();
  });

  it('a cold store that refuses the reads (wrong credentials, a missing bucket) fails the check: it names no object as damaged', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await coldObjects(e, m, w, 3, 20_000);
    const read = w.store.readRange.bind(w.store);
    w.store.readRange = async () => {
      throw new ColdStoreRefusedError('cold tier GET 000000000001.cold: HTTP 403 SignatureDoesNotMatch');
    };
    await expect(verifyColdTier(e.coldAccess())).rejects.toThrow(/403 SignatureDoesNotMatch/);
    w.store.readRange = read;
    expect((await verifyColdTier(e.coldAccess())).objectsChecked).toBe(3);
    await e.close();
  });

  it('an unreachable cold store fails the pass (logged, kept for info) and it is tried again', async () => {
    const w = coldWorld();
    const { e, m } = await w.open();
    await coldObjects(e, m, w, 2, 20_000);
    w.store.offline = true;
    const lines: string[] = [];
    const s = startColdScrubSchedule(e.coldAccess(), { everyMs: 20, tickMs: 5, retryMs: 30, bytesPerSecMax: 0, log: (l) => lines.push(l) });
    await until(() => lines.length >= 1);
    expect(lines[0]).toMatch(/^cold scrub: failed, retrying later: .*offline/);
    expect((await readStatus(e.coldAccess().fs, '/data')).lastColdScrub?.error).toMatch(/offline/);
    w.store.offline = false;
    await until(() => lines.some((l) => /^cold scrub: 2 objects/.test(l)));
    await s.stop();
    expect(lines.some((l) => l.startsWith('cold scrub: damaged'))).toBe(false);
    await e.close();
  });
});
