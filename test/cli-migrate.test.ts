// `sediment migrate`, `sediment tiering`, `lifecycle run` applying transitions, and `info` per tier, on a
// data directory with the default local cold store (DATA/cold) and with --cold-dir.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillLogText } from '../src/loadgen/log-text.js';
import { runCli } from './helpers/child.js';

let work = '';

const run = (args: string[]) => runCli(join(work, 'data'), args);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sediment-cli-migrate-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('sediment migrate / tiering / info', () => {
  it('moves due objects to DATA/cold, serves them back, reports tiers; tiering set/get/delete', async () => {
    expect((await run(['mb', 'logs'])).code).toBe(0);
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      const f = join(work, `f${i}.log`);
      writeFileSync(f, fillLogText(Buffer.alloc(40_000 + i * 1000), i));
      files.push(f);
      expect((await run(['put', `logs/app/${i}.log`, f])).code).toBe(0);
    }
    writeFileSync(join(work, 'lc.json'), JSON.stringify({ rules: [{ id: 'c', enabled: true, filter: { prefix: 'app/' }, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] }));
    expect((await run(['lifecycle', 'set', 'logs', join(work, 'lc.json')])).code).toBe(0);

    const dry = JSON.parse((await run(['migrate', '--as-of', '2031-01-01', '--dry-run', '--json'])).stdout);
    expect(dry).toMatchObject({ objectsDue: 4, objectsMoved: 0, dryRun: true });
    expect(existsSync(join(work, 'data', 'cold'))).toBe(false); // nothing written, nothing created
    // The human report says only what happened: no "hot copies are now garbage" when nothing moved.
    const dryText = await run(['migrate', '--as-of', '2031-01-01', '--dry-run']);
    expect(dryText.stdout).toMatch(/4 object\(s\) due; would move them/);
    expect(dryText.stdout).not.toMatch(/garbage/);
    expect((await run(['migrate'])).stdout).not.toMatch(/garbage/);
    const now = JSON.parse((await run(['migrate', '--json'])).stdout);
    expect(now.objectsDue).toBe(0); // not a day old yet
    const moved = await run(['migrate', '--as-of', '2031-01-01']);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toMatch(/4 object\(s\) due; moved 4/);
    expect(moved.stdout).toMatch(/their hot copies are now garbage/);
    expect(readdirSync(join(work, 'data', 'cold')).filter((n) => n.endsWith('.cold')).length).toBe(1);

    const out = join(work, 'back.log');
    expect((await run(['get', 'logs/app/2.log', out])).code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(files[2]!))).toBe(true);
    expect((await run(['stat', 'logs/app/2.log'])).stdout).toMatch(/COLD/);
    const info = JSON.parse((await run(['info', '--json'])).stdout);
    expect(info.tiers.cold.objects).toBe(4);
    expect(info.cold.segments).toBe(1);
    expect(info.cold.storedBytes).toBeGreaterThan(0);
    expect((await run(['info'])).stdout).toMatch(/cold tier: +4 current object\(s\)/);

    expect((await run(['tiering', 'get', 'logs'])).stdout).toBe('logs: no access-based tiering\n');
    expect((await run(['tiering', 'set', 'logs', '--days', '30'])).code).toBe(0);
    expect(JSON.parse((await run(['tiering', 'get', 'logs', '--json'])).stdout)).toEqual({ bucket: 'logs', days: 30 });
    expect((await run(['tiering', 'set', 'logs', '--days', '0'])).code).toBe(2);
    expect((await run(['tiering', 'delete', 'logs'])).code).toBe(0);
    expect(JSON.parse((await run(['tiering', 'get', 'logs', '--json'])).stdout)).toEqual({ bucket: 'logs', days: null });

    // lifecycle run applies transitions too (the same migration pass as `migrate`).
    expect((await run(['put', 'logs/app/late.log', files[0]!])).code).toBe(0);
    const lr = await run(['lifecycle', 'run', '--as-of', '2031-01-01']);
    expect(lr.stdout).toMatch(/moved 1 object\(s\) to the cold tier/);
    expect((await run(['stat', 'logs/app/late.log'])).stdout).toMatch(/COLD/);
    const v = await run(['verify', '--cold']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/cold tier: checked 5 objects/);
    // Damage in a cold segment: verify --cold names the object and exits 1; GET refuses it.
    const seg = join(work, 'data', 'cold', readdirSync(join(work, 'data', 'cold')).filter((n) => n.endsWith('.cold')).sort()[0]!);
    const bytes = readFileSync(seg);
    bytes[bytes.length >> 1]! ^= 0x20;
    writeFileSync(seg, bytes);
    const bad = await run(['verify', '--cold']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/logs\/app\/\d\.log: cold segment 1 offset \d+: corrupt data/);
    // A cold object read through a different (empty) cold directory is an error, never wrong bytes.
    const other = await run(['--cold-dir', join(work, 'elsewhere'), 'get', 'logs/app/late.log', join(work, 'x')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/cold blob .* does not exist/);
  }, 60_000);
});
