// The per-bucket key index and S3 listing over it, against a Map and the slow listing model, with
// enough keys to cross the index's merge and tombstone thresholds (4096), which the engine-level model
// test never reaches. Seeded: SEDIMENT_SEED=<seed> replays.
import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../src/engine/key-index.js';
import { listKeys } from '../src/engine/list.js';
import { byteOrder } from './helpers/engine-helpers.js';
import { codePointPrefix, expectedListing, KEY_PIECES } from './helpers/model.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';

function randomKey(rng: Rng): string {
  let k = '';
  for (let n = rng.int(1, 5); n > 0; n--) k += rng.pick(KEY_PIECES);
  return k;
}

function listAllItems(index: KeyIndex, q: { prefix: string; delimiter: string; startAfter?: string }, maxKeys: number): string[] {
  const items: string[] = [];
  let token: string | undefined;
  for (let pages = 0; ; pages++) {
    const r = listKeys(index, { ...q, maxKeys, continuationToken: token }, (key, slot) => ({ key, size: slot, etag: '', lastModifiedMs: 0, storageClass: 'STANDARD' }));
    const page = [...r.contents.map((c) => 'k:' + c.key), ...r.commonPrefixes.map((p) => 'p:' + p)].sort((a, b) => byteOrder(a.slice(2), b.slice(2)));
    expect(page.length).toBeLessThanOrEqual(maxKeys);
    items.push(...page);
    if (!r.isTruncated) return items;
    token = r.nextContinuationToken;
    if (pages > 100_000) throw new Error('listing does not end');
  }
}

describe('KeyIndex vs a Map', () => {
  it('set/get/delete/scan across merges and tombstones, in UTF-8 order', () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const index = new KeyIndex();
    const model = new Map<string, number>();
    const rounds = SOAK ? 40 : 4;
    for (let round = 0; round < rounds; round++) {
      // Bursts of inserts (to pass the pending-merge threshold) and of deletes (tombstones).
      const inserts = rng.int(0, 9000);
      for (let i = 0; i < inserts; i++) {
        const key = rng.bool(0.3) && model.size > 0 ? randomKey(rng) : `${randomKey(rng)}${rng.int(0, 1e6)}`;
        const slot = rng.int(0, 1e6);
        index.set(key, slot);
        model.set(key, slot);
      }
      const keys = [...model.keys()];
      const deletes = rng.int(0, Math.floor(keys.length * 0.7));
      for (let i = 0; i < deletes; i++) {
        const key = rng.pick(keys);
        expect(index.delete(key), `seed ${seed}`).toBe(model.get(key) ?? -1);
        model.delete(key);
      }
      expect(index.size, `seed ${seed} round ${round}`).toBe(model.size);
      for (let i = 0; i < 500; i++) {
        const key = rng.bool(0.5) && keys.length > 0 ? rng.pick(keys) : randomKey(rng);
        expect(index.get(key), `seed ${seed}: get ${JSON.stringify(key)}`).toBe(model.get(key) ?? -1);
      }
      const sorted = [...model.keys()].sort(byteOrder);
      expect([...index.scan()].map(([k]) => k), `seed ${seed} round ${round}: scan order`).toEqual(sorted);
      for (let i = 0; i < 20; i++) {
        const probe = rng.bool(0.5) && sorted.length > 0 ? rng.pick(sorted) : randomKey(rng);
        const after = sorted.filter((k) => byteOrder(k, probe) > 0);
        const from = sorted.filter((k) => byteOrder(k, probe) >= 0);
        expect([...index.scan({ after: probe })].map(([k]) => k), `seed ${seed}: after ${JSON.stringify(probe)}`).toEqual(after);
        expect([...index.scan({ from: probe })].map(([k]) => k), `seed ${seed}: from ${JSON.stringify(probe)}`).toEqual(from);
      }
    }
  });

  it('a scan keeps reading its snapshot while the index changes under it', () => {
    const index = new KeyIndex();
    for (let i = 0; i < 10_000; i++) index.set(`k${String(i).padStart(5, '0')}`, i);
    const it = index.scan();
    const seen: string[] = [];
    for (let step = it.next(); !step.done; step = it.next()) {
      seen.push(step.value[0]);
      if (seen.length === 100) for (let i = 0; i < 5000; i++) index.set(`new${i}`, i); // forces a merge
    }
    expect(seen.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(5, '0')}`));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('listing over a large index', () => {
  it('paging with prefix, delimiter and start-after visits every item exactly once', () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const index = new KeyIndex();
    const keys = new Set<string>();
    while (keys.size < 6000) keys.add(randomKey(rng));
    for (const k of keys) index.set(k, 1);
    for (const k of [...keys].slice(0, 1500)) {
      index.delete(k); // tombstones in the sorted part
      keys.delete(k);
    }
    const all = [...keys];
    const queries = SOAK ? 400 : 40;
    for (let q = 0; q < queries; q++) {
      const prefix = rng.bool(0.3) ? '' : codePointPrefix(rng, rng.pick(all));
      const delimiter = rng.pick(['', '/', 'é', '😀', '\ufffd', 'a', 'x/']);
      const startAfter = rng.bool(0.3) ? codePointPrefix(rng, rng.pick(all)) || undefined : undefined;
      const maxKeys = rng.pick([1, 2, 5, 97, 1000]);
      const query = { prefix, delimiter, startAfter };
      expect(listAllItems(index, query, maxKeys), `seed ${seed}: ${JSON.stringify({ ...query, maxKeys })}`).toEqual(expectedListing(all, query));
    }
  });
});
