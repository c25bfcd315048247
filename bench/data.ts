// Deterministic bench inputs: log-like text (what an archive of application logs holds) and random
// bytes (incompressible data, e.g. already-compressed archives).
//
// Contracts:
// - The same seed gives the same bytes on every machine and run (no Math.random, no clock).
// - Log text is roughly 10x compressible by zstd -1: timestamps, levels, services, request ids, paths,
//   status codes, latencies, with the skew real logs have (mostly INFO, mostly 200, a few hot paths).
// - Random bytes are an AES-256-CTR keystream keyed by the seed: incompressible, and fast to generate.
// - Piece pools are generated once before timing, so a bench measures the engine, not the generator.
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** sfc32: a small, fast, well-distributed 32-bit generator; seeded through splitmix32. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** Picks from `items` with the given relative weights. */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.below(total);
    for (const [item, w] of items) {
      if (r < w) return item;
      r -= w;
    }
    return items[items.length - 1][0];
  }
}

const LEVELS = [['INFO', 86], ['DEBUG', 6], ['WARN', 6], ['ERROR', 2]] as const;
const SERVICES = ['api-gateway', 'auth', 'billing', 'catalog', 'checkout', 'inventory', 'search', 'notifier'].map((s) => [s, 1] as const);
const METHODS = [['GET', 70], ['POST', 18], ['PUT', 6], ['DELETE', 3], ['PATCH', 3]] as const;
const STATUS = [['200', 80], ['201', 5], ['204', 4], ['304', 3], ['400', 2], ['401', 1], ['404', 3], ['500', 1], ['503', 1]] as const;
const PATHS: ReadonlyArray<readonly [(r: Prng) => string, number]> = [
  [(r) => `/v1/users/${r.below(5000)}/orders`, 20],
  [(r) => `/v1/users/${r.below(5000)}/orders/${r.below(100_000)}`, 10],
  [(r) => `/v1/catalog/items?page=${r.below(40)}&size=50`, 15],
  [(r) => `/v1/catalog/items/sku-${r.below(20_000).toString(36)}`, 15],
  [() => '/healthz', 12],
  [(r) => `/v2/search?q=term${r.below(5000)}&lang=en`, 10],
  [(r) => `/v1/checkout/${r.below(100_000)}/confirm`, 8],
  [(r) => `/static/js/app.${r.below(8)}.js`, 10],
];
const AGENTS = [
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0', 40],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15', 25],
  ['okhttp/4.12.0', 15],
  ['python-requests/2.32.3', 10],
  ['kube-probe/1.30', 10],
] as const;
const MESSAGES = [
  ['request completed', 70],
  ['cache miss, loaded from origin', 10],
  ['upstream slow, retrying once', 5],
  ['token refreshed', 5],
  ['rate limit near threshold', 5],
  ['connection reset by peer', 5],
] as const;

/** Generates an endless stream of log lines; `fill` continues where the last call stopped. */
export class LogGenerator {
  private readonly rng: Prng;
  private nowMs: number;
  private carry = '';

  constructor(seed: number, startMs = Date.UTC(2026, 10, 25, 0, 0, 0)) {
    this.rng = new Prng(seed);
    this.nowMs = startMs;
  }

  line(): string {
    const r = this.rng;
    this.nowMs += r.below(4);
    const ts = new Date(this.nowMs).toISOString();
    const level = r.weighted(LEVELS).padEnd(5);
    const service = r.weighted(SERVICES);
    const req = r.next().toString(16).padStart(8, '0');
    const pod = `${service}-7d9f${r.below(4)}`;
    const path = r.weighted(PATHS)(r);
    const ms = r.below(20) === 0 ? 200 + r.below(3000) : 2 + r.below(30);
    return (
      `${ts} ${level} ${service} [req=${req}] pod=${pod} ns=shop-prod node=ip-10-0-${r.below(4)}-17.eu-west-1.compute.internal ${r.weighted(METHODS)} ${path} HTTP/1.1 tls=TLSv1.3 ` +
      `status=${r.weighted(STATUS)} latency_ms=${ms} bytes=${r.below(16) * 512} ` +
      `ua="${r.weighted(AGENTS)}" msg="${r.weighted(MESSAGES)}"\n`
    );
  }

  /** Exactly `bytes` bytes of log text (ASCII); a line cut at the end continues in the next call. */
  fill(bytes: number): Buffer {
    const parts: string[] = [this.carry];
    let len = this.carry.length;
    while (len < bytes) {
      const l = this.line();
      parts.push(l);
      len += l.length;
    }
    const text = parts.join('');
    this.carry = text.slice(bytes);
    return Buffer.from(text.slice(0, bytes), 'latin1');
  }
}

/** `bytes` bytes of log text from a fresh generator. */
export function logText(bytes: number, seed: number): Buffer {
  return new LogGenerator(seed).fill(bytes);
}

/** `bytes` pseudo-random bytes: the AES-256-CTR keystream for a key derived from `seed`. */
export function randomBytes(bytes: number, seed: number): Buffer {
  const key = createHash('sha256').update(`sediment-bench-${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const out = cipher.update(Buffer.alloc(bytes));
  cipher.final();
  return out;
}

/** `count` distinct pieces of `pieceBytes` each, continuing one generator (log) or keystream (random). */
export function piecePool(kind: 'log' | 'random', count: number, pieceBytes: number, seed: number): Buffer[] {
  if (kind === 'random') {
    const all = randomBytes(count * pieceBytes, seed);
    return Array.from({ length: count }, (_, i) => all.subarray(i * pieceBytes, (i + 1) * pieceBytes));
  }
  const gen = new LogGenerator(seed);
  return Array.from({ length: count }, () => gen.fill(pieceBytes));
}

/**
 * The bytes of object `index` when every object is `pieces` consecutive pieces of a pool, cycling:
 * object i uses pool pieces (i*pieces + j) mod pool.length. The pool's period is far longer than zstd -1's
 * 512 KiB window and the engine's chunks, so the repetition helps neither the engine nor a reference.
 */
export function* objectPieces(pool: Buffer[], index: number, pieces: number): Generator<Buffer> {
  for (let j = 0; j < pieces; j++) yield pool[(index * pieces + j) % pool.length];
}

/**
 * A Readable of object `index` (see objectPieces): the consumer never holds the whole object. Object mode
 * hands each 1 MiB piece over as is (a byte-mode Readable would concatenate buffered pieces: a copy that
 * belongs to the harness, not the engine).
 */
export function objectStream(pool: Buffer[], index: number, pieces: number): Readable {
  return Readable.from(objectPieces(pool, index, pieces), { objectMode: true, highWaterMark: 1 });
}

/** MD5 hex of object `index` (what the engine's ETag must be). */
export function objectMd5(pool: Buffer[], index: number, pieces: number): string {
  const h = createHash('md5');
  for (const p of objectPieces(pool, index, pieces)) h.update(p);
  return h.digest('hex');
}

/** A key shaped like an archived log file name (~37 bytes of UTF-8). */
export function logKey(i: number, hosts = 64): string {
  const host = String(i % hosts).padStart(2, '0');
  return `logs/2026/11/25/host-${host}/${String(i).padStart(9, '0')}.log`;
}

/**
 * Object `index` of `bytes` bytes, a view into the pool seen as one long byte string (object i starts at
 * i*bytes, wrapping). `bytes` must divide the piece size so no object spans two pieces.
 */
export function smallObject(pool: Buffer[], index: number, bytes: number): Buffer {
  const pieceBytes = pool[0].length;
  if (pieceBytes % bytes !== 0) throw new RangeError(`object size ${bytes} must divide the piece size ${pieceBytes}`);
  const perPiece = pieceBytes / bytes;
  const piece = pool[Math.floor(index / perPiece) % pool.length];
  const at = (index % perPiece) * bytes;
  return piece.subarray(at, at + bytes);
}
