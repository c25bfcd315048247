// One keep-alive HTTP/1.1 client connection on a raw TCP socket: one request at a time, no pipelining.
// It exists because node:http's client spends most of a core on 3,000 small requests per second; this
// one writes a prebuilt head and the body in one writev and parses only what a load generator needs
// (status, headers, Content-Length / chunked / read-until-close bodies).
// Contracts:
// - request() resolves once the whole response has arrived; body pieces go to the sink that `bodySink`
//   picked for the status, or are collected up to COLLECT_BYTES_MAX.
// - A failure rejects with a TransportError; the connection is then dead (`alive` false) and is never
//   reused, and so is a connection whose response said `Connection: close` or came before the request
//   body was fully sent.
// - Request bodies given as a piece factory are written piece by piece with backpressure.
import { connect, type Socket } from 'node:net';
import { TransportError } from './http-errors.js';

/** Bodies of error responses and listings are kept up to this size. */
export const COLLECT_BYTES_MAX = 8 << 20;
/** A response head larger than this is a protocol error. */
export const RESPONSE_HEAD_BYTES_MAX = 64 << 10;

export interface HttpRequest {
  /** Request line and headers, each line ending in CRLF, then the empty line. Latin-1. */
  head: string;
  /** A buffer, or a factory of body pieces (called again if the request is retried). */
  body?: Buffer | (() => Iterable<Buffer>);
  /** HEAD: the response carries no body whatever its headers say. */
  noResponseBody?: boolean;
  /**
   * Called when the response head arrives: returns where the body goes (each piece is a view valid only
   * during the call), or undefined to have it collected (up to COLLECT_BYTES_MAX) into `body`.
   */
  bodySink?: (status: number, headers: Record<string, string>) => ((piece: Buffer) => void) | undefined;
}

export interface HttpResponse {
  status: number;
  /** Lowercase names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The collected body (empty when a sink took it). */
  body: Buffer;
  bodyBytes: number;
}

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailer,
  UntilClose,
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

interface Pending {
  req: HttpRequest;
  resolve: (r: HttpResponse) => void;
  reject: (e: TransportError) => void;
  status: number;
  headers: Record<string, string>;
  sink: ((piece: Buffer) => void) | undefined;
  collected: Buffer[];
  collectedBytes: number;
  bodyBytes: number;
  sawResponseBytes: boolean;
  bodySent: boolean;
}

export class HttpConnection {
  private readonly socket: Socket;
  private state = State.Idle;
  private current: Pending | undefined;
  private headBuf: Buffer | undefined;
  private remaining = 0;
  private line = '';
  private drainWaiter: (() => void) | undefined;
  private closing = false;
  /** Requests completed on this connection. */
  completed = 0;
  alive = true;

  constructor(host: string, port: number, timeoutMs: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.setTimeout(timeoutMs, () => this.fail(new TransportError('timeout', `no progress for ${timeoutMs} ms`)));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => this.wakeWriter());
    this.socket.on('error', (err) => this.fail(new TransportError('network', err.message, false, { cause: err })));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.fail(new TransportError('network', 'connection closed')));
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    if (!this.alive || this.current) return Promise.reject(new TransportError('protocol', 'connection is not available'));
    const promise = new Promise<HttpResponse>((resolve, reject) => {
      this.current = { req, resolve, reject, status: 0, headers: {}, sink: undefined, collected: [], collectedBytes: 0, bodyBytes: 0, sawResponseBytes: false, bodySent: false };
    });
    this.state = State.Head;
    this.headBuf = undefined;
    // A socket still connecting queues what is written to it.
    this.send(req).catch((err: unknown) => this.fail(new TransportError('protocol', `request body failed: ${String(err)}`, false, { cause: err })));
    return promise;
  }

  close(): void {
    this.alive = false;
    this.socket.destroy();
  }

  private async send(req: HttpRequest): Promise<void> {
    const s = this.socket;
    const pending = this.current!;
    if (req.body === undefined || Buffer.isBuffer(req.body)) {
      s.cork();
      s.write(req.head, 'latin1');
      if (req.body && req.body.length > 0) s.write(req.body);
      s.uncork();
      pending.bodySent = true;
      return;
    }
    s.write(req.head, 'latin1');
    for (const piece of req.body()) {
      if (this.current !== pending || !this.alive) return; // answered early, or failed
      if (!s.write(piece)) await new Promise<void>((resolve) => (this.drainWaiter = resolve));
    }
    pending.bodySent = true;
  }

  private wakeWriter(): void {
    const w = this.drainWaiter;
    this.drainWaiter = undefined;
    w?.();
  }

  private fail(err: TransportError): void {
    if (!this.alive && !this.current) return;
    this.alive = false;
    this.wakeWriter();
    const pending = this.current;
    this.current = undefined;
    this.state = State.Idle;
    this.socket.destroy();
    if (pending) {
      const retryable = err.kind === 'network' && !pending.sawResponseBytes && this.completed > 0;
      pending.reject(retryable ? new TransportError(err.kind, err.message, true, { cause: err }) : err);
    }
  }

  private onEnd(): void {
    if (this.state === State.UntilClose) {
      this.closing = true;
      this.finish();
    }
    this.fail(new TransportError('network', 'connection closed by the server'));
  }

  private deliver(pending: Pending, piece: Buffer): void {
    pending.bodyBytes += piece.length;
    if (pending.sink) {
      pending.sink(piece);
    } else if (pending.collectedBytes < COLLECT_BYTES_MAX) {
      pending.collected.push(piece);
      pending.collectedBytes += piece.length;
    }
  }

  private finish(): void {
    const pending = this.current;
    if (!pending) return;
    this.current = undefined;
    this.state = State.Idle;
    this.completed++;
    if (this.closing || !pending.bodySent || /\bclose\b/i.test(pending.headers['connection'] ?? '')) {
      this.alive = false;
      this.wakeWriter();
      this.socket.destroy();
    }
    pending.resolve({
      status: pending.status,
      headers: pending.headers,
      body: pending.collected.length === 1 ? pending.collected[0]! : Buffer.concat(pending.collected),
      bodyBytes: pending.bodyBytes,
    });
  }

  private protocolError(message: string): void {
    this.fail(new TransportError('protocol', message));
  }

  private onData(chunk: Buffer): void {
    const pending = this.current;
    if (!pending) {
      this.protocolError('bytes from the server while no request was in flight');
      return;
    }
    pending.sawResponseBytes = true;
    let buf = chunk;
    while (buf.length > 0 && this.current === pending) {
      switch (this.state) {
        case State.Head: {
          if (this.headBuf) buf = Buffer.concat([this.headBuf, buf]);
          const end = buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (buf.length > RESPONSE_HEAD_BYTES_MAX) return this.protocolError('response head too large');
            this.headBuf = buf;
            return;
          }
          this.headBuf = undefined;
          if (!this.parseHead(pending, buf.toString('latin1', 0, end))) return;
          buf = buf.subarray(end + 4);
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length);
          this.deliver(pending, n === buf.length ? buf : buf.subarray(0, n));
          this.remaining -= n;
          buf = buf.subarray(n);
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.UntilClose:
          this.deliver(pending, buf);
          return;
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length);
          this.deliver(pending, buf.subarray(0, n));
          this.remaining -= n;
          buf = buf.subarray(n);
          if (this.remaining === 0) {
            this.state = State.ChunkEnd;
            this.line = '';
          }
          break;
        }
        case State.ChunkSize:
        case State.ChunkEnd:
        case State.Trailer: {
          const nl = buf.indexOf(10);
          const text = buf.toString('latin1', 0, nl < 0 ? buf.length : nl);
          this.line += text;
          if (this.line.length > 8192) return this.protocolError('chunk line too long');
          if (nl < 0) return;
          buf = buf.subarray(nl + 1);
          const line = this.line.replace(/\r$/, '');
          this.line = '';
          this.onChunkLine(line);
          break;
        }
        case State.Idle:
          return this.protocolError('unexpected bytes after the response');
      }
    }
    if (buf.length > 0 && this.current !== pending && this.alive) this.protocolError('unexpected bytes after the response');
  }

  private onChunkLine(line: string): void {
    if (this.state === State.ChunkEnd) {
      if (line !== '') return this.protocolError('chunk data not followed by CRLF');
      this.state = State.ChunkSize;
      return;
    }
    if (this.state === State.Trailer) {
      if (line === '') this.finish();
      return;
    }
    const size = parseInt(line.split(';', 1)[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) return this.protocolError(`bad chunk size line ${JSON.stringify(line)}`);
    if (size === 0) this.state = State.Trailer;
    else {
      this.state = State.ChunkData;
      this.remaining = size;
    }
  }

  /** Parses the status line and headers and picks how the body is framed; false after a protocol error. */
  private parseHead(pending: Pending, head: string): boolean {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) {
      this.protocolError(`bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
      return false;
    }
    const status = Number(m[1]);
    if (status >= 100 && status < 200) return true; // 100 Continue: the real head follows
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const colon = l.indexOf(':');
      if (colon <= 0) continue;
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    pending.status = status;
    pending.headers = headers;
    pending.sink = pending.req.bodySink?.(status, headers);
    if (pending.req.noResponseBody || status === 204 || status === 304) {
      this.finish();
      return true;
    }
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      this.state = State.ChunkSize;
      this.line = '';
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isSafeInteger(n) || n < 0) {
        this.protocolError(`bad Content-Length ${headers['content-length']}`);
        return false;
      }
      this.remaining = n;
      this.state = State.Length;
      if (n === 0) this.finish();
    } else {
      this.state = State.UntilClose;
    }
    return true;
  }
}
