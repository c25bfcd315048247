// `sediment compact` and what `info` shows about space and the last pass, through the compiled CLI
// (dist/src/cli/main.js, built by `npm test`'s pretest step) on a temporary data directory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine, RealFileSystem } from '../src/index.js';
import { dictFileName } from '../src/format/dictionary-file.js';
import { WATCH_CHECKS, WATCH_EVERY } from '../src/engine/hot-dictionaries.js';
import { runCli } from './helpers/child.js';
import { jsonObjects, logObjects } from './helpers/dict-families.js';

const root = mkdtempSync(join(tmpdir(), 'sediment-cli-compact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sediment = (args: string[]) => runCli(join(root, 'data'), args);

describe('sediment compact', () => {
  it('reclaims deleted objects, reports the pass, and info shows the space and the pass', async () => {
    expect((await sediment(['mb', 'bkt'])).code).toBe(0);
    const files: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const data = randomBytes(50_000 + i);
      files.push(data);
      writeFileSync(join(root, `f${i}`), data);
      expect((await sediment(['put', `bkt/k${i}`, join(root, `f${i}`)])).code).toBe(0);
    }
    for (let i = 0; i < 12; i += 2) expect((await sediment(['rm', `bkt/k${i}`])).code).toBe(0);
    const before = JSON.parse((await sediment(['info', '--json'])).stdout);
    expect(before.space.deadBytes).toBeGreaterThan(6 * 50_000);
    expect(before.maintenance.lastPass).toBeUndefined();

    const r = await sediment(['compact']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^compaction pass: 1 segments → 1 packs, read [\d.]+ MiB, wrote [\d.]+ MiB, reclaimed [\d.]+ MiB in [\d.]+ s/);

    const after = JSON.parse((await sediment(['info', '--json'])).stdout);
    expect(after.space.deadBytes).toBe(0);
    expect(after.storedBytes).toBeLessThan(before.storedBytes - 5 * 50_000); // six objects gone, minus a pack footer
    expect(after.maintenance.lastPass).toMatchObject({ segmentsCompacted: 1, packsWritten: 1 });
    expect(after.objects).toBe(6);
    expect((await sediment(['info'])).stdout).toMatch(/last compaction: +\S+: compaction pass: 1 segments → 1 packs/);
    expect((await sediment(['verify'])).code).toBe(0);
    const out = join(root, 'out');
    expect((await sediment(['get', 'bkt/k5', out])).code).toBe(0);
    expect(readFileSync(out).equals(files[5])).toBe(true);
    // Nothing left to do: a second pass replaces nothing.
    expect((await sediment(['compact', '--json'])).stdout).toMatch(/"segmentsCompacted":0/);
  }, 60_000);

  it('deletes a dictionary file that no object uses any more, and says so', async () => {
    // A bucket of log objects (dictionary 1) that moves on to JSON events (dictionary 2); then the
    // objects coded with 1 are deleted.
    const dir = join(root, 'dicts');
    const e = await Engine.open({ dir, fs: new RealFileSystem(), workerThreads: 0 });
    await e.createBucket('drift');
    const bodies = [...logObjects(40, 1), ...jsonObjects(WATCH_EVERY * WATCH_CHECKS + 140, 2)];
    let before2 = -1;
    for (let i = 0; i < bodies.length; i++) {
      if (before2 < 0 && e.stats().dictionaries.made === 2) before2 = i;
      await e.putObject('drift', `k${i}`, bodies[i]!);
      while (i === 39 && e.stats().dictionaries.made === 0) await new Promise((r) => setTimeout(r, 2));
    }
    expect(before2).toBeGreaterThan(0);
    for (let i = 0; i < before2; i++) await e.deleteObject('drift', `k${i}`);
    await e.close();
    const run = (args: string[]) => runCli(dir, args);
    expect(JSON.parse((await run(['info', '--json'])).stdout).dictionaries).toMatchObject({ count: 2 });
    const r = await run(['compact', '--dead-share', '0.01']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^dictionary collection: deleted 1 unused dictionary files \(1\), 0 older dictionaries kept; read \d+ files/m);
    expect(readdirSync(join(dir, 'dicts'))).toEqual([dictFileName(2)]);
    expect(JSON.parse((await run(['info', '--json'])).stdout).dictionaries).toMatchObject({ count: 1 });
    expect((await run(['verify'])).code).toBe(0);
    const out = join(root, 'dict-out');
    const last = bodies.length - 1;
    expect((await run(['get', `drift/k${last}`, out])).code).toBe(0);
    expect(readFileSync(out).equals(bodies[last]!)).toBe(true);
    // Nothing more to delete: no line about dictionaries.
    expect((await run(['compact'])).stdout).not.toMatch(/dictionary collection/);
  }, 60_000);

  it('rejects a bad setting on one line', async () => {
    const r = await sediment(['compact', '--dead-share', '7']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
