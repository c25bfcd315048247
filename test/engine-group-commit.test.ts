// Group commit as the file system sees it: small PUTs issued together leave in one writev (each one's
// CHUNK and COMMIT, and everyone's) and are made durable by one fdatasync; a PUT on its own still
// completes on its own. The writer starts a batch at the end of the event-loop turn (segment-writer.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { CountingFs } from './helpers/counting-fs.js';
import { readAll } from './helpers/engine-helpers.js';

const SEG = /\.seg$/;

describe('group commit of small PUTs', () => {
  it('PUTs issued in one turn share one writev and one fdatasync, and read back', async () => {
    const fs = new CountingFs(new MemoryFileSystem());
    const e = await Engine.open({ dir: '/d', fs, durability: 'fsync', workerThreads: 0 });
    try {
      await e.createBucket('group');
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(4096, `object ${i} `));
      const writes = fs.writevsOf(SEG);
      const syncs = fs.syncsOf(SEG);
      const infos = await Promise.all(bodies.map((b, i) => e.putObject('group', `k${i}`, b)));
      expect(fs.writevsOf(SEG) - writes, 'writevs for 8 PUTs (16 frames)').toBe(1);
      expect(fs.syncsOf(SEG) - syncs, 'fdatasyncs for 8 PUTs').toBe(1);
      expect(infos.map((i) => i.size)).toEqual(bodies.map((b) => b.length));
      for (let i = 0; i < bodies.length; i++) {
        expect((await readAll((await e.getObject('group', `k${i}`)).body)).equals(bodies[i])).toBe(true);
      }
      // One more, alone: its own writev and fdatasync.
      await e.putObject('group', 'alone', 'x'.repeat(100));
      expect(fs.writevsOf(SEG) - writes).toBe(2);
      expect(fs.syncsOf(SEG) - syncs).toBe(2);
    } finally {
      await e.close();
    }
  });

  it('on a real disk (the writer thread): more frames in one turn than one submission takes, all acknowledged, read back after a reopen', async () => {
    // 3,000 PUTs issued at once queue ~6,000 frames in one turn: the writer hands them over in several
    // submissions (at most 1,024 frames each, segment-writer.ts) that the thread writes and syncs in order.
    const dir = mkdtempSync(join(tmpdir(), 'sediment-groupcommit-'));
    try {
      let e = await Engine.open({ dir, durability: 'fsync', workerThreads: 0 });
      const bodies = Array.from({ length: 3000 }, (_, i) => Buffer.from(`object ${i} `.repeat(1 + (i % 40))));
      try {
        await e.createBucket('group');
        const infos = await Promise.all(bodies.map((b, i) => e.putObject('group', `k${String(i).padStart(5, '0')}`, b)));
        expect(infos.map((x) => x.size)).toEqual(bodies.map((b) => b.length));
      } finally {
        await e.close();
      }
      e = await Engine.open({ dir, durability: 'fsync', workerThreads: 0 });
      try {
        for (let i = 0; i < bodies.length; i += 7) {
          expect((await readAll((await e.getObject('group', `k${String(i).padStart(5, '0')}`)).body)).equals(bodies[i]), `k${i}`).toBe(true);
        }
        let listed = 0;
        let token: string | undefined;
        do {
          const page = e.listObjects('group', { continuationToken: token });
          listed += page.contents.length;
          token = page.nextContinuationToken;
        } while (token !== undefined);
        expect(listed).toBe(bodies.length);
      } finally {
        await e.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
