// Raw HTTP for S3 tests that must send what an SDK would not: requests signed with the project's own
// client signer (src/s3/sigv4-sign.ts), then bent (wrong secret, skewed clock, tampered body…), sent with
// node:http so that every header and byte is under the test's control.
import { createHash } from 'node:crypto';
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { awsUriEncode } from '../../src/s3/aws-uri.js';
import { signRequest, type SignedRequest } from '../../src/s3/sigv4-sign.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from './s3-server.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  /** Already encoded request target, e.g. `/bucket/a%20key?uploads`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  agent?: Agent | false;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `/bucket/key` with the key encoded as AWS clients do (slashes kept). */
export function objectPath(bucket: string, key: string): string {
  return `/${bucket}/${awsUriEncode(key, true)}`;
}

/** Sends one request and reads the whole response. */
export function rawRequest(port: number, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent: r.agent ?? false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

export interface StreamTarget {
  port: number;
  agent?: Agent | false;
  accessKeyId?: string;
  secretKey?: string;
}

/**
 * PUTs `body` (a stream of `size` bytes) as UNSIGNED-PAYLOAD with a Content-Length, with backpressure:
 * the body is never held whole. Resolves with the response once the server answered.
 */
export function streamPut(t: StreamTarget, path: string, body: Readable, size: number): Promise<RawResponse> {
  const s = signHeaders({ method: 'PUT', path, port: t.port, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': String(size) }, accessKeyId: t.accessKeyId, secretKey: t.secretKey });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: t.port, method: 'PUT', path, headers: s.headers, agent: t.agent ?? false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(body, req).catch(reject);
  });
}

/** GETs `path` and hands the response stream to `consume` (which must read it to the end). */
export function streamGet<T>(t: StreamTarget, path: string, consume: (res: AsyncIterable<Buffer>, status: number) => Promise<T>): Promise<T> {
  const s = signHeaders({ method: 'GET', path, port: t.port, accessKeyId: t.accessKeyId, secretKey: t.secretKey });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: t.port, method: 'GET', path, headers: s.headers, agent: t.agent ?? false }, (res) => {
      consume(res, res.statusCode ?? 0).then(resolve, reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface SignOptions {
  method: string;
  path: string;
  port: number;
  headers?: Record<string, string>;
  /** x-amz-content-sha256; default: the SHA-256 of `body` (or of the empty body). */
  payloadHash?: string;
  body?: Buffer | string;
  date?: Date;
  accessKeyId?: string;
  secretKey?: string;
}

/** Headers for a SigV4-signed request (Authorization header form). */
export function signHeaders(o: SignOptions): SignedRequest {
  return signRequest({
    method: o.method,
    url: `http://127.0.0.1:${o.port}${o.path}`,
    headers: o.headers,
    payloadHash: o.payloadHash ?? sha256Hex(o.body ?? ''),
    accessKeyId: o.accessKeyId ?? ACCESS_KEY,
    secretKey: o.secretKey ?? SECRET_KEY,
    region: REGION,
    date: o.date ?? new Date(),
  });
}

/** Signs and sends. Content-Length is set from `body` unless the caller gave one. */
export function signedRequest(o: SignOptions & { agent?: Agent | false }): Promise<RawResponse> {
  const s = signHeaders(o);
  const headers = { ...s.headers };
  if (o.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  return rawRequest(o.port, { method: o.method, path: o.path, headers, body: o.body, agent: o.agent });
}

/** The text of `<name>` in an XML body (first occurrence), undefined if absent. */
export function xmlField(body: Buffer | string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(body.toString());
  return m?.[1];
}

/** The S3 error code of an error response body. */
export function errorCode(res: RawResponse): string | undefined {
  return xmlField(res.body, 'Code');
}
