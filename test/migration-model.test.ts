// Seeded random operations with cold-tier migration interleaved, checked against a trivial model
// (Map<key, bytes>), on the in-memory file system with a memory cold store: migration passes between
// operations and concurrently with puts, overwrites, deletes and re-tags (which must win), compaction
// passes (the hot copies of moved objects become garbage), the cold store going offline mid-run, cold
// segments rewritten past the dead-share threshold, crashes (unsynced bytes dropped) and clean reopens.
// After each: every acknowledged object has its bytes (hot or cold), nothing deleted came back, verify is
// clean, and every cold segment an object references exists.
//
// A failure names its seed; replay with SEDIMENT_SEED=<seed> npx vitest run test/migration-model.test.ts
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryColdStore, MemoryFileSystem, Migrator } from '../src/index.js';
import { parseColdSegmentName } from '../src/format/cold-segment.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { errorCode, readAll } from './helpers/engine-helpers.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';

const CHUNK = 64 << 10;
const T0 = Date.UTC(2026, 10, 1);

class MigrationRun {
  private readonly rng: Rng;
  private readonly disk = new MemoryFileSystem();
  private readonly store = new MemoryColdStore();
  private view!: ProcessFs;
  private e!: Engine;
  private pool!: MaintenancePool;
  private migrator!: Migrator;
  private compactor!: Compactor;
  private now = T0;
  private readonly model = new Map<string, Buffer>();
  private readonly keys: string[];
  private readonly trace: string[] = [];
  private step = 0;
  readonly counts: Record<string, number> = {};

  constructor(readonly seed: number, private readonly ops: number) {
    this.rng = mulberry32(seed);
    this.keys = Array.from({ length: 30 }, (_, i) => `${this.rng.pick(['logs/', 'data/'])}${i}`);
  }

  private note(what: string): void {
    this.trace.push(`#${this.step} ${what}`);
    if (this.trace.length > 30) this.trace.shift();
    const kind = what.split(' ')[0]!;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private async open(): Promise<void> {
    this.view = new ProcessFs(this.disk);
    this.e = await Engine.open({
      dir: '/data', fs: this.view, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, segmentRecordsMax: this.rng.int(8, 60),
      checkpointEveryOps: this.rng.int(20, 300), workerThreads: 0, clock: { now: () => this.now }, coldStore: this.store, onWarning: () => undefined,
    });
    this.pool = new MaintenancePool(this.view, 0);
    this.migrator = new Migrator(this.e.coldAccess(), this.store, this.pool, { batchBytesMax: this.rng.pick([2048, 32 << 10, 1 << 20]), deadShareMax: this.rng.pick([0.2, 0.5]), level: this.rng.pick([3, 9]) });
    this.compactor = new Compactor(this.e.maintenance(), this.pool, { freeBytesReserve: 0, deadShareMin: 0.2, batchBytes: 64 << 10 });
  }

  async run(): Promise<void> {
    await this.open();
    await this.e.createBucket('bkt');
    // Half the keys go cold by rule after a day; the bucket also tiers by access after 3 days.
    await this.e.setBucketLifecycle('bkt', { rules: [{ id: 'logs', enabled: true, filter: { prefix: 'logs/' }, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    await this.e.setBucketTiering('bkt', 3);
    try {
      for (this.step = 0; this.step < this.ops; this.step++) await this.one();
      this.store.offline = false;
      this.now += 10 * DAY_MS;
      // Counted too: a seed can find the cold store offline at every pass of its run (seed 541706575: all 27
      // of them); its objects move here, and are checked cold just below.
      const last = await this.migrator.runPass();
      this.counts.moved = (this.counts.moved ?? 0) + last.objectsMoved;
      await this.checkAll('final');
      await this.e.close();
      await this.open();
      await this.checkAll('final reopen');
    } catch (err) {
      if (err instanceof Error) err.message = `${err.message}\nseed ${this.seed} (replay: SEDIMENT_SEED=${this.seed}) at op ${this.step}\n  ${this.trace.join('\n  ')}`;
      throw err;
    } finally {
      await Promise.race([this.e.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  private async one(): Promise<void> {
    const r = this.rng.next();
    if (r < 0.3) return this.put(this.rng.pick(this.keys));
    if (r < 0.4) return this.del(this.rng.pick(this.keys));
    if (r < 0.45) return this.tag();
    if (r < 0.5) return this.read();
    if (r < 0.6) return this.advance();
    if (r < 0.7) return this.migrate();
    if (r < 0.8) return this.migrateWithTraffic();
    if (r < 0.85) return this.compact();
    if (r < 0.9) return this.offlineToggle();
    if (r < 0.95) return this.crash();
    this.note('reopen');
    await this.e.close();
    await this.open();
    await this.checkAll('reopen');
  }

  private body(): Buffer {
    const n = this.rng.bool(0.8) ? this.rng.int(0, 9000) : this.rng.int(1, 2 * CHUNK + 9);
    return this.rng.bool(0.8) ? fillLogText(Buffer.alloc(n), this.rng.int(0, 1e9)) : this.rng.bytes(n);
  }

  private async put(key: string): Promise<void> {
    const data = this.body();
    this.note(`put ${key} ${data.length}`);
    await this.e.putObject('bkt', key, data);
    this.model.set(key, data);
  }

  private async del(key: string): Promise<void> {
    this.note(`del ${key}`);
    await this.e.deleteObject('bkt', key);
    this.model.delete(key);
  }

  private async tag(): Promise<void> {
    const key = this.rng.pick(this.keys);
    if (!this.model.has(key)) return;
    this.note(`tag ${key}`);
    await this.e.putObjectTagging('bkt', key, { t: String(this.step) }).catch((err: unknown) => {
      if (errorCode(err) !== 'SEDIMENT_PRECONDITION_FAILED') throw err;
    });
  }

  private async read(): Promise<void> {
    const key = this.rng.pick(this.keys);
    this.note(`read ${key}`);
    await this.checkKey(key, 'read');
  }

  private advance(): void {
    const days = this.rng.pick([0.5, 1, 2, 4]);
    this.note(`advance ${days}d`);
    this.now += days * DAY_MS;
  }

  private async migrate(): Promise<void> {
    this.note(`migrate${this.store.offline ? ' (offline)' : ''}`);
    try {
      const r = await this.migrator.runPass();
      this.counts.moved = (this.counts.moved ?? 0) + r.objectsMoved;
      expect(r.damaged).toEqual([]);
    } catch (err) {
      if (!(this.store.offline && errorCode(err) === 'SEDIMENT_COLD_UNAVAILABLE')) throw err;
    }
  }

  /** A pass with puts, deletes and tags of the same keys racing it; every acknowledged change wins. */
  private async migrateWithTraffic(): Promise<void> {
    if (this.store.offline) return this.migrate();
    this.note('migrate+traffic');
    const pass = this.migrator.runPass();
    const traffic: Array<Promise<void>> = [];
    const used = new Set<string>();
    for (let i = 0; i < this.rng.int(1, 6); i++) {
      const key = this.rng.pick(this.keys);
      if (used.has(key)) continue;
      used.add(key);
      traffic.push(this.rng.bool(0.7) ? this.put(key) : this.del(key));
    }
    const [r] = await Promise.all([pass, ...traffic]);
    this.counts.moved = (this.counts.moved ?? 0) + r.objectsMoved;
  }

  private async compact(): Promise<void> {
    this.note('compact');
    await this.compactor.runPass({ sealFirst: this.rng.bool() });
  }

  private offlineToggle(): void {
    this.store.offline = !this.store.offline;
    this.note(`store ${this.store.offline ? 'offline' : 'online'}`);
  }

  private async crash(): Promise<void> {
    this.note('crash');
    this.view.kill();
    this.disk.crash();
    await this.open();
    await this.checkAll('after crash');
  }

  private async checkKey(key: string, when: string): Promise<void> {
    const want = this.model.get(key);
    try {
      const got = await readAll((await this.e.getObject('bkt', key)).body);
      expect(want !== undefined, `${when}: ${key} exists but was deleted`).toBe(true);
      expect(got.equals(want!), `${when}: ${key} bytes`).toBe(true);
    } catch (err) {
      if (this.store.offline && errorCode(err) === 'SEDIMENT_COLD_UNAVAILABLE') return;
      if (errorCode(err) !== 'SEDIMENT_NO_SUCH_KEY') throw err;
      expect(want, `${when}: ${key} is missing`).toBeUndefined();
    }
  }

  private async checkAll(when: string): Promise<void> {
    const offline = this.store.offline;
    this.store.offline = false;
    try {
      for (const key of this.keys) await this.checkKey(key, when);
      expect(this.e.listObjects('bkt').contents.map((c) => c.key).sort()).toEqual([...this.model.keys()].sort());
      const v = await this.e.verify();
      expect(v.damage, when).toEqual([]);
      expect(v.damagedObjects, when).toEqual([]);
      const present = new Set((await this.store.list()).map((b) => parseColdSegmentName(b.name)));
      const a = this.e.coldAccess();
      for (const o of a.objects('bkt')) {
        if (o.storageClass !== 1) continue;
        this.counts.coldSeen = (this.counts.coldSeen ?? 0) + 1;
        for (const c of (await a.readManifest('bkt', o.key, o.seq))!.chunks) expect(present.has(c.segmentId), `${when}: ${o.key} references missing cold segment ${c.segmentId}`).toBe(true);
      }
    } finally {
      this.store.offline = offline;
    }
  }
}

describe('migration model', () => {
  const base = testSeed();
  const runs = SOAK ? 20 : 3;
  for (let i = 0; i < runs; i++) {
    it(`seeded run ${i}`, async () => {
      const run = new MigrationRun(base + i, SOAK ? 600 : 150);
      await run.run();
      expect(run.counts.moved ?? 0, `seed ${base + i}: objects moved`).toBeGreaterThan(0);
      expect(run.counts.coldSeen ?? 0, `seed ${base + i}: cold objects checked`).toBeGreaterThan(0);
    }, 120_000);
  }
});
