// S3 flexible checksums: x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} in headers or aws-chunked
// trailers. A body reader computes every checksum the request names and compares them before commit.
import { createHash, type Hash } from 'node:crypto';
import { CrcHasher, crc32, crc32c, crc64nvme } from '../native/index.js';
import type { ObjectChecksum } from '../engine/types.js';
import { S3Error } from './s3-error.js';

export type ChecksumName = ObjectChecksum['algorithm'];

export const CHECKSUM_HEADERS: Record<string, ChecksumName> = {
  'x-amz-checksum-crc32': 'CRC32',
  'x-amz-checksum-crc32c': 'CRC32C',
  'x-amz-checksum-crc64nvme': 'CRC64NVME',
  'x-amz-checksum-sha1': 'SHA1',
  'x-amz-checksum-sha256': 'SHA256',
};

const DIGEST_BYTES: Record<ChecksumName, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

export function headerFor(alg: ChecksumName): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

export function parseAlgorithm(value: string | undefined): ChecksumName | undefined {
  if (value === undefined || value === '') return undefined;
  const up = value.toUpperCase();
  if (up in DIGEST_BYTES) return up as ChecksumName;
  throw new S3Error('InvalidRequest', `Checksum algorithm ${value} is not supported (use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256)`);
}

/** Decodes a base64 checksum value, refusing one of the wrong length. */
export function decodeChecksumValue(alg: ChecksumName, b64: string): Buffer {
  const buf = Buffer.from(b64.trim(), 'base64');
  if (buf.length !== DIGEST_BYTES[alg] || buf.toString('base64') !== b64.trim()) {
    throw new S3Error('InvalidRequest', `Value for ${headerFor(alg)} header is invalid.`);
  }
  return buf;
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
