// AWS Signature Version 4 verification for S3 requests: the Authorization header and presigned URLs.
// verifyRequest either returns who signed and how the body is protected (AuthResult: what the body
// reader and the aws-chunked decoder need), or throws an S3AuthError with S3's code and wording.
// Contracts:
// - `rawUrl` is the request-target exactly as received (Node's `req.url`); the router must decode the
//   path and query with aws-uri.ts so that what is verified is what is acted on.
// - Checks, in order: one auth mechanism (SigV2 and SigV4A refused with a clear message), shape, scope
//   (service s3, terminator, our region, date = X-Amz-Date date), known access key, clock (header: skew
//   ≤ maxSkewMs both ways; presigned: not before X-Amz-Date − maxSkewMs, not after + X-Amz-Expires),
//   `host` and every x-amz-* header present are signed, payload hash well formed, then the signature.
// - Signatures are compared in constant time. Only SIGNED bodies carry a hash to check later
//   (XAmzContentSHA256Mismatch is the body reader's job); streaming bodies go to aws-chunked.ts.
// - The client-side signer (signRequest, presignUrl) is re-exported from sigv4-sign.ts.

import {
  canonicalQueryString,
  canonicalUriCandidates,
  parseRawQuery,
  splitRawUrl,
  type QueryPair,
} from './aws-uri.js';
import { S3AuthError } from './s3-error.js';
import {
  S3_SERVICE,
  SIGV4_ALGORITHM,
  SIGV4_TERMINATOR,
  canonicalHeaders,
  canonicalRequest,
  credentialScope,
  formatAmzDate,
  headerValue,
  normalizeHeaders,
  parseAmzDate,
  stringToSign,
  type HeaderInput,
  type HeaderValues,
} from './sigv4-canonical.js';
import { deriveSigningKey, isSha256Hex, signatureMatches } from './sigv4-crypto.js';
import {
  authorizationScheme,
  hasPresignedParams,
  parseAuthorizationHeader,
  parsePresignedQuery,
  type Credential,
  type ParsedSignature,
} from './sigv4-parse.js';

export { signRequest, presignUrl } from './sigv4-sign.js';
export type { SignRequestInput, SignedRequest, PresignUrlInput } from './sigv4-sign.js';
export { EMPTY_SHA256, sha256Hex, deriveSigningKey } from './sigv4-crypto.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export const STREAMING_PAYLOAD_MODES = [
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
] as const;

export type StreamingPayloadMode = (typeof STREAMING_PAYLOAD_MODES)[number];
export type PayloadMode = 'UNSIGNED-PAYLOAD' | 'SIGNED' | StreamingPayloadMode;

/** Default allowed difference between the request's time and ours, as S3: 15 minutes. */
export const MAX_SKEW_MS_DEFAULT = 15 * 60 * 1000;

export const SIGV2_REFUSED_MESSAGE = 'Signature Version 2 is not supported; use Signature Version 4';

export interface VerifyInput {
  method: string;
  /** The request-target as received, e.g. `/bucket/key%20name?uploads`. */
  rawUrl: string;
  /** Request headers; Node's `req.headersDistinct` is exact, `req.headers` is fine for real clients. */
  headers: HeaderInput;
  /** The same headers already by lowercase name (e.g. from `headersFromRaw`); replaces `headers` when given. */
  headerValues?: HeaderValues;
  /** `rawUrl` already split and its query parsed (the router does it anyway). */
  target?: { rawPath: string; query: readonly QueryPair[] };
}

/**
 * Header values by lowercase name from Node's `req.rawHeaders` (name, value, name, value, …) in one pass:
 * what normalizeHeaders(req.headersDistinct) gives, without building the intermediate object.
 */
export function headersFromRaw(rawHeaders: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = out.get(name);
    if (list === undefined) out.set(name, [rawHeaders[i + 1]!]);
    else list.push(rawHeaders[i + 1]!);
  }
  return out;
}

export interface VerifyOptions {
  region: string;
  lookupSecret(accessKeyId: string): string | undefined;
  now: Date;
  maxSkewMs?: number;
}

export interface AuthResult {
  accessKeyId: string;
  payloadMode: PayloadMode;
  /** Lowercase hex SHA-256 the body must have; only when payloadMode is 'SIGNED'. */
  payloadSha256?: string;
  /** The request's signature (lowercase hex): the first "previous signature" of an aws-chunked body. */
  seedSignature: string;
  /** kSigning for this scope; shared, do not mutate. */
  signingKey: Buffer;
  /** `YYYYMMDD/region/s3/aws4_request` */
  scope: string;
  /** The timestamp that was signed, `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
  presigned: boolean;
}

/** Verifies a request's SigV4 authentication. Throws S3AuthError (or S3Error InvalidArgument for a bad query). */
export function verifyRequest(input: VerifyInput, opts: VerifyOptions): AuthResult {
  const headers = input.headerValues ?? normalizeHeaders(input.headers);
  let rawPath: string;
  let query: readonly QueryPair[];
  if (input.target !== undefined) {
    ({ rawPath, query } = input.target);
  } else {
    const split = splitRawUrl(input.rawUrl);
    rawPath = split.rawPath;
    query = parseRawQuery(split.rawQuery);
  }
  const authorization = headerValue(headers, 'authorization');
  const presigned = hasPresignedParams(query);
  const v2Query = query.some(([n]) => n === 'AWSAccessKeyId');

  if (authorization !== undefined && authorization.trim() !== '') {
    if (presigned || v2Query) {
      throw new S3AuthError(
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string ' +
          'parameter or the Authorization header should be specified',
      );
    }
    return verifyHeaderAuth(input.method, rawPath, query, headers, authorization, opts);
  }
  if (presigned) return verifyPresigned(input.method, rawPath, query, headers, opts);
  if (v2Query) throw new S3AuthError('InvalidRequest', SIGV2_REFUSED_MESSAGE);
  // A browser-style form upload (POST Object: its policy and signature are form fields, e.g. boto3's
  // generate_presigned_post) is not anonymous, it is unsupported: say so rather than "access denied".
  if (input.method === 'POST' && /^\s*multipart\/form-data\b/i.test(headerValue(headers, 'content-type') ?? '')) {
    throw new S3AuthError('NotImplemented', 'POST Object (browser-based form uploads, such as presigned POST) is not implemented by sediment; use a presigned PUT URL');
  }
  throw new S3AuthError('AccessDenied', 'Access Denied: anonymous requests are not allowed; sign with AWS SigV4');
}

// Clients send the same Credential and SignedHeaders on every request; only the signature differs. The
// parse of everything before `Signature=` is remembered (parsing is a pure function of the string, and
// one valid 64-digit signature parses like any other), bounded by AUTH_CACHE_MAX entries.
const AUTH_CACHE_MAX = 64;
const authCache = new Map<string, ParsedSignature>();
const SIGNATURE_TAIL = /^[0-9a-fA-F]{64}$/;

function parseAuthorizationCached(authorization: string): ParsedSignature {
  const at = authorization.lastIndexOf('Signature=');
  const signature = at < 0 ? '' : authorization.slice(at + 'Signature='.length);
  if (at < 0 || !SIGNATURE_TAIL.test(signature)) return parseAuthorizationHeader(authorization);
  const prefix = authorization.slice(0, at);
  let cached = authCache.get(prefix);
  if (cached === undefined) {
    cached = parseAuthorizationHeader(`${prefix}Signature=${'0'.repeat(64)}`);
    if (authCache.size >= AUTH_CACHE_MAX) authCache.clear();
    authCache.set(prefix, cached);
  }
  return { ...cached, signature: signature.toLowerCase() };
}

function checkScope(credential: Credential, opts: VerifyOptions, fail: (detail: string) => S3AuthError): void {
  if (credential.service !== S3_SERVICE) {
    throw fail(`incorrect service "${credential.service}". This endpoint belongs to "${S3_SERVICE}".`);
  }
  if (credential.terminator !== SIGV4_TERMINATOR) {
    throw fail(`incorrect terminal "${credential.terminator}". This endpoint uses "${SIGV4_TERMINATOR}".`);
  }
  if (credential.region !== opts.region) {
    const err = fail(`the region '${credential.region}' is wrong; expecting '${opts.region}'`);
    throw new S3AuthError(err.code, err.message, { extra: { Region: opts.region } });
  }
}

function lookupSecret(credential: Credential, opts: VerifyOptions): string {
  const secret = opts.lookupSecret(credential.accessKeyId);
  if (secret === undefined) {
    throw new S3AuthError('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: credential.accessKeyId } });
  }
  return secret;
}

/** S3 requires `host` to be signed, and refuses x-amz-* headers that are present but not signed. */
function checkSignedHeaders(signed: readonly string[], headers: HeaderValues): void {
  const notSigned: string[] = [];
  if (!signed.includes('host')) notSigned.push('host');
  for (const name of headers.keys()) {
    if (name.startsWith('x-amz-') && !signed.includes(name)) notSigned.push(name);
  }
  if (notSigned.length > 0) {
    throw new S3AuthError('AccessDenied', 'There were headers present in the request which were not signed', {
      extra: { HeadersNotSigned: notSigned.join(', ') },
    });
  }
}

function payloadModeOf(payloadHash: string): { mode: PayloadMode; sha256?: string } | undefined {
  if (payloadHash === UNSIGNED_PAYLOAD) return { mode: UNSIGNED_PAYLOAD };
  if (isSha256Hex(payloadHash)) return { mode: 'SIGNED', sha256: payloadHash.toLowerCase() };
  const streaming = STREAMING_PAYLOAD_MODES.find((m) => m === payloadHash);
  return streaming === undefined ? undefined : { mode: streaming };
}

function invalidPayloadHash(): S3AuthError {
  return new S3AuthError(
    'InvalidArgument',
    `x-amz-content-sha256 must be ${UNSIGNED_PAYLOAD}, ${STREAMING_PAYLOAD_MODES.join(', ')} or a valid sha256 value.`,
    { extra: { ArgumentName: 'x-amz-content-sha256' } },
  );
}

/** The request time from X-Amz-Date, else from Date (RFC 7231), as the signed `YYYYMMDDTHHMMSSZ` string. */
function requestTime(headers: HeaderValues): { amzDate: string; time: Date } {
  const amz = headerValue(headers, 'x-amz-date')?.trim();
  if (amz !== undefined) {
    const time = parseAmzDate(amz);
    if (time) return { amzDate: amz, time };
  } else {
    const date = headerValue(headers, 'date');
    const time = date === undefined ? NaN : Date.parse(date);
    if (!Number.isNaN(time)) return { amzDate: formatAmzDate(new Date(time)), time: new Date(time) };
  }
  throw new S3AuthError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
}

interface SignatureCheck {
  method: string;
  rawPath: string;
  canonicalQuery: string;
  headers: HeaderValues;
  parsed: ParsedSignature;
  payloadHash: string;
  payload: { mode: PayloadMode; sha256?: string };
  amzDate: string;
  secret: string;
  presigned: boolean;
}

function authResult(c: SignatureCheck, scope: string, signingKey: Buffer): AuthResult {
  return {
    accessKeyId: c.parsed.credential.accessKeyId,
    payloadMode: c.payload.mode,
    ...(c.payload.sha256 === undefined ? {} : { payloadSha256: c.payload.sha256 }),
    seedSignature: c.parsed.signature,
    signingKey,
    scope,
    amzDate: c.amzDate,
    presigned: c.presigned,
  };
}

/**
 * The end both forms of SigV4 share: derives the signing key, tries each canonical URI candidate (throws
 * SignatureDoesNotMatch with S3's diagnostic fields), and returns what the request was signed with.
 */
function checkSignature(c: SignatureCheck): AuthResult {
  const { credential } = c.parsed;
  const scope = credentialScope(credential.date, credential.region, credential.service);
  const signingKey = deriveSigningKey(c.secret, credential.date, credential.region, credential.service);
  const headerLines = canonicalHeaders(c.parsed.signedHeaders, c.headers);
  let first: { canonical: string; toSign: string } | undefined;
  for (const canonicalUri of canonicalUriCandidates(c.rawPath)) {
    const canonical = canonicalRequest({
      method: c.method,
      canonicalUri,
      canonicalQuery: c.canonicalQuery,
      canonicalHeaders: headerLines,
      signedHeaders: c.parsed.signedHeadersRaw,
      payloadHash: c.payloadHash,
    });
    const toSign = stringToSign(c.amzDate, scope, canonical);
    if (signatureMatches(signingKey, toSign, c.parsed.signature)) return authResult(c, scope, signingKey);
    first ??= { canonical, toSign };
  }
  throw new S3AuthError('SignatureDoesNotMatch', undefined, {
    extra: {
      AWSAccessKeyId: c.parsed.credential.accessKeyId,
      StringToSign: first!.toSign,
      SignatureProvided: c.parsed.signature,
      CanonicalRequest: first!.canonical,
    },
  });
}

function verifyHeaderAuth(
  method: string,
  rawPath: string,
  query: readonly QueryPair[],
  headers: HeaderValues,
  authorization: string,
  opts: VerifyOptions,
): AuthResult {
  const scheme = authorizationScheme(authorization);
  if (scheme === 'AWS') throw new S3AuthError('InvalidRequest', SIGV2_REFUSED_MESSAGE);
  if (scheme === 'AWS4-ECDSA-P256-SHA256') {
    throw new S3AuthError('InvalidRequest', `Signature Version 4A is not supported; use ${SIGV4_ALGORITHM}`);
  }
  if (scheme !== SIGV4_ALGORITHM) throw new S3AuthError('InvalidArgument', 'Unsupported Authorization Type');

  const parsed = parseAuthorizationCached(authorization);
  const { credential } = parsed;
  const malformed = (detail: string) =>
    new S3AuthError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${detail}`);
  checkScope(credential, opts, malformed);
  const { amzDate, time } = requestTime(headers);
  if (credential.date !== amzDate.slice(0, 8)) {
    throw malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  }
  const secret = lookupSecret(credential, opts);
  const maxSkewMs = opts.maxSkewMs ?? MAX_SKEW_MS_DEFAULT;
  if (Math.abs(opts.now.getTime() - time.getTime()) > maxSkewMs) {
    throw new S3AuthError('RequestTimeTooSkewed', undefined, {
      extra: {
        RequestTime: amzDate,
        ServerTime: opts.now.toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      },
    });
  }
  const payloadHash = headerValue(headers, 'x-amz-content-sha256')?.trim();
  if (payloadHash === undefined) {
    throw new S3AuthError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  const payload = payloadModeOf(payloadHash);
  if (!payload) throw invalidPayloadHash();
  checkSignedHeaders(parsed.signedHeaders, headers);

  return checkSignature({
    method,
    rawPath,
    canonicalQuery: canonicalQueryString(query),
    headers,
    parsed,
    payloadHash,
    payload,
    amzDate,
    secret,
    presigned: false,
  });
}

function verifyPresigned(
  method: string,
  rawPath: string,
  query: readonly QueryPair[],
  headers: HeaderValues,
  opts: VerifyOptions,
): AuthResult {
  const parsed = parsePresignedQuery(query);
  const { credential, amzDate } = parsed;
  const queryError = (detail: string) =>
    new S3AuthError('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${detail}`);
  checkScope(credential, opts, queryError);
  const time = parseAmzDate(amzDate);
  if (!time) {
    throw new S3AuthError(
      'AuthorizationQueryParametersError',
      `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`,
    );
  }
  if (credential.date !== amzDate.slice(0, 8)) {
    throw new S3AuthError(
      'AuthorizationQueryParametersError',
      `Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const secret = lookupSecret(credential, opts);
  const maxSkewMs = opts.maxSkewMs ?? MAX_SKEW_MS_DEFAULT;
  const nowMs = opts.now.getTime();
  if (time.getTime() - nowMs > maxSkewMs) throw new S3AuthError('AccessDenied', 'Request is not valid yet');
  const expiresAt = new Date(time.getTime() + parsed.expiresSec * 1000);
  if (nowMs > expiresAt.getTime()) {
    throw new S3AuthError('AccessDenied', 'Request has expired', {
      extra: {
        'X-Amz-Expires': String(parsed.expiresSec),
        Expires: expiresAt.toISOString(),
        ServerTime: opts.now.toISOString(),
      },
    });
  }
  const payloadHash = parsed.payloadHash ?? UNSIGNED_PAYLOAD;
  const payload = payloadModeOf(payloadHash);
  if (!payload) throw invalidPayloadHash();
  if (payload.mode !== UNSIGNED_PAYLOAD && payload.mode !== 'SIGNED') {
    throw new S3AuthError('InvalidRequest', `${payload.mode} is not supported with presigned URLs`);
  }
  checkSignedHeaders(parsed.signedHeaders, headers);

  return checkSignature({
    method,
    rawPath,
    canonicalQuery: canonicalQueryString(query, (name) => name === parsed.signatureParamName),
    headers,
    parsed,
    payloadHash,
    payload,
    amzDate,
    secret,
    presigned: true,
  });
}
