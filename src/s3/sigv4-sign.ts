// Client-side SigV4 signing for S3: signRequest (Authorization header) and presignUrl (query string).
// Used by tests, the bench load generator and the S3 cold-tier client; it is the exact mirror of
// sigv4.ts, built from the same canonicalization code.
// Contracts: `url` must already be percent-encoded the way it will be sent (use awsUriEncode on keys);
// the canonical URI is computed from it as the server does. Every header passed in is sent and signed,
// except hop-by-hop ones and user-agent; host, x-amz-date and x-amz-content-sha256 are added. The
// returned header names are lowercase.

import { assert } from '../util/errors.js';
import { awsUriEncode, canonicalQueryString, canonicalUriCandidates, parseRawQuery, splitRawUrl } from './aws-uri.js';
import {
  S3_SERVICE,
  SIGV4_ALGORITHM,
  canonicalHeaders,
  canonicalRequest,
  credentialScope,
  formatAmzDate,
  normalizeHeaders,
  stringToSign,
} from './sigv4-canonical.js';
import { EMPTY_SHA256, deriveSigningKey, signatureHex } from './sigv4-crypto.js';
import { PRESIGNED_EXPIRES_MAX_SEC } from './sigv4-parse.js';

const UNSIGNABLE = new Set([
  'authorization',
  'connection',
  'expect',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

interface Credentials {
  accessKeyId: string;
  secretKey: string;
  region: string;
  /** The signing time; also the value of x-amz-date. */
  date: Date;
  service?: string;
}

export interface SignRequestInput extends Credentials {
  method: string;
  /** `http://host:port/path?query` or `/path?query` with a `host` header. */
  url: string;
  headers?: Record<string, string>;
  /** x-amz-content-sha256: hex SHA-256 of the body, UNSIGNED-PAYLOAD or a STREAMING-* mode. Default: empty body. */
  payloadHash?: string;
}

export interface SignedRequest {
  /** Every header to send, lowercase names, including host and authorization. */
  headers: Record<string, string>;
  authorization: string;
  signature: string;
  signingKey: Buffer;
  scope: string;
  amzDate: string;
  canonicalRequest: string;
  stringToSign: string;
}

function hostOf(url: string, headers: Map<string, string[]>): string {
  const given = headers.get('host');
  if (given) return given.join(',');
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  assert(m !== null, 'signing an origin-form URL needs a host header');
  return new URL(url).host;
}

function sign(
  creds: Credentials,
  method: string,
  url: string,
  headers: Map<string, string[]>,
  payloadHash: string,
  excludeFromQuery?: string,
): { signature: string; signingKey: Buffer; scope: string; amzDate: string; canonical: string; toSign: string; signed: string } {
  const service = creds.service ?? S3_SERVICE;
  const amzDate = formatAmzDate(creds.date);
  const day = amzDate.slice(0, 8);
  const { rawPath, rawQuery } = splitRawUrl(url);
  const names = [...headers.keys()].filter((n) => !UNSIGNABLE.has(n)).sort();
  const signed = names.join(';');
  const canonical = canonicalRequest({
    method,
    canonicalUri: canonicalUriCandidates(rawPath)[0]!,
    canonicalQuery: canonicalQueryString(parseRawQuery(rawQuery), (n) => n === excludeFromQuery),
    canonicalHeaders: canonicalHeaders(names, headers),
    signedHeaders: signed,
    payloadHash,
  });
  const scope = credentialScope(day, creds.region, service);
  const toSign = stringToSign(amzDate, scope, canonical);
  const signingKey = deriveSigningKey(creds.secretKey, day, creds.region, service);
  return { signature: signatureHex(signingKey, toSign), signingKey, scope, amzDate, canonical, toSign, signed };
}

export function signRequest(input: SignRequestInput): SignedRequest {
  const headers = normalizeHeaders(input.headers ?? {});
  headers.delete('authorization');
  const payloadHash = input.payloadHash ?? EMPTY_SHA256;
  headers.set('host', [hostOf(input.url, headers)]);
  headers.set('x-amz-date', [formatAmzDate(input.date)]);
  headers.set('x-amz-content-sha256', [payloadHash]);
  const s = sign(input, input.method, input.url, headers, payloadHash);
  const authorization =
    `${SIGV4_ALGORITHM} Credential=${input.accessKeyId}/${s.scope}, ` +
    `SignedHeaders=${s.signed}, Signature=${s.signature}`;
  const out: Record<string, string> = {};
  for (const [name, values] of headers) out[name] = values.join(',');
  out['authorization'] = authorization;
  return {
    headers: out,
    authorization,
    signature: s.signature,
    signingKey: s.signingKey,
    scope: s.scope,
    amzDate: s.amzDate,
    canonicalRequest: s.canonical,
    stringToSign: s.toSign,
  };
}

export interface PresignUrlInput extends Credentials {
  method: string;
  /** `http://host:port/path?query`, or `/path?query` with a `host` header. */
  url: string;
  expiresSec: number;
  /** Headers the requester will send and that are signed (host is added). */
  headers?: Record<string, string>;
  /** Adds X-Amz-Content-Sha256 (hex SHA-256 of the body the URL allows). Default: UNSIGNED-PAYLOAD. */
  payloadHash?: string;
  /** Added as X-Amz-Security-Token (signed, not interpreted by sediment). */
  securityToken?: string;
}

/** Returns `url` with the SigV4 query parameters appended, X-Amz-Signature last. */
export function presignUrl(input: PresignUrlInput): string {
  assert(
    Number.isInteger(input.expiresSec) && input.expiresSec >= 0 && input.expiresSec <= PRESIGNED_EXPIRES_MAX_SEC,
    'expiresSec must be an integer in 0..604800',
  );
  const headers = normalizeHeaders(input.headers ?? {});
  headers.set('host', [hostOf(input.url, headers)]);
  const service = input.service ?? S3_SERVICE;
  const amzDate = formatAmzDate(input.date);
  const names = [...headers.keys()].filter((n) => !UNSIGNABLE.has(n)).sort();
  const params: [string, string][] = [
    ['X-Amz-Algorithm', SIGV4_ALGORITHM],
    ['X-Amz-Credential', `${input.accessKeyId}/${credentialScope(amzDate.slice(0, 8), input.region, service)}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(input.expiresSec)],
    ['X-Amz-SignedHeaders', names.join(';')],
  ];
  if (input.payloadHash !== undefined) params.push(['X-Amz-Content-Sha256', input.payloadHash]);
  if (input.securityToken !== undefined) params.push(['X-Amz-Security-Token', input.securityToken]);
  const extra = params.map(([n, v]) => `${n}=${awsUriEncode(v, false)}`).join('&');
  const base = input.url.includes('?') ? `${input.url}&${extra}` : `${input.url}?${extra}`;
  const s = sign(input, input.method, base, headers, input.payloadHash ?? 'UNSIGNED-PAYLOAD');
  return `${base}&X-Amz-Signature=${s.signature}`;
}
