// Engine bench (g), issue 5: log retention with a cold tier. On one fresh directory with an injected clock:
// `days` simulated days of log-like objects (each one distinct text: loadgen/log-text.ts, no repeated
// content the cold dictionary could feed on), a lifecycle configuration with a 1-day Transition to
// GLACIER_IR and a 7-day Expiration, and at the end of every day one lifecycle pass and one migration pass
// (as `sediment serve` runs them), then one compaction pass that drops the hot segments migration and
// expiry emptied. Measured: stored bytes hot vs cold vs logical, the cold/hot size ratio of the migrated
// data (hot CHUNK frame bytes read / cold segment bytes written; acceptance ≥ 1.3), migration MB/s
// (logical), cold GET latency from the local-directory store and from s3rver (when installed), and the
// bytes expiry wrote. Everything kept must read back exactly, nothing expired may be readable.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Compactor, Engine, LocalDirColdStore, MaintenancePool, Migrator, RealFileSystem, takeCensus, type MigrationReport } from '../src/index.js';
import { DAY_MS, dueAt } from '../src/engine/lifecycle.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { S3ColdStore } from '../src/s3/cold-store-s3.js';
import type { ColdStore } from '../src/tier/cold-store.js';
import { BUCKET, engineOptions, settleDisk, type EngineBenchSizes, type ResultRow } from './engine-common.js';
import { fmt, forEachConcurrent, MiB, removeDir, scratchDir } from './setup.js';

const RETENTION_DAYS = 7;
const TRANSITION_DAYS = 1;
const GET_SAMPLES = 200;

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function coldGetLatency(engine: Engine, keys: string[]): Promise<{ p50: number; p99: number; n: number }> {
  const ms: number[] = [];
  for (let i = 0; i < Math.min(GET_SAMPLES, keys.length); i++) {
    const key = keys[(i * 7919) % keys.length]!;
    const t = performance.now();
    for await (const _ of (await engine.getObject(BUCKET, key)).body) void _;
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), n: ms.length };
}

async function coldBytes(store: ColdStore): Promise<number> {
  return (await store.list()).filter((b) => b.name.endsWith('.cold')).reduce((n, b) => n + b.size, 0);
}

export async function benchRetention(s: EngineBenchSizes, rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const days = s.retentionDays;
  const perDay = s.retentionObjectsPerDay;
  const bytes = s.retentionObjectBytes;
  const t0 = Date.UTC(2026, 0, 1, 0, 30);
  let now = t0;
  const dir = await scratchDir('retention');
  const fs = new RealFileSystem();
  const cold = await LocalDirColdStore.open(fs, path.join(dir, 'cold-tier'));
  const md5 = new Map<string, { sum: string; day: number }>();
  const passes: MigrationReport[] = [];
  let lifecycleWrittenBytes = 0;
  let logicalIngested = 0;
  try {
    let engine = await Engine.open(engineOptions(path.join(dir, 'data'), { segmentBytesMax: s.retentionSegmentBytes, clock: { now: () => now }, coldStore: cold }));
    const pool = new MaintenancePool(fs, 1);
    try {
      await engine.createBucket(BUCKET);
      await engine.setBucketLifecycle(BUCKET, {
        rules: [{ id: 'retention', enabled: true, filter: { prefix: 'logs/' }, transitions: [{ days: TRANSITION_DAYS, storageClass: 'GLACIER_IR' }], expiration: { days: RETENTION_DAYS } }],
      });
      const migrator = new Migrator(engine.coldAccess(), cold, pool);
      for (let d = 0; d < days; d++) {
        now = t0 + d * DAY_MS;
        await forEachConcurrent(perDay, 8, async (i) => {
          const key = `logs/day-${String(d).padStart(3, '0')}/host-${String(i % 16).padStart(2, '0')}/${String(i).padStart(5, '0')}.log`;
          const body = fillLogText(Buffer.alloc(bytes), d * 100_003 + i);
          md5.set(key, { sum: createHash('md5').update(body).digest('hex'), day: d });
          logicalIngested += body.length;
          await engine.putObject(BUCKET, key, body);
        });
        now = t0 + (d + 1) * DAY_MS - 60_000; // end of the day: the scheduled passes
        const before = engine.stats().storedBytes;
        await engine.runLifecycle();
        lifecycleWrittenBytes += engine.stats().storedBytes - before;
        passes.push(await migrator.runPass());
      }
      await engine.sealActiveSegment();
      const beforeCompaction = await takeCensus(engine.maintenance(), { includeActive: true });
      const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0 });
      const cp = await compactor.runPass({ sealFirst: true });
      settleDisk();
      const after = await takeCensus(engine.maintenance(), { includeActive: true });
      const stats = engine.stats();
      const coldStored = await coldBytes(cold);

      // Correctness: kept objects read back (hot or cold), expired ones are gone.
      const coldKeys: string[] = [];
      let kept = 0;
      for (const [key, { sum, day }] of md5) {
        const expired = now >= dueAt({ days: RETENTION_DAYS }, t0 + day * DAY_MS, DAY_MS);
        let got: string | undefined;
        try {
          const h = createHash('md5');
          const r = await engine.getObject(BUCKET, key);
          for await (const p of r.body) h.update(p as Buffer);
          got = h.digest('hex');
          if (r.info.storageClass === 'COLD') coldKeys.push(key);
        } catch {
          got = undefined;
        }
        if (got !== undefined && got !== sum) throw new Error(`retention bench: ${key} reads back wrong`);
        if (got === undefined && !expired) throw new Error(`retention bench: ${key} (day ${day}) is missing`);
        if (got !== undefined && expired) throw new Error(`retention bench: ${key} (day ${day}) expired but is still readable`);
        if (got !== undefined) kept++;
      }
      const moved = passes.reduce((a, p) => ({ hot: a.hot + p.hotBytes, cold: a.cold + p.coldBytes, logical: a.logical + p.logicalBytes, ms: a.ms + p.elapsedMs, objects: a.objects + p.objectsMoved }), { hot: 0, cold: 0, logical: 0, ms: 0, objects: 0 });
      const local = await coldGetLatency(engine, coldKeys);

      // The same cold segments served from an S3 store (s3rver on 127.0.0.1), if it is installed.
      let s3: { p50: number; p99: number; n: number } | undefined;
      let s3Note = 's3rver not installed: skipped';
      let s3rver: S3rverInstance | undefined;
      try {
        const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
        s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(dir, 's3rver'), configureBuckets: [{ name: 'cold' }] });
        const port = (await s3rver.run()).port;
        const remote = new S3ColdStore({ endpoint: `http://127.0.0.1:${port}`, bucket: 'cold', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
        for (const b of await cold.list()) await remote.put(b.name, await cold.readRange(b.name, 0, b.size));
        await engine.close();
        engine = await Engine.open(engineOptions(path.join(dir, 'data'), { clock: { now: () => now }, coldStore: remote }));
        s3 = await coldGetLatency(engine, coldKeys);
        s3Note = `s3rver ${fmt(s3.n)} GETs`;
        remote.close();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') s3Note = `s3rver run failed: ${(err as Error).message}`;
      } finally {
        await s3rver?.close().catch(() => undefined);
      }

      const ratio = moved.hot / moved.cold;
      rows.push({
        id: 'g1', bench: `(g) cold/hot size ratio of migrated log data (${days} days × ${perDay} × ${bytes / 1024} KiB distinct log text; hot zstd 1, cold zstd 12 + segment dictionary)`,
        sediment: ratio, unit: '×', target: '≥ 1.3', pass: ratio >= 1.3,
        note: `${fmt(moved.objects)} objects moved: ${fmt(moved.hot / 1e6, 2)} MB of hot chunk frames → ${fmt(moved.cold / 1e6, 2)} MB of cold segments (${fmt(moved.logical / 1e6, 1)} MB logical)`,
      });
      rows.push({
        id: 'g2', bench: '(g) stored bytes at the end, hot + cold', sediment: (after.storedBytes + coldStored) / 1e3, unit: 'kB',
        note: `hot ${fmt(after.storedBytes / 1e6, 2)} MB (${stats.tiers.hot.objects} objects, ${fmt(stats.tiers.hot.logicalBytes / 1e6, 1)} MB logical), cold ${fmt(coldStored / 1e6, 2)} MB (${stats.tiers.cold.objects} objects, ${fmt(stats.tiers.cold.logicalBytes / 1e6, 1)} MB logical); ingested ${fmt(logicalIngested / 1e6, 1)} MB logical`,
      });
      rows.push({
        id: 'g3', bench: '(g) migration throughput (logical MB/s, 1 worker thread)', sediment: moved.logical / 1e6 / (moved.ms / 1000), unit: 'MB/s',
        note: `${passes.length} daily passes, ${fmt(moved.ms / 1000, 2)} s in total`,
      });
      rows.push({
        id: 'g4', bench: `(g) cold GET latency, whole ${bytes / 1024} KiB object, local directory store (p50)`, sediment: local.p50 * 1000, unit: 'µs',
        note: `p99 ${fmt(local.p99, 2)} ms over ${local.n} GETs`,
      });
      if (s3) rows.push({ id: 'g5', bench: `(g) cold GET latency, S3 store on 127.0.0.1 (s3rver) (p50)`, sediment: s3.p50 * 1000, unit: 'µs', note: `p99 ${fmt(s3.p99, 2)} ms; ${s3Note}` });
      const expiryWritten = lifecycleWrittenBytes + cp.bytesWritten;
      const freed = beforeCompaction.storedBytes - after.storedBytes;
      rows.push({
        id: 'g6', bench: '(g) bytes written by expiry and the final compaction / hot bytes they freed', sediment: freed > 0 ? (100 * expiryWritten) / freed : NaN, unit: '%',
        note: `DELETE records ${fmt(lifecycleWrittenBytes / 1e3, 1)} kB + packs ${fmt(cp.bytesWritten / 1e3, 1)} kB; freed ${fmt(freed / 1e6, 2)} MB hot; cold segments deleted whole ${passes.reduce((n, p) => n + p.coldSegmentsDeleted, 0)}, rewritten ${passes.reduce((n, p) => n + p.coldSegmentsRewritten, 0)}${s3 ? '' : `; ${s3Note}`}`,
      });
      extra.retention = { passes: passes.length, moved, coldStored, hotStored: after.storedBytes, compaction: cp, kept, local, s3 };
    } finally {
      await engine.close();
      await pool.close();
    }
  } finally {
    await removeDir(dir);
    settleDisk();
  }
  void MiB;
}
