// `verify` on a large data directory. Measured at 1.5 million small objects (3 million records): the check of
// every object's records against the valid frames took 29 of its 50 s with the progress already at 100 %
// and nothing said, and the valid offsets were kept as a Set per segment (peak RSS ~960 instead of ~720 MiB).
// Here: the object phase reports progress, counted in index entries; offsets take 8 bytes a record.
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { RecordOffsets } from '../src/engine/record-offsets.js';

describe('verify: valid record offsets', () => {
  it('finds exactly the offsets given, in 8 bytes each, in any order', () => {
    const given = [4096, 64, 1 << 33, 100, 2048];
    const o = new RecordOffsets(given);
    expect(o.size).toBe(5);
    expect(o.bytes).toBe(5 * 8);
    for (const x of given) expect(o.has(x)).toBe(true);
    for (const x of [0, 63, 65, 99, 4095, 4097, (1 << 33) + 1, -1]) expect(o.has(x)).toBe(false);
    expect(new RecordOffsets([]).has(0)).toBe(false);
  });
});

describe('verify: progress of the object phase', () => {
  it('reports every index entry checked (objects, older versions, delete markers), after the segments', async () => {
    const e = await Engine.open({ dir: '/data', fs: new MemoryFileSystem(), workerThreads: 0, segmentRecordsMax: 1000, onWarning: () => undefined });
    await e.createBucket('logs');
    await e.createBucket('kept');
    await e.setBucketVersioning('kept', 'Enabled');
    const n = 2500;
    for (let i = 0; i < n; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => e.putObject('logs', `app/${String(i + j).padStart(5, '0')}.log`, Buffer.from(`line ${i + j}\n`))));
    }
    for (let i = 0; i < 300; i++) await e.putObject('kept', `k/${i % 100}`, Buffer.from(`v${i}`)); // 100 keys, 3 versions each
    for (let i = 0; i < 10; i++) await e.deleteObject('kept', `k/${i}`); // + 10 delete markers
    const entries = n + 300 + 10;
    const calls: Array<[number, number, string]> = [];
    const r = await e.verify((done, total, phase) => calls.push([done, total, phase]));
    expect(r.damage).toEqual([]);
    expect(r.damagedObjects).toEqual([]);
    expect(r.objectsChecked).toBe(entries);
    const segments = calls.filter((c) => c[2] === 'segments');
    const objects = calls.filter((c) => c[2] === 'objects');
    expect(segments.length).toBeGreaterThan(1);
    // Segments first, then objects; at least one report per 1,024 entries, and a last one at 100 %.
    expect(calls.findIndex((c) => c[2] === 'objects')).toBe(segments.length);
    expect(objects.length).toBeGreaterThanOrEqual(Math.floor(entries / 1024) + 1);
    expect(objects.at(-1)).toEqual([entries, entries, 'objects']);
    for (let i = 1; i < objects.length; i++) expect(objects[i][0]).toBeGreaterThanOrEqual(objects[i - 1][0]);
    await e.close();
  });
});
