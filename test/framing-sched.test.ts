// The worker pool that frames large chunks (and opens them for GETs) runs under SCHED_BATCH on Linux, so
// that a woken framing thread does not preempt the main thread (src/engine/chunk-worker.ts); the small-PUT
// batch framers and the main thread keep the normal policy; SEDIMENT_FRAMING_BATCH=0 keeps it everywhere.
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { nativeAddon, nativeLoaded } from '../src/native/index.js';

const SCHED_BATCH = 3;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Threads of this process by scheduling policy (field 41 of /proc/self/task/TID/stat). */
function policies(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    } catch {
      continue; // ended between the listing and the read
    }
    const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
    out.set(policy, (out.get(policy) ?? 0) + 1);
  }
  return out;
}

/** Opens an engine with 2 framing threads, puts large and small objects, and returns the batch threads seen. */
async function batchThreadsWhileOpen(): Promise<{ before: number; during: number; mainPolicy: number }> {
  const before = policies().get(SCHED_BATCH) ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'sediment-sched-'));
  dirs.push(dir);
  const e = await Engine.open({ dir, workerThreads: 2, onWarning: () => undefined });
  try {
    await e.createBucket('bkt');
    await e.startWorkers(); // both kinds of threads up: small PUTs then go to the batch framers
    await e.putObject('bkt', 'large', Buffer.alloc(3 << 20, 1)); // 3 chunks of 1 MiB: the pool
    await Promise.all(Array.from({ length: 64 }, (_, i) => e.putObject('bkt', `small${i}`, Buffer.alloc(4096, i)))); // the batch framers
    // Every pool thread calls schedBatch when its module is evaluated; the last may still be loading.
    let during = 0;
    for (let waited = 0; waited < 3000; waited += 50) {
      during = (policies().get(SCHED_BATCH) ?? 0) - before;
      if (during >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    return { before, during, mainPolicy: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]) };
  } finally {
    await e.close();
  }
}

it.runIf(process.platform === 'linux' && nativeLoaded)('the addon provides schedBatch on Linux', () => {
  expect(typeof nativeAddon?.schedBatch).toBe('function');
});

describe.runIf(process.platform === 'linux' && nativeAddon?.schedBatch !== undefined)('framing threads under SCHED_BATCH', () => {
  it('the two pool threads are batch threads; the main thread and the small-PUT framers are not', async () => {
    const r = await batchThreadsWhileOpen();
    expect(r.mainPolicy).toBe(0);
    expect(r.during).toBe(2);
  });

  it('SEDIMENT_FRAMING_BATCH=0 keeps the normal policy', async () => {
    process.env.SEDIMENT_FRAMING_BATCH = '0';
    try {
      const r = await batchThreadsWhileOpen();
      expect(r.during).toBe(0);
    } finally {
      delete process.env.SEDIMENT_FRAMING_BATCH;
    }
  });
});
