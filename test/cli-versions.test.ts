// Versioning and Object Lock through the compiled CLI (dist/src/cli/main.js): `mb --object-lock`,
// `put --lock-mode/--retain-until/--legal-hold`, `rm` (delete marker), `rm --version-id` refused for a
// locked version (with and without --bypass-governance-retention), `rb` refused while versions exist,
// `versioning`, with `compact` and separate processes (restarts) in between; `ls --versions`, and
// `get` / `stat --version-id` of a noncurrent version.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_MAIN as MAIN, runCli } from './helpers/child.js';

const root = mkdtempSync(join(tmpdir(), 'sediment-cli-versions-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sediment = (args: string[]) => runCli(join(root, 'data'), args);

async function ok(args: string[]): Promise<string> {
  const r = await sediment(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function refused(args: string[], pattern: RegExp): Promise<void> {
  const r = await sediment(args);
  expect(r.code, `${args.join(' ')} should fail: ${r.stdout}`).toBe(1);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

function versionOf(putOutput: string): string {
  const m = / version (\d+)/.exec(putOutput);
  if (!m) throw new Error(`no version in: ${putOutput}`);
  return m[1]!;
}

describe('sediment CLI with versions and object lock', () => {
  it('refuses every removal of a locked version', async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npx tsc -p tsconfig.json" first`);
    const file = join(root, 'payload.txt');
    writeFileSync(file, 'backup bytes');
    await ok(['mb', 'vault', '--object-lock']);
    expect(await ok(['versioning', 'vault'])).toMatch(/vault: Enabled/);
    await refused(['versioning', 'vault', 'Suspended'], /Object Lock/);
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const c = versionOf(await ok(['put', 'vault/c.tar', file, '--lock-mode', 'COMPLIANCE', '--retain-until', until]));
    const g = versionOf(await ok(['put', 'vault/g.tar', file, '--lock-mode', 'GOVERNANCE', '--retain-until', until]));
    const l = versionOf(await ok(['put', 'vault/l.tar', file, '--legal-hold']));
    expect(await ok(['rm', 'vault/c.tar'])).toMatch(/^delete marker: vault\/c.tar version \d+/);
    const attempts = async (): Promise<void> => {
      await refused(['rm', 'vault/c.tar', '--version-id', c], /COMPLIANCE/);
      await refused(['rm', 'vault/c.tar', '--version-id', c, '--bypass-governance-retention'], /COMPLIANCE/);
      await refused(['rm', 'vault/g.tar', '--version-id', g], /GOVERNANCE/);
      await refused(['rm', 'vault/l.tar', '--version-id', l, '--bypass-governance-retention'], /legal hold/);
      await refused(['rb', 'vault'], /not empty|versions/);
    };
    await attempts();
    await ok(['compact']);
    await attempts();
    expect(await ok(['get', `vault/g.tar`, '-'])).toBe('backup bytes');
    expect(await ok(['rm', 'vault/g.tar', '--version-id', g, '--bypass-governance-retention'])).toMatch(/delete: vault\/g.tar version/);
    await refused(['rm', 'vault/g.tar', '--version-id', g], /does not exist/);
  });

  it('versioning on a plain bucket: markers, version removal, then rb', async () => {
    const file = join(root, 'p.txt');
    writeFileSync(file, 'x');
    await ok(['mb', 'plain']);
    expect(await ok(['versioning', 'plain'])).toMatch(/plain: Unversioned/);
    await ok(['versioning', 'plain', 'enabled']);
    const v = versionOf(await ok(['put', 'plain/k', file]));
    const marker = /version (\d+)/.exec(await ok(['rm', 'plain/k']))![1]!;
    // A key that is already deleted, or never was, is an error and adds no marker (-f: silence, no marker).
    await refused(['rm', 'plain/k'], /"plain\/k" does not exist/);
    await refused(['rm', 'plain/never'], /"plain\/never" does not exist/);
    expect(await ok(['rm', '-f', 'plain/never'])).toBe('');
    await refused(['rb', 'plain'], /not empty|versions/);
    await ok(['rm', 'plain/k', '--version-id', v]);
    await ok(['rm', 'plain/k', '--version-id', marker]);
    // Only the two versions were there: the refused and forced removals left nothing behind.
    await ok(['rb', 'plain']);
  });
  it('ls --versions lists every version and marker; get and stat --version-id read a noncurrent one', async () => {
    const one = join(root, 'one.txt');
    const two = join(root, 'two.txt');
    writeFileSync(one, 'first bytes');
    writeFileSync(two, 'second bytes, longer');
    await ok(['mb', 'history']);
    await ok(['versioning', 'history', 'Enabled']);
    const v1 = versionOf(await ok(['put', 'history/logs/a.txt', one]));
    const v2 = versionOf(await ok(['put', 'history/logs/a.txt', two]));
    await ok(['rm', 'history/logs/a.txt']);

    const rows = (await ok(['ls', 'history', '--versions', '--recursive', '--json'])).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.type, r.versionId, r.isLatest])).toEqual([
      ['deleteMarker', expect.any(String), true],
      ['version', v2, false],
      ['version', v1, false],
    ]);
    expect(rows[1]).toMatchObject({ key: 'logs/a.txt', size: 20 });
    const marker = rows[0]!.versionId as string;
    const human = await ok(['ls', 'history/logs/', '--versions', '--summarize']);
    expect(human).toMatch(new RegExp(`DEL\\s+a\\.txt  ${marker} \\(latest\\)`));
    expect(human).toMatch(new RegExp(`\\s20  \\S+  a\\.txt  ${v2}\\n`));
    expect(human).toMatch(/Total Versions: 2\n/);

    // The current object is a delete marker; its older versions are still there to read.
    await refused(['get', 'history/logs/a.txt', '-'], /does not exist/);
    expect(await ok(['get', 'history/logs/a.txt', '-', '--version-id', v1])).toBe('first bytes');
    expect(await ok(['get', 'history/logs/a.txt', '-', '--version-id', v2, '--range', '-6'])).toBe('longer');
    expect(await ok(['stat', 'history/logs/a.txt', '--version-id', v1])).toMatch(new RegExp(`size: +11 B[\\s\\S]*version id: +${v1}`));
    await refused(['get', 'history/logs/a.txt', '-', '--version-id', marker], /is a delete marker/);
    await refused(['stat', 'history/logs/a.txt', '--version-id', '0000000000000999'], /does not exist/);
    // A key with a line break is shown on one line by stat (a JSON escape), as every other field is.
    await ok(['put', 'history/two\nlines', one]);
    const stat = (await ok(['stat', 'history/two\nlines'])).trimEnd().split('\n');
    expect(stat[0]).toBe('path:          history/two\\nlines');
    expect(stat.every((l) => /^[a-z0-9 ]+: /.test(l)), stat.join('|')).toBe(true);
    const noBucket = await sediment(['ls', '--versions']);
    expect([noBucket.code, noBucket.stderr.trim()]).toEqual([2, 'sediment: --versions lists the versions in a bucket: give BUCKET[/PREFIX]']);
  });
});
