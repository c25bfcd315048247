// Client side of aws-chunked: frames (and, in the signed modes, signs) a body the way SDKs do, for tests,
// the bench load generator and the S3 cold-tier client.
// Contracts: AwsChunkedEncoder is incremental — chunk() returns the frame pieces for one data chunk
// without copying the data (header, data, CRLF), end() returns the final zero-length chunk, trailers,
// trailer signature and closing CRLF. Chunk sizes are the caller's choice (S3 wants ≥ 8 KiB for all but
// the last; this encoder does not enforce it). awsChunkedEncodedLength gives the Content-Length.

import { createHash } from 'node:crypto';
import { assert } from '../util/errors.js';
import { canonicalTrailers, chunkSignature, trailerSignature } from './aws-chunked-signature.js';
import type { AwsChunkedSigning } from './aws-chunked.js';
import { EMPTY_SHA256 } from './sigv4-crypto.js';
import type { StreamingPayloadMode } from './sigv4.js';

export interface AwsChunkedEncoderOptions {
  mode: StreamingPayloadMode;
  /** Required for the signed modes: the seed signature is the request's own signature. */
  signing?: AwsChunkedSigning;
}

const CRLF = Buffer.from('\r\n');
const SIGNATURE_HEX_CHARS = 64;
const CHUNK_SIGNATURE_EXT = ';chunk-signature=';
const TRAILER_SIGNATURE_PREFIX = 'x-amz-trailer-signature:';

export class AwsChunkedEncoder {
  private readonly signed: boolean;
  private readonly withTrailer: boolean;
  private previousSig: string;
  private ended = false;

  constructor(private readonly options: AwsChunkedEncoderOptions) {
    this.signed = options.mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    this.withTrailer = options.mode !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    assert(!this.signed || options.signing !== undefined, `${options.mode} needs a signing context`);
    this.previousSig = options.signing?.seedSignature ?? '';
  }

  private header(size: number, dataSha256: string): Buffer {
    if (!this.signed) return Buffer.from(`${size.toString(16)}\r\n`, 'latin1');
    const sig = chunkSignature(this.options.signing!, this.previousSig, dataSha256);
    this.previousSig = sig;
    return Buffer.from(`${size.toString(16)}${CHUNK_SIGNATURE_EXT}${sig}\r\n`, 'latin1');
  }

  /** Frames one non-empty data chunk: [header, data, CRLF]. */
  chunk(data: Uint8Array): Buffer[] {
    assert(!this.ended, 'chunk() after end()');
    assert(data.length > 0, 'an empty chunk would end the body; call end()');
    const hash = this.signed ? createHash('sha256').update(data).digest('hex') : '';
    return [this.header(data.length, hash), Buffer.from(data.buffer, data.byteOffset, data.length), CRLF];
  }

  /** The final chunk, the trailers (lowercase names) with their signature in signed mode, and the last CRLF. */
  end(trailers: ReadonlyArray<readonly [string, string]> = []): Buffer {
    assert(!this.ended, 'end() called twice');
    assert(this.withTrailer || trailers.length === 0, `${this.options.mode} cannot carry trailers`);
    this.ended = true;
    const parts: Buffer[] = [this.header(0, EMPTY_SHA256)];
    const canonical = canonicalTrailers(trailers);
    if (canonical !== '') parts.push(Buffer.from(canonical.replace(/\n/g, '\r\n'), 'latin1'));
    if (this.signed && this.withTrailer && trailers.length > 0) {
      const sig = trailerSignature(this.options.signing!, this.previousSig, canonical);
      parts.push(Buffer.from(`${TRAILER_SIGNATURE_PREFIX}${sig}\r\n`, 'latin1'));
    }
    parts.push(CRLF);
    return Buffer.concat(parts);
  }
}

/** Encodes a whole payload in chunks of `chunkBytes` (the last may be shorter). */
export function encodeAwsChunked(
  payload: Uint8Array,
  options: AwsChunkedEncoderOptions & {
    chunkBytes: number;
    trailers?: ReadonlyArray<readonly [string, string]>;
  },
): Buffer {
  assert(Number.isInteger(options.chunkBytes) && options.chunkBytes > 0, 'chunkBytes must be a positive integer');
  const encoder = new AwsChunkedEncoder(options);
  const parts: Buffer[] = [];
  for (let off = 0; off < payload.length; off += options.chunkBytes) {
    parts.push(...encoder.chunk(payload.subarray(off, Math.min(payload.length, off + options.chunkBytes))));
  }
  parts.push(encoder.end(options.trailers));
  return Buffer.concat(parts);
}

/** The encoded (Content-Length) size of a body of `decodedLength` bytes in chunks of `chunkBytes`. */
export function awsChunkedEncodedLength(
  decodedLength: number,
  chunkBytes: number,
  options: { mode: StreamingPayloadMode; trailers?: ReadonlyArray<readonly [string, string]> },
): number {
  assert(Number.isInteger(chunkBytes) && chunkBytes > 0, 'chunkBytes must be a positive integer');
  const signed = options.mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
  const sigBytes = signed ? CHUNK_SIGNATURE_EXT.length + SIGNATURE_HEX_CHARS : 0;
  const frame = (size: number) => size.toString(16).length + sigBytes + 2 + (size > 0 ? size + 2 : 0);
  const full = Math.floor(decodedLength / chunkBytes);
  const rest = decodedLength % chunkBytes;
  let length = full * frame(chunkBytes) + (rest > 0 ? frame(rest) : 0) + frame(0);
  const trailers = options.trailers ?? [];
  length += Buffer.byteLength(canonicalTrailers(trailers), 'latin1') + trailers.length;
  if (signed && trailers.length > 0 && options.mode !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') {
    length += TRAILER_SIGNATURE_PREFIX.length + SIGNATURE_HEX_CHARS + 2;
  }
  return length + 2;
}
