// The hashing primitives of AWS Signature Version 4: SHA-256 hex digests, the HMAC-SHA256 signing-key
// chain (kDate → kRegion → kService → kSigning) with a bounded cache, and constant-time comparison of
// hex signatures.
// Contracts: a returned signing key is shared with the cache and must not be mutated; the cache holds at
// most SIGNING_KEY_CACHE_MAX entries (oldest evicted first) and is keyed by (secret, date, region,
// service), so a rotated secret never reuses an old key; signaturesEqual never exits early on content.

import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256 of the empty string, the payload hash of a bodiless request and of every chunk's "empty" line. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const SIGNING_KEY_CACHE_MAX = 256;

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object: cheaper per request.
const oneShot = (crypto as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: string | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Hex HMAC-SHA256 of a string to sign: the signature itself. */
export function signatureHex(signingKey: Uint8Array, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

const signingKeys = new Map<string, Buffer>();

/** kSigning for a credential scope. `date` is YYYYMMDD. */
export function deriveSigningKey(secretKey: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secretKey}`;
  const cached = signingKeys.get(cacheKey);
  if (cached) return cached;
  const kDate = hmacSha256('AWS4' + secretKey, date);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  const kSigning = hmacSha256(kService, 'aws4_request');
  if (signingKeys.size >= SIGNING_KEY_CACHE_MAX) {
    const oldest = signingKeys.keys().next().value;
    if (oldest !== undefined) signingKeys.delete(oldest);
  }
  signingKeys.set(cacheKey, kSigning);
  return kSigning;
}

/** For tests and key rotation. */
export function clearSigningKeyCache(): void {
  signingKeys.clear();
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

export function isSha256Hex(value: string): boolean {
  return HEX64.test(value);
}

/**
 * Compares a computed hex signature with one a client sent, in time independent of where they differ.
 * A provided value that is not 64 hex digits is simply unequal (its length is not a secret).
 */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  if (!HEX64.test(providedHex) || !HEX64.test(expectedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(providedHex, 'hex'));
}

/**
 * True when HMAC-SHA256(signingKey, stringToSign) equals `providedHex` (64 hex digits, as checked by the
 * parser): the raw digest is compared in constant time, with no hex string built for the expected value.
 */
export function signatureMatches(signingKey: Uint8Array, stringToSign: string, providedHex: string): boolean {
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest();
  const provided = Buffer.from(providedHex, 'hex');
  return provided.length === 32 && timingSafeEqual(expected, provided);
}
