// S3 flexible checksums: x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} in headers or aws-chunked
// trailers. A body reader computes every checksum the request names and compares them before commit.
import { digestBytes, isChecksumName, type ChecksumName } from '../engine/checksums.js';
import { S3Error } from './s3-error.js';

export { ChecksumSet, checksumsOf, type ChecksumName } from '../engine/checksums.js';

export const CHECKSUM_HEADERS: Record<string, ChecksumName> = {
  'x-amz-checksum-crc32': 'CRC32',
  'x-amz-checksum-crc32c': 'CRC32C',
  'x-amz-checksum-crc64nvme': 'CRC64NVME',
  'x-amz-checksum-sha1': 'SHA1',
  'x-amz-checksum-sha256': 'SHA256',
};

export function headerFor(alg: ChecksumName): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

export function parseAlgorithm(value: string | undefined): ChecksumName | undefined {
  if (value === undefined || value === '') return undefined;
  const up = value.toUpperCase();
  if (isChecksumName(up)) return up;
  throw new S3Error('InvalidRequest', `Checksum algorithm ${value} is not supported (use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256)`);
}

/** Decodes a base64 checksum value, refusing one of the wrong length. */
export function decodeChecksumValue(alg: ChecksumName, b64: string): Buffer {
  const buf = Buffer.from(b64.trim(), 'base64');
  if (buf.length !== digestBytes(alg) || buf.toString('base64') !== b64.trim()) {
    throw new S3Error('InvalidRequest', `Value for ${headerFor(alg)} header is invalid.`);
  }
  return buf;
}
