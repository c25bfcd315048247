// Compaction's contracts one at a time, on the in-memory file system: a damaged record stays reported
// (copied as is, named by verify and reads) while the rest is copied; a reader streaming an object while
// its segment is compacted gets the right bytes; no pass starts without free space for what it copies;
// a delete marker survives while an older record of its key remains; accounting adds up.
import { describe, expect, it } from 'vitest';
import { BackgroundMaintenance, censusRecords, Compactor, CorruptionError, Engine, MaintenancePool, MemoryFileSystem, Scrubber, takeCensus } from '../src/index.js';
import { SegmentStore } from '../src/engine/segment-store.js';
import { readAll } from './helpers/engine-helpers.js';
import { FaultFs } from './helpers/fault-fs.js';
import { mulberry32 } from './helpers/prng.js';

const CHUNK = 64 << 10;

async function setup(fs = new MemoryFileSystem()) {
  const warnings: string[] = [];
  const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: (m) => warnings.push(m) });
  const pool = new MaintenancePool(fs, 0);
  const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0 });
  return { fs, e, c, warnings };
}

/** Flips one byte of `needle`'s first occurrence in any segment file; returns file and offset. */
async function flipByte(fs: MemoryFileSystem, needle: Buffer): Promise<{ name: string; at: number }> {
  for (const name of await fs.readdir('/d/segments')) {
    const bytes = await fs.readFile(`/d/segments/${name}`);
    const at = bytes.indexOf(needle);
    if (at < 0) continue;
    const fh = await fs.open(`/d/segments/${name}`, 'readwrite');
    await fh.writev([Buffer.from([bytes[at + 10] ^ 0x5a])], at + 10);
    await fh.datasync();
    await fh.close();
    return { name, at };
  }
  throw new Error('needle not found');
}

describe('compaction', () => {
  it('copies the rest and keeps a damaged live record reported, at its new place too', async () => {
    const { fs, e, c, warnings } = await setup();
    const rng = mulberry32(7);
    await e.createBucket('bkt');
    const good = new Map<string, Buffer>();
    for (let i = 0; i < 20; i++) {
      const data = rng.bytes(3000 + i); // incompressible: stored raw, findable on disk
      good.set(`k${i}`, data);
      await e.putObject('bkt', `k${i}`, data);
    }
    for (let i = 0; i < 20; i += 2) {
      await e.deleteObject('bkt', `k${i}`);
      good.delete(`k${i}`);
    }
    await e.sealActiveSegment();
    const damagedKey = 'k7';
    const hit = await flipByte(fs, good.get(damagedKey)!.subarray(100, 132));
    const segmentId = Number(hit.name.slice(0, 12));

    const st = await c.runPass();
    expect(st.packsWritten).toBe(1);
    // A directory holding packs says so (at least 2; every directory is at 5, the manifest, from its
    // first open): an older sediment refuses it instead of misreading it.
    expect((await fs.readFile('/d/FORMAT')).toString()).toBe('sediment-data-dir 5\n');
    expect(st.damaged).toHaveLength(1);
    expect(st.damaged[0].segmentId).toBe(segmentId);
    expect(st.damaged[0].offset).toBeLessThan(hit.at);
    expect(st.damaged[0].offset + st.damaged[0].frameLen).toBeGreaterThan(hit.at);
    expect(warnings.some((w) => w.includes(`damaged live record in segment ${segmentId}`))).toBe(true);
    // The input is gone; the rest reads back; the damaged object is an error, never bytes.
    expect((await fs.readdir('/d/segments')).some((n) => n === hit.name)).toBe(false);
    for (const [key, data] of good) {
      if (key === damagedKey) continue;
      expect((await readAll((await e.getObject('bkt', key)).body)).equals(data)).toBe(true);
    }
    const failed = await e.getObject('bkt', damagedKey).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(CorruptionError);
    expect((failed as CorruptionError).segmentId).toBe(st.damaged[0].packId);
    expect((failed as CorruptionError).offset).toBe(st.damaged[0].packOffset);
    // verify names the pack and offset, and the object.
    const v = await e.verify();
    expect(v.damage.map((d) => [d.segmentId, d.offset])).toEqual([[st.damaged[0].packId, st.damaged[0].packOffset]]);
    expect(v.damagedObjects.map((o) => o.key)).toEqual([damagedKey]);
    // Still so after a reopen, and a second pass does not lose it either.
    await c.stop();
    await e.close();
    const again = await setup(fs);
    await again.c.runPass({ sealFirst: true });
    const v2 = await again.e.verify();
    expect(v2.damagedObjects.map((o) => o.key)).toEqual([damagedKey]);
    expect(await again.e.getObject('bkt', 'k9').then((g) => readAll(g.body))).toEqual(good.get('k9'));
    await again.e.close();
  });

  it('a reader streaming an object while its segment is compacted gets the right bytes', async () => {
    const { fs, e, c } = await setup();
    const rng = mulberry32(11);
    await e.createBucket('bkt');
    const big = rng.bytes(6 * CHUNK + 123);
    await e.putObject('bkt', 'big', big);
    for (let i = 0; i < 30; i++) await e.putObject('bkt', `junk${i}`, rng.bytes(8000));
    for (let i = 0; i < 30; i++) await e.deleteObject('bkt', `junk${i}`);
    await e.sealActiveSegment();
    const before = await fs.readdir('/d/segments');

    const g = await e.getObject('bkt', 'big');
    const it = g.body[Symbol.asyncIterator]();
    const first = (await it.next()).value as Buffer; // the stream is open, its later chunks not read yet
    const st = await c.runPass();
    expect(st.packsWritten).toBeGreaterThan(0);
    const after = await fs.readdir('/d/segments');
    expect(after.some((n) => n.endsWith('.pack'))).toBe(true);
    // The stream pins the segment it began in: the pass replaced it, but its removal waits for the stream.
    const home = (await Promise.all(before.map(async (n) => ((await fs.readFile(`/d/segments/${n}`)).includes(big.subarray(0, 256)) ? n : undefined)))).find((n) => n !== undefined)!;
    expect(home).toBeDefined();
    expect(st.segmentsCompacted).toBeGreaterThan(0);
    expect(after).toContain(home);
    const rest: Buffer[] = [first];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value as Buffer);
    expect(Buffer.concat(rest).equals(big)).toBe(true);
    await c.removalsSettled();
    expect(await fs.readdir('/d/segments')).not.toContain(home); // removed once the stream let go
    await e.close();
  });

  it('a GET that began before its object was overwritten reads the old version whole, though a pass dropped it meanwhile', async () => {
    const { fs, e, c, warnings } = await setup();
    const rng = mulberry32(12);
    await e.createBucket('bkt');
    const old = rng.bytes(8 * CHUNK + 5);
    await e.putObject('bkt', 'big', old);
    await e.sealActiveSegment();
    const g = await e.getObject('bkt', 'big');
    const it = g.body[Symbol.asyncIterator]();
    const got: Buffer[] = [(await it.next()).value as Buffer]; // later chunks are not read yet
    await e.putObject('bkt', 'big', 'the new version');
    await e.sealActiveSegment();
    const st = await c.runPass(); // returns at once: the old segment's removal waits for the stream
    expect(st.recordsDropped).toBeGreaterThan(0);
    expect(await fs.exists('/d/segments/000000000001.seg')).toBe(true);
    for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value as Buffer);
    expect(Buffer.concat(got).equals(old)).toBe(true);
    await c.removalsSettled();
    expect(await fs.exists('/d/segments/000000000001.seg')).toBe(false);
    expect((await readAll((await e.getObject('bkt', 'big')).body)).toString()).toBe('the new version');
    expect(warnings).toEqual([]);
    await e.close();
  });

  it('a read of a segment compaction removed is "overwritten or deleted"; a segment missing otherwise is corruption', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/s');
    const store = new SegmentStore(fs, '/s');
    const missing = await store.readRaw(7, 64, 100).catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(CorruptionError);
    await store.forget(8); // compaction is done with segment 8 and unlinks it
    const retired = await store.readRaw(8, 64, 100).catch((err: unknown) => err);
    expect(retired).not.toBeInstanceOf(CorruptionError);
    expect(retired).toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY', message: expect.stringMatching(/overwritten or deleted while it was being read/) });
  });

  it('a stream let go before its first read, or a HEAD-like early return, releases its pin', async () => {
    const { fs, e, c } = await setup();
    const rng = mulberry32(13);
    await e.createBucket('bkt');
    await e.putObject('bkt', 'big', rng.bytes(4 * CHUNK));
    await e.sealActiveSegment();
    const lent = (await e.getObjectData('bkt', 'big', { bufferBytesMax: 0, lend: true })).lent!;
    await lent.return(undefined); // never iterated
    const plain = await e.getObject('bkt', 'big');
    plain.body.destroy(); // never read
    await e.deleteObject('bkt', 'big');
    await e.sealActiveSegment();
    await c.runPass();
    await c.removalsSettled();
    expect(await fs.exists('/d/segments/000000000001.seg')).toBe(false);
    await e.close();
  });

  it('reads racing a pass (started before its swap) get the right bytes, and the inputs go afterwards', async () => {
    const { fs, e, c } = await setup();
    await e.createBucket('bkt');
    const keep = Buffer.alloc(5000, 7);
    await e.putObject('bkt', 'keep', keep);
    for (let i = 0; i < 20; i++) await e.putObject('bkt', `junk${i}`, Buffer.alloc(5000, i));
    for (let i = 0; i < 20; i++) await e.deleteObject('bkt', `junk${i}`);
    await e.sealActiveSegment();
    const inputs = (await fs.readdir('/d/segments')).filter((n) => n.endsWith('.seg'));
    // Start many reads, then the pass: the reads started before the swap read the old file, which must
    // still be there for them.
    const reads = Array.from({ length: 20 }, () => e.getObject('bkt', 'keep').then((g) => readAll(g.body)));
    const pass = c.runPass();
    for (const r of await Promise.all(reads)) expect(r.equals(keep)).toBe(true);
    await pass;
    const now = await fs.readdir('/d/segments');
    expect(inputs.filter((n) => now.includes(n)).length).toBeLessThan(inputs.length);
    expect((await readAll((await e.getObject('bkt', 'keep')).body)).equals(keep)).toBe(true);
    await e.close();
  });

  it('frees a replaced segment in truncation steps before its unlink; an interrupted shrink leaves a leftover that open removes', async () => {
    const disk = new MemoryFileSystem();
    const fs = new FaultFs(disk);
    const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
    const pool = new MaintenancePool(fs, 0);
    const rng = mulberry32(11);
    await e.createBucket('bkt');
    const live = new Map<string, Buffer>();
    for (let i = 0; i < 60; i++) {
      const data = rng.bytes(40_000);
      await e.putObject('bkt', `k${i}`, data);
      if (i % 3 === 0) live.set(`k${i}`, data);
      else await e.deleteObject('bkt', `k${i}`);
    }
    await e.sealActiveSegment();
    const before = new Map<string, number>();
    for (const n of await disk.readdir('/d/segments')) before.set(n, await disk.fileSize(`/d/segments/${n}`));
    // 64 KiB steps; the 3rd truncation of a segment file fails, as a dying disk or a kill would stop it.
    fs.failOn('truncate', /\.seg$/, 3, 'EIO');
    const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0, shrinkStepBytes: 64 << 10, shrinkPauseMs: 0 });
    await expect(c.runPass({ sealFirst: true })).rejects.toThrow(/EIO/);
    expect(fs.fired.length, 'the fault fired').toBe(1);
    // The replaced file being shrunk was cut by exactly two steps and is still there.
    const cut: string[] = [];
    for (const [n, size] of before) {
      if (n.endsWith('.seg') && (await disk.exists(`/d/segments/${n}`)) && (await disk.fileSize(`/d/segments/${n}`)) === size - 2 * (64 << 10)) cut.push(n);
    }
    expect(cut.length, 'one input cut by two steps').toBe(1);
    for (const [k, v] of live) expect((await readAll((await e.getObject('bkt', k)).body)).equals(v), k).toBe(true);
    await pool.close();
    await e.close();
    fs.clearFaults();
    // Reopen: the pack wins, the shortened leftover is removed, every live object reads.
    const warnings: string[] = [];
    const e2 = await Engine.open({ dir: '/d', fs: disk, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: (m) => warnings.push(m) });
    expect(warnings.some((w) => /replaced by a compaction pack/.test(w)), warnings.join('\n')).toBe(true);
    for (const [k, v] of live) expect((await readAll((await e2.getObject('bkt', k)).body)).equals(v), k).toBe(true);
    expect(e2.listObjects('bkt').contents.length).toBe(live.size);
    // A pass that shrinks without faults leaves no input behind.
    const pool2 = new MaintenancePool(disk, 0);
    const c2 = new Compactor(e2.maintenance(), pool2, { freeBytesReserve: 0, deadShareMin: 0.01, shrinkStepBytes: 64 << 10, shrinkPauseMs: 0 });
    await c2.runPass({ sealFirst: true });
    for (const [k, v] of live) expect((await readAll((await e2.getObject('bkt', k)).body)).equals(v), k).toBe(true);
    await pool2.close();
    await e2.close();
  });

  it('skips a pass without free space for what it would copy, and says so', async () => {
    const { fs, e, c, warnings } = await setup();
    await e.createBucket('bkt');
    for (let i = 0; i < 40; i++) await e.putObject('bkt', `k${i}`, mulberry32(i).bytes(6000));
    for (let i = 0; i < 40; i += 3) await e.deleteObject('bkt', `k${i}`);
    await e.sealActiveSegment();
    const names = await fs.readdir('/d/segments');
    fs.freeSpace = 10_000;
    const st = await c.runPass();
    expect(st.packsWritten).toBe(0);
    expect(st.skipped.join('\n')).toMatch(/needs \d+ bytes free .* 10000 available/);
    expect(warnings.some((w) => w.includes('compaction skipped'))).toBe(true);
    expect(await fs.readdir('/d/segments')).toEqual(names);
    fs.freeSpace = 2 ** 40;
    expect((await c.runPass()).packsWritten).toBe(1);
    await e.close();
  });

  it('keeps a delete marker while an older record of its key remains elsewhere', async () => {
    const fs = new MemoryFileSystem();
    const { e, c } = await setup(fs);
    await e.createBucket('bkt');
    await e.putObject('bkt', 'gone', 'old bytes');
    for (let i = 0; i < 30; i++) await e.putObject('bkt', `live${i}`, mulberry32(i).bytes(4000)); // segment 1 stays mostly live
    await e.sealActiveSegment();
    await e.deleteObject('bkt', 'gone');
    for (let i = 0; i < 10; i++) await e.putObject('bkt', `tmp${i}`, mulberry32(100 + i).bytes(4000));
    for (let i = 0; i < 10; i++) await e.deleteObject('bkt', `tmp${i}`);
    await e.sealActiveSegment();
    const census = await takeCensus(e.maintenance());
    const seg1 = census.segments.find((s) => s.id === 1)!;
    expect(seg1.deadBytes / seg1.sizeBytes).toBeLessThan(0.3); // not an input: its dead COMMIT of "gone" stays
    const st = await c.runPass();
    expect(st.packsWritten).toBe(1);
    // Open with no checkpoint: a full replay sees segment 1's COMMIT of "gone"; the kept DELETE must win.
    await e.close();
    for (const n of await fs.readdir('/d/checkpoints')) await fs.unlink(`/d/checkpoints/${n}`);
    const again = await setup(fs);
    await expect(again.e.headObject('bkt', 'gone')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
    expect(again.e.stats().objects).toBe(30);
    await again.e.close();
  });

  it('accounting: live + dead + overhead = stored, exact across overwrite, delete, aborted upload and reopen', async () => {
    const fs = new MemoryFileSystem();
    const { e } = await setup(fs);
    await e.createBucket('bkt');
    await e.putObject('bkt', 'a', Buffer.alloc(10_000, 1));
    await e.putObject('bkt', 'a', Buffer.alloc(10_000, 2)); // overwrite: the first version is dead
    await e.putObject('bkt', 'b', Buffer.alloc(10_000, 3));
    await e.deleteObject('bkt', 'b');
    const u = await e.createMultipartUpload('bkt', 'm');
    await e.uploadPart('bkt', 'm', u.uploadId, 1, mulberry32(3).bytes(20_000));
    await e.abortMultipartUpload('bkt', 'm', u.uploadId);
    await e.sealActiveSegment();
    const one = await takeCensus(e.maintenance());
    const seg = one.segments[0];
    const records = censusRecords(seg);
    const live = records.filter((r) => r.live);
    // Live: BUCKET_CREATE and the second "a" (COMMIT + CHUNK). The DELETE and UPLOAD_ABORT are dead: no
    // other segment holds an older record they could cancel.
    expect(live.map((r) => r.type).sort()).toEqual([1, 2, 4]);
    const part = records.find((r) => r.type === 1 && r.frameLen > 19_000)!;
    expect(part.live).toBe(false); // the aborted upload's chunk
    await e.close();
    const again = await setup(fs);
    const two = await takeCensus(again.e.maintenance());
    expect(two.segments[0].liveBytes).toBe(seg.liveBytes);
    expect(two.segments[0].deadBytes).toBe(seg.deadBytes);
    await again.e.close();
  });

  it('scrub reports a flipped byte by segment and offset', async () => {
    const { fs, e } = await setup();
    await e.createBucket('bkt');
    const data = mulberry32(5).bytes(20_000);
    await e.putObject('bkt', 'x', data);
    await e.sealActiveSegment();
    const hit = await flipByte(fs, data.subarray(5000, 5032));
    const scrubber = new Scrubber(e.maintenance(), new MaintenancePool(fs, 0));
    const r = await scrubber.scrubAll();
    expect(r.segmentsChecked).toBe(1);
    expect(r.damage).toHaveLength(1);
    expect(r.damage[0].segmentId).toBe(Number(hit.name.slice(0, 12)));
    expect(r.damage[0].offset).toBeLessThanOrEqual(hit.at);
    expect(r.damage[0].offset + r.damage[0].length).toBeGreaterThan(hit.at);
    await e.close();
  });

  it('background maintenance compacts and scrubs on its own, then stops cleanly', async () => {
    const { e } = await setup();
    await e.createBucket('bkt');
    for (let i = 0; i < 30; i++) await e.putObject('bkt', `k${i}`, mulberry32(i).bytes(5000));
    for (let i = 0; i < 30; i += 2) await e.deleteObject('bkt', `k${i}`);
    await e.sealActiveSegment();
    const lines: string[] = [];
    const bg = new BackgroundMaintenance(e, { compactEveryMs: 5, scrubEveryMs: 5, freeBytesReserve: 0, threads: 0, log: (l) => lines.push(l) });
    bg.start();
    // Bounded wait for the first pass and scrub (not a timing assertion: it only bounds a hang).
    for (let i = 0; i < 400 && !(lines.some((l) => l.startsWith('compaction pass')) && lines.some((l) => l.startsWith('scrub:'))); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await bg.stop();
    expect(lines.find((l) => l.startsWith('compaction pass'))).toMatch(/^compaction pass: 1 segments → 1 packs/);
    expect(lines.find((l) => l.startsWith('scrub:'))).toMatch(/scrub: \d+ segments, \d+ records, [\d.]+ MiB checked, 0 damaged/);
    for (let i = 1; i < 30; i += 2) expect((await readAll((await e.getObject('bkt', `k${i}`)).body)).equals(mulberry32(i).bytes(5000))).toBe(true);
    await e.close();
  });

  it('leaves a segment whose footer is unusable and whose scan finds damage where it is, damage and all', async () => {
    const { fs, e, c } = await setup();
    await e.createBucket('bkt');
    const data = mulberry32(9).bytes(20_000);
    await e.putObject('bkt', 'x', data);
    for (let i = 0; i < 10; i++) await e.putObject('bkt', `junk${i}`, mulberry32(50 + i).bytes(5000));
    for (let i = 0; i < 10; i++) await e.deleteObject('bkt', `junk${i}`);
    await e.sealActiveSegment();
    const hit = await flipByte(fs, data.subarray(7000, 7032));
    // Break the tail too: the segment is listed by a scan, which finds the damaged record.
    const path = `/d/segments/${hit.name}`;
    const size = await fs.fileSize(path);
    const fh = await fs.open(path, 'readwrite');
    await fh.writev([Buffer.from('XXXX')], size - 24);
    await fh.datasync();
    await fh.close();
    const before = await e.verify();
    expect(before.damagedObjects.map((o) => o.key)).toEqual(['x']);
    const st = await c.runPass();
    expect(st.segmentsCompacted).toBe(0);
    expect(await fs.readdir('/d/segments')).toContain(hit.name);
    const after = await e.verify();
    expect(after.damage).toEqual(before.damage);
    expect(after.damagedObjects).toEqual(before.damagedObjects);
    await e.close();
  });
});

describe('the checkpoint a pass needs', () => {
  // Packs may only hold records a checkpoint reflects, so a pass that compacts an uncovered segment takes
  // one first; a pass with nothing to compact there takes none (a checkpoint rewrites the whole index).
  const checkpoints = async (fs: MemoryFileSystem) => (await fs.readdir('/d/checkpoints')).length;

  it('takes none when nothing is to be compacted, one before compacting an uncovered segment', async () => {
    const { fs, e, c } = await setup();
    await e.createBucket('bkt');
    for (let i = 0; i < 40; i++) await e.putObject('bkt', `k${i}`, Buffer.alloc(20_000, i));
    await e.sealActiveSegment();
    // Sealed, not covered, nothing dead in it: the pass has nothing to do and writes no checkpoint.
    expect(await checkpoints(fs)).toBe(0);
    const idle = await c.runPass();
    expect(idle.segmentsCompacted).toBe(0);
    expect(await checkpoints(fs)).toBe(0);
    // Most of it deleted: now the pass compacts that segment, after a checkpoint that covers it.
    for (let i = 0; i < 36; i++) await e.deleteObject('bkt', `k${i}`);
    await e.sealActiveSegment();
    const st = await c.runPass();
    expect(st.segmentsCompacted).toBeGreaterThan(0);
    expect(await checkpoints(fs)).toBe(1);
    for (let i = 36; i < 40; i++) expect((await readAll((await e.getObject('bkt', `k${i}`)).body)).equals(Buffer.alloc(20_000, i))).toBe(true);
    await e.close();
    const again = await Engine.open({ dir: '/d', fs, workerThreads: 0, onWarning: () => undefined });
    expect(again.stats().objects).toBe(4);
    await again.close();
  });
});

describe('what a pass picks', () => {
  it('leaves segments sealed at their record limit alone, and packs under-filled ones within that limit', async () => {
    // Small log objects fill a segment's records long before its bytes (65,536 records of ~250 B objects
    // are ~16 MiB of a 128 MiB segment). Taking such segments for under-filled packed them all, 8 to a
    // file: a whole rewrite that reclaimed nothing, grew the directory by the pack's origins, and made
    // files of 8 times the record limit.
    const fs = new MemoryFileSystem();
    const RECORDS = 64;
    const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, segmentBytesMax: 1 << 20, segmentRecordsMax: RECORDS });
    const c = new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0 });
    await e.createBucket('logs');
    const body = (i: number): Buffer => Buffer.from(`${i} GET /index.html 200 `.repeat(8));
    for (let i = 0; i < 600; i++) await e.putObject('logs', `app/${String(i).padStart(4, '0')}.log`, body(i));
    await e.sealActiveSegment();
    const files = async (): Promise<string[]> => (await fs.readdir('/d/segments')).sort();
    const before = await files();
    expect(before.length).toBeGreaterThan(8);

    const idle = await c.runPass();
    expect([idle.packsWritten, idle.segmentsCompacted, idle.bytesWritten]).toEqual([0, 0, 0]);
    expect(await files()).toEqual(before);

    // Three in four deleted: now under-filled by records as well, packed together, no file above the limit.
    for (let i = 0; i < 600; i++) if (i % 4 !== 0) await e.deleteObject('logs', `app/${String(i).padStart(4, '0')}.log`);
    await e.sealActiveSegment();
    const st = await c.runPass();
    expect(st.packsWritten).toBeGreaterThan(0);
    expect(st.bytesReclaimed).toBeGreaterThan(0);
    const census = await takeCensus(e.maintenance());
    for (const a of census.segments) expect(a.table.count, `${a.kind} ${a.id}`).toBeLessThanOrEqual(RECORDS);
    for (let i = 0; i < 600; i += 4) expect((await readAll((await e.getObject('logs', `app/${String(i).padStart(4, '0')}.log`)).body)).toString()).toBe(body(i).toString());
    await e.close();
  });
});
