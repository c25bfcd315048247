// `info`: the size of what is stored — objects, logical bytes (what users put), stored bytes (segment
// files on disk, after compression and including garbage not yet compacted), their ratio, segments —
// objects and bytes per tier (hot segments here, cold segments in the cold store), and any damage the
// engine found while opening the directory. The labels say what each figure counts: objects (and the
// per-tier lines) count current objects only, logical bytes every version kept (older versions take
// space too, and stored bytes hold them), as stats() returns them; --json keeps stats()'s field names.
import type { Command } from 'commander';
import { DATA_DIR_FORMAT_VERSION } from '../../format/constants.js';
import { readStatus, spaceSummary, takeCensus, passLine, coldScrubLine, type ColdStore, type EngineStats, type MaintenanceStatus } from '../../index.js';
import { contextOf, jsonOption } from '../context.js';
import { withEngine } from '../with-engine.js';
import { formatBytesExact, formatFields, toJson } from '../format.js';

/** logical / stored: above 1 means compression saves space; undefined while nothing is stored. */
function compressionRatio(s: EngineStats): number | undefined {
  return s.storedBytes > 0 && s.logicalBytes > 0 ? s.logicalBytes / s.storedBytes : undefined;
}

type Space = ReturnType<typeof spaceSummary>;

/** Stored bytes and segment count of the cold tier, or why they are unknown (an unreachable S3 store). */
interface ColdUsage {
  store: string;
  segments?: number;
  storedBytes?: number;
  error?: string;
}

async function coldUsage(cold: ColdStore): Promise<ColdUsage> {
  try {
    const blobs = (await cold.list()).filter((b) => b.name.endsWith('.cold'));
    return { store: cold.description, segments: blobs.length, storedBytes: blobs.reduce((n, b) => n + b.size, 0) };
  } catch (err) {
    return { store: cold.description, error: (err as Error).message };
  }
}

function tierRows(s: EngineStats, cold: ColdUsage): Array<[string, string]> {
  const coldStored = cold.error !== undefined ? `unknown (${cold.error})` : `${formatBytesExact(cold.storedBytes ?? 0)} in ${cold.segments} cold segment(s)`;
  return [
    ['hot tier', `${s.tiers.hot.objects} current object(s), ${formatBytesExact(s.tiers.hot.logicalBytes)} logical, ${formatBytesExact(s.storedBytes)} stored`],
    ['cold tier', `${s.tiers.cold.objects} current object(s), ${formatBytesExact(s.tiers.cold.logicalBytes)} logical, ${coldStored}`],
    ['cold store', cold.store],
  ];
}

function humanInfo(dataDir: string, formatVersion: number, s: EngineStats, space: Space, status: MaintenanceStatus, cold: ColdUsage): string {
  const ratio = compressionRatio(s);
  const rows: Array<[string, string]> = [
    ['data directory', dataDir],
    ['format', `${formatVersion} (this sediment reads 1 to ${DATA_DIR_FORMAT_VERSION}; older ones refuse a newer directory)`],
    ['buckets', String(s.buckets)],
    ['objects (current)', String(s.objects)],
    ['logical bytes (all versions)', formatBytesExact(s.logicalBytes)],
    ['stored bytes', formatBytesExact(s.storedBytes)],
    ['ratio', ratio === undefined ? '-' : `${ratio.toFixed(2)} (logical / stored)`],
    ['live bytes', formatBytesExact(space.liveBytes)],
    ['dead bytes', `${formatBytesExact(space.deadBytes)} (reclaimable by "sediment compact")`],
    ...tierRows(s, cold),
    ['segments', String(s.segments)],
    ['dictionaries', s.dictionaries.count === 0 ? 'none' : `${s.dictionaries.count} for small objects, ${formatBytesExact(s.dictionaries.bytes)} (dicts/)`],
    ['active segment', String(s.activeSegmentId)],
    ['damage at open', s.damage.length === 0 ? 'none' : `${s.damage.length} (run "sediment verify")`],
  ];
  rows.push(['last compaction', status.lastPass ? `${new Date(status.lastPass.startedMs).toISOString()}: ${passLine(status.lastPass)}` : 'never']);
  if (status.lastScrub) {
    const r = status.lastScrub;
    rows.push(['last scrub', `${new Date(r.startedMs).toISOString()}: ${r.segmentsChecked} segments, ${r.recordsChecked} records, ${r.damageCount} damaged`]);
  }
  if (status.lastColdScrub) rows.push(['last cold scrub', `${new Date(status.lastColdScrub.startedMs).toISOString()}: ${coldScrubLine(status.lastColdScrub).replace(/^cold scrub: /, '')}`]);
  const lines = [formatFields(rows)];
  for (const d of s.damage) lines.push(`  segment ${d.segmentId} offset ${d.offset}: ${d.detail}`);
  return lines.join('\n');
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('show objects, logical, stored, live and dead bytes, segments, the last compaction and scrub, and damage found at open')
    .addOption(jsonOption())
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { formatVersion, stats, space, status, cold } = await withEngine(ctx, {}, async (engine, coldStore) => ({
        formatVersion: await engine.formatVersion(),
        stats: engine.stats(),
        space: spaceSummary(await takeCensus(engine.maintenance(), { includeActive: true })),
        status: await readStatus(engine.fs, engine.dir),
        cold: await coldUsage(coldStore),
      }));
      const out = flags.json
        ? toJson({ dataDir: ctx.dataDir, formatVersion, ...stats, ratio: compressionRatio(stats) ?? null, space, maintenance: status, cold })
        : humanInfo(ctx.dataDir, formatVersion, stats, space, status, cold);
      ctx.stdout.write(`${out}\n`);
    });
}
