// The background scrub of the cold tier under `sediment serve`: every `everyMs` (counted from the start of
// the server and then from the end of the last pass), read every chunk of every cold object back through
// verifyColdTier, throttled, so that bit rot in archived data is found while a good copy may still exist
// elsewhere, not on the day the data is needed. One pass at a time; stop() ends a pass at its next chunk.
// Each pass is logged as one line (plus one per damaged object) and kept for `sediment info`.
import type { ColdAccess } from '../engine/cold-access.js';
import { verifyColdTier } from './cold-verify.js';
import { writeStatus, type ColdScrubSummary } from './status.js';

export interface ColdScrubScheduleOptions {
  /** Time between passes; must be > 0 (a disabled scrub is not started at all). */
  everyMs: number;
  /** Raw bytes read per second at most; 0: unthrottled. */
  bytesPerSecMax: number;
  log: (line: string) => void;
  /** How often the schedule looks whether a pass is due (default: a minute, or everyMs if shorter). */
  tickMs?: number;
  /** After a failed pass (e.g. the cold store unreachable), the next try comes after this (default: min(everyMs, 1 h)). */
  retryMs?: number;
}

export interface ColdScrubSchedule {
  /** The pass running now, if any (tests). */
  readonly running: Promise<void> | undefined;
  /** The last finished pass since the start, if any. */
  readonly last: ColdScrubSummary | undefined;
  stop(): Promise<void>;
}

export function coldScrubLine(s: ColdScrubSummary): string {
  if (s.error !== undefined) return `cold scrub: failed, retrying later: ${s.error}`;
  return (
    `cold scrub: ${s.objectsChecked} objects, ${s.chunksChecked} chunks, ${(s.bytesChecked / 1048576).toFixed(1)} MiB checked in ` +
    `${(s.durationMs / 1000).toFixed(1)} s, ${s.damageCount} damaged` +
    (s.objectsChanged > 0 ? `, ${s.objectsChanged} changed meanwhile (not checked)` : '') +
    (s.stoppedEarly ? ' (stopped early)' : '')
  );
}

export function startColdScrubSchedule(access: ColdAccess, opts: ColdScrubScheduleOptions): ColdScrubSchedule {
  if (!(opts.everyMs > 0)) throw new Error('startColdScrubSchedule: everyMs must be > 0');
  let stopped = false;
  let running: Promise<void> | undefined;
  let last: ColdScrubSummary | undefined;
  let dueMs = Date.now() + opts.everyMs;
  const retryMs = opts.retryMs ?? Math.min(opts.everyMs, 3_600_000);

  const pass = async (): Promise<void> => {
    const startedMs = Date.now();
    let summary: ColdScrubSummary;
    try {
      const r = await verifyColdTier(access, { bytesPerSecMax: opts.bytesPerSecMax, shouldStop: () => stopped });
      summary = {
        startedMs, durationMs: Date.now() - startedMs, objectsChecked: r.objectsChecked, chunksChecked: r.chunksChecked, bytesChecked: r.bytesChecked,
        objectsChanged: r.objectsChanged, damageCount: r.damagedObjects.length, stoppedEarly: stopped,
      };
      for (const d of r.damagedObjects) opts.log(`cold scrub: damaged ${d.bucket}/${d.key}: ${d.reason}`);
      dueMs = Date.now() + opts.everyMs;
    } catch (err) {
      summary = { startedMs, durationMs: Date.now() - startedMs, objectsChecked: 0, chunksChecked: 0, bytesChecked: 0, objectsChanged: 0, damageCount: 0, stoppedEarly: stopped, error: (err as Error).message };
      dueMs = Date.now() + retryMs;
    }
    last = summary;
    opts.log(coldScrubLine(summary));
    await writeStatus(access.fs, access.dir, { lastColdScrub: summary }).catch(() => undefined);
  };

  const tick = (): void => {
    if (running || stopped || access.isClosed() || Date.now() < dueMs) return;
    running = pass().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(tick, opts.tickMs ?? Math.min(opts.everyMs, 60_000));
  timer.unref();
  return {
    get running() {
      return running;
    },
    get last() {
      return last;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
