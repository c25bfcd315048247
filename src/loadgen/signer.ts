// SigV4 signing on the load generator's hot path. The result is exactly what src/s3/sigv4-sign.ts
// (signRequest) produces for the same request (a test holds them together), but built for thousands of
// requests per second: the signing key is derived once per day, x-amz-date is formatted once per second,
// and the canonical request is one string template (no header maps, no sorting of fixed names).
// Contracts: `canonicalUri` and `canonicalQuery` are already in canonical form (paths made with
// awsUriEncode(key, true); query pairs encoded and sorted by the caller); `extra` headers have lowercase
// names that sort after x-amz-date (x-amz-meta-*, x-amz-tagging...) and are given sorted by name.
import * as crypto from 'node:crypto';
import { deriveSigningKey } from '../s3/sigv4-crypto.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** crypto.hash (Node ≥ 20.12) is a one-shot digest without a Hash object: a third cheaper. */
const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

export interface SignerCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface SignedHead {
  amzDate: string;
  authorization: string;
}

export class RequestSigner {
  private second = -1;
  private amzDate = '';
  private day = '';
  private scope = '';
  private credentialPrefix = '';
  private signingKey: Buffer = Buffer.alloc(0);

  constructor(
    private readonly creds: SignerCredentials,
    private readonly nowMs: () => number = Date.now,
  ) {}

  private refreshClock(): void {
    const second = Math.floor(this.nowMs() / 1000);
    if (second === this.second) return;
    this.second = second;
    const iso = new Date(second * 1000).toISOString(); // 2026-01-01T00:00:00.000Z
    this.amzDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    const day = this.amzDate.slice(0, 8);
    if (day !== this.day) {
      this.day = day;
      this.scope = `${day}/${this.creds.region}/s3/aws4_request`;
      this.credentialPrefix = `AWS4-HMAC-SHA256 Credential=${this.creds.accessKeyId}/${this.scope}, SignedHeaders=`;
      this.signingKey = deriveSigningKey(this.creds.secretAccessKey, day, this.creds.region, 's3');
    }
  }

  /**
   * Signs a request whose signed headers are host, x-amz-content-sha256, x-amz-date and `extra`.
   * The caller sends exactly those headers with these values (plus unsigned ones such as Content-Length).
   */
  sign(
    method: string,
    canonicalUri: string,
    canonicalQuery: string,
    host: string,
    payloadHash: string = UNSIGNED_PAYLOAD,
    extra?: ReadonlyArray<readonly [string, string]>,
  ): SignedHead {
    this.refreshClock();
    let headerLines = `host:${host}\nx-amz-content-sha256:${payloadHash}\nx-amz-date:${this.amzDate}\n`;
    let signed = 'host;x-amz-content-sha256;x-amz-date';
    if (extra) {
      for (const [name, value] of extra) {
        headerLines += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
        signed += `;${name}`;
      }
    }
    const canonical = `${method}\n${canonicalUri}\n${canonicalQuery}\n${headerLines}\n${signed}\n${payloadHash}`;
    const hashed = sha256Hex(canonical);
    const toSign = `AWS4-HMAC-SHA256\n${this.amzDate}\n${this.scope}\n${hashed}`;
    const signature = crypto.createHmac('sha256', this.signingKey).update(toSign).digest('hex');
    return { amzDate: this.amzDate, authorization: `${this.credentialPrefix}${signed}, Signature=${signature}` };
  }
}
