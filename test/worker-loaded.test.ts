// LoadCounter (src/engine/worker-loaded.ts): a pool is destroyed only once its threads have loaded their
// module, since Node 20 aborts the process when a thread is terminated inside require(esm). The abort itself
// is a race (about 1 close in 800 in a scratch loop), so these tests check the waiting, deterministically.
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { LOAD_GRACE_MS, LoadCounter } from '../src/engine/worker-loaded.js';

const fixture = (name: string): string => join(import.meta.dirname, 'fixtures', name);

describe('LoadCounter', () => {
  it('waits for threads still evaluating their module, then LOAD_GRACE_MS, before a pool may be destroyed', async () => {
    const counter = new LoadCounter();
    const t0 = Date.now();
    const pool = new Piscina({ filename: fixture('slow-worker.mjs'), minThreads: 2, maxThreads: 2, workerData: counter.workerData() });
    try {
      expect(counter.loaded).toBe(0);
      await counter.settled(pool);
      expect(counter.loaded).toBe(2);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300 + LOAD_GRACE_MS);
      // Loaded long enough ago: no wait at all.
      await new Promise((r) => setTimeout(r, LOAD_GRACE_MS));
      // No timer at all: settled() resolves before the next turn of the event loop.
      const first = await Promise.race([
        counter.settled(pool).then(() => 'settled'),
        new Promise((r) => setImmediate(() => r('next turn'))),
      ]);
      expect(first).toBe('settled');
    } finally {
      await pool.destroy();
    }
  });

  it('gives up after its timeout when a thread never counts itself loaded', async () => {
    const counter = new LoadCounter();
    const pool = new Piscina({ filename: fixture('never-loaded-worker.mjs'), minThreads: 1, maxThreads: 1, workerData: counter.workerData() });
    try {
      expect(await pool.run({})).toBe(null); // its module is loaded, but it says nothing
      const t0 = Date.now();
      await counter.settled(pool, 150);
      const waited = Date.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(145);
      expect(waited).toBeLessThan(2000);
      expect(counter.loaded).toBe(0);
    } finally {
      await pool.destroy();
    }
  });
});
