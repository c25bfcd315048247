// copyBytes (the addon's memmove, used for the copies into shared chunk buffers): every offset and
// length around the JS/native threshold lands the exact bytes, into shared and plain memory, overlapping
// copies within one buffer behave as memmove, and a source that does not fit throws before writing.
import { describe, expect, it } from 'vitest';

import { copyBytes, nativeAddon } from '../src/native/index.js';
import { mulberry32, testSeed } from './helpers/prng.js';

const seed = testSeed();

function randomBytes(n: number, r: { next(): number }): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r.next() * 256);
  return b;
}

describe(`copyBytes (seed ${seed})`, () => {
  it('is in the addon', () => {
    expect(typeof nativeAddon?.copyBytes).toBe('function');
  });

  it('copies exactly, at every alignment, into shared and plain memory, on both sides of the native threshold', () => {
    const r = mulberry32(seed);
    for (const shared of [true, false]) {
      for (const len of [0, 1, 7, 8, 9, 1023, 1024, 1025, 4099, 65_536 + 5]) {
        for (const at of [0, 1, 3, 8, 13]) {
          const target = shared ? Buffer.from(new SharedArrayBuffer(len + 32)) : Buffer.alloc(len + 32);
          target.fill(0xaa);
          const backing = randomBytes(len + 8, r);
          const source = backing.subarray(5, 5 + len); // a view at an odd offset of its buffer
          expect(copyBytes(target, at, source)).toBe(len);
          const want = Buffer.alloc(len + 32, 0xaa);
          source.copy(want, at);
          if (!target.equals(want)) throw new Error(`shared ${shared}, len ${len}, at ${at}: bytes differ`);
        }
      }
    }
  });

  it('overlapping source and target in one buffer: as memmove', () => {
    const r = mulberry32(seed ^ 0x9e3779b9);
    const buf = Buffer.from(new SharedArrayBuffer(10_000));
    randomBytes(10_000, r).copy(buf);
    const want = Buffer.from(buf);
    want.copyWithin(100, 0, 5000); // forwards overlap
    copyBytes(buf, 100, buf.subarray(0, 5000));
    expect(buf.equals(want)).toBe(true);
    want.copyWithin(0, 300, 5300); // backwards overlap
    copyBytes(buf, 0, buf.subarray(300, 5300));
    expect(buf.equals(want)).toBe(true);
  });

  it('refuses a source that does not fit, or a bad offset, and writes nothing', () => {
    for (const len of [10, 4096]) {
      const target = Buffer.alloc(len, 0xee);
      const source = Buffer.alloc(len, 1);
      expect(() => copyBytes(target, 1, source)).toThrow(RangeError);
      expect(() => copyBytes(target, -1, source.subarray(1))).toThrow(RangeError);
      expect(() => copyBytes(target, 0.5, source.subarray(1))).toThrow(RangeError);
      expect(() => copyBytes(target, len + 1, source.subarray(0, 0))).toThrow(RangeError);
      expect(target.equals(Buffer.alloc(len, 0xee))).toBe(true);
      expect(copyBytes(target, len, source.subarray(0, 0))).toBe(0); // the end itself is fine
    }
    expect(() => nativeAddon!.copyBytes!('x' as unknown as Uint8Array, 0, Buffer.alloc(1))).toThrow(TypeError);
    expect(() => nativeAddon!.copyBytes!(Buffer.alloc(1), '0' as unknown as number, Buffer.alloc(1))).toThrow(TypeError);
  });
});
