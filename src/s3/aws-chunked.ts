// Streaming decoder for `aws-chunked` request bodies (SigV4 streaming uploads), as a stream.Transform so
// the HTTP layer can `pipeline(req, decoder, sink)` with backpressure. Wire format:
//   hex-size[;chunk-signature=sig]\r\n data \r\n … 0[;chunk-signature=sig]\r\n
//   [name:value\r\n …] [x-amz-trailer-signature:sig\r\n] \r\n
// Contracts:
// - Data is passed on as it arrives (zero-copy slices of the input), before the chunk's signature is
//   checked: the upload is valid only if the stream ENDS without error. On any error the consumer must
//   discard everything it received (the same rule as for a body cut short or a failed checksum).
// - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk signature is verified, chained from the seed
//   signature; trailers are refused. …-PAYLOAD-TRAILER: the same, plus x-amz-trailer-signature over the
//   trailers. STREAMING-UNSIGNED-PAYLOAD-TRAILER: chunk signatures are not required (ignored if sent).
// - `trailers` (lowercase names) is complete when 'end' is emitted; checksum values in it are NOT
//   verified here (the body reader compares them with what it computed).
// - Limits: a chunk header line ≤ chunkHeaderBytesMax, the whole trailer section ≤ trailerBytesMax, a
//   chunk ≤ chunkBytesMax; the decoded length must equal decodedContentLength when given (checked as
//   soon as it is exceeded, and at the end).
// - Errors are S3Errors: SignatureDoesNotMatch (403) for a missing or wrong signature, IncompleteBody
//   for a body that ends early or decodes shorter than declared, InvalidRequest for bad chunk framing or
//   a body longer than declared, MalformedTrailerError for a bad trailer section.
// - Tolerated: end of input right after a complete trailer line (some SDKs omit the final CRLF), as long
//   as every expected trailer and, in signed mode, the trailer signature has arrived.

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  canonicalTrailers,
  chunkSignature,
  trailerSignature,
  type ChunkSigningContext,
} from './aws-chunked-signature.js';
import { S3AuthError, S3Error } from './s3-error.js';
import { EMPTY_SHA256, signaturesEqual } from './sigv4-crypto.js';
import { headerValue, normalizeHeaders, type HeaderInput } from './sigv4-canonical.js';
import type { AuthResult, StreamingPayloadMode } from './sigv4.js';

export { AwsChunkedEncoder, encodeAwsChunked, awsChunkedEncodedLength } from './aws-chunked-encode.js';
export type { AwsChunkedEncoderOptions } from './aws-chunked-encode.js';

export const CHUNK_HEADER_BYTES_MAX_DEFAULT = 4 * 1024;
export const TRAILER_BYTES_MAX_DEFAULT = 16 * 1024;
export const CHUNK_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

export const TRAILER_SIGNATURE_NAME = 'x-amz-trailer-signature';

export interface AwsChunkedSigning extends ChunkSigningContext {
  seedSignature: string;
}

export interface AwsChunkedDecoderOptions {
  mode: StreamingPayloadMode;
  /** Required for the two signed modes (take it from AuthResult). */
  signing?: AwsChunkedSigning;
  /** x-amz-decoded-content-length, when the client sent it. */
  decodedContentLength?: number;
  /** Names from the x-amz-trailer header; when given, the trailers must be exactly these. */
  expectedTrailers?: readonly string[];
  chunkHeaderBytesMax?: number;
  trailerBytesMax?: number;
  chunkBytesMax?: number;
}

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

const CR = 0x0d;
const LF = 0x0a;

function framing(message: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${message}`);
}

function badTrailer(detail: string): S3Error {
  return new S3Error('MalformedTrailerError', undefined, { cause: new Error(detail) });
}

function signatureMismatch(detail: string): S3AuthError {
  return new S3AuthError('SignatureDoesNotMatch', undefined, { cause: new Error(detail) });
}

export class AwsChunkedDecoder extends Transform {
  private readonly signed: boolean;
  private readonly withTrailer: boolean;
  private readonly signing: AwsChunkedSigning | undefined;
  private readonly decodedLength: number | undefined;
  private readonly expectedTrailers: ReadonlySet<string> | undefined;
  private readonly headerMax: number;
  private readonly trailerMax: number;
  private readonly chunkMax: number;

  private state: State = 'header';
  private line: Buffer[] = [];
  private lineBytes = 0;
  private dataRemaining = 0;
  private crlfSeen = 0;
  private hash: Hash | undefined;
  private chunkSig: string | undefined;
  private previousSig: string;
  private trailerBytes = 0;
  private readonly trailerList: [string, string][] = [];
  private trailerSig: string | undefined;
  private total = 0;
  private readonly trailerMap = new Map<string, string>();

  constructor(options: AwsChunkedDecoderOptions) {
    super();
    this.signed = options.mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    this.withTrailer = options.mode !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    if (this.signed && !options.signing) throw new TypeError(`${options.mode} needs signing context`);
    this.signing = options.signing;
    this.previousSig = options.signing?.seedSignature ?? '';
    this.decodedLength = options.decodedContentLength;
    this.expectedTrailers =
      options.expectedTrailers === undefined ? undefined : new Set(options.expectedTrailers.map((n) => n.toLowerCase()));
    this.headerMax = options.chunkHeaderBytesMax ?? CHUNK_HEADER_BYTES_MAX_DEFAULT;
    this.trailerMax = options.trailerBytesMax ?? TRAILER_BYTES_MAX_DEFAULT;
    this.chunkMax = options.chunkBytesMax ?? CHUNK_BYTES_MAX_DEFAULT;
  }

  /** Trailers by lowercase name (without the trailer signature); complete once 'end' is emitted. */
  get trailers(): ReadonlyMap<string, string> {
    return this.trailerMap;
  }

  /** Payload bytes passed on so far. */
  get decodedBytes(): number {
    return this.total;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.state === 'trailer' && this.lineBytes === 0 && (this.trailerList.length > 0 || this.trailerSig)) {
        this.finishTrailers();
      }
      if (this.state !== 'done') throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly');
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'header':
        case 'trailer':
          pos = this.readLine(buf, pos);
          break;
        case 'data':
          pos = this.readData(buf, pos);
          break;
        case 'data-crlf': {
          const expected = this.crlfSeen === 0 ? CR : LF;
          if (buf[pos] !== expected) throw framing('chunk data is not followed by CRLF');
          pos++;
          if (++this.crlfSeen === 2) this.state = 'header';
          break;
        }
        case 'done':
          throw framing('data after the end of the body');
      }
    }
  }

  /** Accumulates one CRLF-terminated line (bounded), then handles it. Returns the new position. */
  private readLine(buf: Buffer, pos: number): number {
    const max = this.state === 'header' ? this.headerMax : this.trailerMax - this.trailerBytes;
    const nl = buf.indexOf(LF, pos);
    const end = nl < 0 ? buf.length : nl + 1;
    this.lineBytes += end - pos;
    if (this.lineBytes > max) {
      throw this.state === 'header' ? framing('chunk header line too long') : badTrailer('trailer section too large');
    }
    this.line.push(buf.subarray(pos, end));
    if (nl >= 0) {
      const line = this.line.length === 1 ? this.line[0]! : Buffer.concat(this.line);
      this.line = [];
      this.lineBytes = 0;
      if (line.length < 2 || line[line.length - 2] !== CR) {
        throw this.state === 'header' ? framing('chunk header not terminated by CRLF') : badTrailer('line not ended by CRLF');
      }
      const text = line.toString('latin1', 0, line.length - 2);
      if (this.state === 'header') this.onChunkHeader(text);
      else this.onTrailerLine(text, line.length);
    }
    return end;
  }

  private onChunkHeader(text: string): void {
    const [sizeHex, ...extensions] = text.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex!)) throw framing(`bad chunk size "${sizeHex}"`);
    const size = parseInt(sizeHex!, 16);
    if (size > this.chunkMax) throw framing(`chunk of ${size} bytes exceeds ${this.chunkMax}`);
    this.chunkSig = undefined;
    for (const ext of extensions) {
      const eq = ext.indexOf('=');
      const name = (eq < 0 ? ext : ext.slice(0, eq)).trim();
      if (name === 'chunk-signature') this.chunkSig = ext.slice(eq + 1).trim().toLowerCase();
    }
    if (this.signed && this.chunkSig === undefined) throw signatureMismatch('chunk without chunk-signature');
    if (this.decodedLength !== undefined && this.total + size > this.decodedLength) {
      throw framing('body is longer than x-amz-decoded-content-length');
    }
    if (size === 0) {
      this.verifyChunk(EMPTY_SHA256);
      this.state = 'trailer';
      return;
    }
    this.dataRemaining = size;
    this.hash = this.signed ? createHash('sha256') : undefined;
    this.state = 'data';
  }

  private readData(buf: Buffer, pos: number): number {
    const n = Math.min(this.dataRemaining, buf.length - pos);
    const slice = buf.subarray(pos, pos + n);
    this.hash?.update(slice);
    this.total += n;
    this.dataRemaining -= n;
    this.push(slice);
    if (this.dataRemaining === 0) {
      if (this.hash) this.verifyChunk(this.hash.digest('hex'));
      this.hash = undefined;
      this.state = 'data-crlf';
      this.crlfSeen = 0;
    }
    return pos + n;
  }

  private verifyChunk(dataSha256: string): void {
    if (!this.signed) return;
    const expected = chunkSignature(this.signing!, this.previousSig, dataSha256);
    if (!signaturesEqual(expected, this.chunkSig ?? '')) throw signatureMismatch(`chunk ending at byte ${this.total}`);
    this.previousSig = expected;
  }

  private onTrailerLine(text: string, lineBytes: number): void {
    if (text === '') {
      this.finishTrailers();
      return;
    }
    this.trailerBytes += lineBytes;
    if (!this.withTrailer) throw badTrailer('trailers are not allowed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    if (this.trailerSig !== undefined) throw badTrailer('trailer after x-amz-trailer-signature');
    const colon = text.indexOf(':');
    if (colon <= 0) throw badTrailer('trailer line without a name');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === TRAILER_SIGNATURE_NAME) {
      this.trailerSig = value.toLowerCase();
      return;
    }
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw badTrailer(`bad trailer name "${name}"`);
    if (this.trailerMap.has(name)) throw badTrailer(`duplicate trailer ${name}`);
    this.trailerList.push([name, value]);
    this.trailerMap.set(name, value);
  }

  private finishTrailers(): void {
    if (this.expectedTrailers) {
      for (const name of this.expectedTrailers) {
        if (!this.trailerMap.has(name)) throw badTrailer(`missing trailer ${name}`);
      }
      for (const name of this.trailerMap.keys()) {
        if (!this.expectedTrailers.has(name)) throw badTrailer(`undeclared trailer ${name}`);
      }
    }
    if (this.signed && this.withTrailer) this.verifyTrailers();
    if (this.decodedLength !== undefined && this.total !== this.decodedLength) {
      throw new S3Error('IncompleteBody', undefined, {
        cause: new Error(`decoded ${this.total} bytes, x-amz-decoded-content-length is ${this.decodedLength}`),
      });
    }
    this.state = 'done';
  }

  private verifyTrailers(): void {
    if (this.trailerSig === undefined) {
      if (this.trailerList.length === 0) return;
      throw signatureMismatch('trailers without x-amz-trailer-signature');
    }
    const canonical = canonicalTrailers(this.trailerList);
    // With no trailers, clients differ on whether the signed block is "" or "\n"; both name nothing.
    const candidates = canonical === '' ? ['', '\n'] : [canonical];
    const ok = candidates.some((c) =>
      signaturesEqual(trailerSignature(this.signing!, this.previousSig, c), this.trailerSig!),
    );
    if (!ok) throw signatureMismatch('trailer signature');
  }
}

export function createAwsChunkedDecoder(options: AwsChunkedDecoderOptions): AwsChunkedDecoder {
  return new AwsChunkedDecoder(options);
}

/**
 * Decoder options for a verified request whose payload mode is a STREAMING-* one: signing context from
 * the AuthResult, x-amz-decoded-content-length and x-amz-trailer from the headers. Throws S3Error
 * InvalidArgument for a malformed x-amz-decoded-content-length.
 */
export function awsChunkedOptionsFor(
  auth: AuthResult & { payloadMode: StreamingPayloadMode },
  headers: HeaderInput,
): AwsChunkedDecoderOptions {
  const h = normalizeHeaders(headers);
  const decodedRaw = headerValue(h, 'x-amz-decoded-content-length')?.trim();
  if (decodedRaw !== undefined && !/^\d{1,15}$/.test(decodedRaw)) {
    throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length must be a non-negative integer', {
      extra: { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: decodedRaw },
    });
  }
  const trailerRaw = headerValue(h, 'x-amz-trailer');
  return {
    mode: auth.payloadMode,
    signing: {
      signingKey: auth.signingKey,
      amzDate: auth.amzDate,
      scope: auth.scope,
      seedSignature: auth.seedSignature,
    },
    ...(decodedRaw === undefined ? {} : { decodedContentLength: Number(decodedRaw) }),
    // No x-amz-trailer header declares no trailers: a checksum trailer the client sent anyway is refused,
    // never dropped unchecked.
    expectedTrailers: trailerRaw === undefined ? [] : trailerRaw.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== ''),
  };
}
