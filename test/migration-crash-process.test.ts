// SIGKILL at random moments while cold-tier migration (and compaction) runs, on a real disk, with
// recompression in worker threads. The child (test/helpers/crash-migrator.mjs, compiled engine from dist/)
// writes, overwrites and deletes while migration passes move everything to a local-directory cold store.
// After each kill: the directory opens with no damage, every acknowledged put is there with its MD5 (hot
// or cold), every acknowledged delete gone, unacknowledged operations in their old or new state, verify
// clean, tmp/ and the cold store's .tmp/ empty; after one more migration pass, every cold segment left is
// referenced by an object but the highest-id one (the killed pass's orphans are deleted — by a pass,
// never by open — and the highest id is kept so that ids are never reused).
//
// Rounds: 4 by default, 30 with SEDIMENT_SOAK=1. Kill moments are seeded (SEDIMENT_SEED).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine, LocalDirColdStore, MaintenancePool, Migrator, RealFileSystem } from '../src/index.js';
import { parseColdSegmentName } from '../src/format/cold-segment.js';
import { startCrashChild, type CrashChild } from './helpers/child.js';
import { errorCode, md5hex, readAll } from './helpers/engine-helpers.js';
import { allowedStates, DELETED } from './helpers/crash-model.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';

const child = fileURLToPath(new URL('./helpers/crash-migrator.mjs', import.meta.url));
const compiled = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
const ROUNDS = SOAK ? 30 : 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const run = (dir: string, seed: number): CrashChild => startCrashChild(child, dir, seed);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SIGKILL during cold-tier migration', () => {
  it(`loses and corrupts nothing over ${ROUNDS} kill/reopen rounds, and the next pass cleans up the killed one`, async () => {
    expect(existsSync(compiled), 'dist/src/index.js is missing: run `npx tsc -p tsconfig.json` before the tests').toBe(true);
    const seed = testSeed();
    const rng = mulberry32(seed);
    const dir = mkdtempSync(join(tmpdir(), 'sediment-migrate-crash-'));
    dirs.push(dir);
    let state = new Map<string, string>();
    let migrated = 0;
    let acked = 0;
    let coldSeen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed} (replay: SEDIMENT_SEED=${seed}) round ${round}`;
      const r = run(dir, rng.int(0, 2 ** 31));
      await Promise.race([r.ready, r.exited.then(() => undefined)]);
      expect(r.lines[0], `${where}: child did not start\n${r.stderr.join('')}`).toBe('ready');
      await sleep(rng.int(400, 2000));
      r.p.kill('SIGKILL');
      const exit = await r.exited;
      expect(exit.signal, `${where}: the child ended on its own: ${r.stderr.join('')}`).toBe('SIGKILL');
      migrated += r.lines.filter((l) => l.startsWith('migrated ')).length;
      acked += r.lines.filter((l) => l.startsWith('ack ')).length;

      const allowed = allowedStates(r.lines, state);
      const warnings: string[] = [];
      const fs = new RealFileSystem();
      const coldBefore = existsSync(join(dir, 'cold')) ? readdirSync(join(dir, 'cold')).filter((n) => n.endsWith('.cold')).sort() : [];
      const cold = await LocalDirColdStore.open(fs, join(dir, 'cold'));
      const e = await Engine.open({ dir, workerThreads: 0, coldStore: cold, onWarning: (m) => warnings.push(m) });
      try {
        expect(readdirSync(join(dir, 'cold')).filter((n) => n.endsWith('.cold')).sort(), `${where}: opening deleted cold data`).toEqual(coldBefore);
        expect(e.stats().damage, `${where}: damage at open; warnings: ${warnings.join('; ')}`).toEqual([]);
        expect(readdirSync(join(dir, 'tmp')), `${where}: tmp/ after open`).toEqual([]);
        expect(readdirSync(join(dir, 'cold', '.tmp')), `${where}: cold .tmp/ after open`).toEqual([]);
        const next = new Map<string, string>();
        for (const [key, ok] of allowed) {
          let now = DELETED;
          try {
            now = md5hex(await readAll((await e.getObject('crash', key)).body));
          } catch (err) {
            if (errorCode(err) !== 'SEDIMENT_NO_SUCH_KEY') throw new Error(`${where}: reading ${key}: ${(err as Error).message}`, { cause: err });
          }
          expect(ok.has(now), `${where}: ${key} is ${now}, allowed: ${[...ok].join(' or ')}`).toBe(true);
          next.set(key, now);
        }
        const listed = e.listObjects('crash').contents;
        coldSeen += listed.filter((c) => c.storageClass === 'COLD').length;
        expect(listed.map((c) => c.key).sort(), where).toEqual([...next].filter(([, v]) => v !== DELETED).map(([k]) => k).sort());
        const v = await e.verify();
        expect(v.damage, `${where}: verify`).toEqual([]);
        expect(v.damagedObjects, `${where}: verify`).toEqual([]);

        // One pass (nothing is due: the rules' day is a real day here) deletes the killed pass's orphans.
        const pool = new MaintenancePool(fs, 0);
        await new Migrator(e.coldAccess(), cold, pool, { deadShareMax: 1 }).runPass();
        await pool.close();
        const referenced = new Set<number>();
        const a = e.coldAccess();
        for (const o of a.objects('crash')) for (const c of (await a.readManifest('crash', o.key, o.seq))!.chunks) if (o.storageClass === 1) referenced.add(c.segmentId);
        const present = (await cold.list()).map((b) => parseColdSegmentName(b.name)).filter((x): x is number => x !== undefined);
        // Every unreferenced segment is gone but the highest-id one (kept so that ids are never reused).
        const highest = Math.max(0, ...present);
        expect(present.filter((id) => !referenced.has(id) && id !== highest), `${where}: unreferenced cold segments after a pass`).toEqual([]);
        for (const id of referenced) expect(present.includes(id), `${where}: cold segment ${id} is referenced but missing`).toBe(true);
        for (const [key, md5] of next) if (md5 !== DELETED) expect(md5hex(await readAll((await e.getObject('crash', key)).body)), `${where}: ${key} after cleanup`).toBe(md5);
        state = next;
      } finally {
        await e.close();
        await cold.close(); // the next child takes the cold store's lock
      }
    }
    expect(acked, `seed ${seed}: acknowledged operations`).toBeGreaterThan(ROUNDS * 3);
    expect(migrated, `seed ${seed}: migration passes that moved objects`).toBeGreaterThan(0);
    expect(coldSeen, `seed ${seed}: cold objects found after kills`).toBeGreaterThan(0);
  }, SOAK ? 1_800_000 : 150_000);
});
