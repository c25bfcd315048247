// The write side of PUT and UploadPart: a body split into chunks, each framed (zstd unless it does not pay,
// then xxh64), hashed for the ETag and appended to the log, in bounded memory. Small chunks are framed by
// the pool's frameSmall (MD5 included): inline, or batched to a worker with batchSmallChunks (chunk-pool.ts).
// Large ones are framed in the worker pool one by one, in place in a reused ChunkBuffer when stored raw; a
// body of several large chunks is hashed in the MD5 thread (md5-hasher.ts) while the workers frame it.
// Contracts:
// - `write` resolves once every chunk is appended (placed in log order), not once it is written or
//   synced: the COMMIT appended after it cannot become durable before its chunks. Each chunk's place is
//   stored in the caller's `chunks` array as soon as it is known, so a caller can keep the array in the
//   engine's `unsettled` set until its record is applied.
// - The caller's body bytes are never handed to another thread: a large chunk is copied into a
//   ChunkBuffer first, and a small one is framed inline or copied into its batch when the batch is sent.
// - Memory: at most CHUNK_INFLIGHT_MAX chunks of one upload in flight, and one once all uploads together
//   frame more than `framingBytesMax` bytes; producers wait for their writes when the writer queues more
//   than WRITER_QUEUE_BYTES_MAX.
import { createHash } from 'node:crypto';
import { RecordType } from '../format/constants.js';
import type { ChunkRef } from '../format/records.js';
import { copyBytes } from '../native/index.js';
import { ChunkBuffers, type ChunkBuffer } from './chunk-buffers.js';
import type { ChunkPool, Framed } from './chunk-pool.js';
import type { HotDict, HotDictionaries } from './hot-dictionaries.js';
import { Md5Hasher, type Md5Stream } from './md5-hasher.js';
import type { AppendResult, SegmentWriter } from './segment-writer.js';
import type { Body } from './types.js';

/** Chunks of one upload being framed (or written) at once... */
const CHUNK_INFLIGHT_MAX = 4;
/**
 * ...and the raw bytes of chunks being framed across all uploads together, past which an upload keeps
 * only one chunk in flight. Memory then stays bounded however many uploads run at once (16 uploads could
 * hold 4 chunks of 1 MiB each, plus their frames); two framing threads stay busy with far less.
 */
export const FRAMING_BYTES_MAX_DEFAULT = 24 << 20;
/**
 * Chunk buffers (chunk-buffers.ts) kept once no upload has needed one for `idleMs` (4 MiB at the default
 * chunkBytes). While uploads run, all are kept.
 */
const CHUNK_BUFFERS_IDLE_KEEP = 4;
/** Above this many bytes waiting in the writer's queue, chunk producers wait for their writes. */
const WRITER_QUEUE_BYTES_MAX = 64 << 20;

export function toBuffer(piece: Uint8Array | string): Buffer {
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

export interface WrittenBody {
  chunks: ChunkRef[];
  size: number;
  /** MD5 of the whole body: the ETag of a single-part object. */
  md5: Buffer;
}

export class ChunkWriter {
  /** MD5 of large bodies off the main thread (md5-hasher.ts). */
  private readonly md5Hasher: Md5Hasher;
  /** The buffers large chunks are read into, framed in and written from (chunk-buffers.ts). */
  private readonly buffers: ChunkBuffers;
  /** Raw bytes of chunks being framed, all uploads together (bounded by framingBytesMax). */
  private framingBytes = 0;

  /**
   * `pool` and `writer` are asked for at each use: the engine sets them up after this writer.
   * `checkWritable` throws once the engine can take no more writes (closed, or its writer failed).
   */
  constructor(
    private readonly pool: () => ChunkPool,
    private readonly writer: () => SegmentWriter,
    private readonly checkWritable: () => void,
    private readonly chunkBytes: number,
    private readonly framingBytesMax: number,
    idleMs: number,
    md5Threads?: number,
    /** The hot tier's dictionaries (hot-dictionaries.ts): small chunks of a bucket that has one use it. */
    private readonly dicts: () => HotDictionaries | undefined = () => undefined,
  ) {
    this.md5Hasher = new Md5Hasher(md5Threads);
    this.buffers = new ChunkBuffers(chunkBytes, CHUNK_BUFFERS_IDLE_KEEP, idleMs);
  }

  /**
   * Appends the body's chunks of upload `uploadId` (part `partNumber`, 0 for a single-part object),
   * recording each chunk's place in `chunks` (see the module's contracts). `sizeHint`: the body's size,
   * if known, so a small streamed body gets a buffer of the right size at once. `bucket`: whose dictionary
   * small chunks are compressed with (and sampled for), if any.
   */
  write(body: Body, uploadId: number, partNumber: number, chunks: ChunkRef[], signal?: AbortSignal, sizeHint?: number, bucket?: string): Promise<WrittenBody> {
    const small = this.smallBody(body);
    return small
      ? this.writeSmallBody(small, uploadId, partNumber, chunks, signal, bucket)
      : this.writeChunks(body, uploadId, partNumber, chunks, signal, sizeHint, bucket);
  }

  stats(): { md5ThreadUploads: number; chunkBuffersCreated: number; chunkBuffersReused: number; framingBytes: number } {
    return { md5ThreadUploads: this.md5Hasher.streamsStarted, chunkBuffersCreated: this.buffers.created, chunkBuffersReused: this.buffers.reused, framingBytes: this.framingBytes };
  }

  /** Stops the MD5 threads and drops the free buffers; call after every write has settled. */
  async close(): Promise<void> {
    await this.md5Hasher.close();
    this.buffers.clear();
  }

  /** A body given whole that is one small chunk (a 4 KiB PUT), or undefined: see writeSmallBody. */
  private smallBody(body: Body): Buffer | undefined {
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return undefined;
    const buf = toBuffer(body);
    return buf.length > 0 && buf.length < this.pool().poolMinBytes && buf.length <= this.chunkBytes ? buf : undefined;
  }

  /** Splits the body into chunks, frames them (workers for large ones) and appends them, in bounded memory. */
  private async writeChunks(
    body: Body,
    uploadId: number,
    partNumber: number,
    chunks: ChunkRef[],
    signal?: AbortSignal,
    sizeHint?: number,
    bucket?: string,
  ): Promise<WrittenBody> {
    const md5 = createHash('md5');
    // A body of several large chunks is hashed in the MD5 thread, decided at its first chunk.
    let md5Thread: Md5Stream | undefined;
    const inflight: Array<Promise<void>> = [];
    let size = 0;
    let failure: unknown;
    let md5Whole: Buffer | undefined;
    /** `whole`: `raw` is the entire body (one chunk), so its MD5 can be computed where it is framed. */
    /**
     * `held`: `raw` lies in this ChunkBuffer (at its data area's start), whose reference passes to emit:
     * the chunk is then hashed in place by the MD5 thread and, stored raw, framed and written in place.
     */
    const emit = async (raw: Buffer, whole: boolean, held?: ChunkBuffer): Promise<void> => {
      if (chunks.length === 0 && !whole && raw.length >= this.pool().poolMinBytes && this.pool().usingWorkers && this.md5Hasher.available) {
        md5Thread = this.md5Hasher.stream();
      }
      if (md5Thread) {
        let behind: Promise<void> | undefined;
        if (held) {
          const ref = held.retain();
          behind = md5Thread.update(raw, () => ref.release());
        } else behind = md5Thread.update(raw);
        if (behind) await behind; // the MD5 thread is behind: read no more of the body until it catches up
      } else if (!whole) md5.update(raw);
      const index = chunks.length;
      const rawLen = raw.length;
      size += rawLen;
      chunks.push({ segmentId: 0, offset: 0, frameLen: 0, rawLen });
      const meta = { uploadId, partNumber, chunkIndex: index, rawLen };
      let framing: Promise<Buffer>;
      /** `held`'s memory is the frame itself: released once the frame is written. */
      let inPlace = false;
      /** The dictionary this chunk's frame names, pinned until the frame is written (hot-dictionaries.ts). */
      let dict: HotDict | undefined;
      if (raw.length < this.pool().poolMinBytes) {
        dict = bucket === undefined ? undefined : this.dicts()?.forSmallChunk(bucket, raw);
        framing = this.pool().frameSmall(raw, meta, whole, dict).then((f) => {
          held?.release(); // copied or framed: `raw` is no longer read
          if (whole) md5Whole = f.md5;
          return f.frame;
        });
      } else if (held) {
        if (whole) md5.update(raw);
        framing = this.pool().frameInPlace(held, rawLen, meta).then((frame) => {
          if (held.holds(frame)) inPlace = true;
          else held.release(); // compressed into a frame of its own
          return frame;
        });
      } else {
        if (whole) md5.update(raw);
        framing = this.pool().frame(raw, meta);
      }
      /** The pin of `dict` passed on to the write (released when it settles); otherwise released on failure. */
      let pinHandedOn = false;
      const p = framing.then((frame) => {
        this.checkWritable();
        const r = this.writer().append(frame, { type: RecordType.CHUNK, chunk: meta }, false);
        if (inPlace) r.done.then(() => held!.release(), () => undefined); // a failed write: dropped, not reused
        chunks[index] = { segmentId: r.segmentId, offset: r.offset, frameLen: frame.length, rawLen };
        // The location is fixed at append and writes go out in log order, so the COMMIT appended later
        // cannot become durable before this chunk: there is no need to wait for the write itself —
        // except to bound memory when the writer falls behind. The dictionary's pin ends when the write
        // settles (written, or it never will be); a handler either way, so a failure is not unhandled.
        if (dict !== undefined) {
          pinHandedOn = true;
          const unpin = this.dicts()!.unpinOf(dict);
          r.done.then(unpin, unpin);
        } else r.done.catch(() => undefined);
        return this.writer().queuedBytes > WRITER_QUEUE_BYTES_MAX ? r.done : undefined;
      });
      this.framingBytes += rawLen;
      const settled = p.then(
        () => void (this.framingBytes -= rawLen),
        (err: unknown) => {
          if (dict !== undefined && !pinHandedOn) this.dicts()!.release(dict);
          this.framingBytes -= rawLen;
          failure ??= err;
        },
      );
      inflight.push(settled);
      while (inflight.length >= CHUNK_INFLIGHT_MAX || (inflight.length > 1 && this.framingBytes > this.framingBytesMax)) await inflight.shift();
    };

    try {
      const direct = typeof body === 'string' || body instanceof Uint8Array;
      if (direct) {
        const buf = toBuffer(body as Uint8Array | string);
        for (let at = 0; at < buf.length; at += this.chunkBytes) {
          const view = buf.subarray(at, Math.min(buf.length, at + this.chunkBytes));
          if (view.length >= this.pool().poolMinBytes) {
            // Copied into a reused chunk buffer: the caller's own buffer is never handed to another thread.
            const held = this.buffers.acquire();
            copyBytes(held.data, 0, view);
            await emit(held.data.subarray(0, view.length), view.length === buf.length, held);
          } else {
            // A worker takes its chunk's buffer (transferred, detached here). The pool copies a view that
            // does not own its ArrayBuffer; a piece that does (a body of one chunk that owns its memory) is
            // copied here.
            const piece = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? Buffer.from(view) : view;
            await emit(piece, piece.length === buf.length);
          }
          if (failure) break;
        }
      } else {
        // The chunk buffer starts small and grows to chunkBytes: a 4 KiB PUT must not allocate (and make
        // the GC account for) a whole chunk. With a size hint, the first buffer is the right size.
        // `size` counts the bytes already emitted in earlier chunks; once a whole chunk has gone, the body
        // is a large one and each next buffer is a whole chunk (no growing copies).
        const first = (): number =>
          Math.min(this.chunkBytes, sizeHint !== undefined ? Math.max(1, sizeHint - size) : size > 0 ? this.chunkBytes : 64 * 1024);
        // A buffer of a whole chunk is a reused ChunkBuffer (`held`), a smaller one is allocated.
        let held: ChunkBuffer | undefined;
        const alloc = (n: number): Buffer => {
          held = n === this.chunkBytes ? this.buffers.acquire() : undefined;
          return held ? held.data : Buffer.allocUnsafeSlow(n);
        };
        let fill = 0;
        let cur = alloc(first());
        for await (const piece of body as AsyncIterable<Uint8Array | string>) {
          signal?.throwIfAborted();
          if (failure) break;
          let src = toBuffer(piece);
          while (src.length > 0) {
            if (fill === cur.length && cur.length < this.chunkBytes) {
              const grown = alloc(Math.min(this.chunkBytes, Math.max(cur.length * 4, fill + src.length)));
              cur.copy(grown, 0, 0, fill);
              cur = grown;
            }
            const n = Math.min(src.length, cur.length - fill);
            // A chunk buffer is shared memory: copied by the addon (copyBytes says why).
            copyBytes(cur, fill, n === src.length ? src : src.subarray(0, n));
            fill += n;
            src = src.subarray(n);
            if (fill === this.chunkBytes) {
              await emit(cur, false, held);
              cur = alloc(first());
              fill = 0;
            }
          }
        }
        if (fill > 0 && !failure) await emit(cur.subarray(0, fill), size === 0, held);
        else held?.release(); // not used: back to the free list
      }
      await Promise.allSettled(inflight);
      if (failure) throw failure;
      signal?.throwIfAborted();
      return { chunks, size, md5: md5Whole ?? (md5Thread ? await md5Thread.digest() : md5.digest()) };
    } catch (err) {
      md5Thread?.drop(); // after a digest: nothing to drop
      throw err;
    }
  }

  /**
   * writeChunks for a body given whole that is one small chunk (a 4 KiB PUT): the same steps without the
   * pipeline of a streamed body — one framing (MD5 included, batched with other small chunks), one append.
   * A small PUT allocated ~15 KB of short-lived JS objects, a third of it in that pipeline.
   */
  private async writeSmallBody(raw: Buffer, uploadId: number, partNumber: number, chunks: ChunkRef[], signal?: AbortSignal, bucket?: string): Promise<WrittenBody> {
    const rawLen = raw.length;
    chunks.push({ segmentId: 0, offset: 0, frameLen: 0, rawLen });
    const meta = { uploadId, partNumber, chunkIndex: 0, rawLen };
    const dict = bucket === undefined ? undefined : this.dicts()?.forSmallChunk(bucket, raw);
    this.framingBytes += rawLen;
    let framed: Framed;
    let r: AppendResult;
    try {
      try {
        framed = await this.pool().frameSmall(raw, meta, true, dict);
      } finally {
        this.framingBytes -= rawLen;
      }
      this.checkWritable();
      r = this.writer().append(framed.frame, { type: RecordType.CHUNK, chunk: meta }, false);
    } catch (err) {
      if (dict !== undefined) this.dicts()!.release(dict);
      throw err;
    }
    chunks[0] = { segmentId: r.segmentId, offset: r.offset, frameLen: framed.frame.length, rawLen };
    // As in writeChunks: the COMMIT appended later cannot become durable before this chunk. The
    // dictionary's pin ends when the write settles (a handler either way, so a failure is not unhandled).
    if (dict !== undefined) {
      const unpin = this.dicts()!.unpinOf(dict);
      r.done.then(unpin, unpin);
    } else r.done.catch(() => undefined);
    if (this.writer().queuedBytes > WRITER_QUEUE_BYTES_MAX) await r.done;
    signal?.throwIfAborted();
    return { chunks, size: rawLen, md5: framed.md5 as Buffer };
  }
}
