// How a signed S3 request reaches the server: the one seam between S3LoadClient (what to send, signing,
// status checks, GET verification) and the HTTP client that sends it. Two clients keep one contract, so
// the same lanes, data, verification and latency histogram drive either and their figures compare:
//   raw       - http-pool.ts: our own keep-alive sockets, a prebuilt head, one write per small request
//               (the fast one: it leaves the CPU to the server under test)
//   node-http - node:http with a keep-alive http.Agent (node-http-transport.ts): what an ordinary Node
//               client does, and what issue 7's reference figures were measured with
// Contract of send(): resolves once the whole response has arrived, body pieces having gone to the sink
// `bodySink` picked for the status or been collected (up to COLLECT_BYTES_MAX) into `body`; fails with a
// TransportError; a request that fails on a reused keep-alive connection before any response byte
// arrived is sent once more on a fresh one.
import { headerValue, type HttpRequest } from './http-connection.js';
import { HttpPool } from './http-pool.js';
import { NodeHttpTransport } from './node-http-transport.js';

export const HTTP_CLIENTS = ['raw', 'node-http'] as const;
export type HttpClientKind = (typeof HTTP_CLIENTS)[number];

/** A request with its SigV4 values; the signed headers are host, x-amz-content-sha256, x-amz-date and `extra`. */
export interface SignedRequest {
  method: string;
  /** Canonical (already URI-encoded) path and query. */
  path: string;
  query: string;
  /** host[:port], as signed. */
  host: string;
  contentLength?: number;
  payloadHash: string;
  amzDate: string;
  authorization: string;
  extra?: ReadonlyArray<readonly [string, string]>;
  body?: HttpRequest['body'];
  bodySink?: (status: number) => ((piece: Buffer) => void) | undefined;
  /** Return the response's ETag header (UploadPart: CompleteMultipartUpload names each part by it). */
  wantEtag?: boolean;
}

export interface S3Response {
  status: number;
  /** The collected body (empty when a sink took it). */
  body: Buffer;
  bodyBytes: number;
  /** The ETag header, for a request with `wantEtag`. */
  etag?: string;
}

export interface Transport {
  send(req: SignedRequest): Promise<S3Response>;
  /** Requests sent a second time (a reused connection closed before any response byte), so far. */
  readonly retries: number;
  /** Closes idle connections; call when no request is in flight. */
  close(): void;
}

export interface TransportOptions {
  /** Host name or address to connect to (no brackets, no port). */
  hostname: string;
  port: number;
  connectionsMax: number;
  /** A request with no progress for this long fails with a timeout. */
  timeoutMs: number;
}

/** The raw client: formats the head once as text, so the connection writes head and small body together. */
class RawTransport implements Transport {
  private readonly pool: HttpPool;

  constructor(o: TransportOptions) {
    this.pool = new HttpPool({ host: o.hostname, port: o.port, connectionsMax: o.connectionsMax, timeoutMs: o.timeoutMs });
  }

  send(r: SignedRequest): Promise<S3Response> {
    let head = `${r.method} ${r.path}${r.query ? `?${r.query}` : ''} HTTP/1.1\r\nHost: ${r.host}\r\n`;
    if (r.contentLength !== undefined) head += `Content-Length: ${r.contentLength}\r\n`;
    head += `x-amz-content-sha256: ${r.payloadHash}\r\nx-amz-date: ${r.amzDate}\r\n`;
    if (r.extra) for (const [name, value] of r.extra) head += `${name}: ${value}\r\n`;
    head += `Authorization: ${r.authorization}\r\n\r\n`;
    const sent = this.pool.request({ head, body: r.body, bodySink: r.bodySink, noResponseBody: r.method === 'HEAD' });
    return r.wantEtag ? sent.then((res) => ({ ...res, etag: headerValue(res, 'etag') })) : sent;
  }

  get retries(): number {
    return this.pool.retries;
  }

  close(): void {
    this.pool.close();
  }
}

export function createTransport(kind: HttpClientKind, o: TransportOptions): Transport {
  return kind === 'node-http' ? new NodeHttpTransport(o) : new RawTransport(o);
}
