// End-to-end tests of the `sediment` CLI: the compiled entry point (dist/src/cli/main.js, built by
// `npm test`'s pretest step) is spawned against temporary data directories, and its stdout, stderr,
// exit status and the files it writes are checked. Each scenario uses its own data directory, so the
// scenarios run concurrently.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { expectOneLineFailure } from './helpers/cli-output.js';
import { initHash, writeHashAt } from '../src/format/hash.js';

const MAIN = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const OBJECT_BYTES = 3 * 1024 * 1024 + 12345;

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function sediment(args: string[], input?: Buffer): Promise<Run> {
  const env = { ...process.env };
  delete env.SEDIMENT_DATA;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined); // the CLI may exit without reading stdin
    child.stdin.end(input);
  });
}

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

let work: string;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npx tsc -p tsconfig.json" (npm test does) first`);
  work = mkdtempSync(join(tmpdir(), 'sediment-cli-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function scratch(name: string): { dir: string; data: string } {
  const dir = join(work, name);
  mkdirSync(dir);
  return { dir, data: join(dir, 'data') };
}

describe.concurrent('sediment CLI', () => {
  it('round-trips objects through files and stdin/stdout, lists, stats, ranges, removes', async () => {
    const { dir, data } = scratch('roundtrip');
    const d = ['--data', data];
    const body = randomBytes(OBJECT_BYTES);
    const src = join(dir, 'random.bin');
    writeFileSync(src, body);

    expect((await sediment(['mb', 'photos', ...d])).code).toBe(0);
    let r = await sediment(['put', 'photos/blobs/random.bin', src, '--meta', 'owner=ana', '--meta', 'team=ops', ...d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toContain(md5(body));
    r = await sediment(['put', 'photos/notes/stdin.txt', '-', '--content-type', 'text/x-note', ...d], body);
    expect(r.code, r.stderr).toBe(0);
    expect((await sediment(['put', 'photos/top.txt', '-', '-q', ...d], Buffer.from('hello\n'))).stdout.length).toBe(0);

    const out = join(dir, 'out.bin');
    r = await sediment(['get', 'photos/blobs/random.bin', out, ...d]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out).equals(body)).toBe(true);
    r = await sediment(['get', 'photos/notes/stdin.txt', ...d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.equals(body)).toBe(true);

    r = await sediment(['get', 'photos/blobs/random.bin', '--range', '1048570-2097160', ...d]);
    expect(r.stdout.equals(body.subarray(1048570, 2097161))).toBe(true);
    r = await sediment(['get', 'photos/blobs/random.bin', '--range', '-100', ...d]);
    expect(r.stdout.equals(body.subarray(body.length - 100))).toBe(true);
    r = await sediment(['get', 'photos/top.txt', '--range', '50-60', ...d]);
    expectOneLineFailure(r, 1, /not satisfiable/);
    // Part 1 of an object not uploaded in parts is all of it; it has no part 2.
    r = await sediment(['get', 'photos/blobs/random.bin', '--part', '1', ...d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.equals(body)).toBe(true);
    expectOneLineFailure(await sediment(['get', 'photos/blobs/random.bin', '--part', '2', ...d]), 1, /part 2/);

    // Default listing groups at '/' like `aws s3 ls`; --recursive shows every key.
    r = await sediment(['ls', 'photos', ...d]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.toString().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/PRE\s+blobs\/$/);
    expect(lines[1]).toMatch(/PRE\s+notes\/$/);
    expect(lines[2]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+6\\s+${md5(Buffer.from('hello\n'))}\\s+top\\.txt$`));
    r = await sediment(['ls', 'photos/blobs/', ...d]);
    expect(r.stdout.toString()).toMatch(new RegExp(`\\s${OBJECT_BYTES}\\s+${md5(body)}\\s+random\\.bin\\n$`));
    r = await sediment(['ls', 'photos', '--recursive', '--json', ...d]);
    const rows = r.stdout.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as { key: string; size: number });
    expect(rows.map((x) => x.key)).toEqual(['blobs/random.bin', 'notes/stdin.txt', 'top.txt']);
    expect(rows[0].size).toBe(OBJECT_BYTES);
    r = await sediment(['ls', ...d]);
    expect(r.stdout.toString(), `code ${r.code} ${r.stderr}`).toMatch(/ photos\n$/);

    r = await sediment(['stat', 'photos/blobs/random.bin', ...d]);
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.toString();
    expect(text).toContain(md5(body));
    expect(text).toContain(`(${OBJECT_BYTES} bytes)`);
    expect(text).toMatch(/content type:\s+binary\/octet-stream/);
    expect(text).toMatch(/storage class:\s+STANDARD/);
    expect(text).toMatch(/metadata:\s+owner=ana, team=ops/);
    r = await sediment(['stat', 'photos/notes/stdin.txt', '--json', ...d]);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ size: OBJECT_BYTES, etag: md5(body), contentType: 'text/x-note', storageClass: 'STANDARD' });

    r = await sediment(['info', '--json', ...d]);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ buckets: 1, objects: 3, logicalBytes: 2 * OBJECT_BYTES + 6 });
    r = await sediment(['info', ...d]);
    expect(r.stdout.toString()).toMatch(/objects \(current\):\s+3\n/);

    expectOneLineFailure(await sediment(['rb', 'photos', ...d]), 1, /not empty/);
    expect((await sediment(['rm', 'photos/top.txt', ...d])).code).toBe(0);
    expectOneLineFailure(await sediment(['rm', 'photos/top.txt', ...d]), 1, /does not exist/);
    expect((await sediment(['rm', 'photos/top.txt', '--force', ...d])).code).toBe(0);
    expect((await sediment(['rm', 'photos/blobs/random.bin', ...d])).code).toBe(0);
    expect((await sediment(['rm', 'photos/notes/stdin.txt', ...d])).code).toBe(0);
    expect((await sediment(['rb', 'photos', ...d])).code).toBe(0);
  });

  it('reports bad command lines and failed reads on one line, leaving no partial output', async () => {
    const { dir, data } = scratch('errors');
    const d = ['--data', data];
    expectOneLineFailure(await sediment(['ls', ...d]), 1, /does not exist/);
    expectOneLineFailure(await sediment(['mb', 'Bad_Bucket', ...d]), 2, /invalid bucket name "Bad_Bucket"/);
    expectOneLineFailure(await sediment(['put', ...d]), 2, /missing required argument/);
    expectOneLineFailure(await sediment(['frobnicate', ...d]), 2, /unknown command 'frobnicate'/);
    expectOneLineFailure(await sediment([...d]), 2, /missing command/);
    expectOneLineFailure(await sediment(['--durability', 'maybe', 'ls', ...d]), 2, /--durability/);
    expect((await sediment(['mb', 'logs', ...d])).code).toBe(0);
    expectOneLineFailure(await sediment(['stat', '/no-bucket', ...d]), 2, /has no bucket/);
    expectOneLineFailure(await sediment(['get', 'logs', ...d]), 2, /has no key/);
    expectOneLineFailure(await sediment(['get', 'logs/x', '--range', 'abc', ...d]), 2, /--range/);
    expectOneLineFailure(await sediment(['get', 'logs/x', '--part', '0', ...d]), 2, /--part/);
    expectOneLineFailure(await sediment(['get', 'logs/x', '--part', '1', '--range', '0-1', ...d]), 2, /--part and --range/);
    expectOneLineFailure(await sediment(['put', 'logs/x', join(dir, 'missing.txt'), ...d]), 1, /missing\.txt/);

    const out = join(dir, 'never.bin');
    expectOneLineFailure(await sediment(['get', 'logs/absent', out, ...d]), 1, /"logs\/absent" does not exist/);
    expect(readdirSync(dir).sort()).toEqual(['data']);

    const r = await sediment(['--durability', 'none', 'ls', ...d]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/benchmarks only/);

    // Another process holding the directory (as `sediment serve` would).
    const holder = await Engine.open({ dir: data, workerThreads: 0, onWarning: () => undefined });
    try {
      expectOneLineFailure(await sediment(['ls', ...d]), 1, /another process .*sediment serve/);
    } finally {
      await holder.close();
    }
    expect(statSync(data).isDirectory()).toBe(true);
  });

  it('verify passes on a clean directory and names the damaged segment and object after a byte flip', async () => {
    const { dir, data } = scratch('verify');
    const d = ['--data', data];
    const body = randomBytes(OBJECT_BYTES);
    expect((await sediment(['mb', 'archive', ...d])).code).toBe(0);
    expect((await sediment(['put', 'archive/big.bin', '-', ...d], body)).code).toBe(0);
    expect((await sediment(['put', 'archive/small.txt', '-', ...d], Buffer.from('after the big one'))).code).toBe(0);

    let r = await sediment(['verify', ...d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toContain('no damage found');

    // Random bytes are stored raw, so the middle of the big object's data is the middle of its chunks.
    const segDir = join(data, 'segments');
    const segs = readdirSync(segDir).filter((n) => n.endsWith('.seg'));
    const seg = segs.sort((a, b) => statSync(join(segDir, b)).size - statSync(join(segDir, a)).size)[0];
    const segmentId = Number(seg.replace('.seg', ''));
    const fd = openSync(join(segDir, seg), 'r+');
    const at = 64 + Math.floor(OBJECT_BYTES / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] ^= 0x5a;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);

    r = await sediment(['verify', '-q', ...d]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout.toString(), r.stderr).not.toBe('');
    const report = r.stdout.toString();
    expect(report).toMatch(new RegExp(`segment ${segmentId} offset \\d+: `));
    expect(report).toContain('archive/big.bin: ');
    expect(report).not.toContain('archive/small.txt');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^sediment: verify found (1 damaged region|\d+ damaged regions) and 1 damaged object$/);

    r = await sediment(['verify', '--json', ...d]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ ok: false, damagedObjects: [{ bucket: 'archive', key: 'big.bin' }] });

    // A damaged object never turns into bytes: the read fails and leaves no file behind.
    const out = join(dir, 'big.out');
    r = await sediment(['get', 'archive/big.bin', out, ...d]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sediment: corrupt data in segment/m);
    expect(readdirSync(dir).sort()).toEqual(['data']);
    r = await sediment(['get', 'archive/small.txt', ...d]);
    expect(r.stdout.toString()).toBe('after the big one');
  });

  it('verify --objects reads every object against its ETag: it finds bytes changed under a re-made frame hash', async () => {
    const { data } = scratch('verify-objects');
    const d = ['--data', data];
    const body = randomBytes(200_000);
    expect((await sediment(['mb', 'archive', ...d])).code).toBe(0);
    expect((await sediment(['put', 'archive/a.bin', '-', ...d], body)).code).toBe(0);
    expect((await sediment(['put', 'archive/b.txt', '-', ...d], Buffer.from('untouched'))).code).toBe(0);
    let r = await sediment(['info', ...d]);
    expect(r.stdout.toString()).toMatch(/^format: +5 \(this sediment reads 1 to 8; older ones refuse a newer directory\)$/m);
    expect(JSON.parse((await sediment(['info', '--json', ...d])).stdout.toString()).formatVersion).toBe(5);
    r = await sediment(['verify', '--objects', ...d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toMatch(/objects: read 2 object versions, .*\nobjects: every one as written/);

    // Change a byte of a.bin's (raw) chunk and make its frame hash again: every frame still checks out.
    await initHash();
    const segDir = join(data, 'segments');
    const seg = readdirSync(segDir).map((n) => join(segDir, n)).find((p) => readFileSync(p).includes(body.subarray(100_000, 100_032)))!;
    const bytes = readFileSync(seg);
    const at = bytes.indexOf(body.subarray(100_000, 100_032));
    let start = bytes.lastIndexOf('SREC', at, 'latin1');
    while (start + bytes.readUInt32LE(start + 4) <= at) start = bytes.lastIndexOf('SREC', start - 1, 'latin1');
    const frameLen = bytes.readUInt32LE(start + 4);
    bytes[at] ^= 1;
    writeHashAt(bytes, start, start + frameLen - 8);
    const fd = openSync(seg, 'r+');
    writeSync(fd, bytes, start, frameLen, start);
    closeSync(fd);

    r = await sediment(['verify', ...d]);
    expect(r.code, r.stderr).toBe(0); // the frame checks cannot see it
    r = await sediment(['verify', '--objects', '-q', ...d]);
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toMatch(/^ {2}archive\/a\.bin \(version null\): the MD5 of its bytes is [0-9a-f]{32}, not its ETag [0-9a-f]{32}$/m);
    expect(r.stdout.toString()).not.toContain('b.txt');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('sediment: verify found 0 damaged regions and 1 damaged object');
    r = await sediment(['verify', '--objects', '--json', ...d]);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ ok: false, objects: { objectsChecked: 2, damagedObjects: [{ bucket: 'archive', key: 'a.bin', versionId: 'null' }] } });
  });
});
