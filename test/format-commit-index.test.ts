// decodeCommitIndex (the lean COMMIT decode that open's replay uses) against decodeManifest: on random
// manifests of every shape it returns the same index fields, and on every truncation, extension and
// byte flip of them it fails exactly when decodeManifest fails, with a FormatError — so damage found at
// open is the same whichever decoder reads it.
import { describe, expect, it } from 'vitest';
import { FormatError } from '../src/format/binary.js';
import { ChecksumAlg } from '../src/format/constants.js';
import { decodeCommitIndex, decodeManifest, encodeManifest, type ObjectManifest } from '../src/format/records.js';
import { mulberry32, testSeed, type Rng } from './helpers/prng.js';

const INDEX_FIELDS = ['seq', 'bucket', 'key', 'versionId', 'uploadId', 'mtimeMs', 'size', 'md5', 'partCount', 'storageClass', 'flags'] as const;

function text(rng: Rng, max: number): string {
  const pieces = ['a', 'Z', '/', 'ü', '日本', '😀', '-', '.', ' '];
  let s = '';
  for (let n = rng.int(0, max); n > 0; n--) s += rng.pick(pieces);
  return s;
}

function randomManifest(rng: Rng): ObjectManifest {
  const chunkCount = rng.int(0, 4);
  const chunks = Array.from({ length: chunkCount }, () => ({ segmentId: rng.int(1, 2 ** 40), offset: rng.int(0, 2 ** 33), frameLen: rng.int(40, 2 ** 24), rawLen: rng.int(0, 2 ** 23) }));
  const size = chunks.reduce((a, c) => a + c.rawLen, 0);
  const partCount = rng.bool(0.3) ? rng.int(1, 4) : 0;
  const partAlg = rng.pick([ChecksumAlg.CRC32, ChecksumAlg.CRC64NVME, ChecksumAlg.SHA256]);
  const withPartSums = rng.bool();
  const parts = Array.from({ length: partCount }, (_, i) => ({
    partNumber: i + 1, size: rng.int(0, 2 ** 30), md5: rng.bytes(16), chunkCount: rng.int(0, 3),
    ...(withPartSums ? { checksum: { alg: partAlg, value: rng.bytes(rng.int(4, 32)) } } : {}),
  }));
  const pairs = (n: number): Array<[string, string]> => Array.from({ length: rng.int(0, n) }, () => [text(rng, 6), text(rng, 12)]);
  return {
    seq: rng.int(1, 2 ** 50), bucket: text(rng, 10) || 'b', key: text(rng, 40), versionId: rng.bool() ? '' : text(rng, 20),
    uploadId: rng.int(0, 2 ** 45), mtimeMs: rng.int(0, 2 ** 42) + rng.next(), size, md5: rng.bytes(16), partCount,
    storageClass: rng.int(0, 3), flags: rng.pick([0, 0, 1, 2]), contentType: text(rng, 20), headers: pairs(3), userMetadata: pairs(4),
    checksums: rng.bool() ? [{ alg: rng.pick([ChecksumAlg.CRC32, ChecksumAlg.CRC32C, ChecksumAlg.SHA1]), value: rng.bytes(rng.int(4, 20)), ...(partCount > 0 ? { type: rng.pick(['FULL_OBJECT', 'COMPOSITE'] as const) } : {}) }] : [],
    lockMode: rng.int(0, 2), retainUntilMs: rng.int(0, 2 ** 42), legalHold: rng.bool(), tags: pairs(3), chunks, parts,
  };
}

/** Either both decoders throw a FormatError, or both decode and agree on the index fields. */
function expectSameVerdict(payload: Buffer, what: string): boolean {
  let full: ObjectManifest | Error;
  let lean: ReturnType<typeof decodeCommitIndex> | Error;
  try {
    full = decodeManifest(payload);
  } catch (err) {
    full = err as Error;
  }
  try {
    lean = decodeCommitIndex(payload);
  } catch (err) {
    lean = err as Error;
  }
  if (full instanceof Error || lean instanceof Error) {
    expect([full instanceof FormatError, lean instanceof FormatError], what).toEqual([true, true]);
    return false;
  }
  for (const f of INDEX_FIELDS) expect(lean[f], `${what}: ${f}`).toEqual(full[f]);
  return true;
}

describe('decodeCommitIndex (open replay) agrees with decodeManifest', () => {
  const seed = testSeed();
  it(`on random manifests and on every truncation, extension and flip of them (seed ${seed}; replay with SEDIMENT_SEED)`, () => {
    const rng = mulberry32(seed);
    let decoded = 0;
    let refused = 0;
    for (let round = 0; round < 120; round++) {
      const m = randomManifest(rng);
      const payload = encodeManifest(m);
      expect(expectSameVerdict(payload, `round ${round}`)).toBe(true);
      const lean = decodeCommitIndex(payload);
      for (const f of INDEX_FIELDS) expect(lean[f], `round ${round}: ${f} as encoded`).toEqual(m[f]);
      for (let cut = 0; cut < payload.length; cut++) if (!expectSameVerdict(payload.subarray(0, cut), `round ${round}, cut at ${cut}`)) refused++;
      expect(expectSameVerdict(Buffer.concat([payload, Buffer.from([rng.int(0, 255)])]), `round ${round}, one byte more`)).toBe(false);
      for (let k = 0; k < 40; k++) {
        const bad = Buffer.from(payload);
        bad[rng.int(0, bad.length - 1)] ^= 1 << rng.int(0, 7);
        if (expectSameVerdict(bad, `round ${round}, flip ${k}`)) decoded++;
        else refused++;
      }
    }
    // Both outcomes were exercised: flips in strings or numbers decode, flips in lengths and counts do not.
    expect(decoded).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(1000);
  });
});
