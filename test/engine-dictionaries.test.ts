// zstd dictionaries for the small objects of the hot tier (docs/FORMAT.md §2.7, src/engine/hot-dictionaries.ts),
// through the engine: a bucket of small log objects gets one dictionary after 40 small puts and stores
// clearly smaller with it; incompressible objects get none; everything reads back byte-exact (ranges too,
// batched framing in worker threads too, after reopen too); a crash while a dictionary is being made loses
// no acknowledged put, and no frame names a dictionary before its file is durable; a damaged, missing or
// replaced dictionary file makes exactly the objects coded with it fail with a corruption error — never
// wrong bytes — the directory still opens and verify names those objects; compaction, bucket re-creation,
// multipart uploads, chunked objects and migration to the cold tier keep such objects readable.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Compactor, CorruptionError, Engine, MaintenancePool, MemoryFileSystem, RealFileSystem, type EngineOptions, type FileSystem } from '../src/index.js';
import { CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DATA_DICT, RecordType } from '../src/format/constants.js';
import { decodeDictionaryFile, dictCheck, dictFileName, encodeDictionaryFile } from '../src/format/dictionary-file.js';
import { coldWorld } from './helpers/cold-world.js';
import { jsonObjects, logObjects, openDictEngine } from './helpers/dict-families.js';
import { logText } from '../bench/data.js';
import { WATCH_CHECKS, WATCH_EVERY } from '../src/engine/hot-dictionaries.js';
import { errorCode, readAll, tryGet, waitFor } from './helpers/engine-helpers.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32 } from './helpers/prng.js';
import { mapDisk } from './helpers/segment-map.js';

const DIR = '/d';
const SMALL = 4096;
/** Small chunks a bucket samples before it tries a dictionary (hot-dictionaries.ts SAMPLES_NEEDED). */
const SAMPLES = 40;
const DICT_BYTES = 16 * 1024;
const FIRST_DICT = `${DIR}/dicts/${dictFileName(1)}`;

/**
 * The one dictionary `e` has: a zstd-format dictionary (header and entropy tables, then the 16 KiB cut:
 * hot-dictionaries.ts makeDictionaryContent), `made` of them by this engine.
 */
function expectOneDict(e: Engine, made: number): void {
  const { bytes, ...rest } = e.stats().dictionaries;
  expect(rest).toEqual({ count: 1, made, rejected: 0, removed: 0 });
  expect(bytes).toBeGreaterThan(DICT_BYTES);
  expect(bytes).toBeLessThanOrEqual(DICT_BYTES + 4096);
}

/** The cut of a dictionary file's content (its last DICT_BYTES), after checking zstd's header names `id`. */
function cutOf(content: Buffer, id: number): Buffer {
  expect(content.readUInt32LE(0), 'zstd dictionary magic').toBe(0xec30a437);
  expect(content.readUInt32LE(4), "zstd's dictID").toBe(id);
  return content.subarray(content.length - DICT_BYTES);
}

const key = (i: number): string => `log/${String(i).padStart(5, '0')}`;

function openMem(fs: FileSystem, opts: Partial<EngineOptions> = {}, warnings: string[] = []): Promise<Engine> {
  return openDictEngine(fs, DIR, opts, warnings);
}

/** A few event-loop turns: background work that must not happen has had its chance to. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2));
}

async function formatVersion(fs: FileSystem, dir = DIR): Promise<number> {
  const m = /^sediment-data-dir (\d+)\n$/.exec((await fs.readFile(`${dir}/FORMAT`)).toString());
  if (!m) throw new Error('FORMAT file does not parse');
  return Number(m[1]);
}

async function dictNames(fs: FileSystem, dir = DIR): Promise<string[]> {
  return (await fs.exists(`${dir}/dicts`)) ? fs.readdir(`${dir}/dicts`) : [];
}

/** "bucket/key" → the codec of each of its chunk frames, from the segment files (not packs). */
async function codecsOnDisk(fs: MemoryFileSystem, dir = DIR): Promise<Map<string, number[]>> {
  const map = await mapDisk(fs, dir);
  const flagsAt = new Map<string, number>();
  for (const [id, s] of map.segments) for (const f of s.frames) if (f.type === RecordType.CHUNK) flagsAt.set(`${id}:${f.offset}`, f.flags & CODEC_MASK);
  const out = new Map<string, number[]>();
  for (const [name, o] of map.objects) out.set(name, o.chunks.map((c) => flagsAt.get(`${c.segmentId}:${c.offset}`) ?? -1));
  return out;
}

async function get(e: Engine, bucket: string, k: string, range?: { start: number; end: number }): Promise<Buffer> {
  return readAll((await e.getObject(bucket, k, range ? { range } : {})).body);
}

/** Every object whole, and each non-empty one also at a few ranges (first byte, middle, last byte, across). */
async function expectAll(e: Engine, bucket: string, objects: Map<string, Buffer>, ranges = true): Promise<void> {
  for (const [k, body] of objects) {
    expect((await get(e, bucket, k)).equals(body), `${bucket}/${k}`).toBe(true);
    if (!ranges || body.length === 0) continue;
    const n = body.length;
    for (const [start, end] of [[0, 0], [n - 1, n - 1], [Math.floor(n / 3), Math.floor((2 * n) / 3)], [1, n - 2]]) {
      if (start > end) continue;
      expect((await get(e, bucket, k, { start, end })).equals(body.subarray(start, end + 1)), `${bucket}/${k} [${start}, ${end}]`).toBe(true);
    }
  }
}

async function expectClean(e: Engine): Promise<void> {
  const v = await e.verify();
  expect(v.damage).toEqual([]);
  expect(v.damagedObjects).toEqual([]);
  expect(v.damagedDictionaries).toEqual([]);
}

/** A GET that must fail with a corruption error and yield no byte (the objects here are one chunk). */
async function expectCorrupt(e: Engine, bucket: string, k: string, message?: RegExp): Promise<void> {
  const r = await tryGet(e, bucket, k);
  expect(r.error, `${bucket}/${k} read back instead of failing`).toBeDefined();
  expect(r.data.length, `${bucket}/${k} yielded bytes`).toBe(0);
  expect(r.error).toBeInstanceOf(CorruptionError);
  expect(errorCode(r.error)).toBe('SEDIMENT_CORRUPTION');
  if (message) expect((r.error as Error).message).toMatch(message);
  // Ranged reads too.
  await expect(get(e, bucket, k, { start: 10, end: 20 })).rejects.toMatchObject({ code: 'SEDIMENT_CORRUPTION' });
}

/** A process view whose fsync of dicts/ (the step that makes a new dictionary durable) waits while held. */
class GatedDictsFs extends ProcessFs {
  private gate: Promise<void> | undefined;
  private unblock: () => void = () => undefined;
  hold(): void {
    this.gate = new Promise<void>((r) => (this.unblock = r));
  }
  release(): void {
    this.gate = undefined;
    this.unblock();
  }
  override async syncDir(path: string): Promise<void> {
    if (path.endsWith('/dicts') && this.gate) await this.gate;
    return super.syncDir(path);
  }
}

/** verify() names exactly `keys` of bucket "logs" as damaged, each for `reason`. */
async function expectVerifyNames(e: Engine, keys: Iterable<string>, reason: RegExp): Promise<void> {
  const v = await e.verify();
  expect(v.damage).toEqual([]);
  expect(v.damagedObjects.map((o) => `${o.bucket}/${o.key}`).sort()).toEqual([...keys].map((k) => `logs/${k}`).sort());
  for (const o of v.damagedObjects) expect(o.reason).toMatch(reason);
}

/**
 * A bucket "logs" with SAMPLES small objects written before its dictionary (`early`) and `late` more
 * written with it, on an in-memory disk; the engine is closed. Checks that the late ones are codec 3.
 */
async function dictionaryDisk(late = 30): Promise<{ fs: MemoryFileSystem; early: Map<string, Buffer>; late: Map<string, Buffer> }> {
  const fs = new MemoryFileSystem();
  const e = await openMem(fs);
  await e.createBucket('logs');
  const objs = logObjects(SAMPLES + late, 21);
  const out = { fs, early: new Map<string, Buffer>(), late: new Map<string, Buffer>() };
  for (let i = 0; i < SAMPLES; i++) {
    await e.putObject('logs', key(i), objs[i]);
    out.early.set(key(i), objs[i]);
  }
  await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
  for (let i = SAMPLES; i < objs.length; i++) {
    await e.putObject('logs', key(i), objs[i]);
    out.late.set(key(i), objs[i]);
  }
  await e.close();
  const codecs = await codecsOnDisk(fs);
  for (const k of out.early.keys()) expect(codecs.get(`logs/${k}`), k).toEqual([CODEC_ZSTD]);
  for (const k of out.late.keys()) expect(codecs.get(`logs/${k}`), k).toEqual([CODEC_ZSTD_DATA_DICT]);
  return out;
}

describe('small-object dictionaries', () => {
  it('a bucket of small log objects gets one dictionary after 40 puts and is stored clearly smaller', async () => {
    const objs = logObjects(400, 1);
    const stored = new Map<boolean, number>();
    for (const enabled of [true, false]) {
      const fs = new MemoryFileSystem();
      const e = await openMem(fs, { smallObjectDictionaries: enabled });
      await e.createBucket('logs');
      for (let i = 0; i < SAMPLES - 1; i++) await e.putObject('logs', key(i), objs[i]);
      await settle();
      // Before any dictionary: no file, no dicts/, and the directory stays at format 5.
      expect(e.stats().dictionaries).toEqual({ count: 0, bytes: 0, made: 0, rejected: 0, removed: 0 });
      expect(await fs.exists(`${DIR}/dicts`)).toBe(false);
      expect(await formatVersion(fs)).toBe(5);
      await e.putObject('logs', key(SAMPLES - 1), objs[SAMPLES - 1]);
      if (enabled) {
        await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
        expectOneDict(e, 1);
        expect(await dictNames(fs)).toEqual([dictFileName(1)]);
        expect(await formatVersion(fs)).toBe(6);
        const file = decodeDictionaryFile(await fs.readFile(FIRST_DICT));
        expect(file).toMatchObject({ id: 1, bucket: 'logs' });
        expect(e.stats().dictionaries.bytes).toBe(file.content.length);
        // Cut from the bucket's first objects: the cut starts with the first one's first bytes.
        expect(cutOf(file.content, 1).subarray(0, 512).equals(objs[0].subarray(0, 512))).toBe(true);
        expect(await fs.readdir(`${DIR}/tmp`)).toEqual([]);
      } else {
        await settle();
        expect(e.stats().dictionaries).toEqual({ count: 0, bytes: 0, made: 0, rejected: 0, removed: 0 });
      }
      for (let i = SAMPLES; i < objs.length; i++) await e.putObject('logs', key(i), objs[i]);
      stored.set(enabled, e.stats().storedBytes);
      // Exactly one dictionary, however many more small objects came.
      expect(e.stats().dictionaries.made).toBe(enabled ? 1 : 0);
      expect(await dictNames(fs)).toEqual(enabled ? [dictFileName(1)] : []);
      expect(await formatVersion(fs)).toBe(enabled ? 6 : 5);
      await e.close();
      // The first 40 (sampled while there was none) are plain zstd; every later one names the dictionary.
      const codecs = await codecsOnDisk(fs);
      for (let i = 0; i < objs.length; i++) {
        expect(codecs.get(`logs/${key(i)}`), key(i)).toEqual([enabled && i >= SAMPLES ? CODEC_ZSTD_DATA_DICT : CODEC_ZSTD]);
      }
    }
    const ratio = stored.get(true)! / stored.get(false)!;
    expect(ratio, `stored with/without dictionaries: ${stored.get(true)} / ${stored.get(false)}`).toBeLessThan(0.85);
  });

  it('each bucket gets its own dictionary; objects under 256 bytes are not sampled', async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    await e.createBucket('bkt-a');
    await e.createBucket('bkt-b');
    const a = logObjects(SAMPLES + 10, 2);
    const b = logObjects(SAMPLES + 10, 3, 1024);
    const tiny = logObjects(100, 4, 200);
    const want = { a: new Map<string, Buffer>(), b: new Map<string, Buffer>() };
    // 100 tiny objects in b first: too small to sample, so b has no dictionary after them.
    for (let i = 0; i < tiny.length; i++) {
      await e.putObject('bkt-b', `tiny/${i}`, tiny[i]);
      want.b.set(`tiny/${i}`, tiny[i]);
    }
    for (let i = 0; i < SAMPLES - 1; i++) {
      await e.putObject('bkt-a', key(i), a[i]);
      await e.putObject('bkt-b', key(i), b[i]);
      want.a.set(key(i), a[i]);
      want.b.set(key(i), b[i]);
    }
    await settle();
    expect(e.stats().dictionaries.made).toBe(0);
    await e.putObject('bkt-a', key(SAMPLES - 1), a[SAMPLES - 1]);
    want.a.set(key(SAMPLES - 1), a[SAMPLES - 1]);
    await waitFor(() => e.stats().dictionaries.made === 1, "a's dictionary");
    await e.putObject('bkt-b', key(SAMPLES - 1), b[SAMPLES - 1]);
    want.b.set(key(SAMPLES - 1), b[SAMPLES - 1]);
    await waitFor(() => e.stats().dictionaries.made === 2, "b's dictionary");
    for (let i = SAMPLES; i < a.length; i++) {
      await e.putObject('bkt-a', key(i), a[i]);
      await e.putObject('bkt-b', key(i), b[i]);
      want.a.set(key(i), a[i]);
      want.b.set(key(i), b[i]);
    }
    expect(await dictNames(fs)).toEqual([dictFileName(1), dictFileName(2)]);
    const d1 = decodeDictionaryFile(await fs.readFile(`${DIR}/dicts/${dictFileName(1)}`));
    const d2 = decodeDictionaryFile(await fs.readFile(`${DIR}/dicts/${dictFileName(2)}`));
    expect([d1.bucket, d2.bucket]).toEqual(['bkt-a', 'bkt-b']);
    // b's was cut from its 1 KiB objects, not from the tiny ones put before them.
    expect(cutOf(d2.content, 2).subarray(0, 512).equals(b[0].subarray(0, 512))).toBe(true);
    await expectAll(e, 'bkt-a', want.a);
    await expectAll(e, 'bkt-b', want.b);
    await e.close();
    // Each bucket's objects name its own dictionary.
    const codecs = await codecsOnDisk(fs);
    const map = await mapDisk(fs, DIR);
    const dictIdOf = async (name: string): Promise<number> => {
      const ref = map.objects.get(name)!.chunks[0];
      const seg = await fs.readFile(map.segments.get(ref.segmentId)!.path);
      const f = map.segments.get(ref.segmentId)!.frames.find((x) => x.offset === ref.offset)!;
      return seg.readUInt32LE(f.payloadAt);
    };
    expect(codecs.get(`bkt-a/${key(SAMPLES)}`)).toEqual([CODEC_ZSTD_DATA_DICT]);
    expect(codecs.get(`bkt-b/${key(SAMPLES)}`)).toEqual([CODEC_ZSTD_DATA_DICT]);
    expect(await dictIdOf(`bkt-a/${key(SAMPLES)}`)).toBe(1);
    expect(await dictIdOf(`bkt-b/${key(SAMPLES)}`)).toBe(2);
  });

  it('a directory holding dictionaries is raised to format 6 at open, even one whose FORMAT says less', async () => {
    const { fs } = await dictionaryDisk();
    expect(await formatVersion(fs)).toBe(6);
    await fs.writeFile(`${DIR}/FORMAT`, Buffer.from('sediment-data-dir 5\n'));
    await fs.syncFile(`${DIR}/FORMAT`);
    const e = await openMem(fs);
    expect(await formatVersion(fs)).toBe(6);
    await e.close();
  });

  it('incompressible small objects get no dictionary: the try is rejected and not repeated soon', async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    await e.createBucket('rnd');
    const rng = mulberry32(9);
    const want = new Map<string, Buffer>();
    for (let i = 0; i < SAMPLES; i++) {
      const body = rng.bytes(SMALL);
      await e.putObject('rnd', key(i), body);
      want.set(key(i), body);
    }
    await waitFor(() => e.stats().dictionaries.rejected >= 1, 'the rejected try');
    for (let i = SAMPLES; i < 200; i++) {
      const body = rng.bytes(SMALL);
      await e.putObject('rnd', key(i), body);
      want.set(key(i), body);
    }
    await settle();
    expect(e.stats().dictionaries).toEqual({ count: 0, bytes: 0, made: 0, rejected: 1, removed: 0 });
    expect(await fs.exists(`${DIR}/dicts`)).toBe(false);
    expect(await formatVersion(fs)).toBe(5);
    await expectAll(e, 'rnd', want, false);
    await expectClean(e);
    await e.close();
    const codecs = await codecsOnDisk(fs);
    for (const k of want.keys()) expect(codecs.get(`rnd/${k}`), k).toEqual([CODEC_RAW]);
  });

  it('a dictionary the objects outgrew is found stale and replaced; one that still pays is kept', async () => {
    // Family B (JSON events) shares nothing with family A (the bench's log lines): A's dictionary saves
    // B nothing, the watch sees it and the bucket samples B for a dictionary of its own.
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    await e.createBucket('drift');
    await e.createBucket('steady');
    const want = new Map<string, Buffer>();
    const steady = logObjects(2 * WATCH_EVERY * WATCH_CHECKS, 41);
    const a = logObjects(SAMPLES, 42);
    const watchWindow = WATCH_EVERY * WATCH_CHECKS;
    const b = jsonObjects(watchWindow + SAMPLES + 100, 43);
    let n = 0;
    const put = async (body: Buffer): Promise<void> => {
      const k = key(n++);
      await e.putObject('drift', k, body);
      want.set(k, body);
    };
    for (const body of a) await put(body);
    for (let i = 0; i < steady.length; i++) {
      await e.putObject('steady', key(i), steady[i]!);
      if (i === SAMPLES - 1) await waitFor(() => e.stats().dictionaries.made === 2, 'the first two dictionaries');
    }
    for (let i = 0; i < b.length; i++) {
      await put(b[i]!);
      if (i === watchWindow + SAMPLES) await waitFor(() => e.stats().dictionaries.made === 3, "B's dictionary");
    }
    // drift: 1 then 3; steady: 2 and nothing more, after twice the watch window.
    expect(e.stats().dictionaries).toMatchObject({ count: 3, made: 3 });
    const files = await Promise.all((await dictNames(fs)).map(async (name) => decodeDictionaryFile(await fs.readFile(`${DIR}/dicts/${name}`))));
    expect(files.map((f) => [f.id, f.bucket])).toEqual([[1, 'drift'], [2, 'steady'], [3, 'drift']]);
    await expectAll(e, 'drift', want, false);
    await e.close();
    // The last B objects name dictionary 3 and are smaller than the B objects that still used 1.
    const dictOf = async (name: string): Promise<{ id: number; len: number }> => {
      const map = await mapDisk(fs, DIR);
      const ref = map.objects.get(name)!.chunks[0]!;
      const f = map.segments.get(ref.segmentId)!.frames.find((x) => x.offset === ref.offset)!;
      expect(f.flags & CODEC_MASK, name).toBe(CODEC_ZSTD_DATA_DICT);
      return { id: (await fs.readFile(map.segments.get(ref.segmentId)!.path)).readUInt32LE(f.payloadAt), len: ref.frameLen };
    };
    const early: Array<{ id: number; len: number }> = [];
    const late: Array<{ id: number; len: number }> = [];
    for (let j = 0; j < 50; j++) {
      early.push(await dictOf(`drift/${key(SAMPLES + j)}`));
      late.push(await dictOf(`drift/${key(n - 1 - j)}`));
    }
    expect(new Set(early.map((x) => x.id))).toEqual(new Set([1]));
    expect(new Set(late.map((x) => x.id))).toEqual(new Set([3]));
    const sum = (xs: Array<{ len: number }>): number => xs.reduce((t, x) => t + x.len, 0);
    expect(sum(late)).toBeLessThan(sum(early) * 0.9);
    // After a reopen the bucket goes on with its newest dictionary.
    const again = await openMem(fs);
    await again.putObject('drift', 'after-reopen', b[0]!);
    await again.close();
    expect((await dictOf('drift/after-reopen')).id).toBe(3);
  });

  it('a bucket mixing incompressible objects with log lines gets a dictionary (the random ones do not judge it)', async () => {
    // Three in five objects random: counted in the trial, their unchanged sizes hid the log lines' gain.
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    await e.createBucket('mixed');
    const rng = mulberry32(11);
    const logs = logObjects(2 * SAMPLES, 12);
    const want = new Map<string, Buffer>();
    for (let i = 0; i < 2 * SAMPLES; i++) {
      const body = i % 5 < 3 ? rng.bytes(SMALL) : logs[i]!;
      await e.putObject('mixed', key(i), body);
      want.set(key(i), body);
      if (i === SAMPLES - 1) await waitFor(() => e.stats().dictionaries.made + e.stats().dictionaries.rejected > 0, 'the try');
    }
    expect(e.stats().dictionaries).toMatchObject({ made: 1, rejected: 0 });
    // Twice the watch window, four in five random: the dictionary still pays for the log lines, and the
    // random ones (same size either way) must not make it look stale (no new dictionary each window).
    const more = logObjects(2 * WATCH_EVERY * WATCH_CHECKS, 13);
    for (let i = 0; i < more.length; i++) {
      const k = `more/${key(i)}`;
      const body = i % 5 < 4 ? rng.bytes(SMALL) : more[i]!;
      await e.putObject('mixed', k, body);
      want.set(k, body);
    }
    await settle();
    expect(e.stats().dictionaries).toMatchObject({ count: 1, made: 1, rejected: 0 });
    await e.close();
    const codecs = await codecsOnDisk(fs);
    for (let i = SAMPLES; i < 2 * SAMPLES; i++) expect(codecs.get(`mixed/${key(i)}`), key(i)).toEqual([i % 5 < 3 ? CODEC_RAW : CODEC_ZSTD_DATA_DICT]);
    const again = await openMem(fs);
    await expectAll(again, 'mixed', want, false);
    await expectClean(again);
    await again.close();
  });

  for (const batchSmallChunks of [false, true]) {
    it(`reads every object back byte-exact (ranges too), before and after reopen, batchSmallChunks: ${batchSmallChunks}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sed-dict-'));
      const opts = { dir, batchSmallChunks, onWarning: () => undefined };
      try {
        let e = await Engine.open(opts);
        await e.createBucket('logs');
        if (batchSmallChunks) {
          // Until a worker has answered, small chunks are framed inline: warm the pool up in another bucket.
          await e.createBucket('warm');
          const deadline = Date.now() + 20_000;
          for (let w = 0; e.stats().batchedChunks === 0 && Date.now() < deadline; w++) {
            await Promise.all(Array.from({ length: 20 }, (_, i) => e.putObject('warm', `${w}/${i}`, `warm ${w} ${i}`)));
            await new Promise((r) => setTimeout(r, 20));
          }
          expect(e.stats().batchedChunks, 'the worker pool never took a batch').toBeGreaterThan(0);
        }
        const want = new Map<string, Buffer>();
        const first = logObjects(SAMPLES, 5);
        await Promise.all(first.map((b, i) => e.putObject('logs', key(i), b).then(() => want.set(key(i), b))));
        await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
        // Sizes around the limits: empty, under 64 bytes (never compressed), tiny, 4 KiB, just under the
        // 128 KiB pool threshold (still a small chunk), a 1 MiB chunk plus a small tail chunk, several chunks.
        const sizes = [0, 1, 63, 64, 300, SMALL, 20_000, 128 * 1024 - 1, (1 << 20) + 3000, (2 << 20) + 777];
        const stream = logText(sizes.reduce((n, s) => n + s, 0) * 3, 6);
        let at = 0;
        const batchedBefore = e.stats().batchedChunks;
        const puts: Array<Promise<unknown>> = [];
        for (let r = 0; r < 3; r++) {
          for (const size of sizes) {
            const k = `mixed/${r}/${size}`;
            const body = stream.subarray(at, at + size);
            at += size;
            want.set(k, body);
            puts.push(e.putObject('logs', k, body));
          }
        }
        for (let i = 0; i < 100; i++) {
          const body = logText(SMALL, 1000 + i);
          want.set(key(SAMPLES + i), body);
          puts.push(e.putObject('logs', key(SAMPLES + i), body));
        }
        await Promise.all(puts);
        // One batch at a time goes to a thread (two threads: the main thread frames the next one itself).
        if (batchSmallChunks) expect(e.stats().batchedChunks, 'no chunk of this turn went to a thread').toBeGreaterThan(batchedBefore);
        expectOneDict(e, 1);
        await expectAll(e, 'logs', want);
        await expectClean(e);
        await e.close();

        // The small chunks after the dictionary name it (framed inline or in a batch alike).
        const codecs = await codecsOnDisk(new RealFileSystem() as unknown as MemoryFileSystem, dir);
        for (let i = SAMPLES; i < SAMPLES + 100; i++) expect(codecs.get(`logs/${key(i)}`), key(i)).toEqual([CODEC_ZSTD_DATA_DICT]);
        for (let r = 0; r < 3; r++) {
          expect(codecs.get(`logs/mixed/${r}/63`)).toEqual([CODEC_RAW]);
          expect(codecs.get(`logs/mixed/${r}/${SMALL}`)).toEqual([CODEC_ZSTD_DATA_DICT]);
          expect(codecs.get(`logs/mixed/${r}/${128 * 1024 - 1}`)).toEqual([CODEC_ZSTD_DATA_DICT]);
          // The 1 MiB chunk is plain zstd (framed in the pool), its 3000-byte tail uses the dictionary.
          expect(codecs.get(`logs/mixed/${r}/${(1 << 20) + 3000}`)).toEqual([CODEC_ZSTD, CODEC_ZSTD_DATA_DICT]);
        }

        e = await Engine.open(opts);
        // Loaded from disk, none made: new small objects use the one there is.
        expectOneDict(e, 0);
        await expectAll(e, 'logs', want);
        const more = new Map<string, Buffer>();
        await Promise.all(Array.from({ length: 50 }, (_, i) => {
          const body = logText(SMALL, 5000 + i);
          more.set(`after/${i}`, body);
          return e.putObject('logs', `after/${i}`, body);
        }));
        await expectAll(e, 'logs', more);
        expect(e.stats().dictionaries.made).toBe(0);
        await expectClean(e);
        await e.close();
        const after = await codecsOnDisk(new RealFileSystem() as unknown as MemoryFileSystem, dir);
        for (const k of more.keys()) expect(after.get(`logs/${k}`), k).toEqual([CODEC_ZSTD_DATA_DICT]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a crash while a dictionary is made, or while it is in use, loses no acknowledged put', async () => {
    const seed = 4242;
    const rng = mulberry32(seed);
    const objs = logObjects(SAMPLES + 200, 8);
    // What the disk held after each crash: no dictionary file / one (a crash point before, during and
    // after the dictionary is written must each occur, or the points below no longer cover it).
    const outcomes = new Set<string>();
    // Crash points: microtask ticks after the 40th put was started (the in-memory disk completes in
    // microtasks: the dictionary is written within a few dozen), then whole event-loop turns.
    const points = [...Array.from({ length: 31 }, (_, i) => ({ ticks: 2 * i, turns: 0 })), ...[1, 2, 5, 20].map((turns) => ({ ticks: 0, turns }))];
    for (const { ticks, turns } of points) {
      const disk = new MemoryFileSystem();
      let view = new ProcessFs(disk);
      let e = await openMem(view);
      await e.createBucket('logs');
      const acked = new Map<string, Buffer>();
      for (let i = 0; i < SAMPLES - 1; i++) {
        await e.putObject('logs', key(i), objs[i]);
        acked.set(key(i), objs[i]);
      }
      let stop = false;
      const writer = (async () => {
        for (let i = SAMPLES - 1; !stop && i < objs.length; i++) {
          await e.putObject('logs', key(i), objs[i]);
          acked.set(key(i), objs[i]);
        }
      })().catch(() => undefined);
      for (let t = 0; t < ticks; t++) await Promise.resolve();
      for (let t = 0; t < turns; t++) await new Promise((r) => setImmediate(r));
      const madeBefore = e.stats().dictionaries.made;
      view.kill();
      disk.crash({ tornTail: true, random: () => rng.next() });
      stop = true;
      await writer;
      await e.close().catch(() => undefined);
      const survived = (await dictNames(disk)).length;
      outcomes.add(`made ${madeBefore}, file ${survived}`);

      view = new ProcessFs(disk);
      const warnings: string[] = [];
      e = await openMem(view, {}, warnings);
      const where = `seed ${seed}, crash after ${ticks} ticks + ${turns} turns (dictionary made before: ${madeBefore}, acked ${acked.size})`;
      expect(warnings.filter((w) => w.includes('dictionar')), where).toEqual([]);
      // A dictionary that was reported made is durable (it may also be durable and not yet reported).
      expect(survived, where).toBeGreaterThanOrEqual(madeBefore);
      expect(e.stats().dictionaries.count, where).toBe(survived);
      if (survived > 0) expect(await formatVersion(disk), where).toBe(6);
      for (const [k, body] of acked) expect((await get(e, 'logs', k)).equals(body), `${where}: ${k}`).toBe(true);
      const v = await e.verify();
      expect(v.damagedObjects, where).toEqual([]);
      expect(v.damagedDictionaries, where).toEqual([]);
      // Writing goes on: the bucket has (or gets) its dictionary, and everything reads back.
      for (let i = 0; i < SAMPLES; i++) {
        const k = `after/${i}`;
        await e.putObject('logs', k, objs[(i * 7) % objs.length]);
        acked.set(k, objs[(i * 7) % objs.length]);
      }
      await waitFor(() => e.stats().dictionaries.count === 1, `${where}: a dictionary after reopen`);
      await e.putObject('logs', 'after/last', objs[5]);
      acked.set('after/last', objs[5]);
      await e.close();
      expect((await codecsOnDisk(disk)).get('logs/after/last'), where).toEqual([CODEC_ZSTD_DATA_DICT]);
      e = await openMem(new ProcessFs(disk));
      for (const [k, body] of acked) expect((await get(e, 'logs', k)).equals(body), `${where}: ${k} after the second reopen`).toBe(true);
      await e.close();
    }
    expect(outcomes).toContain('made 0, file 0');
    expect(outcomes).toContain('made 1, file 1');
  });

  it('no frame names a dictionary before its file and directory entry are durable', async () => {
    const disk = new MemoryFileSystem();
    const view = new GatedDictsFs(disk);
    view.hold();
    let e = await openMem(view);
    await e.createBucket('logs');
    const objs = logObjects(SAMPLES + 20, 33);
    const acked = new Map<string, Buffer>();
    for (let i = 0; i < objs.length; i++) {
      await e.putObject('logs', key(i), objs[i]);
      acked.set(key(i), objs[i]);
      if (i === SAMPLES - 1) await settle();
    }
    // The file is in dicts/ (renamed) but not durable: not made, and not used by the 20 puts after it.
    expect(await dictNames(disk)).toEqual([dictFileName(1)]);
    expect(e.stats().dictionaries.made).toBe(0);
    const codecs = await codecsOnDisk(disk);
    for (const k of acked.keys()) expect(codecs.get(`logs/${k}`), k).toEqual([CODEC_ZSTD]);
    // Power loss: the directory entry is gone, and every acknowledged put still reads back.
    view.kill();
    view.release();
    disk.crash();
    await e.close().catch(() => undefined);
    e = await openMem(new ProcessFs(disk));
    expect(await dictNames(disk)).toEqual([]);
    for (const [k, body] of acked) expect((await get(e, 'logs', k)).equals(body), k).toBe(true);
    await expectClean(e);
    await e.close();
  });

  describe('a damaged, missing or replaced dictionary file', () => {
    it('damaged: reported at open and by verify; its objects fail as corruption, the others read', async () => {
      const { fs, early, late } = await dictionaryDisk();
      fs.flipByte(FIRST_DICT, 100);
      const warnings: string[] = [];
      const e = await openMem(fs, {}, warnings);
      expect(warnings.some((w) => w.includes(`dicts/${dictFileName(1)}`) && /damaged/.test(w)), warnings.join('\n')).toBe(true);
      expect(e.stats().dictionaries.count).toBe(0);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k, /dictionary 1/);
      await expectAll(e, 'logs', early, false);
      const v = await e.verify();
      expect(v.damagedDictionaries).toEqual([{ id: 1, file: `dicts/${dictFileName(1)}`, detail: expect.stringMatching(/checksum mismatch/) }]);
      // ...and the objects that cannot be read because of it.
      await expectVerifyNames(e, late.keys(), /dicts\/000000000001\.zdict is damaged/);
      // New small objects of the bucket get a new dictionary with a new id (1 stays taken) and read back.
      const more = logObjects(SAMPLES + 5, 31);
      for (let i = 0; i < more.length; i++) await e.putObject('logs', `new/${i}`, more[i]);
      await waitFor(() => e.stats().dictionaries.made === 1, 'a new dictionary');
      await e.putObject('logs', 'new/last', more[0]);
      expect(await dictNames(fs)).toEqual([dictFileName(1), dictFileName(2)]);
      await expectAll(e, 'logs', new Map([...more.map((b, i) => [`new/${i}`, b] as [string, Buffer]), ['new/last', more[0]]]), false);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k);
      await e.close();
      expect((await codecsOnDisk(fs)).get('logs/new/last')).toEqual([CODEC_ZSTD_DATA_DICT]);
    });

    it('a file holding another id than its name is damaged too', async () => {
      const { fs, early, late } = await dictionaryDisk(5);
      const f = decodeDictionaryFile(await fs.readFile(FIRST_DICT));
      await fs.writeFile(FIRST_DICT, encodeDictionaryFile({ ...f, id: 2 }));
      const warnings: string[] = [];
      const e = await openMem(fs, {}, warnings);
      expect(warnings.some((w) => /holds dictionary 2/.test(w)), warnings.join('\n')).toBe(true);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k, /dictionary 1/);
      await expectAll(e, 'logs', early, false);
      expect((await e.verify()).damagedDictionaries.map((d) => d.id)).toEqual([1]);
      await expectVerifyNames(e, late.keys(), /dicts\/000000000001\.zdict is damaged/);
      await e.close();
    });

    it('a stray file in dicts/ is warned about and ignored', async () => {
      const { fs, early, late } = await dictionaryDisk(5);
      await fs.writeFile(`${DIR}/dicts/notes.txt`, Buffer.from('hello'));
      const warnings: string[] = [];
      const e = await openMem(fs, {}, warnings);
      expect(warnings.some((w) => w.includes('dicts/notes.txt')), warnings.join('\n')).toBe(true);
      await expectAll(e, 'logs', new Map([...early, ...late]));
      await expectClean(e);
      await e.close();
    });

    it('missing: the directory opens; its objects fail as corruption ("missing"), never as other bytes after the id is reused', async () => {
      const { fs, early, late } = await dictionaryDisk();
      await fs.unlink(FIRST_DICT);
      const e = await openMem(fs);
      expect(e.stats().dictionaries.count).toBe(0);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k, /missing/);
      await expectAll(e, 'logs', early, false);
      // The bucket samples again and its new dictionary reuses id 1 (nothing else names it on disk any
      // more): the old chunks still fail — on the check — instead of decoding to wrong bytes.
      const more = logObjects(SAMPLES + 5, 77);
      for (let i = 0; i < more.length; i++) await e.putObject('logs', `new/${i}`, more[i]);
      await waitFor(() => e.stats().dictionaries.made === 1, 'a new dictionary');
      expect(await dictNames(fs)).toEqual([dictFileName(1)]);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k, /check/);
      await expectVerifyNames(e, late.keys(), /check/);
      await expectAll(e, 'logs', new Map(more.map((b, i) => [`new/${i}`, b] as [string, Buffer])), false);
      await e.close();
    });

    it('missing: verify names exactly the objects that cannot be read', async () => {
      const { fs, late } = await dictionaryDisk(5);
      await fs.unlink(FIRST_DICT);
      const e = await openMem(fs);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k, /missing/);
      const v = await e.verify();
      // Nothing to report about a file that is not there; the objects are (VerifyReport.damagedObjects:
      // "objects whose bytes cannot be read correctly").
      expect(v.damagedDictionaries).toEqual([]);
      await expectVerifyNames(e, late.keys(), /dictionary 1 is missing/);
      await e.close();
    });

    it('replaced by a valid file of the same id with other content: corruption (check mismatch), never wrong bytes', async () => {
      const { fs, early, late } = await dictionaryDisk();
      const f = decodeDictionaryFile(await fs.readFile(FIRST_DICT));
      const other = logText(DICT_BYTES, 999);
      expect(dictCheck(other)).not.toBe(dictCheck(f.content));
      await fs.writeFile(FIRST_DICT, encodeDictionaryFile({ ...f, content: other }));
      const warnings: string[] = [];
      const e = await openMem(fs, {}, warnings);
      expect(warnings).toEqual([]);
      for (const k of late.keys()) await expectCorrupt(e, 'logs', k, /check/);
      await expectAll(e, 'logs', early, false);
      await expectVerifyNames(e, late.keys(), /check/);
      await e.close();
    });
  });

  it('compaction keeps dictionary-coded chunks readable', async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs);
    const pool = new MaintenancePool(fs, 0);
    const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0 });
    await e.createBucket('logs');
    const objs = logObjects(SAMPLES + 120, 12);
    const want = new Map<string, Buffer>();
    for (let i = 0; i < SAMPLES; i++) await e.putObject('logs', key(i), objs[i]);
    await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
    for (let i = SAMPLES; i < objs.length; i++) await e.putObject('logs', key(i), objs[i]);
    for (let i = 0; i < objs.length; i++) {
      if (i % 2 === 0) await e.deleteObject('logs', key(i));
      else want.set(key(i), objs[i]);
    }
    const codecs = await codecsOnDisk(fs);
    expect([...want.keys()].filter((k) => codecs.get(`logs/${k}`)?.[0] === CODEC_ZSTD_DATA_DICT).length).toBe(60);
    await e.sealActiveSegment();
    const st = await c.runPass();
    expect(st.packsWritten).toBeGreaterThanOrEqual(1);
    expect(st.damaged).toEqual([]);
    await expectAll(e, 'logs', want);
    for (let i = 0; i < objs.length; i += 2) await expect(e.headObject('logs', key(i))).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
    await expectClean(e);
    await c.stop();
    await pool.close();
    await e.close();
    const again = await openMem(fs);
    await expectAll(again, 'logs', want, false);
    await expectClean(again);
    await again.close();
  });

  it('a deleted and re-created bucket keeps working', async () => {
    const fs = new MemoryFileSystem();
    const view = new GatedDictsFs(fs);
    let e = await openMem(view);
    await e.createBucket('logs');
    const objs = logObjects(3 * SAMPLES + 60, 14);
    let n = 0;
    const next = (): Buffer => objs[n++];
    const emptyAndDelete = async (): Promise<void> => {
      for (const o of e.listObjects('logs', { maxKeys: 1000 }).contents) await e.deleteObject('logs', o.key);
      await e.deleteBucket('logs');
    };
    // Samples of a deleted bucket are dropped: 30 before and 10 after re-creation make no dictionary.
    for (let i = 0; i < 30; i++) await e.putObject('logs', key(i), next());
    await emptyAndDelete();
    await e.createBucket('logs');
    for (let i = 0; i < 10; i++) await e.putObject('logs', key(i), next());
    await settle();
    expect(e.stats().dictionaries.made).toBe(0);
    for (let i = 10; i < SAMPLES; i++) await e.putObject('logs', key(i), next());
    await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
    for (let i = SAMPLES; i < SAMPLES + 20; i++) await e.putObject('logs', key(i), next());
    // Deleted and re-created once it has a dictionary: the old one retires with the bucket (the collector
    // may delete it, dictionary-gc.ts), the new bucket starts without one, and its objects read back.
    await emptyAndDelete();
    expect(e.maintenance().dictionaries.retired()).toEqual([]); // the highest id stays: ids are never reused
    await e.createBucket('logs');
    let want = new Map<string, Buffer>();
    for (let i = 0; i < 20; i++) {
      const body = next();
      await e.putObject('logs', key(i), body);
      want.set(key(i), body);
    }
    await expectAll(e, 'logs', want);
    expect(e.stats().dictionaries.made).toBe(1);
    const codecs = await codecsOnDisk(fs);
    for (const k of want.keys()) expect(codecs.get(`logs/${k}`), k).toEqual([CODEC_ZSTD]);
    // Deleted and re-created while its dictionary is being written (held before it is durable).
    await emptyAndDelete();
    await e.createBucket('other');
    view.hold();
    for (let i = 0; i < SAMPLES; i++) await e.putObject('other', key(i), next());
    await settle();
    expect(e.stats().dictionaries.made).toBe(1);
    for (const o of e.listObjects('other').contents) await e.deleteObject('other', o.key);
    await e.deleteBucket('other');
    await e.createBucket('other');
    want = new Map<string, Buffer>();
    for (let i = 0; i < 10; i++) {
      const body = next();
      await e.putObject('other', key(i), body);
      want.set(key(i), body);
    }
    view.release();
    await waitFor(() => e.stats().dictionaries.made === 2, 'the held dictionary');
    for (let i = 10; i < 20; i++) {
      const body = next();
      await e.putObject('other', key(i), body);
      want.set(key(i), body);
    }
    await expectAll(e, 'other', want);
    await expectClean(e);
    await e.close();
    e = await openMem(new ProcessFs(fs));
    await expectAll(e, 'other', want, false);
    expect(e.headBucket('other').name).toBe('other');
    await expect(e.headObject('logs', key(0))).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_BUCKET' });
    await e.close();
  });

  it("a multipart upload's small parts use the bucket's dictionary and read back", async () => {
    const fs = new MemoryFileSystem();
    let e = await openMem(fs);
    await e.createBucket('logs');
    const objs = logObjects(SAMPLES, 15);
    for (let i = 0; i < SAMPLES; i++) await e.putObject('logs', key(i), objs[i]);
    await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
    const parts = [logText(SMALL, 16), logText(20_000, 17), logText(300, 18), logText(100_000, 19)];
    const whole = Buffer.concat(parts);
    const up = await e.createMultipartUpload('logs', 'mp');
    // Out of order, concurrently: each part is framed on its own.
    const infos = await Promise.all(parts.map((p, i) => e.uploadPart('logs', 'mp', up.uploadId, i + 1, p)));
    await e.completeMultipartUpload('logs', 'mp', up.uploadId, infos.map((p, i) => ({ partNumber: i + 1, etag: p.etag })), { partBytesMin: 0 });
    expect((await e.headObject('logs', 'mp')).size).toBe(whole.length);
    const want = new Map([['mp', whole]]);
    await expectAll(e, 'logs', want);
    // Ranges across part boundaries.
    for (const [start, end] of [[SMALL - 10, SMALL + 10], [SMALL + 19_990, SMALL + 20_310], [0, whole.length - 1]]) {
      expect((await get(e, 'logs', 'mp', { start, end })).equals(whole.subarray(start, end + 1))).toBe(true);
    }
    await expectClean(e);
    await e.close();
    expect((await codecsOnDisk(fs)).get('logs/mp')).toEqual(parts.map(() => CODEC_ZSTD_DATA_DICT));
    e = await openMem(fs);
    await expectAll(e, 'logs', want);
    await e.close();
  });

  it('objects of many small chunks (64 KiB chunkBytes) read back through every GET path, with worker threads', async () => {
    const fs = new MemoryFileSystem();
    const e = await openMem(fs, { chunkBytes: 64 << 10, workerThreads: 2 });
    try {
      await e.createBucket('logs');
      // One object of 40 small chunks is enough samples for the bucket's dictionary.
      const first = logText(40 * (64 << 10), 40);
      await e.putObject('logs', 'first', first);
      await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
      const want = new Map<string, Buffer>([['first', first]]);
      for (let i = 0; i < 4; i++) {
        const body = logText(5 * (64 << 10) + [0, 1, 777, 40_000][i], 41 + i);
        want.set(`multi/${i}`, body);
        await e.putObject('logs', `multi/${i}`, body);
      }
      await expectAll(e, 'logs', want);
      const codecs = await codecsOnDisk(fs);
      expect(codecs.get('logs/multi/0')).toEqual(Array(5).fill(CODEC_ZSTD_DATA_DICT));
      expect(codecs.get('logs/multi/3')).toEqual(Array(6).fill(CODEC_ZSTD_DATA_DICT));
      const body = want.get('multi/3')!;
      for (const range of [undefined, { start: 65_000, end: 200_123 }, { start: 0, end: body.length - 1 }, { start: 131_072, end: 131_072 }]) {
        const slice = range ? body.subarray(range.start, range.end + 1) : body;
        // One buffer.
        const whole = await e.getObjectData('logs', 'multi/3', { range, bufferBytesMax: 1 << 20 });
        expect(whole.data?.equals(slice), `data ${JSON.stringify(range)}`).toBe(true);
        // Lent pieces (group buffers), held until all are read, then released.
        const lent = await e.getObjectData('logs', 'multi/3', { range, bufferBytesMax: 0, lend: true });
        const pieces: Array<{ bytes: Buffer; release: () => void }> = [];
        if (lent.lent) for await (const p of lent.lent) pieces.push(p);
        else pieces.push({ bytes: lent.data ?? (await readAll(lent.body!)), release: () => undefined });
        expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(slice), `lent ${JSON.stringify(range)}`).toBe(true);
        for (const p of pieces) p.release();
        // A plain stream.
        const streamed = await e.getObjectData('logs', 'multi/3', { range, bufferBytesMax: 0 });
        expect((streamed.body ? await readAll(streamed.body) : streamed.data!).equals(slice), `stream ${JSON.stringify(range)}`).toBe(true);
      }
      await expectClean(e);
    } finally {
      await e.close();
    }
  });

  it('with dictionaries turned off, or compression off, existing ones are still read and none is made or used', async () => {
    const { fs, early, late } = await dictionaryDisk(10);
    const all = new Map([...early, ...late]);
    for (const opts of [{ smallObjectDictionaries: false }, { compressionLevel: 0 }] as Array<Partial<EngineOptions>>) {
      const e = await openMem(fs, opts);
      expectOneDict(e, 0);
      await expectAll(e, 'logs', all, false);
      const more = logObjects(SAMPLES + 10, opts.compressionLevel === 0 ? 51 : 52);
      for (let i = 0; i < more.length; i++) await e.putObject('logs', `off/${JSON.stringify(opts)}/${i}`, more[i]);
      await settle();
      expectOneDict(e, 0);
      await e.close();
      const codecs = await codecsOnDisk(fs);
      for (let i = 0; i < more.length; i++) {
        expect(codecs.get(`logs/off/${JSON.stringify(opts)}/${i}`)).toEqual([opts.compressionLevel === 0 ? CODEC_RAW : CODEC_ZSTD]);
      }
      const again = await openMem(fs);
      await expectAll(again, 'logs', new Map(more.map((b, i) => [`off/${JSON.stringify(opts)}/${i}`, b] as [string, Buffer])), false);
      await again.close();
    }
    expect(await dictNames(fs)).toEqual([dictFileName(1)]);
  });

  // The first dictionaries of two buckets, started together, both raise DIR/FORMAT to 6; the raises must
  // not share tmp/FORMAT at once (data-dir.ts runs them one at a time: it failed with ENOENT before).
  it('two buckets that start their first dictionaries at once both get one', async () => {
    const fs = new MemoryFileSystem();
    const warnings: string[] = [];
    const e = await openMem(fs, {}, warnings);
    try {
      await e.createBucket('bkt-a');
      await e.createBucket('bkt-b');
      const a = logObjects(SAMPLES, 61);
      const b = logObjects(SAMPLES, 62);
      for (let i = 0; i < SAMPLES - 1; i++) {
        await e.putObject('bkt-a', key(i), a[i]);
        await e.putObject('bkt-b', key(i), b[i]);
      }
      await Promise.all([e.putObject('bkt-a', key(SAMPLES - 1), a[SAMPLES - 1]), e.putObject('bkt-b', key(SAMPLES - 1), b[SAMPLES - 1])]);
      await waitFor(() => e.stats().dictionaries.made === 2 || warnings.length > 0, 'both dictionaries');
      expect(warnings).toEqual([]);
      expect(e.stats().dictionaries.made).toBe(2);
    } finally {
      await e.close();
    }
  });

  it('migration to the cold tier moves dictionary-coded chunks byte-exact, and never one whose dictionary is gone', async () => {
    const w = coldWorld();
    let { e, m } = await w.open();
    await e.createBucket('logs');
    const objs = logObjects(SAMPLES + 40, 23);
    const want = new Map<string, Buffer>();
    for (let i = 0; i < objs.length; i++) {
      await e.putObject('logs', key(i), objs[i]);
      want.set(key(i), objs[i]);
      if (i === SAMPLES - 1) await waitFor(() => e.stats().dictionaries.made === 1, 'the dictionary');
    }
    await e.close();
    const codecs = await codecsOnDisk(w.disk, '/data');
    const coded = [...want.keys()].filter((k) => codecs.get(`logs/${k}`)?.[0] === CODEC_ZSTD_DATA_DICT);
    expect(coded.length).toBe(40);
    // Ten dictionary-coded objects go cold while the dictionary is there.
    ({ e, m } = await w.open());
    await e.setBucketLifecycle('logs', { rules: [{ id: 'cold', enabled: true, filter: { prefix: 'log/0004' }, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] });
    w.advanceDays(2);
    const r = await m.runPass();
    const movedFirst = [...want.keys()].filter((k) => k.startsWith('log/0004'));
    expect(r).toMatchObject({ objectsMoved: 10, damaged: [] });
    expect(movedFirst.every((k) => coded.includes(k))).toBe(true);
    for (const k of movedFirst) expect((await e.headObject('logs', k)).storageClass).toBe('COLD');
    await expectAll(e, 'logs', want, true);
    await e.close();
    // Then the dictionary file is lost: the rest of its objects stay hot and reported, the others move.
    await w.disk.unlink(`/data/dicts/${dictFileName(1)}`);
    ({ e, m } = await w.open());
    await e.setBucketLifecycle('logs', { rules: [{ id: 'cold', enabled: true, filter: { prefix: 'log/' }, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] });
    w.advanceDays(2);
    const r2 = await m.runPass();
    const stuck = coded.filter((k) => !movedFirst.includes(k));
    expect(stuck.length).toBeGreaterThan(0);
    expect(r2.damaged.map((d) => d.key).sort()).toEqual(stuck.sort());
    for (const d of r2.damaged) expect(d.reason).toMatch(/missing/);
    for (const k of stuck) {
      expect((await e.headObject('logs', k)).storageClass).toBe('STANDARD');
      await expectCorrupt(e, 'logs', k, /missing/);
    }
    // Everything else (already cold, or never coded with it) reads back.
    const fine = new Map([...want].filter(([k]) => !stuck.includes(k)));
    await expectAll(e, 'logs', fine, false);
    for (const k of fine.keys()) expect((await e.headObject('logs', k)).storageClass).toBe('COLD');
    await e.close();
  });
});
