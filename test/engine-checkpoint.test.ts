// Checkpoints (docs/FORMAT.md §4): the replay position a checkpoint records must never be ahead of what
// is durable in the segment, or records acknowledged after a crash would be skipped by the next replay;
// checkpoints must not race each other or outlive close(); and open = checkpoint + replay must give the
// same index as a full replay.
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { readAll, snapshot } from './helpers/engine-helpers.js';
import { FaultFs } from './helpers/fault-fs.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32, testSeed } from './helpers/prng.js';

const CHUNK = 64 << 10;

function opener(disk: MemoryFileSystem, extra: Record<string, unknown> = {}) {
  let view: ProcessFs | undefined;
  return {
    async open(): Promise<Engine> {
      view = new ProcessFs(disk);
      return Engine.open({ dir: '/data', fs: view, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined, ...extra });
    },
    /** SIGKILL: the process dies, the page cache (unsynced bytes) survives. */
    kill(): void {
      view?.kill();
    },
    /** Power loss: the process dies and unsynced bytes and names are lost. */
    crash(): void {
      view?.kill();
      disk.crash();
    },
  };
}

async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Runs a checkpoint and, on every event-loop turn until it is written, the writes `turn(n)` starts;
 * returns how many turns that took.
 */
async function duringCheckpoint(e: Engine, turn: (n: number) => Array<Promise<unknown>>): Promise<number> {
  let turns = 0;
  let done = false;
  const cp = e.checkpoint().then(() => (done = true));
  while (!done) {
    turns++;
    // Requests arrive as events of their own (the in-memory file system completes in microtasks, and
    // a loop of those alone would never let the encoder's next turn run).
    await new Promise((r) => setImmediate(r));
    await Promise.all(turn(turns));
  }
  await cp;
  return turns;
}

async function text(e: Engine, bucket: string, key: string): Promise<string> {
  return (await readAll((await e.getObject(bucket, key)).body)).toString();
}

describe('checkpoint replay position', () => {
  it('does not include chunk frames that were written but not yet synced', async () => {
    const disk = new MemoryFileSystem();
    const p = opener(disk);
    const e1 = await p.open();
    await e1.createBucket('bkt');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = (async function* () {
      yield Buffer.alloc(3 * CHUNK, 1); // three chunks are framed and written, none is synced
      await gate;
    })();
    const unacked = e1.putObject('bkt', 'in-flight', body);
    unacked.catch(() => undefined);
    await ticks(10);
    await e1.checkpoint();
    p.crash(); // the chunks were never synced: they are gone, the checkpoint is durable
    release();

    const e2 = await p.open();
    await e2.putObject('bkt', 'acked', 'acknowledged after the first crash');
    p.crash();

    const e3 = await p.open();
    try {
      expect(await text(e3, 'bkt', 'acked')).toBe('acknowledged after the first crash');
      await expect(e3.headObject('bkt', 'in-flight')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
    } finally {
      await e3.close();
    }
  });

  it('does not include records that survived a SIGKILL unsynced and were lost to a later power loss', async () => {
    const disk = new MemoryFileSystem();
    const p = opener(disk);
    const e1 = await p.open();
    await e1.createBucket('bkt');
    await e1.putObject('bkt', 'first', 'one');
    // A put whose chunks are written but not synced when the process is killed.
    const body = (async function* () {
      yield Buffer.alloc(2 * CHUNK, 3);
      await new Promise(() => undefined); // never ends
    })();
    e1.putObject('bkt', 'unsynced', body).catch(() => undefined);
    await ticks(10);
    p.kill(); // SIGKILL: the page cache keeps whatever was written

    const e2 = await p.open();
    await e2.checkpoint(); // may record a position that includes bytes that are still not durable
    p.crash(); // power loss before anything else synced the segment

    const e3 = await p.open();
    await e3.putObject('bkt', 'acked', 'two');
    p.crash();

    const e4 = await p.open();
    try {
      expect(await text(e4, 'bkt', 'first')).toBe('one');
      expect(await text(e4, 'bkt', 'acked')).toBe('two');
    } finally {
      await e4.close();
    }
  });
});

describe('checkpoint concurrency and close', () => {
  it('concurrent checkpoint() calls both succeed and leave one, newest checkpoint', async () => {
    const disk = new MemoryFileSystem();
    const p = opener(disk);
    const e = await p.open();
    await e.createBucket('bkt');
    await e.putObject('bkt', 'k', 'v');
    await Promise.all([e.checkpoint(), e.checkpoint(), e.checkpoint()]);
    await e.putObject('bkt', 'k2', 'v2');
    const a = e.checkpoint();
    const put = e.putObject('bkt', 'k3', 'v3');
    const b = e.checkpoint();
    await Promise.all([a, put, b, e.checkpoint()]);
    expect((await disk.readdir('/data/checkpoints')).length).toBe(1);
    await e.close();
    const names = await disk.readdir('/data/checkpoints');
    expect(names).toHaveLength(1);
    expect(await disk.readdir('/data/tmp')).toEqual([]);
    const e2 = await p.open();
    expect(snapshot(e2).bkt.map((r) => r[0])).toEqual(['k', 'k2', 'k3']);
    await e2.close();
  });

  it('close() with puts in flight that roll segments resolves, and nothing is written after it', async () => {
    const disk = new MemoryFileSystem();
    const p = opener(disk);
    const e = await p.open();
    await e.createBucket('bkt');
    const puts = Array.from({ length: 24 }, (_, i) => e.putObject('bkt', `k${i}`, Buffer.alloc(200_000 + i, i)));
    const settled = Promise.allSettled(puts);
    await ticks(2);
    await e.close();
    const results = await settled;
    const done = results.map((r, i) => (r.status === 'fulfilled' ? `k${i}` : undefined)).filter((k): k is string => k !== undefined);
    // After close resolved, the directory must not change any more (the lock is released).
    const files = async () => JSON.stringify([await disk.readdir('/data/checkpoints'), await disk.readdir('/data/segments'), await disk.readdir('/data/tmp')]);
    const before = await files();
    await ticks(20);
    expect(await files()).toBe(before);
    const e2 = await p.open();
    try {
      for (const k of done) expect((await e2.headObject('bkt', k)).size).toBe(200_000 + Number(k.slice(1)));
      expect(e2.stats().damage).toEqual([]);
    } finally {
      await e2.close();
    }
  });
});

describe('maintenance under continuous load', () => {
  /** Writers that never pause: drain-to-idle would wait for them forever. */
  function load(e: Engine) {
    let stop = false;
    let acked = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        try {
          await e.putObject('bkt', `w${w}-${i % 25}`, Buffer.alloc(40_000 + ((i * 997) % 90_000), i));
        } catch (err) {
          if ((err as { code?: string }).code === 'SEDIMENT_CLOSED') return;
          throw err;
        }
        acked++;
        // The in-memory disk completes everything in microtasks: let timers run too.
        if (i % 4 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    return {
      acked: () => acked,
      stop: async () => {
        stop = true;
        await Promise.allSettled(writers);
      },
    };
  }

  async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish while writes continued`)), 5000)));
    try {
      return await Promise.race([p, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  it.each([
    ['instant', () => new ProcessFs(new MemoryFileSystem())],
    // With a slow fdatasync and writers always waiting, there is never a moment with nothing to sync.
    ['2 ms', () => new FaultFs(new MemoryFileSystem(), 2)],
  ])('verify() finishes and reports no damage while puts keep arriving (fdatasync %s)', async (_what, makeFs) => {
    const e = await Engine.open({ dir: '/data', fs: makeFs(), workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
    await e.createBucket('bkt');
    const l = load(e);
    try {
      for (let i = 0; i < 5; i++) {
        const v = await bounded(e.verify(), 'verify');
        expect(v.damage).toEqual([]);
        expect(v.damagedObjects).toEqual([]);
      }
      expect(l.acked()).toBeGreaterThan(0);
    } finally {
      await l.stop();
    }
    await e.close();
  });

  it('close() and checkpoint() finish while puts keep arriving', async () => {
    const disk = new MemoryFileSystem();
    const e = await Engine.open({ dir: '/data', fs: new FaultFs(disk, 2), workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
    await e.createBucket('bkt');
    const l = load(e);
    await new Promise((r) => setTimeout(r, 20));
    await bounded(e.checkpoint(), 'checkpoint');
    await bounded(e.sealActiveSegment(), 'sealActiveSegment');
    await bounded(e.close(), 'close');
    await l.stop();
    const e2 = await opener(disk).open();
    expect(e2.stats().damage).toEqual([]);
    await e2.close();
  });
});

describe('open = checkpoint + replay', () => {
  it('gives the same index as a full replay, at any checkpoint position', async () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const disk = new MemoryFileSystem();
    const p = opener(disk, { checkpointEveryOps: 7 });
    let e = await p.open();
    const buckets = ['alpha', 'beta'];
    for (const b of buckets) await e.createBucket(b);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 25; i++) {
        const b = rng.pick(buckets);
        const key = `k${rng.int(0, 30)}`;
        if (rng.bool(0.25)) await e.deleteObject(b, key);
        else await e.putObject(b, key, rng.bytes(rng.int(0, 3 * CHUNK)));
        if (rng.bool(0.05)) await e.sealActiveSegment();
        if (rng.bool(0.05)) await e.checkpoint();
      }
      if (round === 3) {
        await e.deleteObject('beta', 'k1');
        for (const [key] of snapshot(e).beta) await e.deleteObject('beta', key);
        await e.deleteBucket('beta');
        await e.createBucket('beta');
        await e.putObject('beta', 'reborn', 'after the bucket was re-created');
      }
      const viaCheckpoint = { state: snapshot(e), stats: e.stats() };
      p.crash();
      e = await p.open();
      const a = { state: snapshot(e), bytes: e.stats().logicalBytes, objects: e.stats().objects };
      expect(a.state, `seed ${seed}`).toEqual(viaCheckpoint.state);
      expect(a.bytes, `seed ${seed}`).toBe(viaCheckpoint.stats.logicalBytes);
      await e.close();
      // Now without any checkpoint: a full replay of every segment.
      for (const n of await disk.readdir('/data/checkpoints')) await disk.unlink(`/data/checkpoints/${n}`);
      e = await p.open();
      expect(snapshot(e), `seed ${seed}: full replay`).toEqual(a.state);
      expect(e.stats().logicalBytes, `seed ${seed}`).toBe(a.bytes);
      expect(e.stats().objects, `seed ${seed}`).toBe(a.objects);
    }
    expect(await text(e, 'beta', 'reborn')).toBe('after the bucket was re-created');
    await e.close();
  });
});

describe('checkpoint encoded while writes go on', () => {
  it('records one consistent state: deletes that free slots and puts that reuse them during the encoding change nothing in it', async () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const disk = new MemoryFileSystem();
    const p = opener(disk, { checkpointEveryOps: 1e9 });
    let e = await p.open();
    await e.createBucket('busy');
    await e.createBucket('idle');
    const model = new Map<string, string>();
    // Enough rows that the encoding takes several event-loop turns (at most 2,048 rows a turn).
    const N = 30_000;
    for (let i = 0; i < N; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => {
        const key = `k${String(i + j).padStart(6, '0')}`;
        model.set(key, `v0-${key}`);
        return e.putObject('busy', key, `v0-${key}`);
      }));
    }
    await e.putObject('idle', 'only', 'untouched');
    // While it encodes: delete (frees slots), put new keys (reuses them), overwrite.
    const turns = await duringCheckpoint(e, (turn) => {
      const ops: Array<Promise<unknown>> = [];
      // Distinct keys within a batch: two concurrent writes of one key have no defined order (a PUT's
      // COMMIT is appended after its chunks, a DELETE at once), so the model could not know the winner.
      const batch = new Set<string>();
      for (let k = 0; k < 50; k++) {
        const key = `k${String(rng.int(0, N + 5_000)).padStart(6, '0')}`;
        if (batch.has(key)) continue;
        batch.add(key);
        if (rng.bool(0.4)) {
          model.delete(key);
          ops.push(e.deleteObject('busy', key));
        } else {
          const v = `v${turn}-${key}`;
          model.set(key, v);
          ops.push(e.putObject('busy', key, v));
        }
      }
      return ops;
    });
    expect(turns, `seed ${seed}: writes interleaved with the encoding`).toBeGreaterThan(1);
    // Power loss: open = that checkpoint + replay of everything acknowledged after its position.
    p.crash();
    e = await p.open();
    const listed = new Map<string, string>();
    for (const [key] of snapshot(e).busy) listed.set(key, await text(e, 'busy', key));
    expect(listed.size, `seed ${seed}`).toBe(model.size);
    for (const [key, v] of model) expect(listed.get(key), `seed ${seed}: ${key}`).toBe(v);
    expect(await text(e, 'idle', 'only')).toBe('untouched');
    await e.close();
  });
});

describe('checkpoint of a versioned bucket encoded while versions come and go', () => {
  /** Every version of the bucket, page by page, as (key, versionId, latest, marker, etag). */
  function allVersions(e: Engine, bucket: string): string[] {
    const out: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const r = e.listObjectVersions(bucket, { keyMarker, versionIdMarker, maxKeys: 1000 });
      for (const v of r.versions) out.push(`${v.key} ${v.versionId} ${v.isLatest ? 'latest' : ''} ${v.isDeleteMarker ? 'marker' : v.etag}`);
      if (!r.isTruncated) return out;
      keyMarker = r.nextKeyMarker;
      versionIdMarker = r.nextVersionIdMarker;
    }
  }

  it('records one state: versions added, markers placed, versions deleted during the encoding change nothing in it', async () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const disk = new MemoryFileSystem();
    const p = opener(disk, { checkpointEveryOps: 1e9 });
    let e = await p.open();
    await e.createBucket('vers');
    await e.setBucketVersioning('vers', 'Enabled');
    const K = 6_000;
    const key = (i: number): string => `k${String(i).padStart(5, '0')}`;
    // Two versions of each key, so that the history holds as many rows as the current objects.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < K; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => e.putObject('vers', key(i + j), `r${round}-${i + j}`)));
      }
    }
    const turns = await duringCheckpoint(e, (turn) => {
      const batch = new Set<string>();
      const ops: Array<Promise<unknown>> = [];
      for (let n = 0; n < 40; n++) {
        const k = key(rng.int(0, K + 500));
        if (batch.has(k)) continue;
        batch.add(k);
        const what = rng.int(0, 3);
        if (what === 0) ops.push(e.putObject('vers', k, `t${turn}-${k}`)); // a new version: the old current joins the history
        else if (what === 1) ops.push(e.deleteObject('vers', k)); // a delete marker
        else {
          // Deleting the oldest version of the key: its history chain is replaced (or the key leaves it).
          const vs = e.listObjectVersions('vers', { prefix: k, maxKeys: 100 }).versions.filter((v) => v.key === k);
          const oldest = vs[vs.length - 1];
          if (oldest) ops.push(e.deleteObject('vers', k, { versionId: oldest.versionId }));
        }
      }
      return ops;
    });
    expect(turns, `seed ${seed}: writes interleaved with the encoding`).toBeGreaterThan(1);
    const expected = allVersions(e, 'vers');
    // Power loss: open = that checkpoint + replay of everything acknowledged after its position.
    p.crash();
    e = await p.open();
    expect(allVersions(e, 'vers'), `seed ${seed}`).toEqual(expected);
    // And the checkpoint alone (no replay) is a consistent state: a fresh checkpoint from this open is
    // loaded by the next one without complaint.
    await e.close();
    e = await p.open();
    expect(allVersions(e, 'vers'), `seed ${seed}`).toEqual(expected);
    await e.close();
  });
});

describe('when checkpoints are written', () => {
  // A checkpoint rewrites the whole index, so they come once per interval (checkpointEveryOps, default
  // 200,000 mutations or a quarter of the index), not after every seal: the seals alone would double the
  // checkpoint work of a small-object workload (docs/PERFORMANCE.md, session 22).
  const put = (e: Engine, i: number) => e.putObject('ckpt', `k${String(i).padStart(5, '0')}`, Buffer.from(`value ${i}`));

  it('seals alone write no checkpoint; an open after a SIGKILL replays every sealed footer', async () => {
    const disk = new MemoryFileSystem();
    const p = opener(disk, { segmentRecordsMax: 512 });
    let e = await p.open();
    await e.createBucket('ckpt');
    // 12,032 mutations (until session 22 a seal took a checkpoint after 10,000), 64 at a time
    const n = 188 * 64;
    for (let i = 0; i < n; i += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => put(e, i + j)));
    await ticks(20);
    expect((await disk.readdir('/data/segments')).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(20);
    expect(await disk.readdir('/data/checkpoints')).toEqual([]);
    p.kill();
    e = await p.open();
    expect(e.stats().objects).toBe(n);
    for (const i of [0, 17, 4_095, n - 1]) expect(await text(e, 'ckpt', `k${String(i).padStart(5, '0')}`)).toBe(`value ${i}`);
    await e.close();
  });

  it('the interval writes one, whether or not a seal came', async () => {
    const disk = new MemoryFileSystem();
    const p = opener(disk, { checkpointEveryOps: 50 });
    const e = await p.open();
    await e.createBucket('ckpt');
    for (let i = 0; i < 60; i++) await put(e, i);
    // written in the background: wait for it, but not forever
    for (let turn = 0; turn < 200 && (await disk.readdir('/data/checkpoints')).length === 0; turn++) await ticks(1);
    expect((await disk.readdir('/data/checkpoints')).length).toBe(1);
    // segmentBytesMax is 1 MiB: these puts fill far less, so no seal took part
    expect((await disk.readdir('/data/segments')).filter((f) => f.endsWith('.seg')).length).toBe(1);
    await e.close();
  });
});
