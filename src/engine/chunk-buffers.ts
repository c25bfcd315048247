// Reused buffers for the chunks of large uploads (docs/PERFORMANCE.md, "Large PUT: reused chunk buffers").
// A fresh 1 MiB buffer costs a page fault per 4 KiB page on first touch (a copy into fresh memory ran at
// ~2.3 GB/s here, into memory touched before at ~17 GB/s), and a large PUT used to fill three per chunk:
// the chunk itself, the MD5 thread's copy of it and the framing worker's frame. A ChunkBuffer is shared
// memory laid out as a whole CHUNK frame, so that all three are one:
//
//   [0, CHUNK_FRAME_HEAD_BYTES)  frame header + chunk meta, written by whoever frames the chunk raw
//   [CHUNK_FRAME_HEAD_BYTES, +capacity)   the chunk's bytes, filled by the upload
//   then FRAME_HASH_BYTES          the frame's xxh64, written with the header
//
// The MD5 thread reads the bytes in place while a framing worker frames them (neither writes them), and a
// chunk stored raw is written to its segment from the same memory. Each user holds a reference; the last
// release() puts the buffer back in the free list. Invariant: a buffer is released only once nobody reads
// it any more (hashed, framed and, when framed in place, written); a holder that cannot know (a failed
// task) drops its reference without releasing, and the buffer is left to the garbage collector.
import { CHUNK_META_BYTES, FRAME_HASH_BYTES, FRAME_HEADER_BYTES } from '../format/constants.js';

/** Bytes in front of the chunk's data: the frame header and the chunk meta (docs/FORMAT.md §2.2, §2.3). */
export const CHUNK_FRAME_HEAD_BYTES = FRAME_HEADER_BYTES + CHUNK_META_BYTES;

export class ChunkBuffer {
  /** The whole shared buffer: head room, data, hash room. */
  readonly whole: Buffer;
  /** The data area (capacity bytes). */
  readonly data: Buffer;
  private refs = 1;

  constructor(
    readonly capacity: number,
    private readonly owner: ChunkBuffers,
  ) {
    const sab = new SharedArrayBuffer(CHUNK_FRAME_HEAD_BYTES + capacity + FRAME_HASH_BYTES);
    this.whole = Buffer.from(sab);
    this.data = this.whole.subarray(CHUNK_FRAME_HEAD_BYTES, CHUNK_FRAME_HEAD_BYTES + capacity);
  }

  /** Adds a user; each retain() must be matched by one release() (or the buffer is dropped). */
  retain(): this {
    if (this.refs <= 0) throw new Error('assertion failed: ChunkBuffer retained after its last release');
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('assertion failed: ChunkBuffer released more often than retained');
    if (--this.refs === 0) this.owner.giveBack(this);
  }

  /** For the free list: a buffer handed out again starts with one reference. */
  reset(): void {
    this.refs = 1;
  }

  /** True when `frame` is a view of this buffer (the chunk was framed in place). */
  holds(frame: Uint8Array): boolean {
    return frame.buffer === this.whole.buffer;
  }
}

export class ChunkBuffers {
  private readonly free: ChunkBuffer[] = [];
  /** Buffers made (for tests and stats). */
  created = 0;
  /** Buffers handed out again from the free list (for tests and stats). */
  reused = 0;
  private lastAcquireMs = 0;
  private trimTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Every released buffer is kept while uploads run, so their number is the most in use at once (bounded
   * by the engine's queues: framing, MD5 and writer). Dropping some while busy would cost far more than
   * memory: a SharedArrayBuffer lives until every thread it was posted to has garbage-collected its handle,
   * and the framing and MD5 threads collect rarely. With buffers dropped past 16, the 16 × 1 GiB soak's
   * server RSS reached 1,079 MiB; kept, 448 MiB. After `idleMs` without an acquire(), the free list is cut
   * to `idleKeep` buffers.
   */
  constructor(
    readonly capacity: number,
    readonly idleKeep: number,
    readonly idleMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  acquire(): ChunkBuffer {
    this.lastAcquireMs = this.now();
    const b = this.free.pop();
    if (b) {
      b.reset();
      this.reused++;
      return b;
    }
    this.created++;
    return new ChunkBuffer(this.capacity, this);
  }

  /** Called by ChunkBuffer.release() at the last reference. */
  giveBack(b: ChunkBuffer): void {
    this.free.push(b);
    if (this.free.length > this.idleKeep && this.trimTimer === undefined && this.idleMs > 0) this.scheduleTrim(this.idleMs);
  }

  private scheduleTrim(delayMs: number): void {
    this.trimTimer = setTimeout(() => {
      this.trimTimer = undefined;
      const left = this.idleMs - (this.now() - this.lastAcquireMs);
      if (left > 0) this.scheduleTrim(left);
      else this.trimIdle();
    }, delayMs);
    this.trimTimer.unref?.();
  }

  /** Cuts the free list to `idleKeep` if nothing was acquired for `idleMs` (the timer calls this too). */
  trimIdle(): void {
    if (this.now() - this.lastAcquireMs >= this.idleMs && this.free.length > this.idleKeep) this.free.length = this.idleKeep;
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Lets the kept buffers go (engine close). */
  clear(): void {
    if (this.trimTimer !== undefined) clearTimeout(this.trimTimer);
    this.trimTimer = undefined;
    this.free.length = 0;
  }
}
