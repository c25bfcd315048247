// Child process for test/compaction-crash-process.test.ts: like crash-writer.mjs (same stdout protocol:
// "ready", "start <key> <md5|-> <size>", "ack <key> <md5|->"), but with many deletes and overwrites
// and compaction passes running back to back in piscina worker threads until it is SIGKILLed. Each pass
// that installed a pack prints "pass <packsWritten> <segmentsCompacted>".
//
// usage: node test/helpers/crash-compactor.mjs DIR SEED
import { randomBytes } from 'node:crypto';
import { crashBucket, line, seeded, writerLoop } from './crash-protocol.mjs';

const { Engine, Compactor, MaintenancePool, RealFileSystem } = await import(new URL('../../dist/src/index.js', import.meta.url).href);

const [dir, seedArg] = process.argv.slice(2);
const { rand, int } = seeded(seedArg);

const CHUNK = 64 << 10;
const KEYS = 80;
const CONCURRENCY = 4;

function body(size) {
  if (rand() < 0.6) return randomBytes(size);
  return Buffer.alloc(size, int(0, 255));
}

function size() {
  const r = rand();
  if (r < 0.6) return int(0, 8192);
  return int(1, 4) * CHUNK + int(-1, 1);
}

const fs = new RealFileSystem();
const engine = await Engine.open({ dir, fs, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, segmentRecordsMax: int(20, 200), checkpointEveryOps: int(30, 300), onWarning: () => undefined });
await crashBucket(engine);
const pool = new MaintenancePool(fs, 1);
const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0, batchBytes: int(4096, 1 << 20), deadShareMin: 0.2 });
line('ready');

async function compactLoop() {
  for (;;) {
    const st = await compactor.runPass({ sealFirst: rand() < 0.5 });
    if (st.packsWritten > 0 || st.segmentsCompacted > 0) line(`pass ${st.packsWritten} ${st.segmentsCompacted}`);
    await new Promise((r) => setTimeout(r, int(0, 20)));
  }
}

const busy = new Set();
const writer = () => writerLoop({ engine, rand, int, keys: KEYS, deleteShare: 0.35, body: () => body(size()) }, busy);
await Promise.all([...Array.from({ length: CONCURRENCY }, writer), compactLoop()]);
