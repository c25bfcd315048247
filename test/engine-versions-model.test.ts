// Versioning against a trivial model: seeded random PUTs, DELETEs (delete markers), deletes of chosen
// versions, versioning state changes (Enabled / Suspended), checkpoints, clean reopens, power-loss
// crashes (only acknowledged operations must survive: every op here is awaited before the crash) and
// compaction passes, checked against bucket → key → versions newest first. Every check compares the
// current object, every version's bytes, and a whole ListObjectVersions paged with random max-keys,
// prefix and delimiter.
//
// A failure names its seed; replay with SEDIMENT_SEED=<seed> npx vitest run test/engine-versions-model.test.ts
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryFileSystem } from '../src/index.js';
import { compareUtf8 } from '../src/engine/utf8-order.js';
import { errorCode, readAll } from './helpers/engine-helpers.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';

interface Version {
  /** As clients see it: "null" for the null version. */
  id: string;
  marker: boolean;
  data?: Buffer;
  /** Object Lock (bucket "vault"): locked until this time, or held. */
  retainUntilMs?: number;
  mode?: 'GOVERNANCE' | 'COMPLIANCE';
  hold?: boolean;
}

interface ModelBucket {
  status: 'Unversioned' | 'Enabled' | 'Suspended';
  keys: Map<string, Version[]>;
}

const BUCKETS = ['plain', 'versioned', 'suspends', 'vault'];

class VersionsRun {
  private readonly rng: Rng;
  private readonly disk = new MemoryFileSystem();
  private view!: ProcessFs;
  private e!: Engine;
  private pool!: MaintenancePool;
  private compactor!: Compactor;
  private readonly model = new Map<string, ModelBucket>();
  private readonly keys: string[];
  private readonly trace: string[] = [];
  private step = 0;
  now = 1_700_000_000_000;

  constructor(
    readonly seed: number,
    private readonly ops: number,
  ) {
    this.rng = mulberry32(seed);
    this.keys = ['a', 'a/b', 'a/c', 'b', 'é/x', 'k/1', 'k/2', 'k/3/z', 'zz'];
  }

  private note(what: string): void {
    this.trace.push(`#${this.step} ${what}`);
    if (this.trace.length > 30) this.trace.shift();
  }

  private where(extra = ''): string {
    return `seed ${this.seed} (replay: SEDIMENT_SEED=${this.seed}) at op ${this.step}${extra ? `: ${extra}` : ''}\nlast ops:\n  ${this.trace.join('\n  ')}`;
  }

  private async open(): Promise<void> {
    this.view = new ProcessFs(this.disk);
    this.e = await Engine.open({
      dir: '/data', fs: this.view, chunkBytes: 64 << 10, segmentBytesMax: 1 << 20, segmentRecordsMax: this.rng.int(8, 40),
      checkpointEveryOps: this.rng.int(10, 200), workerThreads: 0, onWarning: () => undefined,
      clock: { now: () => this.now },
    });
    this.pool = new MaintenancePool(this.view, 0);
    this.compactor = new Compactor(this.e.maintenance(), this.pool, { freeBytesReserve: 0, deadShareMin: this.rng.pick([0.01, 0.3]), batchBytes: 64 << 10, concurrency: 1 });
  }

  private async close(): Promise<void> {
    await this.compactor.stop();
    await this.e.close();
    await this.pool.close();
  }

  async run(): Promise<void> {
    await this.open();
    try {
      for (const b of BUCKETS) {
        await this.e.createBucket(b, { objectLock: b === 'vault' });
        this.model.set(b, { status: b === 'vault' ? 'Enabled' : 'Unversioned', keys: new Map() });
      }
      await this.setStatus('versioned', 'Enabled');
      for (this.step = 0; this.step < this.ops; this.step++) {
        this.now += this.rng.int(0, 2000);
        await this.one();
      }
      await this.compactor.runPass({ sealFirst: true });
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
    const bucket = this.rng.pick(BUCKETS);
    const key = this.rng.pick(this.keys);
    if (r < 0.35) return this.put(bucket, key);
    if (r < 0.5) return this.del(bucket, key);
    if (r < 0.62) return this.delVersion(bucket, key);
    if (r < 0.66) return this.setStatus('suspends', this.rng.pick(['Enabled', 'Suspended'] as const));
    if (r < 0.72) return this.checkKey(bucket, key);
    if (r < 0.8) {
      this.note('compact');
      await this.compactor.runPass({ sealFirst: this.rng.bool(0.5) });
      return;
    }
    if (r < 0.85) {
      this.note('checkpoint');
      await this.e.checkpoint();
      return;
    }
    if (r < 0.9) {
      // Without its checkpoints, open replays every segment and pack: the records compaction kept
      // (versions, delete markers, version DELETEs) must rebuild the same versions.
      const full = this.rng.bool(0.4);
      this.note(full ? 'reopen with full replay' : 'reopen');
      await this.close();
      if (full) for (const n of await this.disk.readdir('/data/checkpoints')) await this.disk.unlink(`/data/checkpoints/${n}`);
      await this.open();
      return this.checkAll('after reopen');
    }
    if (r < 0.93) {
      this.note('crash');
      this.view.kill();
      this.disk.crash({ tornTail: this.rng.bool(0.8), random: () => this.rng.next() });
      await this.e.close().catch(() => undefined);
      await this.compactor.stop().catch(() => undefined);
      await this.pool.close();
      await this.open();
      return this.checkAll('after crash');
    }
    return this.checkList(bucket);
  }

  private async setStatus(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void> {
    this.note(`versioning ${bucket} ${status}`);
    await this.e.setBucketVersioning(bucket, status);
    this.model.get(bucket)!.status = status;
  }

  private async put(bucket: string, key: string): Promise<void> {
    const data = this.rng.bytes(this.rng.pick([0, 1, 100, 5000, 70_000]));
    let lock: { mode?: 'GOVERNANCE' | 'COMPLIANCE'; retainUntilMs?: number; legalHold?: boolean } | undefined;
    if (bucket === 'vault' && this.rng.bool(0.7)) {
      lock = this.rng.bool(0.7) ? { mode: this.rng.pick(['GOVERNANCE', 'COMPLIANCE'] as const), retainUntilMs: this.now + this.rng.int(1, 60_000) } : {};
      if (this.rng.bool(0.3)) lock.legalHold = true;
    }
    const info = await this.e.putObject(bucket, key, data, { lock });
    const m = this.model.get(bucket)!;
    const list = m.keys.get(key) ?? [];
    const id = m.status === 'Enabled' ? info.versionId : 'null';
    this.note(`put ${bucket}/${key} ${data.length}B → ${id}`);
    if (m.status === 'Enabled') expect(info.versionId, this.where('an enabled bucket gives version ids')).not.toBe('');
    else expect(info.versionId, this.where('null version')).toBe('');
    m.keys.set(key, [{ id, marker: false, data, mode: lock?.mode, retainUntilMs: lock?.retainUntilMs, hold: lock?.legalHold }, ...list.filter((v) => v.id !== id)]);
  }

  private async del(bucket: string, key: string): Promise<void> {
    const m = this.model.get(bucket)!;
    const r = await this.e.deleteObject(bucket, key);
    this.note(`delete ${bucket}/${key} → ${r.versionId ?? '-'}${r.deleteMarker ? ' marker' : ''}`);
    const list = m.keys.get(key) ?? [];
    if (m.status === 'Unversioned') {
      expect(r.deleteMarker, this.where()).toBeFalsy();
      m.keys.delete(key);
      return;
    }
    expect(r.deleteMarker, this.where('a versioned delete adds a marker')).toBe(true);
    const id = m.status === 'Enabled' ? (r.versionId as string) : 'null';
    expect(r.versionId, this.where()).toBe(id);
    m.keys.set(key, [{ id, marker: true }, ...list.filter((v) => v.id !== id)]);
  }

  private async delVersion(bucket: string, key: string): Promise<void> {
    const m = this.model.get(bucket)!;
    const list = m.keys.get(key) ?? [];
    const id = list.length > 0 && this.rng.bool(0.85) ? this.rng.pick(list).id : this.rng.pick(['null', '0000000000999999']);
    const bypass = this.rng.bool(0.5);
    const had = list.find((v) => v.id === id);
    const locked = had !== undefined && (had.hold === true || (had.retainUntilMs !== undefined && had.retainUntilMs > this.now && (had.mode === 'COMPLIANCE' || !bypass)));
    let r;
    try {
      r = await this.e.deleteObject(bucket, key, { versionId: id, bypassGovernance: bypass });
    } catch (err) {
      this.note(`delete version ${bucket}/${key} ${id} bypass=${bypass} → ${errorCode(err)}`);
      expect(errorCode(err), this.where(`delete of ${id}`)).toBe(locked ? 'SEDIMENT_OBJECT_LOCKED' : 'no error');
      return;
    }
    this.note(`delete version ${bucket}/${key} ${id} → existed ${r.existed}`);
    expect(locked, this.where(`locked version ${id} was deleted`)).toBe(false);
    expect(r.existed, this.where(`existed of ${id}`)).toBe(had !== undefined);
    if (had) expect(r.deleteMarker === true, this.where()).toBe(had.marker);
    const rest = list.filter((v) => v.id !== id);
    if (rest.length === 0) m.keys.delete(key);
    else m.keys.set(key, rest);
  }

  private async current(bucket: string, key: string): Promise<Buffer | string> {
    try {
      return await readAll((await this.e.getObject(bucket, key)).body);
    } catch (err) {
      return errorCode(err) ?? String(err);
    }
  }

  private async checkKey(bucket: string, key: string): Promise<void> {
    const list = this.model.get(bucket)!.keys.get(key) ?? [];
    const got = await this.current(bucket, key);
    const head = list[0];
    if (!head || head.marker) expect(got, this.where(`${bucket}/${key} has no current object`)).toBe('SEDIMENT_NO_SUCH_KEY');
    else expect(Buffer.isBuffer(got) && got.equals(head.data!), this.where(`current bytes of ${bucket}/${key}`)).toBe(true);
    for (const v of list) {
      let res: Buffer | string;
      try {
        res = await readAll((await this.e.getObject(bucket, key, { versionId: v.id })).body);
      } catch (err) {
        res = errorCode(err) ?? String(err);
      }
      if (v.marker) expect(res, this.where(`GET of marker ${v.id}`)).toBe('SEDIMENT_DELETE_MARKER');
      else expect(Buffer.isBuffer(res) && res.equals(v.data!), this.where(`bytes of ${bucket}/${key} version ${v.id}`)).toBe(true);
    }
  }

  private expectedVersions(bucket: string, prefix: string, delimiter: string): Array<string> {
    const out: string[] = [];
    const seen = new Set<string>();
    const keys = [...this.model.get(bucket)!.keys.keys()].filter((k) => k.startsWith(prefix)).sort(compareUtf8);
    for (const k of keys) {
      const at = delimiter === '' ? -1 : k.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const cp = k.slice(0, at + delimiter.length);
        if (!seen.has(cp)) out.push(`P ${cp}`);
        seen.add(cp);
        continue;
      }
      this.model.get(bucket)!.keys.get(k)!.forEach((v, i) => out.push(`${k} ${v.id}${v.marker ? ' M' : ''}${i === 0 ? ' L' : ''}`));
    }
    return out;
  }

  private checkList(bucket: string): void {
    const prefix = this.rng.pick(['', '', 'a', 'k/', 'é']);
    const delimiter = this.rng.pick(['', '', '/']);
    const maxKeys = this.rng.pick([1, 2, 3, 1000]);
    const got: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (let pages = 0; ; pages++) {
      expect(pages, this.where('listing does not end')).toBeLessThan(10_000);
      const r = this.e.listObjectVersions(bucket, { prefix, delimiter, maxKeys, keyMarker, versionIdMarker });
      for (const v of r.versions) got.push(`${v.key} ${v.versionId}${v.isDeleteMarker ? ' M' : ''}${v.isLatest ? ' L' : ''}`);
      for (const p of r.commonPrefixes) got.push(`P ${p}`);
      if (!r.isTruncated) break;
      keyMarker = r.nextKeyMarker;
      versionIdMarker = r.nextVersionIdMarker;
    }
    // A page holds versions and common prefixes in separate lists: compare each in order.
    const split = (xs: string[]): [string[], string[]] => [xs.filter((x) => !x.startsWith('P ')), xs.filter((x) => x.startsWith('P '))];
    expect(split(got), this.where(`ListObjectVersions ${bucket} prefix=${prefix} delimiter=${delimiter} max=${maxKeys}`)).toEqual(split(this.expectedVersions(bucket, prefix, delimiter)));
  }

  private async checkAll(when: string): Promise<void> {
    this.note(`check ${when}`);
    for (const b of BUCKETS) {
      for (const k of this.keys) await this.checkKey(b, k);
      this.checkList(b);
      expect(this.e.getBucketVersioning(b), this.where(`versioning of ${b}`)).toBe(this.model.get(b)!.status);
    }
  }
}

describe('versions vs model', () => {
  it('random versioned operations with compaction, checkpoints, reopens and crashes', async () => {
    const runs = SOAK ? 20 : 3;
    const base = testSeed();
    for (let i = 0; i < runs; i++) await new VersionsRun(base + i, SOAK ? 1500 : 250).run();
  }, 120_000);
});
