// Log retention: segments in which every record expired are dropped whole. Counted at the file-system
// level: the compaction pass after a lifecycle pass writes no byte for them (no pack, no temporary
// file), their files are gone, and everything not expired reads back — also after a reopen.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryFileSystem } from '../src/index.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { CountingFs } from './helpers/counting-fs.js';
import { readAll } from './helpers/engine-helpers.js';

function body(day: number, i: number): Buffer {
  // Incompressible, so that a few objects fill a 1 MiB segment.
  const out = Buffer.alloc(64 * 1024);
  let block = createHash('sha256').update(`${day}/${i}`).digest();
  for (let at = 0; at < out.length; at += 32) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

describe('expiry by whole-segment drop', () => {
  it('writes nothing for segments whose every record expired, and keeps the rest readable', async () => {
    const fs = new CountingFs(new MemoryFileSystem());
    const t0 = Date.UTC(2026, 0, 1, 1);
    let now = t0;
    const open = () => Engine.open({ dir: '/data', fs, clock: { now: () => now }, workerThreads: 0, segmentBytesMax: 1 << 20, onWarning: () => undefined });
    let e = await open();
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', { rules: [{ id: 'r', enabled: true, filter: { prefix: 'day/' }, expiration: { days: 3 } }] });
    const keys: Array<{ key: string; day: number; i: number }> = [];
    for (let day = 0; day < 10; day++) {
      now = t0 + day * DAY_MS;
      for (let i = 0; i < 8; i++) {
        const key = `day/${day}/${i}`;
        await e.putObject('logs', key, body(day, i));
        keys.push({ key, day, i });
      }
    }
    await e.sealActiveSegment();
    const segmentsBefore = (await fs.readdir('/data/segments')).filter((n) => n.endsWith('.seg'));
    now = t0 + 10 * DAY_MS; // objects of days 0..6 are due (mtime + 3 days, rounded up to midnight)
    const r = await e.runLifecycle();
    expect(r.expired).toHaveLength(7 * 8);

    const mark = new Map(fs.written);
    const pool = new MaintenancePool(e.fs, 1);
    const compactor = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0, deadShareMin: 1, underFilledShare: 0 });
    const st = await compactor.runPass({ sealFirst: true });
    await pool.close();
    expect(st.packsWritten).toBe(0);
    // ~15 objects per 1 MiB segment: the first one also holds the bucket's records (live) and the fourth
    // some objects still kept, so the second and third are the wholly expired ones.
    expect(st.segmentsCompacted).toBe(2);
    // The pass may write a checkpoint first (a few KB of index) and maintenance.json; no record is copied:
    // nothing is written to a pack, and the only segment bytes are the seal of the (empty) active segment.
    const written = [...fs.written].filter(([p, b]) => b !== (mark.get(p) ?? 0)).map(([p]) => p);
    expect(fs.bytesSince(mark, /\.pack$/), written.join(', ')).toBe(0);
    expect(fs.bytesSince(mark, /\.seg$/), written.join(', ')).toBeLessThan(4096);
    const segmentsAfter = (await fs.readdir('/data/segments')).filter((n) => n.endsWith('.seg'));
    const gone = segmentsBefore.filter((n) => !segmentsAfter.includes(n));
    expect(gone.length).toBe(st.segmentsCompacted);
    expect(st.bytesReclaimed).toBeGreaterThan(2 * (1 << 20) * 0.9);

    const check = async (eng: Engine): Promise<void> => {
      for (const { key, day, i } of keys) {
        if (day <= 6) await expect(eng.headObject('logs', key), key).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
        else expect((await readAll((await eng.getObject('logs', key)).body)).equals(body(day, i)), key).toBe(true);
      }
    };
    await check(e);
    await e.close();
    e = await open();
    await check(e);
    expect((await e.verify()).damage).toEqual([]);
    await e.close();
  });
});
