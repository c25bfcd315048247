// The cold tier's storage: one small interface for immutable blobs (cold segments), with a local-directory
// implementation (the embedded default), an in-memory one (tests) and an S3 one (src/s3/cold-store-s3.ts,
// injected by the server: the engine never imports HTTP). Contracts every implementation keeps, checked
// by one contract suite (test/cold-store-contract.test.ts):
// - put(name, data) resolves only once the whole blob is durable in the store, and a reader never sees a
//   partial blob: it sees the old one, the new one, or none.
// - readRange returns exactly the bytes asked for, or throws (a range past the end is an error, never a
//   short read); a missing blob is SEDIMENT_COLD_NOT_FOUND.
// - list(prefix) returns every blob whose name starts with prefix, in name order, with its size.
// - delete of a missing blob succeeds (deletes are retried after crashes).
// - A store that cannot be reached throws SEDIMENT_COLD_UNAVAILABLE (the S3 front answers 503): callers
//   retry later and never treat it as "the data is gone". One that refuses the request itself (credentials,
//   a missing bucket) throws ColdStoreRefusedError: an error, but not one about any blob.
import { SedimentError } from '../util/errors.js';

export interface ColdBlob {
  name: string;
  size: number;
}

export interface ColdStore {
  /** For logs and `info`: "local DIR" or "s3 http://host/bucket/prefix". */
  readonly description: string;
  put(name: string, data: Buffer): Promise<void>;
  readRange(name: string, offset: number, length: number): Promise<Buffer>;
  /** Size of the blob, or undefined if there is none. */
  stat(name: string): Promise<number | undefined>;
  list(prefix?: string): Promise<ColdBlob[]>;
  delete(name: string): Promise<void>;
  /**
   * Bytes that can still be written, for stores that can run out of room (a local disk); absent for
   * stores that cannot tell (S3: the remote side answers a full disk with an error instead).
   */
  freeBytes?(): Promise<number>;
  /** Releases what the store holds (a local directory's lock). */
  close?(): Promise<void>;
}

/** Blob names: 1-200 characters of [A-Za-z0-9._-], optionally with '/'-separated parts; no '.' or '..' parts. */
export function checkBlobName(name: string): void {
  const ok = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) && name.length <= 200 && !name.split('/').some((p) => p === '.' || p === '..');
  if (!ok) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `invalid cold blob name "${name}"`);
}

export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SedimentError('SEDIMENT_INVALID_RANGE', `bad range ${offset}+${length} of cold blob ${name}`);
  }
  if (offset + length > size) {
    throw new SedimentError('SEDIMENT_INVALID_RANGE', `range ${offset}+${length} is past the end (${size} bytes) of cold blob ${name}`);
  }
}

export function notFound(name: string): SedimentError {
  return new SedimentError('SEDIMENT_COLD_NOT_FOUND', `cold blob ${name} does not exist`);
}

/**
 * The store refused the request itself — wrong credentials, a bucket that does not exist — rather than
 * answering about the blob (SEDIMENT_IO). Checks of the whole tier (cold-verify.ts) stop on it instead of
 * naming every object as damaged: it says nothing about the data.
 */
export class ColdStoreRefusedError extends SedimentError {
  constructor(message: string) {
    super('SEDIMENT_IO', message);
    this.name = 'ColdStoreRefusedError';
  }
}

export function unavailable(what: string, cause?: unknown): SedimentError {
  return new SedimentError('SEDIMENT_COLD_UNAVAILABLE', `the cold tier is unavailable: ${what}`, { cause });
}
