// A listing with a delimiter jumps over the keys under each common prefix it returns (one descent of the
// index), so a page costs what it returns, wherever it is in the bucket. That jump needs the prefix's
// successor in UTF-8 order; for a prefix ending in a character from U+D7FF up (a delimiter such as '｜'
// U+FF5C, or an emoji) there used to be none, and the listing stepped over every key under the prefix,
// on every page: O(keys) per page. Counted here as index entries visited.
import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../src/engine/key-index.js';
import { listKeys } from '../src/engine/list.js';
import { listVersions } from '../src/engine/list-versions.js';
import { ObjectTable } from '../src/engine/object-table.js';
import { BucketVersioning } from '../src/engine/versions.js';
import { compareUtf8, prefixSuccessor } from '../src/engine/utf8-order.js';

class CountingIndex extends KeyIndex {
  visited = 0;
  override *scan(opts: { after?: string; from?: string } = {}): Generator<[string, number]> {
    for (const step of super.scan(opts)) {
      this.visited++;
      yield step;
    }
  }
}

const DELIMITERS = ['/', '\ud7ff', '\ue000', '｜', '\uffff', '🐟', '\u{10ffff}'];
const PER_PREFIX = 300;

function keysFor(d: string): string[] {
  const keys: string[] = [];
  for (const dir of ['a', 'b', 'c', 'd']) for (let i = 0; i < PER_PREFIX; i++) keys.push(`${dir}${d}${String(i).padStart(4, '0')}`);
  keys.push(`e${d}`, 'f');
  return keys.sort(compareUtf8);
}

describe('prefixSuccessor', () => {
  it('is above every string under the prefix and below the next one', () => {
    for (const [p, next] of [
      ['a/', 'a0'],
      ['a\ud7ff', 'a\ue000'],
      ['a\uffff', 'a\u{10000}'],
      ['a🐟', 'a🐠'],
      ['a\u{10ffff}', 'b'],
      ['\u{10ffff}\u{10ffff}', undefined],
      ['', undefined],
    ] as const) {
      const s = prefixSuccessor(p);
      expect(s, JSON.stringify(p)).toBe(next);
      if (s === undefined) continue;
      for (const under of [p, `${p}\u{10ffff}`, `${p}\uffff\uffff`, `${p}z`]) expect(compareUtf8(under, s)).toBeLessThan(0);
    }
  });
});

describe('listing with a delimiter: cost per page', () => {
  for (const d of DELIMITERS) {
    it(`delimiter U+${d.codePointAt(0)!.toString(16).toUpperCase()}: each common prefix costs a step, not its keys`, () => {
      const index = new CountingIndex();
      const keys = keysFor(d);
      keys.forEach((k, i) => index.set(k, i));
      const entry = (key: string) => ({ key, size: 0, etag: '', lastModifiedMs: 0, storageClass: 'STANDARD' as const });
      const prefixes: string[] = [];
      const contents: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        index.visited = 0;
        const page = listKeys(index, { delimiter: d, maxKeys: 1, continuationToken: token }, entry);
        prefixes.push(...page.commonPrefixes);
        contents.push(...page.contents.map((c) => c.key));
        token = page.nextContinuationToken;
        pages++;
        // The returned entry, the one that shows the page is truncated, and a step into each skipped range.
        expect(index.visited, `page ${pages}`).toBeLessThanOrEqual(3);
      } while (token !== undefined);
      expect(prefixes).toEqual(['a', 'b', 'c', 'd', 'e'].map((x) => `${x}${d}`));
      expect(contents).toEqual(['f']);
    });
  }

  it('ListObjectVersions does the same', () => {
    const d = '｜';
    const table = new ObjectTable();
    const index = new CountingIndex();
    const b = { name: 'b', keys: index, versions: new BucketVersioning() };
    for (const k of keysFor(d)) {
      index.set(k, table.alloc({ seq: 1, segmentId: 1, commitOffset: 0, commitLen: 0, size: 0, mtimeMs: 0, md5: Buffer.alloc(16), partCount: 0, storageClass: 0, flags: 0, versionId: '' }));
    }
    const prefixes: string[] = [];
    let keyMarker: string | undefined;
    do {
      index.visited = 0;
      const page = listVersions(table, b, { delimiter: d, maxKeys: 1, keyMarker }, () => 'STANDARD');
      prefixes.push(...page.commonPrefixes);
      keyMarker = page.nextKeyMarker;
      expect(index.visited).toBeLessThanOrEqual(3);
    } while (keyMarker !== undefined);
    expect(prefixes).toEqual(['a', 'b', 'c', 'd', 'e'].map((x) => `${x}${d}`));
  });
});
