// Byte-flip corruption tests that assert exactly which objects fail, plus torn tails.
//
// A data set of objects with distinct sizes (empty, tiny, raw and zstd chunks, multi-chunk) is written,
// sealed and closed once; each case works on a copy of that disk, damages one place located with the
// format decoders (test/helpers/segment-map.ts), reopens and checks: the damaged object fails with
// SEDIMENT_CORRUPTION (or its stream errors after a correct prefix — never a wrong byte), every other
// object reads back exactly, and verify() names the segment, the offset and exactly that object.
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { encodeFrame } from '../src/format/frame.js';
import { initHash } from '../src/format/hash.js';
import { RecordType } from '../src/format/constants.js';
import { errorCode, md5hex, readAll, snapshot, tryGet } from './helpers/engine-helpers.js';
import { copyDisk, mapDisk, segmentPath, type DiskMap, type FrameInfo } from './helpers/segment-map.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';

const CHUNK = 64 << 10;
const DIR = '/data';
const BUCKET = 'data';

function compressible(n: number, salt: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i * 7 + salt) % 13);
  return b;
}

function random(n: number, seed: number): Buffer {
  return mulberry32(seed).bytes(n);
}

/** Distinct sizes: empty, tiny, raw and zstd, one chunk, chunk + 1, many chunks. */
const OBJECTS: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  tiny: Buffer.from('x'),
  small: random(1000, 1),
  text: compressible(5000, 2),
  'one-chunk': random(CHUNK, 3),
  'two-chunks': random(CHUNK + 1, 4),
  multi: random(5 * CHUNK + 123, 5),
  'multi-z': compressible(4 * CHUNK, 6),
  'dir/nested': random(3 * CHUNK - 1, 7),
};

let base: MemoryFileSystem;
let baseMap: DiskMap;
let expectedState: ReturnType<typeof snapshot>;

async function openOn(fs: MemoryFileSystem, warnings: string[] = []): Promise<Engine> {
  return Engine.open({ dir: DIR, fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: (m) => warnings.push(m) });
}

beforeAll(async () => {
  await initHash();
  base = new MemoryFileSystem();
  const e = await openOn(base);
  await e.createBucket(BUCKET);
  for (const [key, data] of Object.entries(OBJECTS)) await e.putObject(BUCKET, key, data);
  await e.sealActiveSegment();
  expectedState = snapshot(e);
  await e.close();
  baseMap = await mapDisk(base, DIR);
  // The data set must exercise what the tests claim: several segments, raw and compressed chunks.
  const chunkFrames = [...baseMap.segments.values()].flatMap((s) => s.frames.filter((f) => f.type === RecordType.CHUNK));
  expect(new Set(chunkFrames.map((f) => f.flags))).toEqual(new Set([0, 1]));
  expect(baseMap.objects.size).toBe(Object.keys(OBJECTS).length);
});

async function freshCopy(): Promise<MemoryFileSystem> {
  return copyDisk(base, DIR, new MemoryFileSystem());
}

function frameOf(segmentId: number, offset: number): FrameInfo {
  const f = baseMap.segments.get(segmentId)!.frames.find((x) => x.offset === offset);
  if (!f) throw new Error(`no frame at ${segmentId}:${offset}`);
  return f;
}

/** Reads every object; returns the names that failed, after checking nothing wrong was ever returned. */
async function failingObjects(e: Engine): Promise<string[]> {
  const failed: string[] = [];
  for (const [key, data] of Object.entries(OBJECTS)) {
    const { data: got, error } = await tryGet(e, BUCKET, key);
    // Whatever was yielded must be a correct prefix: a flipped byte never becomes a wrong byte.
    expect(got.equals(data.subarray(0, got.length)), `${key}: yielded bytes differ from the original`).toBe(true);
    if (error) {
      expect(errorCode(error), `${key}: ${(error as Error).message}`).toBe('SEDIMENT_CORRUPTION');
      if (data.length > 0) expect(got.length).toBeLessThan(data.length);
      failed.push(key);
    } else {
      expect(got.length, key).toBe(data.length);
    }
  }
  return failed.sort();
}

async function expectVerify(e: Engine, damaged: Array<{ segmentId: number; offset: number }>, objects: string[]): Promise<void> {
  const v = await e.verify();
  for (const d of damaged) {
    expect(v.damage, `verify names segment ${d.segmentId} offset ${d.offset}`).toContainEqual(expect.objectContaining({ segmentId: d.segmentId, offset: d.offset }));
  }
  expect(v.damagedObjects.map((o) => o.key).sort()).toEqual([...objects].sort());
  for (const o of v.damagedObjects) expect(o.bucket).toBe(BUCKET);
}

describe('a flipped byte in one object', () => {
  const cases: Array<{ key: string; chunk: 'first' | 'middle' | 'last'; where: 'payload' | 'header' | 'hash' }> = [
    { key: 'tiny', chunk: 'first', where: 'payload' },
    { key: 'small', chunk: 'first', where: 'payload' },
    { key: 'text', chunk: 'first', where: 'payload' },
    { key: 'one-chunk', chunk: 'first', where: 'hash' },
    { key: 'two-chunks', chunk: 'last', where: 'payload' },
    { key: 'multi', chunk: 'first', where: 'payload' },
    { key: 'multi', chunk: 'middle', where: 'payload' },
    { key: 'multi', chunk: 'last', where: 'header' },
    { key: 'multi-z', chunk: 'middle', where: 'payload' },
    { key: 'dir/nested', chunk: 'last', where: 'payload' },
  ];

  it.each(cases)('chunk of $key ($chunk chunk, $where): only that object fails, verify names it', async ({ key, chunk, where }) => {
    const loc = baseMap.objects.get(`${BUCKET}/${key}`)!;
    const idx = chunk === 'first' ? 0 : chunk === 'last' ? loc.chunks.length - 1 : Math.floor(loc.chunks.length / 2);
    const ref = loc.chunks[idx];
    const f = frameOf(ref.segmentId, ref.offset);
    const fs = await freshCopy();
    const at = where === 'payload' ? f.payloadAt + Math.floor(f.payloadLen / 2) : where === 'header' ? f.offset + 8 : f.offset + f.frameLen - 3;
    fs.flipByte(segmentPath(DIR, f.segmentId), at, 0x04);
    const e = await openOn(fs);
    try {
      expect(snapshot(e)).toEqual(expectedState); // the index comes from the footers: nothing is lost
      expect(await failingObjects(e)).toEqual([key]);
      await expect(e.headObject(BUCKET, key)).resolves.toMatchObject({ size: OBJECTS[key].length }); // the manifest is intact
      if (idx > 0) {
        // A range that avoids the damaged chunk still reads: only touched chunks are decoded.
        const g = await e.getObject(BUCKET, key, { range: { start: 0, end: CHUNK - 1 } });
        expect((await readAll(g.body)).equals(OBJECTS[key].subarray(0, CHUNK))).toBe(true);
      }
      const err = (await tryGet(e, BUCKET, key)).error as { segmentId: number; offset: number };
      expect([err.segmentId, err.offset]).toEqual([f.segmentId, f.offset]);
      await expectVerify(e, [{ segmentId: f.segmentId, offset: f.offset }], [key]);
    } finally {
      await e.close();
    }
  });

  it('a flipped byte in a COMMIT record: head and get fail for that object only', async () => {
    for (const key of ['empty', 'multi']) {
      const { commit } = baseMap.objects.get(`${BUCKET}/${key}`)!;
      const fs = await freshCopy();
      fs.flipByte(segmentPath(DIR, commit.segmentId), commit.payloadAt + 5, 0x01);
      const e = await openOn(fs);
      try {
        await expect(e.headObject(BUCKET, key)).rejects.toMatchObject({ code: 'SEDIMENT_CORRUPTION', segmentId: commit.segmentId, offset: commit.offset });
        expect(await failingObjects(e)).toEqual([key]);
        await expectVerify(e, [{ segmentId: commit.segmentId, offset: commit.offset }], [key]);
        // The index (from the footer's copy of the record) still lists it: the damage is visible, not hidden.
        expect(e.listObjects(BUCKET).contents.map((c) => c.key)).toContain(key);
      } finally {
        await e.close();
      }
    }
  });

  it('every byte of a small object\'s records (chunk and commit) is covered', async () => {
    // Exhaustive over the two frames of "small": whatever byte flips, "small" fails and nothing else does.
    const loc = baseMap.objects.get(`${BUCKET}/small`)!;
    const frames = [frameOf(loc.chunks[0].segmentId, loc.chunks[0].offset), loc.commit];
    const rng = mulberry32(testSeed());
    for (const f of frames) {
      const positions = SOAK ? Array.from({ length: f.frameLen }, (_, i) => i) : [0, 3, 4, 7, 8, 9, 10, 11, ...Array.from({ length: 12 }, () => rng.int(12, f.frameLen - 1))];
      for (const i of positions) {
        const fs = await freshCopy();
        fs.flipByte(segmentPath(DIR, f.segmentId), f.offset + i, 1 << rng.int(0, 7));
        const e = await openOn(fs);
        try {
          expect(await failingObjects(e), `seed ${rng.seed}: frame ${f.offset} byte ${i}`).toEqual(['small']);
        } finally {
          await e.close();
        }
      }
    }
  });
});

describe('damage to segment structure', () => {
  it('a flipped footer byte: reopen falls back to a scan, reports the damage, loses nothing', async () => {
    const [id, seg] = [...baseMap.segments].find(([, s]) => s.footer)!;
    for (const at of [seg.footer!.payloadAt + 3, seg.tailAt! + 2]) {
      const fs = await freshCopy();
      for (const n of await fs.readdir(`${DIR}/checkpoints`)) await fs.unlink(`${DIR}/checkpoints/${n}`); // force reading the segment
      fs.flipByte(seg.path, at, 0x10);
      const warnings: string[] = [];
      const e = await openOn(fs, warnings);
      try {
        expect(e.stats().damage, `flip at ${at}`).toContainEqual(expect.objectContaining({ segmentId: id }));
        expect(warnings.join('\n')).toMatch(new RegExp(`segment ${id}`));
        expect(snapshot(e)).toEqual(expectedState);
        expect(await failingObjects(e)).toEqual([]);
        const v = await e.verify();
        expect(v.damage).toContainEqual(expect.objectContaining({ segmentId: id }));
        expect(v.damagedObjects).toEqual([]);
      } finally {
        await e.close();
      }
    }
  });

  it('a flipped footer byte under a checkpoint: open does not read the segment, verify reports it', async () => {
    const [id, seg] = [...baseMap.segments].find(([, s]) => s.footer)!;
    const fs = await freshCopy();
    fs.flipByte(seg.path, seg.footer!.payloadAt + 3, 0x10);
    const e = await openOn(fs);
    try {
      expect(snapshot(e)).toEqual(expectedState);
      expect(await failingObjects(e)).toEqual([]);
      const v = await e.verify();
      expect(v.damage).toContainEqual(expect.objectContaining({ segmentId: id }));
      expect(v.damagedObjects).toEqual([]);
    } finally {
      await e.close();
    }
  });

  it('a truncated sealed segment: objects with bytes past the cut fail, the others read', async () => {
    const [id, seg] = [...baseMap.segments].find(([, s]) => s.frames.length > 4)!;
    const cut = seg.frames[Math.floor(seg.frames.length / 2)].offset + 10;
    const hit = [...baseMap.objects]
      .filter(([, o]) => [o.commit, ...o.chunks].some((r) => r.segmentId === id && r.offset + r.frameLen > cut))
      .map(([name]) => name.slice(BUCKET.length + 1))
      .sort();
    expect(hit.length).toBeGreaterThan(0);
    const fs = await freshCopy();
    const fh = await fs.open(seg.path, 'readwrite');
    await fh.truncate(cut);
    await fh.datasync();
    await fh.close();
    // With the checkpoint, the index still has every object: those past the cut fail with corruption.
    let e = await openOn(fs);
    try {
      expect(await failingObjects(e)).toEqual(hit);
      await expectVerify(e, [], hit);
      expect((await e.verify()).damage).toContainEqual(expect.objectContaining({ segmentId: id }));
    } finally {
      await e.close();
    }
    // Without it, the segment is scanned: the damage is reported at open and the objects whose COMMIT
    // was cut off are gone, while everything before the cut is intact.
    for (const n of await fs.readdir(`${DIR}/checkpoints`)) await fs.unlink(`${DIR}/checkpoints/${n}`);
    e = await openOn(fs);
    try {
      expect(e.stats().damage).toContainEqual(expect.objectContaining({ segmentId: id }));
      const listed = e.listObjects(BUCKET).contents.map((c) => c.key);
      for (const key of Object.keys(OBJECTS)) {
        if (hit.includes(key)) expect(listed).not.toContain(key);
        else expect(md5hex(await readAll((await e.getObject(BUCKET, key)).body))).toBe(md5hex(OBJECTS[key]));
      }
    } finally {
      await e.close();
    }
  });

  it('a sealed segment truncated to 0 bytes (or inside its header): damage inside the file, never a negative length', async () => {
    const [id, seg] = [...baseMap.segments].find(([, s]) => s.frames.length > 4)!;
    for (const cut of [0, 30]) {
      const fs = await freshCopy();
      const fh = await fs.open(seg.path, 'readwrite');
      await fh.truncate(cut);
      await fh.datasync();
      await fh.close();
      for (const n of await fs.readdir(`${DIR}/checkpoints`)) await fs.unlink(`${DIR}/checkpoints/${n}`);
      const warnings: string[] = [];
      const e = await openOn(fs, warnings);
      try {
        const atOpen = e.stats().damage.filter((d) => d.segmentId === id);
        const verified = (await e.verify()).damage.filter((d) => d.segmentId === id);
        expect(atOpen.length, `cut ${cut}`).toBeGreaterThan(0);
        expect(verified.length, `cut ${cut}`).toBeGreaterThan(0);
        for (const d of [...atOpen, ...verified]) {
          expect(d.length, `cut ${cut}: ${d.detail}`).toBeGreaterThanOrEqual(0);
          expect(d.offset + d.length, `cut ${cut}: ${d.detail}`).toBeLessThanOrEqual(cut);
        }
        expect(warnings.filter((w) => w.includes(`segment ${id} `)).join('\n')).not.toMatch(/\(-\d+ bytes\)/);
      } finally {
        await e.close();
      }
    }
  });

  it('a deleted segment file: its objects fail with corruption, the others read', async () => {
    const [id] = [...baseMap.segments].find(([, s]) => s.frames.some((f) => f.type === RecordType.CHUNK))!;
    const hit = [...baseMap.objects]
      .filter(([, o]) => [o.commit, ...o.chunks].some((r) => r.segmentId === id))
      .map(([name]) => name.slice(BUCKET.length + 1))
      .sort();
    const fs = await freshCopy();
    await fs.unlink(segmentPath(DIR, id));
    await fs.syncDir(`${DIR}/segments`);
    const e = await openOn(fs);
    try {
      expect(await failingObjects(e)).toEqual(hit);
      const v = await e.verify();
      expect(v.damagedObjects.map((o) => o.key).sort()).toEqual(hit);
      expect(v.damage, 'verify reports the missing segment').toContainEqual(expect.objectContaining({ segmentId: id }));
    } finally {
      await e.close();
    }
  });

  it('a flipped checkpoint byte is ignored with a warning and the index is rebuilt by replay', async () => {
    const names = await base.readdir(`${DIR}/checkpoints`);
    expect(names).toHaveLength(1);
    const path = `${DIR}/checkpoints/${names[0]}`;
    const size = await base.fileSize(path);
    const rng = mulberry32(testSeed());
    // Every header byte (magic, version, seq, replay position, …), the hash, and a sample of the rest.
    const positions = SOAK ? Array.from({ length: size }, (_, i) => i) : [...Array.from({ length: 64 }, (_, i) => i), ...Array.from({ length: 40 }, () => rng.int(64, size - 9)), size - 8, size - 1];
    for (const i of positions) {
      const fs = await freshCopy();
      fs.flipByte(path, i, 1 << rng.int(0, 7));
      const warnings: string[] = [];
      let e: Engine;
      try {
        e = await openOn(fs, warnings);
      } catch (err) {
        throw new Error(`seed ${rng.seed}: checkpoint byte ${i} flipped: open failed: ${(err as Error).message}`);
      }
      try {
        expect(warnings.join('\n'), `byte ${i}`).toMatch(/checkpoint/);
        expect(snapshot(e), `byte ${i}`).toEqual(expectedState);
        expect(e.stats().damage).toEqual([]);
      } finally {
        await e.close();
      }
    }
  });

  it('an unknown record type with a valid hash is reported as damage, the rest replays', async () => {
    const fs = await freshCopy();
    for (const n of await fs.readdir(`${DIR}/checkpoints`)) await fs.unlink(`${DIR}/checkpoints/${n}`);
    let e = await openOn(fs);
    await e.putObject(BUCKET, 'before', 'b');
    await e.close();
    const active = Math.max(...(await fs.readdir(`${DIR}/segments`)).map((n) => Number(n.slice(0, 12))));
    const path = segmentPath(DIR, active);
    const bogus = encodeFrame(12, 0, Buffer.alloc(0), Buffer.from('from the future'));
    const fh = await fs.open(path, 'readwrite');
    const at = await fh.size();
    await fh.writev([bogus], at);
    await fh.datasync();
    await fh.close();
    e = await openOn(fs);
    try {
      expect(e.stats().damage).toContainEqual(expect.objectContaining({ segmentId: active, offset: at }));
      await e.putObject(BUCKET, 'after', 'a');
    } finally {
      await e.close();
    }
    e = await openOn(fs);
    try {
      expect((await readAll((await e.getObject(BUCKET, 'before')).body)).toString()).toBe('b');
      expect((await readAll((await e.getObject(BUCKET, 'after')).body)).toString()).toBe('a');
    } finally {
      await e.close();
    }
  });
});

describe('torn tails and damage in the active segment', () => {
  /** A data directory whose active (newest, unsealed) segment holds `keys`, all acknowledged. */
  async function withActive(keys: Record<string, Buffer>): Promise<{ fs: MemoryFileSystem; path: string; size: number }> {
    const fs = await freshCopy();
    const e = await openOn(fs);
    for (const [k, v] of Object.entries(keys)) await e.putObject(BUCKET, k, v);
    const id = e.stats().activeSegmentId;
    await e.close();
    const path = segmentPath(DIR, id);
    return { fs, path, size: await fs.fileSize(path) };
  }

  const ACTIVE = { 'act-1': random(3 * CHUNK + 5, 11), 'act-2': compressible(700, 12), 'act-3': random(10, 13) };

  async function allIntact(e: Engine): Promise<void> {
    expect(await failingObjects(e)).toEqual([]);
    for (const [k, v] of Object.entries(ACTIVE)) expect((await readAll((await e.getObject(BUCKET, k)).body)).equals(v), k).toBe(true);
  }

  const sampleFrame = (): Buffer => encodeFrame(RecordType.COMMIT, 0, Buffer.alloc(0), Buffer.alloc(300, 7));
  const garbage: Array<[string, () => Buffer]> = [
    ['random bytes', () => Buffer.from(random(5000, 21).map((b) => (b === 0x53 ? 0 : b)))], // no 'S': no frame can start
    ['zeros (preallocated space)', () => Buffer.alloc(4096)],
    ['"SREC" and a bogus length', () => Buffer.concat([Buffer.from('SREC'), Buffer.from([0xff, 0xff, 0, 0]), Buffer.alloc(40, 1)])],
    ['the first half of a valid frame', () => sampleFrame().subarray(0, sampleFrame().length >> 1)],
    ['a whole frame with one bad hash byte', () => {
      const f = sampleFrame();
      f[f.length - 1] ^= 1;
      return f;
    }],
    ['a lone frame header', () => sampleFrame().subarray(0, 12)],
  ];

  it.each(garbage)('%s appended: reopen truncates it, acknowledged objects are intact', async (_what, make) => {
    const { fs, path, size } = await withActive(ACTIVE);
    const fh = await fs.open(path, 'readwrite');
    await fh.writev([make()], size);
    await fh.datasync();
    await fh.close();
    const warnings: string[] = [];
    let e = await openOn(fs, warnings);
    try {
      expect(e.stats().damage).toEqual([]);
      expect(warnings.join('\n')).toMatch(/torn tail/);
      expect(await fs.fileSize(path)).toBe(size);
      await allIntact(e);
      await e.putObject(BUCKET, 'after-tear', 'still writable');
    } finally {
      await e.close();
    }
    e = await openOn(fs);
    try {
      expect((await e.verify()).damage).toEqual([]);
      expect((await readAll((await e.getObject(BUCKET, 'after-tear')).body)).toString()).toBe('still writable');
    } finally {
      await e.close();
    }
  });

  it('damage in the middle of the active segment followed by valid frames is reported, not truncated', async () => {
    const { fs, path, size } = await withActive(ACTIVE);
    const map = await mapDisk(fs, DIR);
    const loc = map.objects.get(`${BUCKET}/act-1`)!;
    const f = map.segments.get(loc.chunks[1].segmentId)!.frames.find((x) => x.offset === loc.chunks[1].offset)!;
    fs.flipByte(path, f.payloadAt + 100, 0x20);
    const warnings: string[] = [];
    let e = await openOn(fs, warnings);
    try {
      expect(e.stats().damage).toContainEqual(expect.objectContaining({ segmentId: f.segmentId, offset: f.offset }));
      expect(await fs.fileSize(path)).toBe(size); // nothing after the damage was cut away
      const { error } = await tryGet(e, BUCKET, 'act-1');
      expect(errorCode(error)).toBe('SEDIMENT_CORRUPTION');
      for (const k of ['act-2', 'act-3']) expect((await readAll((await e.getObject(BUCKET, k)).body)).equals(ACTIVE[k as keyof typeof ACTIVE])).toBe(true);
      expect(await failingObjects(e)).toEqual([]);
      await expectVerify(e, [{ segmentId: f.segmentId, offset: f.offset }], ['act-1']);
      await e.putObject(BUCKET, 'later', 'written after the damage was found');
    } finally {
      await e.close();
    }
    // Still there on the next open, and still not truncated. The segment lies before the checkpoint's
    // replay position now, so open does not read it again: verify() is what reports it from here on.
    e = await openOn(fs);
    try {
      await expectVerify(e, [{ segmentId: f.segmentId, offset: f.offset }], ['act-1']);
      expect(await fs.fileSize(path)).toBe(size);
      expect((await readAll((await e.getObject(BUCKET, 'later')).body)).toString()).toBe('written after the damage was found');
    } finally {
      await e.close();
    }
  });

  it.each([
    ['empty', 0],
    ['a partial header', 30],
    ['a header of zeros', 64],
  ])('a newest segment holding %s (interrupted creation) is not damage', async (_what, len) => {
    const fs = await freshCopy();
    const ids = (await fs.readdir(`${DIR}/segments`)).map((n) => Number(n.slice(0, 12)));
    const next = Math.max(...ids) + 1;
    const header = (await fs.readFile(segmentPath(DIR, Math.max(...ids)))).subarray(0, 64);
    await fs.writeFile(segmentPath(DIR, next), len === 64 ? Buffer.alloc(64) : Buffer.from(header.subarray(0, len)));
    await fs.syncFile(segmentPath(DIR, next));
    await fs.syncDir(`${DIR}/segments`);
    let e = await openOn(fs);
    try {
      expect(e.stats().damage).toEqual([]);
      expect(snapshot(e)).toEqual(expectedState);
      await e.putObject(BUCKET, 'new', 'after the interrupted creation');
      expect((await e.verify()).damage).toEqual([]);
    } finally {
      await e.close();
    }
    e = await openOn(fs);
    try {
      expect(e.stats().damage).toEqual([]);
      expect((await readAll((await e.getObject(BUCKET, 'new')).body)).toString()).toBe('after the interrupted creation');
    } finally {
      await e.close();
    }
  });
});
