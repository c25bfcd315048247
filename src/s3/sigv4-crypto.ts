// The hashing primitives of AWS Signature Version 4: SHA-256 hex digests, the HMAC-SHA256 signing-key
// chain (kDate → kRegion → kService → kSigning) with a bounded cache, and constant-time comparison of
// hex signatures.
// Contracts: a returned signing key is shared with the cache and must not be mutated; the cache holds at
// most SIGNING_KEY_CACHE_MAX entries (oldest evicted first) and is keyed by (secret, date, region,
// service), so a rotated secret never reuses an old key; signaturesEqual never exits early on content.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { oneShotHash } from '../util/one-shot-hash.js';

/** SHA-256 of the empty string, the payload hash of a bodiless request and of every chunk's "empty" line. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const SIGNING_KEY_CACHE_MAX = 256;

// crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object: cheaper per request.
const oneShot = oneShotHash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot !== undefined ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: string | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Hex HMAC-SHA256 of a string to sign: the signature itself. */
export function signatureHex(signingKey: Uint8Array, stringToSign: string): string {
  return keyedHmacSha256(signingKey, stringToSign).toString('hex');
}

const SHA256_BLOCK_BYTES = 64;

// crypto.hash with a Buffer result, where this Node has it (checked once below against createHmac).
const oneShotBuffer = oneShot as ((alg: string, data: Uint8Array, enc: 'buffer') => Buffer) | undefined;

/** A key's two padded blocks (RFC 2104): `inner` is K ⊕ ipad with room after it for the message, `outer` K ⊕ opad and the inner digest. */
interface HmacPads {
  inner: Buffer;
  outer: Buffer;
}

/** Per key object: signing keys come from deriveSigningKey's cache, so the same object signs many requests. */
const padsByKey = new WeakMap<Uint8Array, HmacPads>();

function padsFor(key: Uint8Array): HmacPads {
  let pads = padsByKey.get(key);
  if (pads === undefined) {
    pads = { inner: Buffer.alloc(SHA256_BLOCK_BYTES + 512), outer: Buffer.alloc(SHA256_BLOCK_BYTES + 32) };
    pads.inner.set(key);
    pads.outer.set(key);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) {
      pads.inner[i]! ^= 0x36;
      pads.outer[i]! ^= 0x5c;
    }
    padsByKey.set(key, pads);
  }
  return pads;
}

/** HMAC-SHA256 by RFC 2104's construction, SHA256((K ⊕ opad) ‖ SHA256((K ⊕ ipad) ‖ m)), with two one-shot hashes. */
function hmacByPads(key: Uint8Array, message: string, hash: NonNullable<typeof oneShotBuffer>): Buffer {
  const pads = padsFor(key);
  if (pads.inner.length < SHA256_BLOCK_BYTES + 3 * message.length) {
    const grown = Buffer.alloc(SHA256_BLOCK_BYTES + 3 * message.length);
    pads.inner.copy(grown, 0, 0, SHA256_BLOCK_BYTES);
    pads.inner = grown;
  }
  const n = pads.inner.write(message, SHA256_BLOCK_BYTES, 'utf8');
  hash('sha256', pads.inner.subarray(0, SHA256_BLOCK_BYTES + n), 'buffer').copy(pads.outer, SHA256_BLOCK_BYTES);
  return hash('sha256', pads.outer, 'buffer');
}

/** The one-shot path, if this Node has crypto.hash with Buffer output and it agrees with createHmac on RFC 4231's case 2. */
const fastHmac: typeof oneShotBuffer = (() => {
  if (oneShotBuffer === undefined) return undefined;
  try {
    const key = Buffer.from('Jefe');
    const msg = 'what do ya want for nothing?';
    const got = hmacByPads(key, msg, oneShotBuffer);
    return Buffer.isBuffer(got) && got.equals(createHmac('sha256', key).update(msg, 'utf8').digest()) ? oneShotBuffer : undefined;
  } catch {
    return undefined;
  }
})();

/** Whether keyedHmacSha256 takes the one-shot path here (tests check that it is the path they test). */
export const hmacOneShotActive = fastHmac !== undefined;

/**
 * HMAC-SHA256 of `message` (UTF-8) under a key of at most 64 bytes that is reused (a signing key): the same
 * bytes as createHmac. Every request's signature (and every aws-chunked chunk's) is one of these. A
 * createHmac per request cost the S3 server ~4 µs more CPU per 4 KiB GET than two one-shot SHA-256s over
 * the key's cached padded blocks (docs/PERFORMANCE.md, "Session 25"). The returned Buffer is the caller's.
 */
export function keyedHmacSha256(key: Uint8Array, message: string): Buffer {
  if (fastHmac === undefined || key.length > SHA256_BLOCK_BYTES) return createHmac('sha256', key).update(message, 'utf8').digest();
  return hmacByPads(key, message, fastHmac);
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
  const expected = keyedHmacSha256(signingKey, stringToSign);
  const provided = Buffer.from(providedHex, 'hex');
  return provided.length === 32 && timingSafeEqual(expected, provided);
}
