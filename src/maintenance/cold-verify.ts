// Reading the whole cold tier back: every chunk of every cold object from the cold store (ranged reads,
// frame hash, dictionary, decompressed length — the checks a GET makes), reporting the objects that cannot
// be read correctly, naming the cold segment. `verify --cold` runs it once; `serve` runs it in the
// background (ColdScrubSchedule), throttled. An unreachable store fails the check
// (SEDIMENT_COLD_UNAVAILABLE), it does not report damage.
//
// Under `serve`, migration may rewrite a cold segment and delete the old one between the moment a manifest
// is read here and the moment its chunk is: a chunk that fails is therefore checked again against the
// object's manifest as it is now, and counted as damage only if the object still names that very chunk.
//
// A store that refuses the request itself (S3: wrong credentials, a missing bucket: ColdStoreRefusedError)
// says nothing about the objects: like an unreachable one, it fails the check instead of naming every
// object as damaged.
import type { ColdAccess } from '../engine/cold-access.js';
import type { ChunkRef } from '../format/records.js';
import { ColdStoreRefusedError } from '../tier/cold-store.js';
import { isSedimentError } from '../util/errors.js';

export interface ColdVerifyReport {
  /** Objects read to their end or to their first damaged chunk (a stop may leave the last one partly read). */
  objectsChecked: number;
  chunksChecked: number;
  bytesChecked: number;
  /** Objects that changed (deleted, overwritten, or moved to other cold segments) while being checked. */
  objectsChanged: number;
  /** `missing`: the store answered that the cold segment does not exist (not that its bytes are wrong). */
  damagedObjects: Array<{ bucket: string; key: string; reason: string; missing?: boolean }>;
}

export interface ColdVerifyOptions {
  /** Called after each chunk read, with the report so far. */
  onProgress?: (soFar: Readonly<ColdVerifyReport>) => void;
  /** Raw bytes checked per second at most; 0 or undefined: as fast as the store answers. */
  bytesPerSecMax?: number;
  /** Polled between chunks: true ends the check early (the report covers what was checked). */
  shouldStop?: () => boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const sameChunk = (a: ChunkRef, b: ChunkRef): boolean => a.segmentId === b.segmentId && a.offset === b.offset && a.frameLen === b.frameLen;

export async function verifyColdTier(access: ColdAccess, opts: ColdVerifyOptions = {}): Promise<ColdVerifyReport> {
  const report: ColdVerifyReport = { objectsChecked: 0, chunksChecked: 0, bytesChecked: 0, objectsChanged: 0, damagedObjects: [] };
  const rate = opts.bytesPerSecMax ?? 0;
  const started = Date.now();
  const stop = (): boolean => access.isClosed() || (opts.shouldStop?.() ?? false);
  // One object at a time from a live scan of the index: memory does not grow with the size of the tier.
  for (const o of access.scanColdObjects()) {
    if (stop()) break;
    const m = await access.readManifest(o.bucket, o.key, o.seq).catch((err: unknown) => {
      report.damagedObjects.push({ bucket: o.bucket, key: o.key, reason: (err as Error).message });
      return null;
    });
    if (m === null) continue;
    if (m === undefined) {
      report.objectsChanged++;
      continue;
    }
    let changed = false;
    for (const c of m.chunks) {
      if (stop()) break;
      try {
        const raw = await access.readColdChunk(c, m.uploadId);
        report.chunksChecked++;
        report.bytesChecked += raw.length;
        opts.onProgress?.(report);
      } catch (err) {
        if (isSedimentError(err, 'SEDIMENT_COLD_UNAVAILABLE') || err instanceof ColdStoreRefusedError) throw err;
        const now = await access.readManifest(o.bucket, o.key, o.seq).catch(() => m);
        if (now === undefined || !now.chunks.some((x) => sameChunk(x, c))) {
          changed = true;
          break;
        }
        const damaged = { bucket: o.bucket, key: o.key, reason: `cold segment ${c.segmentId} offset ${c.offset}: ${(err as Error).message}` };
        report.damagedObjects.push(isSedimentError(err, 'SEDIMENT_COLD_NOT_FOUND') ? { ...damaged, missing: true } : damaged);
        break;
      }
      // Throttled: wait until the bytes checked so far are due, a second at a time so that a stop is seen.
      for (let wait = rate > 0 ? started + (report.bytesChecked / rate) * 1000 - Date.now() : 0; wait > 0 && !stop(); wait = started + (report.bytesChecked / rate) * 1000 - Date.now()) {
        await sleep(Math.min(wait, 1000));
      }
    }
    if (changed) report.objectsChanged++;
    else report.objectsChecked++;
  }
  return report;
}
