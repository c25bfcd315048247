// The S3 operations the load generator issues, path-style, signed with SigV4 (UNSIGNED-PAYLOAD for
// bodies), over either HTTP client of transport.ts (raw sockets or node:http). Each operation resolves
// with the payload bytes moved or throws an OperationError whose `kind` says what went wrong (HTTP
// status, wrong bytes, transport). GET bodies are checked byte by byte against the deterministic data as
// they arrive (data.ts), never buffered.
import { awsUriEncode } from '../s3/aws-uri.js';
import { formatDataSpec, ObjectVerifier, objectBody, objectPieces, PIECE_BYTES_MAX, type DataSpec } from './data.js';
import { TransportError, type TransportErrorKind } from './http-errors.js';
import { RequestSigner, UNSIGNED_PAYLOAD } from './signer.js';
import { createTransport, type HttpClientKind, type S3Response, type SignedRequest, type Transport } from './transport.js';

export type OperationErrorKind = TransportErrorKind | 'status' | 'verify';

export class OperationError extends Error {
  constructor(
    readonly kind: OperationErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OperationError';
  }
}

export interface S3Endpoint {
  /** http://host:port (no TLS). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface S3ClientOptions extends S3Endpoint {
  connectionsMax: number;
  timeoutMs: number;
  /** Default 'raw'. */
  httpClient?: HttpClientKind;
}

/** What an operation asks to send, before signing. */
type UnsignedRequest = Omit<SignedRequest, 'host' | 'payloadHash' | 'amzDate' | 'authorization'>;

/** Bodies up to this size are handed to the HTTP client as one buffer (the raw one writes it with the head); larger ones stream in pieces. */
const SINGLE_WRITE_BYTES_MAX = 256 << 10;
export const META_HEADER = 'x-amz-meta-loadgen';

export interface ListPage {
  keys: string[];
  nextToken: string | undefined;
}

function s3ErrorCode(res: S3Response): string {
  const m = /<Code>([^<]*)<\/Code>/.exec(res.body.toString('utf8'));
  return m ? m[1]! : '';
}

function decodeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    }
  });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export class S3LoadClient {
  private readonly transport: Transport;
  private readonly signer: RequestSigner;
  private readonly host: string;

  constructor(opts: S3ClientOptions) {
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'http:') throw new RangeError(`only http:// endpoints are supported, not ${url.protocol}`);
    this.host = url.host;
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.transport = createTransport(opts.httpClient ?? 'raw', { hostname, port: Number(url.port || 80), connectionsMax: opts.connectionsMax, timeoutMs: opts.timeoutMs });
    this.signer = new RequestSigner({ accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey, region: opts.region });
  }

  close(): void {
    this.transport.close();
  }

  /** Requests the HTTP client sent a second time because a reused connection closed before any answer. */
  get retries(): number {
    return this.transport.retries;
  }

  private async send(req: UnsignedRequest): Promise<S3Response> {
    const { amzDate, authorization } = this.signer.sign(req.method, req.path, req.query, this.host, UNSIGNED_PAYLOAD, req.extra);
    try {
      return await this.transport.send({ ...req, host: this.host, payloadHash: UNSIGNED_PAYLOAD, amzDate, authorization });
    } catch (err) {
      if (err instanceof TransportError) throw new OperationError(err.kind, err.message, { cause: err });
      throw err;
    }
  }

  private static expectStatus(res: S3Response, what: string, ok: (status: number) => boolean): void {
    if (!ok(res.status)) {
      const code = s3ErrorCode(res);
      throw new OperationError('status', `${what}: HTTP ${res.status}${code ? ` ${code}` : ''}`);
    }
  }

  /**
   * Creates the bucket; an existing bucket owned by the caller is fine, and so is one the caller may use
   * but not create (CreateBucket refused with 403 while HeadBucket answers 200: keys limited to a bucket).
   */
  async createBucket(bucket: string): Promise<void> {
    const path = `/${awsUriEncode(bucket, false)}`;
    const res = await this.send({ method: 'PUT', path, query: '', contentLength: 0 });
    if (res.status === 409 && s3ErrorCode(res) === 'BucketAlreadyOwnedByYou') return;
    if (res.status === 403 && (await this.send({ method: 'HEAD', path, query: '' })).status === 200) return;
    S3LoadClient.expectStatus(res, `create bucket ${bucket}`, (s) => s === 200);
  }

  /** HeadBucket: true when the bucket exists (200), false when it does not (404); any other answer throws. */
  async bucketExists(bucket: string): Promise<boolean> {
    const res = await this.send({ method: 'HEAD', path: `/${awsUriEncode(bucket, false)}`, query: '' });
    if (res.status === 404) return false;
    S3LoadClient.expectStatus(res, `HEAD bucket ${bucket}`, (s) => s === 200);
    return true;
  }

  /** PUTs object `key` with the deterministic bytes of `spec`. Resolves with the bytes sent. */
  async putObject(bucket: string, key: string, size: number, spec: DataSpec): Promise<number> {
    const path = `/${awsUriEncode(bucket, false)}/${awsUriEncode(key, true)}`;
    const body = size <= SINGLE_WRITE_BYTES_MAX ? objectBody(spec, key, size) : () => objectPieces(spec, key, size, PIECE_BYTES_MAX);
    const res = await this.send({ method: 'PUT', path, query: '', contentLength: size, extra: [[META_HEADER, formatDataSpec(spec)]], body });
    S3LoadClient.expectStatus(res, `PUT ${key}`, (s) => s === 200);
    return size;
  }

  /** GETs object `key`; with `verify`, every byte is compared with what `spec` says it must be. */
  async getObject(bucket: string, key: string, size: number, spec: DataSpec, verify: boolean): Promise<number> {
    const path = `/${awsUriEncode(bucket, false)}/${awsUriEncode(key, true)}`;
    const verifier = verify ? new ObjectVerifier(spec, key, size) : undefined;
    const res = await this.send({
      method: 'GET',
      path,
      query: '',
      bodySink: (status) => (status !== 200 ? undefined : verifier ? (piece) => verifier.update(piece) : () => undefined),
    });
    S3LoadClient.expectStatus(res, `GET ${key}`, (s) => s === 200);
    const problem = verifier?.finish();
    if (problem !== undefined) throw new OperationError('verify', problem);
    if (res.bodyBytes !== size) throw new OperationError('verify', `${key}: body has ${res.bodyBytes} bytes, expected ${size}`);
    return size;
  }

  /**
   * Uploads object `key` (the same bytes putObject would send) as a multipart upload: CreateMultipartUpload,
   * the parts of `partBytes` (the last one shorter), `partsInFlight` at a time, CompleteMultipartUpload
   * naming each part by the ETag it got. A failure after the upload was created aborts it (best effort)
   * and throws. Resolves with the bytes sent.
   */
  async putMultipart(bucket: string, key: string, size: number, partBytes: number, spec: DataSpec, partsInFlight = 1): Promise<number> {
    const path = `/${awsUriEncode(bucket, false)}/${awsUriEncode(key, true)}`;
    const created = await this.send({ method: 'POST', path, query: 'uploads=', contentLength: 0, extra: [[META_HEADER, formatDataSpec(spec)]] });
    S3LoadClient.expectStatus(created, `CreateMultipartUpload ${key}`, (s) => s === 200);
    const id = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body.toString('utf8'));
    if (!id) throw new OperationError('status', `CreateMultipartUpload ${key}: no UploadId in the answer`);
    const uploadId = decodeXml(id[1]!);
    const idQuery = `uploadId=${awsUriEncode(uploadId, false)}`;
    try {
      const parts = Math.max(1, Math.ceil(size / partBytes));
      const etags = new Array<string>(parts);
      let next = 1;
      let failed = false;
      const sender = async (): Promise<void> => {
        for (let n = next++; n <= parts && !failed; n = next++) {
          const from = (n - 1) * partBytes;
          const len = Math.min(partBytes, size - from);
          try {
            const res = await this.send({
              method: 'PUT', path, query: `partNumber=${n}&${idQuery}`, contentLength: len, wantEtag: true,
              body: () => objectPieces(spec, key, len, PIECE_BYTES_MAX, from),
            });
            S3LoadClient.expectStatus(res, `UploadPart ${n} of ${key}`, (s) => s === 200);
            if (res.etag === undefined) throw new OperationError('status', `UploadPart ${n} of ${key}: no ETag in the answer`);
            etags[n - 1] = res.etag;
          } catch (err) {
            failed = true; // the other senders start no new part
            throw err;
          }
        }
      };
      // Every sender finishes its part before the upload is completed or aborted; the first failure wins.
      const results = await Promise.allSettled(Array.from({ length: Math.min(partsInFlight, parts) }, sender));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      const xml = Buffer.from(
        `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(e)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
      );
      const done = await this.send({ method: 'POST', path, query: idQuery, contentLength: xml.length, body: xml });
      S3LoadClient.expectStatus(done, `CompleteMultipartUpload ${key}`, (s) => s === 200);
      // S3 may answer 200 and still fail the completion, in the body.
      if (!done.body.toString('utf8').includes('<CompleteMultipartUploadResult')) {
        const code = s3ErrorCode(done);
        throw new OperationError('status', `CompleteMultipartUpload ${key}: HTTP 200 with ${code ? `error ${code}` : 'no result'}`);
      }
      return size;
    } catch (err) {
      await this.send({ method: 'DELETE', path, query: idQuery }).catch(() => undefined);
      throw err;
    }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const path = `/${awsUriEncode(bucket, false)}/${awsUriEncode(key, true)}`;
    const res = await this.send({ method: 'DELETE', path, query: '' });
    S3LoadClient.expectStatus(res, `DELETE ${key}`, (s) => s === 204 || s === 200);
  }

  /** One ListObjectsV2 page (keys only). */
  async listPage(bucket: string, prefix: string, maxKeys: number, token: string | undefined): Promise<ListPage> {
    const pairs: Array<[string, string]> = [['list-type', '2'], ['max-keys', String(maxKeys)], ['prefix', prefix]];
    if (token !== undefined) pairs.push(['continuation-token', token]);
    const query = pairs
      .map(([n, v]) => [awsUriEncode(n, false), awsUriEncode(v, false)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([n, v]) => `${n}=${v}`)
      .join('&');
    const res = await this.send({ method: 'GET', path: `/${awsUriEncode(bucket, false)}`, query });
    S3LoadClient.expectStatus(res, `LIST ${prefix}`, (s) => s === 200);
    const xml = res.body.toString('utf8');
    const keys = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeXml(m[1]!));
    const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
    if (truncated && !next) throw new OperationError('status', 'LIST: truncated page without NextContinuationToken');
    return { keys, nextToken: truncated ? decodeXml(next![1]!) : undefined };
  }
}
