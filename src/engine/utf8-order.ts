// S3 orders keys by their UTF-8 bytes. JavaScript compares strings by UTF-16 code units, which agrees
// with UTF-8 byte order except where a surrogate (U+D800..DFFF, i.e. a code point ≥ U+10000) meets a
// unit in U+E000..FFFF. This comparator fixes exactly that case without encoding either string.

export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca - cb;
    }
  }
  return a.length - b.length;
}

/**
 * The smallest string greater (in UTF-8 order) than every string that starts with `p`: `p` with its last
 * code point raised by one (past the surrogate range; a last U+10FFFF is dropped and the one before it
 * raised). A listing resumes there after a common prefix instead of stepping over every key under it.
 * Undefined when there is none: `p` is empty or all U+10FFFF, or ends in a lone surrogate (keys are valid
 * UTF-8 and never do).
 */
export function prefixSuccessor(p: string): string | undefined {
  let end = p.length;
  while (end > 0) {
    const low = p.charCodeAt(end - 1);
    let start = end - 1;
    let cp = low;
    if (low >= 0xdc00 && low <= 0xdfff && end >= 2) {
      const high = p.charCodeAt(end - 2);
      if (high >= 0xd800 && high <= 0xdbff) {
        cp = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
        start = end - 2;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) return undefined;
    if (cp < 0x10ffff) return p.slice(0, start) + String.fromCodePoint(cp + 1 === 0xd800 ? 0xe000 : cp + 1);
    end = start;
  }
  return undefined;
}
