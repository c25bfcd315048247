// Signatures of aws-chunked bodies (SigV4 streaming), shared by the decoder and the encoder:
//   chunk:   AWS4-HMAC-SHA256-PAYLOAD \n amzDate \n scope \n previousSig \n sha256("") \n sha256(chunkData)
//   trailer: AWS4-HMAC-SHA256-TRAILER \n amzDate \n scope \n previousSig \n sha256(canonicalTrailers)
// The first previous signature is the request's (seed) signature; each chunk's signature, including the
// final empty chunk's, becomes the next one's previous; the trailer's previous is the final chunk's.
// Canonical trailers are `name:value\n` per trailer, lowercase names, in the order sent.

import { EMPTY_SHA256, sha256Hex, signatureHex } from './sigv4-crypto.js';

export interface ChunkSigningContext {
  /** kSigning of the request's scope (AuthResult.signingKey). */
  signingKey: Uint8Array;
  amzDate: string;
  scope: string;
}

export function chunkStringToSign(ctx: ChunkSigningContext, previousSignature: string, chunkSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

export function chunkSignature(ctx: ChunkSigningContext, previousSignature: string, chunkSha256Hex: string): string {
  return signatureHex(ctx.signingKey, chunkStringToSign(ctx, previousSignature, chunkSha256Hex));
}

export function canonicalTrailers(trailers: ReadonlyArray<readonly [string, string]>): string {
  return trailers.map(([name, value]) => `${name}:${value}\n`).join('');
}

export function trailerSignature(ctx: ChunkSigningContext, previousSignature: string, canonical: string): string {
  return signatureHex(
    ctx.signingKey,
    `AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previousSignature}\n${sha256Hex(canonical)}`,
  );
}
