// The dictionary collector (src/maintenance/dictionary-gc.ts): a bucket that moved on to a newer
// dictionary keeps the old file while any frame names it, and loses it once none does — after deletes
// and compaction, never before; what is left reads back byte-exact, verify is clean, reopen works.
// A dictionary a write is still framing with is not retired; a segment that cannot be read to its
// footer stops every delete; frames in the active segment wait for it to be sealed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackgroundMaintenance, Compactor, DictionaryCollector, Engine, MaintenancePool, MemoryFileSystem, RealFileSystem, dictionaryIdsOf, type DictionaryGcReport, type EngineOptions } from '../src/index.js';
import { dictCheck, dictFileName, encodeDictionaryFile } from '../src/format/dictionary-file.js';
import { HotDictionaries, WATCH_CHECKS, WATCH_EVERY } from '../src/engine/hot-dictionaries.js';
import { jsonObjects, logObjects, openDictEngine } from './helpers/dict-families.js';
import { readAll, waitFor } from './helpers/engine-helpers.js';
import { mulberry32 } from './helpers/prng.js';

const DIR = '/d';
const SAMPLES = 40;
const dictPath = (id: number): string => `${DIR}/dicts/${dictFileName(id)}`;
const key = (i: number): string => `k/${String(i).padStart(5, '0')}`;

function openMem(fs: MemoryFileSystem, opts: Partial<EngineOptions> = {}, warnings: string[] = []): Promise<Engine> {
  return openDictEngine(fs, DIR, opts, warnings);
}

async function compactAll(e: Engine): Promise<void> {
  const pool = new MaintenancePool(e.fs, 0);
  try {
    // Any dead byte makes a segment worth compacting here: every dead frame goes.
    await new Compactor(e.maintenance(), pool, { deadShareMin: 1e-9 }).runPass({ sealFirst: true });
  } finally {
    await pool.close();
  }
}

/** The dictionary ids that the frames of every sealed file (segments and packs) name; the active one is skipped. */
async function namedOnDisk(fs: MemoryFileSystem, segmentsDir: string): Promise<Set<number>> {
  const out = new Set<number>();
  let unsealed = 0;
  for (const name of await fs.readdir(segmentsDir)) {
    if (!/\.(seg|pack)$/.test(name)) continue;
    const { ids } = await dictionaryIdsOf(fs, `${segmentsDir}/${name}`);
    if (ids === undefined) unsealed++;
    else for (const id of ids) out.add(id);
  }
  expect(unsealed).toBeLessThanOrEqual(1);
  return out;
}

/**
 * Bucket "drift": 40 log objects (dictionary 1), then JSON events until the watch finds 1 stale and the
 * bucket gets dictionary 2. Returns every object put, and how many were put before 2 existed.
 */
async function drift(e: Engine): Promise<{ want: Map<string, Buffer>; before2: number }> {
  await e.createBucket('drift');
  const want = new Map<string, Buffer>();
  const bodies = [...logObjects(SAMPLES, 42), ...jsonObjects(WATCH_EVERY * WATCH_CHECKS + SAMPLES + 100, 43)];
  let before2 = -1;
  for (let i = 0; i < bodies.length; i++) {
    if (before2 < 0 && e.stats().dictionaries.made === 2) before2 = i;
    await e.putObject('drift', key(i), bodies[i]!);
    want.set(key(i), bodies[i]!);
    if (i === SAMPLES - 1) await waitFor(() => e.stats().dictionaries.made === 1, 'dictionary 1');
  }
  await waitFor(() => e.stats().dictionaries.made === 2, 'dictionary 2');
  if (before2 < 0) before2 = bodies.length;
  return { want, before2 };
}

async function expectAllRead(e: Engine, want: Map<string, Buffer>): Promise<void> {
  for (const [k, body] of want) expect((await readAll((await e.getObject('drift', k)).body)).equals(body), k).toBe(true);
  const v = await e.verify();
  expect(v.damage).toEqual([]);
  expect(v.damagedObjects).toEqual([]);
  expect(v.damagedDictionaries).toEqual([]);
}

describe('dictionary collection', () => {
  it('deletes a superseded dictionary once no frame names it, and not before', async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    const { want, before2 } = await drift(e);
    const gc = new DictionaryCollector(e.maintenance());
    // Dictionary 1 is retired, but frames naming it may be in the active segment: the pass notes it.
    let r = await gc.runPass();
    expect(r).toMatchObject({ retired: 1, deleted: [] });
    // Sealed: every file is read, and live objects still name dictionary 1.
    await e.maintenance().sealActive();
    r = await gc.runPass();
    expect(r).toMatchObject({ retired: 1, waiting: 0, deleted: [] });
    expect(r.filesRead).toBeGreaterThan(0);
    expect(await fs.exists(dictPath(1))).toBe(true);
    // Deleted objects' frames still name it until compaction drops them.
    for (let i = 0; i < before2; i++) {
      await e.deleteObject('drift', key(i));
      want.delete(key(i));
    }
    await e.maintenance().sealActive();
    expect((await gc.runPass()).deleted).toEqual([]);
    expect(await fs.exists(dictPath(1))).toBe(true);
    await compactAll(e);
    r = await gc.runPass();
    expect(r.deleted).toEqual([1]);
    expect(await fs.exists(dictPath(1))).toBe(false);
    expect(await fs.exists(dictPath(2))).toBe(true);
    expect(e.stats().dictionaries).toMatchObject({ count: 1, removed: 1 });
    // Nothing left to do: no file is read again.
    expect(await gc.runPass()).toMatchObject({ retired: 0, deleted: [], filesRead: 0 });
    await expectAllRead(e, want);
    const segmentsDir = e.maintenance().segmentsDir;
    await e.close();
    // What is on disk names dictionary 2 only; a reopen reads everything, and new puts use 2.
    expect(await namedOnDisk(fs, segmentsDir)).toEqual(new Set([2]));
    const warnings: string[] = [];
    const again = await openMem(fs, {}, warnings);
    expect(warnings).toEqual([]);
    expect(again.stats().dictionaries).toMatchObject({ count: 1 });
    await expectAllRead(again, want);
    for (const [i, body] of jsonObjects(3, 7).entries()) await again.putObject('drift', `after/${i}`, body);
    await again.maintenance().sealActive();
    expect(again.stats().dictionaries).toMatchObject({ count: 1, made: 0 });
    await again.close();
    expect(await namedOnDisk(fs, segmentsDir)).toEqual(new Set([2]));
  });

  it('keeps a dictionary while one live object still names it, then deletes it after that one goes', async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    const { want, before2 } = await drift(e);
    // Keep one object coded with dictionary 1 (the last log object), delete the rest of those.
    const keep = key(SAMPLES);
    for (let i = 0; i < before2; i++) {
      if (key(i) === keep) continue;
      await e.deleteObject('drift', key(i));
      want.delete(key(i));
    }
    await compactAll(e);
    const gc = new DictionaryCollector(e.maintenance());
    await gc.runPass();
    await e.maintenance().sealActive();
    expect((await gc.runPass()).deleted).toEqual([]);
    await expectAllRead(e, want);
    // The last one: overwritten (the new version names dictionary 2), then compacted away.
    const body = jsonObjects(1, 99)[0]!;
    await e.putObject('drift', keep, body);
    want.set(keep, body);
    await compactAll(e);
    expect((await gc.runPass()).deleted).toEqual([1]);
    await expectAllRead(e, want);
    await e.close();
  });

  it("runs in serve's background maintenance after the compaction pass, and logs what it deleted", async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    const { want, before2 } = await drift(e);
    for (let i = 0; i < before2; i++) {
      await e.deleteObject('drift', key(i));
      want.delete(key(i));
    }
    const lines: string[] = [];
    const bg = new BackgroundMaintenance(e, { compactEveryMs: 5, scrubEveryMs: 0, deadShareMin: 1e-9, freeBytesReserve: 0, threads: 0, log: (l) => lines.push(l) });
    bg.start();
    // Bounded wait (not a timing assertion): the active segment rolls on the next puts, then a pass.
    for (let i = 0; i < 400 && !lines.some((l) => l.startsWith('dictionary collection')); i++) {
      const body = jsonObjects(1, 1000 + i)[0]!;
      await e.putObject('drift', `more/${i}`, body);
      want.set(`more/${i}`, body);
      if (i % 20 === 19) await e.maintenance().sealActive();
      await new Promise((r) => setTimeout(r, 10));
    }
    await bg.stop();
    expect(lines.find((l) => l.startsWith('dictionary collection'))).toMatch(/^dictionary collection: deleted 1 unused dictionary files \(1\), 0 older dictionaries kept; read \d+ files/);
    expect(await fs.exists(dictPath(1))).toBe(false);
    await expectAllRead(e, want);
    await e.close();
  });

  for (const reopen of [false, true]) {
    it(`collects a deleted bucket's dictionary, but never the highest id${reopen ? ', also after a reopen' : ''}`, async () => {
      const fs = new MemoryFileSystem();
      let e = await openMem(fs);
      await e.createBucket('gone');
      await e.createBucket('kept');
      for (const [i, body] of logObjects(SAMPLES, 3).entries()) await e.putObject('gone', key(i), body);
      await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary of "gone"');
      const kept = jsonObjects(SAMPLES, 4);
      for (const [i, body] of kept.entries()) await e.putObject('kept', key(i), body);
      await waitFor(() => e.stats().dictionaries.made === 2, 'the dictionary of "kept"');
      for (let i = 0; i < SAMPLES; i++) await e.deleteObject('gone', key(i));
      await e.deleteBucket('gone');
      if (reopen) {
        await e.close();
        e = await openMem(fs);
      }
      expect(e.maintenance().dictionaries.retired()).toEqual([1]);
      await compactAll(e);
      expect((await new DictionaryCollector(e.maintenance()).runPass()).deleted).toEqual([1]);
      expect(await fs.exists(dictPath(1))).toBe(false);
      // The last bucket goes too: its dictionary, the highest id, stays.
      for (let i = 0; i < SAMPLES; i++) await e.deleteObject('kept', key(i));
      await e.deleteBucket('kept');
      expect(e.maintenance().dictionaries.retired()).toEqual([]);
      // A bucket created again under the name starts without a dictionary.
      await e.createBucket('gone');
      const again = logObjects(10, 5);
      for (const [i, body] of again.entries()) await e.putObject('gone', key(i), body);
      for (const [i, body] of again.entries()) expect((await readAll((await e.getObject('gone', key(i))).body)).equals(body)).toBe(true);
      expect(e.stats().dictionaries).toMatchObject({ count: 1 });
      await e.close();
    });
  }

  it('deletes nothing while a segment cannot be read to its footer', async () => {
    const fs = new MemoryFileSystem();
    const warnings: string[] = [];
    const e = await openMem(fs, {}, warnings);
    const { before2 } = await drift(e);
    for (let i = 0; i < before2; i++) await e.deleteObject('drift', key(i));
    await compactAll(e);
    // Damage the magic of a frame header in a sealed file that holds live data.
    const m = e.maintenance();
    const victim = m.segments().find((s) => s.sealed)!;
    const path = m.pathOf(victim.id);
    const bytes = Buffer.from(await fs.readFile(path));
    bytes[64] ^= 0xff;
    await fs.writeFile(path, bytes);
    expect((await dictionaryIdsOf(fs, path)).ids).toBeUndefined();
    const gc = new DictionaryCollector(m);
    await gc.runPass();
    const r = await gc.runPass();
    expect(r.deleted).toEqual([]);
    expect(r.postponed).toMatch(/cannot be read to its footer/);
    expect(warnings.some((w) => w.includes(`segment ${victim.id} cannot be read to its footer`))).toBe(true);
    expect(await fs.exists(dictPath(1))).toBe(true);
    await e.close();
  });
});

describe('retired dictionaries (HotDictionaries)', () => {
  it('a dictionary still pinned by a frame being made is not retired; removal refuses a current one', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir(DIR);
    await fs.mkdir(`${DIR}/tmp`);
    await fs.mkdir(`${DIR}/dicts`);
    const content = Buffer.concat(logObjects(4, 5, 4096));
    await fs.writeFile(dictPath(1), encodeDictionaryFile({ id: 1, createdMs: 1, bucket: 'b', content }));
    const warnings: string[] = [];
    const hot = await HotDictionaries.load({ fs, dir: DIR, level: 1, enabled: true, samples: SAMPLES, now: () => 2, warn: (m) => warnings.push(m), raiseFormatVersion: async () => undefined });
    const logs = logObjects(1, 6)[0]!;
    const pinned = hot.forSmallChunk('b', logs);
    expect(pinned?.id).toBe(1);
    // The bucket's objects change: after the watch window and the samples it gets dictionary 2.
    for (const raw of jsonObjects(WATCH_EVERY * WATCH_CHECKS + SAMPLES + 10, 8)) {
      const d = hot.forSmallChunk('b', raw);
      if (d) hot.release(d);
      if (hot.made === 1) break;
      await Promise.resolve();
    }
    await waitFor(() => hot.made === 1, 'dictionary 2');
    const current = hot.forSmallChunk('b', logs);
    expect(current?.id).toBe(2);
    hot.release(current!);
    // 1 is no longer current, but a frame naming it is still being made.
    expect(hot.retired()).toEqual([]);
    hot.release(pinned!);
    expect(hot.retired()).toEqual([1]);
    await expect(hot.remove([2])).rejects.toThrow(/dictionary 2 is not retired/);
    await hot.remove([1]);
    expect(await fs.exists(dictPath(1))).toBe(false);
    expect(hot.count).toBe(1);
    // A reader that started before the delete still resolves it (kept in memory until close).
    const kept = hot.lookup(1);
    expect(typeof kept === 'string' ? kept : dictCheck(Buffer.from(kept.content))).toBe(dictCheck(content));
    expect(() => hot.release(pinned!)).toThrow(/released more often than handed out/);
    await hot.close();
    expect(warnings).toEqual([]);
  });
});

describe('dictionary collection under load (real disk, framing threads)', () => {
  it('runs while puts, reads, deletes, seals and compaction go on: every object reads back, and the old dictionary goes in the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sed-dgc-'));
    try {
      const e = await Engine.open({ dir, fs: new RealFileSystem(), workerThreads: 2, batchSmallChunks: true, segmentBytesMax: 1 << 20 });
      await e.createBucket('drift');
      const rng = mulberry32(2026);
      const gc = new DictionaryCollector(e.maintenance());
      const pool = new MaintenancePool(e.fs, 1);
      const compactor = new Compactor(e.maintenance(), pool, { deadShareMin: 1e-9 });
      const want = new Map<string, Buffer>();
      const reports: DictionaryGcReport[] = [];
      let stop = false;
      const background = (async () => {
        while (!stop) {
          reports.push(await gc.runPass());
          const r = rng.next();
          if (r < 0.3) await compactor.runPass({});
          else if (r < 0.5) await e.maintenance().sealActive();
          await new Promise((res) => setTimeout(res, 1));
        }
      })();
      const checkSome = async (): Promise<void> => {
        const keys = [...want.keys()];
        for (let i = 0; i < 8 && keys.length > 0; i++) {
          const k = keys[rng.int(0, keys.length - 1)]!;
          const body = want.get(k)!;
          expect((await readAll((await e.getObject('drift', k)).body)).equals(body), k).toBe(true);
        }
      };
      const bodies = [...logObjects(SAMPLES, 42), ...jsonObjects(WATCH_EVERY * WATCH_CHECKS + SAMPLES + 200, 43)];
      let next = 0;
      let before2 = -1;
      const putNext = async (): Promise<void> => {
        const i = next++;
        await e.putObject('drift', key(i), bodies[i]!);
        want.set(key(i), bodies[i]!);
      };
      await Promise.all(Array.from({ length: SAMPLES }, putNext));
      await waitFor(() => e.stats().dictionaries.made === 1, 'dictionary 1');
      while (next < bodies.length) {
        if (before2 < 0 && e.stats().dictionaries.made === 2) before2 = next;
        await Promise.all(Array.from({ length: Math.min(8, bodies.length - next) }, putNext));
        // Once 2 exists, objects of the first stretch go, a few at a time, among the puts.
        if (before2 >= 0) {
          for (let d = 0; d < 16; d++) {
            const victim = [...want.keys()].find((k) => Number(k.slice(2)) < before2);
            if (victim === undefined) break;
            await e.deleteObject('drift', victim);
            want.delete(victim);
          }
        }
        if (next % 64 === 0) await checkSome();
      }
      expect(before2, 'the bucket moved on to dictionary 2').toBeGreaterThan(0);
      for (const k of [...want.keys()]) if (Number(k.slice(2)) < before2) (await e.deleteObject('drift', k), want.delete(k));
      stop = true;
      await background;
      expect(reports.length).toBeGreaterThan(10);
      // Nothing names dictionary 1 any more once the dead frames are compacted away.
      await compactor.runPass({ sealFirst: true });
      reports.push(await gc.runPass(), await gc.runPass());
      expect(reports.flatMap((r) => r.deleted)).toEqual([1]);
      expect(await e.fs.exists(`${dir}/dicts/${dictFileName(1)}`)).toBe(false);
      await pool.close();
      for (const [k, body] of want) expect((await readAll((await e.getObject('drift', k)).body)).equals(body), k).toBe(true);
      const v = await e.verify();
      expect([v.damage, v.damagedObjects, v.damagedDictionaries]).toEqual([[], [], []]);
      await e.close();
      const again = await Engine.open({ dir, fs: new RealFileSystem(), workerThreads: 0 });
      expect(again.stats().dictionaries).toMatchObject({ count: 1 });
      for (const [k, body] of want) expect((await readAll((await again.getObject('drift', k)).body)).equals(body), k).toBe(true);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
