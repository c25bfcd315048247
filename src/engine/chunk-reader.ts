// The read side of GET: which chunks hold a byte range, reading and verifying them (large compressed ones
// decompressed in the worker pool, a group of chunks per task), and streaming them with a bounded
// read-ahead. A lent stream (getObjectData with `lend`, the S3 adapter) reads each group into a reused
// shared group buffer that goes back to the free list once the consumer has released every piece of it;
// a plain stream gives memory of the consumer's own. Invariant: a group buffer is reused only after its
// last piece is released and its read (and worker task) is over.
import { Readable } from 'node:stream';
import { CHUNK_META_BYTES, CODEC_MASK, CODEC_ZSTD, FRAME_MIN_BYTES, RecordType, StorageClass } from '../format/constants.js';
import type { ChunkRef, ObjectManifest } from '../format/records.js';
import { CorruptionError } from '../util/errors.js';
import { ChunkBuffers, type ChunkBuffer } from './chunk-buffers.js';
import { openChunkFrame } from './chunk-codec.js';
import type { ChunkPool } from './chunk-pool.js';
import type { ColdReader } from './cold-reader.js';
import { verifyFrame, type SegmentStore } from './segment-store.js';
import type { LentBytes } from './types.js';

/** A GET stream reads (and decompresses) chunks in groups of this many, one worker task per group... */
const OPEN_BATCH_CHUNKS = 2;
/** ...with up to this many groups in flight ahead of the consumer... */
const READ_AHEAD_BATCHES = 2;
/** ...while the groups read ahead by all GET streams together hold less than this many raw bytes. */
export const READ_AHEAD_BYTES_MAX_DEFAULT = 24 << 20;
/**
 * Group buffers of lent GET streams (getObjectData with `lend`: the S3 adapter) kept once no GET has needed
 * one for `idleMs`: each holds OPEN_BATCH_CHUNKS chunks, decompressed into it by a worker or,
 * stored raw, read into it as whole frames.
 */
const GET_BUFFERS_IDLE_KEEP = 2;
/** The fixed bytes of a CHUNK frame: header, chunk meta, hash. */
const CHUNK_FRAME_BYTES = FRAME_MIN_BYTES + CHUNK_META_BYTES;

/** A piece of a GET: bytes [from, to) of a chunk; `cold` when the chunk is in a cold segment. */
export interface Piece {
  ref: ChunkRef;
  from: number;
  to: number;
  cold?: boolean;
  /** A cold piece: its object's uploadId, which every chunk of the object carries (checked on read). */
  uploadId?: number;
}

export class ChunkReader {
  /** Reused memory for the chunk groups of lent GET streams. */
  private readonly buffers: ChunkBuffers;
  /** Raw bytes of groups read ahead by all streams right now (bounded by readAheadBytesMax). */
  private readAheadBytes = 0;

  /**
   * `pool` and `cold` are asked for at each read: the engine sets them up after this reader. Group buffers
   * beyond GET_BUFFERS_IDLE_KEEP are dropped after `idleMs` without a lent GET.
   */
  constructor(
    private readonly store: SegmentStore,
    private readonly pool: () => ChunkPool,
    private readonly cold: () => ColdReader,
    chunkBytes: number,
    private readonly readAheadBytesMax: number,
    idleMs: number,
  ) {
    // room for a group's chunks decompressed, or for their frames read whole (stored raw)
    this.buffers = new ChunkBuffers(OPEN_BATCH_CHUNKS * (chunkBytes + CHUNK_FRAME_BYTES), GET_BUFFERS_IDLE_KEEP, idleMs);
  }

  /**
   * The bytes [start, end] of an object as lent pieces (LentBytes); the first chunk is read and verified
   * before this resolves, so a damaged object is an error, not a cut stream.
   */
  async lent(manifest: ObjectManifest, start: number, end: number): Promise<AsyncGenerator<LentBytes, void, undefined>> {
    const pieces = this.planRange(manifest, start, end);
    const { first, unpin } = await this.openStream(pieces);
    const gen = this.streamChunks(pieces, first, true, unpin);
    // A consumer may let the stream go before its first step (a HEAD): return() then skips the body's finally.
    const ret = gen.return.bind(gen);
    gen.return = (value) => {
      unpin();
      return ret(value);
    };
    return gen;
  }

  /** The bytes [start, end] of an object as a stream of memory of its own; the first chunk is read and verified before this resolves. */
  async body(manifest: ObjectManifest, start: number, end: number): Promise<Readable> {
    const pieces = this.planRange(manifest, start, end);
    const { first, unpin } = await this.openStream(pieces);
    const stream = Readable.from(bytesOf(this.streamChunks(pieces, first, false, unpin)), { objectMode: false, highWaterMark: 1 });
    stream.once('close', unpin); // ended, or destroyed before it ever started reading
    return stream;
  }

  /**
   * Pins the segments the pieces are in now (hot and cold), so neither compaction nor cold garbage
   * collection removes any of them while the stream lasts:
   * a version overwritten or deleted meanwhile is still read whole, as S3 serves a GET that began before.
   * Then reads and verifies the first chunk before answering, so a damaged object is an error, not a cut
   * stream.
   */
  private async openStream(pieces: Piece[]): Promise<{ first: Buffer | undefined; unpin: () => void }> {
    const unpinHot = this.store.pin(pieces.filter((p) => !p.cold).map((p) => this.store.where(p.ref.segmentId, p.ref.offset).segmentId));
    // Cold segments likewise: cold garbage collection deletes none a stream still has to read.
    const coldIds = pieces.filter((p) => p.cold).map((p) => p.ref.segmentId);
    const unpinCold = coldIds.length > 0 ? this.cold().pin(coldIds) : noop;
    const unpin = (): void => {
      unpinHot();
      unpinCold();
    };
    try {
      return { first: pieces.length > 0 ? await this.readChunk(pieces[0]!) : undefined, unpin };
    } catch (err) {
      unpin();
      throw err;
    }
  }

  /** The chunk pieces that hold bytes [start, end] of an object. */
  planRange(manifest: ObjectManifest, start: number, end: number): Piece[] {
    const out: Piece[] = [];
    const cold = manifest.storageClass === StorageClass.COLD;
    let pos = 0;
    for (const ref of manifest.chunks) {
      const cStart = pos;
      const cEnd = pos + ref.rawLen - 1;
      pos += ref.rawLen;
      if (cEnd < start || ref.rawLen === 0) continue;
      if (cStart > end) break;
      const piece: Piece = { ref, from: Math.max(start, cStart) - cStart, to: Math.min(end, cEnd) - cStart + 1, cold };
      if (cold) piece.uploadId = manifest.uploadId;
      out.push(piece);
    }
    return out;
  }

  /** One piece's bytes, read and verified: memory of the caller's own. */
  async readChunk(p: Piece): Promise<Buffer> {
    if (p.cold) return this.cold().readChunk(p);
    const { ref } = p;
    let raw: Buffer;
    // Errors name where the bytes are now (a pack after compaction), not the original address.
    const at = this.store.where(ref.segmentId, ref.offset);
    const bytes = await this.store.readRaw(at.segmentId, at.offset, ref.frameLen);
    if (ref.rawLen >= this.pool().poolMinBytes && this.pool().usingWorkers && (bytes[9]! & CODEC_MASK) === CODEC_ZSTD) {
      // Large compressed chunks are verified and decompressed in the worker pool (bytes[9] is the frame's
      // flags byte; the worker checks it with everything else). Stored-raw chunks are only hashed: a
      // thread hop costs more than that, so they are verified here.
      raw = await this.pool().open(bytes, at.segmentId, at.offset);
    } else {
      raw = openChunkFrame(verifyFrame(bytes, at.segmentId, at.offset, RecordType.CHUNK), at.segmentId, at.offset, this.pool().dicts).raw;
    }
    if (raw.length !== ref.rawLen) throw new CorruptionError(at.segmentId, at.offset, 'chunk length differs from the manifest');
    return p.from === 0 && p.to === raw.length ? raw : raw.subarray(p.from, p.to);
  }

  /**
   * Reads and verifies several consecutive pieces: large zstd chunks go to the worker pool together (one
   * thread round trip for the lot), others are verified here. Resolves to each piece's bytes, in order.
   * With `into` (a group buffer), the worker decompresses the large zstd chunks into its start, and chunks
   * stored raw are read as whole frames into the room after that: those pieces are views of it.
   */
  private async readChunks(ps: Piece[], into?: ChunkBuffer): Promise<Buffer[]> {
    if (ps.length === 1 || ps[0]?.cold) return Promise.all(ps.map((p) => this.readChunk(p)));
    // Where each chunk is now (a pack after compaction): reads and error reports use that address.
    const at = ps.map((p) => ({ ...this.store.where(p.ref.segmentId, p.ref.offset), rawLen: p.ref.rawLen }));
    // The layout of `into`, from the manifest: the decompressed chunks first, then the raw frames. Should a
    // frame's flags disagree with the manifest (damage), the batch does not fit its room and the worker
    // gets no shared memory; a raw frame read into the room is still verified like any other.
    let decompressedBytes = 0;
    for (const p of ps) if (storedCompressed(p) && p.ref.rawLen >= this.pool().poolMinBytes) decompressedBytes += p.ref.rawLen;
    let pos = decompressedBytes;
    const dst = ps.map((p) => {
      if (into === undefined || storedCompressed(p) || pos + p.ref.frameLen > into.data.length) return undefined;
      pos += p.ref.frameLen;
      return into.data.subarray(pos - p.ref.frameLen, pos);
    });
    const frames = await Promise.all(ps.map((p, i) => this.store.readRaw(at[i]!.segmentId, at[i]!.offset, p.ref.frameLen, dst[i])));
    const raws: Buffer[] = new Array<Buffer>(ps.length);
    const batch: number[] = [];
    for (let i = 0; i < ps.length; i++) {
      const ref = ps[i]!.ref;
      const a = at[i]!;
      if (ref.rawLen >= this.pool().poolMinBytes && this.pool().usingWorkers && (frames[i]![9]! & CODEC_MASK) === CODEC_ZSTD) batch.push(i);
      else raws[i] = openChunkFrame(verifyFrame(frames[i]!, a.segmentId, a.offset, RecordType.CHUNK), a.segmentId, a.offset, this.pool().dicts).raw;
    }
    if (batch.length > 0) {
      const opened = await this.pool().openBatch(batch.map((i) => frames[i]!), batch.map((i) => at[i]!), into?.data.subarray(0, decompressedBytes));
      batch.forEach((i, k) => (raws[i] = opened[k]!));
    }
    return raws.map((raw, i) => {
      const p = ps[i]!;
      if (raw.length !== p.ref.rawLen) throw new CorruptionError(at[i]!.segmentId, at[i]!.offset, 'chunk length differs from the manifest');
      return p.from === 0 && p.to === raw.length ? raw : raw.subarray(p.from, p.to);
    });
  }

  /**
   * Yields the pieces in order, reading them in groups of OPEN_BATCH_CHUNKS with up to READ_AHEAD_BATCHES
   * groups in flight (reads and worker decompressions), so the main thread only hands buffers on.
   * `lend`: each group's large compressed chunks are decompressed into a reused group buffer (`buffers`),
   * which goes back to the free list once the consumer has released every piece of it; otherwise every
   * piece is the consumer's own and release() does nothing.
   */
  private async *streamChunks(pieces: Piece[], first: Buffer | undefined, lend: boolean, unpin: () => void): AsyncGenerator<LentBytes, void, undefined> {
    if (first === undefined) {
      unpin();
      return;
    }
    const ahead: Array<{ bytes: number; read: Promise<Buffer[]>; held?: ChunkBuffer }> = [];
    let next = 1;
    // Reads ahead within the budget all streams share. `waiting`: the consumer has asked for bytes no read
    // holds, so one group is read whatever the budget (a stream never waits on the others). A consumer
    // that stops taking bytes (a client that stopped reading) thus holds only what it was given, plus
    // read-ahead the budget allowed: never a group of its own beyond that.
    const fill = (waiting: boolean): void => {
      while (ahead.length < READ_AHEAD_BATCHES && next < pieces.length && ((waiting && ahead.length === 0) || this.readAheadBytes < this.readAheadBytesMax)) {
        const group = pieces.slice(next, next + OPEN_BATCH_CHUNKS);
        next += group.length;
        const bytes = group.reduce((n, piece) => n + piece.ref.rawLen, 0);
        // A group larger than this engine's groups (chunks written with a larger chunkBytes) gets memory of its own.
        const held = lend && group.length > 1 && !group[0]!.cold && groupRoom(group) <= this.buffers.capacity ? this.buffers.acquire() : undefined;
        const read = this.readChunks(group, held);
        read.catch(() => undefined); // observed when its turn comes; a consumer that stops early must not leave it unhandled
        this.readAheadBytes += bytes;
        ahead.push({ bytes, read, held });
      }
    };
    const own = (bytes: Buffer): LentBytes => ({ bytes, release: noop });
    try {
      fill(false);
      yield own(first);
      while (next < pieces.length || ahead.length > 0) {
        fill(true);
        const { bytes, read, held } = ahead.shift()!;
        let group: Buffer[];
        try {
          group = await read;
        } catch (err) {
          // The task is over (a damaged chunk): nothing reads the buffer any more.
          held?.release();
          throw err;
        } finally {
          this.readAheadBytes -= bytes;
        }
        fill(false);
        if (held === undefined) {
          for (const b of group) yield own(b);
          continue;
        }
        // One reference per piece in the buffer, given to the consumer; the group's own goes when all are handed out.
        const lent = group.map((b) => (b.buffer === held.whole.buffer ? { bytes: b, release: once(held.retain()) } : own(b)));
        held.release();
        let handed = 0;
        try {
          while (handed < lent.length) yield lent[handed++]!;
        } finally {
          // a consumer that stopped at a yield holds the pieces it was given, not the rest of the group
          for (let j = handed; j < lent.length; j++) lent[j]!.release();
        }
      }
    } finally {
      unpin();
      for (const a of ahead) {
        this.readAheadBytes -= a.bytes; // a consumer that stopped early
        // Its buffer goes back once the worker is done with it.
        if (a.held) a.read.then(() => a.held!.release(), () => a.held!.release());
      }
    }
  }

  stats(): { getBuffersCreated: number; getBuffersReused: number; readAheadBytes: number } {
    return { getBuffersCreated: this.buffers.created, getBuffersReused: this.buffers.reused, readAheadBytes: this.readAheadBytes };
  }

  /** Lets the kept group buffers go (engine close). */
  clear(): void {
    this.buffers.clear();
  }
}

const noop = (): void => undefined;

/** A chunk stored compressed has a frame shorter than its raw bytes plus the frame's fixed parts (never stored when it does not pay). */
function storedCompressed(p: Piece): boolean {
  return p.ref.frameLen < p.ref.rawLen + CHUNK_FRAME_BYTES;
}

/** The room a group of pieces takes in a group buffer (readChunks): raw bytes if decompressed, else whole frames. */
function groupRoom(group: Piece[]): number {
  let n = 0;
  for (const p of group) n += storedCompressed(p) ? p.ref.rawLen : p.ref.frameLen;
  return n;
}

/** The release of one lent piece: a second call does nothing (a buffer must not go back twice). */
function once(b: ChunkBuffer): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    b.release();
  };
}

/** The bytes of a stream's pieces, for a consumer that keeps them (every piece its own memory). */
async function* bytesOf(pieces: AsyncIterable<LentBytes>): AsyncGenerator<Buffer> {
  for await (const p of pieces) yield p.bytes;
}
