import { readlinkSync } from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BACKGROUND_NICE, lowerThisThreadPriority } from '../src/util/thread-priority.js';

describe('lowerThisThreadPriority', () => {
  it('never changes the main thread (its id is the process id: the whole process would follow)', () => {
    const before = os.getPriority(process.pid);
    expect(lowerThisThreadPriority()).toBe(false);
    expect(os.getPriority(process.pid)).toBe(before);
  });

  it.runIf(process.platform === 'linux')('lowers only the calling worker thread', async () => {
    const before = os.getPriority(process.pid);
    // The worker imports the built module (`npm test` builds first), as the maintenance worker does.
    const url = new URL('../dist/src/util/thread-priority.js', import.meta.url).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { readlinkSync } = require('node:fs');
      import(${JSON.stringify(url)}).then((m) => {
        const applied = m.lowerThisThreadPriority();
        const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
        parentPort.postMessage({ applied, tid, nice: require('node:os').getPriority(tid) });
        setTimeout(() => {}, 200); // stay alive while the main thread looks
      });`;
    const w = new Worker(code, { eval: true });
    try {
      const r = await new Promise<{ applied: boolean; tid: number; nice: number }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(r.tid).not.toBe(process.pid);
      expect(r.applied).toBe(true);
      expect(r.nice).toBe(BACKGROUND_NICE);
      // Seen from outside, the worker's thread has the new value and the process (main thread) has not.
      expect(os.getPriority(r.tid)).toBe(BACKGROUND_NICE);
      expect(os.getPriority(process.pid)).toBe(before);
      expect(readlinkSync('/proc/thread-self')).toContain(`/task/${process.pid}`);
    } finally {
      await w.terminate();
    }
  });
});
