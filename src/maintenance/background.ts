// Automatic compaction and scrub for a long-running engine (`sediment serve`): a compaction pass every
// `compactEveryMs`, then a pass of the dictionary collector (dictionary-gc.ts: nothing to do, and no
// read, unless a bucket has moved on to a newer dictionary), a full scrub every `scrubEveryMs`, one after
// the other (never at once, so they share one worker pool and the disk bandwidth the throttles allow).
// Each pass that did something is logged as one line and recorded for `sediment info`.
import type { Engine } from '../engine/engine.js';
import { Compactor, type CompactionSettings } from './compaction.js';
import { DictionaryCollector } from './dictionary-gc.js';
import { MaintenancePool } from './maintenance-pool.js';
import { Scrubber } from './scrub.js';
import { dictionaryLine, passLine, scrubSummary, writeStatus } from './status.js';

export interface BackgroundSettings extends CompactionSettings {
  /** 0 disables automatic compaction. Default 60 s. */
  compactEveryMs?: number;
  /** 0 disables the background scrub. Default 24 h. */
  scrubEveryMs?: number;
  /** Scrub read throttle, bytes/s. Default 32 MiB/s. */
  scrubBytesPerSecMax?: number;
  /** Worker threads for copies and scrub. Default 1. */
  threads?: number;
  log?: (line: string) => void;
}

export class BackgroundMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private stopped = false;
  private lastScrubMs = Date.now();
  private readonly pool: MaintenancePool;
  readonly compactor: Compactor;
  readonly scrubber: Scrubber;
  readonly dictionaries: DictionaryCollector;

  constructor(
    private readonly engine: Engine,
    private readonly s: BackgroundSettings = {},
  ) {
    const access = engine.maintenance();
    this.pool = new MaintenancePool(engine.fs, s.threads ?? 1);
    this.compactor = new Compactor(access, this.pool, s);
    this.scrubber = new Scrubber(access, this.pool, { bytesPerSecMax: s.scrubBytesPerSecMax ?? 32 << 20 });
    this.dictionaries = new DictionaryCollector(access, this.pool);
  }

  start(): void {
    const tick = Math.min(...[this.s.compactEveryMs ?? 60_000, this.s.scrubEveryMs ?? 86_400_000].filter((x) => x > 0), 60_000);
    this.timer = setInterval(() => this.kick(), tick);
    this.timer.unref();
  }

  private kick(): void {
    if (this.busy || this.stopped) return;
    this.busy = this.work()
      .catch((err) => this.log(`maintenance failed: ${(err as Error).message}`))
      .finally(() => {
        this.busy = undefined;
      });
  }

  private log(line: string): void {
    (this.s.log ?? ((l: string) => process.stderr.write(`sediment: ${l}\n`)))(line);
  }

  private async work(): Promise<void> {
    const dir = this.engine.dir;
    if ((this.s.compactEveryMs ?? 60_000) > 0 && this.compactor.hasWork()) {
      const st = await this.compactor.runPass();
      if (st.segmentsCompacted > 0 || st.skipped.length > 0 || st.damaged.length > 0) {
        this.log(passLine(st));
        await writeStatus(this.engine.fs, dir, { lastPass: st }).catch(() => undefined);
      }
    }
    if (!this.stopped && (this.s.compactEveryMs ?? 60_000) > 0) {
      const d = await this.dictionaries.runPass();
      if (d.deleted.length > 0) this.log(dictionaryLine(d));
    }
    const scrubEvery = this.s.scrubEveryMs ?? 86_400_000;
    if (!this.stopped && scrubEvery > 0 && Date.now() - this.lastScrubMs >= scrubEvery) {
      this.lastScrubMs = Date.now();
      const r = await this.scrubber.scrubAll();
      this.log(`scrub: ${r.segmentsChecked} segments, ${r.recordsChecked} records, ${(r.bytesChecked / 1048576).toFixed(1)} MiB checked, ${r.damage.length} damaged`);
      await writeStatus(this.engine.fs, dir, { lastScrub: scrubSummary(r) }).catch(() => undefined);
    }
  }

  /** Stops the timers and the running pass (at its next copy task); resolves when nothing runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.scrubber.stop();
    await this.compactor.stop();
    await this.busy;
    await this.pool.close();
  }
}
