// A real process on a real disk, killed with SIGKILL mid-load, several times on the same directory.
// The child (test/helpers/crash-writer.mjs, running the compiled engine from dist/) announces each
// operation before it starts and each acknowledgement after it resolves; after the kill the directory
// must open cleanly (no damage, verify clean), every acknowledged put must be there with the same MD5,
// every acknowledged delete must be gone, and a key whose last operation was not acknowledged must hold
// either its previous or its new state. While the child runs, the directory is locked against us; after
// SIGKILL the lock is free (flock dies with the process).
//
// Rounds: 6 by default, 40 with SEDIMENT_SOAK=1. The kill moment is random (seeded: SEDIMENT_SEED).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { errorCode, md5hex, readAll } from './helpers/engine-helpers.js';
import { allowedStates, DELETED } from './helpers/crash-model.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';

const writer = fileURLToPath(new URL('./helpers/crash-writer.mjs', import.meta.url));
const compiled = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
const ROUNDS = SOAK ? 40 : 6;

interface ChildRun {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWriter(dir: string, seed: number): ChildRun {
  const child = spawn(process.execPath, [writer, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop()!; // a line cut by the kill is not an announcement
    for (const l of parts) {
      if (l === 'ready') onReady();
      lines.push(l);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => stderr.push(s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' (not 'exit'): every byte the child wrote to its pipes has been read by then.
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, lines, stderr, ready, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SIGKILL of a writing process', () => {
  it(`loses no acknowledged put over ${ROUNDS} kill/reopen rounds on one directory`, async () => {
    expect(existsSync(compiled), 'dist/src/index.js is missing: run `npx tsc -p tsconfig.json` before the tests').toBe(true);
    const seed = testSeed();
    const rng = mulberry32(seed);
    const dir = mkdtempSync(join(tmpdir(), 'sediment-crash-'));
    dirs.push(dir);
    let state = new Map<string, string>(); // key → md5 or DELETED, as verified after the previous round
    let acked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed} (replay: SEDIMENT_SEED=${seed}) round ${round}`;
      const run = startWriter(dir, rng.int(0, 2 ** 31));
      const early = round % 3 === 2; // every third round: kill during startup and recovery
      if (early) {
        await sleep(rng.int(0, 250));
      } else {
        await Promise.race([run.ready, run.exited.then(() => undefined)]);
        expect(run.lines[0], `${where}: child did not start\n${run.stderr.join('')}`).toBe('ready');
        // The directory is held by the child.
        await expect(Engine.open({ dir, workerThreads: 0 }), where).rejects.toMatchObject({ code: 'SEDIMENT_LOCKED' });
        await sleep(rng.int(100, 600));
      }
      run.child.kill('SIGKILL');
      const exit = await run.exited;
      expect(exit.signal, `${where}: the child ended on its own: ${run.stderr.join('')}`).toBe('SIGKILL');

      const allowed = allowedStates(run.lines, state);
      acked += run.lines.filter((l) => l.startsWith('ack ')).length;
      const warnings: string[] = [];
      const e = await Engine.open({ dir, workerThreads: 0, onWarning: (m) => warnings.push(m) }); // the lock is free again
      try {
        expect(e.stats().damage, `${where}: damage at open; warnings: ${warnings.join('; ')}`).toEqual([]);
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
        // Nothing else appeared.
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
    // The load really ran: rounds acknowledged writes (the early-kill rounds may not).
    expect(acked, `seed ${seed}: acknowledged operations over all rounds`).toBeGreaterThan(ROUNDS * 3);
  }, SOAK ? 1_800_000 : 60_000);

  it('the lock dies with the process: SIGKILL before any write frees the directory at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-lock-'));
    dirs.push(dir);
    const run = startWriter(dir, 1);
    await Promise.race([run.ready, run.exited.then(() => undefined)]);
    expect(run.lines[0], run.stderr.join('')).toBe('ready');
    await expect(Engine.open({ dir, workerThreads: 0 })).rejects.toMatchObject({ code: 'SEDIMENT_LOCKED', message: expect.stringMatching(/pid \d+/) });
    run.child.kill('SIGKILL');
    await run.exited;
    const e = await Engine.open({ dir, workerThreads: 0 });
    expect(e.listBuckets().map((b) => b.name)).toEqual(['crash']);
    await e.close();
  });
});
