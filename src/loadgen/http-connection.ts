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
/** Bodies up to this size are copied behind the head and written with it in one write. */
const COPY_BODY_BYTES_MAX = 64 << 10;
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
  bodySink?: (status: number, head: ResponseHead) => ((piece: Buffer) => void) | undefined;
}

export interface ResponseHead {
  status: number;
  /** The status line and header lines, CRLF-separated (latin1). */
  head: string;
}

/** The value of header `name` (any case) in a response head, trimmed; undefined when absent. */
export function headerValue(r: ResponseHead, name: string): string | undefined {
  return headerIn(r.head.toLowerCase(), name.toLowerCase());
}

/** Header lookup in a lowercased head; `name` is lowercase. The first occurrence wins. */
function headerIn(lowerHead: string, name: string): string | undefined {
  const at = lowerHead.indexOf(`\r\n${name}:`);
  if (at < 0) return undefined;
  const start = at + name.length + 3;
  const end = lowerHead.indexOf('\r\n', start);
  return lowerHead.slice(start, end < 0 ? lowerHead.length : end).trim();
}

export interface HttpResponse extends ResponseHead {
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
  head: string;
  closeAfter: boolean;
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
      this.current = { req, resolve, reject, status: 0, head: '', closeAfter: false, sink: undefined, collected: [], collectedBytes: 0, bodyBytes: 0, sawResponseBytes: false, bodySent: false };
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
    if (req.body === undefined || (Buffer.isBuffer(req.body) && req.body.length === 0)) {
      s.write(req.head, 'latin1');
      pending.bodySent = true;
      return;
    }
    if (Buffer.isBuffer(req.body)) {
      if (req.body.length <= COPY_BODY_BYTES_MAX) {
        // One buffer, one write: cheaper than cork + writev of two for small bodies.
        const out = Buffer.allocUnsafe(req.head.length + req.body.length);
        const n = out.write(req.head, 0, 'latin1');
        req.body.copy(out, n);
        s.write(out);
      } else {
        s.cork();
        s.write(req.head, 'latin1');
        s.write(req.body);
        s.uncork();
      }
      pending.bodySent = true;
      return;
    }
    s.write(req.head, 'latin1');
    // Waits for 'drain' before the next piece, not after the last one: the body counts as sent as soon as
    // its last byte is handed to the socket, so a response racing with that drain keeps the connection.
    let full = false;
    for (const piece of req.body()) {
      if (full) await new Promise<void>((resolve) => (this.drainWaiter = resolve));
      if (this.current !== pending || !this.alive) return; // answered early, or failed
      full = !s.write(piece);
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
    if (this.closing || !pending.bodySent || pending.closeAfter) {
      this.alive = false;
      this.wakeWriter();
      this.socket.destroy();
    }
    pending.resolve({
      status: pending.status,
      head: pending.head,
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

  /** Parses the status line and the framing headers and picks how the body is read; false after a protocol error. */
  private parseHead(pending: Pending, head: string): boolean {
    // "HTTP/1.1 200 OK": the status code is always at 9..12.
    const status = head.startsWith('HTTP/1.') ? Number(head.slice(9, 12)) : NaN;
    if (!(status >= 100 && status <= 999)) {
      this.protocolError(`bad status line ${JSON.stringify(head.slice(0, 80))}`);
      return false;
    }
    if (status < 200) return true; // 100 Continue: the real head follows
    pending.status = status;
    pending.head = head;
    const lower = head.toLowerCase();
    pending.closeAfter = /\bclose\b/.test(headerIn(lower, 'connection') ?? '');
    pending.sink = pending.req.bodySink?.(status, pending);
    if (pending.req.noResponseBody || status === 204 || status === 304) {
      this.finish();
      return true;
    }
    const length = headerIn(lower, 'content-length');
    if (/\bchunked\b/.test(headerIn(lower, 'transfer-encoding') ?? '')) {
      this.state = State.ChunkSize;
      this.line = '';
    } else if (length !== undefined) {
      const n = Number(length);
      if (!/^\d+$/.test(length) || !Number.isSafeInteger(n)) {
        this.protocolError(`bad Content-Length ${length}`);
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
