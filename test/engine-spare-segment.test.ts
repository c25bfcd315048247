// Spare segments (segment-writer.ts, makeSpare): the next segment is made while the active one fills,
// as `NNN.spare`, so that a roll creates no file while appends wait; the roll renames it to `NNN.seg`
// without a directory fsync. Open removes a spare that never held a record (and unlists it), and renames
// one that did back to the segment it became. Checked on the in-memory file system, whose crash keeps
// only synced bytes and names.
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryFileSystem } from '../src/index.js';
import type { DirLock, FileHandle, FileSystem, OpenMode } from '../src/io/types.js';
import { decodeTail } from '../src/format/footer.js';
import { TAIL_BYTES } from '../src/format/constants.js';
import { decodeSegmentManifest } from '../src/format/segment-manifest.js';
import { md5hex, readAll } from './helpers/engine-helpers.js';
import { ProcessFs } from './helpers/process-fs.js';

const DIR = '/data';
const SEGS = `${DIR}/segments`;
/** 20 small puts (a CHUNK and a COMMIT each) fill a segment; a spare is made after the 10th. */
const RECORDS_MAX = 40;
const name = (id: number, ext: 'seg' | 'spare'): string => `${String(id).padStart(12, '0')}.${ext}`;

/** Records, in order, the creation of files in segments/, renames there, and seals (a write ending in a tail). */
class TimelineFs implements FileSystem {
  readonly events: string[] = [];
  constructor(private readonly inner: FileSystem) {}
  private short(path: string): string {
    return path.startsWith(`${SEGS}/`) ? path.slice(SEGS.length + 1) : path;
  }
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const h = await this.inner.open(path, mode);
    if (mode === 'create-new' && path.startsWith(`${SEGS}/`)) this.events.push(`create ${this.short(path)}`);
    const events = this.events;
    const short = this.short(path);
    return {
      ...h,
      path: h.path,
      read: (b, o, l, p) => h.read(b, o, l, p),
      writev: async (bufs, pos) => {
        await h.writev(bufs, pos);
        const last = bufs[bufs.length - 1];
        if (last?.length === TAIL_BYTES && decodeTail(last) !== undefined) events.push(`seal ${short}`);
      },
      datasync: () => h.datasync(),
      truncate: (l) => h.truncate(l),
      size: () => h.size(),
      close: () => h.close(),
    };
  }
  readFile(p: string): Promise<Buffer> {
    return this.inner.readFile(p);
  }
  writeFile(p: string, data: Buffer, mode?: number): Promise<void> {
    return this.inner.writeFile(p, data, mode);
  }
  syncFile(p: string): Promise<void> {
    return this.inner.syncFile(p);
  }
  readdir(p: string): Promise<string[]> {
    return this.inner.readdir(p);
  }
  mkdir(p: string): Promise<void> {
    return this.inner.mkdir(p);
  }
  async rename(a: string, b: string): Promise<void> {
    await this.inner.rename(a, b);
    if (a.startsWith(`${SEGS}/`)) this.events.push(`rename ${this.short(a)} ${this.short(b)}`);
  }
  unlink(p: string): Promise<void> {
    return this.inner.unlink(p);
  }
  exists(p: string): Promise<boolean> {
    return this.inner.exists(p);
  }
  fileSize(p: string): Promise<number> {
    return this.inner.fileSize(p);
  }
  syncDir(p: string): Promise<void> {
    return this.inner.syncDir(p);
  }
  lock(p: string, note: string): Promise<DirLock> {
    return this.inner.lock(p, note);
  }
  freeBytes(p: string): Promise<number> {
    return this.inner.freeBytes(p);
  }
}

const open = (fs: FileSystem, warnings: string[] = []): Promise<Engine> =>
  Engine.open({ dir: DIR, fs, workerThreads: 0, segmentRecordsMax: RECORDS_MAX, onWarning: (m) => warnings.push(m) });

const body = (i: number): Buffer => Buffer.from(`object ${i} `.repeat(40 + (i % 7)));

async function putMany(e: Engine, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await e.putObject('bkt', `k${i}`, body(i));
}

/** Every object in [0, n) reads back exactly; verify finds nothing. */
async function expectAll(e: Engine, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const got = await readAll((await e.getObject('bkt', `k${i}`)).body);
    expect(md5hex(got), `k${i}`).toBe(md5hex(body(i)));
  }
  const v = await e.verify();
  expect(v.damage).toEqual([]);
  expect(v.damagedObjects).toEqual([]);
}

async function listed(disk: MemoryFileSystem): Promise<number[]> {
  return decodeSegmentManifest(await disk.readFile(`${DIR}/manifest`)).entries.map((x) => x.segmentId);
}

/** Waits until `path` exists (the spare is made in the background). */
async function until(fs: FileSystem, path: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!(await fs.exists(path))) {
    if (Date.now() > end) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('spare segments', () => {
  it('the next segment is made while the active one fills; the roll only renames it', async () => {
    const disk = new MemoryFileSystem();
    const fs = new TimelineFs(disk);
    const e = await open(fs);
    try {
      await e.createBucket('bkt');
      await putMany(e, 0, 11);
      await until(fs, `${SEGS}/${name(2, 'spare')}`);
      expect(await listed(disk), 'a spare is listed once it exists').toContain(2);
      await putMany(e, 11, 30);
      expect(e.stats().activeSegmentId).toBe(2);
      const ev = fs.events;
      const created = ev.indexOf(`create ${name(2, 'spare')}`);
      const sealed = ev.indexOf(`seal ${name(1, 'seg')}`);
      const renamed = ev.indexOf(`rename ${name(2, 'spare')} ${name(2, 'seg')}`);
      expect(created, ev.join('; ')).toBeGreaterThanOrEqual(0);
      expect(sealed, ev.join('; ')).toBeGreaterThan(created);
      expect(renamed, ev.join('; ')).toBeGreaterThan(sealed);
      // Only the first segment, made at open, is created under its own name: the roll creates none.
      expect(ev.filter((x) => x.startsWith('create ') && x.endsWith('.seg'))).toEqual([`create ${name(1, 'seg')}`]);
      await expectAll(e, 30);
    } finally {
      await e.close();
    }
    const again = await open(fs);
    try {
      await expectAll(again, 30);
    } finally {
      await again.close();
    }
  });

  it('a spare that never held a record is removed and unlisted at open; rolls go on after it', async () => {
    const disk = new MemoryFileSystem();
    let e = await open(disk);
    await e.createBucket('bkt');
    await putMany(e, 0, 12);
    await until(disk, `${SEGS}/${name(2, 'spare')}`);
    await e.close();
    // Power loss too: what was made durable is what open sees.
    disk.crash();
    expect(await disk.readdir(SEGS)).toContain(name(2, 'spare'));
    e = await open(disk);
    try {
      expect(await disk.readdir(SEGS)).not.toContain(name(2, 'spare'));
      expect(await listed(disk)).not.toContain(2);
      expect(e.stats().damage).toEqual([]);
      await expectAll(e, 12);
      await putMany(e, 12, 45); // two more rolls, through new spares
      expect(e.stats().activeSegmentId).toBeGreaterThanOrEqual(3);
      await expectAll(e, 45);
    } finally {
      await e.close();
    }
  });

  it('a crash after the roll to a spare, before its rename was durable: open renames it, nothing acknowledged is lost', async () => {
    const disk = new MemoryFileSystem();
    const view = new ProcessFs(disk);
    const e = await open(view);
    await e.createBucket('bkt');
    await putMany(e, 0, 25); // the roll at the 21st put renamed 2.spare; 4 puts are acknowledged in it
    expect(e.stats().activeSegmentId).toBe(2);
    // No close: the process dies and the power goes. The rename was not synced (nothing has synced
    // segments/ since).
    view.kill();
    disk.crash();
    const names = await disk.readdir(SEGS);
    expect(names, 'the crash must have kept the old name for this test to mean anything').toContain(name(2, 'spare'));
    expect(names).not.toContain(name(2, 'seg'));
    const warnings: string[] = [];
    const again = await open(disk, warnings);
    try {
      expect(warnings.join('\n')).toMatch(/renaming segments\/000000000002\.spare to 000000000002\.seg/);
      expect(await disk.readdir(SEGS)).toContain(name(2, 'seg'));
      expect(again.stats().damage).toEqual([]);
      await expectAll(again, 25);
      await putMany(again, 25, 50);
      await expectAll(again, 50);
    } finally {
      await again.close();
    }
  });

  it('a pack made while a spare exists takes an id above it, and the next roll still goes to the spare', async () => {
    const disk = new MemoryFileSystem();
    const e = await open(disk);
    const pool = new MaintenancePool(disk, 0);
    // Half of segment 1's objects die, but its footer keeps the dead share of its bytes below 0.3.
    const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0, deadShareMin: 0.2 });
    const deleted = new Set<number>();
    try {
      await e.createBucket('bkt');
      await putMany(e, 0, 25); // segment 1 sealed at the 21st put; segment 2 active
      for (let i = 0; i < 20; i += 2) {
        await e.deleteObject('bkt', `k${i}`); // half of segment 1 dead
        deleted.add(i);
      }
      await putMany(e, 25, 27); // segment 2 past half full: spare 3
      await until(disk, `${SEGS}/${name(3, 'spare')}`);
      const st = await c.runPass();
      expect(st.packsWritten).toBe(1);
      expect((await disk.readdir(SEGS)).filter((n) => n.endsWith('.pack'))).toEqual([`${String(4).padStart(12, '0')}.pack`]);
      await putMany(e, 27, 40); // fills segment 2: the roll renames spare 3
      expect(e.stats().activeSegmentId).toBe(3);
      expect(await disk.readdir(SEGS)).toContain(name(3, 'seg'));
    } finally {
      await pool.close();
      await e.close();
    }
    const again = await open(disk);
    try {
      for (let i = 0; i < 40; i++) {
        if (deleted.has(i)) {
          await expect(again.getObject('bkt', `k${i}`)).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
          continue;
        }
        expect(md5hex(await readAll((await again.getObject('bkt', `k${i}`)).body)), `k${i}`).toBe(md5hex(body(i)));
      }
      const v = await again.verify();
      expect(v.damage).toEqual([]);
      expect(v.damagedObjects).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
