// Seeded random operation sequences checked against a trivial model (bucket → key → bytes), with
// crash-and-reopen on the in-memory file system (unsynced bytes dropped, torn tails), clean reopens,
// explicit checkpoints and segment seals. After a crash every acknowledged put/delete must be
// reflected; an operation still in flight may or may not be. Listings are checked for UTF-8 byte order
// and for paging that visits every key exactly once.
//
// A failure names its seed; replay with SEDIMENT_SEED=<seed> npx vitest run test/engine-model.test.ts
// Longer runs: SEDIMENT_SOAK=1.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem, type EngineOptions } from '../src/index.js';
import { byteOrder, errorCode, md5hex, readAll } from './helpers/engine-helpers.js';
import { codePointPrefix, expectedListing, makeKeys, type Model } from './helpers/model.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';

const CHUNK = 64 << 10;
const MIB = 1 << 20;
const BUCKETS = ['alpha', 'bravo', 'charlie.d', 'd-e-f'];
const DELIMITERS = ['/', '', '/', 'é', '😀', 'a', '\ufffd', 'x/'];
const OP_TIMEOUT_MS = 15_000;

interface RunOptions {
  seed: number;
  ops: number;
  workerThreads?: number;
  /** EngineOptions.batchSmallChunks. */
  batchSmallChunks?: boolean;
  /** Largest object, bytes. */
  sizeMax: number;
}

function randomSize(rng: Rng, max: number): number {
  const r = rng.next();
  if (r < 0.12) return rng.pick([0, 1, 2]);
  if (r < 0.55) return rng.int(3, 5000);
  if (r < 0.85) return Math.max(0, Math.min(max, rng.int(1, 4) * CHUNK + rng.int(-1, 1))); // exact chunk boundaries ± 1
  return rng.int(0, max);
}

const LOG_WORDS = ['GET', 'PUT', 'level=info', 'level=warn', 'status=200', 'status=404', 'msg="request served"', 'host=web-', 'path=/api/v1/'];

/** A log line family (shared words, varying numbers): what a bucket's dictionary pays for (FORMAT.md §2.7). */
function logBody(rng: Rng, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; ) {
    const line = `2026-11-27T07:${rng.int(10, 59)}:${rng.int(10, 59)}Z ${rng.pick(LOG_WORDS)}${rng.int(0, 99)} ${rng.pick(LOG_WORDS)} id=${rng.int(0, 1e6)}\n`;
    at += out.write(line, at);
  }
  return out;
}

function randomBody(rng: Rng, size: number): Buffer {
  const r = rng.next();
  if (r < 0.45) return rng.bytes(size); // incompressible: stored raw
  if (r < 0.8) return logBody(rng, size); // zstd, with the bucket's dictionary once it has one
  const out = Buffer.allocUnsafe(size); // compressible: zstd
  const word = rng.bytes(rng.int(1, 16));
  for (let i = 0; i < size; i++) out[i] = word[i % word.length] ^ (i % 251 === 0 ? rng.int(0, 255) : 0);
  return out;
}

/** The same bytes, delivered as a stream of random-sized pieces (or the buffer itself). */
function asBody(rng: Rng, data: Buffer): Buffer | Readable {
  if (rng.bool(0.6)) return data;
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const n = Math.min(data.length - at, rng.pick([1, 100, CHUNK - 1, CHUNK, CHUNK + 1, rng.int(1, 3 * CHUNK)]));
    pieces.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(pieces);
}

async function yieldRandomly(rng: Rng): Promise<void> {
  const macro = rng.int(0, 2);
  for (let i = 0; i < macro; i++) await new Promise((r) => setImmediate(r));
  const micro = rng.int(0, 200);
  for (let i = 0; i < micro; i++) await Promise.resolve();
}

class ModelRun {
  private readonly rng: Rng;
  private readonly disk = new MemoryFileSystem();
  private view!: ProcessFs;
  private e!: Engine;
  private readonly model: Model = new Map();
  private readonly keys: string[];
  private readonly trace: string[] = [];
  private step = 0;
  readonly counts: Record<string, number> = {};

  constructor(private readonly o: RunOptions) {
    this.rng = mulberry32(o.seed);
    this.keys = makeKeys(this.rng, 70);
  }

  private note(what: string): void {
    this.trace.push(`#${this.step} ${what}`);
    if (this.trace.length > 40) this.trace.shift();
    const kind = what.split(' ')[0];
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private where(extra = ''): string {
    return `seed ${this.o.seed} (replay: SEDIMENT_SEED=${this.o.seed}) at op ${this.step}${extra ? `: ${extra}` : ''}\nlast ops:\n  ${this.trace.join('\n  ')}`;
  }

  private async open(): Promise<void> {
    this.view = new ProcessFs(this.disk);
    const opts: EngineOptions = {
      dir: '/data', fs: this.view, chunkBytes: CHUNK, segmentBytesMax: MIB, checkpointEveryOps: this.rng.int(20, 200),
      workerThreads: this.o.workerThreads, batchSmallChunks: this.o.batchSmallChunks, onWarning: () => undefined,
      // Few samples, so that buckets get dictionaries within a run and crashes land around their writes.
      dictionarySamples: this.rng.int(4, 12),
    };
    this.e = await Engine.open(opts);
  }

  async run(): Promise<void> {
    await this.open();
    try {
      for (this.step = 0; this.step < this.o.ops; this.step++) await this.watched(this.one());
      await this.checkAll('final');
      await this.e.close();
      await this.open();
      await this.checkAll('final reopen');
      const v = await this.e.verify();
      expect(v.damage, this.where('verify')).toEqual([]);
      expect(v.damagedObjects, this.where('verify')).toEqual([]);
      expect(v.damagedDictionaries, this.where('verify')).toEqual([]);
      this.counts['dictionaries at the end'] = this.e.stats().dictionaries.count;
    } catch (err) {
      if (err instanceof Error && !err.message.includes('SEDIMENT_SEED=')) err.message = `${err.message}\n${this.where()}`;
      throw err;
    } finally {
      // Bounded: after a failure the engine may be wedged, and the error above must still be reported.
      await Promise.race([this.e.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  /** A hung operation fails the test with the seed instead of a bare timeout. */
  private async watched(p: Promise<void> | void): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`operation did not finish within ${OP_TIMEOUT_MS} ms\n${this.where()}`)), OP_TIMEOUT_MS);
    });
    try {
      await Promise.race([p, hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async one(): Promise<void> {
    const r = this.rng.next();
    if (r < 0.3) return this.put();
    if (r < 0.4) return this.del();
    if (r < 0.5) return this.get();
    if (r < 0.55) return this.head();
    if (r < 0.67) return this.list();
    if (r < 0.71) return this.createBucket();
    if (r < 0.74) return this.deleteBucket();
    if (r < 0.77) {
      this.note('checkpoint');
      return this.e.checkpoint();
    }
    if (r < 0.8) {
      this.note('seal');
      return this.e.sealActiveSegment();
    }
    if (r < 0.83) return this.cleanReopen();
    if (r < 0.9) return this.crashWithInflight();
    if (r < 0.95) return this.concurrentBatch();
    return this.put();
  }

  private pickBucket(): string {
    return this.rng.pick(BUCKETS);
  }

  private async put(): Promise<void> {
    const bucket = this.pickBucket();
    const key = this.rng.pick(this.keys);
    const data = randomBody(this.rng, randomSize(this.rng, this.o.sizeMax));
    this.note(`put ${bucket}/${JSON.stringify(key)} ${data.length}`);
    const objects = this.model.get(bucket);
    try {
      const info = await this.e.putObject(bucket, key, asBody(this.rng, data), { contentType: 'application/x-test' });
      expect(objects, this.where('put succeeded on a missing bucket')).toBeDefined();
      expect(info.etag).toBe(md5hex(data));
      objects!.set(key, data);
    } catch (err) {
      if (objects || errorCode(err) !== 'SEDIMENT_NO_SUCH_BUCKET') throw err;
    }
  }

  private async del(): Promise<void> {
    const bucket = this.pickBucket();
    const objects = this.model.get(bucket);
    const key = objects && objects.size > 0 && this.rng.bool(0.8) ? this.rng.pick([...objects.keys()]) : this.rng.pick(this.keys);
    this.note(`delete ${bucket}/${JSON.stringify(key)}`);
    try {
      const r = await this.e.deleteObject(bucket, key);
      expect(r.existed, this.where('delete: existed')).toBe(objects!.has(key));
      objects!.delete(key);
    } catch (err) {
      if (objects || errorCode(err) !== 'SEDIMENT_NO_SUCH_BUCKET') throw err;
    }
  }

  private async get(): Promise<void> {
    const bucket = this.pickBucket();
    const objects = this.model.get(bucket);
    if (!objects || objects.size === 0) return;
    const key = this.rng.pick([...objects.keys()]);
    const data = objects.get(key)!;
    if (this.rng.bool(0.4)) {
      this.note(`get ${bucket}/${JSON.stringify(key)}`);
      const g = await this.e.getObject(bucket, key);
      expect((await readAll(g.body)).equals(data), this.where('get: bytes differ')).toBe(true);
      return;
    }
    const start = data.length === 0 ? 0 : this.rng.bool(0.1) ? data.length + this.rng.int(0, 3) : this.rng.int(0, data.length - 1);
    const end = start + this.rng.pick([0, 1, CHUNK - 1, CHUNK, this.rng.int(0, 3 * CHUNK), data.length]);
    this.note(`range ${bucket}/${JSON.stringify(key)} ${start}-${end} of ${data.length}`);
    if (start >= data.length) {
      await expect(this.e.getObject(bucket, key, { range: { start, end } }), this.where()).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_RANGE' });
      return;
    }
    const g = await this.e.getObject(bucket, key, { range: { start, end } });
    const got = await readAll(g.body);
    expect(got.equals(data.subarray(start, Math.min(end, data.length - 1) + 1)), this.where('range: bytes differ')).toBe(true);
  }

  private async head(): Promise<void> {
    const bucket = this.pickBucket();
    const key = this.rng.pick(this.keys);
    this.note(`head ${bucket}/${JSON.stringify(key)}`);
    const objects = this.model.get(bucket);
    const data = objects?.get(key);
    if (data === undefined) {
      await expect(this.e.headObject(bucket, key), this.where()).rejects.toMatchObject({ code: objects ? 'SEDIMENT_NO_SUCH_KEY' : 'SEDIMENT_NO_SUCH_BUCKET' });
      return;
    }
    const info = await this.e.headObject(bucket, key);
    expect([info.size, info.etag, info.contentType], this.where('head')).toEqual([data.length, md5hex(data), 'application/x-test']);
  }

  private list(): void {
    const bucket = this.pickBucket();
    const objects = this.model.get(bucket);
    const prefix = this.rng.bool(0.4) ? '' : codePointPrefix(this.rng, this.rng.pick(this.keys));
    const delimiter = this.rng.pick(DELIMITERS);
    const maxKeys = this.rng.pick([1, 2, 3, 7, 1000]);
    const startAfter = this.rng.bool(0.2) ? codePointPrefix(this.rng, this.rng.pick(this.keys)) || undefined : undefined;
    this.note(`list ${bucket} prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)} maxKeys=${maxKeys} startAfter=${JSON.stringify(startAfter)}`);
    if (!objects) {
      expect(() => this.e.listObjects(bucket), this.where()).toThrow(expect.objectContaining({ code: 'SEDIMENT_NO_SUCH_BUCKET' }));
      return;
    }
    const got: string[] = [];
    let token: string | undefined;
    for (let page = 0; ; page++) {
      const r = this.e.listObjects(bucket, { prefix, delimiter, maxKeys, startAfter, continuationToken: token });
      const items = [...r.contents.map((c) => 'k:' + c.key), ...r.commonPrefixes.map((p) => 'p:' + p)].sort((a, b) => byteOrder(a.slice(2), b.slice(2)));
      expect(items.length, this.where('page size')).toBeLessThanOrEqual(maxKeys);
      for (const c of r.contents) {
        const data = objects.get(c.key);
        expect(data, this.where(`listed key ${JSON.stringify(c.key)} is not in the model`)).toBeDefined();
        expect([c.size, c.etag], this.where('list entry')).toEqual([data!.length, md5hex(data!)]);
      }
      got.push(...items);
      if (!r.isTruncated) break;
      expect(items.length, this.where('a truncated page is full')).toBe(maxKeys);
      token = r.nextContinuationToken;
      expect(page, this.where('paging does not end')).toBeLessThan(1000);
    }
    expect(got, this.where('listing')).toEqual(expectedListing(objects.keys(), { prefix, delimiter, startAfter }));
  }

  private async createBucket(): Promise<void> {
    const bucket = this.pickBucket();
    this.note(`createBucket ${bucket}`);
    if (this.model.has(bucket)) {
      await expect(this.e.createBucket(bucket), this.where()).rejects.toMatchObject({ code: 'SEDIMENT_BUCKET_EXISTS' });
      return;
    }
    await this.e.createBucket(bucket);
    this.model.set(bucket, new Map());
  }

  private async deleteBucket(): Promise<void> {
    const bucket = this.pickBucket();
    const objects = this.model.get(bucket);
    if (objects && objects.size > 0 && this.rng.bool(0.5)) {
      // Empty it first so that deletes of buckets (and re-creation with the same name) really happen.
      for (const key of [...objects.keys()]) {
        await this.e.deleteObject(bucket, key);
        objects.delete(key);
      }
    }
    this.note(`deleteBucket ${bucket} (${objects?.size ?? 'missing'})`);
    if (!objects) {
      await expect(this.e.deleteBucket(bucket), this.where()).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_BUCKET' });
    } else if (objects.size > 0) {
      await expect(this.e.deleteBucket(bucket), this.where()).rejects.toMatchObject({ code: 'SEDIMENT_BUCKET_NOT_EMPTY' });
    } else {
      await this.e.deleteBucket(bucket);
      this.model.delete(bucket);
    }
  }

  /** Starts puts/deletes on distinct keys without awaiting them; returns how to settle the model. */
  private startInflight(): Array<{ bucket: string; key: string; next: Buffer | undefined; done: Promise<boolean> }> {
    const used = new Set<string>();
    const ops = [];
    const buckets = [...this.model.keys()];
    if (buckets.length === 0) return [];
    for (let n = this.rng.int(1, 6); n > 0; n--) {
      const bucket = this.rng.pick(buckets);
      const key = this.rng.pick(this.keys);
      if (used.has(`${bucket}/${key}`)) continue;
      used.add(`${bucket}/${key}`);
      const isDelete = this.rng.bool(0.25);
      const next = isDelete ? undefined : randomBody(this.rng, randomSize(this.rng, this.o.sizeMax));
      this.note(`inflight ${isDelete ? 'delete' : `put ${next!.length}`} ${bucket}/${JSON.stringify(key)}`);
      const p = isDelete ? this.e.deleteObject(bucket, key) : this.e.putObject(bucket, key, asBody(this.rng, next!), { contentType: 'application/x-test' });
      ops.push({ bucket, key, next, done: p.then(() => true, () => false) });
    }
    return ops;
  }

  /** Concurrent puts/deletes on distinct keys (group commit), all awaited: every one must succeed. */
  private async concurrentBatch(): Promise<void> {
    const ops = this.startInflight();
    const results = await Promise.all(ops.map((op) => op.done));
    for (let i = 0; i < ops.length; i++) {
      expect(results[i], this.where(`concurrent op on ${ops[i].bucket}/${JSON.stringify(ops[i].key)} failed`)).toBe(true);
      this.apply(ops[i].bucket, ops[i].key, ops[i].next);
    }
  }

  private async cleanReopen(): Promise<void> {
    this.note('close+open');
    // Puts started just before close: close drains them; any that was refused must have left nothing.
    const inflight = this.startInflight();
    await this.e.close();
    for (const op of inflight) {
      if (await op.done) this.apply(op.bucket, op.key, op.next);
    }
    await this.open();
    await this.checkAll('after clean reopen');
  }

  private async crashWithInflight(): Promise<void> {
    const inflight = this.startInflight();
    if (this.rng.bool(0.5)) {
      // A checkpoint taken while puts are half-written must not record a position past synced bytes.
      for (let i = this.rng.int(0, 30); i > 0; i--) await Promise.resolve();
      this.note('checkpoint (with writes in flight)');
      await this.e.checkpoint();
    }
    await yieldRandomly(this.rng);
    this.note('CRASH');
    const dead = this.e;
    this.view.kill();
    this.disk.crash({ tornTail: this.rng.bool(0.8), random: () => this.rng.next() });
    const acked = await Promise.all(inflight.map((op) => op.done)); // settles quickly: the disk is gone for them
    await dead.close().catch(() => undefined);
    await this.open();
    for (let i = 0; i < inflight.length; i++) {
      const op = inflight[i];
      const objects = this.model.get(op.bucket)!;
      if (acked[i]) {
        this.apply(op.bucket, op.key, op.next);
        continue;
      }
      // Not acknowledged: either outcome is allowed, nothing else.
      const old = objects.get(op.key);
      const now = await this.current(op.bucket, op.key);
      const isOld = old === undefined ? now === undefined : now !== undefined && now.equals(old);
      const isNew = op.next === undefined ? now === undefined : now !== undefined && now.equals(op.next);
      expect(isOld || isNew, this.where(`unacknowledged op on ${op.bucket}/${JSON.stringify(op.key)} left a third state`)).toBe(true);
      this.apply(op.bucket, op.key, now);
    }
    await this.checkAll('after crash');
    if (this.rng.bool(0.5)) {
      // Crash again soon after recovery: what was acknowledged in between must survive a replay that
      // starts from the same checkpoint.
      for (let n = this.rng.int(1, 3); n > 0; n--) await this.put();
      this.note('CRASH (soon after recovery)');
      this.view.kill();
      this.disk.crash({ tornTail: true, random: () => this.rng.next() });
      await this.e.close().catch(() => undefined);
      await this.open();
      await this.checkAll('after second crash');
    }
  }

  private apply(bucket: string, key: string, data: Buffer | undefined): void {
    const objects = this.model.get(bucket)!;
    if (data === undefined) objects.delete(key);
    else objects.set(key, data);
  }

  private async current(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      return await readAll((await this.e.getObject(bucket, key)).body);
    } catch (err) {
      if (errorCode(err) === 'SEDIMENT_NO_SUCH_KEY') return undefined;
      throw err;
    }
  }

  /** Everything the model holds, and nothing more, with the right bytes. */
  private async checkAll(when: string): Promise<void> {
    expect(this.e.listBuckets().map((b) => b.name), this.where(`${when}: buckets`)).toEqual([...this.model.keys()].sort());
    let objects = 0;
    let bytes = 0;
    for (const [bucket, entries] of this.model) {
      const listed: string[] = [];
      let token: string | undefined;
      for (;;) {
        const r = this.e.listObjects(bucket, { continuationToken: token, maxKeys: 50 });
        listed.push(...r.contents.map((c) => c.key));
        if (!r.isTruncated) break;
        token = r.nextContinuationToken;
      }
      const want = [...entries.keys()].sort(byteOrder);
      expect(listed, this.where(`${when}: keys of ${bucket} (UTF-8 order, each once)`)).toEqual(want);
      for (const key of want) {
        const data = entries.get(key)!;
        const got = await readAll((await this.e.getObject(bucket, key)).body);
        expect(got.equals(data), this.where(`${when}: bytes of ${bucket}/${JSON.stringify(key)} (${got.length} vs ${data.length})`)).toBe(true);
        objects++;
        bytes += data.length;
      }
    }
    const s = this.e.stats();
    expect([s.objects, s.logicalBytes], this.where(`${when}: stats`)).toEqual([objects, bytes]);
    expect(s.damage, this.where(`${when}: damage`)).toEqual([]);
  }
}

function seeds(count: number): number[] {
  if (process.env.SEDIMENT_SEED) return [testSeed()];
  return Array.from({ length: count }, () => testSeed());
}

describe('engine vs model', () => {
  it('random operations with crashes, reopens, checkpoints and seals (inline framing)', async () => {
    for (const seed of seeds(SOAK ? 12 : 3)) {
      const run = new ModelRun({ seed, ops: SOAK ? 1200 : 260, workerThreads: 0, sizeMax: 3 * MIB });
      await run.run();
      if (process.env.SEDIMENT_MODEL_STATS === '1') console.log(`seed ${seed}: ${JSON.stringify(run.counts)}`);
    }
  }, SOAK ? 3_600_000 : 60_000);

  it('random operations with crashes, with chunk-framing worker threads', async () => {
    for (const seed of seeds(SOAK ? 4 : 1)) {
      const run = new ModelRun({ seed, ops: SOAK ? 600 : 120, sizeMax: 3 * MIB, batchSmallChunks: true });
      await run.run();
      if (process.env.SEDIMENT_MODEL_STATS === '1') console.log(`seed ${seed} (workers): ${JSON.stringify(run.counts)}`);
    }
  }, SOAK ? 3_600_000 : 60_000);
});

describe('listing order', () => {
  it('is UTF-8 byte order, also where UTF-16 order differs (astral vs U+E000..U+FFFF)', async () => {
    const e = await Engine.open({ dir: '/d', fs: new MemoryFileSystem(), workerThreads: 0, onWarning: () => undefined });
    await e.createBucket('order');
    const keys = ['\uffff', '\ufffd', '\ue000', '😀', '\u{10000}', '\ud7ff', 'z', 'é', 'a', 'a/😀', 'a/\ufffd', 'a/b', '\u{10ffff}', '日本'];
    for (const k of keys) await e.putObject('order', k, k);
    const listed = e.listObjects('order').contents.map((c) => c.key);
    expect(listed).toEqual([...keys].sort(byteOrder));
    // JavaScript's default sort (UTF-16) would put the astral keys before U+E000..U+FFFF.
    expect(listed.indexOf('\ufffd')).toBeLessThan(listed.indexOf('😀'));
    const pages: string[] = [];
    let token: string | undefined;
    do {
      const r = e.listObjects('order', { maxKeys: 1, continuationToken: token });
      pages.push(...r.contents.map((c) => c.key));
      token = r.nextContinuationToken;
    } while (token);
    expect(pages).toEqual(listed);
    expect(e.listObjects('order', { delimiter: '/' }).commonPrefixes).toEqual(['a/']);
    expect(e.listObjects('order', { prefix: 'a/', delimiter: '😀' })).toMatchObject({ commonPrefixes: ['a/😀'] });
    await e.close();
  });
});
