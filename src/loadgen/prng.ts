// A small seeded pseudo-random generator for the load generator's data and key choices. Deterministic:
// the same seed gives the same sequence on every machine (no Math.random, no clock).
// xorshift32 state, with the output passed through an integer finalizer so low bits are usable too.

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // A zero state would stay zero forever; mix the seed so nearby seeds give unrelated sequences.
    this.state = mix32((seed >>> 0) ^ 0x5bd1e995) || 0x2545f491;
  }

  /** Uniform uint32. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return mix32(this.state);
  }

  /** Uniform integer in [0, n) for n ≤ 2^32. */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }
}

/** A 32-bit integer finalizer (avalanche: every input bit affects every output bit). */
export function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`, started from `seed`, then finalized. */
export function hashString(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ mix32(seed)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}
