// Test payloads for the S3 tests: large bodies generated on the fly (never held whole in memory) with a
// known MD5, and readers that hash a response stream instead of buffering it.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { logLike } from './engine-helpers.js';

const POOL = randomBytes(4 * 1024 * 1024 + 65536);
const PIECE_BYTES = 64 * 1024;
let logPool: Buffer | undefined;

/** Payload kinds: incompressible bytes (chunks stored raw) or log-like text (chunks stored compressed). */
export type PayloadKind = 'random' | 'log';

function poolOf(kind: PayloadKind): Buffer {
  if (kind === 'random') return POOL;
  logPool ??= logLike(POOL.length, 7);
  return logPool;
}

/**
 * Deterministic bytes for (size, seed): 64 KiB pieces taken from a random pool at offsets that depend
 * on the seed and the piece number, so two seeds give different bodies and nothing repeats within
 * zstd's window. The same (size, seed) always yields the same bytes within one process.
 */
export function* payloadPieces(size: number, seed: number, kind: PayloadKind = 'random'): Generator<Buffer> {
  const pool = poolOf(kind);
  let done = 0;
  for (let i = 0; done < size; i++) {
    const n = Math.min(PIECE_BYTES, size - done);
    const off = ((seed * 2_654_435_761 + i * 40_503) >>> 0) % (pool.length - PIECE_BYTES);
    yield pool.subarray(off, off + n);
    done += n;
  }
}

export function payloadMd5(size: number, seed: number, kind: PayloadKind = 'random'): string {
  const h = createHash('md5');
  for (const p of payloadPieces(size, seed, kind)) h.update(p);
  return h.digest('hex');
}

export function payloadBuffer(size: number, seed: number): Buffer {
  return Buffer.concat([...payloadPieces(size, seed)]);
}

/** A Readable of unknown length (no `length`/`path` for an SDK to sniff). */
export function payloadStream(size: number, seed: number, kind: PayloadKind = 'random'): Readable {
  return Readable.from(payloadPieces(size, seed, kind), { objectMode: false });
}

/** Reads a stream to its end, returning size and MD5 without keeping the bytes. */
export async function hashStream(body: AsyncIterable<Uint8Array>): Promise<{ size: number; md5: string }> {
  const h = createHash('md5');
  let size = 0;
  for await (const p of body) {
    h.update(p);
    size += p.length;
  }
  return { size, md5: h.digest('hex') };
}

export function md5Hex(data: Uint8Array | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** S3's multipart ETag: MD5 of the concatenated binary part MD5s, "-", the part count. */
export function multipartEtag(partMd5Hex: readonly string[]): string {
  const h = createHash('md5');
  for (const m of partMd5Hex) h.update(Buffer.from(m, 'hex'));
  return `${h.digest('hex')}-${partMd5Hex.length}`;
}

/** Keys compared the way S3 lists them: by their UTF-8 bytes. */
export function compareUtf8Bytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
