// Lent GET streams (getObjectData with `lend`, engine.ts streamChunks): a group of compressed chunks is
// decompressed by a worker into a reused group buffer, lent to the consumer piece by piece and reused for
// another GET once every piece of it is released. A buffer reused too early would change bytes the consumer
// still holds: these tests hold pieces unreleased while other GETs run and check them afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptionError, Engine, MemoryFileSystem, type LentBytes } from '../src/index.js';
import { mapDisk, segmentPath } from './helpers/segment-map.js';
import { mulberry32 } from './helpers/prng.js';
import { logLike } from './helpers/engine-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CHUNK = 256 << 10;


async function lentPieces(e: Engine, key: string, range?: { start: number; end: number }): Promise<LentBytes[]> {
  const r = await e.getObjectData('bkt', key, { bufferBytesMax: 0, lend: true, range });
  if (r.lent === undefined) throw new Error('expected a lent stream');
  const out: LentBytes[] = [];
  for await (const p of r.lent) out.push(p);
  return out;
}

const joined = (ps: LentBytes[]) => Buffer.concat(ps.map((p) => p.bytes));

async function withEngine(workerThreads: number, run: (e: Engine, bodies: Map<string, Buffer>) => Promise<void>, chunk = CHUNK): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sediment-lend-'));
  dirs.push(dir);
  const e = await Engine.open({ dir, workerThreads, chunkBytes: chunk, onWarning: () => undefined });
  try {
    await e.createBucket('bkt');
    const bodies = new Map<string, Buffer>();
    const rng = mulberry32(5);
    // log-like: compressed chunks (the lent path); random: stored raw (the consumer's own memory); a mix
    for (let i = 0; i < 6; i++) {
      const size = (3 + i) * chunk + [0, 1, Math.floor(chunk / 4)][i % 3]!;
      bodies.set(`log${i}`, logLike(size, 100 + i));
    }
    bodies.set('random', rng.bytes(5 * chunk + 3));
    bodies.set('mixed', Buffer.concat([logLike(2 * chunk, 7), rng.bytes(chunk), logLike(3 * chunk + 9, 8)]));
    for (const [k, b] of bodies) await e.putObject('bkt', k, b);
    await run(e, bodies);
  } finally {
    await e.close();
  }
}

describe('lent GET streams', () => {
  // 64 KiB chunks: compressed ones are opened on the main thread even with workers (under the pool's
  // minimum); tails of a few bytes, in every size, are read from the page cache on the spot (readCached)
  for (const [workerThreads, chunk] of [[2, CHUNK], [0, CHUNK], [2, 64 << 10]] as const) {
    it(`give exact bytes that stay unchanged until released, while other GETs reuse buffers (workerThreads ${workerThreads}, chunks of ${chunk >> 10} KiB)`, async () => {
      await withEngine(workerThreads, async (e, bodies) => {
        // Hold every piece of every object unreleased, then read them all again: no buffer may be reused.
        const held = new Map<string, LentBytes[]>();
        for (const k of bodies.keys()) held.set(k, await lentPieces(e, k));
        for (const k of bodies.keys()) expect(joined(await lentPieces(e, k)).equals(bodies.get(k)!), k).toBe(true);
        for (const [k, ps] of held) expect(joined(ps).equals(bodies.get(k)!), `${k} held`).toBe(true);
        const before = e.stats();
        // compressed chunks are decompressed into group buffers by workers; raw ones are read into them either way
        expect(before.getBuffersCreated).toBeGreaterThan(0);
        // Release one object's pieces piece by piece while the others stay held; later GETs reuse them.
        for (const p of held.get('log5')!) p.release();
        held.delete('log5');
        for (let round = 0; round < 3; round++) {
          for (const k of bodies.keys()) {
            const ps = await lentPieces(e, k);
            expect(joined(ps).equals(bodies.get(k)!), `${k} round ${round}`).toBe(true);
            for (const p of ps) p.release();
            for (const p of ps) p.release(); // a second release does nothing
          }
        }
        for (const [k, ps] of held) expect(joined(ps).equals(bodies.get(k)!), `${k} still held`).toBe(true);
        const after = e.stats();
        expect(after.getBuffersReused).toBeGreaterThan(before.getBuffersReused);
        // every GET of the rounds released everything: at most what the held ones pin was made since
        expect(after.getBuffersCreated - before.getBuffersCreated).toBeLessThanOrEqual(4);
        // ranges across chunk boundaries
        const log4 = bodies.get('log4')!;
        for (const [start, end] of [[1, log4.length - 2], [chunk - 5, 3 * chunk + 5], [2 * chunk, 2 * chunk + 10]] as const) {
          const ps = await lentPieces(e, 'log4', { start, end });
          expect(joined(ps).equals(log4.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
          for (const p of ps) p.release();
        }
        expect(e.stats().readAheadBytes).toBe(0);
      }, chunk);
    });
  }

  it('read ahead only within the shared budget: a consumer that stops taking bytes holds no group beyond it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sediment-lend-budget-'));
    dirs.push(dir);
    const budget = 3 * CHUNK; // room for one group of 2 chunks ahead, then no more
    const e = await Engine.open({ dir, workerThreads: 2, chunkBytes: CHUNK, readAheadBytesMax: budget, onWarning: () => undefined });
    try {
      await e.createBucket('bkt');
      const bodies = Array.from({ length: 8 }, (_, i) => logLike(9 * CHUNK + i, 300 + i));
      for (const [i, b] of bodies.entries()) await e.putObject('bkt', `o${i}`, b);
      // Eight streams each take their first piece and stop (clients that stopped reading).
      const its = await Promise.all(bodies.map(async (_, i) => (await e.getObjectData('bkt', `o${i}`, { bufferBytesMax: 0, lend: true })).lent![Symbol.asyncIterator]()));
      const firsts = await Promise.all(its.map((it) => it.next()));
      await new Promise((r) => setTimeout(r, 50)); // reads started for them settle
      // Each would have read a group of its own ahead (8 × 2 chunks); within the budget, only the first did.
      expect(e.stats().readAheadBytes).toBeLessThanOrEqual(budget + 2 * CHUNK);
      // Taken to the end one after the other, every stream still gives exact bytes.
      for (const [i, it] of its.entries()) {
        const ps: LentBytes[] = [firsts[i]!.value as LentBytes];
        for (let n = await it.next(); !n.done; n = await it.next()) ps.push(n.value);
        expect(joined(ps).equals(bodies[i]!), `o${i}`).toBe(true);
        for (const p of ps) p.release();
      }
      expect(e.stats().readAheadBytes).toBe(0);
    } finally {
      await e.close();
    }
  });

  it('let the read-ahead and its buffers go when the consumer stops early', async () => {
    await withEngine(2, async (e, bodies) => {
      const created = e.stats().getBuffersCreated;
      for (let i = 0; i < 8; i++) {
        const r = await e.getObjectData('bkt', 'log5', { bufferBytesMax: 0, lend: true });
        const it = r.lent![Symbol.asyncIterator]();
        const first = await it.next();
        const second = await it.next();
        expect(first.done || second.done).toBe(false);
        await it.return(undefined);
        first.value!.release();
        second.value!.release();
        expect(e.stats().readAheadBytes).toBe(0);
      }
      // the groups read ahead of the stopped streams went back to the free list once their reads were done
      await new Promise((r) => setTimeout(r, 50));
      const ps = await lentPieces(e, 'log5');
      expect(joined(ps).equals(bodies.get('log5')!)).toBe(true);
      expect(e.stats().getBuffersCreated - created).toBeLessThanOrEqual(4);
    });
  });

  for (const workerThreads of [2, 0]) {
    it(`never yield a damaged chunk: the stream fails at it, and the buffers stay usable (workerThreads ${workerThreads})`, async () => {
      const fs = new MemoryFileSystem();
      const dir = '/lend';
      const e = await Engine.open({ dir, fs, workerThreads, chunkBytes: CHUNK, onWarning: () => undefined });
      try {
        await e.createBucket('bkt');
        const rng = mulberry32(9);
        const bodies = new Map([
          ['log', logLike(7 * CHUNK + 5, 1)],
          ['random', rng.bytes(7 * CHUNK + 5)],
        ]);
        for (const [k, b] of bodies) await e.putObject('bkt', k, b);
        const map = await mapDisk(fs, dir);
        for (const [key, body] of bodies) {
          // chunk 3: the first of the second group read ahead (chunk 0 is read alone, then groups [1, 2], [3, 4], ...)
          const ref = map.objects.get(`bkt/${key}`)!.chunks[3]!;
          const frame = map.segments.get(ref.segmentId)!.frames.find((f) => f.offset === ref.offset)!;
          const at = frame.payloadAt + Math.floor(frame.payloadLen / 2);
          fs.flipByte(segmentPath(dir, ref.segmentId), at, 0x08);
          const r = await e.getObjectData('bkt', key, { bufferBytesMax: 0, lend: true });
          const got: Buffer[] = [];
          let error: unknown;
          try {
            for await (const p of r.lent!) {
              got.push(Buffer.from(p.bytes));
              p.release();
            }
          } catch (err) {
            error = err;
          }
          expect(error, key).toBeInstanceOf(CorruptionError);
          const prefix = Buffer.concat(got);
          expect(prefix.length, key).toBe(3 * CHUNK); // chunks 0-2, nothing of the damaged group
          expect(prefix.equals(body.subarray(0, prefix.length)), key).toBe(true);
          fs.flipByte(segmentPath(dir, ref.segmentId), at, 0x08); // repaired: the same buffers serve it whole
          const again = await lentPieces(e, key);
          expect(joined(again).equals(body), key).toBe(true);
          for (const p of again) p.release();
        }
        expect(e.stats().readAheadBytes).toBe(0);
      } finally {
        await e.close();
      }
    });
  }
});
