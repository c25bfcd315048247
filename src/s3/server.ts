// The S3 HTTP front: node:http, no framework. One handler per request: parse the target, verify
// SigV4, route, and turn any failure into S3 error XML. The server never crashes on a request: every
// error is caught here, and an error after the response headers went out cuts the connection (the
// client sees a short body, never wrong bytes).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { SedimentError } from '../util/errors.js';
import { decodeRequestPath, parseRawQuery, splitRawUrl } from './aws-uri.js';
import { renderS3ErrorXml } from './error-xml.js';
import { toS3Error } from './errors.js';
import { queryMap, writeHead, type S3Request, type ServerContext } from './http-util.js';
import { route } from './router.js';
import { S3Error } from './s3-error.js';
import { headersFromRaw, verifyRequest } from './sigv4.js';
import { normalizeDomains, virtualHostBucket } from '../util/domains.js';
import { HttpMetrics, type MetricSample } from './metrics.js';

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
const LEVELS: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

/**
 * The status logged and counted for a request whose client closed the connection before it was
 * answered (nginx's 499). Nothing is sent: the connection is gone.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** S3ServerOptions.connectionsMax unless set. */
export const CONNECTIONS_MAX_DEFAULT = 1_000;

/** Error codes with which Node's streams report a peer that closed the connection. */
const PEER_GONE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/**
 * True when `err` is the client's connection ending under the request (a body cut off, a download
 * abandoned), not a fault of the server: its socket is gone and the error, or one of its causes, is a
 * closed-connection error or S3's IncompleteBody. Corruption and other faults are never hidden by this.
 */
function clientWentAway(req: IncomingMessage, err: unknown): boolean {
  if (req.socket?.destroyed !== true) return false;
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof SedimentError && e.code === 'SEDIMENT_CORRUPTION') return false;
    if (e instanceof S3Error && e.code === 'IncompleteBody') return true;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && PEER_GONE_CODES.has(code)) return true;
  }
  return false;
}

export interface S3ServerOptions {
  engine: Engine;
  region?: string;
  credentials: Array<{ accessKeyId: string; secretAccessKey: string }>;
  logLevel?: LogLevel;
  log?: (line: string) => void;
  /** Allowed clock skew; default 15 minutes as S3. */
  maxSkewMs?: number;
  /** Minimum size of all parts but the last; default 5 MiB as S3 (tests lower it). */
  partBytesMin?: number;
  now?: () => number;
  /** A client must send all request headers within this time; default 30 s (slowloris guard). */
  headersTimeoutMs?: number;
  /** A connection with no bytes moving either way for this long is closed; default 120 s. */
  idleTimeoutMs?: number;
  /**
   * Open connections at most; one more is closed as it arrives. Default 1,000. A GET whose client stopped
   * reading holds a few MiB until the idle timeout (docs/OPERATIONS.md), so this also bounds that memory.
   */
  connectionsMax?: number;
  /**
   * Domains served with virtual-hosted-style addressing: a request whose Host is `BUCKET.DOMAIN` names the
   * bucket there and the key in its path. A Host equal to a domain, or any other Host, is path style.
   */
  domains?: readonly string[];
  /** More samples for `GET /_sediment/metrics` (the background maintenance of `sediment serve`). */
  metricsExtra?: () => MetricSample[];
}

export interface S3Server {
  server: Server;
  /** Requests being handled right now. */
  readonly inflight: number;
  /** Stops accepting connections and resolves when in-flight requests have finished (or `timeoutMs` passed). */
  shutdown(timeoutMs?: number): Promise<void>;
}

// Request ids: a random per-process prefix and a counter (unique per process and hard to guess across
// restarts, without a randomBytes call per request).
const ID_PREFIX = randomBytes(4).toString('hex').toUpperCase();
let idCounter = 0;

function requestId(): string {
  idCounter = (idCounter + 1) % 0x1_0000_0000;
  return ID_PREFIX + (idCounter + 0x1_0000_0000).toString(16).slice(1).toUpperCase();
}

// Headers of which node:http keeps only the first value (see IncomingMessage's header joining rules);
// cookie is joined with '; ', set-cookie (an array in req.headers) with ',', every other one with ', '.
const FIRST_VALUE_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** What `req.headers[name]` gives (arrays joined with ','), read from the per-request header map. */
function joinedHeader(headers: ReadonlyMap<string, readonly string[]>, name: string): string | undefined {
  const values = headers.get(name);
  if (values === undefined) return undefined;
  if (values.length === 1 || FIRST_VALUE_ONLY.has(name)) return values[0];
  return values.join(name === 'set-cookie' ? ',' : name === 'cookie' ? '; ' : ', ');
}

export function createS3Server(opts: S3ServerOptions): S3Server {
  const level = LEVELS[opts.logLevel ?? 'info'];
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = opts.now ?? (() => Date.now());
  const secrets = new Map(opts.credentials.map((c) => [c.accessKeyId, c.secretAccessKey]));
  // Longest first: under s3.example.com and example.com, b.s3.example.com is bucket b.
  const domains = normalizeDomains(opts.domains ?? []).sort((a, b) => b.length - a.length);
  const ownerKey = opts.credentials[0]?.accessKeyId ?? 'sediment';
  const ctx: ServerContext = {
    engine: opts.engine,
    region: opts.region ?? 'us-east-1',
    partBytesMin: opts.partBytesMin ?? 5 * 1024 * 1024,
    ownerId: createHash('sha256').update(ownerKey).digest('hex'),
    ownerName: 'sediment',
  };
  const lookupSecret = (ak: string): string | undefined => secrets.get(ak);
  let inflight = 0;
  const metrics = new HttpMetrics();
  /** Set by shutdown(): a request that still arrives (on a connection accepted before) gets 503 and never reaches the closing engine. */
  let closing = false;
  let idleWaiters: Array<() => void> = [];

  const sendError = (req: IncomingMessage, res: ServerResponse, id: string, err: unknown, resource: string): number => {
    if (clientWentAway(req, err)) {
      // Nobody is left to answer, and it is not the server's fault: no ERROR line, no 5xx in the metrics.
      if (!res.headersSent) res.statusCode = CLIENT_CLOSED_REQUEST;
      res.destroy();
      return res.statusCode;
    }
    const e = toS3Error(err);
    if (e.code === 'InternalError' && level >= LEVELS.error) {
      const cause = e.cause ?? err;
      log(`${new Date(now()).toISOString()} ERROR ${id} ${req.method} ${req.url}: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
    }
    if (res.headersSent) {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
      return e.httpStatus;
    }
    const internal = e.code === 'InternalError' && !(e.cause instanceof SedimentError && e.cause.code === 'SEDIMENT_CORRUPTION');
    const body = Buffer.from(renderS3ErrorXml(internal ? new S3Error('InternalError') : e, { resource, requestId: id }), 'utf8');
    const headers: Record<string, string> = { ...e.headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) };
    // An unread request body would otherwise be parsed as the next request: close instead. A request
    // without a body keeps its connection: `complete` is still false while an error thrown before the
    // first await (e.g. a failed signature check) is answered, as the parser has not finished the message.
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
    if (hasBody && !req.complete) headers.Connection = 'close';
    writeHead(res, id, e.httpStatus, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return e.httpStatus;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const id = requestId();
    const started = level >= LEVELS.info ? now() : 0;
    const t0 = performance.now();
    // x-amz-request-id, x-amz-id-2 and Server are added by writeHead (http-util.ts) on every response.
    req.on('error', () => undefined); // surfaced to whoever reads the body
    let resource = '/';
    try {
      if (closing) throw new S3Error('ServiceUnavailable', 'The server is shutting down.');
      const rawUrl = req.url ?? '/';
      const { rawPath, rawQuery } = splitRawUrl(rawUrl);
      if (rawPath === '/_sediment/health' && (req.method === 'GET' || req.method === 'HEAD')) {
        const body = JSON.stringify({ status: 'ok', inflight });
        writeHead(res, id, 200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      if (rawPath === '/_sediment/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
        const body = Buffer.from(metrics.render(opts.engine.gauges(), inflight, opts.metricsExtra?.() ?? []), 'utf8');
        writeHead(res, id, 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': String(body.length) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      const path = decodeRequestPath(rawPath);
      if (path === undefined || !path.startsWith('/')) throw new S3Error('InvalidArgument', 'The request path is not valid URI encoding');
      resource = path;
      const pairs = parseRawQuery(rawQuery);
      const headerValues = headersFromRaw(req.rawHeaders);
      const auth = verifyRequest(
        { method: req.method ?? 'GET', rawUrl, headers: {}, headerValues, target: { rawPath, query: pairs } },
        { region: ctx.region, lookupSecret, now: new Date(now()), maxSkewMs: opts.maxSkewMs },
      );
      const rest = path.slice(1);
      const slash = rest.indexOf('/');
      // Virtual-hosted style (a configured domain): the Host names the bucket and the whole path is the key.
      const hostBucket = domains.length > 0 ? virtualHostBucket(headerValues.get('host')?.[0], domains) : undefined;
      const bucket = hostBucket ?? (slash === -1 ? rest : rest.slice(0, slash));
      const key = hostBucket !== undefined ? rest : slash === -1 ? '' : rest.slice(slash + 1);
      if (hostBucket !== undefined) resource = `/${hostBucket}${path}`;
      const r: S3Request = {
        req,
        res,
        ctx,
        requestId: id,
        method: req.method ?? 'GET',
        bucket,
        key,
        query: queryMap(pairs),
        rawQuery: pairs,
        auth,
        header: (name) => joinedHeader(headerValues, name),
      };
      await route(r);
    } catch (err) {
      sendError(req, res, id, err, resource);
    } finally {
      metrics.observe(req.method, res.statusCode, (performance.now() - t0) / 1000);
      if (level >= LEVELS.info) {
        const ms = now() - started;
        log(`${new Date(started).toISOString()} ${id} ${req.method} ${req.url} ${res.statusCode} ${ms}ms`);
      }
    }
  };

  // No limit on a whole request (a large upload on a slow link may take hours); slow clients are bounded
  // by the header deadline and the idle timeout instead. The deadline is checked every quarter of it.
  const headersTimeout = opts.headersTimeoutMs ?? 30_000;
  const serverOptions = { requestTimeout: 0, headersTimeout, keepAliveTimeout: 5_000, connectionsCheckingInterval: Math.max(50, Math.min(30_000, headersTimeout / 4)) };
  const server = createServer(serverOptions, (req, res) => {
    inflight++;
    res.on('close', () => {
      inflight--;
      if (inflight === 0) {
        const w = idleWaiters;
        idleWaiters = [];
        for (const f of w) f();
      }
    });
    handle(req, res).catch((err) => {
      // handle() catches everything; this is a last guard so that a bug cannot crash the server.
      log(`${new Date().toISOString()} ERROR unhandled: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) res.writeHead(500, ['Connection', 'close']);
      res.destroy();
    });
  });
  server.maxHeadersCount = 200;
  server.maxConnections = opts.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
  server.timeout = opts.idleTimeoutMs ?? 120_000; // idle socket timeout
  server.on('clientError', (err, socket) => {
    if (socket.writable && !(err as NodeJS.ErrnoException).code?.startsWith('ECONN')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      socket.destroy();
    }
  });

  return {
    server,
    get inflight() {
      return inflight;
    },
    shutdown(timeoutMs = 30_000): Promise<void> {
      closing = true;
      return new Promise<void>((resolve) => {
        server.close();
        server.closeIdleConnections();
        if (inflight === 0) return resolve();
        const t = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, timeoutMs);
        t.unref();
        idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}

export { runServer } from './run-server.js';
