// Command-line values the CLI once took for something else, through the compiled entry point: an empty
// --data (the current directory), empty or fractional numbers (0, or a count of 1.5 threads), lenient
// dates ("1" as 2001, February 31 as March 3), a directory or a terminal on stdin, invalid UTF-8 in a key
// (U+FFFD, so two keys collide). Each is refused with one line on stderr and the right exit code, and
// changes nothing.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoDateMs } from '../src/cli/option-values.js';
import { CLI_MAIN } from './helpers/child.js';
import { expectOneLineFailure } from './helpers/cli-output.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node main.js ARGS` with SEDIMENT_DATA unset (or `env`), stdin a string (default empty) or a file descriptor. */
function sediment(args: string[], opts: { env?: Record<string, string>; stdin?: string | number; viaBash?: boolean; cwd?: string } = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (opts.env?.SEDIMENT_DATA === undefined) delete env.SEDIMENT_DATA;
  const stdinFd = typeof opts.stdin === 'number' ? opts.stdin : 'pipe';
  // viaBash: the arguments are bash words, so $'\xc3' passes a byte that is not UTF-8 (spawn would encode it).
  const [cmd, argv] = opts.viaBash ? ['bash', ['-c', `exec "$0" "$1" ${args.join(' ')}`, process.execPath, CLI_MAIN]] : [process.execPath, [CLI_MAIN, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, cwd: opts.cwd, stdio: [stdinFd, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(typeof opts.stdin === 'string' ? opts.stdin : '');
    }
  });
}

const expectRefused = expectOneLineFailure;

let work: string;
let data: string;
const d = (): string[] => ['--data', data];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sediment-cli-input-'));
  data = join(work, 'data');
  expect((await sediment(['mb', 'rep', ...d()])).code).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function keys(): Promise<string[]> {
  const r = await sediment(['ls', 'rep', '--recursive', '--json', ...d()]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
}

describe('ISO 8601 dates (option-values.ts)', () => {
  it('reads dates and date-times with a zone, and nothing else', () => {
    expect(isoDateMs('2027-01-31')).toBe(Date.UTC(2027, 0, 31));
    expect(isoDateMs('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
    expect(isoDateMs('2027-01-31T12:00:00Z')).toBe(Date.UTC(2027, 0, 31, 12));
    expect(isoDateMs('2027-01-31T12:00Z')).toBe(Date.UTC(2027, 0, 31, 12));
    expect(isoDateMs('2027-01-31T12:00:00.250Z')).toBe(Date.UTC(2027, 0, 31, 12, 0, 0, 250));
    expect(isoDateMs('2027-01-31T12:00:00+02:00')).toBe(Date.UTC(2027, 0, 31, 10));
    expect(isoDateMs('2027-01-31T12:00:00-0530')).toBe(Date.UTC(2027, 0, 31, 17, 30));
    for (const bad of ['', '1', '2027', '2027-1-31', '2027-02-31', '2027-02-29', '2027-13-01', '2027-00-10', '2027-01-31T24:00:00Z', '2027-01-31T12:60Z',
      '2027-01-31T12:00:00', '2027-01-31 12:00:00Z', '2027-01-31T12:00:00+25:00', 'Jan 31 2027', '31/01/2027', ' 2027-01-31']) {
      expect(isoDateMs(bad), bad).toBeUndefined();
    }
  });
});

// Not concurrent: the tests share one data directory, and the commands that succeed take its lock (two at
// once made one fail with "in use by another process").
describe('the CLI refuses values it would misread', () => {
  it('an empty --data or SEDIMENT_DATA (the current directory) is a usage error', async () => {
    // Run from an empty directory: it was the data directory `mb` filled.
    const cwd = join(work, 'cwd');
    mkdirSync(cwd);
    expectRefused(await sediment(['--data', '', 'mb', 'x'], { cwd }), 2, /--data is empty/);
    expectRefused(await sediment(['mb', 'x', '--data='], { cwd }), 2, /--data is empty/);
    expectRefused(await sediment(['mb', 'x'], { cwd, env: { SEDIMENT_DATA: '' } }), 2, /SEDIMENT_DATA is set but empty/);
    expect(readdirSync(cwd)).toEqual([]);
    // --data wins over an empty SEDIMENT_DATA.
    expect((await sediment(['ls', ...d()], { env: { SEDIMENT_DATA: '' } })).code).toBe(0);
  });

  it('numbers: empty strings, fractions where a count is meant, hex and signs', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['compact', '--bytes-per-sec', ''], /--bytes-per-sec.*expected a whole number from 0/],
      [['compact', '--threads', '1.5'], /--threads.*expected a whole number from 1 to 64/],
      [['compact', '--concurrency', '2.5'], /--concurrency.*expected a whole number from 1 to 64/],
      [['compact', '--dead-share', ''], /--dead-share.*expected a number from 0.01 to 1/],
      [['compact', '--dead-share', '0x1'], /--dead-share.*expected a number/],
      [['compact', '--segment-mb', ' 8'], /--segment-mb.*expected a number/],
      [['tiering', 'set', 'rep', '--days', '1.9'], /--days.*expected a whole number from 1 to 36500/],
      [['tiering', 'set', 'rep', '--days', ''], /--days.*expected a whole number/],
      [['migrate', '--threads', '0.5'], /--threads.*expected a whole number from 0 to 64/],
      [['migrate', '--level', '3.5'], /--level.*expected a whole number from 1 to 22/],
      [['serve', '--compact-every', ''], /--compact-every.*expected a number from 0/],
      [['serve', '--scrub-every', ''], /--scrub-every.*expected a number from 0/],
      [['serve', '--compact-threads', '2.5'], /--compact-threads.*expected a whole number/],
      [['serve', '--cold-level', '-1'], /--cold-level.*expected a whole number from 1 to 22/],
      [['serve', '--segment-mb', 'Infinity'], /--segment-mb.*expected a number/],
    ];
    for (const [args, pattern] of cases) expectRefused(await sediment([...args, ...d()]), 2, pattern);
    expect(await sediment(['tiering', 'get', 'rep', ...d()])).toMatchObject({ code: 0, stdout: 'rep: no access-based tiering\n' });
    // What the parsers accept still works.
    expect((await sediment(['compact', '--dead-share', '.5', '--bytes-per-sec', '1000000', '--threads', '2', '-q', ...d()])).code).toBe(0);
  });

  it('dates: only ISO 8601, and only days the calendar has', async () => {
    for (const date of ['1', '2027-02-31', '2027-01-31T12:00', 'tomorrow']) {
      expectRefused(await sediment(['lifecycle', 'run', '--dry-run', '--as-of', date, ...d()]), 2, /--as-of.*expected a date such as 2027-01-31/);
      expectRefused(await sediment(['migrate', '--dry-run', '--as-of', date, ...d()]), 2, /--as-of.*expected a date such as 2027-01-31/);
    }
    const r = await sediment(['lifecycle', 'run', '--dry-run', '--json', '--as-of', '2028-02-29T12:00:00+02:00', ...d()]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ asOfMs: Date.UTC(2028, 1, 29, 10) });
    expectRefused(await sediment(['put', 'rep/locked', '--retain-until', '1', ...d()], { stdin: 'x' }), 2, /--retain-until "1" is not a date such as 2027-01-31/);
    expectRefused(await sediment(['put', 'rep/locked', '--retain-until', '2030-02-30T00:00:00Z', ...d()], { stdin: 'x' }), 2, /--retain-until/);
    expect(await keys()).not.toContain('locked');
  });

  it('a directory on stdin is refused like a directory FILE, storing nothing', async () => {
    const fd = openSync(work, 'r');
    try {
      expectRefused(await sediment(['put', 'rep/from-dir', ...d()], { stdin: fd }), 1, /^sediment: stdin is a directory$/);
      expectRefused(await sediment(['put', 'rep/from-dir', '-', ...d()], { stdin: fd }), 1, /^sediment: stdin is a directory$/);
      expectRefused(await sediment(['lifecycle', 'set', 'rep', ...d()], { stdin: fd }), 1, /^sediment: stdin is a directory$/);
    } finally {
      closeSync(fd);
    }
    expect(await keys()).not.toContain('from-dir');
    expectRefused(await sediment(['put', 'rep/from-dir', work, ...d()]), 1, /is a directory/);
  });

  it('a key that was not valid UTF-8 on the command line is refused, so two byte strings never share a key', async () => {
    expectRefused(await sediment(['put', `rep/$'\\xc3'`, ...d()], { viaBash: true, stdin: 'one' }), 2, /path "rep\/\uFFFD" is not valid UTF-8/);
    expectRefused(await sediment(['put', `rep/$'\\x80'`, ...d()], { viaBash: true, stdin: 'two' }), 2, /is not valid UTF-8/);
    expectRefused(await sediment(['ls', `rep/a$'\\xff'`, ...d()], { viaBash: true }), 2, /is not valid UTF-8/);
    // A key taken from a file name: the same rule.
    const dir = join(work, 'names');
    mkdirSync(dir);
    expectRefused(await sediment(['put', 'rep/', `${dir}/$'\\xc3'`, ...d()], { viaBash: true }), 2, /file name .* is not valid UTF-8/);
    expect((await keys()).filter((k) => k.includes('\uFFFD'))).toEqual([]);
    // Valid UTF-8 still works.
    expect((await sediment(['put', 'rep/caf\u00e9', ...d()], { stdin: 'ok' })).code).toBe(0);
    expect(await keys()).toContain('caf\u00e9');
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('lifecycle set without FILE refuses a terminal stdin, like put (instead of waiting silently)', async () => {
    // script(1) runs the command with a pseudo-terminal as its stdin.
    const run = (cmd: string): { status: number | null; out: string } => {
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: r.status, out: `${r.stdout}${r.stderr}`.replace(/\r/g, '') };
    };
    const lc = run(`"${process.execPath}" "${CLI_MAIN}" --data "${data}" lifecycle set rep`);
    expect(lc.status, lc.out).toBe(2);
    expect(lc.out.trim()).toBe('sediment: no FILE given and stdin is a terminal (give a FILE, "-", or pipe the configuration in)');
    const put = run(`"${process.execPath}" "${CLI_MAIN}" --data "${data}" put rep/tty`);
    expect(put.status, put.out).toBe(2);
    expect(put.out).toMatch(/stdin is a terminal/);
  });
});
