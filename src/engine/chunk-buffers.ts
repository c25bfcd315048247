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

  /**
   * `freeMax` bounds the memory kept while idle (freeMax × capacity); past it, released buffers are left
   * to the garbage collector.
   */
  constructor(
    readonly capacity: number,
    readonly freeMax: number,
  ) {}

  acquire(): ChunkBuffer {
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
    if (this.free.length < this.freeMax) this.free.push(b);
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Lets the kept buffers go (engine close). */
  clear(): void {
    this.free.length = 0;
  }
}
