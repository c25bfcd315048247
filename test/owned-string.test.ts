// ownedString: the copy a long-lived index keeps of a key must be the same string, unit for unit.
import { describe, expect, it } from 'vitest';
import { ownedString } from '../src/util/owned-string.js';

describe('ownedString', () => {
  it('returns an equal string for keys of every shape and length', () => {
    const url = '/bucket/logs/2026/11/25/host-07/000012345.log?x-id=PutObject';
    const sliced = url.slice(url.indexOf('/', 1) + 1, url.indexOf('?'));
    const cases = [
      '', 'a', sliced, 'é日本😀\ue000\uffff\u{10ffff}', 'x'.repeat(1024), '日'.repeat(1365), '日'.repeat(1366), '😀'.repeat(2000),
      `${'a'.repeat(20)}${String(42).padStart(9, '0')}`,
    ];
    for (const s of cases) {
      const owned = ownedString(s);
      expect(owned.length).toBe(s.length);
      expect(owned === s).toBe(true);
    }
    expect(ownedString(sliced)).toBe('logs/2026/11/25/host-07/000012345.log');
  });

  it('keeps a string that is not well-formed UTF-16 as it is (a UTF-8 round trip would change it)', () => {
    for (const s of ['a\ud800', '\udc00b', 'x\ud800\ud800y']) {
      expect(ownedString(s)).toBe(s);
    }
  });
});
