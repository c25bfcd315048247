// Child process for test/compaction-crash-process.test.ts: like crash-writer.mjs (same stdout protocol:
// "ready", "start <key> <md5|-> <size>", "ack <key> <md5|->"), but with many deletes and overwrites
// and compaction passes running back to back in piscina worker threads until it is SIGKILLed. Each pass
// that installed a pack prints "pass <packsWritten> <segmentsCompacted>".
//
// usage: node test/helpers/crash-compactor.mjs DIR SEED
import { createHash, randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';

const { Engine, Compactor, MaintenancePool, RealFileSystem } = await import(new URL('../../dist/src/index.js', import.meta.url).href);

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
const KEYS = 80;
const CONCURRENCY = 4;

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Whole line or nothing before the next event; a full pipe (EAGAIN, the parent is slow) is waited out. */
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
try {
  await engine.createBucket('crash');
} catch (err) {
  if (err.code !== 'SEDIMENT_BUCKET_EXISTS') throw err;
}
const pool = new MaintenancePool(fs, 1);
const compactor = new Compactor(engine.maintenance(), pool, { freeBytesReserve: 0, batchBytes: int(4096, 1 << 20), deadShareMin: 0.2 });
line('ready');

const busy = new Set();
async function writer() {
  for (;;) {
    let key;
    do key = `k${String(int(0, KEYS - 1)).padStart(3, '0')}`;
    while (busy.has(key));
    busy.add(key);
    if (rand() < 0.35) {
      line(`start ${key} - 0`);
      await engine.deleteObject('crash', key);
      line(`ack ${key} -`);
    } else {
      const data = body(size());
      const md5 = createHash('md5').update(data).digest('hex');
      line(`start ${key} ${md5} ${data.length}`);
      await engine.putObject('crash', key, data);
      line(`ack ${key} ${md5}`);
    }
    busy.delete(key);
  }
}

async function compactLoop() {
  for (;;) {
    const st = await compactor.runPass({ sealFirst: rand() < 0.5 });
    if (st.packsWritten > 0 || st.segmentsCompacted > 0) line(`pass ${st.packsWritten} ${st.segmentsCompacted}`);
    await new Promise((r) => setTimeout(r, int(0, 20)));
  }
}

await Promise.all([...Array.from({ length: CONCURRENCY }, writer), compactLoop()]);
