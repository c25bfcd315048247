// A full disk (ENOSPC) at the engine: the write that hit it is undone, every operation that needed it
// fails with SEDIMENT_NO_SPACE, reads go on, nothing written before is damaged, and writes resume by
// themselves once space is freed — whether the disk filled up in a batch of frames, a seal's footer or
// a new segment's header. A failed fdatasync stays fatal, even when it says ENOSPC. After a power loss,
// every acknowledged put is there and no refused one is.
//
// The disk is a MemoryFileSystem behind test/helpers/fault-fs.ts, whose space budget cuts a write short
// where the budget ends (a short write, then ENOSPC), as a real file system does.
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { errorCode, md5hex, readAll, tryGet } from './helpers/engine-helpers.js';
import { FaultFs } from './helpers/fault-fs.js';
import { ProcessFs } from './helpers/process-fs.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';

const CHUNK = 64 << 10;

function setup(extra: Record<string, unknown> = {}) {
  const disk = new MemoryFileSystem();
  let view = new ProcessFs(disk);
  const open = (fs: FaultFs) =>
    Engine.open({ dir: '/data', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined, ...extra });
  const s = {
    disk,
    faults: new FaultFs(view),
    open: () => open(s.faults),
    /** Power loss, then a restart (a new process) on a disk with room and no injected faults. */
    async restart(): Promise<Engine> {
      view.kill();
      disk.crash({ tornTail: true, random: mulberry32(7).next });
      view = new ProcessFs(disk);
      const enospc = s.faults.enospc;
      s.faults = new FaultFs(view);
      s.faults.enospc = enospc;
      return open(s.faults);
    },
  };
  return s;
}

interface Outcome {
  body: Buffer;
  acked: boolean;
}

/** Every acknowledged put reads back exactly, every refused one is absent; verify finds nothing. */
async function checkAll(e: Engine, outcomes: Map<string, Outcome>, where: string): Promise<void> {
  for (const [key, o] of outcomes) {
    const { data, error } = await tryGet(e, 'bkt', key);
    if (o.acked) {
      expect(error, `${where}: acknowledged ${key}: ${(error as Error | undefined)?.message}`).toBeUndefined();
      expect(md5hex(data), `${where}: ${key}`).toBe(md5hex(o.body));
    } else {
      expect(errorCode(error), `${where}: refused ${key} must not exist`).toBe('SEDIMENT_NO_SUCH_KEY');
    }
  }
  const v = await e.verify();
  expect(v.damage, `${where}: verify`).toEqual([]);
  expect(v.damagedObjects, `${where}: verify`).toEqual([]);
}

/** checkAll on the running engine, then close, power loss and restart, and checkAll again. */
async function checkLiveAndAfterPowerLoss(s: ReturnType<typeof setup>, e: Engine, outcomes: Map<string, Outcome>): Promise<void> {
  await checkAll(e, outcomes, 'live');
  await e.close();
  const e2 = await s.restart();
  try {
    await checkAll(e2, outcomes, 'after power loss');
  } finally {
    await e2.close();
  }
}

describe('disk full', () => {
  it('ENOSPC on a segment write: those puts fail with SEDIMENT_NO_SPACE, the others and later ones succeed', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    await e.putObject('bkt', 'before', 'written before the disk filled up');
    s.faults.failOn('writev', /\.seg$/, 2, 'ENOSPC');
    const outcomes = new Map<string, Outcome>();
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const body = mulberry32(i).bytes([10, CHUNK + 5, 3 * CHUNK, 5000][i % 4]);
        const o = { body, acked: false };
        outcomes.set(`k${i}`, o);
        return e.putObject('bkt', `k${i}`, body).then(() => (o.acked = true), (err) => errors.push(err));
      }),
    );
    expect(s.faults.fired).toHaveLength(1);
    expect(errors.length).toBeGreaterThan(0);
    for (const err of errors) {
      expect(errorCode(err)).toBe('SEDIMENT_NO_SPACE');
      expect((err as Error).message).toMatch(/no space left on device.*(resume|retry) when space is freed/);
    }
    expect(e.stats().damage).toEqual([]);
    // Not fatal: the next write works, reads never stopped.
    await e.putObject('bkt', 'after', 'written after');
    outcomes.set('after', { body: Buffer.from('written after'), acked: true });
    outcomes.set('before', { body: Buffer.from('written before the disk filled up'), acked: true });
    await checkLiveAndAfterPowerLoss(s, e, outcomes);
  });

  it('the frames of a cut-short write are removed: a later, shorter write is not followed by them after a crash', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    // The first batch (one chunk) fits; the next one (the other chunks) is cut after a few whole frames.
    s.faults.setSpace(4000);
    const bodies = Array.from({ length: 8 }, (_, i) => mulberry32(i).bytes(1000));
    const settled = await Promise.allSettled(bodies.map((b, i) => e.putObject('bkt', `k${i}`, b)));
    expect(s.faults.enospc).toBeGreaterThan(0);
    const outcomes = new Map<string, Outcome>();
    settled.forEach((r, i) => {
      if (r.status === 'rejected') expect(errorCode(r.reason)).toBe('SEDIMENT_NO_SPACE');
      outcomes.set(`k${i}`, { body: bodies[i], acked: r.status === 'fulfilled' });
    });
    s.faults.setSpace(undefined);
    await e.putObject('bkt', 'short', 'x');
    outcomes.set('short', { body: Buffer.from('x'), acked: true });
    const e2 = await s.restart(); // e is "killed" without a clean close
    try {
      expect(e2.stats().damage).toEqual([]);
      await checkAll(e2, outcomes, 'after power loss');
    } finally {
      await e2.close();
    }
  });

  it('a put whose chunk write was undone is never committed, even when later chunks are written', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    const pieces = [0, 1, 2, 3].map((i) => mulberry32(100 + i).bytes(CHUNK));
    async function* slowBody() {
      for (const p of pieces) {
        yield p;
        await new Promise((r) => setTimeout(r, 5)); // each chunk is appended and written before the next
      }
    }
    // The second chunk of the body hits the full disk; the disk has room again for the third.
    s.faults.failOn('writev', /\.seg$/, 2, 'ENOSPC');
    await expect(e.putObject('bkt', 'big', slowBody())).rejects.toMatchObject({ code: 'SEDIMENT_NO_SPACE' });
    expect(s.faults.fired).toHaveLength(1);
    await expect(e.headObject('bkt', 'big')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
    await e.putObject('bkt', 'big', Buffer.concat(pieces));
    const outcomes = new Map([['big', { body: Buffer.concat(pieces), acked: true }]]);
    await checkLiveAndAfterPowerLoss(s, e, outcomes);
  });

  it('a multipart part whose chunks were undone is refused; the upload completes after a retry', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    const up = await e.createMultipartUpload('bkt', 'mp');
    const part = mulberry32(5).bytes(3 * CHUNK);
    async function* slow() {
      for (let at = 0; at < part.length; at += CHUNK) {
        yield part.subarray(at, at + CHUNK);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    s.faults.failOn('writev', /\.seg$/, 2, 'ENOSPC');
    await expect(e.uploadPart('bkt', 'mp', up.uploadId, 1, slow())).rejects.toMatchObject({ code: 'SEDIMENT_NO_SPACE' });
    expect(e.listParts('bkt', 'mp', up.uploadId).parts).toEqual([]);
    const p = await e.uploadPart('bkt', 'mp', up.uploadId, 1, slow());
    await e.completeMultipartUpload('bkt', 'mp', up.uploadId, [{ partNumber: 1, etag: p.etag }]);
    await checkAll(e, new Map([['mp', { body: part, acked: true }]]), 'live');
    await e.close();
  });

  it('ENOSPC writing a seal\'s footer: the seal is refused and retried later, nothing is lost', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    const outcomes = new Map<string, Outcome>();
    for (let i = 0; i < 5; i++) {
      const body = mulberry32(i).bytes(20_000);
      await e.putObject('bkt', `k${i}`, body);
      outcomes.set(`k${i}`, { body, acked: true });
    }
    s.faults.failOn('writev', /000000000001\.seg$/, 1, 'ENOSPC'); // the next write to segment 1 is the footer
    await expect(e.sealActiveSegment()).rejects.toMatchObject({ code: 'SEDIMENT_NO_SPACE' });
    await e.putObject('bkt', 'after', 'after the failed seal');
    outcomes.set('after', { body: Buffer.from('after the failed seal'), acked: true });
    await e.sealActiveSegment();
    expect(e.stats().activeSegmentId).toBe(2);
    await checkLiveAndAfterPowerLoss(s, e, outcomes);
  });

  it('ENOSPC writing a new segment\'s header: the half-created file is removed and created again later', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    await e.putObject('bkt', 'a', 'in segment 1');
    s.faults.failOn('writev', /000000000002\.seg$/, 1, 'ENOSPC');
    await expect(e.sealActiveSegment()).rejects.toMatchObject({ code: 'SEDIMENT_NO_SPACE' });
    expect(await s.disk.readdir('/data/segments')).toEqual(['000000000001.seg']);
    // Segment 1 is sealed; the next write creates segment 2 first.
    await e.putObject('bkt', 'b', 'in segment 2');
    expect(await s.disk.readdir('/data/segments')).toEqual(['000000000001.seg', '000000000002.seg']);
    const outcomes = new Map([
      ['a', { body: Buffer.from('in segment 1'), acked: true }],
      ['b', { body: Buffer.from('in segment 2'), acked: true }],
    ]);
    await checkLiveAndAfterPowerLoss(s, e, outcomes);
  });

  it('an fdatasync that fails with ENOSPC is still fatal (SEDIMENT_WRITER_FAILED)', async () => {
    const s = setup();
    const e = await s.open();
    await e.createBucket('bkt');
    await e.putObject('bkt', 'a', 'one');
    s.faults.failOn('datasync', /\.seg$/, 1, 'ENOSPC');
    await expect(e.putObject('bkt', 'b', 'two')).rejects.toMatchObject({ code: 'SEDIMENT_WRITER_FAILED', message: expect.stringMatching(/no space left/) });
    s.faults.clearFaults();
    await expect(e.putObject('bkt', 'c', 'three')).rejects.toMatchObject({ code: 'SEDIMENT_WRITER_FAILED' });
    expect((await readAll((await e.getObject('bkt', 'a')).body)).toString()).toBe('one');
    await e.close();
  });

  const rounds = SOAK ? 40 : 6;
  it(`the disk fills up under load and is freed again, ${rounds} times (seeded)`, async () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const where = (r: number) => `seed ${seed} (replay: SEDIMENT_SEED=${seed}) round ${r}`;
    const s = setup({ segmentBytesMax: 1 << 20 });
    let e = await s.open();
    await e.createBucket('bkt');
    const outcomes = new Map<string, Outcome>();
    let refused = 0;
    let n = 0;
    for (let round = 0; round < rounds; round++) {
      // Room for a few puts: the disk fills up part-way through a batch, a footer or a header.
      s.faults.setSpace(rng.int(50_000, 1_500_000));
      const errors: unknown[] = [];
      for (let wave = 0; wave < 6; wave++) {
        await Promise.all(
          Array.from({ length: 8 }, () => {
            const key = `k${n++ % 40}`;
            const size = rng.pick([0, 100, 5000, CHUNK - 1, CHUNK + 1, 3 * CHUNK + 17, 200_000]);
            const body = rng.bool() ? rng.bytes(size) : Buffer.alloc(size, n);
            return e.putObject('bkt', key, body).then(
              () => outcomes.set(key, { body, acked: true }),
              (err) => {
                errors.push(err);
                // A refused overwrite leaves the previous acknowledged version.
                if (!outcomes.has(key)) outcomes.set(key, { body, acked: false });
              },
            );
          }),
        );
      }
      for (const err of errors) expect(errorCode(err), `${where(round)}: ${(err as Error).message}`).toBe('SEDIMENT_NO_SPACE');
      refused += errors.length;
      // Reads go on while the disk is full; nothing is damaged.
      await checkAll(e, outcomes, `${where(round)}: disk full`);
      // Space is freed: writes resume without a restart.
      s.faults.setSpace(undefined);
      const key = `fresh${round}`;
      await e.putObject('bkt', key, `written once space was freed ${round}`);
      outcomes.set(key, { body: Buffer.from(`written once space was freed ${round}`), acked: true });
      if (round % 2 === 1) {
        await e.close().catch(() => undefined);
        e = await s.restart();
        await checkAll(e, outcomes, `${where(round)}: after power loss`);
      }
    }
    await e.close();
    expect(s.faults.enospc, 'the disk really filled up').toBeGreaterThan(0);
    expect(refused, 'puts were refused').toBeGreaterThan(0);
  });
});
