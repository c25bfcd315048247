// Runs the engine's lifecycle pass periodically under `sediment serve`. One pass at a time; a failed
// pass is logged and retried at the next tick (the server keeps serving); stop() waits for a pass in
// progress. `dayMs` shortens a lifecycle day for tests and conformance suites (docs/OPERATIONS.md).
import type { Engine } from '../engine/engine.js';

export interface LifecycleScheduleOptions {
  everyMs: number;
  dayMs?: number;
  log: (line: string) => void;
}

export interface LifecycleSchedule {
  stop(): Promise<void>;
}

export function startLifecycleSchedule(engine: Engine, opts: LifecycleScheduleOptions): LifecycleSchedule {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = (): void => {
    if (running || stopped) return;
    running = engine
      .runLifecycle({ dayMs: opts.dayMs })
      .then((r) => {
        if (r.expired.length + r.abortedUploads.length > 0) {
          opts.log(`lifecycle: expired ${r.expired.length} object(s) (${r.expiredBytes} B), aborted ${r.abortedUploads.length} upload(s)`);
        }
      })
      .catch((err: unknown) => opts.log(`lifecycle: pass failed, retrying at the next interval: ${(err as Error).message}`))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, opts.everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
