// `sediment verify --cold --forget-missing [--cold-store-lost]` (OPERATIONS.md "A lost cold store"): a cold
// segment file lost from DATA/cold, then the whole cold directory lost; what verify says, what is dropped,
// and that migration works again afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillLogText } from '../src/loadgen/log-text.js';
import { runCli } from './helpers/child.js';

let work = '';

const run = (args: string[]) => runCli(join(work, 'data'), args);

const coldFiles = (): string[] => readdirSync(join(work, 'data', 'cold')).filter((n) => n.endsWith('.cold')).sort();
const keys = async (): Promise<string[]> => (await run(['ls', '-r', 'logs'])).stdout.trim().split('\n').map((l) => l.split(/\s+/).pop()!);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sediment-cli-cold-lost-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('sediment verify --cold --forget-missing', () => {
  it('drops the objects of a lost cold segment, then of a lost cold store; migration goes on', async () => {
    expect((await run(['mb', 'logs'])).code).toBe(0);
    const put = async (key: string, seed: number): Promise<void> => {
      const f = join(work, 'body');
      writeFileSync(f, fillLogText(Buffer.alloc(30_000), seed));
      expect((await run(['put', `logs/${key}`, f])).code).toBe(0);
    };
    writeFileSync(join(work, 'lc.json'), JSON.stringify({ rules: [{ id: 'c', enabled: true, filter: { prefix: 'app/' }, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] }));
    expect((await run(['lifecycle', 'set', 'logs', join(work, 'lc.json')])).code).toBe(0);
    await put('app/a', 1);
    expect((await run(['migrate', '--as-of', '2031-01-01'])).code).toBe(0);
    await put('app/b', 2);
    await put('app/c', 3);
    await put('hot', 4);
    expect((await run(['migrate', '--as-of', '2031-01-01'])).code).toBe(0);
    expect(coldFiles()).toEqual(['000000000001.cold', '000000000002.cold']);

    // One cold segment lost: verify names its objects and says what can be done.
    unlinkSync(join(work, 'data', 'cold', '000000000002.cold'));
    const v = await run(['verify', '--cold']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/logs\/app\/b: cold segment 2 offset \d+: cold blob 000000000002\.cold does not exist/);
    expect(v.stdout).toMatch(/2 objects name cold segments the store does not have: .*verify --cold --forget-missing/);
    const f = await run(['verify', '--cold', '--forget-missing']);
    expect(f.code).toBe(1); // this run still reports the damage it found
    expect(f.stdout).toMatch(/cold segments missing from the store: 000000000002\.cold/);
    expect(f.stdout).toMatch(/dropped 2 object versions whose bytes were in them/);
    expect(f.stdout).toMatch(/ {2}logs\/app\/b, 29\.3 KiB\n {2}logs\/app\/c, 29\.3 KiB/);
    expect(f.stderr).toMatch(/dropped logs\/app\/b: its cold segment\(s\) 000000000002\.cold are gone from local /);
    const clean = await run(['verify', '--cold']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/cold tier: no damage found/);
    expect(await keys()).toEqual(['app/a', 'hot']);

    // The whole cold directory lost (or a wrong, empty one given): nothing is dropped on a guess.
    rmSync(join(work, 'data', 'cold'), { recursive: true });
    const refused = await run(['verify', '--cold', '--forget-missing']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/may be the wrong store .* add --cold-store-lost to drop the 1 object version/);
    expect(await keys()).toEqual(['app/a', 'hot']);
    expect((await run(['migrate', '--as-of', '2031-01-01'])).stderr).toMatch(/verify --cold --forget-missing --cold-store-lost/);
    expect((await run(['verify', '--cold-store-lost'])).stderr).toMatch(/--cold-store-lost goes with --cold --forget-missing/);
    const lost = JSON.parse((await run(['verify', '--cold', '--forget-missing', '--cold-store-lost', '--json'])).stdout);
    expect(lost.forgottenCold).toMatchObject({ missingSegments: [1], dropped: [{ bucket: 'logs', key: 'app/a', missingSegments: [1] }] });
    expect(await keys()).toEqual(['hot']);
    expect((await run(['verify', '--cold'])).code).toBe(0);
    // (Incompressible this time: the report does not call a larger cold copy "0.97x smaller".)
    writeFileSync(join(work, 'random'), randomBytes(30_000));
    expect((await run(['put', 'logs/app/d', join(work, 'random')])).code).toBe(0);
    const moved = (await run(['migrate', '--as-of', '2031-01-01'])).stdout;
    expect(moved).toMatch(/1 object\(s\) due; moved 1/);
    expect(moved).toMatch(/, 29\.\d KiB \(no smaller than hot: 1\.\d\dx its size\) in /);
    expect((await run(['verify', '--cold'])).stdout).toMatch(/cold tier: checked 1 objects/);
  }, 60_000);
});
