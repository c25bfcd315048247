// The checksums of multipart uploads: which one an upload keeps for its parts, and the completed object's
// checksum made from them (FULL_OBJECT: the parts' CRCs combined; COMPOSITE: the checksum of the parts'
// checksums), checked against what the client expects before the COMMIT is written.
// An upload created with an algorithm keeps that one per part; one created without keeps CRC64NVME, and
// its object gets a FULL_OBJECT CRC64NVME as S3 gives one by default. Parts stored before format 7 may
// lack it: the object then has no checksum, unless the client asked to check one (then completion fails).
import { ChecksumAlg } from '../format/constants.js';
import type { ChecksumEntry, UploadCreateRecord, UploadPartRecord } from '../format/records.js';
import { SedimentError } from '../util/errors.js';
import { checksumOfParts, checksumText, defaultChecksumType, type ChecksumName } from './checksums.js';
import type { CompleteOptions, ObjectChecksum } from './types.js';

const NAMES = Object.keys(ChecksumAlg) as ChecksumName[];

function nameOf(alg: number): ChecksumName {
  const n = NAMES.find((k) => ChecksumAlg[k] === alg);
  if (n === undefined) throw new RangeError(`checksum algorithm id ${alg} unknown`);
  return n;
}

/** A stored checksum entry as the engine's API shows it. */
export function objectChecksum(e: ChecksumEntry): ObjectChecksum {
  return e.type === undefined ? { algorithm: nameOf(e.alg), value: e.value } : { algorithm: nameOf(e.alg), value: e.value, type: e.type };
}

/** The algorithm and type an upload declared (none: S3's default, a FULL_OBJECT CRC64NVME if the parts have it). */
export function uploadChecksum(c: UploadCreateRecord): { checksumAlgorithm?: ChecksumName; checksumType?: 'FULL_OBJECT' | 'COMPOSITE' } {
  if (c.checksumAlg === 0) return {};
  const alg = nameOf(c.checksumAlg);
  return { checksumAlgorithm: alg, checksumType: c.checksumType ?? defaultChecksumType(alg) };
}

/**
 * The completed object's checksum entry (undefined: none can be made), after checking the client's
 * expectations: a different type or value is SEDIMENT_BAD_DIGEST, another algorithm or an expectation
 * that cannot be checked (a part without the checksum) SEDIMENT_INVALID_ARGUMENT.
 */
export function objectChecksumOf(c: UploadCreateRecord, parts: UploadPartRecord[], opts: CompleteOptions): ChecksumEntry | undefined {
  const declared = uploadChecksum(c);
  const alg = declared.checksumAlgorithm ?? 'CRC64NVME';
  const type = declared.checksumType ?? 'FULL_OBJECT';
  if (opts.expectedChecksumType !== undefined && opts.expectedChecksumType !== type) {
    throw new SedimentError('SEDIMENT_BAD_DIGEST', `the upload's checksum type is ${type}, not ${opts.expectedChecksumType}`);
  }
  const want = opts.expectedChecksum;
  if (want !== undefined) {
    if (want.algorithm !== alg) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `the upload's checksum algorithm is ${alg}, not ${want.algorithm}`);
    if (want.type !== undefined && want.type !== type) throw new SedimentError('SEDIMENT_BAD_DIGEST', `the upload's checksum type is ${type}, not ${want.type}`);
  }
  const id = ChecksumAlg[alg];
  const digests: Array<{ digest: Buffer; size: number }> = [];
  for (const p of parts) {
    const e = p.checksums.find((x) => x.alg === id);
    if (e === undefined) {
      if (want !== undefined) {
        throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `part ${p.partNumber} has no ${alg} checksum, so the object's ${alg} cannot be checked`);
      }
      return undefined;
    }
    digests.push({ digest: e.value, size: p.size });
  }
  const entry: ChecksumEntry = { alg: id, value: checksumOfParts(alg, type, digests), type };
  if (want !== undefined && !want.value.equals(entry.value)) {
    const shown = checksumText({ algorithm: alg, value: entry.value, type }, parts.length);
    throw new SedimentError('SEDIMENT_BAD_DIGEST', `the ${alg} of the object is ${shown}, not the one expected`);
  }
  return entry;
}
