// Child process for test/migration-crash-process.test.ts: the crash-writer protocol ("ready",
// "start <key> <md5|-> <size>", "ack <key> <md5|->") with puts, overwrites and deletes racing cold-tier
// migration passes (a lifecycle day of 1 ms: everything is due at once) and compaction passes, all back to
// back with recompression and copies in piscina workers, until it is SIGKILLed. Each migration pass that
// moved objects prints "migrated <objects> <coldSegments>".
//
// usage: node test/helpers/crash-migrator.mjs DIR SEED
import { crashBucket, line, seeded, writerLoop } from './crash-protocol.mjs';

const { Engine, Compactor, MaintenancePool, Migrator, LocalDirColdStore, RealFileSystem } = await import(new URL('../../dist/src/index.js', import.meta.url).href);
const { fillLogText } = await import(new URL('../../dist/src/loadgen/log-text.js', import.meta.url).href);

const [dir, seedArg] = process.argv.slice(2);
const { rand, int } = seeded(seedArg);

const CHUNK = 64 << 10;
const KEYS = 60;
const CONCURRENCY = 3;

function size() {
  const r = rand();
  if (r < 0.7) return int(0, 12_000);
  return int(1, 3) * CHUNK + int(-1, 1);
}

const fs = new RealFileSystem();
const cold = await LocalDirColdStore.open(fs, `${dir}/cold`);
const engine = await Engine.open({ dir, fs, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, segmentRecordsMax: int(20, 200), checkpointEveryOps: int(30, 300), coldStore: cold, onWarning: () => undefined });
await crashBucket(engine, () =>
  engine.setBucketLifecycle('crash', { rules: [{ id: 'cold', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] }),
);
const pool = new MaintenancePool(fs, 1);
const migrator = new Migrator(engine.coldAccess(), cold, pool, { batchBytesMax: int(4096, 256 << 10), deadShareMax: 0.3, level: int(3, 12) });
const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0, batchBytes: int(4096, 1 << 20), deadShareMin: 0.2 });
line('ready');

async function migrateLoop() {
  for (;;) {
    const r = await migrator.runPass({ dayMs: 1 });
    if (r.objectsMoved > 0) line(`migrated ${r.objectsMoved} ${r.coldSegmentsWritten}`);
    if (rand() < 0.5) await compactor.runPass({ sealFirst: rand() < 0.5 });
    await new Promise((r) => setTimeout(r, int(0, 20)));
  }
}

const busy = new Set();
const writer = () =>
  writerLoop({ engine, rand, int, keys: KEYS, deleteShare: 0.3, body: () => fillLogText(Buffer.alloc(size()), int(0, 2 ** 30)), pauseMs: () => int(0, 5) }, busy);
await Promise.all([...Array.from({ length: CONCURRENCY }, writer), migrateLoop()]);
