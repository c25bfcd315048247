// Engine bench (f), issue 5: log retention by lifecycle expiry. On one fresh directory with an injected
// clock: `days` simulated days of log-like objects (each day's objects written that day, so segments are
// time-ordered), a 7-day Expiration rule, then on the last day one lifecycle pass (DELETEs of everything
// past 7 days) and one compaction pass limited to wholly dead segments (dead share 1, no packing of
// under-filled ones), which drops the segments in which every record expired without rewriting them. Measured: stored bytes freed, bytes the two passes wrote
// (DELETE records in the log, packs for boundary segments), their ratio (target < 1 %), segments dropped
// whole vs rewritten, time. Nothing expired may still be readable and everything kept must read back.
import { createHash } from 'node:crypto';

import { Compactor, Engine, MaintenancePool, takeCensus } from '../src/index.js';
import { DAY_MS } from '../src/engine/lifecycle.js';
import { BUCKET, consume, engineOptions, measure, settleDisk, type EngineBenchSizes, type ResultRow } from './engine-common.js';
import { piecePool, smallObject } from './data.js';
import { fmt, forEachConcurrent, MiB, removeDir, scratchDir } from './setup.js';

const RETENTION_DAYS = 7;

export async function benchExpiry(s: EngineBenchSizes, rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const days = s.expiryDays;
  const perDay = s.expiryObjectsPerDay;
  const bytes = s.expiryObjectBytes;
  const pool = piecePool('log', 8, MiB, 5);
  const t0 = Date.UTC(2026, 0, 1, 0, 30);
  let now = t0;
  const dir = await scratchDir('expiry');
  try {
    const engine = await Engine.open(engineOptions(dir, { segmentBytesMax: s.expirySegmentBytes, clock: { now: () => now } }));
    try {
      await engine.createBucket(BUCKET);
      await engine.setBucketLifecycle(BUCKET, { rules: [{ id: 'retention', enabled: true, filter: { prefix: 'logs/' }, expiration: { days: RETENTION_DAYS } }] });
      const md5 = new Map<string, string>();
      for (let d = 0; d < days; d++) {
        now = t0 + d * DAY_MS;
        await forEachConcurrent(perDay, 16, async (i) => {
          const key = `logs/day-${String(d).padStart(3, '0')}/host-${String(i % 16).padStart(2, '0')}/${String(i).padStart(5, '0')}.log`;
          const body = smallObject(pool, d * perDay + i, bytes);
          md5.set(key, createHash('md5').update(body).digest('hex'));
          await engine.putObject(BUCKET, key, body);
        });
      }
      await engine.sealActiveSegment();
      settleDisk();
      const before = await takeCensus(engine.maintenance(), { includeActive: true });
      const logicalBefore = engine.stats().logicalBytes;
      now = t0 + days * DAY_MS; // the morning after the last day
      const lc = await measure('(f) lifecycle pass (expiry)', () => engine.runLifecycle());
      const afterLifecycle = engine.stats().storedBytes;
      const mpool = new MaintenancePool(engine.fs, 1);
      // Only what expiry made wholly dead: no dead-share rewrites, no packing of under-filled segments.
      const compactor = new Compactor(engine.maintenance(), mpool, { freeBytesReserve: 0, deadShareMin: 1, underFilledShare: 0 });
      const cp = await measure('(f) compaction pass after expiry', () => compactor.runPass({ sealFirst: true }));
      await mpool.close();
      const after = await takeCensus(engine.maintenance(), { includeActive: true });

      // Correctness: expired keys are gone, kept keys read back.
      const expired = new Set(lc.value.expired.map((x) => x.key));
      let kept = 0;
      for (const [key, sum] of md5) {
        if (expired.has(key)) continue;
        const got = createHash('md5');
        for await (const p of (await engine.getObject(BUCKET, key)).body) got.update(p as Buffer);
        if (got.digest('hex') !== sum) throw new Error(`expiry bench: ${key} reads back wrong`);
        kept++;
      }
      for (const key of [...expired].slice(0, 100)) {
        await engine.headObject(BUCKET, key).then(
          () => {
            throw new Error(`expiry bench: ${key} expired but still there`);
          },
          () => undefined,
        );
      }
      void consume;

      const freed = before.storedBytes - after.storedBytes;
      const deletesWritten = afterLifecycle - before.storedBytes; // DELETE records appended by the lifecycle pass
      const written = deletesWritten + cp.value.bytesWritten;
      const wholeDrops = cp.value.segmentsCompacted - cp.value.packsWritten;
      rows.push({
        id: 'f1', bench: `(f) bytes written by expiry / stored bytes it frees (${days} days × ${perDay} × ${bytes / 1024} KiB log-like, ${RETENTION_DAYS}-day expiration, segments ${s.expirySegmentBytes / MiB} MiB)`,
        sediment: (100 * written) / freed, unit: '%', target: '< 1 %', pass: freed > 0 && written / freed < 0.01,
        note: `freed ${fmt(freed / 1e6, 1)} MB stored (${fmt(before.storedBytes / 1e6, 1)} → ${fmt(after.storedBytes / 1e6, 1)} MB); written: DELETE records ${fmt(deletesWritten / 1e3, 1)} kB + packs ${fmt(cp.value.bytesWritten / 1e3, 1)} kB; ` +
          `${cp.value.segmentsCompacted} segments replaced, ${cp.value.packsWritten} packs written (about ${Math.max(0, wholeDrops)} dropped whole)`,
      });
      rows.push({
        id: 'f2', bench: '(f) expiry time: lifecycle pass + compaction pass', sediment: (lc.ms + cp.ms) / 1000, unit: 's', otherCores: cp.otherCores,
        note: `lifecycle ${fmt(lc.ms / 1000, 2)} s for ${fmt(lc.value.objectsExamined)} objects (${fmt(lc.value.expired.length)} expired, ${fmt(logicalBefore / 1e6, 1)} MB logical before), compaction ${fmt(cp.ms / 1000, 2)} s; ${fmt(kept)} kept objects verified`,
      });
      extra.expiry = { before: before.storedBytes, after: after.storedBytes, freed, deletesWritten, pass: cp.value, expired: lc.value.expired.length, kept };
    } finally {
      await engine.close();
    }
  } finally {
    await removeDir(dir);
    settleDisk();
  }
}
