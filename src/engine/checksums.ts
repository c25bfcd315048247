// Object checksums (S3's flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256) computed over bytes,
// and a multipart object's checksum made from its parts': FULL_OBJECT (the CRCs combined, as if computed
// over every byte in order) or COMPOSITE (the checksum of the parts' checksums, shown with `-N`).
// Digest values are the raw big-endian bytes S3 shows base64-encoded.
import { createHash, type Hash } from 'node:crypto';
import { crcDigestOfParts } from '../native/crc-combine.js';
import { CrcHasher, crc32, crc32c, crc64nvme } from '../native/index.js';
import type { Body, ObjectChecksum } from './types.js';

export type ChecksumName = ObjectChecksum['algorithm'];
export type ChecksumType = NonNullable<ObjectChecksum['type']>;

const DIGEST_BYTES: Record<ChecksumName, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

export function digestBytes(alg: ChecksumName): number {
  return DIGEST_BYTES[alg];
}

export function isChecksumName(s: string): s is ChecksumName {
  return Object.prototype.hasOwnProperty.call(DIGEST_BYTES, s);
}

interface Digester {
  update(b: Uint8Array): void;
  digest(): Buffer;
}

function digester(alg: ChecksumName): Digester {
  if (alg === 'SHA1' || alg === 'SHA256') {
    const h: Hash = createHash(alg === 'SHA1' ? 'sha1' : 'sha256');
    return { update: (b) => h.update(b), digest: () => h.digest() };
  }
  const c = new CrcHasher(alg);
  return {
    update: (b) => {
      c.update(b);
    },
    digest: () => Buffer.from(c.digestBase64(), 'base64'),
  };
}

/** Computes a set of checksums over a stream of pieces. */
export class ChecksumSet {
  private readonly digesters = new Map<ChecksumName, Digester>();
  constructor(algs: Iterable<ChecksumName>) {
    for (const a of algs) if (!this.digesters.has(a)) this.digesters.set(a, digester(a));
  }
  get size(): number {
    return this.digesters.size;
  }
  update(piece: Uint8Array): void {
    for (const d of this.digesters.values()) d.update(piece);
  }
  results(): Map<ChecksumName, Buffer> {
    const out = new Map<ChecksumName, Buffer>();
    for (const [a, d] of this.digesters) out.set(a, d.digest());
    return out;
  }
}

/** `body` as it is, with every byte also fed to `sums` as it passes. */
export function tappedBody(body: Body, sums: ChecksumSet): Body {
  if (typeof body === 'string') {
    const b = Buffer.from(body);
    sums.update(b);
    return b;
  }
  if (body instanceof Uint8Array) {
    sums.update(body);
    return body;
  }
  const source = body as AsyncIterable<Uint8Array | string>;
  return (async function* tapped(): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      const b = typeof piece === 'string' ? Buffer.from(piece) : piece;
      sums.update(b);
      yield b;
    }
  })();
}

/** The same digests as a ChecksumSet fed `buf` alone, computed one-shot (no hasher objects). */
export function checksumsOf(algs: Iterable<ChecksumName>, buf: Uint8Array): Map<ChecksumName, Buffer> {
  const out = new Map<ChecksumName, Buffer>();
  for (const alg of algs) {
    if (out.has(alg)) continue;
    let d: Buffer;
    if (alg === 'CRC64NVME') {
      d = Buffer.allocUnsafe(8);
      d.writeBigUInt64BE(crc64nvme(buf));
    } else if (alg === 'CRC32' || alg === 'CRC32C') {
      d = Buffer.allocUnsafe(4);
      d.writeUInt32BE((alg === 'CRC32' ? crc32(buf) : crc32c(buf)) >>> 0);
    } else {
      d = createHash(alg === 'SHA1' ? 'sha1' : 'sha256').update(buf).digest();
    }
    out.set(alg, d);
  }
  return out;
}

/** S3's default type of a multipart upload's checksum: COMPOSITE, but CRC64NVME is always FULL_OBJECT. */
export function defaultChecksumType(alg: ChecksumName): ChecksumType {
  return alg === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
}

/**
 * S3's rules for a multipart upload's checksum: CRC64NVME is only FULL_OBJECT, SHA1/SHA256 only COMPOSITE,
 * CRC32/CRC32C either. Returns the type to use (the default when none is asked), or why it is refused.
 */
export function resolveChecksumType(alg: ChecksumName, asked: ChecksumType | undefined): { type: ChecksumType } | { refused: string } {
  const dflt = defaultChecksumType(alg);
  if (asked === undefined || asked === dflt || alg === 'CRC32' || alg === 'CRC32C') return { type: asked ?? dflt };
  return { refused: `the ${asked} checksum type cannot be used with the ${alg} checksum algorithm` };
}

/**
 * A multipart object's checksum from its parts' checksums (digest bytes, in part order, with sizes).
 * FULL_OBJECT needs a CRC algorithm; COMPOSITE is the algorithm over the concatenated part digests.
 */
export function checksumOfParts(alg: ChecksumName, type: ChecksumType, parts: ReadonlyArray<{ digest: Buffer; size: number }>): Buffer {
  if (type === 'COMPOSITE') {
    const d = digester(alg);
    for (const p of parts) d.update(p.digest);
    return d.digest();
  }
  if (alg === 'SHA1' || alg === 'SHA256') throw new RangeError(`${alg} has no FULL_OBJECT checksum of parts`);
  return crcDigestOfParts(alg, parts);
}

/** A checksum as S3 shows it: base64, with `-N` for the COMPOSITE checksum of an N-part object. */
export function checksumText(c: ObjectChecksum, partCount: number): string {
  return c.value.toString('base64') + (c.type === 'COMPOSITE' ? `-${partCount}` : '');
}
