// The node-http client of transport.ts: http.request over a keep-alive http.Agent whose maxSockets is
// the number of lanes of this thread, so each lane has one request in flight on its own connection, as
// with the raw client. It is deliberately what an ordinary Node client does and nothing more: headers as
// an object, a small body with end(buffer), a large one piped from the data pool's views (backpressure
// by stream.pipeline), the response read from 'data' events. Its cost per request is the point: it is
// the client the reference figures of issue 7 were stated for.
import * as http from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { COLLECT_BYTES_MAX } from './http-connection.js';
import { TransportError } from './http-errors.js';
import type { S3Response, SignedRequest, Transport, TransportOptions } from './transport.js';

/** node:http's errors by kind: HPE_* codes come from its response parser. */
function transportError(err: Error & { code?: string }, retryable: boolean): TransportError {
  if (err instanceof TransportError) return err;
  const kind = err.code?.startsWith('HPE_') ? 'protocol' : 'network';
  return new TransportError(kind, err.message, retryable && kind === 'network', { cause: err });
}

export class NodeHttpTransport implements Transport {
  private readonly agent: http.Agent;
  retries = 0;

  constructor(private readonly o: TransportOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: o.connectionsMax, maxFreeSockets: o.connectionsMax });
  }

  async send(r: SignedRequest): Promise<S3Response> {
    try {
      return await this.attempt(r);
    } catch (err) {
      // The server closed an idle keep-alive connection as the request went out: safe to send again, once.
      if (!(err instanceof TransportError) || !err.retryable) throw err;
      this.retries++;
      return this.attempt(r);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private attempt(r: SignedRequest): Promise<S3Response> {
    const headers: http.OutgoingHttpHeaders = { host: r.host, 'x-amz-content-sha256': r.payloadHash, 'x-amz-date': r.amzDate, authorization: r.authorization };
    if (r.contentLength !== undefined) headers['content-length'] = r.contentLength;
    if (r.extra) for (const [name, value] of r.extra) headers[name] = value;
    return new Promise<S3Response>((resolve, reject) => {
      let settled = false;
      let responded = false;
      const req = http.request({ agent: this.agent, host: this.o.hostname, port: this.o.port, method: r.method, path: r.query ? `${r.path}?${r.query}` : r.path, headers });
      const fail = (err: TransportError): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(err);
      };
      req.setTimeout(this.o.timeoutMs, () => fail(new TransportError('timeout', `no progress for ${this.o.timeoutMs} ms`)));
      req.on('error', (err) => fail(transportError(err, req.reusedSocket && !responded)));
      req.on('response', (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        const sink = r.bodySink?.(status);
        const collected: Buffer[] = [];
        let collectedBytes = 0;
        let bodyBytes = 0;
        res.on('data', (piece: Buffer) => {
          bodyBytes += piece.length;
          if (sink) sink(piece);
          else if (collectedBytes < COLLECT_BYTES_MAX) {
            collected.push(piece);
            collectedBytes += piece.length;
          }
        });
        res.on('error', (err) => fail(transportError(err, false)));
        res.on('close', () => {
          if (!res.complete) fail(new TransportError('network', 'connection closed before the end of the response'));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const body = collected.length === 1 ? collected[0]! : Buffer.concat(collected);
          resolve(r.wantEtag ? { status, body, bodyBytes, etag: res.headers.etag } : { status, body, bodyBytes });
        });
      });
      if (r.body === undefined) req.end();
      else if (Buffer.isBuffer(r.body)) req.end(r.body);
      else pipeline(Readable.from(r.body()), req, (err) => err && fail(transportError(err, false)));
    });
  }
}
