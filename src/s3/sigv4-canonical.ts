// The SigV4 canonical request and string to sign, exactly as S3 computes them:
//   Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//   "AWS4-HMAC-SHA256" \n Timestamp \n Scope \n hex(SHA256(CanonicalRequest))
// Contracts: header names are matched case-insensitively; a header value is trimmed and each run of
// whitespace collapsed to one space; several values of one header are joined with ',' (pass Node's
// `req.headersDistinct` to keep them apart; `req.headers` has already joined most with ', ', which
// S3 would have canonicalized as 'a,b' — a client that sends a header twice and signs it may then fail).
// A signed header that the request lacks canonicalizes as an empty value.

import { sha256Hex } from './sigv4-crypto.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const SIGV4_TERMINATOR = 'aws4_request';
export const S3_SERVICE = 's3';

export type HeaderInput = Record<string, string | string[] | undefined>;

/** Header values by lowercase name, in the order the caller gave them. */
export type HeaderValues = ReadonlyMap<string, readonly string[]>;

export function normalizeHeaders(headers: HeaderInput): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const list = out.get(lower) ?? [];
    if (Array.isArray(value)) list.push(...value);
    else list.push(value);
    out.set(lower, list);
  }
  return out;
}

/** The single value of a header (several values joined with ','), or undefined when absent. */
export function headerValue(headers: HeaderValues, lowerName: string): string | undefined {
  const values = headers.get(lowerName);
  return values === undefined ? undefined : values.join(',');
}

// A value needs folding if it has leading/trailing whitespace, a run of two, or any whitespace but " ".
const NEEDS_FOLDING = /^\s|\s$|\s\s|[^\S ]/;

function foldValue(v: string): string {
  return NEEDS_FOLDING.test(v) ? v.trim().replace(/\s+/g, ' ') : v;
}

export function canonicalHeaderValue(values: readonly string[]): string {
  return values.length === 1 ? foldValue(values[0]!) : values.map(foldValue).join(',');
}

/** CanonicalHeaders for the signed names, in the order given; each line ends with '\n'. */
export function canonicalHeaders(signedHeaders: readonly string[], headers: HeaderValues): string {
  let out = '';
  for (const name of signedHeaders) out += `${name}:${canonicalHeaderValue(headers.get(name) ?? [])}\n`;
  return out;
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  /** As produced by canonicalHeaders: one `name:value\n` line per signed header. */
  canonicalHeaders: string;
  signedHeaders: string;
  payloadHash: string;
}

export function canonicalRequest(p: CanonicalRequestParts): string {
  return `${p.method}\n${p.canonicalUri}\n${p.canonicalQuery}\n${p.canonicalHeaders}\n${p.signedHeaders}\n${p.payloadHash}`;
}

export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/${SIGV4_TERMINATOR}`;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

// Requests of one second share their X-Amz-Date: the last one parsed is remembered (as a time, not a
// Date, which callers could mutate).
let lastAmzDate = '';
let lastAmzTime = 0;

/** Parses `YYYYMMDD'T'HHMMSS'Z'`; undefined when malformed or not a real instant. */
export function parseAmzDate(value: string): Date | undefined {
  if (value === lastAmzDate) return new Date(lastAmzTime);
  const d = parseAmzDateUncached(value);
  if (d !== undefined) {
    lastAmzDate = value;
    lastAmzTime = d.getTime();
  }
  return d;
}

function parseAmzDateUncached(value: string): Date | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return date;
}

export function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
