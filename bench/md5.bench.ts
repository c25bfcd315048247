// MD5 of a batch of small objects (the ETags a framing thread computes for a batch of 4 KiB PUTs,
// src/engine/chunk-worker.ts): node:crypto one object at a time, against the addon's multi-buffer MD5
// (native/src/md5-multi.c) on each kernel this CPU runs — scalar, 8 lanes (AVX2), 8 lanes (AVX-512VL),
// 16 lanes (AVX-512) —
// side by side in one process on the same bytes. Also one 1 MiB object, where lanes cannot help (one
// MD5 is one chain): the addon's C path, ordered for the chain's latency, against node:crypto (OpenSSL's
// assembly).
//
// Run: npx tsc -p tsconfig.json && node dist/bench/md5.bench.js [--quick]
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import { pathToFileURL } from 'node:url';

import { Bench } from 'tinybench';

import { cpuFeatures, nativeAddon, type Md5Path } from '../src/native/index.js';
import { logText } from './data.js';
import { fmt, markdownTable, quickMode } from './setup.js';

export interface Md5Row {
  task: string;
  objects: number;
  objectBytes: number;
  usPerObject: number;
  mbPerS: number;
  /** node:crypto's µs per object over this task's, for the same objects. */
  speedup: number;
}

let sink = 0; // consumes every digest so no call can be optimised away

export async function runMd5Bench(quick = quickMode()): Promise<{ rows: Md5Row[]; markdown: string }> {
  const bench = new Bench({ time: quick ? 150 : 500, warmupTime: quick ? 50 : 150 });
  const shapes = [
    { label: '16 × 4 KiB', n: 16, bytes: 4096 },
    { label: '64 × 4 KiB', n: 64, bytes: 4096 },
    { label: '16 × 1 KiB', n: 16, bytes: 1024 },
    { label: '16 × 64 KiB', n: 16, bytes: 64 * 1024 },
    // Four large uploads at once, as the S3 bench's 64 MiB PUTs run: half of 8 lanes busy.
    { label: '4 × 1 MiB', n: 4, bytes: 1024 * 1024 },
    { label: '1 × 1 MiB', n: 1, bytes: 1024 * 1024 },
  ];
  const f = cpuFeatures();
  // Every kernel this CPU runs, by name: the two 8-lane kernels side by side where both run.
  const kernels: Md5Path[] = ['scalar', ...(f.avx2 ? ['avx2' as const] : []), ...(f.avx512vl ? ['avx512vl' as const] : []), ...(f.avx512 ? ['avx512' as const] : [])];
  const kernelLabel: Record<string, string> = { scalar: 'scalar (C)', avx2: '8 lanes (AVX2)', avx512vl: '8 lanes (AVX-512VL)', avx512: '16 lanes (AVX-512)' };
  const shapeOf = new Map<string, { label: string; n: number; bytes: number }>();
  for (const s of shapes) {
    const data = logText(s.n * s.bytes, 31);
    const offsets = Uint32Array.from({ length: s.n }, (_, i) => i * s.bytes);
    const lengths = new Uint32Array(s.n).fill(s.bytes);
    const out = Buffer.alloc(16 * s.n);
    const name = `${s.label}: node:crypto, one at a time`;
    shapeOf.set(name, s);
    bench.add(name, () => {
      for (let i = 0; i < s.n; i++) sink ^= createHash('md5').update(data.subarray(i * s.bytes, (i + 1) * s.bytes)).digest()[0]!;
    });
    if (nativeAddon?.md5Many === undefined) continue;
    const md5Many = nativeAddon.md5Many;
    for (const k of s.n === 1 ? (['scalar'] as const) : kernels) {
      const task = `${s.label}: md5Many, ${kernelLabel[k]}`;
      shapeOf.set(task, s);
      bench.add(task, () => {
        md5Many(data, offsets, lengths, out, k);
        sink ^= out[0]!;
      });
    }
  }
  await bench.run();
  const rows: Md5Row[] = [];
  const baseline = new Map<string, number>();
  for (const t of bench.tasks) {
    if (t.result.state !== 'completed') throw new Error(`md5 bench task "${t.name}" did not complete (${t.result.state})`);
    const s = shapeOf.get(t.name)!;
    const usPerObject = (t.result.latency.mean * 1000) / s.n;
    if (t.name.endsWith('node:crypto, one at a time')) baseline.set(s.label, usPerObject);
    rows.push({ task: t.name, objects: s.n, objectBytes: s.bytes, usPerObject, mbPerS: s.bytes / usPerObject, speedup: (baseline.get(s.label) ?? usPerObject) / usPerObject });
  }
  const markdown = markdownTable(
    ['task', 'µs per object', 'MB/s', 'against node:crypto'],
    rows.map((r) => [r.task, r.usPerObject.toFixed(2), fmt(r.mbPerS), `${r.speedup.toFixed(2)}×`]),
  );
  return { rows, markdown };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const f = cpuFeatures();
  console.log(`CPU: ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} logical); Node ${process.version}; avx2=${f.avx2 ?? false} avx512=${f.avx512 ?? false}`);
  console.log('inputs: log-like text (bench/data.ts); MB/s = 10^6 B / mean µs per object\n');
  const { markdown } = await runMd5Bench();
  console.log(markdown);
}
