// Seeded random operations with compaction interleaved, checked against a trivial model, on the
// in-memory file system: compaction passes between operations and concurrently with them, crashes
// (power loss: unsynced bytes dropped, torn tails) at random moments inside a pass, clean reopens,
// multipart uploads left open, completed and aborted, buckets deleted and re-created. Small objects come
// in text families that change every few dozen operations, so buckets get and replace dictionaries
// (FORMAT.md §2.7) all the time, and the dictionary collector runs between operations, during passes and
// during crashes. After every crash and reopen: every acknowledged object is there with its bytes, nothing
// deleted came back, verify finds no damage, and no file a finished or interrupted pass replaced is left
// behind.
//
// A failure names its seed; replay with SEDIMENT_SEED=<seed> npx vitest run test/compaction-model.test.ts
// Longer runs: SEDIMENT_SOAK=1.
import { describe, expect, it } from 'vitest';
import { Compactor, DictionaryCollector, Engine, MaintenancePool, MemoryFileSystem, takeCensus } from '../src/index.js';
import { errorCode, readAll } from './helpers/engine-helpers.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';

const CHUNK = 64 << 10;
const BUCKETS = ['alpha', 'bravo', 'charlie'];

interface OpenUpload {
  bucket: string;
  key: string;
  uploadId: string;
  parts: Map<number, Buffer>;
}

class CompactionRun {
  private readonly rng: Rng;
  private readonly disk = new MemoryFileSystem();
  private view!: ProcessFs;
  private e!: Engine;
  private pool!: MaintenancePool;
  private compactor!: Compactor;
  private collector!: DictionaryCollector;
  private readonly model = new Map<string, Map<string, Buffer>>();
  private uploads: OpenUpload[] = [];
  private readonly keys: string[];
  private readonly trace: string[] = [];
  private step = 0;
  readonly counts: Record<string, number> = {};

  constructor(
    readonly seed: number,
    private readonly ops: number,
  ) {
    this.rng = mulberry32(seed);
    this.keys = Array.from({ length: 40 }, (_, i) => `k/${i}/${this.rng.int(0, 9)}`);
  }

  private note(what: string): void {
    this.trace.push(`#${this.step} ${what}`);
    if (this.trace.length > 30) this.trace.shift();
    const kind = what.split(' ')[0];
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private where(extra = ''): string {
    return `seed ${this.seed} (replay: SEDIMENT_SEED=${this.seed}) at op ${this.step}${extra ? `: ${extra}` : ''}\nlast ops:\n  ${this.trace.join('\n  ')}`;
  }

  private async open(): Promise<void> {
    this.view = new ProcessFs(this.disk);
    this.e = await Engine.open({
      dir: '/data', fs: this.view, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, segmentRecordsMax: this.rng.int(8, 60),
      checkpointEveryOps: this.rng.int(20, 300), workerThreads: 0, onWarning: () => undefined,
      dictionarySamples: this.rng.int(4, 8), dictionaryWatch: { every: this.rng.int(1, 2), checks: this.rng.int(2, 4) },
    });
    this.pool = new MaintenancePool(this.view, 0);
    this.compactor = new Compactor(this.e.maintenance(), this.pool, {
      freeBytesReserve: 0, deadShareMin: this.rng.pick([0.05, 0.3, 0.6]), batchBytes: this.rng.pick([300, 64 << 10, 4 << 20]),
      concurrency: this.rng.int(1, 2),
    });
    this.collector = new DictionaryCollector(this.e.maintenance(), this.pool);
    // Open-time cleanup: no replaced file is left next to the pack that replaced it.
    await this.checkNoLeftovers('after open');
  }

  private async close(): Promise<void> {
    await this.compactor.stop();
    await this.e.close();
  }

  async run(): Promise<void> {
    await this.open();
    try {
      for (this.step = 0; this.step < this.ops; this.step++) await this.one();
      this.note('final compact');
      await this.collectDictionaries();
      await this.compactor.runPass({ sealFirst: true });
      await this.collectDictionaries();
      await this.checkAll('final');
      await this.close();
      await this.open();
      await this.checkAll('final reopen');
    } catch (err) {
      if (err instanceof Error && !err.message.includes('SEDIMENT_SEED=')) err.message = `${err.message}\n${this.where()}`;
      throw err;
    } finally {
      await Promise.race([this.e.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  private async one(): Promise<void> {
    const r = this.rng.next();
    if (r < 0.3) return this.put();
    if (r < 0.45) return this.del();
    if (r < 0.5) return this.multipart();
    if (r < 0.53) return this.bucketChurn();
    if (r < 0.56) return this.get();
    if (r < 0.6) return this.rng.bool(0.5) ? this.tag() : this.collectDictionaries();
    if (r < 0.65) return this.textBurst();
    if (r < 0.7) return this.compact();
    if (r < 0.8) return this.compactWithTraffic();
    if (r < 0.9) return this.crashDuringCompaction();
    if (r < 0.95) return this.cleanReopen();
    this.note('checkpoint');
    return this.e.checkpoint();
  }

  private body(): Buffer {
    const n = this.rng.bool(0.7) ? this.rng.int(0, 6000) : this.rng.int(1, 3 * CHUNK + 7);
    const r = this.rng.next();
    if (r < 0.35) return this.rng.bytes(n);
    if (r < 0.5) return Buffer.alloc(n, this.rng.int(0, 255));
    return familyText(Math.floor(this.step / 20) % FAMILIES.length, this.rng, n);
  }

  /** Small objects of the current text family into one bucket: enough for it to get or replace a dictionary. */
  private async textBurst(): Promise<void> {
    const b = this.bucket();
    const objects = await this.ensureBucket(b);
    const n = this.rng.int(10, 30);
    const family = Math.floor(this.step / 20) % FAMILIES.length;
    this.note(`text-burst ${b} family=${family} ${n}`);
    for (let i = 0; i < n; i++) {
      const key = this.rng.pick(this.keys);
      const data = familyText(family, this.rng, this.rng.int(300, 6000));
      await this.e.putObject(b, key, data);
      objects.set(key, data);
    }
  }

  /** A pass of the dictionary collector; what it deleted is counted (the stats of a soak run show it). */
  private async collectDictionaries(): Promise<void> {
    const seal = this.rng.bool(0.3);
    if (seal) await this.e.maintenance().sealActive();
    const r = await this.collector.runPass();
    this.note(`collect dictionaries seal=${seal} retired=${r.retired} deleted=${r.deleted.join(',')}`);
    this.counts.dictionariesDeleted = (this.counts.dictionariesDeleted ?? 0) + r.deleted.length;
    this.counts.dictionariesRetired = Math.max(this.counts.dictionariesRetired ?? 0, r.retired);
    this.counts.dictionariesMade = Math.max(this.counts.dictionariesMade ?? 0, this.e.stats().dictionaries.count);
  }

  private bucket(): string {
    return this.rng.pick(BUCKETS);
  }

  private async ensureBucket(b: string): Promise<Map<string, Buffer>> {
    let m = this.model.get(b);
    if (!m) {
      await this.e.createBucket(b);
      this.model.set(b, (m = new Map()));
    }
    return m;
  }

  private async put(): Promise<void> {
    const b = this.bucket();
    const objects = await this.ensureBucket(b);
    const key = this.rng.pick(this.keys);
    const data = this.body();
    this.note(`put ${b}/${key} ${data.length}`);
    await this.e.putObject(b, key, data);
    objects.set(key, data);
  }

  private async del(): Promise<void> {
    const b = this.bucket();
    const objects = this.model.get(b);
    if (!objects || objects.size === 0) return;
    const key = this.rng.pick([...objects.keys()]);
    this.note(`delete ${b}/${key}`);
    await this.e.deleteObject(b, key);
    objects.delete(key);
  }

  private async multipart(): Promise<void> {
    const open = this.uploads.length > 0 && this.rng.bool(0.6) ? this.rng.pick(this.uploads) : undefined;
    if (!open) {
      const b = this.bucket();
      await this.ensureBucket(b);
      const key = this.rng.pick(this.keys);
      const u = await this.e.createMultipartUpload(b, key);
      const up: OpenUpload = { bucket: b, key, uploadId: u.uploadId, parts: new Map() };
      for (let n = 1; n <= this.rng.int(1, 3); n++) {
        const data = this.body();
        await this.e.uploadPart(b, key, u.uploadId, n, data);
        up.parts.set(n, data);
      }
      this.note(`upload-create ${b}/${key} ${u.uploadId} parts ${up.parts.size}`);
      this.uploads.push(up);
      return;
    }
    this.uploads = this.uploads.filter((u) => u !== open);
    if (this.rng.bool(0.3)) {
      this.note(`upload-abort ${open.bucket}/${open.key} ${open.uploadId}`);
      await this.e.abortMultipartUpload(open.bucket, open.key, open.uploadId);
      return;
    }
    if (this.rng.bool(0.3)) {
      // Re-upload a part: the first version's chunks become dead.
      const data = this.body();
      await this.e.uploadPart(open.bucket, open.key, open.uploadId, 1, data);
      open.parts.set(1, data);
    }
    this.note(`upload-complete ${open.bucket}/${open.key} ${open.uploadId}`);
    const numbers = [...open.parts.keys()].sort((a, c) => a - c);
    await this.e.completeMultipartUpload(open.bucket, open.key, open.uploadId, numbers.map((partNumber) => ({ partNumber })), { partBytesMin: 0 });
    this.model.get(open.bucket)!.set(open.key, Buffer.concat(numbers.map((n) => open.parts.get(n)!)));
  }

  private async bucketChurn(): Promise<void> {
    const b = this.bucket();
    const objects = this.model.get(b);
    if (!objects) return void (await this.ensureBucket(b));
    if (this.uploads.some((u) => u.bucket === b)) return;
    this.note(`bucket-delete ${b} (${objects.size} objects)`);
    for (const key of [...objects.keys()]) await this.e.deleteObject(b, key);
    await this.e.deleteBucket(b);
    this.model.delete(b);
  }

  private async get(): Promise<void> {
    const b = this.bucket();
    const objects = this.model.get(b);
    if (!objects || objects.size === 0) return;
    const key = this.rng.pick([...objects.keys()]);
    this.note(`get ${b}/${key}`);
    const got = await readAll((await this.e.getObject(b, key)).body);
    expect(got.equals(objects.get(key)!), this.where(`bytes of ${b}/${key}`)).toBe(true);
  }

  /** Tagging writes a new COMMIT over the same chunks: they must stay live through any pass. */
  private async tag(): Promise<void> {
    const b = this.bucket();
    const objects = this.model.get(b);
    if (!objects || objects.size === 0) return;
    const key = this.rng.pick([...objects.keys()]);
    this.note(`tag ${b}/${key}`);
    await this.e.putObjectTagging(b, key, { n: String(this.step) });
  }

  private async compact(): Promise<void> {
    const seal = this.rng.bool(0.5);
    this.note(`compact seal=${seal}`);
    const st = await this.compactor.runPass({ sealFirst: seal });
    expect(st.damaged, this.where('no damage on a healthy disk')).toEqual([]);
    this.counts.packsWritten = (this.counts.packsWritten ?? 0) + st.packsWritten;
    this.counts.segmentsCompacted = (this.counts.segmentsCompacted ?? 0) + st.segmentsCompacted;
    if (this.rng.bool(0.3)) await this.checkAll('after compaction');
  }

  /** Writes, deletes and reads while a pass runs: they win over the pass and read correct bytes. */
  private async compactWithTraffic(): Promise<void> {
    this.note('compact with traffic');
    const pass = this.compactor.runPass({ sealFirst: this.rng.bool(0.5) });
    const collecting = this.rng.bool(0.5) ? this.collector.runPass() : undefined;
    for (let n = this.rng.int(1, 8); n > 0; n--) {
      await this.yieldRandomly();
      const r = this.rng.next();
      if (r < 0.4) await this.put();
      else if (r < 0.7) await this.del();
      else await this.get();
    }
    await pass;
    const r = await collecting;
    if (r) this.counts.dictionariesDeleted = (this.counts.dictionariesDeleted ?? 0) + r.deleted.length;
  }

  private async yieldRandomly(): Promise<void> {
    for (let i = this.rng.int(0, 3); i > 0; i--) await new Promise((r) => setImmediate(r));
    for (let i = this.rng.int(0, 100); i > 0; i--) await Promise.resolve();
  }

  private async crashDuringCompaction(): Promise<void> {
    this.note('compact then CRASH');
    const pass = this.compactor.runPass({ sealFirst: this.rng.bool(0.5) }).catch(() => undefined);
    const collecting = this.rng.bool(0.5) ? this.collector.runPass().catch(() => undefined) : undefined;
    const inflight = this.rng.bool(0.5) ? this.startInflightPut() : undefined;
    for (let i = this.rng.int(0, 40); i > 0; i--) await this.yieldRandomly();
    this.view.kill();
    this.disk.crash({ tornTail: this.rng.bool(0.8), random: () => this.rng.next() });
    await pass;
    await collecting;
    const acked = inflight ? await inflight.done : false;
    await this.e.close().catch(() => undefined);
    await this.pool.close();
    await this.open();
    if (inflight) {
      const objects = this.model.get(inflight.bucket)!;
      if (acked) objects.set(inflight.key, inflight.data);
      else {
        const now = await this.current(inflight.bucket, inflight.key);
        const old = objects.get(inflight.key);
        const ok = (now === undefined && old === undefined) || (now !== undefined && (now.equals(inflight.data) || (old !== undefined && now.equals(old))));
        expect(ok, this.where(`unacknowledged put of ${inflight.bucket}/${inflight.key} left a third state`)).toBe(true);
        if (now === undefined) objects.delete(inflight.key);
        else objects.set(inflight.key, now);
      }
    }
    // Open uploads survive a crash (their records are durable); keep them in the model.
    await this.checkAll('after crash during compaction');
  }

  private startInflightPut(): { bucket: string; key: string; data: Buffer; done: Promise<boolean> } | undefined {
    const buckets = [...this.model.keys()];
    if (buckets.length === 0) return undefined;
    const bucket = this.rng.pick(buckets);
    const key = this.rng.pick(this.keys);
    const data = this.body();
    this.note(`inflight put ${bucket}/${key} ${data.length}`);
    return { bucket, key, data, done: this.e.putObject(bucket, key, data).then(() => true, () => false) };
  }

  private async current(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      return await readAll((await this.e.getObject(bucket, key)).body);
    } catch (err) {
      if (errorCode(err) === 'SEDIMENT_NO_SUCH_KEY') return undefined;
      throw err;
    }
  }

  private async cleanReopen(): Promise<void> {
    const dropCheckpoints = this.rng.bool(0.4);
    this.note(`close+open${dropCheckpoints ? ' without checkpoints' : ''}`);
    await this.close();
    if (dropCheckpoints) {
      // As if every checkpoint were damaged: open replays all segments and packs, packs' records
      // (older copies, out of log order) included — the result must be the same index.
      for (const n of await this.disk.readdir('/data/checkpoints')) await this.disk.unlink(`/data/checkpoints/${n}`);
      await this.disk.syncDir('/data/checkpoints');
    }
    await this.open();
    await this.checkAll('after reopen');
  }

  private async checkNoLeftovers(when: string): Promise<void> {
    const names = await this.disk.readdir('/data/segments');
    const tmp = await this.disk.readdir('/data/tmp');
    expect(tmp, this.where(`${when}: tmp/ is empty`)).toEqual([]);
    // Every segment file is one the engine knows (no replaced input survived next to its pack).
    const known = new Set(this.e.maintenance().segments().map((s) => s.id));
    for (const n of names) expect(known.has(Number(n.slice(0, 12))), this.where(`${when}: ${n} is a leftover`)).toBe(true);
  }

  private async checkAll(when: string): Promise<void> {
    expect(this.e.listBuckets().map((b) => b.name), this.where(`${when}: buckets`)).toEqual([...this.model.keys()].sort());
    let count = 0;
    for (const [b, objects] of this.model) {
      const listed = this.e.listObjects(b, { maxKeys: 1000 }).contents.map((c) => c.key).sort();
      expect(listed, this.where(`${when}: keys of ${b}`)).toEqual([...objects.keys()].sort());
      for (const [key, data] of objects) {
        const got = await readAll((await this.e.getObject(b, key)).body);
        expect(got.equals(data), this.where(`${when}: bytes of ${b}/${key} (${got.length} vs ${data.length})`)).toBe(true);
        count++;
      }
    }
    expect(this.e.stats().objects, this.where(`${when}: object count`)).toBe(count);
    for (const u of this.uploads) {
      const parts = this.e.listParts(u.bucket, u.key, u.uploadId).parts.map((p) => p.partNumber);
      expect(parts, this.where(`${when}: parts of open upload ${u.uploadId}`)).toEqual([...u.parts.keys()].sort((a, c) => a - c));
    }
    const v = await this.e.verify();
    expect(v.damage, this.where(`${when}: verify damage`)).toEqual([]);
    expect(v.damagedObjects, this.where(`${when}: verify objects`)).toEqual([]);
    const census = await takeCensus(this.e.maintenance());
    expect(census.liveBytes, this.where(`${when}: accounting`)).toBeLessThanOrEqual(census.storedBytes);
  }
}

const FAMILIES = [
  (rng: Rng) => `2026-11-27T08:${rng.int(10, 59)}:${rng.int(10, 59)}Z level=${rng.pick(['info', 'warn'])} msg="request served" path=/api/v1/items/${rng.int(0, 999)} status=${rng.pick([200, 404])}\n`,
  (rng: Rng) => `{"event":"${rng.pick(['viewed', 'carted', 'bought'])}","item":"${rng.pick(['kettle', 'lantern', 'blender', 'scooter'])}${rng.int(0, 80)}","qty":${rng.int(1, 9)}}\n`,
  (rng: Rng) => `${rng.int(1e5, 1e6)};${rng.pick(['Lisbon', 'Porto', 'Braga', 'Faro'])};${rng.pick(['north', 'south'])};temperature;${rng.int(-5, 40)}.${rng.int(0, 9)}\n`,
];

/** `n` bytes of lines of one family: buckets drift from one family to the next as the run goes on. */
function familyText(family: number, rng: Rng, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let at = 0; at < n; ) at += out.write(FAMILIES[family]!(rng), at);
  return out;
}

function seeds(count: number): number[] {
  if (process.env.SEDIMENT_SEED) return [testSeed()];
  return Array.from({ length: count }, () => testSeed());
}

describe('compaction vs model', () => {
  it('random operations with compaction passes, traffic during passes, crashes inside passes and reopens', async () => {
    for (const seed of seeds(SOAK ? 20 : 3)) {
      const run = new CompactionRun(seed, SOAK ? 600 : 150);
      await run.run();
      if (process.env.SEDIMENT_MODEL_STATS === '1') console.log(`seed ${seed}: ${JSON.stringify(run.counts)}`);
    }
  }, SOAK ? 3_600_000 : 120_000);
});
