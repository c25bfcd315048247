// The segment manifest (docs/FORMAT.md §4.2, docs/DURABILITY.md "The segment manifest"): the rules of
// open one at a time (pure), then on an engine: a lost segment file is reported at open and by verify,
// with or without a checkpoint, until its loss is accepted; removals that a crash interrupted (after the
// manifest changed, before the unlink; after a pack's rename, before the manifest changed) are finished
// without a false report; a directory from before the manifest is upgraded; a damaged manifest is
// reported and rebuilt.
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryFileSystem } from '../src/index.js';
import { initHash } from '../src/format/hash.js';
import { ManifestKind } from '../src/format/constants.js';
import { decodeSegmentManifest, encodeSegmentManifest } from '../src/format/segment-manifest.js';
import { reconcileSegments } from '../src/engine/live-segments.js';
import { readAll, tryGet } from './helpers/engine-helpers.js';
import { FaultFs } from './helpers/fault-fs.js';

const { LOG, PACK } = ManifestKind;
const DIR = '/d';

describe('reconcile (the rules of open)', () => {
  const listed = new Map([[1, LOG], [2, LOG], [4, PACK], [5, LOG]] as const);
  const none = new Set<number>();

  it('everything present and listed: nothing to do', () => {
    const r = reconcileSegments({ listed, logIds: [1, 2, 5], packIds: [4], replaced: none });
    expect(r).toMatchObject({ missing: [], leftovers: [], adopted: [], changed: false });
    expect([...r.live]).toEqual([[1, LOG], [2, LOG], [4, PACK], [5, LOG]]);
  });

  it('a listed file that is gone and no pack replaced is missing, and stays listed', () => {
    const r = reconcileSegments({ listed, logIds: [1, 5], packIds: [4], replaced: none });
    expect(r.missing).toEqual([2]);
    expect(r.live.has(2)).toBe(true);
    expect(r.changed).toBe(false);
  });

  it('the newest listed segment gone is missing too (not an interrupted creation: a segment is listed only once whole)', () => {
    expect(reconcileSegments({ listed, logIds: [1, 2], packIds: [4], replaced: none }).missing).toEqual([5]);
  });

  it('a listed file a valid pack replaced is gone on purpose: unlisted, not missing', () => {
    const r = reconcileSegments({ listed, logIds: [5], packIds: [4, 6], replaced: new Set([1, 2]) });
    expect(r.missing).toEqual([]);
    expect(r.adopted).toEqual([6]);
    expect([...r.live.keys()]).toEqual([4, 5, 6]);
    expect(r.changed).toBe(true);
  });

  it('unlisted newer log segments and unlisted packs are adopted; an unlisted older log segment is a leftover', () => {
    const r = reconcileSegments({ listed, logIds: [1, 2, 3, 5, 6, 7], packIds: [4, 3.5 * 2], replaced: none });
    expect(r.adopted).toEqual([6, 7]);
    expect(r.leftovers).toEqual([3]);
    expect(r.live.get(7)).toBe(PACK); // a pack file named 7 wins the kind
  });

  it('without a manifest to trust, the files present are the live set', () => {
    const r = reconcileSegments({ listed: undefined, logIds: [3, 1], packIds: [2], replaced: none });
    expect([...r.live]).toEqual([[1, LOG], [2, PACK], [3, LOG]]);
    expect(r.changed).toBe(true);
  });
});

describe('format (§4.2)', () => {
  it('round-trips and pins the layout; a flipped byte is refused', async () => {
    await initHash();
    const m = { generation: 3, writtenMs: 1_700_000_000_000, entries: [{ segmentId: 1, kind: LOG }, { segmentId: 9, kind: PACK }] };
    const buf = encodeSegmentManifest(m);
    expect(buf.length).toBe(8 + 2 + 2 + 8 + 8 + 4 + 2 * 9 + 8);
    expect(buf.subarray(0, 8).toString('latin1')).toBe('SEDMANI\n');
    expect(buf.readUInt16LE(8)).toBe(1);
    expect(buf.readBigUInt64LE(12)).toBe(3n);
    expect(buf.readDoubleLE(20)).toBe(1_700_000_000_000);
    expect(buf.readUInt32LE(28)).toBe(2);
    expect([buf.readBigUInt64LE(32), buf[40], buf.readBigUInt64LE(41), buf[49]]).toEqual([1n, 0, 9n, 1]);
    expect(decodeSegmentManifest(buf)).toEqual(m);
    for (const at of [0, 9, 33, 49, buf.length - 1]) {
      const bad = Buffer.from(buf);
      bad[at] ^= 0x10;
      expect(() => decodeSegmentManifest(bad), `byte ${at}`).toThrow(/manifest/);
    }
    expect(() => encodeSegmentManifest({ ...m, entries: [...m.entries].reverse() })).toThrow(/ascend/);
  });
});

async function open(fs: MemoryFileSystem, warnings: string[] = []): Promise<Engine> {
  return Engine.open({ dir: DIR, fs, workerThreads: 0, chunkBytes: 64 << 10, segmentBytesMax: 1 << 20, segmentRecordsMax: 8, onWarning: (m) => warnings.push(m) });
}

/** A directory with several sealed segments of objects `k0`..`k{n-1}`; closed without a checkpoint when asked. */
async function filled(n: number, opts: { checkpoint: boolean }): Promise<{ fs: MemoryFileSystem; bodies: Map<string, Buffer> }> {
  const fs = new MemoryFileSystem();
  const e = await open(fs);
  await e.createBucket('bkt');
  const bodies = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    const body = Buffer.alloc(1000 + i, 65 + (i % 26));
    bodies.set(`k${i}`, body);
    await e.putObject('bkt', `k${i}`, body);
  }
  await e.sealActiveSegment();
  await e.close();
  if (!opts.checkpoint) for (const f of await fs.readdir(`${DIR}/checkpoints`)) await fs.unlink(`${DIR}/checkpoints/${f}`);
  return { fs, bodies };
}

async function segmentIds(fs: MemoryFileSystem): Promise<number[]> {
  return (await fs.readdir(`${DIR}/segments`)).map((n) => Number(n.slice(0, 12))).sort((a, b) => a - b);
}

describe('a lost segment file', () => {
  for (const checkpoint of [false, true]) {
    it(`is reported at open and by verify until its loss is accepted (${checkpoint ? 'with' : 'without'} a checkpoint)`, async () => {
      const { fs, bodies } = await filled(30, { checkpoint });
      const ids = await segmentIds(fs);
      const lost = ids[2];
      await fs.unlink(`${DIR}/segments/${String(lost).padStart(12, '0')}.seg`);
      const warnings: string[] = [];
      let e = await open(fs, warnings);
      expect(e.stats().damage.map((d) => d.segmentId)).toContain(lost);
      expect(warnings.some((w) => w.includes(`segment ${lost}`) && w.includes('missing'))).toBe(true);
      const v = await e.verify();
      expect(v.damage.filter((d) => d.segmentId === lost)).toHaveLength(1);
      // The objects of the other segments read exactly; none is ever wrong bytes.
      let exact = 0;
      for (const [key, body] of bodies) {
        const { data, error } = await tryGet(e, 'bkt', key);
        if (!error) {
          expect(data.equals(body), key).toBe(true);
          exact++;
        }
      }
      expect(exact).toBeGreaterThan(0);
      expect(exact).toBeLessThan(bodies.size);
      // Still reported after a reopen; a new segment never takes the lost one's id.
      await e.putObject('bkt', 'after', 'x');
      await e.close();
      e = await open(fs);
      expect(e.stats().damage.map((d) => d.segmentId)).toContain(lost);
      expect(await e.forgetMissingSegments()).toEqual([lost]);
      expect(e.stats().damage.filter((d) => d.segmentId === lost)).toEqual([]);
      // Objects the index still names there (from a checkpoint, or a COMMIT in a later segment whose
      // chunk was in the lost one) are still refused and reported after the loss is accepted.
      const after = await e.verify();
      expect(after.damage.some((d) => d.segmentId === lost)).toBe(after.damagedObjects.length > 0);
      if (checkpoint) expect(after.damagedObjects.length).toBeGreaterThan(0);
      await e.close();
      e = await open(fs);
      expect(e.stats().damage).toEqual([]);
      expect((await readAll((await e.getObject('bkt', 'after')).body)).toString()).toBe('x');
      await e.close();
    });
  }

  it('the newest segment lost (the active one) is reported, and its id is not reused', async () => {
    const fs = new MemoryFileSystem();
    let e = await open(fs);
    await e.createBucket('bkt');
    await e.putObject('bkt', 'a', 'one');
    await e.close();
    for (const f of await fs.readdir(`${DIR}/checkpoints`)) await fs.unlink(`${DIR}/checkpoints/${f}`);
    const ids = await segmentIds(fs);
    const newest = ids[ids.length - 1];
    await fs.unlink(`${DIR}/segments/${String(newest).padStart(12, '0')}.seg`);
    e = await open(fs);
    expect(e.stats().damage.map((d) => d.segmentId)).toEqual([newest]);
    expect(Math.min(...(await segmentIds(fs)).filter((id) => !ids.includes(id)))).toBeGreaterThan(newest);
    await e.close();
  });
});

describe('removals a crash interrupted', () => {
  async function compacted() {
    const { fs } = await filled(40, { checkpoint: true });
    const warnings: string[] = [];
    const e = await open(fs, warnings);
    // Overwrite the early keys (their segments become mostly dead), delete a run of them (all dead).
    for (let i = 0; i < 16; i++) await e.deleteObject('bkt', `k${i}`);
    for (let i = 16; i < 24; i++) await e.putObject('bkt', `k${i}`, Buffer.alloc(50, 7));
    await e.sealActiveSegment();
    const before = new Map<string, Buffer>();
    for (const n of await fs.readdir(`${DIR}/segments`)) before.set(n, await fs.readFile(`${DIR}/segments/${n}`));
    const manifestBefore = await fs.readFile(`${DIR}/manifest`);
    const pool = new MaintenancePool(fs, 0);
    const st = await new Compactor(e.maintenance(), pool, { freeBytesReserve: 0, shrinkStepBytes: 0 }).runPass();
    await pool.close();
    await e.close();
    const after = new Set(await fs.readdir(`${DIR}/segments`));
    const removed = [...before.keys()].filter((n) => !after.has(n));
    return { fs, st, before, removed, manifestBefore, warnings };
  }

  it('after the manifest changed, before the unlink: open finishes the removal, no damage', async () => {
    const { fs, st, before, removed } = await compacted();
    expect(st.segmentsCompacted).toBeGreaterThan(0);
    expect(removed.length).toBeGreaterThan(0);
    // Put every removed file back, one of them cut short (as a crash part way through `shrink` leaves it).
    for (const [i, n] of removed.entries()) {
      const bytes = before.get(n)!;
      await fs.writeFile(`${DIR}/segments/${n}`, i === 0 ? bytes.subarray(0, bytes.length >> 1) : bytes);
    }
    const warnings: string[] = [];
    const e = await open(fs, warnings);
    expect(e.stats().damage).toEqual([]);
    for (const n of removed) expect(await fs.exists(`${DIR}/segments/${n}`), n).toBe(false);
    // Inputs of a pack are removed because the pack names them; segments dropped with nothing live
    // because the manifest no longer lists them.
    expect(warnings.filter((w) => w.includes('removal was interrupted')).length).toBeGreaterThan(0);
    expect(warnings.filter((w) => /removal was interrupted|replaced by a compaction pack/.test(w))).toHaveLength(removed.length);
    expect((await e.verify()).damage).toEqual([]);
    await e.close();
  });

  it('after a pack was renamed in, before the manifest listed it: the pack is adopted, its inputs removed, no damage', async () => {
    const { fs, st, before, removed, manifestBefore } = await compacted();
    expect(st.packsWritten).toBeGreaterThan(0);
    for (const n of removed) await fs.writeFile(`${DIR}/segments/${n}`, before.get(n)!);
    await fs.writeFile(`${DIR}/manifest`, manifestBefore);
    const warnings: string[] = [];
    const e = await open(fs, warnings);
    expect(e.stats().damage).toEqual([]);
    expect(warnings.some((w) => /listing segment \d+ in manifest/.test(w))).toBe(true);
    expect((await e.verify()).damage).toEqual([]);
    const live = decodeSegmentManifest(await fs.readFile(`${DIR}/manifest`)).entries.map((x) => x.segmentId);
    expect(live).toEqual(await segmentIds(fs));
    await e.close();
  });
});

describe('the manifest itself', () => {
  it('a directory from before the manifest (format 4) is listed at its first open and raised to 5, without a report', async () => {
    const { fs } = await filled(20, { checkpoint: false });
    await fs.unlink(`${DIR}/manifest`);
    await fs.writeFile(`${DIR}/FORMAT`, Buffer.from('sediment-data-dir 4\n'));
    const e = await open(fs);
    expect(e.stats().damage).toEqual([]);
    expect((await fs.readFile(`${DIR}/FORMAT`)).toString()).toBe('sediment-data-dir 5\n');
    expect(decodeSegmentManifest(await fs.readFile(`${DIR}/manifest`)).entries.map((x) => x.segmentId)).toEqual(await segmentIds(fs));
    await e.close();
  });

  for (const damage of ['deleted', 'flipped'] as const) {
    it(`${damage}: reported once, rebuilt from the files, then clean`, async () => {
      const { fs } = await filled(20, { checkpoint: false });
      if (damage === 'deleted') await fs.unlink(`${DIR}/manifest`);
      else fs.flipByte(`${DIR}/manifest`, 30);
      let e = await open(fs);
      expect(e.stats().damage).toHaveLength(1);
      expect(e.stats().damage[0].detail).toMatch(damage === 'deleted' ? /manifest is missing/ : /manifest is damaged/);
      await e.close();
      e = await open(fs);
      expect(e.stats().damage).toEqual([]);
      await e.close();
    });
  }
});

describe('listing a new segment fails', () => {
  /**
   * 12 small puts (several segment rolls) with the first `times` manifest writes failing at `op`; the error
   * code of each put. The first listing is the spare's, made in the background: with ENOSPC the roll
   * tries again itself (the disk may have room by then), so the second failure is the one it reports.
   */
  async function putsWithFault(op: 'writeFile' | 'syncFile', code: string, times: number) {
    const mem = new MemoryFileSystem();
    const fs = new FaultFs(mem);
    const e = await Engine.open({ dir: DIR, fs, workerThreads: 0, chunkBytes: 64 << 10, segmentBytesMax: 1 << 20, segmentRecordsMax: 8, onWarning: () => undefined });
    await e.createBucket('bkt');
    // One rule per failure, each firing at its first matching call (a rule that fires stops the check,
    // so the next rule sees the next call first).
    for (let i = 0; i < times; i++) fs.failOn(op, /\/tmp\/manifest$/, 1, code);
    const results: Array<string | undefined> = [];
    for (let i = 0; i < 12; i++) results.push(await e.putObject('bkt', `k${i}`, `v${i}`).then(() => undefined, (err: { code?: string }) => err.code));
    expect(fs.fired.length).toBe(times);
    return { mem, e, results };
  }

  it('with ENOSPC: the writes that needed the new segment are refused, nothing is half-listed, writes resume', async () => {
    const { mem, e, results } = await putsWithFault('writeFile', 'ENOSPC', 2);
    expect(results.filter((r) => r !== undefined)).toContain('SEDIMENT_NO_SPACE');
    expect(results.filter((r) => r !== undefined && r !== 'SEDIMENT_NO_SPACE')).toEqual([]);
    // Writes resume; every acknowledged write survives a power loss; the manifest lists exactly the files.
    await e.putObject('bkt', 'later', 'ok');
    const acked = results.flatMap((r, i) => (r === undefined ? [`k${i}`] : []));
    mem.crash();
    const e2 = await open(mem);
    expect(e2.stats().damage).toEqual([]);
    for (const key of [...acked, 'later']) expect((await readAll((await e2.getObject('bkt', key)).body)).length, key).toBeGreaterThan(0);
    expect(decodeSegmentManifest(await mem.readFile(`${DIR}/manifest`)).entries.map((x) => x.segmentId)).toEqual(await segmentIds(mem));
    await e2.close();
    await e.close().catch(() => undefined);
  });

  it('with EIO: the writer stops (reads go on), and nothing acknowledged is lost', async () => {
    const { mem, e, results: codes } = await putsWithFault('syncFile', 'EIO', 1);
    expect(codes).toContain('SEDIMENT_WRITER_FAILED');
    const acked = codes.flatMap((c, i) => (c === undefined ? [`k${i}`] : []));
    expect(acked.length).toBeGreaterThan(0);
    for (const key of acked) expect((await readAll((await e.getObject('bkt', key)).body)).toString()).toBe(`v${key.slice(1)}`);
    await e.close().catch(() => undefined);
    mem.crash();
    const e2 = await open(mem);
    for (const key of acked) expect((await readAll((await e2.getObject('bkt', key)).body)).toString()).toBe(`v${key.slice(1)}`);
    await e2.close();
  });
});
