// The addon's XXH64 (native/src/xxh64.c) against xxhash-wasm, the implementation it stands in for: every
// length that exercises the 32-byte stripes, the 8-, 4- and 1-byte tails, unaligned and shared-memory views,
// long inputs; bad arguments are refused. And format/hash.ts's xxh64 gives the same as both.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';

import { initHash, xxh64 } from '../src/format/hash.js';
import { nativeAddon } from '../src/native/index.js';

const { h64Raw } = await xxhash();
await initHash();
const native = nativeAddon?.xxh64;

describe('native XXH64', () => {
  it('is in the addon', () => {
    expect(typeof native).toBe('function');
  });

  it('equals xxhash-wasm for every length 0..600 and at every offset 0..7 of a buffer', () => {
    const data = randomBytes(700);
    for (let offset = 0; offset < 8; offset++) {
      for (let n = 0; n <= 600; n++) {
        const view = data.subarray(offset, offset + n);
        expect(native!(view), `length ${n} at offset ${offset}`).toBe(h64Raw(view, 0n));
      }
    }
  });

  it('equals xxhash-wasm for long inputs, all zeros, all ones and shared memory', () => {
    for (const n of [1 << 20, (1 << 20) + 13, 5_000_001]) {
      const b = randomBytes(n);
      expect(native!(b)).toBe(h64Raw(b, 0n));
    }
    for (const fill of [0x00, 0xff]) {
      const b = Buffer.alloc(4096 + 7, fill);
      expect(native!(b)).toBe(h64Raw(b, 0n));
    }
    const shared = new Uint8Array(new SharedArrayBuffer(70_000));
    shared.set(randomBytes(70_000));
    const view = shared.subarray(3, 69_990);
    expect(native!(view)).toBe(h64Raw(new Uint8Array(view), 0n));
  });

  it('is the XXH64 of the reference vectors (seed 0)', () => {
    expect(native!(Buffer.alloc(0))).toBe(0xef46db3751d8e999n);
    expect(native!(Buffer.from('a'))).toBe(h64Raw(Buffer.from('a'), 0n));
  });

  it('format/hash.ts xxh64 agrees with both, short and long', () => {
    for (const n of [0, 5, 31, 32, 33, 4096, (1 << 20) + 1, 3 << 20]) {
      const b = randomBytes(n);
      expect(xxh64(b)).toBe(h64Raw(b, 0n));
    }
  });

  it('refuses what is not a Uint8Array', () => {
    const call = native as unknown as (...args: unknown[]) => bigint;
    expect(() => call()).toThrow(TypeError);
    expect(() => call('text')).toThrow(/must be a Uint8Array/);
    expect(() => call(new Uint16Array(4))).toThrow(/must be a Uint8Array/);
    expect(() => call(new ArrayBuffer(8))).toThrow(/must be a Uint8Array/);
  });
});
