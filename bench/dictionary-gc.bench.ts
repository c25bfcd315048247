// What the dictionary collector (src/maintenance/dictionary-gc.ts) costs, side by side in one run with
// reading the same files whole (what a scrub reads, without hashing): a data directory of small log-like
// objects whose bucket moved on to newer dictionaries, every segment sealed, then
//   pass 1 — the first pass of a process: every sealed file's frame headers are read;
//   pass 2 — a later pass: nothing new to read (what a sealed file names is remembered);
//   reference — every byte of the same files read sequentially in 8 MiB reads.
// The files were just written, so both read from the page cache (a cold cache costs the disk's time,
// about in proportion to the bytes read, which the table gives).
//   node dist/bench/dictionary-gc.bench.js [--objects=N] [--quick]
import { DictionaryCollector, Engine, RealFileSystem } from '../src/index.js';
import { piecePool, Prng, smallObject } from './data.js';
import { describeMachine, fmt, forEachConcurrent, markdownTable, MiB, quickMode, removeDir, saveResults, scratchDir } from './setup.js';

const quick = quickMode();
const objects = Number(process.argv.find((a) => a.startsWith('--objects='))?.slice('--objects='.length) ?? (quick ? 20_000 : 200_000));
const OBJECT_BYTES = 4096;

const WORDS = Array.from({ length: 80 }, (_, i) => `${['ultra', 'mega', 'eco', 'smart', 'retro'][i % 5]}${['kettle', 'lantern', 'backpack', 'blender'][i % 4]}${i}`);

/**
 * 1 KiB of JSON events over 80 product words: a family that shares nothing with the log lines, and that a
 * dictionary of its own shrinks a lot (each object names a few dozen of the words once).
 */
function eventObject(rng: Prng): Buffer {
  const out = Buffer.alloc(1024);
  for (let at = 0; at < out.length; ) {
    at += out.write(`{"event":"${['viewed', 'carted', 'bought'][rng.below(3)]}","item":"${WORDS[rng.below(80)]}","with":"${WORDS[rng.below(80)]}","n":${rng.below(10)}}\n`, at);
  }
  return out;
}

async function waitMade(e: Engine, n: number): Promise<void> {
  for (let i = 0; i < 5_000 && e.stats().dictionaries.made < n; i++) await new Promise((r) => setTimeout(r, 2));
}

console.log(`# dictionary collector: ${objects} objects of ${OBJECT_BYTES} bytes\n${describeMachine()}\n`);
const dir = await scratchDir('dict-gc');
try {
  const fs = new RealFileSystem();
  const e = await Engine.open({ dir, fs, durability: 'none' });
  await e.createBucket('logs');
  const pool = piecePool('log', 96, MiB, 7);
  const log = (i: number): Buffer => smallObject(pool, i, OBJECT_BYTES);
  for (let i = 0; i < 40; i++) await e.putObject('logs', `first/${i}`, log(i));
  await waitMade(e, 1);
  // The bucket's objects change (dictionary 2), then change back (dictionary 3): 1 and 2 are retired.
  const rng = new Prng(9);
  for (let i = 0; i < 1_300 && e.stats().dictionaries.made < 2; i++) await e.putObject('logs', `events/${i}`, eventObject(rng));
  await waitMade(e, 2);
  if (e.stats().dictionaries.made < 2) throw new Error('the bucket did not move on to a second dictionary');
  await forEachConcurrent(objects, 64, (i) => e.putObject('logs', `log/${i}`, log(40 + i)).then(() => undefined));
  await e.maintenance().sealActive();
  const m = e.maintenance();
  const files = m.segments().filter((s) => s.sealed);
  const bytes = files.reduce((n, s) => n + s.sizeBytes, 0);

  const gc = new DictionaryCollector(m);
  let t = performance.now();
  const first = await gc.runPass();
  const firstMs = performance.now() - t;
  t = performance.now();
  const second = await gc.runPass();
  const secondMs = performance.now() - t;

  t = performance.now();
  const buf = Buffer.allocUnsafe(8 * MiB);
  let read = 0;
  for (const s of files) {
    const fh = await fs.open(m.pathOf(s.id), 'read');
    try {
      for (let at = 0; at < s.sizeBytes; ) {
        const n = await fh.read(buf, 0, Math.min(buf.length, s.sizeBytes - at), at);
        if (n <= 0) break;
        at += n;
        read += n;
      }
    } finally {
      await fh.close();
    }
  }
  const refMs = performance.now() - t;
  const dicts = e.stats().dictionaries;
  await e.close();

  console.log(`${files.length} sealed files, ${fmt(bytes / MiB, 1)} MiB; dictionaries made ${dicts.made}, retired ${first.retired}, deleted ${first.deleted.length} (still named: ${first.retired - first.deleted.length})\n`);
  const rows = [
    ['collector, first pass (frame headers)', fmt(firstMs, 1), fmt(first.bytesRead / MiB, 2), first.filesRead, fmt(refMs / Math.max(firstMs, 0.001), 1)],
    ['collector, next pass (remembered)', fmt(secondMs, 2), fmt(second.bytesRead / MiB, 2), second.filesRead, fmt(refMs / Math.max(secondMs, 0.001), 0)],
    ['reference: read every byte (8 MiB reads)', fmt(refMs, 1), fmt(read / MiB, 2), files.length, '1.0'],
  ];
  console.log(markdownTable(['what', 'ms', 'MiB read', 'files read', 'reference ms / this ms'], rows));
  const saved = await saveResults('dictionary-gc', { objects, files: files.length, bytes, first, firstMs, second, secondMs, refMs, read, dicts });
  console.log(`\nresults: ${saved}`);
} finally {
  await removeDir(dir);
}
