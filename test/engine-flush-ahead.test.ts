// Flush-ahead: while a large body streams in, the writer syncs the chunks already written once 8 MiB
// are waiting (durable mode), so the COMMIT's fdatasync has only the tail left to write. Observed at the
// file-system level: fdatasyncs of the segment happen before the body has ended.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { CountingFs } from './helpers/counting-fs.js';
import { readAll } from './helpers/engine-helpers.js';

const MiB = 1 << 20;
const SEG = /\.seg$/;

/** Waits up to `ms` for a segment fdatasync after the first `before` ones; returns how many there were since. */
async function syncsWithin(fs: CountingFs, before: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  while (fs.syncsOf(SEG) === before && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  return fs.syncsOf(SEG) - before;
}

describe('flush-ahead of large bodies', () => {
  it('syncs written chunks while the body is still arriving; the object reads back exactly', async () => {
    for (const durability of ['fsync', 'none'] as const) {
      const fs = new CountingFs(new MemoryFileSystem());
      const e = await Engine.open({ dir: '/d', fs, durability, workerThreads: 0, segmentBytesMax: 256 * MiB });
      try {
        await e.createBucket('flush');
        const pieces = Array.from({ length: 24 }, () => randomBytes(MiB));
        const before = fs.syncsOf(SEG);
        let midBody = -1;
        const body = Readable.from(
          (async function* () {
            for (let i = 0; i < pieces.length; i++) {
              if (i === 20) midBody = await syncsWithin(fs, before, durability === 'fsync' ? 2_000 : 50);
              yield pieces[i];
            }
          })(),
        );
        const info = await e.putObject('flush', 'big', body);
        if (durability === 'fsync') expect(midBody, 'fdatasyncs of the segment before the body ended').toBeGreaterThan(0);
        else expect(midBody, 'no sync in durability none').toBe(0);
        const all = Buffer.concat(pieces);
        expect(info.etag).toBe(createHash('md5').update(all).digest('hex'));
        expect((await readAll((await e.getObject('flush', 'big')).body)).equals(all)).toBe(true);
      } finally {
        await e.close();
      }
    }
  });
});
