// The last compaction pass and scrub, kept in DIR/maintenance.json so `sediment info` (another process)
// can show them. Informational only: written tmp + rename without fsync; nothing reads it to recover.
import type { FileSystem } from '../io/types.js';
import type { Census } from './census.js';
import type { PassStats } from './compaction.js';
import type { DictionaryGcReport } from './dictionary-gc.js';
import type { ScrubReport } from './scrub.js';

export interface MaintenanceStatus {
  lastPass?: PassStats;
  lastScrub?: Omit<ScrubReport, 'damage'> & { damageCount: number };
  /** The last background read of the cold tier (`serve`, cold-scrub.ts). */
  lastColdScrub?: ColdScrubSummary;
}

export interface ColdScrubSummary {
  startedMs: number;
  durationMs: number;
  objectsChecked: number;
  chunksChecked: number;
  bytesChecked: number;
  objectsChanged: number;
  damageCount: number;
  /** Stopped before the end (server shutting down): the counts cover what was read. */
  stoppedEarly: boolean;
  /** Set when the pass failed (e.g. the cold store was unreachable). */
  error?: string;
}

export async function readStatus(fs: FileSystem, dir: string): Promise<MaintenanceStatus> {
  try {
    return JSON.parse((await fs.readFile(`${dir}/maintenance.json`)).toString('utf8')) as MaintenanceStatus;
  } catch {
    return {};
  }
}

export async function writeStatus(fs: FileSystem, dir: string, update: MaintenanceStatus): Promise<void> {
  const next = { ...(await readStatus(fs, dir)), ...update };
  await fs.writeFile(`${dir}/tmp/maintenance.json`, Buffer.from(JSON.stringify(next, null, 1)));
  await fs.rename(`${dir}/tmp/maintenance.json`, `${dir}/maintenance.json`);
}

export function scrubSummary(r: ScrubReport): NonNullable<MaintenanceStatus['lastScrub']> {
  const { damage, ...rest } = r;
  return { ...rest, damageCount: damage.length };
}

/** Space accounting in a form `info` prints. */
export function spaceSummary(c: Census): { storedBytes: number; liveBytes: number; deadBytes: number; overheadBytes: number } {
  return { storedBytes: c.storedBytes, liveBytes: c.liveBytes, deadBytes: c.deadBytes, overheadBytes: c.storedBytes - c.liveBytes - c.deadBytes };
}

export function passLine(s: PassStats): string {
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  const rate = s.durationMs > 0 ? (s.bytesRead / 1048576 / (s.durationMs / 1000)).toFixed(1) : '-';
  return (
    `compaction pass: ${s.segmentsCompacted} segments → ${s.packsWritten} packs, read ${mb(s.bytesRead)} MiB, wrote ${mb(s.bytesWritten)} MiB, ` +
    `reclaimed ${mb(s.bytesReclaimed)} MiB in ${(s.durationMs / 1000).toFixed(1)} s (${rate} MiB/s); stored ${mb(s.storedBytes)} MiB, live ${mb(s.liveBytes)} MiB` +
    (s.damaged.length > 0 ? `; ${s.damaged.length} damaged records kept and reported` : '') +
    (s.skipped.length > 0 ? `; skipped: ${s.skipped.join('; ')}` : '')
  );
}

export function dictionaryLine(d: DictionaryGcReport): string {
  const kept = d.retired - d.deleted.length;
  return (
    `dictionary collection: deleted ${d.deleted.length} unused dictionary files (${d.deleted.join(', ')}), ` +
    `${kept} older dictionaries kept; read ${d.filesRead} files (${(d.bytesRead / 1048576).toFixed(1)} MiB)` +
    (d.postponed !== undefined ? `; postponed: ${d.postponed}` : '')
  );
}
