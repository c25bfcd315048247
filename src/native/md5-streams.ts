// Running MD5s of several streams at once (the MD5 thread's uploads, src/engine/md5-worker.ts), advanced
// side by side by the addon's multi-buffer MD5 (`md5Blocks`, native/src/md5-multi.c): one MD5 is a chain
// of dependent steps, but the chains of different uploads can share the vector unit, so four uploads hashed
// together cost about what two cost one after the other (bench/md5.bench.ts).
//
// Contract: update() only queues (the bytes are read later, so they must stay unchanged until its `onDone`
// is called: once, when they are no longer needed); round() hashes the next piece of every stream with
// one queued, flush() everything queued; digest() returns the MD5 of all the stream's bytes and ends the
// stream. The result is the MD5 of the bytes in update order, exactly as node:crypto
// gives it (test/md5-streams.test.ts). Without the addon's md5Blocks, each stream is a node:crypto Hash.
import { createHash, type Hash } from 'node:crypto';
import { nativeAddon } from './index.js';

/**
 * A stream with more pieces queued than this means the hashing is behind (see `behind`). Over HTTP, pieces
 * of one upload come in bursts: at 1 a round ran with 2.0 uploads on average, at 3 with 2.9 (the MD5 thread
 * of `sediment serve`, 4 uploads of 64 MiB at once, session 19).
 */
const BEHIND_PIECES = 3;

/** MD5's initial state (A, B, C, D), little-endian: the byte order md5Blocks keeps states in. */
const IV = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');

interface Stream {
  /** A, B, C, D little-endian: after the final block, the digest itself. */
  state: Buffer;
  /** Bytes after the last whole 64-byte block hashed (< 64 between rounds). */
  tail: Buffer;
  tailLen: number;
  total: number;
  queue: Uint8Array[];
  /** Per queued piece: called once its bytes are no longer needed. */
  done: Array<(() => void) | undefined>;
}

export interface Md5StreamSet {
  /** Streams started and not yet ended, and how many of them have bytes queued. */
  readonly open: number;
  readonly queued: number;
  /** True when some stream has more than BEHIND_PIECES pieces queued (the hashing is behind). */
  readonly behind: boolean;
  update(id: number, data: Uint8Array, onDone?: () => void): void;
  /** Hashes the next queued piece of every stream that has one; false once nothing is queued. */
  round(): boolean;
  flush(): void;
  digest(id: number): Buffer;
  /** Ends the stream; the `onDone` of its queued pieces are called. */
  drop(id: number): void;
}

/** One node:crypto Hash per stream: the fallback, hashing at update() time. */
class CryptoStreams implements Md5StreamSet {
  private readonly hashes = new Map<number, Hash>();
  get open(): number {
    return this.hashes.size;
  }
  readonly queued = 0;
  readonly behind = false;
  update(id: number, data: Uint8Array, onDone?: () => void): void {
    let h = this.hashes.get(id);
    if (!h) this.hashes.set(id, (h = createHash('md5')));
    h.update(data);
    onDone?.();
  }
  round(): boolean {
    return false;
  }
  flush(): void {}
  digest(id: number): Buffer {
    const h = this.hashes.get(id) ?? createHash('md5');
    this.hashes.delete(id);
    return h.digest();
  }
  drop(id: number): void {
    this.hashes.delete(id);
  }
}

type Md5Blocks = (states: Uint8Array, datas: Uint8Array[]) => number;

/** Streams advanced together by md5Blocks, one piece of each stream per call. */
class LaneStreams implements Md5StreamSet {
  private readonly streams = new Map<number, Stream>();
  /** Streams with something queued, in the order they got it. */
  private readonly busy = new Set<Stream>();
  /** Calls of md5Blocks so far, and streams advanced by them (for tests: more than one per call means lanes shared). */
  readonly counts = { calls: 0, jobs: 0 };

  constructor(private readonly blocks: Md5Blocks) {}

  get open(): number {
    return this.streams.size;
  }

  get queued(): number {
    return this.busy.size;
  }

  get behind(): boolean {
    for (const s of this.busy) if (s.queue.length > BEHIND_PIECES) return true;
    return false;
  }

  update(id: number, data: Uint8Array, onDone?: () => void): void {
    let s = this.streams.get(id);
    if (!s) this.streams.set(id, (s = { state: Buffer.from(IV), tail: Buffer.alloc(64), tailLen: 0, total: 0, queue: [], done: [] }));
    if (data.length === 0) {
      onDone?.();
      return;
    }
    s.total += data.length;
    s.queue.push(data);
    s.done.push(onDone);
    this.busy.add(s);
  }

  round(): boolean {
    const datas: Uint8Array[] = [];
    const owners: Stream[] = [];
    /** Pieces used up by this round: their callbacks run once the round's hashing is done. */
    const finished: Array<() => void> = [];
    for (const s of this.busy) {
      const job = this.nextJob(s, finished);
      if (s.queue.length === 0) this.busy.delete(s);
      if (job === undefined) continue;
      owners.push(s);
      datas.push(job);
    }
    if (owners.length > 0) {
      const packed = Buffer.allocUnsafe(16 * owners.length);
      for (let i = 0; i < owners.length; i++) owners[i]!.state.copy(packed, 16 * i);
      this.blocks(packed, datas);
      this.counts.calls++;
      this.counts.jobs += owners.length;
      for (let i = 0; i < owners.length; i++) packed.copy(owners[i]!.state, 0, 16 * i, 16 * i + 16);
      for (const s of owners) if (s.tailLen === 64) s.tailLen = 0; // a filled tail was this round's block
    }
    for (const f of finished) f();
    return this.busy.size > 0;
  }

  flush(): void {
    while (this.round());
  }

  /**
   * This round's whole blocks of `s` (at most one job per stream per call: a stream's blocks depend on
   * each other), taken from its queue; bytes short of a block go to its tail. Undefined: nothing to hash
   * this round (the piece only added to the tail).
   */
  private nextJob(s: Stream, finished: Array<() => void>): Uint8Array | undefined {
    let piece = s.queue[0]!;
    if (s.tailLen > 0) {
      const take = Math.min(64 - s.tailLen, piece.length);
      s.tail.set(piece.subarray(0, take), s.tailLen);
      s.tailLen += take;
      piece = piece.subarray(take);
      if (piece.length === 0) this.shift(s, finished);
      else s.queue[0] = piece;
      return s.tailLen === 64 ? s.tail : undefined;
    }
    this.shift(s, finished);
    const whole = piece.length - (piece.length % 64);
    if (whole < piece.length) {
      s.tail.set(piece.subarray(whole));
      s.tailLen = piece.length - whole;
    }
    return whole > 0 ? piece.subarray(0, whole) : undefined;
  }

  /** Takes the first queued piece off `s`, its callback to `finished`. */
  private shift(s: Stream, finished: Array<() => void>): void {
    s.queue.shift();
    const f = s.done.shift();
    if (f !== undefined) finished.push(f);
  }

  digest(id: number): Buffer {
    const s = this.streams.get(id);
    this.streams.delete(id);
    if (s === undefined) return createHash('md5').digest();
    if (s.queue.length > 0) this.flush();
    // The padding: 0x80, zeros, then the length in bits (little-endian u64) closing the last block.
    const pad = Buffer.alloc(s.tailLen < 56 ? 64 : 128);
    s.tail.copy(pad, 0, 0, s.tailLen);
    pad[s.tailLen] = 0x80;
    pad.writeBigUInt64LE(BigInt(s.total) * 8n, pad.length - 8);
    this.blocks(s.state, [pad]);
    return s.state;
  }

  drop(id: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.streams.delete(id);
    this.busy.delete(s);
    for (const f of s.done) f?.();
  }
}

/** A set of running MD5s: side by side with the addon, one node:crypto Hash each without it. */
export function md5Streams(opts: { blocks?: Md5Blocks; fallback?: boolean } = {}): Md5StreamSet & { counts?: { calls: number; jobs: number } } {
  if (opts.fallback) return new CryptoStreams();
  const native = nativeAddon?.md5Blocks;
  const blocks = opts.blocks ?? (native === undefined ? undefined : (states: Uint8Array, datas: Uint8Array[]) => native(states, datas));
  return blocks === undefined ? new CryptoStreams() : new LaneStreams(blocks);
}
