// A ColdStore in any S3-compatible bucket (Ceph RGW, MinIO, AWS S3, another sediment): path-style
// requests signed with SigV4 (this module's client signer, src/s3/sigv4-sign.ts), keep-alive HTTP. It
// lives in the S3 layer and is handed to the engine by whoever configures the cold tier, so the engine
// never imports HTTP. Blobs are whole-object PUTs with Content-MD5 (the server checks the bytes it
// stored) and ranged GETs whose length is checked. Network errors, timeouts and 5xx answers are
// SEDIMENT_COLD_UNAVAILABLE (retry later); nothing here ever deletes data on its own.
import { createHash } from 'node:crypto';
import { Agent, request, type IncomingMessage } from 'node:http';
import { ColdStoreRefusedError, checkBlobName, checkRange, notFound, unavailable, type ColdBlob, type ColdStore } from '../tier/cold-store.js';
import { SedimentError } from '../util/errors.js';
import { awsUriEncode } from './aws-uri.js';
import { signRequest } from './sigv4-sign.js';
import { childElements, childText, parseXml } from './xml.js';

export interface S3ColdStoreOptions {
  /** http://host:port (TLS is not supported here). */
  endpoint: string;
  bucket: string;
  /** Key prefix for every blob, e.g. "sediment/cold/" (default none). */
  prefix?: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** A request with no answer for this long is "unavailable" (default 30 s). */
  timeoutMs?: number;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export class S3ColdStore implements ColdStore {
  readonly description: string;
  private readonly url: URL;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly prefix: string;

  constructor(private readonly opts: S3ColdStoreOptions) {
    this.url = new URL(opts.endpoint);
    if (this.url.protocol !== 'http:') throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `cold tier endpoint must be http://, not ${this.url.protocol}`);
    this.prefix = opts.prefix ?? '';
    this.description = `s3 ${this.url.origin}/${opts.bucket}/${this.prefix}`;
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private path(name: string): string {
    return `/${awsUriEncode(this.opts.bucket, false)}/${awsUriEncode(this.prefix + name, true)}`;
  }

  private send(method: string, pathAndQuery: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Reply> {
    const signed = signRequest({
      method,
      url: `${this.url.origin}${pathAndQuery}`,
      headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      payloadHash: 'UNSIGNED-PAYLOAD',
      accessKeyId: this.opts.accessKeyId,
      secretKey: this.opts.secretAccessKey,
      region: this.opts.region ?? 'us-east-1',
      date: new Date(),
    });
    const what = `${method} ${this.url.origin}${pathAndQuery}`;
    return new Promise<Reply>((resolve, reject) => {
      const req = request(
        { host: this.url.hostname, port: Number(this.url.port || 80), method, path: pathAndQuery, headers: signed.headers, agent: this.agent, timeout: this.opts.timeoutMs ?? 30_000 },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (p: Buffer) => parts.push(p));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
          res.on('error', (err) => reject(unavailable(`${what}: ${err.message}`, err)));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(unavailable(`${what}: ${err.message}`, err)));
      req.end(body);
    });
  }

  /** 2xx passes; 404 is the caller's; 5xx and throttling are "unavailable"; a refusal of the store itself (credentials, no bucket) is ColdStoreRefusedError; anything else is an error. */
  private static check(r: Reply, what: string): void {
    if (r.status >= 200 && r.status < 300) return;
    const code = /<Code>([^<]*)<\/Code>/.exec(r.body.toString('utf8'))?.[1] ?? '';
    if (r.status >= 500 || r.status === 429 || code === 'SlowDown') throw unavailable(`${what}: HTTP ${r.status} ${code}`);
    if (r.status === 401 || r.status === 403 || code === 'NoSuchBucket') throw new ColdStoreRefusedError(`cold tier ${what}: HTTP ${r.status} ${code}`);
    throw new SedimentError('SEDIMENT_IO', `cold tier ${what}: HTTP ${r.status} ${code}`);
  }

  async put(name: string, data: Buffer): Promise<void> {
    checkBlobName(name);
    const md5 = createHash('md5').update(data).digest('base64');
    const r = await this.send('PUT', this.path(name), { 'content-md5': md5, 'content-type': 'application/octet-stream' }, data);
    S3ColdStore.check(r, `PUT ${name}`);
  }

  async readRange(name: string, offset: number, length: number): Promise<Buffer> {
    checkBlobName(name);
    checkRange(name, Number.MAX_SAFE_INTEGER, offset, length);
    if (length === 0) {
      const size = await this.stat(name);
      if (size === undefined) throw notFound(name);
      checkRange(name, size, offset, 0);
      return Buffer.alloc(0);
    }
    const r = await this.send('GET', this.path(name), { range: `bytes=${offset}-${offset + length - 1}` });
    // A missing bucket is not a missing blob: the store is misconfigured (or lost whole), not one segment.
    if (r.status === 404 && !r.body.toString('utf8').includes('<Code>NoSuchBucket</Code>')) throw notFound(name);
    if (r.status === 416) checkRange(name, (await this.stat(name)) ?? 0, offset, length);
    S3ColdStore.check(r, `GET ${name}`);
    if (r.status === 200) {
      // A server that ignores Range sends the whole blob.
      checkRange(name, r.body.length, offset, length);
      return r.body.subarray(offset, offset + length);
    }
    // S3 clamps a range that runs past the end: the total in Content-Range says whether it did.
    const total = /\/(\d+)$/.exec(String(r.headers['content-range'] ?? ''))?.[1];
    if (total !== undefined) checkRange(name, Number(total), offset, length);
    if (r.body.length !== length) throw new SedimentError('SEDIMENT_IO', `cold tier GET ${name}: asked for ${length} bytes, got ${r.body.length}`);
    return r.body;
  }

  async stat(name: string): Promise<number | undefined> {
    checkBlobName(name);
    const r = await this.send('HEAD', this.path(name));
    if (r.status === 404) return undefined;
    S3ColdStore.check(r, `HEAD ${name}`);
    return Number(r.headers['content-length']);
  }

  async list(prefix = ''): Promise<ColdBlob[]> {
    const out: ColdBlob[] = [];
    let token: string | undefined;
    do {
      const q = [`list-type=2`, `prefix=${awsUriEncode(this.prefix + prefix, false)}`, ...(token ? [`continuation-token=${awsUriEncode(token, false)}`] : [])].sort().join('&');
      const r = await this.send('GET', `/${awsUriEncode(this.opts.bucket, false)}?${q}`);
      S3ColdStore.check(r, `LIST ${this.description}${prefix}`);
      const doc = parseXml(r.body, { maxBytes: 16 * 1024 * 1024 });
      for (const c of childElements(doc, 'Contents')) {
        const key = childText(c, 'Key') ?? '';
        out.push({ name: key.slice(this.prefix.length), size: Number(childText(c, 'Size')) });
      }
      token = childText(doc, 'IsTruncated') === 'true' ? childText(doc, 'NextContinuationToken') : undefined;
    } while (token);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    const r = await this.send('DELETE', this.path(name));
    if (r.status === 404) return;
    S3ColdStore.check(r, `DELETE ${name}`);
  }
}
