// SIGKILL at random moments while compaction runs, on a real disk, with compaction in worker threads.
// The child (test/helpers/crash-compactor.mjs, the compiled engine from dist/) writes, overwrites and
// deletes while passes run back to back; after each kill the directory must open with no damage, every
// acknowledged put must be there with its MD5, every acknowledged delete gone, a key whose last
// operation was not acknowledged in its old or new state, verify clean, and nothing left over from the
// interrupted pass (tmp/ empty, no file that a pack replaced).
//
// Rounds: 5 by default, 40 with SEDIMENT_SOAK=1. Kill moments are seeded (SEDIMENT_SEED).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { startCrashChild, type CrashChild } from './helpers/child.js';
import { errorCode, md5hex, readAll } from './helpers/engine-helpers.js';
import { allowedStates, DELETED } from './helpers/crash-model.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';

const child = fileURLToPath(new URL('./helpers/crash-compactor.mjs', import.meta.url));
const compiled = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
const ROUNDS = SOAK ? 40 : 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const run = (dir: string, seed: number): CrashChild => startCrashChild(child, dir, seed);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SIGKILL during compaction', () => {
  it(`loses and corrupts nothing over ${ROUNDS} kill/reopen rounds, and cleans up after the killed pass`, async () => {
    expect(existsSync(compiled), 'dist/src/index.js is missing: run `npx tsc -p tsconfig.json` before the tests').toBe(true);
    const seed = testSeed();
    const rng = mulberry32(seed);
    const dir = mkdtempSync(join(tmpdir(), 'sediment-compact-crash-'));
    dirs.push(dir);
    let state = new Map<string, string>();
    let passes = 0;
    let acked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed} (replay: SEDIMENT_SEED=${seed}) round ${round}`;
      const r = run(dir, rng.int(0, 2 ** 31));
      await Promise.race([r.ready, r.exited.then(() => undefined)]);
      expect(r.lines[0], `${where}: child did not start\n${r.stderr.join('')}`).toBe('ready');
      await sleep(rng.int(300, 1500));
      r.p.kill('SIGKILL');
      const exit = await r.exited;
      expect(exit.signal, `${where}: the child ended on its own: ${r.stderr.join('')}`).toBe('SIGKILL');
      passes += r.lines.filter((l) => l.startsWith('pass ')).length;
      acked += r.lines.filter((l) => l.startsWith('ack ')).length;

      const allowed = allowedStates(r.lines, state);
      const warnings: string[] = [];
      const e = await Engine.open({ dir, workerThreads: 0, onWarning: (m) => warnings.push(m) });
      try {
        expect(e.stats().damage, `${where}: damage at open; warnings: ${warnings.join('; ')}`).toEqual([]);
        expect(readdirSync(join(dir, 'tmp')), `${where}: tmp/ after open`).toEqual([]);
        const known = new Set(e.maintenance().segments().map((s) => s.id));
        for (const n of readdirSync(join(dir, 'segments'))) expect(known.has(Number(n.slice(0, 12))), `${where}: leftover ${n}`).toBe(true);
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
        const listed = e.listObjects('crash').contents.map((c) => c.key);
        expect(listed.sort(), where).toEqual([...next].filter(([, v]) => v !== DELETED).map(([k]) => k).sort());
        const v = await e.verify();
        expect(v.damage, `${where}: verify`).toEqual([]);
        expect(v.damagedObjects, `${where}: verify`).toEqual([]);
        state = next;
      } finally {
        await e.close();
      }
    }
    expect(acked, `seed ${seed}: acknowledged operations`).toBeGreaterThan(ROUNDS * 3);
    // The kills landed on a directory that compaction really rewrote.
    expect(passes, `seed ${seed}: compaction passes that replaced segments`).toBeGreaterThan(0);
  }, SOAK ? 1_800_000 : 120_000);
});
