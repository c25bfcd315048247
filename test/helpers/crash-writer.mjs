// Child process for test/engine-crash-process.test.ts: opens the COMPILED engine (dist/, built by tsc
// before the suite runs) on a data directory and writes until it is SIGKILLed. One stdout line per
// event, written synchronously (stdout is a pipe) so a line exists before the event it announces:
//   ready                         the directory is open (the lock is held)
//   start <key> <md5|-> <size>    a put (md5 of its bytes) or a delete (-) of <key> begins
//   ack <key> <md5|->             it resolved: the engine promised durability
// Operations on one key never overlap, so at a kill each key has at most one unacknowledged operation.
//
// usage: node test/helpers/crash-writer.mjs DIR SEED
import { createHash, randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';

const { Engine } = await import(new URL('../../dist/src/index.js', import.meta.url).href);

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
const KEYS = 120;
const CONCURRENCY = 8;

function line(s) {
  writeSync(1, s + '\n');
}

function body(size) {
  if (rand() < 0.5) return randomBytes(size);
  const text = Buffer.from(`${new Date(0).toISOString()} level=info msg="request served" id=${int(0, 1e6)}\n`);
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += text.length) text.copy(out, at, 0, Math.min(text.length, size - at));
  return out;
}

function size() {
  const r = rand();
  if (r < 0.3) return int(0, 4096);
  if (r < 0.7) return int(1, 8) * CHUNK + int(-1, 1);
  return int(0, 2 << 20);
}

const engine = await Engine.open({ dir, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, checkpointEveryOps: 40, onWarning: () => undefined });
try {
  await engine.createBucket('crash');
} catch (err) {
  if (err.code !== 'SEDIMENT_BUCKET_EXISTS') throw err;
}
line('ready');

const busy = new Set();
async function worker() {
  for (;;) {
    let key;
    do key = `k${String(int(0, KEYS - 1)).padStart(3, '0')}`;
    while (busy.has(key));
    busy.add(key);
    if (rand() < 0.15) {
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

await Promise.all(Array.from({ length: CONCURRENCY }, worker));
