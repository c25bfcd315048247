// A GET of a cold object reads the object's record (which names its cold segments), then pins those
// segments for the read. A migration pass may, in between, rewrite the object's chunks into a new cold
// segment and re-commit it, and the next pass delete the old segment: the GET must then read the object
// from where it is now, not fail on the deleted segment. The window is made deterministic: the read of the
// record is held (FaultFs.pauseRead) while the passes run.
import { describe, expect, it } from 'vitest';
import type { Engine, Migrator } from '../src/index.js';
import { fillLogText } from '../src/loadgen/log-text.js';
import { FaultFs } from './helpers/fault-fs.js';
import { coldWorld } from './helpers/cold-world.js';
import { readAll } from './helpers/engine-helpers.js';

const logBody = (bytes: number, seed: number): Buffer => fillLogText(Buffer.alloc(bytes), seed);
const coldNames = async (w: ReturnType<typeof coldWorld>): Promise<string[]> => (await w.store.list()).filter((b) => b.name.endsWith('.cold')).map((b) => b.name);

/** A cold object `big` alone in a mostly dead cold segment 1: the next pass rewrites it. */
async function setUp(versioned = false): Promise<{ w: ReturnType<typeof coldWorld>; fs: () => FaultFs; e: Engine; m: Migrator; big: Buffer; versionId?: string }> {
  let faults: FaultFs | undefined;
  const w = coldWorld({ batchBytesMax: 1 << 20 }, (inner) => (faults = new FaultFs(inner)));
  const { e, m } = await w.open();
  await e.createBucket('logs');
  if (versioned) await e.setBucketVersioning('logs', 'Enabled');
  await e.setBucketLifecycle('logs', { rules: [{ id: 'c', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
  const big = logBody(3 * 65_536 + 11, 1);
  const put = await e.putObject('logs', 'big', big);
  for (let i = 0; i < 20; i++) await e.putObject('logs', `f${i}`, logBody(60_000, 10 + i));
  w.advanceDays(2);
  expect((await m.runPass()).objectsMoved).toBe(21);
  for (let i = 0; i < 20; i++) await e.deleteObject('logs', `f${i}`, versioned ? { versionId: (await e.headObject('logs', `f${i}`)).versionId } : {});
  expect(await coldNames(w)).toEqual(['000000000001.cold']);
  return { w, fs: () => faults!, e, m, big, versionId: put.versionId };
}

/** Starts `get` with its record read held, runs the passes that move `big` and delete its old segment, then lets it go on. */
async function racePasses<T>(s: Awaited<ReturnType<typeof setUp>>, get: () => Promise<T>): Promise<T> {
  const pause = s.fs().pauseRead(/\.seg$/);
  const pending = get();
  await pause.reached; // the GET has found the version and is reading its record
  expect(await s.m.runPass()).toMatchObject({ coldSegmentsRewritten: 1, objectsMoved: 1 });
  expect((await s.m.runPass()).coldSegmentsDeleted).toBe(1);
  expect(await coldNames(s.w)).toEqual(['000000000002.cold']);
  pause.resume();
  return pending;
}

describe('a GET of a cold object racing a pass that moves it', () => {
  it('getObject (a stream) reads the object from its new cold segment', async () => {
    const s = await setUp();
    const got = await racePasses(s, () => s.e.getObject('logs', 'big'));
    expect((await readAll(got.body)).equals(s.big)).toBe(true);
    // No pin outlives the GET (the retry's first pin included).
    expect([1, 2].map((id) => s.e.coldAccess().coldBusy(id))).toEqual([false, false]);
    await s.e.close();
  });

  it('getObjectData (whole, in one buffer) and a range of it', async () => {
    const s = await setUp();
    const whole = await racePasses(s, () => s.e.getObjectData('logs', 'big', { bufferBytesMax: 1 << 20 }));
    expect(whole.data!.equals(s.big)).toBe(true);
    await s.e.close();
    // And a range of it as lent pieces (the S3 front's way), on a world of its own.
    const t = await setUp();
    const pending = racePasses(t, () => t.e.getObjectData('logs', 'big', { bufferBytesMax: 1000, lend: true, range: { start: 70_000, end: 190_000 } }));
    const lent = (await pending).lent!;
    const parts: Buffer[] = [];
    for await (const piece of lent) {
      parts.push(Buffer.from(piece.bytes));
      piece.release();
    }
    expect(Buffer.concat(parts).equals(t.big.subarray(70_000, 190_001))).toBe(true);
    await t.e.close();
  });

  it('a cold object deleted while its record is read: the GET answers as one after the delete', async () => {
    const s = await setUp();
    const pause = s.fs().pauseRead(/\.seg$/);
    const pending = s.e.getObject('logs', 'big').then(() => 'read', (err: Error & { code?: string }) => err.code);
    await pause.reached;
    await s.e.deleteObject('logs', 'big');
    pause.resume();
    expect(await pending).toBe('SEDIMENT_NO_SUCH_KEY');
    expect(s.e.coldAccess().coldBusy(1)).toBe(false);
    await s.e.close();
  });

  it('a version re-committed during every record read (a tagging loop): the GET stops retrying after a bound and reads the last record', async () => {
    const s = await setUp();
    let pause = s.fs().pauseRead(/\.seg$/);
    const pending = s.e.getObject('logs', 'big');
    let reads = 0;
    for (;;) {
      const reached = await Promise.race([pause.reached.then(() => true), pending.then(() => false)]);
      if (!reached) break;
      reads++;
      await s.e.putObjectTagging('logs', 'big', { round: String(reads) }); // same chunks, new seq
      const current = pause;
      pause = s.fs().pauseRead(/\.seg$/);
      current.resume();
    }
    expect(reads).toBe(8);
    expect((await readAll((await pending).body)).equals(s.big)).toBe(true);
    pause.resume();
    await s.e.close();
  });

  it('a GET of a version by id, in a bucket with versions', async () => {
    const s = await setUp(true);
    const got = await racePasses(s, () => s.e.getObject('logs', 'big', { versionId: s.versionId }));
    expect(got.info.versionId).toBe(s.versionId);
    expect((await readAll(got.body)).equals(s.big)).toBe(true);
    await s.e.close();
  });
});
