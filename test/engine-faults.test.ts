// Injected I/O faults (test/helpers/fault-fs.ts): a failed write, fdatasync, seal or segment creation
// stops the writer with SEDIMENT_WRITER_FAILED for every pending and later write — nothing hangs, reads
// go on, close() resolves — and after a restart every acknowledged put is there while nothing that was
// refused shows wrong bytes. A failed checkpoint leaves the engine working. (A full disk on a write is
// not fatal: test/engine-disk-full.test.ts.)
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { errorCode, md5hex, readAll, tryGet } from './helpers/engine-helpers.js';
import { FaultFs, type FaultOp } from './helpers/fault-fs.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32 } from './helpers/prng.js';

const CHUNK = 64 << 10;

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function setup(extra: Record<string, unknown> = {}) {
  const disk = new MemoryFileSystem();
  const view = new ProcessFs(disk);
  const faults = new FaultFs(view);
  const warnings: string[] = [];
  const open = (fs: FaultFs | ProcessFs) =>
    Engine.open({ dir: '/data', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: (m) => warnings.push(m), ...extra });
  return {
    disk, faults, warnings, open: () => open(faults),
    /** Power loss, then a restart on a healthy disk. */
    async restart(): Promise<Engine> {
      view.kill();
      disk.crash();
      return open(new ProcessFs(disk));
    },
  };
}

/** Starts `n` concurrent puts; resolves with which were acknowledged, after all settled. */
async function concurrentPuts(e: Engine, n: number, seed: number): Promise<{ data: Map<string, Buffer>; acked: Set<string>; errors: unknown[] }> {
  const rng = mulberry32(seed);
  const data = new Map<string, Buffer>();
  const acked = new Set<string>();
  const errors: unknown[] = [];
  const puts = [];
  for (let i = 0; i < n; i++) {
    const key = `p${i}`;
    const size = [10, CHUNK + 4464, 3 * CHUNK + 3392, 5000, 300_000][i % 5];
    const body = i % 2 === 0 ? rng.bytes(size) : Buffer.alloc(size, i); // raw and zstd chunks
    data.set(key, body);
    puts.push(e.putObject('bkt', key, body).then(() => acked.add(key), (err) => errors.push(err)));
  }
  await within(Promise.all(puts), 10_000, 'concurrent puts');
  return { data, acked, errors };
}

async function checkAfterRestart(e: Engine, data: Map<string, Buffer>, acked: Set<string>): Promise<void> {
  for (const [key, body] of data) {
    const { data: got, error } = await tryGet(e, 'bkt', key);
    if (acked.has(key)) expect(error, `acknowledged ${key} is missing`).toBeUndefined();
    if (error) expect(errorCode(error), key).toBe('SEDIMENT_NO_SUCH_KEY');
    else expect(md5hex(got), key).toBe(md5hex(body));
  }
  expect(e.stats().damage).toEqual([]);
}

describe('writer faults', () => {
  const cases: Array<[string, FaultOp, RegExp, number, string]> = [
    ['the 1st fdatasync of a segment under load', 'datasync', /\.seg$/, 1, 'EIO'],
    ['the 2nd fdatasync of a segment under load', 'datasync', /\.seg$/, 2, 'EIO'],
    ['the 2nd segment write', 'writev', /\.seg$/, 2, 'EIO'],
    ['creating the next segment (roll)', 'open', /000000000002\.(seg|spare)$/, 1, 'EIO'],
    ['the directory fsync of a new segment', 'syncDir', /segments$/, 2, 'EIO'],
  ];

  it.each(cases)('%s fails: writes stop with SEDIMENT_WRITER_FAILED, nothing hangs, acknowledged puts survive', async (_what, op, path, nth, code) => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    await e.putObject('bkt', 'before', 'written before the fault');
    s.faults.failOn(op, path, nth, code);
    const { data, acked, errors } = await concurrentPuts(e, 40, nth * 7 + op.length);
    expect(s.faults.fired, 'the fault fired').toHaveLength(1);
    expect(errors.length).toBeGreaterThan(0);
    for (const err of errors) expect(errorCode(err)).toBe('SEDIMENT_WRITER_FAILED');
    // Later writes are refused at once; reads of what is there go on.
    await expect(e.putObject('bkt', 'later', 'x')).rejects.toMatchObject({ code: 'SEDIMENT_WRITER_FAILED' });
    await expect(e.createBucket('other')).rejects.toMatchObject({ code: 'SEDIMENT_WRITER_FAILED' });
    await expect(e.deleteObject('bkt', 'before')).rejects.toMatchObject({ code: 'SEDIMENT_WRITER_FAILED' });
    expect((await readAll((await e.getObject('bkt', 'before')).body)).toString()).toBe('written before the fault');
    for (const key of acked) expect(md5hex(await readAll((await e.getObject('bkt', key)).body))).toBe(md5hex(data.get(key)!));
    await within(e.close(), 5000, 'close');
    const e2 = await s.restart();
    try {
      expect((await readAll((await e2.getObject('bkt', 'before')).body)).toString()).toBe('written before the fault');
      await checkAfterRestart(e2, data, acked);
      await e2.putObject('bkt', 'after-restart', 'writable again');
    } finally {
      await e2.close();
    }
  });

  it('commits queued behind a failing fdatasync are rejected too, not left waiting', async () => {
    for (let nth = 1; nth <= 4; nth++) {
      const fs = new FaultFs(new MemoryFileSystem());
      const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
      await e.createBucket('bkt');
      fs.failOn('datasync', /\.seg$/, nth);
      const puts = Array.from({ length: 40 }, (_, i) => e.putObject('bkt', `k${i}`, Buffer.alloc([10, 70_000, 200_000][i % 3], i)));
      const settled = await within(Promise.allSettled(puts), 5000, `puts (fault on fdatasync #${nth})`);
      for (const r of settled) if (r.status === 'rejected') expect(r.reason.code).toBe('SEDIMENT_WRITER_FAILED');
      await within(e.close(), 5000, 'close');
    }
  });

  it('a failed seal (footer fdatasync) rejects sealActiveSegment and loses nothing acknowledged', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    const { data, acked } = await concurrentPuts(e, 6, 1);
    expect(acked.size).toBe(6);
    s.faults.failOn('datasync', /\.seg$/, 1); // the next one is the seal's
    await expect(within(e.sealActiveSegment(), 5000, 'seal')).rejects.toMatchObject({ code: 'SEDIMENT_WRITER_FAILED' });
    await within(e.close(), 5000, 'close');
    const e2 = await s.restart();
    try {
      await checkAfterRestart(e2, data, acked);
    } finally {
      await e2.close();
    }
  });
});

describe('checkpoint faults', () => {
  it('a failed explicit checkpoint rejects; the engine keeps working and the next checkpoint succeeds', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    await e.putObject('bkt', 'a', 'one');
    s.faults.failOn('rename', /tmp\/\d+\.ckpt$/, 1);
    await expect(e.checkpoint()).rejects.toThrow(/injected fault/);
    await e.putObject('bkt', 'b', 'two');
    await e.checkpoint();
    await e.close();
    const e2 = await s.restart();
    try {
      expect(e2.listObjects('bkt').contents.map((c) => c.key)).toEqual(['a', 'b']);
      expect(await s.disk.readdir('/data/tmp')).toEqual([]);
    } finally {
      await e2.close();
    }
  });

  it('a failed automatic checkpoint is a warning, not an error', async () => {
    const s = setup({ checkpointEveryOps: 3 });
    const e = await s.open();
    await e.createBucket('bkt');
    s.faults.failOn('writev', /\.ckpt$/, 1); // the checkpoint file is written with writev, a slice at a time
    for (let i = 0; i < 10; i++) await e.putObject('bkt', `k${i}`, `v${i}`);
    await e.close();
    expect(s.faults.fired).toHaveLength(1);
    expect(s.warnings.join('\n')).toMatch(/checkpoint failed/);
    const e2 = await s.restart();
    try {
      expect(e2.stats().objects).toBe(10);
    } finally {
      await e2.close();
    }
  });
});

describe('close during an upload', () => {
  it('a put still streaming when the engine closes fails with SEDIMENT_CLOSED (worker framing too), not an untyped error', async () => {
    for (const workerThreads of [0, 2]) {
      const e = await Engine.open({ dir: '/d', fs: new MemoryFileSystem(), workerThreads, chunkBytes: 1 << 20, onWarning: () => undefined });
      await e.createBucket('bkt');
      async function* slow() {
        for (let i = 0; i < 5; i++) {
          yield Buffer.alloc(1 << 20, i); // large chunks: framed by a worker when there are workers
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      // The outcome is taken at once: the put rejects while close() is awaited.
      const outcome = e.putObject('bkt', 'k', slow()).then(() => 'stored', (err: unknown) => err);
      await new Promise((r) => setTimeout(r, 30));
      await e.close();
      expect(await outcome, `workerThreads ${workerThreads}`).toMatchObject({ code: 'SEDIMENT_CLOSED' });
    }
  });
});
