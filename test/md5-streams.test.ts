// Running MD5s of several streams (src/native/md5-streams.ts, used by the MD5 thread): pieces of every size
// around the 64-byte block (0, 1, 63, 64, 65, odd, large), streams interleaved, flushes at random points,
// drops: every digest equals node:crypto's over the stream's bytes, with the addon's md5Blocks and with
// the node:crypto fallback; streams given together share md5Blocks calls (lanes). Plus md5Blocks' argument
// checking. Seeded: SEDIMENT_SEED=<seed> replays.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/index.js';
import { md5Streams } from '../src/native/md5-streams.js';
import { mulberry32, testSeed } from './helpers/prng.js';

const seed = testSeed();

/** 32-bit integers from the seed (the shared test PRNG). */
function rng(s: number): () => number {
  const r = mulberry32(s);
  return () => (r.next() * 4294967296) >>> 0;
}

const SIZES = [0, 1, 2, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096, 65_536, 1 << 20, 1_000_003];

describe(`running MD5s side by side (seed ${seed})`, () => {
  for (const variant of ['md5Blocks', 'node:crypto fallback'] as const) {
    it(`${variant}: interleaved streams, pieces of every size, flushes anywhere, drops`, () => {
      const next = rng(seed + (variant === 'md5Blocks' ? 0 : 1));
      const set = md5Streams({ fallback: variant !== 'md5Blocks' });
      const bytes = new Map<number, Buffer[]>();
      const pool = Buffer.alloc(1_100_000);
      for (let i = 0; i < pool.length; i++) pool[i] = next() & 0xff;
      let finished = 0;
      for (let step = 0; step < 600; step++) {
        const id = 1 + (next() % 6);
        const r = next() % 10;
        if (r < 7) {
          const size = SIZES[next() % SIZES.length]!;
          const at = next() % (pool.length - size);
          const piece = Buffer.from(pool.subarray(at, at + size)); // its own bytes, as a posted copy is
          set.update(id, piece);
          if (!bytes.has(id)) bytes.set(id, []);
          bytes.get(id)!.push(piece);
        } else if (r < 8) {
          set.flush();
        } else if (r < 9) {
          const want = createHash('md5').update(Buffer.concat(bytes.get(id) ?? [])).digest();
          expect(set.digest(id).equals(want), `stream ${id} at step ${step}`).toBe(true);
          bytes.delete(id);
          finished++;
        } else {
          set.drop(id);
          bytes.delete(id);
        }
      }
      for (const [id, parts] of bytes) expect(set.digest(id).equals(createHash('md5').update(Buffer.concat(parts)).digest())).toBe(true);
      expect(finished).toBeGreaterThan(10);
    });
  }

  it('streams updated together share md5Blocks calls', () => {
    const set = md5Streams();
    expect(set.counts, 'the addon has md5Blocks').toBeDefined();
    const data = Array.from({ length: 4 }, (_, i) => Buffer.alloc(1 << 20, i + 1));
    for (let i = 0; i < 4; i++) set.update(i, data[i]!);
    set.flush();
    expect(set.counts!.calls).toBe(1);
    expect(set.counts!.jobs).toBe(4);
    for (let i = 0; i < 4; i++) expect(set.digest(i).equals(createHash('md5').update(data[i]!).digest())).toBe(true);
  });

  it('md5Blocks refuses a piece that is not whole blocks, and a short states buffer, changing nothing', () => {
    const blocks = nativeAddon!.md5Blocks!;
    const states = Buffer.alloc(32, 7);
    expect(() => blocks(states, [Buffer.alloc(64), Buffer.alloc(65)])).toThrow(RangeError);
    expect(() => blocks(states.subarray(0, 16), [Buffer.alloc(64), Buffer.alloc(64)])).toThrow(RangeError);
    expect(() => blocks(states, [Buffer.alloc(64), 'x' as unknown as Uint8Array])).toThrow(TypeError);
    expect(() => blocks(states, {} as unknown as Uint8Array[])).toThrow(TypeError);
    expect(states.equals(Buffer.alloc(32, 7))).toBe(true);
  });
});
