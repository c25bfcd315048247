// The disk as a reference for the S3 bench's large PUT phases (issue 7: "64 MiB PUT of random data ≥ 0.7×
// a plain sequential file write with fsync of the same bytes"). The same objects the phase PUTs — same
// generator, seed, sizes and keys — are written straight to files, one file per object in 1 MiB pieces,
// each file fdatasync'd and its directory fsync'd before the next starts: what a durable PUT of that
// object needs at least, without HTTP, hashing or compression. Measured after the same quiet wait and
// memory preparation as every server phase (setup.ts, preparePages).
import * as path from 'node:path';
import { objectPieces } from '../src/loadgen/data.js';
import { writeSequential } from './references.js';
import type { PhaseSpec } from './s3-phases.js';
import { MiB, preparePages, removeDir, scratchDir, timed, waitForQuiet } from './setup.js';

export interface DiskReference {
  phase: string;
  objects: number;
  bytes: number;
  ms: number;
  mbPerS: number;
  /** CPU of the bench process (all threads) / wall time. */
  cores: number;
  otherCores?: number;
}

export async function diskReference(spec: PhaseSpec, seed: number, keyOf: (index: number) => string): Promise<DiskReference> {
  const dir = await scratchDir('s3-disk');
  try {
    await waitForQuiet();
    preparePages();
    const t = await timed(async () => {
      let bytes = 0;
      for (let i = 0; i < spec.objects; i++) {
        bytes += await writeSequential(path.join(dir, `object-${i}`), objectPieces({ kind: spec.kind, seed }, keyOf(i), spec.objectBytes, MiB));
      }
      return bytes;
    });
    return {
      phase: spec.id,
      objects: spec.objects,
      bytes: t.value,
      ms: t.ms,
      mbPerS: t.value / 1e3 / t.ms,
      cores: t.cpuMs / t.ms,
      otherCores: t.otherCores,
    };
  } finally {
    await removeDir(dir);
  }
}
