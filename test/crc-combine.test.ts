// crcCombine / crcOfParts / crcDigestOfParts against the project's own CRCs (src/native/index.ts)
// run over the concatenated bytes: random splits, empty and 1-byte pieces, MiB-sized tails, many
// small parts, the published check values, and argument validation. Randomized cases use one
// seed, printed below; replay with SEDIMENT_SEED=<seed>.

import { describe, expect, it } from 'vitest';

import { crcCombine, crcDigestOfParts, crcOfParts, type CrcAlgorithm } from '../src/native/crc-combine.js';
import { crc32, crc32c, crc64nvme } from '../src/native/index.js';
import { mulberry32, testSeed, type Rng } from './helpers/prng.js';

const seed = testSeed();
console.log(`crc-combine.test.ts seed: ${seed} (replay with SEDIMENT_SEED=${seed})`);

interface Alg {
  name: CrcAlgorithm;
  bytes: number;
  /** Ground truth: the CRC of `buf`, as a bigint. */
  crc(buf: Uint8Array): bigint;
  /** The published CRC of the ASCII bytes "123456789". */
  check: bigint;
}

const algs: Alg[] = [
  { name: 'CRC32', bytes: 4, crc: (b) => BigInt(crc32(b)), check: 0xcbf43926n },
  { name: 'CRC32C', bytes: 4, crc: (b) => BigInt(crc32c(b)), check: 0xe3069283n },
  { name: 'CRC64NVME', bytes: 8, crc: (b) => crc64nvme(b), check: 0xae8b14860a799888n },
];

/** Big-endian digest of a CRC, built independently of the module under test. */
function digestOf(alg: Alg, crc: bigint): Buffer {
  const out = Buffer.alloc(alg.bytes);
  if (alg.bytes === 4) out.writeUInt32BE(Number(crc));
  else out.writeBigUInt64BE(crc);
  return out;
}

/** Cuts `whole` at `count - 1` random points (pieces may be empty). */
function randomPieces(rng: Rng, whole: Buffer, count: number): Buffer[] {
  const cuts = Array.from({ length: count - 1 }, () => rng.int(0, whole.length)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, whole.length]) {
    pieces.push(whole.subarray(start, cut));
    start = cut;
  }
  return pieces;
}

describe.each(algs)('$name', (alg) => {
  const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

  it('reproduces the published check value of "123456789" from "12345" and "6789"', () => {
    expect(alg.crc(ascii('123456789'))).toBe(alg.check); // the ground truth itself
    expect(crcCombine(alg.name, alg.crc(ascii('12345')), alg.crc(ascii('6789')), 4)).toBe(alg.check);
    expect(crcOfParts(alg.name, [
      { crc: alg.crc(ascii('1')), size: 1 },
      { crc: alg.crc(ascii('234')), size: 3 },
      { crc: 0n, size: 0 },
      { crc: alg.crc(ascii('56789')), size: 5 },
    ])).toBe(alg.check);
    expect(crcDigestOfParts(alg.name, [
      { digest: digestOf(alg, alg.crc(ascii('1234'))), size: 4 },
      { digest: digestOf(alg, alg.crc(ascii('56789'))), size: 5 },
    ]).toString('hex')).toBe(alg.check.toString(16).padStart(alg.bytes * 2, '0'));
  });

  it('combines random splits of random buffers', () => {
    const rng = mulberry32(seed ^ 0x5eed);
    for (let round = 0; round < 300; round++) {
      const whole = rng.bytes(rng.int(0, 2000));
      const cut = rng.pick([0, whole.length, rng.int(0, whole.length)]);
      const a = whole.subarray(0, cut);
      const b = whole.subarray(cut);
      const got = crcCombine(alg.name, alg.crc(a), alg.crc(b), b.length);
      if (got !== alg.crc(whole)) {
        expect.fail(`round ${round}: lenA ${a.length}, lenB ${b.length}: ${got.toString(16)} != ${alg.crc(whole).toString(16)}`);
      }
    }
  });

  it('treats empty pieces as identities', () => {
    const rng = mulberry32(seed ^ 0xe0);
    const data = rng.bytes(123);
    const crc = alg.crc(data);
    expect(alg.crc(new Uint8Array(0))).toBe(0n);
    expect(crcCombine(alg.name, crc, 0n, 0)).toBe(crc); // lenB = 0
    expect(crcCombine(alg.name, 0n, crc, data.length)).toBe(crc); // lenA = 0
    expect(crcCombine(alg.name, 0n, 0n, 0)).toBe(0n);
  });

  it('folds a buffer in 1-byte pieces', () => {
    const data = mulberry32(seed ^ 0x1b).bytes(257);
    let acc = 0n;
    for (let i = 0; i < data.length; i++) {
      acc = crcCombine(alg.name, acc, alg.crc(data.subarray(i, i + 1)), 1);
    }
    expect(acc).toBe(alg.crc(data));
  });

  it('combines MiB-sized second pieces', () => {
    const rng = mulberry32(seed ^ 0x1111);
    const head = rng.bytes(rng.int(1, 100));
    for (const tail of [rng.bytes((1 << 20) + rng.int(0, 4095)), Buffer.alloc(4 << 20), rng.bytes(3 << 20)]) {
      const whole = Buffer.concat([head, tail]);
      expect(crcCombine(alg.name, alg.crc(head), alg.crc(tail), tail.length)).toBe(alg.crc(whole));
    }
  });

  it('is associative at lengths far beyond 2^32 bytes', () => {
    // No ground truth at these sizes, but a length mishandled past 32 bits breaks this identity.
    const rng = mulberry32(seed ^ 0xa55);
    const max = (1n << BigInt(alg.bytes * 8)) - 1n;
    const randomCrc = (): bigint => (BigInt(rng.int(0, 2 ** 32 - 1)) << 32n | BigInt(rng.int(0, 2 ** 32 - 1))) & max;
    for (let round = 0; round < 20; round++) {
      const [a, b, c] = [randomCrc(), randomCrc(), randomCrc()];
      const lenB = rng.int(0, 2 ** 52);
      const lenC = rng.pick([0, rng.int(1, 2 ** 33), Number.MAX_SAFE_INTEGER - lenB]);
      const left = crcCombine(alg.name, crcCombine(alg.name, a, b, lenB), c, lenC);
      const right = crcCombine(alg.name, a, crcCombine(alg.name, b, c, lenC), lenB + lenC);
      expect(right, `round ${round}: lenB ${lenB}, lenC ${lenC}`).toBe(left);
    }
  });

  it('crcOfParts over 1, 2 and 7 uneven parts equals the CRC of the concatenation', () => {
    const rng = mulberry32(seed ^ 0x0b7);
    const whole = rng.bytes(5000);
    for (const count of [1, 2, 7]) {
      for (let round = 0; round < 10; round++) {
        const pieces = randomPieces(rng, whole, count);
        const parts = pieces.map((p) => ({ crc: alg.crc(p), size: p.length }));
        expect(crcOfParts(alg.name, parts), `${count} parts: ${pieces.map((p) => p.length).join(',')}`).toBe(alg.crc(whole));
      }
    }
  });

  it('crcOfParts over 10,000 parts of 1..64 bytes equals the CRC of the concatenation', () => {
    const rng = mulberry32(seed ^ 0x10000);
    const pieces = Array.from({ length: 10_000 }, () => rng.bytes(rng.int(1, 64)));
    const parts = pieces.map((p) => ({ crc: alg.crc(p), size: p.length }));
    expect(crcOfParts(alg.name, parts)).toBe(alg.crc(Buffer.concat(pieces)));
  });

  it('crcOfParts of no parts is the CRC of nothing', () => {
    expect(crcOfParts(alg.name, [])).toBe(0n);
    expect(crcDigestOfParts(alg.name, [])).toEqual(Buffer.alloc(alg.bytes));
  });

  it('crcDigestOfParts equals the big-endian digest of the whole', () => {
    const rng = mulberry32(seed ^ 0xd16);
    const whole = rng.bytes(10_000);
    for (const count of [1, 3, 50]) {
      const pieces = randomPieces(rng, whole, count);
      const parts = pieces.map((p) => ({ digest: digestOf(alg, alg.crc(p)), size: p.length }));
      const got = crcDigestOfParts(alg.name, parts);
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.toString('hex'), `${count} parts`).toBe(digestOf(alg, alg.crc(whole)).toString('hex'));
    }
  });

  it('crcDigestOfParts reads digests that are plain Uint8Array views at odd offsets', () => {
    const rng = mulberry32(seed ^ 0x0dd);
    const pieces = [rng.bytes(100), rng.bytes(1), rng.bytes(77)];
    const parts = pieces.map((p, i) => {
      const backing = new Uint8Array(alg.bytes + 2 * i + 1).fill(0xff);
      backing.set(digestOf(alg, alg.crc(p)), 2 * i + 1);
      return { digest: backing.subarray(2 * i + 1), size: p.length };
    });
    expect(crcDigestOfParts(alg.name, parts)).toEqual(digestOf(alg, alg.crc(Buffer.concat(pieces))));
  });

  describe('rejects bad arguments', () => {
    const max = (1n << BigInt(alg.bytes * 8)) - 1n;

    it('lengths that are not non-negative safe integers', () => {
      for (const len of [-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
        expect(() => crcCombine(alg.name, 1n, 2n, len), String(len)).toThrow(RangeError);
        expect(() => crcCombine(alg.name, 1n, 2n, len)).toThrow(/lenB must be a non-negative safe integer/);
      }
      expect(() => crcCombine(alg.name, 1n, 2n, 4n as unknown as number)).toThrow(TypeError);
      expect(() => crcOfParts(alg.name, [{ crc: 1n, size: 3 }, { crc: 2n, size: -3 }])).toThrow(/parts\[1\]\.size/);
      expect(() => crcDigestOfParts(alg.name, [{ digest: Buffer.alloc(alg.bytes), size: 0.5 }])).toThrow(RangeError);
    });

    it('CRCs outside 0..2^width-1 or not bigints', () => {
      expect(crcCombine(alg.name, max, max, 1)).toBeLessThanOrEqual(max); // the boundary itself is fine
      for (const crc of [-1n, max + 1n]) {
        expect(() => crcCombine(alg.name, crc, 0n, 1)).toThrow(RangeError);
        expect(() => crcCombine(alg.name, 0n, crc, 1)).toThrow(/crcB must be in 0\.\.2\^(32|64)-1/);
        expect(() => crcOfParts(alg.name, [{ crc, size: 1 }])).toThrow(/parts\[0\]\.crc/);
      }
      expect(() => crcCombine(alg.name, 5 as unknown as bigint, 0n, 1)).toThrow(TypeError);
    });

    it('digests of the wrong length or type', () => {
      for (const n of [0, alg.bytes - 1, alg.bytes + 1, alg.bytes === 4 ? 8 : 4]) {
        expect(() => crcDigestOfParts(alg.name, [{ digest: new Uint8Array(n), size: 1 }])).toThrow(RangeError);
      }
      expect(() => crcDigestOfParts(alg.name, [{ digest: Buffer.alloc(alg.bytes), size: 1 }, { digest: new Uint8Array(3), size: 1 }]))
        .toThrow(new RegExp(`parts\\[1\\]\\.digest must be ${alg.bytes} bytes`));
      expect(() => crcDigestOfParts(alg.name, [{ digest: 'AAAAAA==' as unknown as Uint8Array, size: 1 }])).toThrow(TypeError);
    });
  });
});

it('a 32-bit CRC above 2^32-1 is only valid for CRC64NVME', () => {
  expect(() => crcCombine('CRC32', 1n << 32n, 0n, 0)).toThrow(RangeError);
  expect(() => crcCombine('CRC32C', 1n << 32n, 0n, 0)).toThrow(RangeError);
  expect(crcCombine('CRC64NVME', 1n << 32n, 0n, 0)).toBe(1n << 32n);
});

it('rejects an unknown algorithm', () => {
  expect(() => crcCombine('CRC16' as CrcAlgorithm, 0n, 0n, 0)).toThrow(/unknown CRC algorithm "CRC16"/);
  expect(() => crcOfParts('toString' as CrcAlgorithm, [])).toThrow(TypeError);
});
