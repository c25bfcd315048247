// Turning an HTTP request body into verified object bytes for PutObject / UploadPart.
// Two paths, one set of rules:
// - prepareBody streams (never buffers whole): aws-chunked framing is decoded (and each chunk signature
//   checked) by AwsChunkedDecoder; SHA-256 (signed payloads), Content-MD5 and every x-amz-checksum-*
//   named in headers or trailers are computed on the way. `verify()` runs after the last byte and before
//   the engine commits, so a mismatch stores nothing.
// - readSmallBody (bodies whose length is known and ≤ SMALL_BODY_BYTES_MAX): the body is collected into
//   one exact-size buffer from the stream's events (no async iteration), then every digest is checked in
//   the same order as verify() — all before the engine sees a byte, so a bad body writes nothing at all.
//   A body that ends early, or a connection that closes first, is IncompleteBody.
import { createHash, type Hash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import type { ObjectChecksum } from '../engine/types.js';
import { awsChunkedOptionsFor, createAwsChunkedDecoder, type AwsChunkedDecoder, type AwsChunkedDecoderOptions } from './aws-chunked.js';
import { CHECKSUM_HEADERS, ChecksumSet, checksumsOf, decodeChecksumValue, headerFor, parseAlgorithm, type ChecksumName } from './checksums.js';
import type { S3Request } from './http-util.js';
import { S3Error } from './s3-error.js';
import type { StreamingPayloadMode } from './sigv4.js';

/** How a body's checksums are chosen, beyond those the request names. */
export interface ChecksumPolicy {
  /** Store a CRC64NVME when the request names no checksum (PutObject, as S3 does). */
  defaultChecksum: boolean;
  /** Always compute this one (UploadPart: the checksum the upload keeps for its parts). */
  compute?: ChecksumName;
  /** Refuse a request whose checksums are all of other algorithms (UploadPart of an upload that declared one). */
  declared?: ChecksumName;
  /** The x-amz-checksum-* headers are the object's, not this body's (CompleteMultipartUpload): not checked here. */
  headersAreObjects?: boolean;
}

export interface PreparedBody {
  /** The checksum algorithms the request named (headers, trailers, x-amz-sdk-checksum-algorithm). */
  named: ReadonlySet<ChecksumName>;
  source: AsyncIterable<Buffer>;
  expectedSize?: number;
  expectedMd5?: Buffer;
  /** Throws an S3Error if a digest does not match; returns the checksums to store with the object. */
  verify(): ObjectChecksum[];
}

export const CONTENT_LENGTH_MAX = 5 * 1024 ** 4; // S3's object size limit, 5 TiB

/** Bodies up to this many (decoded) bytes take the collected path (readSmallBody). */
export const SMALL_BODY_BYTES_MAX = 64 * 1024;

function parseLength(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`);
  return Number(value.trim());
}

/** What the request's headers say about its body: framing, size and the digests to check. */
interface BodyPlan {
  /** aws-chunked decoder options when the payload mode is STREAMING-*. */
  chunked?: AwsChunkedDecoderOptions;
  expectedSize?: number;
  expectedMd5?: Buffer;
  fromHeaders: Map<ChecksumName, Buffer>;
  trailerAlgs: ChecksumName[];
  algs: Set<ChecksumName>;
  /** Hex SHA-256 the body must have (signed payloads). */
  sha256?: string;
  named: Set<ChecksumName>;
}

function planBody(r: S3Request, opts: ChecksumPolicy): BodyPlan {
  const contentLength = parseLength(r.header('content-length'), 'Content-Length');
  const mode = r.auth.payloadMode;
  const streaming = mode.startsWith('STREAMING-');
  if (contentLength === undefined && r.header('transfer-encoding') === undefined) {
    throw new S3Error('MissingContentLength');
  }
  let chunked: AwsChunkedDecoderOptions | undefined;
  let expectedSize = contentLength;
  if (streaming) {
    chunked = awsChunkedOptionsFor(r.auth as typeof r.auth & { payloadMode: StreamingPayloadMode }, r.req.headers);
    expectedSize = chunked.decodedContentLength;
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
  for (const h in CHECKSUM_HEADERS) {
    if (opts.headersAreObjects) break;
    const v = r.header(h);
    if (v !== undefined) fromHeaders.set(CHECKSUM_HEADERS[h]!, decodeChecksumValue(CHECKSUM_HEADERS[h]!, v));
  }
  const trailerAlgs: ChecksumName[] = [];
  const trailerHeader = r.header('x-amz-trailer');
  if (trailerHeader !== undefined) {
    for (const name of trailerHeader.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
      const alg = CHECKSUM_HEADERS[name];
      if (!alg) throw new S3Error('InvalidRequest', `x-amz-trailer names an unsupported trailer: ${name}`);
      if (!streaming) throw new S3Error('InvalidRequest', 'x-amz-trailer requires an aws-chunked (STREAMING-*-TRAILER) body');
      trailerAlgs.push(alg);
    }
  }
  const announced = parseAlgorithm(r.header('x-amz-sdk-checksum-algorithm') ?? r.header('x-amz-checksum-algorithm'));
  const named = new Set<ChecksumName>([...fromHeaders.keys(), ...trailerAlgs]);
  if (announced) named.add(announced);
  if (opts.declared !== undefined && named.size > 0 && !named.has(opts.declared)) {
    const other = [...named][0]!;
    throw new S3Error(
      'InvalidRequest',
      `Checksum Type mismatch occurred, expected checksum Type: ${opts.declared.toLowerCase()}, actual checksum Type: ${other.toLowerCase()}`,
    );
  }
  const algs = new Set(named);
  if (algs.size === 0 && opts.defaultChecksum) algs.add('CRC64NVME');
  if (opts.compute !== undefined) algs.add(opts.compute);
  return { chunked, expectedSize, expectedMd5, fromHeaders, trailerAlgs, algs, named, sha256: mode === 'SIGNED' ? r.auth.payloadSha256 : undefined };
}

/**
 * Compares what was computed with what the request claimed (SHA-256, header and trailer checksums) and
 * returns the checksums to store. Content-MD5 is checked by the caller (engine or readSmallBody).
 */
function checkDigests(plan: BodyPlan, shaHex: string | undefined, computed: Map<ChecksumName, Buffer>, decoder: AwsChunkedDecoder | undefined): ObjectChecksum[] {
  if (plan.sha256 !== undefined && shaHex !== plan.sha256) throw new S3Error('XAmzContentSHA256Mismatch');
  const check = (alg: ChecksumName, claimed: Buffer): void => {
    if (!claimed.equals(computed.get(alg) as Buffer)) {
      throw new S3Error('BadDigest', `The ${alg} you specified did not match the calculated checksum.`);
    }
  };
  for (const [alg, v] of plan.fromHeaders) check(alg, v);
  for (const alg of plan.trailerAlgs) {
    const v = decoder?.trailers.get(headerFor(alg));
    if (v === undefined) throw new S3Error('MalformedTrailerError', `the trailer ${headerFor(alg)} is missing`);
    check(alg, decodeChecksumValue(alg, v));
  }
  const out: ObjectChecksum[] = [];
  for (const [algorithm, value] of computed) out.push({ algorithm, value });
  return out;
}

export function prepareBody(r: S3Request, opts: ChecksumPolicy): PreparedBody {
  const plan = planBody(r, opts);
  let decoder: AwsChunkedDecoder | undefined;
  let source: AsyncIterable<Buffer>;
  if (plan.chunked) {
    decoder = createAwsChunkedDecoder(plan.chunked);
    pipeline(r.req, decoder, () => undefined); // errors surface through the decoder's iteration
    source = decoder;
  } else {
    source = r.req;
  }
  const sums = new ChecksumSet(plan.algs);
  const sha: Hash | undefined = plan.sha256 !== undefined ? createHash('sha256') : undefined;

  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const piece of source) {
      sums.update(piece);
      sha?.update(piece);
      yield piece;
    }
  }

  return {
    named: plan.named,
    source: tapped(),
    expectedSize: plan.expectedSize,
    expectedMd5: plan.expectedMd5,
    verify: () => checkDigests(plan, sha?.digest('hex'), sums.results(), decoder),
  };
}

export interface SmallBody {
  body: Buffer;
  /** Checksums to store with the object (already verified against the request's claims). */
  checksums: ObjectChecksum[];
  /** Content-MD5, already verified; pass it on so the engine's own MD5 is checked too. */
  expectedMd5?: Buffer;
}

/**
 * The (decoded) length of the request body when it is known up front and at most
 * SMALL_BODY_BYTES_MAX, else undefined (use prepareBody).
 */
export function smallBodyLength(r: S3Request): number | undefined {
  if (r.header('transfer-encoding') !== undefined) return undefined;
  const raw = r.auth.payloadMode.startsWith('STREAMING-') ? r.header('x-amz-decoded-content-length') : r.header('content-length');
  if (raw === undefined || raw.length > 6 || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n <= SMALL_BODY_BYTES_MAX ? n : undefined;
}

/**
 * Collects exactly `expected` bytes from `stream` into one buffer. Rejects with IncompleteBody when the
 * stream ends (or closes) early, EntityTooLarge-style InvalidRequest when it carries more, and with the
 * stream's own error (e.g. an aws-chunked signature failure) otherwise.
 */
export function collectBody(stream: Readable, expected: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    // A request aborted before we got here (e.g. during a conditional-write lookup) has already emitted
    // its 'close': waiting for events would wait forever.
    if (stream.destroyed) {
      reject(new S3Error('IncompleteBody', 'The connection closed before the whole body arrived'));
      return;
    }
    const buf = Buffer.allocUnsafe(expected);
    let filled = 0;
    let settled = false;
    const finish = (err: unknown, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err !== undefined) {
        reject(err);
        // Nothing more is wanted from this body; the error response closes the connection.
        stream.resume();
      } else resolve(value!);
    };
    const onData = (piece: Buffer): void => {
      if (filled + piece.length > expected) {
        finish(new S3Error('InvalidRequest', `the request body is longer than the declared ${expected} bytes`));
        return;
      }
      piece.copy(buf, filled);
      filled += piece.length;
    };
    const onEnd = (): void => {
      if (filled !== expected) finish(new S3Error('IncompleteBody', `the body ended after ${filled} of ${expected} bytes`));
      else finish(undefined, buf);
    };
    const onError = (err: unknown): void => finish(err instanceof S3Error ? err : new S3Error('IncompleteBody', 'The request body terminated unexpectedly', { cause: err }));
    const onClose = (): void => finish(new S3Error('IncompleteBody', 'The connection closed before the whole body arrived'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Reads a small request body (smallBodyLength(r) !== undefined) whole and verifies Content-MD5, the
 * signed SHA-256 and every x-amz-checksum-* (header or trailer) before returning it.
 */
export async function readSmallBody(r: S3Request, opts: { defaultChecksum: boolean }): Promise<SmallBody> {
  const plan = planBody(r, opts);
  const length = plan.expectedSize as number;
  let decoder: AwsChunkedDecoder | undefined;
  let body: Buffer;
  if (plan.chunked) {
    decoder = createAwsChunkedDecoder(plan.chunked);
    pipeline(r.req, decoder, () => undefined); // errors reach collectBody through the decoder
    body = await collectBody(decoder, length);
  } else {
    body = await collectBody(r.req, length);
  }
  if (plan.expectedMd5 && !createHash('md5').update(body).digest().equals(plan.expectedMd5)) throw new S3Error('BadDigest');
  const shaHex = plan.sha256 !== undefined ? createHash('sha256').update(body).digest('hex') : undefined;
  const checksums = checkDigests(plan, shaHex, checksumsOf(plan.algs, body), decoder);
  return { body, checksums, expectedMd5: plan.expectedMd5 };
}
