// The addon's multi-buffer MD5 (native/src/md5-multi.c) against node:crypto on every kernel this CPU can
// run (scalar, 8 lanes with AVX2, 8 lanes with AVX-512VL, 16 lanes with AVX-512): every length around the block and padding boundaries, odd offsets,
// mixed lengths with more messages than lanes (lanes refilled as messages end, the last one finished
// alone), and argument checking that refuses before writing anything. Randomized cases print their
// seed; replay with SEDIMENT_SEED=<seed>.
import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { cpuFeatures, md5Many, nativeAddon, type Md5Path } from '../src/native/index.js';
import { mulberry32, testSeed } from './helpers/prng.js';

const seed = testSeed();

/** 32-bit integers from the seed (the shared test PRNG). */
function rng(s: number): () => number {
  const r = mulberry32(s);
  return () => (r.next() * 4294967296) >>> 0;
}

function randomBytes(n: number, next: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

const features = cpuFeatures();
const paths: Array<1 | 8 | 16> = [1, ...(features.avx2 ? [8 as const] : []), ...(features.avx512 ? [16 as const] : [])];
/** Every kernel this CPU runs, by name, with its lanes (what md5Many returns for it). */
const kernels: Array<{ kernel: Md5Path & string; lanes: number }> = [
  { kernel: 'scalar', lanes: 1 },
  ...(features.avx2 ? [{ kernel: 'avx2' as const, lanes: 8 }] : []),
  ...(features.avx512vl ? [{ kernel: 'avx512vl' as const, lanes: 8 }] : []),
  ...(features.avx512 ? [{ kernel: 'avx512' as const, lanes: 16 }] : []),
];
/** Each path given by lanes (the best kernel of that width) and each kernel by name. */
const calls: Array<{ label: string; arg: Md5Path; lanes: number }> = [
  ...paths.map((l) => ({ label: `lanes ${l}`, arg: l, lanes: l })),
  ...kernels.map((k) => ({ label: k.kernel, arg: k.kernel, lanes: k.lanes })),
];
const native = nativeAddon?.md5Many;

function expected(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array): Buffer {
  return Buffer.concat([...offsets].map((o, i) => createHash('md5').update(data.subarray(o, o + lengths[i])).digest()));
}

/** Messages of the given lengths laid in `data` with gaps of 0..6 bytes (so most start unaligned). */
function layout(lengths: number[], next: () => number): { data: Buffer; offsets: Uint32Array; lengths: Uint32Array } {
  const offsets = new Uint32Array(lengths.length);
  let at = next() % 7;
  for (let i = 0; i < lengths.length; i++) {
    offsets[i] = at;
    at += lengths[i] + (next() % 7);
  }
  return { data: randomBytes(at, next), offsets, lengths: Uint32Array.from(lengths) };
}

describe(`multi-buffer MD5 (seed ${seed}; kernels ${kernels.map((k) => k.kernel).join(', ')})`, () => {
  it('is in the addon', () => {
    expect(typeof native).toBe('function');
  });

  it('equals node:crypto for every length 0..300 and around the padding of longer messages, on every path', () => {
    const next = rng(seed);
    const lengths: number[] = [];
    for (let n = 0; n <= 300; n++) lengths.push(n);
    for (const base of [4096, 65_536, 1 << 20]) for (const d of [-65, -64, -57, -56, -55, -1, 0, 1, 55, 56, 63, 64]) lengths.push(base + d);
    const { data, offsets, lengths: lens } = layout(lengths, next);
    const want = expected(data, offsets, lens);
    for (const c of calls) {
      const out = Buffer.alloc(16 * lengths.length);
      expect(native!(data, offsets, lens, out, c.arg)).toBe(c.lanes);
      for (let i = 0; i < lengths.length; i++) {
        if (!out.subarray(16 * i, 16 * i + 16).equals(want.subarray(16 * i, 16 * i + 16))) {
          throw new Error(`${c.label}: MD5 of ${lengths[i]} bytes differs from node:crypto`);
        }
      }
    }
  });

  it('mixed lengths, more messages than lanes, one long message among short ones', () => {
    const next = rng(seed ^ 0x5bd1e995);
    for (let round = 0; round < 20; round++) {
      const n = 1 + (next() % 60);
      const lengths = Array.from({ length: n }, () => (next() % 4 === 0 ? next() % 20_000 : next() % 5000));
      if (round % 2 === 0) lengths[next() % n] = 300_000 + (next() % 64);
      const { data, offsets, lengths: lens } = layout(lengths, next);
      const want = expected(data, offsets, lens);
      for (const c of calls) {
        const out = Buffer.alloc(16 * n);
        native!(data, offsets, lens, out, c.arg);
        expect(out.equals(want), `round ${round}, ${c.label}, lengths ${lengths.join(',')}`).toBe(true);
      }
    }
  });

  it('the exported md5Many takes 16 lanes for more than 8 messages, 8 for fewer, and one message alone', () => {
    const next = rng(seed + 1);
    const many = layout(Array.from({ length: 9 }, () => 4096), next);
    expect(md5Many(many.data, many.offsets, many.lengths, Buffer.alloc(16 * 9))).toBe(paths[paths.length - 1]);
    const { data, offsets, lengths } = layout([4096, 4096, 100, 0], next);
    const out = Buffer.alloc(64);
    expect(md5Many(data, offsets, lengths, out)).toBe(features.avx2 ? 8 : 1);
    expect(out.equals(expected(data, offsets, lengths))).toBe(true);
    const one = Buffer.alloc(16);
    expect(md5Many(data, offsets.subarray(0, 1), lengths.subarray(0, 1), one)).toBe(1);
    expect(one.equals(out.subarray(0, 16))).toBe(true);
    expect(md5Many(data, new Uint32Array(0), new Uint32Array(0), Buffer.alloc(0))).toBe(features.avx2 ? 8 : 1);
  });

  it('says which kernels this CPU lacks: a named kernel it cannot run is refused', () => {
    const all = ['scalar', 'avx2', 'avx512vl', 'avx512'];
    const missing = all.filter((k) => !kernels.some((c) => c.kernel === k));
    const { data, offsets, lengths } = layout([64, 64], rng(seed + 2));
    for (const k of missing) expect(() => native!(data, offsets, lengths, Buffer.alloc(32), k as Md5Path)).toThrow(RangeError);
    // And the feature flags agree with each other: VL implies AVX-512 F, which implies AVX2.
    if (features.avx512vl) expect(features.avx512).toBe(true);
    if (features.avx512) expect(features.avx2).toBe(true);
  });

  it('refuses bad arguments before writing anything', () => {
    const data = Buffer.alloc(100, 1);
    const out = Buffer.alloc(32, 0xee);
    const u32 = (...v: number[]) => Uint32Array.from(v);
    expect(() => md5Many(data, u32(0, 10), u32(5), out)).toThrow(RangeError);
    expect(() => md5Many(data, u32(0, 96), u32(5, 5), out)).toThrow(RangeError); // 96 + 5 > 100
    expect(() => md5Many(data, u32(0, 10), u32(5, 5), Buffer.alloc(31))).toThrow(RangeError);
    expect(() => native!(data, [0] as unknown as Uint32Array, u32(5), out)).toThrow(TypeError);
    expect(() => native!(data, u32(0), u32(5), out, 3 as Md5Path)).toThrow(RangeError);
    expect(() => native!(data, u32(0), u32(5), out, 'avx1024' as Md5Path)).toThrow(RangeError);
    expect(() => native!(data, u32(0), u32(5), out, 'scalarscalarscalar' as Md5Path)).toThrow(RangeError);
    expect(() => native!('abc' as unknown as Uint8Array, u32(0), u32(1), out)).toThrow(TypeError);
    expect(out.equals(Buffer.alloc(32, 0xee))).toBe(true);
    expect(md5Many(data, u32(0, 95), u32(5, 5), out)).toBeGreaterThan(0); // the boundary itself is fine
  });
});
