// Bit rot, seeded and random: flipped bytes anywhere in the segment files, overwritten 4 KiB blocks
// (zeros or garbage, as a lost or misdirected write leaves them), truncated and deleted segment files,
// with and without a checkpoint. After each damage every object is either returned exactly or refused
// with an error — a stream that errors must have yielded a correct prefix only — and whenever any
// object is refused or missing, `verify` reports damage, naming every refused object. Counted over all
// trials: wrong bytes served must be 0.
//
// The end-to-end case runs the CLI on a real directory: `sediment verify` lists the segment, offset
// and object; `sediment get` of the damaged object fails in one line; the others read.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { initHash } from '../src/format/hash.js';
import { errorCode, tryGet } from './helpers/engine-helpers.js';
import { copyDisk, segmentPath } from './helpers/segment-map.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';
import { MAIN } from './helpers/serve-process.js';

const CHUNK = 64 << 10;
const DIR = '/data';
const BUCKET = 'rot';
const TRIALS = SOAK ? 600 : 60;

const objects = new Map<string, Buffer>();
const bases: Array<{ name: string; disk: MemoryFileSystem; segments: number[] }> = [];

function open(fs: MemoryFileSystem): Promise<Engine> {
  return Engine.open({ dir: DIR, fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, segmentRecordsMax: 24, onWarning: () => undefined });
}

beforeAll(async () => {
  await initHash();
  const rng = mulberry32(42);
  for (let i = 0; i < 24; i++) {
    const size = [0, 1, 700, 5000, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 150_000][i % 8];
    const body = i % 3 === 0 ? Buffer.alloc(size, 97 + (i % 20)) : rng.bytes(size);
    objects.set(`obj/${i}`, body);
  }
  // Two data sets: sealed segments indexed from their footers (no checkpoint), and the same with a
  // checkpoint (open reads neither footers nor records: damage shows at read time and in verify).
  for (const checkpoint of [false, true]) {
    const disk = new MemoryFileSystem();
    const e = await open(disk);
    await e.createBucket(BUCKET);
    for (const [key, body] of objects) await e.putObject(BUCKET, key, body);
    await e.sealActiveSegment();
    if (checkpoint) await e.checkpoint();
    await e.close();
    if (!checkpoint) {
      // close() writes a checkpoint: remove it so open indexes from the footers.
      for (const f of await disk.readdir(`${DIR}/checkpoints`)) await disk.unlink(`${DIR}/checkpoints/${f}`);
      await disk.syncDir(`${DIR}/checkpoints`);
    }
    const segments = (await disk.readdir(`${DIR}/segments`)).map((n) => Number(n.slice(0, 12)));
    expect(segments.length, 'several sealed segments').toBeGreaterThan(2);
    bases.push({ name: checkpoint ? 'with checkpoint' : 'from footers', disk, segments });
  }
});

type Damage = 'flip' | 'block-zero' | 'block-garbage' | 'truncate' | 'delete';

async function damage(fs: MemoryFileSystem, segments: number[], rng: Rng, kind: Damage): Promise<string> {
  // The newest segment is the empty active one; data lives in the sealed ones before it.
  const id = rng.pick(segments.slice(0, -1));
  const path = segmentPath(DIR, id);
  const size = await fs.fileSize(path);
  switch (kind) {
    case 'flip': {
      const n = rng.int(1, 4);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        const off = rng.int(0, size - 1);
        fs.flipByte(path, off, 1 << rng.int(0, 7));
        at.push(off);
      }
      return `flip segment ${id} at ${at.join(',')}`;
    }
    case 'block-zero':
    case 'block-garbage': {
      const at = rng.int(0, Math.floor((size - 1) / 4096)) * 4096;
      const len = Math.min(4096, size - at);
      const fh = await fs.open(path, 'readwrite');
      await fh.writev([kind === 'block-zero' ? Buffer.alloc(len) : rng.bytes(len)], at);
      await fh.datasync();
      await fh.close();
      return `${kind} segment ${id} at ${at}`;
    }
    case 'truncate': {
      const to = rng.int(0, size - 1);
      const fh = await fs.open(path, 'readwrite');
      await fh.truncate(to);
      await fh.datasync();
      await fh.close();
      return `truncate segment ${id} to ${to}`;
    }
    case 'delete':
      await fs.unlink(path);
      await fs.syncDir(`${DIR}/segments`);
      return `delete segment ${id}`;
  }
}

describe('random bit rot', () => {
  it(`${TRIALS} seeded damages: every object exact or refused, never a wrong byte; verify reports it`, async () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const kinds: Damage[] = ['flip', 'flip', 'block-zero', 'block-garbage', 'truncate', 'delete'];
    let wrongBytes = 0;
    let refused = 0;
    let exact = 0;
    for (let t = 0; t < TRIALS; t++) {
      const base = bases[t % bases.length];
      const fs = await copyDisk(base.disk, DIR, new MemoryFileSystem());
      // Without a checkpoint, the manifest (DIR/manifest) is what says a deleted segment existed.
      const kind = rng.pick(kinds);
      const what = await damage(fs, base.segments, rng, kind);
      const where = `seed ${seed} (replay: SEDIMENT_SEED=${seed}) trial ${t} (${base.name}): ${what}`;
      let e: Engine;
      try {
        e = await open(fs);
      } catch (err) {
        throw new Error(`${where}: open failed: ${(err as Error).message}`, { cause: err });
      }
      try {
        const failed: string[] = [];
        let missing = 0;
        for (const [key, body] of objects) {
          const { data, error } = await tryGet(e, BUCKET, key);
          if (!data.equals(body.subarray(0, data.length)) || (!error && data.length !== body.length)) wrongBytes++;
          if (error) {
            const code = errorCode(error);
            // The first segment holds the bucket's create record: if its header is destroyed (no
            // checkpoint), the bucket itself is gone, and its objects are refused as "no such bucket".
            const allowed = ['SEDIMENT_CORRUPTION', 'SEDIMENT_NO_SUCH_KEY'];
            if (new RegExp(`segment ${base.segments[0]}\\b`).test(what)) allowed.push('SEDIMENT_NO_SUCH_BUCKET');
            expect(allowed, `${where}: ${key}: ${(error as Error).message}`).toContain(code);
            refused++;
            if (code === 'SEDIMENT_CORRUPTION') failed.push(key);
            else missing++;
          } else exact++;
        }
        expect(wrongBytes, `${where}: wrong bytes served`).toBe(0);
        const v = await e.verify();
        const named = v.damagedObjects.map((o) => o.key);
        for (const key of failed) expect(named, `${where}: verify names ${key}`).toContain(key);
        if (failed.length + missing > 0) expect(v.damage.length, `${where}: verify reports damage`).toBeGreaterThan(0);
        // A deleted or truncated segment is always damage, even if no object had bytes there.
        if (/^(delete|truncate)/.test(what)) expect(v.damage.length + e.stats().damage.length, `${where}: damage reported`).toBeGreaterThan(0);
      } finally {
        await e.close();
      }
    }
    console.log(`bit rot (seed ${seed}): ${TRIALS} trials, ${exact} objects read exactly, ${refused} refused, ${wrongBytes} wrong bytes`);
    expect(refused, 'the damage hit objects').toBeGreaterThan(0);
  });
});

describe('bit rot on a real directory, through the CLI', () => {
  it('verify lists the overwritten block and the object; get of that object fails in one line; the others read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-rot-'));
    const cli = (args: string[], input?: Buffer) => spawnSync(process.execPath, [MAIN, '--quiet', '--data', dir, ...args], { input, maxBuffer: 1 << 24 });
    try {
      expect(cli(['mb', BUCKET]).status).toBe(0);
      const a = mulberry32(1).bytes(200_000);
      const b = mulberry32(2).bytes(200_000);
      expect(cli(['put', `${BUCKET}/a`, '-'], a).status).toBe(0);
      expect(cli(['put', `${BUCKET}/b`, '-'], b).status).toBe(0);
      // Zero the 4 KiB block at 64 KiB of the segment: inside `a` (written first, right after the header).
      const seg = join(dir, 'segments', readdirSync(join(dir, 'segments')).sort()[0]);
      const fd = openSync(seg, 'r+');
      writeSync(fd, Buffer.alloc(4096), 0, 4096, 64 * 1024);
      closeSync(fd);
      const v = cli(['verify']);
      const out = v.stdout.toString();
      expect(v.status, out + v.stderr.toString()).toBe(1);
      expect(out).toMatch(/damage \(\d+\):\n\s+segment 1 offset \d+: /);
      expect(out).toMatch(new RegExp(`damaged objects \\(1\\):\\n\\s+${BUCKET}/a: `));
      const getA = cli(['get', `${BUCKET}/a`, '-']);
      expect(getA.status).toBe(1);
      // Open warns about the damage it found scanning the active segment; the failure is one line.
      const lines = getA.stderr.toString().trim().split('\n');
      expect(lines.filter((l) => !l.startsWith('sediment: warning: '))).toEqual([expect.stringMatching(/^sediment: corrupt data in segment 1 at offset \d+/)]);
      const md5 = (x: Buffer) => createHash('md5').update(x).digest('hex');
      if (getA.stdout.length > 0) expect(getA.stdout.equals(a.subarray(0, getA.stdout.length))).toBe(true);
      const getB = cli(['get', `${BUCKET}/b`, '-']);
      expect(getB.status, getB.stderr.toString()).toBe(0);
      expect(md5(getB.stdout)).toBe(md5(b));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
