// Cold-tier codec choice (docs/PERFORMANCE.md "Cold tier codec"): on distinct log-like objects
// (loadgen/log-text.ts), each chunk compressed on its own as the engine does, compare hot zstd 1 with cold
// candidates — levels 12 / 15 / 19, level 19 with a 128 MiB long-distance window, and level 12 / 19 with a
// dictionary sampled from the segment's own small chunks (cold-codec.ts buildDictionary: with entropy tables
// as migration makes it now, and at level 12 also as raw content, as until session 20; its bytes are counted
// against the dictionary rows). Reports ratio vs hot and single-thread MB/s.
//   node dist/bench/cold-codec.js [--quick]
import zstd from 'zstd-napi';
import { buildDictionary, DICT_CHUNK_BYTES_MAX } from '../src/engine/cold-codec.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { describeMachine, fmt, markdownTable, quickMode } from './setup.js';

interface Candidate {
  name: string;
  params: Record<string, number | boolean>;
  /** The segment dictionary for small chunks: with entropy tables (migration now), raw content (until session 20). */
  dict: false | 'tables' | 'raw';
}

const CANDIDATES: Candidate[] = [
  { name: 'hot: zstd 1', params: { compressionLevel: 1 }, dict: false },
  { name: 'zstd 12', params: { compressionLevel: 12 }, dict: false },
  { name: 'zstd 15', params: { compressionLevel: 15 }, dict: false },
  { name: 'zstd 19', params: { compressionLevel: 19 }, dict: false },
  { name: 'zstd 19, long window (windowLog 27)', params: { compressionLevel: 19, windowLog: 27, enableLongDistanceMatching: true }, dict: false },
  { name: 'zstd 12 + raw-content dictionary (small chunks; until session 20)', params: { compressionLevel: 12 }, dict: 'raw' },
  { name: 'zstd 12 + dictionary with tables (small chunks; migration now)', params: { compressionLevel: 12 }, dict: 'tables' },
  { name: 'zstd 19 + dictionary with tables (small chunks)', params: { compressionLevel: 19 }, dict: 'tables' },
];

const quick = quickMode();
const segmentRawBytes = quick ? 4 << 20 : 32 << 20;
const sizes = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
const header = ['object size', ...CANDIDATES.map((c) => c.name)];
const ratioRows: string[][] = [];
const speedRows: string[][] = [];
for (const size of sizes) {
  const n = Math.max(4, Math.floor(segmentRawBytes / size));
  const raws = Array.from({ length: n }, (_, i) => fillLogText(Buffer.alloc(size), size + i));
  const rawBytes = raws.reduce((a, r) => a + r.length, 0);
  let hot = 0;
  const ratio: string[] = [`${size / 1024} KiB`];
  const speed: string[] = [`${size / 1024} KiB`];
  for (const c of CANDIDATES) {
    const level = Number(c.params.compressionLevel);
    const dict = c.dict && size < DICT_CHUNK_BYTES_MAX ? buildDictionary(raws, level, c.dict === 'raw' ? () => undefined : undefined) : undefined;
    const z = new zstd.Compressor();
    z.setParameters(c.params);
    if (dict) z.loadDictionary(dict);
    const t = performance.now();
    let out = dict ? new zstd.Compressor().compress(dict).length : 0; // the dictionary is stored (compressed) once per segment
    for (const r of raws) out += z.compress(r).length;
    const ms = performance.now() - t;
    if (c.name.startsWith('hot')) hot = out;
    ratio.push(c.name.startsWith('hot') ? `${fmt(rawBytes / out, 2)}× of raw` : `${fmt(hot / out, 2)}×`);
    speed.push(fmt(rawBytes / 1e6 / (ms / 1000), 1));
  }
  ratioRows.push(ratio);
  speedRows.push(speed);
}
console.log(`## cold codec\n${describeMachine()}\n${quick ? 'quick: ' : ''}~${segmentRawBytes >> 20} MiB of distinct log text per object size, each object one chunk\n`);
console.log(`hot bytes / cold bytes (hot column: raw / hot)\n\n${markdownTable(header, ratioRows)}\n`);
console.log(`MB/s (raw bytes compressed per second, one thread)\n\n${markdownTable(header, speedRows)}\n`);
