// Child process for test/engine-crash-process.test.ts: opens the COMPILED engine (dist/, built by tsc
// before the suite runs) on a data directory and writes until it is SIGKILLed, announcing every operation
// on stdout (the protocol of crash-protocol.mjs).
//
// usage: node test/helpers/crash-writer.mjs DIR SEED
import { randomBytes } from 'node:crypto';
import { crashBucket, line, seeded, writerLoop } from './crash-protocol.mjs';

const { Engine } = await import(new URL('../../dist/src/index.js', import.meta.url).href);

const [dir, seedArg] = process.argv.slice(2);
const { rand, int } = seeded(seedArg);

const CHUNK = 64 << 10;
const KEYS = 120;
const CONCURRENCY = 8;

const WORDS = ['GET', 'PUT', 'level=info', 'level=warn', 'status=200', 'status=503', 'msg="request served"', 'host=web-'];

function body(size) {
  const r = rand();
  if (r < 0.4) return randomBytes(size);
  if (r < 0.7) {
    // A log line family: the bucket's dictionary (FORMAT.md §2.7) pays for these, so crashes also land
    // around its write and on chunks coded with it.
    const out = Buffer.allocUnsafe(size);
    for (let at = 0; at < size; ) at += out.write(`07:${int(10, 59)} ${WORDS[int(0, WORDS.length - 1)]}${int(0, 99)} ${WORDS[int(0, WORDS.length - 1)]} id=${int(0, 1e6)}\n`, at);
    return out;
  }
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

const engine = await Engine.open({ dir, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, checkpointEveryOps: 40, dictionarySamples: 8, onWarning: () => undefined });
await crashBucket(engine);
line('ready');

const busy = new Set();
await Promise.all(Array.from({ length: CONCURRENCY }, () => writerLoop({ engine, rand, int, keys: KEYS, deleteShare: 0.15, body: () => body(size()) }, busy)));
