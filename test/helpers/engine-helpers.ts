// Small helpers shared by the engine tests: reading bodies (also up to a stream error), paging through
// listings, and a snapshot of everything an engine shows, to assert that a failed operation changed
// nothing.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { CorruptionError, type Engine, type ListOptions } from '../../src/index.js';
import { mulberry32 } from './prng.js';

/** `n` bytes of seeded log-like text (compresses about 4-5× with zstd -1: chunks stored compressed). */
export function logLike(n: number, seed: number): Buffer {
  const rng = mulberry32(seed);
  const lines: string[] = [];
  let len = 0;
  while (len < n) {
    const line = `2026-11-26T18:${String(Math.floor(rng.next() * 60)).padStart(2, '0')} INFO request ${Math.floor(rng.next() * 1e6)} served in ${Math.floor(rng.next() * 900)} ms\n`;
    lines.push(line);
    len += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, n);
}

export function md5hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** `body` as a stream of pieces of random sizes, 1 byte to `maxPieceBytes` (seeded). */
export function randomPieces(body: Buffer, seed: number, maxPieceBytes: number): Readable {
  const rng = mulberry32(seed);
  return Readable.from((function* () {
    for (let at = 0; at < body.length; ) {
      const n = 1 + Math.floor(rng.next() * maxPieceBytes);
      yield body.subarray(at, at + n);
      at += n;
    }
  })());
}

export async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of body) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Reads a body to its end or its first error; returns what was yielded before the error too. */
export async function readUntilError(body: Readable): Promise<{ data: Buffer; error?: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const p of body) parts.push(p as Buffer);
    return { data: Buffer.concat(parts) };
  } catch (error) {
    return { data: Buffer.concat(parts), error };
  }
}

/**
 * get → bytes, or the error. Never yields wrong bytes: the caller compares `data` with the expected
 * content (a prefix of it when `error` is set).
 */
export async function tryGet(e: Engine, bucket: string, key: string): Promise<{ data: Buffer; error?: unknown }> {
  let res;
  try {
    res = await e.getObject(bucket, key);
  } catch (error) {
    return { data: Buffer.alloc(0), error };
  }
  return readUntilError(res.body);
}

export interface Listing {
  keys: string[];
  prefixes: string[];
  pages: number;
}

/** Pages through a whole listing with continuation tokens (maxKeys per page). */
export function listAll(e: Engine, bucket: string, opts: Omit<ListOptions, 'continuationToken'> = {}, pageLimit = 100_000): Listing {
  const out: Listing = { keys: [], prefixes: [], pages: 0 };
  let token: string | undefined;
  for (;;) {
    const r = e.listObjects(bucket, { ...opts, continuationToken: token });
    out.pages++;
    out.keys.push(...r.contents.map((c) => c.key));
    out.prefixes.push(...r.commonPrefixes);
    if (!r.isTruncated) break;
    if (!r.nextContinuationToken) throw new Error('truncated listing without a continuation token');
    if (r.contents.length + r.commonPrefixes.length === 0) throw new Error('truncated listing with an empty page');
    token = r.nextContinuationToken;
    if (out.pages > pageLimit) throw new Error('listing does not end');
  }
  return out;
}

/** Everything the engine shows through its API (buckets, keys, sizes, ETags), for before/after equality. */
export function snapshot(e: Engine): Record<string, Array<[string, number, string]>> {
  const out: Record<string, Array<[string, number, string]>> = {};
  for (const b of e.listBuckets()) {
    const rows: Array<[string, number, string]> = [];
    let token: string | undefined;
    for (;;) {
      const r = e.listObjects(b.name, { continuationToken: token });
      rows.push(...r.contents.map((c) => [c.key, c.size, c.etag] as [string, number, string]));
      if (!r.isTruncated) break;
      token = r.nextContinuationToken;
    }
    out[b.name] = rows;
  }
  return out;
}

/** Compares strings by their UTF-8 bytes, independently of the engine's comparator. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

/** Runs `fn`, which must throw a CorruptionError (never return bytes); returns that error. */
export function expectCorruption(fn: () => unknown): CorruptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as CorruptionError).code).toBe('SEDIMENT_CORRUPTION');
    return err as CorruptionError;
  }
  throw new Error('expected a corruption error, got bytes');
}

/** Polls `cond` (work the engine does in the background) every 2 ms for at most 10 s. */
export async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
