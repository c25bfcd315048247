// The object table: columns in pages (growing never copies), and copy-on-write views (what a checkpoint
// reads while writes go on and reuse freed slots).
import { describe, expect, it } from 'vitest';
import { ObjectTable, type ObjectEntry } from '../src/engine/object-table.js';

function entry(i: number, extra: Partial<ObjectEntry> = {}): ObjectEntry {
  const md5 = Buffer.alloc(16, i & 0xff);
  md5.writeUInt32LE(i, 0);
  return {
    seq: i + 1, segmentId: 1 + (i % 3), commitOffset: 64 + i * 100, commitLen: 90 + (i % 7), size: i * 10,
    mtimeMs: 1_700_000_000_000 + i, md5, partCount: i % 4, storageClass: i % 2, flags: i % 5, versionId: i % 1000 === 0 ? `v${i}` : '', ...extra,
  };
}

describe('ObjectTable pages', () => {
  it('holds rows across page boundaries: every column of every slot reads back, slots are reused', () => {
    const t = new ObjectTable();
    const n = 20_000; // 8,192 slots a page: three pages
    const slots = Array.from({ length: n }, (_, i) => t.alloc(entry(i)));
    expect(slots).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const i of [0, 1, 8191, 8192, 8193, 16383, 16384, n - 1]) {
      const e = entry(i);
      expect(t.read(i), `slot ${i}`).toEqual(e);
      expect(t.etag(i)).toBe(e.partCount > 0 ? `${e.md5.toString('hex')}-${e.partCount}` : e.md5.toString('hex'));
      expect([t.sizeOf(i), t.mtimeOf(i), t.flagsOf(i), t.storageClassOf(i), t.getSeq(i), t.versionIdOf(i)]).toEqual([e.size, e.mtimeMs, e.flags, e.storageClass, e.seq, e.versionId]);
    }
    t.release(8192);
    t.release(100);
    expect(t.count).toBe(n - 2);
    const locs = t.commitLocations();
    expect(locs.count).toBe(n - 2);
    expect(locs.offset[8191]).toBe(entry(8193).commitOffset); // 100 and 8192 are left out
    expect(t.alloc(entry(5))).toBe(100); // a freed slot first
    expect(t.alloc(entry(6))).toBe(8192);
    expect(t.alloc(entry(7))).toBe(n);
    expect(t.read(8192)).toEqual(entry(6));
  });

  it('reserve() makes room a page at a time, and rows written after it read back', () => {
    const t = new ObjectTable();
    t.reserve(10_000);
    for (let i = 0; i < 10_000; i++) t.alloc(entry(i));
    expect(t.read(9_999)).toEqual(entry(9_999));
    expect(t.count).toBe(10_000);
  });
});

describe('ObjectTable views (copy-on-write)', () => {
  it('keep the rows as they were: overwritten, freed, and freed then reused slots', () => {
    const t = new ObjectTable();
    const slots = Array.from({ length: 10 }, (_, i) => t.alloc(entry(i, { versionId: i === 3 ? 'v3' : '' })));
    const before = slots.map((s) => t.read(s));
    const v = t.view();
    expect(v.keptRows).toBe(0); // nothing copied up front
    t.write(slots[1], entry(101));
    t.release(slots[3]); // drops its version id from the table
    t.release(slots[5]);
    const reused = t.alloc(entry(105)); // takes a freed slot
    expect([slots[3], slots[5]]).toContain(reused);
    t.write(slots[1], entry(201)); // a second change keeps the first saved row
    for (const [i, s] of slots.entries()) expect(v.read(s), `slot ${s}`).toEqual(before[i]);
    expect(v.keptRows).toBe(3);
    // readInto gives the same, into one reused entry.
    const scratch = entry(0, { md5: Buffer.alloc(16) });
    for (const [i, s] of slots.entries()) expect({ ...v.readInto(s, scratch), md5: Buffer.from(scratch.md5) }).toEqual(before[i]);
    // The live table has moved on.
    expect(t.read(slots[1]).seq).toBe(202);
    expect(t.read(reused).seq).toBe(106);
    v.close();
    expect(() => v.read(slots[0])).toThrow(/closed TableView/);
    // Closed: later changes keep nothing.
    t.write(slots[2], entry(300));
    expect(v.keptRows).toBe(0);
  });

  it('do not keep slots that were not in use when the view was taken', () => {
    const t = new ObjectTable();
    t.alloc(entry(0));
    const v = t.view();
    const later = t.alloc(entry(1));
    t.write(later, entry(2));
    expect(v.keptRows).toBe(0);
    v.close();
  });

  it('each keep what changed after it was taken, independently', () => {
    const t = new ObjectTable();
    const s = t.alloc(entry(0));
    const a = t.view();
    t.write(s, entry(1));
    const b = t.view();
    t.write(s, entry(2));
    expect(a.read(s).seq).toBe(1);
    expect(b.read(s).seq).toBe(2);
    a.close();
    b.close();
  });
});

