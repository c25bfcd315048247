// Runs the engine's lifecycle pass, then a cold-tier migration pass, periodically under `sediment serve`. One pass at a time; a failed
// pass is logged and retried at the next tick (the server keeps serving); stop() waits for a pass in
// progress. `dayMs` shortens a lifecycle day for tests and conformance suites (docs/OPERATIONS.md).
import type { Engine } from '../engine/engine.js';
import type { Migrator } from './migration.js';

export interface LifecycleScheduleOptions {
  everyMs: number;
  dayMs?: number;
  log: (line: string) => void;
  /** Cold-tier migration, run after each lifecycle pass (its failure is logged and retried next tick). */
  migrator?: Migrator;
}

export interface LifecycleSchedule {
  stop(): Promise<void>;
}

export function startLifecycleSchedule(engine: Engine, opts: LifecycleScheduleOptions): LifecycleSchedule {
  let running: Promise<void> | undefined;
  let stopped = false;
  // A pass over millions of objects takes minutes (its deletes wait for fsyncs): stop() ends it at its
  // next slice instead of waiting for it (what it expired is durable; the next start goes on).
  const abort = new AbortController();
  const tick = (): void => {
    if (running || stopped) return;
    running = engine
      // Counts only: a pass may expire millions of objects, and the log names none of them.
      .runLifecycle({ dayMs: opts.dayMs, listMax: 0, signal: abort.signal })
      .then((r) => {
        if (r.interrupted) opts.log('lifecycle: pass stopped before the end (server stopping); the next pass goes on');
        if (r.expiredCount + r.noncurrentExpiredCount + r.abortedUploads.length > 0) {
          opts.log(
            `lifecycle: expired ${r.expiredCount} object(s) (${r.expiredBytes} B) and ${r.noncurrentExpiredCount} noncurrent version(s) or delete marker(s), aborted ${r.abortedUploads.length} upload(s)`,
          );
        }
        for (const x of r.invalidRules) opts.log(`lifecycle: ${x.problem}`);
      })
      .catch((err: unknown) => opts.log(`lifecycle: pass failed, retrying at the next interval: ${(err as Error).message}`))
      .then(async () => {
        if (!opts.migrator || stopped) return;
        try {
          const m = await opts.migrator.runPass({ dayMs: opts.dayMs });
          if (m.objectsMoved + m.coldSegmentsDeleted + m.coldSegmentsRewritten + m.damaged.length > 0) {
            opts.log(`migration: moved ${m.objectsMoved} object(s) (${m.logicalBytes} B) to the cold tier in ${m.coldSegmentsWritten} segment(s), ${m.coldBytes} B; rewrote ${m.coldSegmentsRewritten}, deleted ${m.coldSegmentsDeleted} cold segment(s); ${m.skippedChanged} changed, ${m.damaged.length} damaged`);
          }
        } catch (err) {
          opts.log(`migration: pass failed, retrying at the next interval: ${(err as Error).message}`);
        }
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, opts.everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      abort.abort();
      clearInterval(timer);
      await opts.migrator?.stop();
      await running;
    },
  };
}
