// Turning an HTTP request body into verified object bytes for PutObject / UploadPart.
// The body streams through (never buffered whole): aws-chunked framing is decoded (and each chunk
// signature checked) by AwsChunkedDecoder; SHA-256 (signed payloads), Content-MD5 and every
// x-amz-checksum-* named in headers or trailers are computed on the way. `verify()` runs after the last
// byte and before the engine commits, so a mismatch stores nothing.
import { createHash, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream';
import type { ObjectChecksum } from '../engine/types.js';
import { awsChunkedOptionsFor, createAwsChunkedDecoder, type AwsChunkedDecoder } from './aws-chunked.js';
import { CHECKSUM_HEADERS, ChecksumSet, decodeChecksumValue, headerFor, parseAlgorithm, type ChecksumName } from './checksums.js';
import type { S3Request } from './http-util.js';
import { S3Error } from './s3-error.js';
import type { StreamingPayloadMode } from './sigv4.js';

export interface PreparedBody {
  source: AsyncIterable<Buffer>;
  expectedSize?: number;
  expectedMd5?: Buffer;
  /** Throws an S3Error if a digest does not match; returns the checksums to store with the object. */
  verify(): ObjectChecksum[];
}

export const CONTENT_LENGTH_MAX = 5 * 1024 ** 4; // S3's object size limit, 5 TiB

function parseLength(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`);
  return Number(value.trim());
}

export function prepareBody(r: S3Request, opts: { defaultChecksum: boolean }): PreparedBody {
  const contentLength = parseLength(r.header('content-length'), 'Content-Length');
  const mode = r.auth.payloadMode;
  const streaming = mode.startsWith('STREAMING-');
  if (contentLength === undefined && r.header('transfer-encoding') === undefined) {
    throw new S3Error('MissingContentLength');
  }
  let decoder: AwsChunkedDecoder | undefined;
  let expectedSize = contentLength;
  let source: AsyncIterable<Buffer>;
  if (streaming) {
    const o = awsChunkedOptionsFor(r.auth as typeof r.auth & { payloadMode: StreamingPayloadMode }, r.req.headers);
    decoder = createAwsChunkedDecoder(o);
    pipeline(r.req, decoder, () => undefined); // errors surface through the decoder's iteration
    source = decoder;
    expectedSize = o.decodedContentLength;
  } else {
    source = r.req;
  }
  if (expectedSize !== undefined && expectedSize > CONTENT_LENGTH_MAX) throw new S3Error('EntityTooLarge');

  let expectedMd5: Buffer | undefined;
  const md5Header = r.header('content-md5');
  if (md5Header !== undefined) {
    expectedMd5 = Buffer.from(md5Header.trim(), 'base64');
    if (expectedMd5.length !== 16 || expectedMd5.toString('base64') !== md5Header.trim()) throw new S3Error('InvalidDigest');
  }

  // Checksums: values in headers now, values in trailers after the body, algorithms announced.
  const fromHeaders = new Map<ChecksumName, Buffer>();
  for (const [h, alg] of Object.entries(CHECKSUM_HEADERS)) {
    const v = r.header(h);
    if (v !== undefined) fromHeaders.set(alg, decodeChecksumValue(alg, v));
  }
  const trailerAlgs: ChecksumName[] = [];
  for (const name of (r.header('x-amz-trailer') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const alg = CHECKSUM_HEADERS[name];
    if (!alg) throw new S3Error('InvalidRequest', `x-amz-trailer names an unsupported trailer: ${name}`);
    if (!streaming) throw new S3Error('InvalidRequest', 'x-amz-trailer requires an aws-chunked (STREAMING-*-TRAILER) body');
    trailerAlgs.push(alg);
  }
  const announced = parseAlgorithm(r.header('x-amz-sdk-checksum-algorithm') ?? r.header('x-amz-checksum-algorithm'));
  const algs = new Set<ChecksumName>([...fromHeaders.keys(), ...trailerAlgs]);
  if (announced) algs.add(announced);
  if (algs.size === 0 && opts.defaultChecksum) algs.add('CRC64NVME');
  const sums = new ChecksumSet(algs);
  const sha: Hash | undefined = mode === 'SIGNED' ? createHash('sha256') : undefined;

  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const piece of source) {
      sums.update(piece);
      sha?.update(piece);
      yield piece;
    }
  }

  return {
    source: tapped(),
    expectedSize,
    expectedMd5,
    verify(): ObjectChecksum[] {
      if (sha && sha.digest('hex') !== r.auth.payloadSha256) throw new S3Error('XAmzContentSHA256Mismatch');
      const computed = sums.results();
      const check = (alg: ChecksumName, claimed: Buffer): void => {
        if (!claimed.equals(computed.get(alg) as Buffer)) {
          throw new S3Error('BadDigest', `The ${alg} you specified did not match the calculated checksum.`);
        }
      };
      for (const [alg, v] of fromHeaders) check(alg, v);
      for (const alg of trailerAlgs) {
        const v = decoder?.trailers.get(headerFor(alg));
        if (v === undefined) throw new S3Error('MalformedTrailerError', `the trailer ${headerFor(alg)} is missing`);
        check(alg, decodeChecksumValue(alg, v));
      }
      return [...computed].map(([algorithm, value]) => ({ algorithm, value }));
    },
  };
}
