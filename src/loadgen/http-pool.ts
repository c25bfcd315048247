// A bounded pool of keep-alive connections to one host:port (the load generator's equivalent of an
// http.Agent with maxSockets). Contract: at most `connectionsMax` connections are open; a request
// waits for a free one; a request that fails retryably on a reused connection (closed by the server
// while idle) is sent once more on a fresh connection.
import { HttpConnection, type HttpRequest, type HttpResponse } from './http-connection.js';
import { TransportError } from './http-errors.js';

export interface HttpPoolOptions {
  host: string;
  port: number;
  connectionsMax: number;
  /** A request with no progress for this long fails with a timeout. */
  timeoutMs: number;
}

export class HttpPool {
  private readonly idle: HttpConnection[] = [];
  private readonly waiters: Array<(c: HttpConnection) => void> = [];
  private open = 0;
  private closed = false;
  /** Requests sent once more after failing retryably. */
  retries = 0;

  constructor(private readonly opts: HttpPoolOptions) {
    if (!(opts.connectionsMax >= 1)) throw new RangeError('connectionsMax must be at least 1');
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.acquire();
      try {
        return await conn.request(req);
      } catch (err) {
        if (!(err instanceof TransportError) || !err.retryable || attempt > 1 || this.closed) throw err;
        this.retries++;
        // The server closed an idle connection; the other idle ones are most likely closed too.
        this.dropIdle();
      } finally {
        this.release(conn);
      }
    }
  }

  /** Closes every idle connection and refuses new requests; call when no request is waiting for a connection. */
  close(): void {
    this.closed = true;
    this.dropIdle();
  }

  private dropIdle(): void {
    for (const c of this.idle.splice(0)) {
      c.close();
      this.open--;
    }
  }

  private connect(): HttpConnection {
    this.open++;
    return new HttpConnection(this.opts.host, this.opts.port, this.opts.timeoutMs);
  }

  private acquire(): Promise<HttpConnection> {
    if (this.closed) return Promise.reject(new TransportError('network', 'the connection pool is closed'));
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (c.alive) return Promise.resolve(c);
      this.open--;
    }
    if (this.open < this.opts.connectionsMax) return Promise.resolve(this.connect());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(conn: HttpConnection): void {
    if (!conn.alive || this.closed) {
      conn.close();
      this.open--;
      if (this.waiters.length > 0 && !this.closed) this.waiters.shift()!(this.connect());
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(conn);
    else this.idle.push(conn);
  }
}
