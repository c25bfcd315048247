// The compaction census as columns: segment tables (census-table.ts) built from footers, in a worker or
// inline; rows found by origin in packs whose records are in no origin order; tables kept between passes
// (census-cache.ts) only while the file's footer is the one they were built from, and liveness asked of
// the index anew every time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CensusCache, censusRecords, Compactor, Engine, MaintenancePool, MemoryFileSystem, RealFileSystem, takeCensus, type Census } from '../src/index.js';
import { RecordType } from '../src/format/constants.js';
import { decodeTail } from '../src/format/footer.js';
import { encodeDelete, encodeManifest, type ObjectManifest } from '../src/format/records.js';
import { nameHash, openTable, TableBuilder, type SegmentTableWire } from '../src/maintenance/census-table.js';
import { readAll } from './helpers/engine-helpers.js';
import { mulberry32 } from './helpers/prng.js';

const CHUNK = 64 << 10;

async function open(fs = new MemoryFileSystem()) {
  const warnings: string[] = [];
  const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: (m) => warnings.push(m) });
  return { fs, e, warnings };
}

function manifest(bucket: string, key: string, seq: number): ObjectManifest {
  return {
    seq, bucket, key, versionId: '', uploadId: 0, mtimeMs: 0, size: 0, md5: Buffer.alloc(16), partCount: 0, storageClass: 0, flags: 0,
    contentType: '', headers: [], userMetadata: [], checksums: [], lockMode: 0, retainUntilMs: 0, legalHold: false, tags: [], chunks: [], parts: [],
  };
}

/** Rows of `id` in `c` that are COMMITs, live or not. */
function commits(c: Census, id: number) {
  return censusRecords(c.segments.find((a) => a.id === id)!).filter((r) => r.type === RecordType.COMMIT);
}

/** Flips one byte inside the footer payload of a sealed segment file. */
async function damageFooter(fs: MemoryFileSystem, path: string): Promise<void> {
  const bytes = await fs.readFile(path);
  const footerOffset = decodeTail(bytes.subarray(bytes.length - 24))!;
  const at = footerOffset + 40;
  const fh = await fs.open(path, 'readwrite');
  await fh.writev([Buffer.from([bytes[at] ^ 0x21])], at);
  await fh.datasync();
  await fh.close();
}

describe('census tables', () => {
  it('orders a pack’s rows by origin and cuts them into one run per origin segment', () => {
    const b = new TableBuilder(20, 'pack');
    // A pack of [segment 3, pack 10 holding origins 1 and 2]: its file order is not origin order.
    const rows: Array<[number, number]> = [[3, 500], [3, 900], [1, 64], [1, 4000], [2, 64]];
    let at = 64;
    for (const [seg, off] of rows) {
      b.add(RecordType.CHUNK, at, 100, seg, off, false, { uploadId: 0, partNumber: 0, chunkIndex: 0, rawLen: 80 }, undefined);
      at += 100;
    }
    const t = openTable(b.finish(false, 'k'));
    expect([...t.byOrigin].map((i) => rows[i])).toEqual([[1, 64], [1, 4000], [2, 64], [3, 500], [3, 900]]);
    expect([...t.originRuns]).toEqual([1, 0, 2, 2, 2, 3, 3, 3, 5]);
    expect([...t.offset]).toEqual([64, 164, 264, 364, 464]);
    expect(t.minSeq).toBe(Infinity); // chunks only
  });

  it('survives a transfer to another thread: one buffer, views rebuilt on the other side', async () => {
    const b = new TableBuilder(7, 'log');
    const commit = encodeManifest(manifest('bkt', 'a', 41));
    b.add(RecordType.COMMIT, 64, 200, 7, 64, false, undefined, commit);
    b.add(RecordType.DELETE, 264, 60, 7, 264, false, undefined, encodeDelete({ seq: 42, bucket: 'bkt', key: 'a', versionId: '', mtimeMs: 0, flags: 0 }));
    const wire = b.finish(false, 'key');
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<SegmentTableWire>((resolve) => port2.once('message', resolve));
    port1.postMessage(wire, [wire.buffer]);
    const t = openTable(await received);
    port1.close();
    expect(wire.buffer.byteLength).toBe(0); // moved, not copied
    expect(t.count).toBe(2);
    expect([...t.seq]).toEqual([41, 42]);
    expect(t.minSeq).toBe(41);
    expect(t.nameHash[0]).toBe(t.nameHash[1]);
    expect(t.blob.subarray(t.payloadStart[0], t.payloadStart[1]).equals(commit)).toBe(true);
  });

  it('hashes the bucket and key of a COMMIT and a DELETE alike, and refuses a name that does not fit', () => {
    const del = (key: string) => encodeDelete({ seq: 9, bucket: 'bkt', key, versionId: 'v', mtimeMs: 1, flags: 0 });
    expect(nameHash(encodeManifest(manifest('bkt', 'photos/1.jpg', 3)))).toBe(nameHash(del('photos/1.jpg')));
    expect(nameHash(del('photos/1.jpg'))).not.toBe(nameHash(del('photos/2.jpg')));
    // "bk"+"t/x" and "bkt"+"/x" are different names: the length prefixes are hashed too.
    expect(nameHash(encodeManifest(manifest('bk', 't/x', 3)))).not.toBe(nameHash(encodeManifest(manifest('bkt', '/x', 3))));
    expect(nameHash(del('k').subarray(0, 14))).toBe(-1);
  });
});

describe('census', () => {
  it('finds live records by origin in a pack whose records are in no origin order; nothing live is dropped', async () => {
    const { fs, e } = await open();
    const c = new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0 });
    const rng = mulberry32(21);
    await e.createBucket('bkt');
    const live = new Map<string, Buffer>();
    const put = async (key: string, bytes: number) => {
      const data = rng.bytes(bytes);
      live.set(key, data);
      await e.putObject('bkt', key, data);
    };
    const del = async (key: string) => {
      live.delete(key);
      await e.deleteObject('bkt', key);
    };
    // Segments 1 and 2: mostly dead, packed together by the first pass. Segment 3: full of live data, left alone.
    for (const seg of [1, 2]) {
      for (let i = 0; i < 12; i++) await put(`s${seg}-${i}`, 60_000);
      for (let i = 0; i < 12; i += 4) await put(`s${seg}-small-${i}`, 2_000);
      for (let i = 0; i < 12; i++) await del(`s${seg}-${i}`);
      await e.sealActiveSegment();
    }
    for (let i = 0; i < 14; i++) await put(`s3-${i}`, 60_000);
    await e.sealActiveSegment();
    const first = await c.runPass();
    expect(first.packsWritten).toBe(1);
    const pack1 = e.maintenance().segments().find((s) => s.kind === 'pack')!.id;
    // Now most of segment 3 dies: [3, pack1] are packed together, segment 3's records first.
    for (let i = 0; i < 12; i++) await del(`s3-${i}`);
    const second = await c.runPass();
    expect(second.segmentsCompacted).toBe(2);
    const census = await takeCensus(e.maintenance());
    const pack2 = census.segments.find((a) => a.kind === 'pack' && a.id !== pack1)!;
    const t = pack2.table;
    const origins = [...t.originSegment];
    expect(origins.some((s, i) => i > 0 && s < origins[i - 1]), 'origins out of order in the file').toBe(true);
    // Every row of the pack is live (it holds only what was live), and every live object reads back.
    expect(pack2.deadBytes).toBe(0);
    expect(censusRecords(pack2).filter((r) => r.type === RecordType.COMMIT && r.live).length).toBe(live.size);
    for (const [k, v] of live) expect((await readAll((await e.getObject('bkt', k)).body)).equals(v), k).toBe(true);
    // Replayed without a checkpoint, the packs give the same objects.
    await e.close();
    for (const n of await fs.readdir('/d/checkpoints')) await fs.unlink(`/d/checkpoints/${n}`);
    const again = await open(fs);
    expect(again.e.listObjects('bkt').contents.map((o) => o.key).sort()).toEqual([...live.keys()].sort());
    for (const [k, v] of live) expect((await readAll((await again.e.getObject('bkt', k)).body)).equals(v), k).toBe(true);
    await again.e.close();
  });

  it('built in a worker thread on a real disk: the same accounting as inline, and a pass that keeps every live object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-census-workers-'));
    const fs = new RealFileSystem();
    const e = await Engine.open({ dir, fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
    const pool = new MaintenancePool(fs, 1);
    try {
      expect(await pool.usingWorkers()).toBe(true);
      const rng = mulberry32(5);
      await e.createBucket('bkt');
      const live = new Map<string, Buffer>();
      for (let i = 0; i < 80; i++) {
        const data = rng.bytes(20_000 + i);
        await e.putObject('bkt', `k${i}`, data);
        if (i % 3 === 0) await e.deleteObject('bkt', `k${i}`);
        else live.set(`k${i}`, data);
      }
      await e.sealActiveSegment();
      const inline = await takeCensus(e.maintenance());
      const worker = await takeCensus(e.maintenance(), { pool });
      expect(worker.segments.length).toBeGreaterThan(1);
      expect(worker.segments.map((a) => [a.id, a.liveBytes, a.deadBytes, [...a.live]])).toEqual(inline.segments.map((a) => [a.id, a.liveBytes, a.deadBytes, [...a.live]]));
      expect([worker.liveBytes, worker.deadBytes]).toEqual([inline.liveBytes, inline.deadBytes]);
      const st = await new Compactor(e.maintenance(), pool, { freeBytesReserve: 0 }).runPass();
      expect(st.packsWritten).toBeGreaterThan(0);
      for (const [k, v] of live) expect((await readAll((await e.getObject('bkt', k)).body)).equals(v), k).toBe(true);
    } finally {
      await pool.close();
      await e.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('census cache', () => {
  async function filled() {
    const o = await open();
    await o.e.createBucket('bkt');
    for (let i = 0; i < 30; i++) await o.e.putObject('bkt', `a${i}`, mulberry32(i).bytes(20_000));
    await o.e.sealActiveSegment();
    for (let i = 0; i < 30; i++) await o.e.putObject('bkt', `b${i}`, mulberry32(100 + i).bytes(20_000));
    await o.e.sealActiveSegment();
    return o;
  }

  it('reuses a sealed segment’s table, and sees liveness change between censuses (liveness is never cached)', async () => {
    const { e } = await filled();
    const cache = new CensusCache(64 << 20);
    const one = await takeCensus(e.maintenance(), { cache });
    expect(cache.ids().sort()).toEqual(one.segments.map((a) => a.id).sort());
    const seg = one.segments[0];
    expect(seg.deadBytes).toBe(0);
    for (let i = 0; i < 10; i++) await e.deleteObject('bkt', `a${i}`);
    const two = await takeCensus(e.maintenance(), { cache });
    const same = two.segments.find((a) => a.id === seg.id)!;
    expect(same.table, 'served from the cache').toBe(seg.table);
    expect(same.deadBytes).toBeGreaterThan(10 * 20_000);
    expect(commits(two, seg.id).filter((r) => !r.live).length).toBe(10);
    // The first census's verdicts are its own: unchanged.
    expect(commits(one, seg.id).every((r) => r.live)).toBe(true);
    await e.close();
  });

  it('does not serve a table once the footer it came from is damaged: the segment is reported damaged and left alone', async () => {
    const { fs, e } = await filled();
    const c = new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0, deadShareMin: 0.05 });
    const one = await takeCensus(e.maintenance(), { cache: c.cache });
    const seg = one.segments[0];
    for (let i = 0; i < 20; i++) await e.deleteObject('bkt', `a${i}`);
    await damageFooter(fs, e.maintenance().pathOf(seg.id));
    const two = await takeCensus(e.maintenance(), { cache: c.cache });
    const now = two.segments.find((a) => a.id === seg.id)!;
    expect(now.table).not.toBe(seg.table);
    expect(now.damaged).toBe(true);
    expect(c.cache.ids()).not.toContain(seg.id); // a table from a scan is not kept
    const st = await c.runPass();
    expect(e.maintenance().segments().some((s) => s.id === seg.id), 'the damaged segment is not an input').toBe(true);
    expect(st.segmentsCompacted).toBe(0);
    await e.close();
  });

  it('rebuilds the table of a file whose bytes changed under the same id', async () => {
    const { fs, e } = await filled();
    const cache = new CensusCache(64 << 20);
    const one = await takeCensus(e.maintenance(), { cache });
    const [a, b] = one.segments;
    // Not something sediment does: the strongest case of "not the file the table was built from".
    await fs.writeFile(e.maintenance().pathOf(a.id), await fs.readFile(e.maintenance().pathOf(b.id)));
    const two = await takeCensus(e.maintenance(), { cache });
    const now = two.segments.find((s) => s.id === a.id)!;
    expect(now.table).not.toBe(a.table);
    expect(now.table.footerKey).toBe(b.table.footerKey);
    expect([...now.table.offset]).toEqual([...b.table.offset]);
    await e.close();
  });

  it('forgets what a pass replaced, keeps its pack from the next census on, and stays within its byte limit', async () => {
    const { fs, e } = await filled();
    for (let i = 0; i < 25; i++) await e.deleteObject('bkt', `a${i}`);
    const c = new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0 });
    const st = await c.runPass();
    expect(st.segmentsCompacted).toBeGreaterThan(0);
    const listed = e.maintenance().segments().filter((s) => s.sealed).map((s) => s.id);
    expect(c.cache.ids().every((id) => listed.includes(id)), 'no replaced file is held').toBe(true);
    await takeCensus(e.maintenance(), { cache: c.cache });
    expect(c.cache.ids().sort()).toEqual(listed.sort());
    const small = new CensusCache(1);
    await takeCensus(e.maintenance(), { cache: small });
    expect(small.ids()).toEqual([]);
    expect(small.sizeBytes).toBe(0);
    await e.close();
  });
});

describe('census and uploads in flight', () => {
  /** A body that yields `first`, then waits for `release()` before yielding `rest` (or failing). */
  function gated(first: Buffer, rest: Buffer) {
    let release!: (fail?: Error) => void;
    const gate = new Promise<Error | undefined>((r) => (release = r));
    async function* body() {
      yield first;
      const fail = await gate;
      if (fail) throw fail;
      yield rest;
    }
    return { body: body(), release };
  }
  const appended = () => new Promise((r) => setTimeout(r, 30)); // the first chunk reaches the writer

  it('keeps the chunks a PUT has appended while its COMMIT is still to come, across a pass that compacts their segment', async () => {
    const { fs, e } = await open();
    const c = new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0 });
    await e.createBucket('bkt');
    const rng = mulberry32(31);
    for (let i = 0; i < 6; i++) await e.putObject('bkt', `junk${i}`, rng.bytes(CHUNK));
    for (let i = 0; i < 6; i++) await e.deleteObject('bkt', `junk${i}`);
    const [a, b] = [rng.bytes(CHUNK), rng.bytes(CHUNK)];
    const g = gated(a, b);
    const put = e.putObject('bkt', 'slow', g.body);
    await appended();
    // The first chunk's segment is sealed, covered by a checkpoint and, mostly dead, compacted: the chunk
    // goes into the pack, where the COMMIT that comes later finds it.
    const st = await c.runPass({ sealFirst: true });
    expect([st.segmentsCompacted, st.packsWritten]).toEqual([1, 1]);
    g.release();
    await put;
    expect((await readAll((await e.getObject('bkt', 'slow')).body)).equals(Buffer.concat([a, b]))).toBe(true);
    await e.close();
  });

  it('keeps the chunks of a part being uploaded, and lets them go once the upload failed', async () => {
    const { fs, e } = await open();
    const c = new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0 });
    await e.createBucket('bkt');
    const rng = mulberry32(32);
    const u = await e.createMultipartUpload('bkt', 'mp');
    const part = [rng.bytes(CHUNK), rng.bytes(CHUNK)];
    const g = gated(part[0], part[1]);
    const uploading = e.uploadPart('bkt', 'mp', u.uploadId, 1, g.body);
    await appended();
    await c.runPass({ sealFirst: true });
    g.release();
    const p1 = await uploading;
    await e.completeMultipartUpload('bkt', 'mp', u.uploadId, [{ partNumber: 1, etag: p1.etag }]);
    expect((await readAll((await e.getObject('bkt', 'mp')).body)).equals(Buffer.concat(part))).toBe(true);
    // A PUT that fails after appending a chunk: the chunk is garbage, the next census counts it dead.
    const failing = gated(rng.bytes(CHUNK), rng.bytes(CHUNK));
    const put = e.putObject('bkt', 'broken', failing.body);
    await appended();
    expect(e.maintenance().liveSnapshot().chunks.count).toBe(1);
    failing.release(new Error('client went away'));
    await expect(put).rejects.toThrow('client went away');
    expect(e.maintenance().liveSnapshot().chunks.count).toBe(0);
    await e.sealActiveSegment();
    const census = await takeCensus(e.maintenance());
    const deadChunks = census.segments.flatMap((a) => censusRecords(a)).filter((r) => r.type === RecordType.CHUNK && !r.live);
    expect(deadChunks.length).toBe(1);
    expect(deadChunks[0].chunk?.partNumber).toBe(0); // the failed PUT's, not the part's
    await e.close();
  });

  it('snapshots every entry the index holds: current objects, older versions and delete markers', async () => {
    const { e } = await open();
    await e.createBucket('ver');
    await e.setBucketVersioning('ver', 'Enabled');
    await e.putObject('ver', 'k', 'one');
    await e.putObject('ver', 'k', 'two');
    await e.deleteObject('ver', 'k'); // a delete marker on top of two versions
    await e.putObject('ver', 'other', 'x');
    const snap = e.maintenance().liveSnapshot();
    expect(snap.commits.count).toBe(4);
    // Each names a COMMIT: all four are found live by the census, and nothing else is.
    await e.sealActiveSegment();
    const census = await takeCensus(e.maintenance());
    const rows = census.segments.flatMap((a) => censusRecords(a)).filter((r) => r.type === RecordType.COMMIT);
    expect(rows.filter((r) => r.live).length).toBe(4);
    await e.close();
  });
});
