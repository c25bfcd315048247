// Destroying a piscina pool only once its threads have loaded their module.
// Node 20 (since 20.19) loads a piscina worker's ES module through require(esm), and a worker thread that is
// terminated while that require is under way aborts the whole process: "FATAL ERROR:
// v8::Module::IsGraphAsync …", or "Assertion failed: facade->InstantiateModule(…)" in
// ModuleWrap::CreateRequiredModuleFacade. Seen in CI: a CLI `put` that failed at once on a full disk closed
// the engine while a framing thread was still starting, and the CLI died with a native stack trace instead
// of its one-line error. A scratch loop (a pool of 2 destroyed 0–60 ms after it was made) aborted in 3 of 8
// runs of 100; engines opened, started and closed the same way, 1 run in 8 (docs/PERFORMANCE.md, session 23).
// Piscina tells nothing about a thread's module (its first threads count as ready at once), an idle thread
// blocks in Atomics.wait (it cannot post), and tasks may all go to one thread. So each worker module, as the
// last statement of its evaluation, counts itself loaded in shared memory (markLoaded), with the time; a
// close waits until as many threads are counted as the pool has, and until the last count is LOAD_GRACE_MS
// old (the require's own end, after the module's last statement, takes microseconds).
import { workerData } from 'node:worker_threads';
import type { Piscina } from 'piscina';

const KEY = 'sedimentLoaded';
/** Time after the last thread counted itself loaded before its pool may be destroyed. */
export const LOAD_GRACE_MS = 20;

/** What a pool's threads count themselves into: [0] threads loaded (Int32), [1] when the last one did (Float64, ms). */
export class LoadCounter {
  readonly shared = new SharedArrayBuffer(16);
  private readonly count = new Int32Array(this.shared, 0, 1);
  private readonly at = new Float64Array(this.shared, 8, 1);

  /** Threads counted loaded so far. */
  get loaded(): number {
    return Atomics.load(this.count, 0);
  }

  /** workerData for the pool's threads. */
  workerData(): Record<string, SharedArrayBuffer> {
    return { [KEY]: this.shared };
  }

  /**
   * Resolves once at least as many threads have counted themselves loaded as `pool` has, LOAD_GRACE_MS after
   * the last one did; or after `timeoutMs`, so that a thread that never loads cannot hang a close. Call it
   * right before `pool.destroy()`.
   */
  async settled(pool: Piscina, timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const wait = Atomics.load(this.count, 0) < pool.threads.length ? 5 : this.at[0] + LOAD_GRACE_MS - Date.now();
      if (wait <= 0 || Date.now() >= until) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, until - Date.now())));
    }
  }
}

/** In a worker module, as its last statement: counts this thread loaded, if its pool has a LoadCounter. */
export function markLoaded(): void {
  const shared = (workerData as Record<string, unknown> | null | undefined)?.[KEY];
  if (!(shared instanceof SharedArrayBuffer)) return;
  new Float64Array(shared, 8, 1)[0] = Date.now();
  Atomics.add(new Int32Array(shared, 0, 1), 0, 1);
}
