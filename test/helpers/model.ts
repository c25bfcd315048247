// The trivial model the engine is checked against: bucket → (key → bytes), plus the S3 listing rules
// written the slow, obvious way (filter, sort by UTF-8 bytes, roll up at the delimiter).
import { byteOrder } from './engine-helpers.js';
import type { Rng } from './prng.js';

export type Model = Map<string, Map<string, Buffer>>;

export interface ListQuery {
  prefix: string;
  delimiter: string;
  startAfter?: string;
}

/** Items in listing order: 'k:' + key or 'p:' + common prefix, each once. */
export function expectedListing(keys: Iterable<string>, q: ListQuery): string[] {
  const sorted = [...keys].filter((k) => k.startsWith(q.prefix)).sort(byteOrder);
  const out: string[] = [];
  const seen = new Set<string>();
  const sa = q.startAfter;
  // A start-after that is itself a common prefix (V1 NextMarker) skips everything under it.
  const saIsPrefix =
    sa !== undefined && q.delimiter !== '' && sa.startsWith(q.prefix) && sa.endsWith(q.delimiter) && sa.indexOf(q.delimiter, q.prefix.length) === sa.length - q.delimiter.length;
  for (const k of sorted) {
    if (sa !== undefined && (byteOrder(k, sa) <= 0 || (saIsPrefix && k.startsWith(sa)))) continue;
    const at = q.delimiter === '' ? -1 : k.indexOf(q.delimiter, q.prefix.length);
    if (at >= 0) {
      const cp = k.slice(0, at + q.delimiter.length);
      if (!seen.has(cp)) {
        seen.add(cp);
        out.push('p:' + cp);
      }
    } else {
      out.push('k:' + k);
    }
  }
  return out;
}

/** Key pieces chosen to stress UTF-8 order: ASCII, 2/3/4-byte sequences, the BMP just below and above the surrogates, U+FFFD, U+FFFF, astral planes. */
export const KEY_PIECES = [
  'a', 'b', 'z', 'A', '0', '-', '.', '~', ' ', 'é', 'ß', '日本', '\u00ff', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uf8ff',
  '\ufffd', '\uffff', '😀', '\u{10000}', '\u{1f600}', '\u{10ffff}', 'dir/', 'x/y/', '/', 'a/',
];

export function makeKeys(rng: Rng, n: number): string[] {
  const keys = new Set<string>();
  while (keys.size < n) {
    let k = '';
    for (let parts = rng.int(1, 4); parts > 0; parts--) k += rng.pick(KEY_PIECES);
    keys.add(k);
  }
  return [...keys];
}

/** A random prefix of `s` cut at a code point boundary (never a lone surrogate). */
export function codePointPrefix(rng: Rng, s: string): string {
  const cps = Array.from(s);
  return cps.slice(0, rng.int(0, cps.length)).join('');
}
