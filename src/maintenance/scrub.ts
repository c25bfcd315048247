// Scrub: reads every sealed segment and pack and checks every frame's xxh64 in a worker thread,
// reporting damage by segment and offset. Rate-limited so it can run in the background of `serve`.
// Segments that compaction replaces while a scrub runs are skipped (their records were checked when
// they were copied).
import type { MaintenanceAccess } from '../engine/maintenance-access.js';
import type { Damage } from '../engine/segment-scan.js';
import type { MaintenancePool } from './maintenance-pool.js';

export interface ScrubReport {
  startedMs: number;
  durationMs: number;
  segmentsChecked: number;
  recordsChecked: number;
  bytesChecked: number;
  damage: Damage[];
}

export interface ScrubSettings {
  /** Bytes read per second; 0 = unthrottled. */
  bytesPerSecMax?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Scrubber {
  private stopping = false;
  lastReport: ScrubReport | undefined;

  constructor(
    private readonly access: MaintenanceAccess,
    private readonly pool: MaintenancePool,
    private readonly settings: ScrubSettings = {},
  ) {}

  stop(): void {
    this.stopping = true;
  }

  async scrubAll(onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<ScrubReport> {
    const a = this.access;
    const started = Date.now();
    const report: ScrubReport = { startedMs: started, durationMs: 0, segmentsChecked: 0, recordsChecked: 0, bytesChecked: 0, damage: [] };
    const targets = a.segments().filter((s) => s.sealed).sort((x, y) => x.id - y.id);
    const total = targets.reduce((n, s) => n + s.sizeBytes, 0);
    const rate = this.settings.bytesPerSecMax ?? 0;
    for (const s of targets) {
      if (this.stopping || a.isClosed()) break;
      if (!a.segments().some((x) => x.id === s.id)) continue; // replaced by compaction meanwhile
      let r;
      try {
        r = await this.pool.scrub({ kind: 'scrub', path: a.pathOf(s.id), segmentId: s.id, size: s.sizeBytes });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !a.segments().some((x) => x.id === s.id)) continue;
        report.damage.push({ segmentId: s.id, offset: 0, length: 0, detail: `cannot read: ${(err as Error).message}` });
        continue;
      }
      report.damage.push(...r.damage);
      if (!r.sealed) report.damage.push({ segmentId: s.id, offset: r.validEnd, length: r.bytes - r.validEnd, detail: 'sealed segment has no valid footer/tail' });
      report.segmentsChecked++;
      report.recordsChecked += r.records;
      report.bytesChecked += r.bytes;
      onProgress?.(report.bytesChecked, total);
      if (rate > 0) {
        const wait = started + (report.bytesChecked / rate) * 1000 - Date.now();
        if (wait > 0) await sleep(wait);
      }
    }
    for (const d of report.damage) a.warn(`scrub: damage in segment ${d.segmentId} at offset ${d.offset} (${d.length} bytes): ${d.detail}`);
    report.durationMs = Date.now() - started;
    this.lastReport = report;
    return report;
  }
}
