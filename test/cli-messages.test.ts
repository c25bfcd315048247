// What the CLI says, through the compiled entry point: --version, unknown and missing (sub)commands,
// the Object Lock state in `stat`, what `info`'s figures count in a versioned bucket, an open --range
// reported as written, and a data directory path that is a file.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/child.js';

const root = mkdtempSync(join(tmpdir(), 'sediment-cli-messages-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function expectRefused(r: { code: number | null; stderr: string }, code: number, message: string | RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  if (typeof message === 'string') expect(r.stderr).toBe(`sediment: ${message}\n`);
  else expect(r.stderr).toMatch(message);
}

describe.concurrent('sediment CLI messages', () => {
  it('--version and -V print the version of package.json', async () => {
    const data = join(root, 'unused');
    for (const flag of ['--version', '-V']) {
      expect(await runCli(data, [flag])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    }
  });

  it('help for an unknown command says so; a missing subcommand points to its own --help', async () => {
    const data = join(root, 'unused');
    expectRefused(await runCli(data, ['help', 'bogus']), 2, 'unknown command \'bogus\' (run "sediment --help" for the list)');
    expectRefused(await runCli(data, []), 2, 'missing command (run "sediment --help" for the list)');
    expectRefused(await runCli(data, ['lifecycle']), 2, 'missing command (run "sediment lifecycle --help" for the list)');
    expectRefused(await runCli(data, ['tiering']), 2, 'missing command (run "sediment tiering --help" for the list)');
    expectRefused(await runCli(data, ['lifecycle', 'help', 'bogus']), 2, 'unknown command \'bogus\' (run "sediment lifecycle --help" for the list)');
    expectRefused(await runCli(data, ['lifecycle', 'bogus']), 2, /unknown command 'bogus'/);
    const help = await runCli(data, ['help', 'lifecycle']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sediment lifecycle /);
  });

  it('a data directory path that is a file is named as such, for mb and for the other commands', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a directory');
    expectRefused(await runCli(file, ['mb', 'abc']), 1, `data directory ${file} is not a directory (a file is in the way)`);
    expectRefused(await runCli(file, ['ls']), 1, `data directory ${file} is not a directory (a file is in the way)`);
    expectRefused(await runCli(join(file, 'sub'), ['mb', 'abc']), 1, `data directory ${file}/sub is not a directory (a file is in the way)`);
    expectRefused(await runCli(join(file, 'sub'), ['ls']), 1, `data directory ${file}/sub is not a directory (a file is in the way)`);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  it('stat shows Object Lock retention and legal hold; info says what objects and logical bytes count; --range N- is reported as written', async () => {
    const data = join(root, 'locked');
    const ok = async (args: string[]): Promise<string> => {
      const r = await runCli(data, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const src = join(root, 'ten.txt');
    writeFileSync(src, '0123456789');
    await ok(['mb', 'vault', '--object-lock']);
    await ok(['put', 'vault/plain', src]);
    await ok(['put', 'vault/held', src, '--lock-mode', 'governance', '--retain-until', '2099-01-02T03:04:05Z', '--legal-hold']);
    const held = await ok(['stat', 'vault/held']);
    expect(held).toMatch(/^object lock: +GOVERNANCE until 2099-01-02T03:04:05\.000Z$/m);
    expect(held).toMatch(/^legal hold: +ON$/m);
    const plain = await ok(['stat', 'vault/plain']);
    expect(plain).not.toMatch(/object lock|legal hold/);

    // Two more versions of plain: 3 current-or-older versions of 10 bytes, plus held's 10.
    await ok(['put', 'vault/plain', src]);
    await ok(['put', 'vault/plain', src]);
    const info = await ok(['info']);
    expect(info).toMatch(/^objects \(current\): +2$/m);
    expect(info).toMatch(/^logical bytes \(all versions\): +40 B$/m);
    expect(info).toMatch(/^hot tier: +2 current object\(s\), 20 B logical/m);
    expect(JSON.parse(await ok(['info', '--json']))).toMatchObject({ objects: 2, logicalBytes: 40, tiers: { hot: { objects: 2, logicalBytes: 20 } } });

    expectRefused(await runCli(data, ['get', 'vault/plain', '--range=12-']), 1, 'range 12- is not satisfiable for an object of 10 bytes');
    expectRefused(await runCli(data, ['get', 'vault/plain', '--range=12-15']), 1, 'range 12-15 is not satisfiable for an object of 10 bytes');
    expect(await ok(['get', 'vault/plain', '--range=6-'])).toBe('6789');
  });
});
