// `verify`: reads every segment, checks every frame's checksum and that every indexed object's records
// are intact, then reports damage as `segment N offset X: detail` and damaged objects as
// `bucket/key: reason`; with --cold also every cold object's chunks in the cold store; with --objects every
// object version read whole and checked against its ETag and checksums (maintenance/object-verify.ts). Exits
// 1 if anything is damaged, so it can gate scripts and cron jobs. --forget-missing accepts lost segment
// files after the report (with --cold also lost cold segments: maintenance/cold-forget.ts).
import type { Command } from 'commander';
import { MaintenancePool, type VerifyReport } from '../../index.js';
import { coldSegmentName } from '../../format/cold-segment.js';
import { forgetLostColdData, lockText, type ColdForgetReport } from '../../maintenance/cold-forget.js';
import { verifyColdTier, type ColdVerifyReport } from '../../maintenance/cold-verify.js';
import { verifyObjects, type ObjectVerifyReport } from '../../maintenance/object-verify.js';
import { contextOf, jsonOption } from '../context.js';
import { withEngine } from '../with-engine.js';
import { CliError } from '../errors.js';
import { countOf, formatBytes, toJson } from '../format.js';
import { byteProgress, countProgress } from '../progress.js';

function humanReport(r: VerifyReport): string {
  const lines = [`checked ${r.segmentsChecked} segments, ${r.recordsChecked} records, ${formatBytes(r.bytesChecked)}; the records of ${r.objectsChecked} objects and versions`];
  if (r.damage.length === 0 && r.damagedObjects.length === 0 && r.damagedDictionaries.length === 0) {
    lines.push('no damage found');
    return lines.join('\n');
  }
  if (r.damage.length > 0) {
    lines.push(`damage (${r.damage.length}):`);
    for (const d of r.damage) lines.push(`  segment ${d.segmentId} offset ${d.offset}: ${d.detail}`);
  }
  if (r.damagedDictionaries.length > 0) {
    lines.push(`damaged dictionaries (${r.damagedDictionaries.length}):`);
    for (const d of r.damagedDictionaries) lines.push(`  ${d.file}: ${d.detail}`);
  }
  if (r.damagedObjects.length > 0) {
    lines.push(`damaged objects (${r.damagedObjects.length}):`);
    for (const o of r.damagedObjects) lines.push(`  ${o.bucket}/${o.key}: ${o.reason}`);
  }
  return lines.join('\n');
}

function objectsText(r: ObjectVerifyReport): string {
  const skipped = r.coldSkipped > 0 ? `, ${r.coldSkipped} cold ones not read (add --cold)` : '';
  const changed = r.objectsChanged > 0 ? `, ${r.objectsChanged} changed while checked` : '';
  const lines = [`objects: read ${r.objectsChecked} object versions, ${formatBytes(r.bytesChecked)}, against their ETags and checksums${changed}${skipped}`];
  if (r.damagedObjects.length === 0) lines.push('objects: every one as written');
  for (const o of r.damagedObjects) lines.push(`  ${o.bucket}/${o.key} (version ${o.versionId}): ${o.reason}`);
  return lines.join('\n');
}

function coldText(r: ColdVerifyReport, forgetting: boolean): string {
  const lines = [`cold tier: checked ${r.objectsChecked} objects, ${r.chunksChecked} chunks, ${formatBytes(r.bytesChecked)}`];
  if (r.damagedObjects.length === 0) lines.push('cold tier: no damage found');
  for (const o of r.damagedObjects) lines.push(`  ${o.bucket}/${o.key}: ${o.reason}`);
  const missing = r.damagedObjects.filter((o) => o.missing).length;
  if (missing > 0 && !forgetting) {
    lines.push(
      `cold tier: ${countOf(missing, 'object')} name cold segments the store does not have: put them back if you can; ` +
        'if they are lost for good, "sediment verify --cold --forget-missing" drops those objects (OPERATIONS.md "A lost cold store")',
    );
  }
  return lines.join('\n');
}

function forgetText(r: ColdForgetReport): string {
  if (r.missingSegments.length === 0) return 'cold tier: the store has every cold segment the index names: nothing to forget';
  const lines = [`cold tier: cold segments missing from the store: ${r.missingSegments.map(coldSegmentName).join(', ')}`];
  lines.push(`cold tier: dropped ${countOf(r.dropped.length, 'object version')} whose bytes were in them (no longer listed or reported):`);
  for (const v of r.dropped) {
    const lock = v.objectLock ? ` — was under Object Lock (${lockText(v.objectLock)}): removed all the same, its bytes are gone` : '';
    lines.push(`  ${v.bucket}/${v.key}${v.versionId ? ` (version ${v.versionId})` : ''}, ${formatBytes(v.size)}${lock}`);
  }
  if (r.changed > 0) lines.push(`cold tier: ${countOf(r.changed, 'object version')} changed meanwhile, left as they are: run it again`);
  for (const u of r.unreadable) lines.push(`cold tier: left ${u.bucket}/${u.key}: its record cannot be read: ${u.reason}`);
  return lines.join('\n');
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check every checksum in the data directory; exit 1 if anything is damaged')
    .option('--cold', 'also read every chunk of every cold object from the cold store (reads the whole cold tier)')
    .option('--objects', 'also read every object version whole and check it against its ETag (MD5) and checksums')
    .option('--forget-missing', 'accept the loss of segment files the manifest lists but the directory lacks: stop reporting them; with --cold, also drop the object versions whose cold segments the cold store does not have')
    .option('--cold-store-lost', 'with --cold --forget-missing: the cold store was lost whole (it has no OWNER and none of the cold segments); drop every object version whose data was in it')
    .addOption(jsonOption())
    .action(async (flags: { json?: boolean; cold?: boolean; objects?: boolean; forgetMissing?: boolean; coldStoreLost?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (flags.coldStoreLost && !(flags.cold && flags.forgetMissing)) throw new CliError('--cold-store-lost goes with --cold --forget-missing');
      const progress = byteProgress(ctx, 'verifying');
      let report: VerifyReport;
      let cold: ColdVerifyReport | undefined;
      let objects: ObjectVerifyReport | undefined;
      let forgotten: number[] = [];
      let forgottenCold: ColdForgetReport | undefined;
      try {
        report = await withEngine(ctx, {}, async (engine, coldStore) => {
          // Frames are checked in a worker thread (the main thread only matches the index against them).
          const pool = new MaintenancePool(engine.fs, 1);
          try {
            // Frames first (bytes), then every object's records against them (index entries).
            const entries = countProgress(ctx, 'checking objects', 'objects and versions');
            let segmentsDone = false;
            const hot = await engine.verify((done, total, phase) => {
              if (phase === 'segments') return progress.update(done, total);
              if (!segmentsDone) progress.finish();
              segmentsDone = true;
              entries.update(done, total);
            }, {
              scan: (path, segmentId, size) => pool.scrub({ kind: 'scrub', path, segmentId, size }),
            });
            entries.finish();
            if (flags.cold) {
              progress.finish();
              // The cold tier's logical bytes are what a full read returns: the progress total.
              const total = engine.stats().tiers.cold.logicalBytes;
              const coldProgress = byteProgress(ctx, 'reading the cold tier');
              try {
                cold = await verifyColdTier(engine.coldAccess(), { onProgress: (r) => coldProgress.update(r.bytesChecked, total) });
              } finally {
                coldProgress.finish();
              }
            }
            if (flags.objects) {
              progress.finish();
              const stats = engine.stats();
              const total = stats.tiers.hot.logicalBytes + (flags.cold ? stats.tiers.cold.logicalBytes : 0);
              const objectProgress = byteProgress(ctx, 'reading every object');
              try {
                objects = await verifyObjects(engine, { cold: flags.cold, onProgress: (bytes) => objectProgress.update(bytes, total) });
              } finally {
                objectProgress.finish();
              }
            }
            // After the report that names them: this run still exits 1, the next one no longer sees them.
            if (flags.forgetMissing) forgotten = await engine.forgetMissingSegments();
            if (flags.forgetMissing && flags.cold) forgottenCold = await forgetLostColdData(engine.coldAccess(), coldStore, { storeLost: flags.coldStoreLost });
            return hot;
          } finally {
            await pool.close();
          }
        });
      } finally {
        progress.finish();
      }
      const coldDamaged = (cold?.damagedObjects.length ?? 0) + (objects?.damagedObjects.length ?? 0);
      const ok = report.damage.length === 0 && report.damagedObjects.length === 0 && report.damagedDictionaries.length === 0 && coldDamaged === 0;
      const forgotText = forgotten.length > 0 ? `\nforgot missing segments ${forgotten.join(', ')}: no longer listed or reported` : '';
      ctx.stdout.write(
        `${
          flags.json
            ? toJson({ ok, ...report, ...(cold ? { cold } : {}), ...(objects ? { objects } : {}), ...(flags.forgetMissing ? { forgottenSegments: forgotten } : {}), ...(forgottenCold ? { forgottenCold } : {}) })
            : humanReport(report) + (cold ? `\n${coldText(cold, flags.forgetMissing === true)}` : '') + (objects ? `\n${objectsText(objects)}` : '') + forgotText + (forgottenCold ? `\n${forgetText(forgottenCold)}` : '')
        }\n`,
      );
      if (!ok) {
        const dictText = report.damagedDictionaries.length > 0 ? `, ${countOf(report.damagedDictionaries.length, 'damaged dictionary file')}` : '';
        throw new CliError(`verify found ${countOf(report.damage.length, 'damaged region')}${dictText} and ${countOf(report.damagedObjects.length + coldDamaged, 'damaged object')}`);
      }
    });
}
