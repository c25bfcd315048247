// Child process for test/migration-crash-process.test.ts: the crash-writer protocol ("ready",
// "start <key> <md5|-> <size>", "ack <key> <md5|->") with puts, overwrites and deletes racing cold-tier
// migration passes (a lifecycle day of 1 ms: everything is due at once) and compaction passes, all back to
// back with recompression and copies in piscina workers, until it is SIGKILLed. Each migration pass that
// moved objects prints "migrated <objects> <coldSegments>".
//
// usage: node test/helpers/crash-migrator.mjs DIR SEED
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';

const { Engine, Compactor, MaintenancePool, Migrator, LocalDirColdStore, RealFileSystem } = await import(new URL('../../dist/src/index.js', import.meta.url).href);
const { fillLogText } = await import(new URL('../../dist/src/loadgen/log-text.js', import.meta.url).href);

const [dir, seedArg] = process.argv.slice(2);
let state = Number(seedArg) >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const CHUNK = 64 << 10;
const KEYS = 60;
const CONCURRENCY = 3;

const pause = new Int32Array(new SharedArrayBuffer(4));
function line(s) {
  const b = Buffer.from(s + '\n');
  for (let at = 0; at < b.length; ) {
    try {
      at += writeSync(1, b, at);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function size() {
  const r = rand();
  if (r < 0.7) return int(0, 12_000);
  return int(1, 3) * CHUNK + int(-1, 1);
}

const fs = new RealFileSystem();
const cold = await LocalDirColdStore.open(fs, `${dir}/cold`);
const engine = await Engine.open({ dir, fs, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, segmentRecordsMax: int(20, 200), checkpointEveryOps: int(30, 300), coldStore: cold, onWarning: () => undefined });
try {
  await engine.createBucket('crash');
  await engine.setBucketLifecycle('crash', { rules: [{ id: 'cold', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
} catch (err) {
  if (err.code !== 'SEDIMENT_BUCKET_EXISTS') throw err;
}
const pool = new MaintenancePool(fs, 1);
const migrator = new Migrator(engine.coldAccess(), cold, pool, { batchBytesMax: int(4096, 256 << 10), deadShareMax: 0.3, level: int(3, 12) });
const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0, batchBytes: int(4096, 1 << 20), deadShareMin: 0.2 });
line('ready');

const busy = new Set();
async function writer() {
  for (;;) {
    let key;
    do key = `k${String(int(0, KEYS - 1)).padStart(3, '0')}`;
    while (busy.has(key));
    busy.add(key);
    if (rand() < 0.3) {
      line(`start ${key} - 0`);
      await engine.deleteObject('crash', key);
      line(`ack ${key} -`);
    } else {
      const data = fillLogText(Buffer.alloc(size()), int(0, 2 ** 30));
      const md5 = createHash('md5').update(data).digest('hex');
      line(`start ${key} ${md5} ${data.length}`);
      await engine.putObject('crash', key, data);
      line(`ack ${key} ${md5}`);
    }
    busy.delete(key);
    await new Promise((r) => setTimeout(r, int(0, 5)));
  }
}

async function migrateLoop() {
  for (;;) {
    const r = await migrator.runPass({ dayMs: 1 });
    if (r.objectsMoved > 0) line(`migrated ${r.objectsMoved} ${r.coldSegmentsWritten}`);
    if (rand() < 0.5) await compactor.runPass({ sealFirst: rand() < 0.5 });
    await new Promise((r) => setTimeout(r, int(0, 20)));
  }
}

await Promise.all([...Array.from({ length: CONCURRENCY }, writer), migrateLoop()]);
