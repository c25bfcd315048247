// `info`: the size of what is stored — objects, logical bytes (what users put), stored bytes (segment
// files on disk, after compression and including garbage not yet compacted), their ratio, segments —
// and any damage the engine found while opening the directory.
import type { Command } from 'commander';
import type { EngineStats } from '../../index.js';
import { contextOf, jsonOption } from '../context.js';
import { withEngine } from '../with-engine.js';
import { formatBytesExact, formatFields, toJson } from '../format.js';

/** logical / stored: above 1 means compression saves space; undefined while nothing is stored. */
function compressionRatio(s: EngineStats): number | undefined {
  return s.storedBytes > 0 && s.logicalBytes > 0 ? s.logicalBytes / s.storedBytes : undefined;
}

function humanInfo(dataDir: string, s: EngineStats): string {
  const ratio = compressionRatio(s);
  const rows: Array<[string, string]> = [
    ['data directory', dataDir],
    ['buckets', String(s.buckets)],
    ['objects', String(s.objects)],
    ['logical bytes', formatBytesExact(s.logicalBytes)],
    ['stored bytes', formatBytesExact(s.storedBytes)],
    ['ratio', ratio === undefined ? '-' : `${ratio.toFixed(2)} (logical / stored)`],
    ['segments', String(s.segments)],
    ['active segment', String(s.activeSegmentId)],
    ['damage at open', s.damage.length === 0 ? 'none' : `${s.damage.length} (run "sediment verify")`],
  ];
  const lines = [formatFields(rows)];
  for (const d of s.damage) lines.push(`  segment ${d.segmentId} offset ${d.offset}: ${d.detail}`);
  return lines.join('\n');
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('show objects, logical and stored bytes, segments and damage found at open')
    .addOption(jsonOption())
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const stats = await withEngine(ctx, {}, async (engine) => engine.stats());
      const out = flags.json ? toJson({ dataDir: ctx.dataDir, ...stats, ratio: compressionRatio(stats) ?? null }) : humanInfo(ctx.dataDir, stats);
      ctx.stdout.write(`${out}\n`);
    });
}
