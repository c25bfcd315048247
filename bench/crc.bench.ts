// Checksum throughput: the native addon (hardware path and its portable slice-by-8 path) against
// the pure-JS fallbacks, for CRC-32C and CRC-64/NVME, with node:zlib's CRC-32 for reference; and the
// frames' XXH64, the addon's (in place) against xxhash-wasm's (which copies into its memory first).
// All implementations run side by side in one process on the same buffers. MB/s = 10^6 bytes/s,
// computed from tinybench's mean throughput. Then the cost of a multipart completion's full-object
// checksum (src/native/crc-combine.ts): 10,000 part CRCs combined, parts of one size and all different.
//
// Run: npx tsc -p tsconfig.json && node dist/bench/crc.bench.js

import { randomFillSync } from 'node:crypto';
import * as os from 'node:os';
import { pathToFileURL } from 'node:url';

import { Bench } from 'tinybench';
import xxhash from 'xxhash-wasm';

import { crcOfParts, type CrcAlgorithm } from '../src/native/crc-combine.js';
import * as js from '../src/native/crc-js.js';
import { cpuFeatures, crc32, nativeAddon, nativeLoadError } from '../src/native/index.js';

export interface CrcBenchRow {
  name: string;
  mbPerS: number;
}

export interface CrcBenchOptions {
  /** Measuring time per task. */
  timeMs?: number;
  warmupMs?: number;
}

const sizes = [
  { label: '4 KiB', bytes: 4 * 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
];

let sink = 0; // consumes every result so no call can be optimised away

function describeSetup(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const features = cpuFeatures();
  const native = nativeAddon
    ? `native addon loaded (sse4.2=${features.sse42}, pclmul=${features.pclmul})`
    : `native addon NOT loaded: ${nativeLoadError?.message ?? 'unknown reason'}`;
  return [
    `CPU: ${cpu} (${os.cpus().length} logical), ${os.platform()}/${os.arch()}`,
    `Node ${process.version}; ${native}`,
    `sizes: ${sizes.map((s) => `${s.label} (${s.bytes} B)`).join(', ')}; buffers random, one per size`,
  ].join('\n');
}

export async function runCrcBench(options: CrcBenchOptions = {}): Promise<CrcBenchRow[]> {
  const bench = new Bench({ time: options.timeMs ?? 500, warmupTime: options.warmupMs ?? 100 });
  const bytesPerTask = new Map<string, number>();
  const add = (name: string, bytes: number, fn: () => void) => {
    bench.add(name, fn);
    bytesPerTask.set(name, bytes);
  };

  const { h64Raw } = await xxhash();
  for (const size of sizes) {
    const buf = randomFillSync(new Uint8Array(size.bytes));
    if (nativeAddon) {
      const addon = nativeAddon;
      add(`crc32c native ${size.label}`, size.bytes, () => void (sink ^= addon.crc32c(buf, 0)));
      add(`crc32c native-table ${size.label}`, size.bytes, () => void (sink ^= addon.crc32cTable(buf, 0)));
    }
    add(`crc32c js ${size.label}`, size.bytes, () => void (sink ^= js.crc32c(buf, 0)));
    if (nativeAddon) {
      const addon = nativeAddon;
      add(`crc64nvme native ${size.label}`, size.bytes, () => void (sink ^= Number(addon.crc64nvme(buf, 0n) & 1n)));
      add(`crc64nvme native-table ${size.label}`, size.bytes, () => {
        sink ^= Number(addon.crc64nvmeTable(buf, 0n) & 1n);
      });
    }
    add(`crc64nvme js ${size.label}`, size.bytes, () => void (sink ^= Number(js.crc64nvme(buf, 0n) & 1n)));
    add(`crc32 node:zlib ${size.label}`, size.bytes, () => void (sink ^= crc32(buf, 0)));
    const xxh64 = nativeAddon?.xxh64;
    if (xxh64) add(`xxh64 native ${size.label}`, size.bytes, () => void (sink ^= Number(xxh64(buf) & 1n)));
    add(`xxh64 xxhash-wasm ${size.label}`, size.bytes, () => void (sink ^= Number(h64Raw(buf, 0n) & 1n)));
  }

  await bench.run();

  const rows: Array<CrcBenchRow & { opsPerS: number; rme: number }> = [];
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') {
      const detail = result.state === 'errored' ? `: ${result.error.message}` : '';
      throw new Error(`benchmark task "${task.name}" did not complete (${result.state})${detail}`);
    }
    const opsPerS = result.throughput.mean;
    const bytes = bytesPerTask.get(task.name) ?? 0;
    rows.push({ name: task.name, opsPerS, mbPerS: (opsPerS * bytes) / 1e6, rme: result.throughput.rme });
  }

  console.log(describeSetup());
  console.log(`tinybench: ${options.timeMs ?? 500} ms per task after ${options.warmupMs ?? 100} ms warm-up`);
  console.table(
    rows.map((r) => ({
      task: r.name,
      'ops/s': Math.round(r.opsPerS),
      'MB/s': Math.round(r.mbPerS),
      '±%': r.rme.toFixed(1),
    })),
  );
  return rows.map(({ name, mbPerS }) => ({ name, mbPerS }));
}

/** Milliseconds to combine 10,000 part CRCs into an object's, per algorithm and part-size pattern. */
export async function runCrcCombineBench(options: CrcBenchOptions = {}): Promise<Array<{ name: string; msPerCompletion: number }>> {
  const bench = new Bench({ time: options.timeMs ?? 500, warmupTime: options.warmupMs ?? 100 });
  const PARTS = 10_000;
  for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as CrcAlgorithm[]) {
    const max = alg === 'CRC64NVME' ? 2n ** 64n : 2n ** 32n;
    const crcs = Array.from({ length: PARTS }, (_, i) => (BigInt(i) * 0x9e3779b97f4a7c15n) % max);
    const same = crcs.map((crc) => ({ crc, size: 8 * 1024 * 1024 }));
    // Sizes all different (and new to the cache at every run: the offset moves).
    let round = 0;
    bench.add(`${alg}, ${PARTS} parts of 8 MiB`, () => void (sink ^= Number(crcOfParts(alg, same) & 1n)));
    bench.add(`${alg}, ${PARTS} parts of different sizes`, () => {
      round++;
      sink ^= Number(crcOfParts(alg, crcs.map((crc, i) => ({ crc, size: 5 * 1024 * 1024 + round * PARTS + i }))) & 1n);
    });
  }
  await bench.run();
  const rows = bench.tasks.map((t) => {
    if (t.result.state !== 'completed') throw new Error(`benchmark task "${t.name}" did not complete (${t.result.state})`);
    return { name: t.name, msPerCompletion: 1000 / t.result.throughput.mean };
  });
  console.log('multipart completion, full-object CRC from the parts (src/native/crc-combine.ts):');
  console.table(rows.map((r) => ({ task: r.name, 'ms per completion': r.msPerCompletion.toFixed(2) })));
  return rows;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  await runCrcBench();
  await runCrcCombineBench();
}
