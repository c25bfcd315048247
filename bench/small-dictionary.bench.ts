// Would a zstd dictionary pay for families of small objects in the hot tier (issue 7, item 3)? Side by side
// in one run, on the engine bench (a)'s 4 KiB log-like objects (bench/data.ts), zstd level 1 as the hot
// tier compresses them: without a dictionary, with raw-content dictionaries of 16, 64 and 112 KiB cut from
// *other* objects of the same family (what a store could keep from recent PUTs; the cold tier builds its
// dictionaries the same way, FORMAT.md §2.6), and with the engine's own dictionary (hot-dictionaries.ts)
// with and without zstd entropy tables. Per variant: compress and decompress time
// per object (tinybench, one object per call, contexts and digested dictionaries made once), and the
// compressed payload bytes over raw bytes for the whole measured set (frame and commit overhead excluded).
// Every compressed object is decompressed once and compared with its input before anything is timed.
// Run: npm run build && node dist/bench/small-dictionary.bench.js [--quick] (also part of run-all.js micro)
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import binding from 'zstd-napi/binding.js';

import { cutDictionary, makeDictionaryContent } from '../src/engine/hot-dictionaries.js';
import { piecePool, smallObject } from './data.js';
import { markdownTable, MiB, quickMode } from './setup.js';

export interface DictionaryRow {
  variant: string;
  dictionaryBytes: number;
  /** Compressed payload bytes / raw bytes over the measured objects. */
  storedRatio: number;
  compressUs: number;
  decompressUs: number;
}

const OBJECT_BYTES = 4096;
const DICTIONARY_KIB = [16, 64, 112];

export async function runSmallDictionaryBench(quick: boolean): Promise<DictionaryRow[]> {
  const pool = piecePool('log', 96, MiB, 20_260_101);
  const count = quick ? 2_000 : 10_000;
  // Objects 0..count-1 are measured; the dictionaries come from objects far past them (no overlap).
  const objects = Array.from({ length: count }, (_, i) => smallObject(pool, i, OBJECT_BYTES));
  const samples = Array.from({ length: 28 }, (_, i) => smallObject(pool, 100_000 + 97 * i, OBJECT_BYTES));
  const sample = Buffer.concat(samples);

  const variants: Array<{ name: string; dict?: Buffer }> = [{ name: 'no dictionary' }];
  for (const kib of DICTIONARY_KIB) variants.push({ name: `raw-content dictionary ${kib} KiB (whole objects)`, dict: sample.subarray(0, kib * 1024) });
  // What the engine writes (hot-dictionaries.ts): the start of each of the 28 samples, 16 KiB in all, alone
  // (until session 20) and with zstd entropy tables from the same samples in front (now, where the system's
  // libzstd is found; otherwise this row repeats the one before).
  variants.push({ name: 'engine cut, raw content (until session 20)', dict: cutDictionary(samples) });
  const withTables = makeDictionaryContent(samples, 1, 1);
  if (withTables !== undefined && withTables.readUInt32LE(0) === 0xec30a437) {
    variants.push({ name: 'engine cut with entropy tables (now: makeDictionaryContent)', dict: withTables });
  }

  const rows: DictionaryRow[] = [];
  for (const v of variants) {
    const cctx = new binding.CCtx();
    const dctx = new binding.DCtx();
    cctx.setParameter(binding.CParameter.compressionLevel, 1);
    const cdict = v.dict ? new binding.CDict(v.dict, 1) : undefined;
    const ddict = v.dict ? new binding.DDict(v.dict) : undefined;
    const out = Buffer.alloc(2 * OBJECT_BYTES);
    const back = Buffer.alloc(OBJECT_BYTES);
    const compress = (src: Buffer): number => (cdict ? cctx.compressUsingCDict(out, src, cdict) : cctx.compress2(out, src));
    const decompress = (src: Buffer): number => (ddict ? dctx.decompressUsingDDict(back, src, ddict) : dctx.decompress(back, src));

    // Sizes and a round trip of every object, untimed: a variant that lost bytes would stop the bench here.
    let stored = 0;
    const packed: Buffer[] = [];
    for (const o of objects) {
      const n = compress(o);
      stored += n;
      const copy = Buffer.from(out.subarray(0, n));
      packed.push(copy);
      if (decompress(copy) !== o.length || !back.equals(o)) throw new Error(`${v.name}: an object did not round-trip`);
    }

    let ci = 0;
    let di = 0;
    let sink = 0;
    const bench = new Bench({ time: quick ? 150 : 600, warmupTime: quick ? 50 : 150 });
    bench.add('compress', () => void (sink ^= compress(objects[ci++ % count]!)));
    bench.add('decompress', () => void (sink ^= decompress(packed[di++ % count]!)));
    await bench.run();
    const [c, d] = bench.tasks.map((t) => {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`dictionary bench task "${t.name}" did not complete (${r.state})`);
      return r.latency.mean * 1000; // ms → µs
    });
    if (sink === 0.5) console.log(''); // keeps sink alive
    rows.push({ variant: v.name, dictionaryBytes: v.dict?.length ?? 0, storedRatio: stored / (count * OBJECT_BYTES), compressUs: c!, decompressUs: d! });
  }
  return rows;
}

export function smallDictionaryTable(rows: readonly DictionaryRow[]): string {
  const none = rows.find((r) => r.dictionaryBytes === 0);
  return markdownTable(
    ['variant', 'dictionary bytes', 'compressed / raw', 'smaller than none', 'compress µs/object', 'decompress µs/object'],
    rows.map((d) => [
      d.variant,
      d.dictionaryBytes,
      d.storedRatio.toFixed(3),
      none ? `${(none.storedRatio / d.storedRatio).toFixed(2)}×` : '?',
      d.compressUs.toFixed(2),
      d.decompressUs.toFixed(2),
    ]),
  );
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  console.log(smallDictionaryTable(await runSmallDictionaryBench(quickMode(process.argv.slice(2)))));
}
