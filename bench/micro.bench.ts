// Micro-benches of the per-byte building blocks of the write and read paths, side by side in one run:
// record frames (encode, decode+verify), xxh64, MD5 (the ETag, computed on the main thread), whole
// CHUNK frames (what a worker does per chunk, and what a read does), zstd levels 1/3/9/19 on log-like
// text (compress and decompress MB/s, ratio), the CRC comparison of bench/crc.bench.ts, batch MD5 (bench/md5.bench.ts), and zstd on 4 KiB
// log-like objects with and without a dictionary (bench/small-dictionary.bench.ts), the log writer thread
// (bench/log-writer.bench.ts), the hop of a small-chunk batch to a worker (bench/worker-hop.bench.ts) and
// copies into shared chunk buffers (bench/copy.bench.ts).
//
// MB/s = 10^6 bytes / mean task latency. Inputs are generated before timing (bench/data.ts).
// Run: npm run build && node dist/bench/run-all.js micro [--quick]
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

import { Bench } from 'tinybench';
import zstd from 'zstd-napi';

import { RecordType } from '../src/format/constants.js';
import { decodeFrame, encodeFrame } from '../src/format/frame.js';
import { initHash, xxh64 } from '../src/format/hash.js';
import { encodeChunkMeta } from '../src/format/records.js';
import { buildChunkFrame, openChunkFrame } from '../src/engine/chunk-codec.js';
import { runCrcBench, type CrcBenchRow } from './crc.bench.js';
import { runCopyBench, type CopyRow } from './copy.bench.js';
import { runMd5Bench, type Md5Row } from './md5.bench.js';
import { runSmallDictionaryBench, smallDictionaryTable, type DictionaryRow } from './small-dictionary.bench.js';
import { runLogWriterBench, type LogWriterRow } from './log-writer.bench.js';
import { runWorkerHopBench, type WorkerHopRow } from './worker-hop.bench.js';
import { logText, randomBytes } from './data.js';
import { describeMachine, fmt, machineInfo, markdownTable, MiB, quickMode, saveResults, waitForQuiet, type MachineInfo } from './setup.js';

export interface MicroRow {
  task: string;
  bytes: number;
  opsPerS: number;
  mbPerS: number;
  /** Relative margin of error of the mean latency, in %. */
  rmePct: number;
  samples: number;
}

export interface ZstdRow {
  level: number;
  inputBytes: number;
  ratio: number;
  compressMbPerS: number;
  decompressMbPerS: number;
}

export interface MicroReport {
  machine: MachineInfo;
  quick: boolean;
  rows: MicroRow[];
  zstd: ZstdRow[];
  crc: CrcBenchRow[];
  /** MD5 of a batch of small objects: node:crypto against the addon's multi-buffer MD5 (bench/md5.bench.ts). */
  md5: Md5Row[];
  /** zstd level 1 on 4 KiB log-like objects with and without a dictionary (bench/small-dictionary.bench.ts). */
  smallDictionary: DictionaryRow[];
  logWriter: LogWriterRow[];
  workerHop: WorkerHopRow[];
  /** Body pieces copied into shared chunk buffers: Buffer.copy against the addon's copyBytes (bench/copy.bench.ts). */
  copy: CopyRow[];
  markdown: string;
}

const SIZES = [
  { label: '4 KiB', bytes: 4 * 1024 },
  { label: '1 MiB', bytes: MiB },
];
const ZSTD_LEVELS = [1, 3, 9, 19];

let sink = 0; // consumes results so no call can be optimised away

function collect(bench: Bench, bytesOf: Map<string, number>): MicroRow[] {
  return bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== 'completed') {
      throw new Error(`micro bench task "${task.name}" did not complete (${r.state})${r.state === 'errored' ? `: ${r.error.message}` : ''}`);
    }
    const bytes = bytesOf.get(task.name) ?? 0;
    const meanMs = r.latency.mean;
    return { task: task.name, bytes, opsPerS: 1000 / meanMs, mbPerS: bytes / 1e6 / (meanMs / 1000), rmePct: r.latency.rme, samples: r.latency.samplesCount };
  });
}

async function runCodecBench(quick: boolean): Promise<MicroRow[]> {
  const bench = new Bench({ time: quick ? 150 : 500, warmupTime: quick ? 50 : 150 });
  const bytesOf = new Map<string, number>();
  const add = (name: string, bytes: number, fn: () => void) => {
    bench.add(name, fn);
    bytesOf.set(name, bytes);
  };
  const meta = encodeChunkMeta({ uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: 0 });
  const zstd1 = new zstd.Compressor();
  zstd1.setParameters({ compressionLevel: 1 });
  for (const size of SIZES) {
    const log = logText(size.bytes, 11);
    const rnd = randomBytes(size.bytes, 12);
    const frame = encodeFrame(RecordType.CHUNK, 0, meta, log);
    add(`frame encode ${size.label}`, size.bytes, () => void (sink ^= encodeFrame(RecordType.CHUNK, 0, meta, log).length));
    add(`frame decode+verify ${size.label}`, size.bytes, () => void (sink ^= decodeFrame(frame).payload.length));
    add(`xxh64 ${size.label}`, size.bytes, () => void (sink ^= Number(xxh64(log) & 0xffn)));
    add(`md5 (node:crypto) ${size.label}`, size.bytes, () => void (sink ^= createHash('md5').update(log).digest()[0]));
    add(`zstd-1 compress only, log ${size.label}`, size.bytes, () => void (sink ^= zstd1.compress(log).length));
    const chunkMeta = { uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: size.bytes };
    const logFrame = decodeFrame(buildChunkFrame(log, chunkMeta, 1));
    add(`chunk build zstd-1 log ${size.label}`, size.bytes, () => void (sink ^= buildChunkFrame(log, chunkMeta, 1).length));
    add(`chunk build zstd-1 random ${size.label}`, size.bytes, () => void (sink ^= buildChunkFrame(rnd, chunkMeta, 1).length));
    add(`chunk open log ${size.label}`, size.bytes, () => void (sink ^= openChunkFrame(logFrame, 1, 0).raw.length));
  }
  await bench.run();
  return collect(bench, bytesOf);
}

async function runZstdBench(quick: boolean): Promise<ZstdRow[]> {
  const input = logText(MiB, 21);
  const rows: ZstdRow[] = [];
  for (const level of ZSTD_LEVELS) {
    const c = new zstd.Compressor();
    c.setParameters({ compressionLevel: level });
    const d = new zstd.Decompressor();
    const packed = c.compress(input);
    // Slow levels take ~100 ms per MiB: a few iterations are enough for a stable mean.
    const bench = new Bench({ time: quick ? 100 : 400, iterations: level >= 9 ? 3 : 10, warmupIterations: 1, warmupTime: 0 });
    bench.add(`zstd-${level} compress`, () => void (sink ^= c.compress(input).length));
    bench.add(`zstd-${level} decompress`, () => void (sink ^= d.decompress(packed).length));
    await bench.run();
    const [comp, decomp] = collect(bench, new Map([[`zstd-${level} compress`, input.length], [`zstd-${level} decompress`, input.length]]));
    rows.push({ level, inputBytes: input.length, ratio: input.length / packed.length, compressMbPerS: comp.mbPerS, decompressMbPerS: decomp.mbPerS });
  }
  return rows;
}

export async function runMicroBench(opts: { quick?: boolean } = {}): Promise<MicroReport> {
  const quick = opts.quick ?? quickMode();
  await initHash();
  const load = await waitForQuiet();
  const machine = machineInfo();
  console.log('## micro benches');
  console.log(describeMachine(machine));
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; cores busy just before: ${load?.toFixed(2) ?? '?'} (other sessions may share this machine)`);
  console.log(`mode: ${quick ? 'quick' : 'full'}; inputs: log-like text (bench/data.ts) and AES-CTR random bytes; MB/s = 10^6 B / mean latency\n`);

  const rows = await runCodecBench(quick);
  const zstdRows = await runZstdBench(quick);
  console.log('CRC (bench/crc.bench.ts):');
  const crc = await runCrcBench(quick ? { timeMs: 150, warmupMs: 50 } : {});
  const md5 = await runMd5Bench(quick);
  const dict = await runSmallDictionaryBench(quick);
  const logWriter = await runLogWriterBench(quick);
  const workerHop = await runWorkerHopBench(quick);
  const copy = await runCopyBench(quick);

  const md = [
    markdownTable(
      ['task', 'ops/s', 'MB/s', '±% (mean)', 'samples'],
      rows.map((r) => [r.task, fmt(r.opsPerS), fmt(r.mbPerS), r.rmePct.toFixed(1), r.samples]),
    ),
    '',
    `zstd (zstd-napi, one-shot Compressor/Decompressor) on ${fmt(MiB)} bytes of log-like text:`,
    '',
    markdownTable(
      ['level', 'ratio', 'compress MB/s', 'decompress MB/s'],
      zstdRows.map((z) => [z.level, z.ratio.toFixed(2), fmt(z.compressMbPerS), fmt(z.decompressMbPerS)]),
    ),
    '',
    'CRC, native addon vs JS (bench/crc.bench.ts):',
    '',
    markdownTable(['task', 'MB/s'], crc.map((c) => [c.name, fmt(c.mbPerS)])),
    '',
    'MD5 of a batch of objects, node:crypto one at a time against the multi-buffer MD5 of the addon (bench/md5.bench.ts):',
    '',
    md5.markdown,
    '',
    'zstd level 1 on 4 KiB log-like objects, with and without a dictionary made from other objects (bench/small-dictionary.bench.ts):',
    '',
    smallDictionaryTable(dict),
    '',
    'Durable 4 KiB append, submitted until reported written and synced, one at a time: the log writer thread vs node:fs (bench/log-writer.bench.ts):',
    '',
    logWriter.markdown,
    '',
    'One round trip of a batch of 5 × 4 KiB small chunks to a worker thread that answers at once (bench/worker-hop.bench.ts):',
    '',
    workerHop.markdown,
    '',
    'Body pieces copied into 1 MiB chunk buffers, shared (SharedArrayBuffer) and plain, Buffer.copy against the addon (bench/copy.bench.ts):',
    '',
    copy.markdown,
  ].join('\n');
  console.log('\n' + md + '\n');
  const report: MicroReport = { machine, quick, rows, zstd: zstdRows, crc, md5: md5.rows, smallDictionary: dict, logWriter: logWriter.rows, workerHop: workerHop.rows, copy: copy.rows, markdown: md };
  console.log(`results: ${await saveResults('micro', report)}`);
  return report;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  await runMicroBench();
}
