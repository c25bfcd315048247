// A tiny seeded PRNG (mulberry32) for randomized tests: same seed, same sequence, so any failure can be
// replayed with SEDIMENT_SEED=<seed>. Not for anything but tests.

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  bool(pTrue?: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return {
    seed,
    next,
    int,
    bool: (pTrue = 0.5) => next() < pTrue,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    bytes(n: number): Buffer {
      const out = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) out.writeUInt32LE((next() * 4294967296) >>> 0, i);
      for (; i < n; i++) out[i] = (next() * 256) >>> 0;
      return out;
    },
  };
}

/** The seed to use: SEDIMENT_SEED if set (replay), else a fresh random one. */
export function testSeed(): number {
  const env = process.env.SEDIMENT_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`SEDIMENT_SEED must be an integer, got "${env}"`);
    return n >>> 0;
  }
  return (Math.random() * 4294967296) >>> 0;
}

/** True when the long randomized loops should run (SEDIMENT_SOAK=1). */
export const SOAK = process.env.SEDIMENT_SOAK === '1';
