// A cold store belongs to one data directory (src/maintenance/cold-owner.ts, docs/FORMAT.md §1.2): a
// migration pass of another directory is refused before it writes or deletes anything there (it used
// to delete the owner's segments as "unreferenced"); a store with no owner is claimed by the first pass
// that changes it; a lost ID file is refused until its line is written back.
import { describe, expect, it } from 'vitest';
import { Engine, MaintenancePool, MemoryColdStore, MemoryFileSystem, Migrator, type SedimentError } from '../src/index.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { readAll } from './helpers/engine-helpers.js';

const T0 = Date.UTC(2026, 10, 1);
const body = (seed: number): Buffer => fillLogText(Buffer.alloc(5_000), seed);
const RULES = { rules: [{ id: 'cold', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' as const }] }] };

/** A data directory on its own disk, with objects due for the cold tier of `store` (shared on purpose). */
async function dataDir(store: MemoryColdStore, name: string) {
  const fs = new MemoryFileSystem();
  let now = T0;
  const e = await Engine.open({ dir: '/data', fs, clock: { now: () => now }, workerThreads: 0, coldStore: store, onWarning: () => undefined });
  await e.createBucket('logs');
  await e.setBucketLifecycle('logs', RULES);
  for (let i = 0; i < 3; i++) await e.putObject('logs', `${name}${i}`, body(i));
  now += 2 * DAY_MS;
  const m = new Migrator(e.coldAccess(), store, new MaintenancePool(fs, 0));
  return { fs, e, m, read: async (key: string) => readAll((await e.getObject('logs', key)).body) };
}

const names = async (store: MemoryColdStore) => (await store.list()).map((b) => b.name);

describe('cold store owner', () => {
  it("refuses another data directory's pass before it writes or deletes anything", async () => {
    const store = new MemoryColdStore();
    const a = await dataDir(store, 'a');
    expect((await a.m.runPass()).objectsMoved).toBe(3);
    const owned = await names(store);
    expect(owned).toContain('OWNER');
    const id = /^sediment-data-dir-id ([0-9a-f]{32})\n$/.exec((await a.fs.readFile('/data/ID')).toString())![1];
    expect((await store.readRange('OWNER', 0, (await store.stat('OWNER'))!)).toString()).toBe(`sediment-cold-owner ${id}\n`);

    const b = await dataDir(store, 'b');
    for (const dryRun of [true, false]) {
      const err = (await b.m.runPass({ dryRun }).catch((x: unknown) => x)) as SedimentError;
      expect(err.code).toBe('SEDIMENT_COLD_FOREIGN');
      expect(err.message).toContain(`belongs to another data directory (id ${id}`);
    }
    // The owner's segments are all there and its objects read back; b's objects stayed hot.
    expect(await names(store)).toEqual(owned);
    for (let i = 0; i < 3; i++) expect((await a.read(`a${i}`)).equals(body(i))).toBe(true);
    expect((await b.e.headObject('logs', 'b0')).storageClass).toBe('STANDARD');
    expect(await b.fs.exists('/data/ID')).toBe(false); // a refused pass made no id either
    await a.e.close();
    await b.e.close();
  });

  it('a store without an owner (written before owners existed) is claimed by the first pass that changes it', async () => {
    const store = new MemoryColdStore();
    const a = await dataDir(store, 'a');
    await a.m.runPass();
    await store.delete('OWNER');
    await a.fs.unlink('/data/ID');
    // A dry run changes nothing, so it claims nothing.
    await a.m.runPass({ dryRun: true });
    expect(await names(store)).not.toContain('OWNER');
    await a.e.putObject('logs', 'later', body(9));
    await a.m.runPass({ asOfMs: T0 + 10 * DAY_MS });
    expect(await names(store)).toContain('OWNER');
    expect(await a.fs.exists('/data/ID')).toBe(true);
    await a.e.close();
  });

  it("refuses to claim an empty store without an owner while the directory's cold objects are in another", async () => {
    // The operator forgot --cold-s3 (or gave another --cold-dir) for a while: the pass sees a store with no
    // OWNER. Claiming it moved new objects there (unreadable from the real store), and with ids that could
    // name other bytes in the real one: an object whose segment id collided read another object's chunk.
    const real = new MemoryColdStore();
    const a = await dataDir(real, 'a');
    expect((await a.m.runPass()).objectsMoved).toBe(3);
    await a.e.putObject('logs', 'later', body(9));
    const wrong = new MemoryColdStore();
    const astray = new Migrator(a.e.coldAccess(), wrong, new MaintenancePool(a.fs, 0));
    for (const dryRun of [true, false]) {
      const err = (await astray.runPass({ dryRun, asOfMs: T0 + 10 * DAY_MS }).catch((x: unknown) => x)) as SedimentError;
      expect(err.code).toBe('SEDIMENT_COLD_FOREIGN');
      expect(err.message).toContain('none of the 1 cold segment(s)');
    }
    expect(await names(wrong)).toEqual([]); // nothing claimed or written
    expect((await a.e.headObject('logs', 'later')).storageClass).toBe('STANDARD');
    // The right store goes on as before.
    expect((await a.m.runPass({ asOfMs: T0 + 10 * DAY_MS })).objectsMoved).toBe(1);
    for (const k of ['a0', 'a1', 'a2']) expect((await a.read(k)).equals(body(Number(k[1])))).toBe(true);
    expect((await a.read('later')).equals(body(9))).toBe(true);
    await a.e.close();
  });

  it('a lost ID file: refused, naming the line that restores it; a damaged one is corruption', async () => {
    const store = new MemoryColdStore();
    const a = await dataDir(store, 'a');
    await a.m.runPass();
    const line = (await a.fs.readFile('/data/ID')).toString();
    await a.fs.unlink('/data/ID');
    const err = (await a.m.runPass().catch((x: unknown) => x)) as SedimentError;
    expect(err.code).toBe('SEDIMENT_COLD_FOREIGN');
    expect(err.message).toContain(`write "${line.trimEnd()}" into /data/ID`);
    await a.fs.writeFile('/data/ID', Buffer.from(line));
    await a.m.runPass();
    await a.fs.writeFile('/data/ID', Buffer.from('sediment-data-dir-id xyz\n'));
    expect(((await a.m.runPass().catch((x: unknown) => x)) as SedimentError).code).toBe('SEDIMENT_CORRUPTION');
    await a.e.close();
  });
});
