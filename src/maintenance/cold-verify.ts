// `verify --cold`: reads every chunk of every cold object from the cold store (ranged reads, frame hash,
// dictionary, decompressed length — the checks a GET makes) and reports the objects that cannot be read
// correctly, naming the cold segment. Expensive on a remote store (it reads the whole cold tier), so it is
// opt-in. An unreachable store fails the check (SEDIMENT_COLD_UNAVAILABLE), it does not report damage.
import type { ColdAccess } from '../engine/cold-access.js';
import { isSedimentError } from '../util/errors.js';

export interface ColdVerifyReport {
  objectsChecked: number;
  chunksChecked: number;
  bytesChecked: number;
  damagedObjects: Array<{ bucket: string; key: string; reason: string }>;
}

export async function verifyColdTier(access: ColdAccess, onProgress?: (doneObjects: number, totalObjects: number) => void): Promise<ColdVerifyReport> {
  const report: ColdVerifyReport = { objectsChecked: 0, chunksChecked: 0, bytesChecked: 0, damagedObjects: [] };
  const objects = access.coldObjects();
  for (const o of objects) {
    onProgress?.(report.objectsChecked, objects.length);
    const m = await access.readManifest(o.bucket, o.key, o.seq).catch((err: unknown) => {
      report.damagedObjects.push({ bucket: o.bucket, key: o.key, reason: (err as Error).message });
      return null;
    });
    if (m === null) continue;
    if (m === undefined) continue; // changed since the listing
    report.objectsChecked++;
    for (const c of m.chunks) {
      try {
        const raw = await access.readColdChunk(c);
        report.chunksChecked++;
        report.bytesChecked += raw.length;
      } catch (err) {
        if (isSedimentError(err, 'SEDIMENT_COLD_UNAVAILABLE')) throw err;
        report.damagedObjects.push({ bucket: o.bucket, key: o.key, reason: `cold segment ${c.segmentId} offset ${c.offset}: ${(err as Error).message}` });
        break;
      }
    }
  }
  onProgress?.(objects.length, objects.length);
  return report;
}
