// The bytes of every object the load generator writes, derived from (kind, seed, key, size) so that a
// GET can be verified byte for byte without remembering what was PUT.
//
// Definition: each kind has a pool of bytes (log: POOL_BYTES of log-like text; random: POOL_BYTES of an
// AES-256-CTR keystream; zero: ZERO_POOL_BYTES of zeros), built once per process from the seed. The
// object named `key` of `size` bytes is the pool read cyclically from offset hashString(seed, key) mod
// pool length: byte p is pool[(offset + p) mod pool.length].
// Consequences: producing or checking an object is slicing and memcmp, no generation per request; an
// object up to POOL_BYTES never repeats within itself; different objects overlap in content (sediment does
// not deduplicate, so this does not flatter it; a deduplicating store would look better than it is).
import { createCipheriv, createHash } from 'node:crypto';
import { fillLogText } from './log-text.js';
import { hashString } from './prng.js';

export const DATA_KINDS = ['log', 'random', 'zero'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

export interface DataSpec {
  kind: DataKind;
  seed: number;
}

export const MiB = 1 << 20;
/** Pool size of the log and random kinds: the largest object that never repeats its own bytes. */
export const POOL_BYTES = 64 * MiB;
export const ZERO_POOL_BYTES = MiB;
/** Largest piece a body is produced in: bodies stream, nobody holds a whole large object. */
export const PIECE_BYTES_MAX = MiB;

const pools = new Map<string, Buffer>();

function poolName(spec: DataSpec): string {
  return `${spec.kind}/${spec.seed >>> 0}`;
}

function buildPool(spec: DataSpec): Buffer {
  switch (spec.kind) {
    case 'zero':
      return Buffer.alloc(ZERO_POOL_BYTES);
    case 'log':
      return fillLogText(Buffer.allocUnsafeSlow(POOL_BYTES), spec.seed >>> 0);
    case 'random': {
      const key = createHash('sha256').update(`sediment-loadgen-random-${spec.seed >>> 0}`).digest();
      const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
      const out = Buffer.allocUnsafeSlow(POOL_BYTES);
      const zeros = Buffer.alloc(MiB);
      for (let at = 0; at < POOL_BYTES; at += MiB) cipher.update(zeros).copy(out, at);
      return out;
    }
  }
}

/**
 * The pool of a kind and seed, built on first use (log text takes about half a second: call this before
 * timing). The returned buffer is shared and must not be modified.
 */
export function dataPool(spec: DataSpec): Buffer {
  const name = poolName(spec);
  let pool = pools.get(name);
  if (!pool) {
    pool = buildPool(spec);
    pools.set(name, pool);
  }
  return pool;
}

/** Installs a pool built elsewhere (a worker thread receives its parent's pool in shared memory). */
export function adoptPool(spec: DataSpec, pool: Buffer): void {
  const expected = spec.kind === 'zero' ? ZERO_POOL_BYTES : POOL_BYTES;
  if (pool.length !== expected) throw new RangeError(`a ${spec.kind} pool has ${expected} bytes, not ${pool.length}`);
  pools.set(poolName(spec), pool);
}

/** Where object `key` starts in its pool. */
export function objectOffset(spec: DataSpec, key: string, poolBytes: number): number {
  return spec.kind === 'zero' ? 0 : hashString(spec.seed, key) % poolBytes;
}

/**
 * The body of object `key` as views into the pool, each at most `pieceBytes` long (and cut where the
 * pool wraps). The views stay valid for the life of the process; nothing is copied. With `from`, the
 * `size` bytes of the object that start at byte `from` (a part of a multipart upload).
 */
export function* objectPieces(spec: DataSpec, key: string, size: number, pieceBytes = PIECE_BYTES_MAX, from = 0): Generator<Buffer> {
  const pool = dataPool(spec);
  let at = (objectOffset(spec, key, pool.length) + from) % pool.length;
  let left = size;
  while (left > 0) {
    const n = Math.min(left, pieceBytes, pool.length - at);
    yield pool.subarray(at, at + n);
    left -= n;
    at = at + n === pool.length ? 0 : at + n;
  }
}

/** The whole body of a small object as one view when it does not wrap around the pool, else a copy. */
export function objectBody(spec: DataSpec, key: string, size: number): Buffer {
  const pool = dataPool(spec);
  const at = objectOffset(spec, key, pool.length);
  if (at + size <= pool.length) return pool.subarray(at, at + size);
  return Buffer.concat([...objectPieces(spec, key, size)]);
}

/**
 * Checks a body as it arrives, in chunks of any size, against the bytes object `key` must have.
 * Contract: after the last chunk, `finish()` returns undefined when every byte matched and the length was
 * exactly `size`, else a message naming the first wrong byte (offset, value, expected value) or the length.
 */
export class ObjectVerifier {
  private readonly pool: Buffer;
  private readonly start: number;
  private received = 0;
  private problem: string | undefined;

  constructor(spec: DataSpec, private readonly key: string, private readonly size: number) {
    this.pool = dataPool(spec);
    this.start = objectOffset(spec, key, this.pool.length);
  }

  update(chunk: Buffer): void {
    if (this.problem !== undefined) return;
    if (this.received + chunk.length > this.size) {
      this.problem = `${this.key}: body longer than ${this.size} bytes`;
      return;
    }
    const pool = this.pool;
    let off = 0;
    while (off < chunk.length) {
      const at = (this.start + this.received) % pool.length;
      const n = Math.min(chunk.length - off, pool.length - at);
      if (chunk.compare(pool, at, at + n, off, off + n) !== 0) {
        let k = 0;
        while (chunk[off + k] === pool[at + k]) k++; // only on a failure: find the first wrong byte
        const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
        this.problem = `${this.key}: wrong bytes from byte ${this.received + k} of ${this.size} (${hex(chunk[off + k]!)}, expected ${hex(pool[at + k]!)})`;
        return;
      }
      off += n;
      this.received += n;
    }
  }

  finish(): string | undefined {
    if (this.problem === undefined && this.received !== this.size) {
      this.problem = `${this.key}: body has ${this.received} bytes, expected ${this.size}`;
    }
    return this.problem;
  }
}

/** The x-amz-meta-loadgen value that tells a server (the bare bench server) how to regenerate a body. */
export function formatDataSpec(spec: DataSpec): string {
  return `${spec.kind};${spec.seed >>> 0}`;
}

export function parseDataSpec(value: string): DataSpec | undefined {
  const m = /^(log|random|zero);(\d{1,10})$/.exec(value.trim());
  if (!m) return undefined;
  return { kind: m[1] as DataKind, seed: Number(m[2]) >>> 0 };
}

/**
 * The pool of `spec` in shared memory (copied there on first call, then used by this thread too), for
 * handing to worker threads without a copy each.
 */
export function sharePool(spec: DataSpec): Uint8Array {
  const pool = dataPool(spec);
  if (pool.buffer instanceof SharedArrayBuffer) return pool;
  const shared = Buffer.from(new SharedArrayBuffer(pool.length));
  pool.copy(shared);
  pools.set(poolName(spec), shared);
  return shared;
}
