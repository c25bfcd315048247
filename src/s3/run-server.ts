// `sediment serve`: open the engine on a data directory, load or create credentials, listen, and stop
// gracefully on SIGINT/SIGTERM (stop accepting, let in-flight requests finish, close the engine, which
// drains writes, checkpoints and releases the directory lock).
import { Engine } from '../engine/engine.js';
import { BackgroundMaintenance, type BackgroundSettings } from '../maintenance/background.js';
import type { Durability } from '../engine/segment-writer.js';
import { startLifecycleSchedule } from '../maintenance/lifecycle-schedule.js';
import { loadCredentials } from './credentials.js';
import { createS3Server, type LogLevel } from './server.js';
import { openColdStore, type ColdSpec } from './cold-config.js';
import { MaintenancePool } from '../maintenance/maintenance-pool.js';
import { Migrator } from '../maintenance/migration.js';
import { RealFileSystem } from '../io/real-fs.js';
import { startColdScrubSchedule, type ColdScrubSchedule } from '../maintenance/cold-scrub.js';
import type { MetricSample } from './metrics.js';

export interface RunServerOptions {
  dataDir: string;
  host: string;
  port: number;
  region: string;
  durability?: Durability;
  logLevel?: LogLevel;
  /** No per-request log lines (same as logLevel 'warn'). */
  quiet?: boolean;
  /** Segment size for new segments. */
  segmentBytesMax?: number;
  /** Background compaction and scrub (docs/OPERATIONS.md); undefined: the defaults. */
  maintenance?: BackgroundSettings;
  /** Run the lifecycle pass this often (default 1 hour; 0 = never). */
  lifecycleEveryMs?: number;
  /** Length of a lifecycle day (tests only; default 24 hours). */
  lifecycleDayMs?: number;
  /** Cold store location (default DATA/cold; see cold-config.ts). */
  cold?: ColdSpec;
  /** zstd level of cold chunks (default 12). */
  coldLevel?: number;
  /** zstd dictionaries for buckets of small objects (EngineOptions.smallObjectDictionaries; default true). */
  dictionaries?: boolean;
  /**
   * Read the whole cold tier back this often (0 = never). Default: 7 days for a local cold directory, never
   * for an S3 cold store (reading it all costs requests and transfer there: opt in).
   */
  coldScrubEveryMs?: number;
  /** Cold scrub throttle, raw bytes per second (default 8 MiB/s). */
  coldScrubBytesPerSecMax?: number;
  /** Domains for virtual-hosted-style requests (`BUCKET.DOMAIN`; S3ServerOptions.domains). */
  domains?: string[];
  /** Open connections at most (S3ServerOptions.connectionsMax). */
  connectionsMax?: number;
}

export const COLD_SCRUB_EVERY_MS_LOCAL = 7 * 86_400_000;
export const COLD_SCRUB_BYTES_PER_SEC = 8 << 20;

export async function runServer(opts: RunServerOptions): Promise<void> {
  const cold = await openColdStore(new RealFileSystem(), opts.dataDir, opts.cold ?? {});
  // Small chunks go to the workers, batched: this main thread also runs HTTP (docs/PERFORMANCE.md, "Small chunks: inline or batched").
  const engine = await Engine.open({ dir: opts.dataDir, durability: opts.durability, defaultRegion: opts.region, segmentBytesMax: opts.segmentBytesMax, coldStore: cold.store, batchSmallChunks: true, smallObjectDictionaries: opts.dictionaries });
  let creds;
  try {
    creds = await loadCredentials(engine.fs, engine.dir, process.env);
    await engine.startWorkers(); // before listening: the first requests must not wait for thread start-up
  } catch (err) {
    await engine.close();
    throw err;
  }
  // The background work is started after the server listens; its last passes are read at each scrape.
  let background: BackgroundMaintenance | undefined;
  let coldScrub: ColdScrubSchedule | undefined;
  const maintenanceMetrics = (): MetricSample[] => {
    const out: MetricSample[] = [];
    const at = (ms: number | undefined): number => (ms === undefined ? 0 : Math.floor(ms / 1000));
    const pass = background?.compactor.lastPass;
    out.push({ name: 'sediment_compaction_last_pass_timestamp_seconds', help: 'Start of the last compaction pass since the server started, Unix seconds (0: none).', type: 'gauge', value: at(pass?.startedMs) });
    out.push({ name: 'sediment_compaction_last_reclaimed_bytes', help: 'Bytes the last compaction pass reclaimed.', type: 'gauge', value: pass?.bytesReclaimed ?? 0 });
    const scrub = background?.scrubber.lastReport;
    out.push({ name: 'sediment_scrub_last_timestamp_seconds', help: 'Start of the last background scrub since the server started, Unix seconds (0: none).', type: 'gauge', value: at(scrub?.startedMs) });
    out.push({ name: 'sediment_scrub_last_damage', help: 'Damaged regions the last background scrub found.', type: 'gauge', value: scrub?.damage.length ?? 0 });
    const cold = coldScrub?.last;
    out.push({ name: 'sediment_cold_scrub_last_timestamp_seconds', help: 'Start of the last cold scrub since the server started, Unix seconds (0: none).', type: 'gauge', value: at(cold?.startedMs) });
    out.push({ name: 'sediment_cold_scrub_last_damage', help: 'Cold objects the last cold scrub could not read correctly.', type: 'gauge', value: cold?.damageCount ?? 0 });
    out.push({ name: 'sediment_cold_scrub_last_failed', help: '1 if the last cold scrub failed (e.g. the cold store was unreachable).', type: 'gauge', value: cold?.error !== undefined ? 1 : 0 });
    return out;
  };
  const s3 = createS3Server({
    engine,
    region: opts.region,
    credentials: [creds],
    logLevel: opts.logLevel ?? (opts.quiet ? 'warn' : 'info'),
    domains: opts.domains,
    connectionsMax: opts.connectionsMax,
    metricsExtra: maintenanceMetrics,
  });
  await new Promise<void>((resolve, reject) => {
    s3.server.once('error', reject);
    s3.server.listen(opts.port, opts.host, () => {
      s3.server.off('error', reject);
      resolve();
    });
  }).catch(async (err) => {
    await engine.close();
    throw err;
  });
  const lifecycleEveryMs = opts.lifecycleEveryMs ?? 3_600_000;
  const migrationPool = new MaintenancePool(engine.fs, 1);
  const migrator = new Migrator(engine.coldAccess(), cold.store, migrationPool, { level: opts.coldLevel });
  const lifecycle =
    lifecycleEveryMs > 0
      ? startLifecycleSchedule(engine, { everyMs: lifecycleEveryMs, dayMs: opts.lifecycleDayMs, migrator, log: (l) => process.stdout.write(`sediment: ${l}\n`) })
      : undefined;
  const coldScrubEveryMs = opts.coldScrubEveryMs ?? (cold.remote ? 0 : COLD_SCRUB_EVERY_MS_LOCAL);
  coldScrub =
    coldScrubEveryMs > 0
      ? startColdScrubSchedule(engine.coldAccess(), { everyMs: coldScrubEveryMs, bytesPerSecMax: opts.coldScrubBytesPerSecMax ?? COLD_SCRUB_BYTES_PER_SEC, log: (l) => process.stdout.write(`sediment: ${l}\n`) })
      : undefined;
  const addr = s3.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const out = (s: string): boolean => process.stdout.write(s + '\n');
  // The signal handlers go in before the banner: a client (or a test) that reads the banner and sends
  // SIGINT at once must get the graceful stop, not the default action of a signal with no handler.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      out(`sediment: ${signal}: finishing ${s3.inflight} in-flight request(s), then closing`);
      void s3
        .shutdown()
        .then(() => lifecycle?.stop())
        .then(() => coldScrub?.stop())
        .then(() => migrator.stop())
        .then(() => migrationPool.close())
        .then(() => background?.stop())
        .then(() => engine.close())
        .then(() => cold.close())
        .then(
          () => {
            out('sediment: stopped cleanly');
            resolve();
          },
          (err) => {
            process.stderr.write(`sediment: error while closing: ${(err as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          },
        );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  out(`sediment: serving S3 on http://${opts.host}:${port} (region ${opts.region}, data ${opts.dataDir}, durability ${engine.durability})`);
  out(`sediment: cold tier: ${cold.store.description}`);
  if (opts.domains && opts.domains.length > 0) out(`sediment: virtual-hosted-style requests for BUCKET.${opts.domains.join(', BUCKET.')}; path style everywhere`);
  if (creds.source === 'generated') {
    out(`sediment: generated credentials (stored in ${creds.path}, mode 0600):`);
    out(`  AWS_ACCESS_KEY_ID=${creds.accessKeyId}`);
    out(`  AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`);
  } else if (creds.source === 'file') {
    out(`sediment: credentials from ${creds.path} (access key ${creds.accessKeyId})`);
  } else {
    out(`sediment: credentials from SEDIMENT_ACCESS_KEY / SEDIMENT_SECRET_KEY (access key ${creds.accessKeyId})`);
  }

  background = new BackgroundMaintenance(engine, { ...opts.maintenance, log: (l) => out(`sediment: ${l}`) });
  background.start();
  await stopped;
}
