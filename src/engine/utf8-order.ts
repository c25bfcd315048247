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
