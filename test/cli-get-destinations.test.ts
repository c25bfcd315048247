// Where `sediment get` writes (src/cli/local-files.ts): a regular file is replaced whole through a
// temporary file and keeps its permissions; a symbolic link is written through, not replaced; a FIFO is
// written directly and stays a FIFO; destination mistakes fail before any object is read and leave no
// temporary file behind; any name the file system takes works.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineFailure } from './helpers/cli-output.js';
import { MAIN, runCli } from './helpers/serve-process.js';

let dir: string;
let d: string[];
const BODY = 'the object body\n';

const expectFailure = (r: ReturnType<typeof runCli>, pattern: RegExp): void => expectOneLineFailure(r, 1, pattern);

/** Files in `where` other than those named: a temporary file left behind would show here. */
const others = (where: string, ...names: string[]): string[] => readdirSync(where).filter((n) => !names.includes(n));

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npx tsc -p tsconfig.json" (npm test does) first`);
  dir = mkdtempSync(join(tmpdir(), 'sediment-cli-get-'));
  d = ['--data', join(dir, 'data')];
  writeFileSync(join(dir, 'src.txt'), BODY);
  for (const args of [['mb', 'bkt'], ['put', 'bkt/k.txt', join(dir, 'src.txt')], ['put', 'bkt/a/..', join(dir, 'src.txt')]]) {
    const r = runCli([...args, ...d]);
    expect(r.status, r.stderr).toBe(0);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sediment get destinations', () => {
  it('replaces a regular file and keeps its permission bits', () => {
    const out = join(dir, 'secret.txt');
    writeFileSync(out, 'old contents');
    chmodSync(out, 0o600);
    expect(runCli(['get', 'bkt/k.txt', out, ...d]).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(BODY);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(others(dir, 'data', 'src.txt', 'secret.txt')).toEqual([]);
    rmSync(out);
  });

  it('writes through a symbolic link: the link stays, its target gets the bytes', () => {
    const sub = join(dir, 'links');
    mkdirSync(sub);
    writeFileSync(join(sub, 'target.txt'), 'old');
    symlinkSync('target.txt', join(sub, 'link'));
    expect(runCli(['get', 'bkt/k.txt', join(sub, 'link'), ...d]).status).toBe(0);
    expect(lstatSync(join(sub, 'link')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(sub, 'target.txt'), 'utf8')).toBe(BODY);

    symlinkSync('missing.txt', join(sub, 'dangling'));
    expectFailure(runCli(['get', 'bkt/k.txt', join(sub, 'dangling'), ...d]), /symbolic link to a missing file/);
    expect(others(sub, 'target.txt', 'link', 'dangling')).toEqual([]);
  });

  it('writes into a FIFO directly; the FIFO stays a FIFO', async () => {
    const fifo = join(dir, 'fifo');
    const got = join(dir, 'from-fifo.txt');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${got}"`]);
    const readerDone = new Promise<number | null>((resolve) => reader.on('close', resolve));
    const r = runCli(['get', 'bkt/k.txt', fifo, ...d]);
    expect(r.status, r.stderr).toBe(0);
    expect(await readerDone).toBe(0);
    expect(readFileSync(got, 'utf8')).toBe(BODY);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    rmSync(fifo);
    rmSync(got);
  });

  it('takes a destination name of 250 bytes (the temporary name does not grow with it)', () => {
    const out = join(dir, 'n'.repeat(250));
    expect(runCli(['get', 'bkt/k.txt', out, ...d]).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(BODY);
    rmSync(out);
  });

  it('refuses destination mistakes with one line, before reading, leaving nothing behind', () => {
    expectFailure(runCli(['get', 'bkt/k.txt', join(dir, 'no-such-dir') + '/', ...d]), /directory .*no-such-dir\/ does not exist/);
    expectFailure(runCli(['get', 'bkt/k.txt', join(dir, 'no-such-dir', 'f.txt'), ...d]), /directory .*no-such-dir does not exist/);
    const into = join(dir, 'into');
    mkdirSync(into);
    expectFailure(runCli(['get', 'bkt/a/..', into, ...d]), /key "a\/\.\." has no file name/);
    mkdirSync(join(into, 'k.txt'));
    expectFailure(runCli(['get', 'bkt/k.txt', into, ...d]), /k\.txt is a directory/);
    // A missing object: the temporary file, created before the read, is removed.
    expectFailure(runCli(['get', 'bkt/absent', join(into, 'absent.txt'), ...d]), /does not exist/);
    expect(readdirSync(into)).toEqual(['k.txt']);
    expect(others(dir, 'data', 'src.txt', 'links', 'into')).toEqual([]);
  });
});
