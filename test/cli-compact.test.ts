// `sediment compact` and what `info` shows about space and the last pass, through the compiled CLI
// (dist/src/cli/main.js, built by `npm test`'s pretest step) on a temporary data directory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/child.js';

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
    expect((await sediment(['info'])).stdout).toMatch(/last compaction: \S+: compaction pass: 1 segments → 1 packs/);
    expect((await sediment(['verify'])).code).toBe(0);
    const out = join(root, 'out');
    expect((await sediment(['get', 'bkt/k5', out])).code).toBe(0);
    expect(readFileSync(out).equals(files[5])).toBe(true);
    // Nothing left to do: a second pass replaces nothing.
    expect((await sediment(['compact', '--json'])).stdout).toMatch(/"segmentsCompacted":0/);
  }, 60_000);

  it('rejects a bad setting on one line', async () => {
    const r = await sediment(['compact', '--dead-share', '7']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
