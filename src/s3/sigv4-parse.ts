// Parsing of SigV4 credentials as clients send them: the `Authorization: AWS4-HMAC-SHA256 Credential=…,
// SignedHeaders=…, Signature=…` header and the presigned-URL query parameters (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature).
// Contracts: parsing checks shape only (no clock, no secrets, no region); every failure is an S3AuthError
// with the code S3 uses (AuthorizationHeaderMalformed for the header, AuthorizationQueryParametersError
// for the query). Header components may be separated by commas and/or whitespace in any order; the
// query parameter names are matched case-insensitively, and a repeated one is refused.

import { S3AuthError } from './s3-error.js';
import { SIGV4_ALGORITHM } from './sigv4-canonical.js';
import type { QueryPair } from './aws-uri.js';

export interface Credential {
  accessKeyId: string;
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
  terminator: string;
}

export interface ParsedSignature {
  credential: Credential;
  /** The SignedHeaders value exactly as sent: it is a line of the canonical request. */
  signedHeadersRaw: string;
  /** Lowercased names, in the order sent. */
  signedHeaders: string[];
  signature: string;
}

export interface ParsedPresigned extends ParsedSignature {
  algorithm: string;
  amzDate: string;
  expiresSec: number;
  /** X-Amz-Content-Sha256 when the URL carries one. */
  payloadHash: string | undefined;
  /** The query name of the signature parameter as sent, to leave out of the canonical query. */
  signatureParamName: string;
}

/** Longest presigned-URL lifetime S3 accepts: 7 days. */
export const PRESIGNED_EXPIRES_MAX_SEC = 604_800;

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

function headerMalformed(detail: string): S3AuthError {
  return new S3AuthError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${detail}`);
}

function queryError(detail: string): S3AuthError {
  return new S3AuthError('AuthorizationQueryParametersError', detail);
}

/** Splits `AK/YYYYMMDD/region/service/aws4_request`; the access key is everything before the last four. */
export function parseCredential(value: string): Credential | undefined {
  const parts = value.split('/');
  if (parts.length < 5) return undefined;
  const [date, region, service, terminator] = parts.slice(-4) as [string, string, string, string];
  const accessKeyId = parts.slice(0, -4).join('/');
  if (accessKeyId === '' || !/^\d{8}$/.test(date) || region === '' || service === '') return undefined;
  return { accessKeyId, date, region, service, terminator };
}

function parseSignedHeaders(raw: string): string[] | undefined {
  if (raw === '') return undefined;
  const names = raw.split(';').map((n) => n.toLowerCase());
  if (names.some((n) => !TOKEN.test(n)) || new Set(names).size !== names.length) return undefined;
  return names;
}

/** The algorithm token at the start of an Authorization header value (e.g. `AWS4-HMAC-SHA256`, `AWS`). */
export function authorizationScheme(value: string): string {
  const trimmed = value.trimStart();
  const space = trimmed.search(/\s/);
  return space < 0 ? trimmed : trimmed.slice(0, space);
}

/** Parses a SigV4 Authorization header whose scheme is AWS4-HMAC-SHA256. */
export function parseAuthorizationHeader(value: string): ParsedSignature {
  const trimmed = value.trim();
  if (authorizationScheme(trimmed) !== SIGV4_ALGORITHM) throw headerMalformed('unsupported algorithm.');
  const fields = new Map<string, string>();
  for (const token of trimmed.slice(SIGV4_ALGORITHM.length).split(/[\s,]+/)) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    if (eq < 0 || !['Credential', 'SignedHeaders', 'Signature'].includes(name) || fields.has(name)) {
      throw headerMalformed(`the authorization component "${token}" is malformed.`);
    }
    fields.set(name, token.slice(eq + 1));
  }
  const credentialRaw = fields.get('Credential');
  const signedHeadersRaw = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credentialRaw === undefined || signedHeadersRaw === undefined || signature === undefined) {
    throw headerMalformed(
      'the authorization header requires three components: Credential, SignedHeaders, and Signature.',
    );
  }
  const credential = parseCredential(credentialRaw);
  if (!credential) {
    throw headerMalformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const signedHeaders = parseSignedHeaders(signedHeadersRaw);
  if (!signedHeaders) throw headerMalformed(`the SignedHeaders component "${signedHeadersRaw}" is malformed.`);
  if (!SIGNATURE.test(signature)) throw headerMalformed(`the Signature component "${signature}" is malformed.`);
  return { credential, signedHeadersRaw, signedHeaders, signature: signature.toLowerCase() };
}

/** Finds a query parameter case-insensitively; a repeated one is an error. */
function queryParam(pairs: readonly QueryPair[], lowerName: string): { name: string; value: string } | undefined {
  let found: { name: string; value: string } | undefined;
  for (const [name, value] of pairs) {
    if (name.toLowerCase() !== lowerName) continue;
    if (found) throw queryError(`The ${name} parameter was given more than once.`);
    found = { name, value };
  }
  return found;
}

/** True when the query asks for SigV4 query-string authentication. */
export function hasPresignedParams(pairs: readonly QueryPair[]): boolean {
  return pairs.some(([n]) => {
    const lower = n.toLowerCase();
    return lower === 'x-amz-algorithm' || lower === 'x-amz-signature' || lower === 'x-amz-credential';
  });
}

export function parsePresignedQuery(pairs: readonly QueryPair[]): ParsedPresigned {
  const algorithm = queryParam(pairs, 'x-amz-algorithm')?.value;
  const credentialRaw = queryParam(pairs, 'x-amz-credential')?.value;
  const amzDate = queryParam(pairs, 'x-amz-date')?.value;
  const expiresRaw = queryParam(pairs, 'x-amz-expires')?.value;
  const signedHeadersRaw = queryParam(pairs, 'x-amz-signedheaders')?.value;
  const signatureParam = queryParam(pairs, 'x-amz-signature');
  const payloadHash = queryParam(pairs, 'x-amz-content-sha256')?.value;
  if (
    algorithm === undefined ||
    credentialRaw === undefined ||
    amzDate === undefined ||
    expiresRaw === undefined ||
    signedHeadersRaw === undefined ||
    signatureParam === undefined
  ) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, ' +
        'X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== SIGV4_ALGORITHM) throw queryError(`X-Amz-Algorithm only supports "${SIGV4_ALGORITHM}"`);
  const credential = parseCredential(credentialRaw);
  if (!credential) {
    throw queryError(
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; ' +
        'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  if (!/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw queryError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  }
  if (!/^-?\d{1,12}$/.test(expiresRaw)) throw queryError('X-Amz-Expires should be a number');
  const expiresSec = Number(expiresRaw);
  if (expiresSec < 0) throw queryError('X-Amz-Expires must be non-negative');
  if (expiresSec > PRESIGNED_EXPIRES_MAX_SEC) {
    throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${PRESIGNED_EXPIRES_MAX_SEC}`);
  }
  const signedHeaders = parseSignedHeaders(signedHeadersRaw);
  if (!signedHeaders) throw queryError(`X-Amz-SignedHeaders "${signedHeadersRaw}" is malformed.`);
  if (!SIGNATURE.test(signatureParam.value)) throw queryError('X-Amz-Signature is malformed.');
  return {
    algorithm,
    credential,
    amzDate,
    expiresSec,
    signedHeadersRaw,
    signedHeaders,
    signature: signatureParam.value.toLowerCase(),
    payloadHash,
    signatureParamName: signatureParam.name,
  };
}
