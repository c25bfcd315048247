// MD5 of large bodies off the main thread (docs/PERFORMANCE.md, "Large PUT: MD5 off the main thread" and
// "MD5 threads").
// An object's ETag is the MD5 of all its bytes, in order, so the hash of one upload cannot be split
// across threads the way chunk framing is. MD5 threads keep a running MD5 per upload instead: an upload
// is given to one thread at its first chunk (the thread with the fewest uploads open) and stays there;
// the main thread posts each chunk to it (a view of shared memory read in place, or one memcpy, ~0.1 ms
// a MiB, against ~1.1–1.3 ms a MiB to hash it) and asks for the digest after the last one. The uploads of one
// thread are hashed side by side (md5-worker.ts): one upload runs at one chain's speed (~880 MB/s on this machine, 2026-11-28),
// four together at ~1.8 GB/s (the addon's multi-buffer MD5, 8 lanes with AVX2; ~2.3 GB/s with AVX-512VL,
// bench/md5.bench.ts).
// Back-pressure: the bytes posted to a thread and not yet hashed are bounded (QUEUED_BYTES_MAX per thread).
// Past it, update() returns a promise that resolves once that thread has caught up, and the upload waits
// for it before reading more of its body: without a bound the copies would pile up in memory.
// A thread that dies fails the uploads it held; later uploads go to the threads left, then (none left) are
// hashed on the main thread by the caller (`available` turns false).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Md5Message, Md5Reply } from './md5-worker.js';

function workerPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const candidate = here.endsWith('.ts')
    ? here.replace(/\/src\/engine\/md5-hasher\.ts$/, '/dist/src/engine/md5-worker.js')
    : here.replace(/md5-hasher\.js$/, 'md5-worker.js');
  return existsSync(candidate) ? candidate : undefined;
}

/** Copies posted to one thread and not yet hashed, before update() asks callers to wait. */
export const QUEUED_BYTES_MAX = 16 << 20;

/**
 * Default number of MD5 threads: one per two cores (at least 1, at most 8). Each thread hashes at one
 * core's MD5 speed, which caps all large uploads at once together; but on this 2-core machine a second
 * thread gave the S3 server nothing (docs/PERFORMANCE.md, "MD5 threads"): its cores are already taken by
 * HTTP, framing and the client, and one more busy thread only delays the main thread.
 */
export function defaultMd5Threads(cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, Math.floor(cores / 2)));
}

/** One upload's running MD5 in an MD5 thread. */
export interface Md5Stream {
  /**
   * Adds `data` (copied now: the caller may transfer or reuse it right after). Returns a promise when the
   * thread is behind (more than QUEUED_BYTES_MAX queued): the caller should wait for it before adding more.
   * With `onHashed`, `data` must be a view of a SharedArrayBuffer: the thread reads it in place (no copy),
   * the caller must not change those bytes until `onHashed` is called (once, after the thread has hashed
   * them; never if the thread dies first).
   */
  update(data: Uint8Array, onHashed?: () => void): Promise<void> | undefined;
  /** The MD5 of everything added; the stream is finished. */
  digest(): Promise<Buffer>;
  /** Abandons the stream (a failed upload). */
  drop(): void;
}

/** One MD5 thread and the uploads it holds. */
class Md5Lane {
  private worker: Worker | undefined;
  readonly waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
  failure: unknown;
  /** Bytes posted for hashing and not yet reported hashed. */
  queuedBytes = 0;
  /** Streams given to this thread and not yet finished (digest asked, or dropped). */
  open = 0;
  private roomWaiters: Array<() => void> = [];
  /** One per update posted and not yet answered, in order: what to call when the thread reports it hashed. */
  private hashedCallbacks: Array<(() => void) | undefined> = [];

  constructor(private readonly filename: string) {}

  /** Posts to the thread (started when first needed); nothing once it has died. */
  post(m: Md5Message, transfer?: ArrayBuffer[]): void {
    if (this.failure === undefined) this.start().postMessage(m, transfer);
  }

  /** Counts an update posted: the promise to wait on when this thread is past its bound. */
  posted(bytes: number, onHashed: (() => void) | undefined): Promise<void> | undefined {
    if (this.failure !== undefined) return undefined; // the upload's digest() rejects
    this.queuedBytes += bytes;
    this.hashedCallbacks.push(onHashed); // the thread answers every update, in the order posted
    if (this.queuedBytes <= QUEUED_BYTES_MAX) return undefined;
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.filename);
    w.unref();
    w.on('message', (r: Md5Reply) => {
      if ('hashed' in r) {
        this.hashedCallbacks.shift()?.();
        this.queuedBytes -= r.hashed;
        if (this.queuedBytes <= QUEUED_BYTES_MAX) this.wakeRoomWaiters();
        return;
      }
      const p = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      p?.resolve(Buffer.from(r.md5.buffer, r.md5.byteOffset, r.md5.byteLength));
    });
    const fail = (err: unknown): void => {
      // The uploads waiting on a dead thread fail (their bodies cannot be hashed again).
      this.failure = err ?? new Error('the MD5 thread exited');
      this.worker = undefined;
      for (const p of this.waiting.values()) p.reject(this.failure);
      this.waiting.clear();
      this.queuedBytes = 0;
      this.hashedCallbacks = []; // not called: their buffers are left to the garbage collector
      this.wakeRoomWaiters(); // their digest() rejects
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.worker === w) fail(new Error(`the MD5 thread exited (code ${code})`));
    });
    this.worker = w;
    return w;
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.wakeRoomWaiters();
    if (w) await w.terminate();
  }
}

export class Md5Hasher {
  private nextId = 1;
  private readonly lanes: Md5Lane[];
  /** Streams started (for stats and tests). */
  streamsStarted = 0;

  /**
   * `threads`: how many MD5 threads at most (started when first needed). `filename`: the thread's script
   * (md5-worker.js by default; tests give one that dies).
   */
  constructor(threads = defaultMd5Threads(), filename = workerPath()) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`md5Threads must be an integer ≥ 1, got ${threads}`);
    this.lanes = filename === undefined ? [] : Array.from({ length: threads }, () => new Md5Lane(filename));
  }

  get available(): boolean {
    return this.lanes.some((l) => l.failure === undefined);
  }

  /** Uploads open on each thread (for tests). */
  get openPerThread(): number[] {
    return this.lanes.map((l) => l.open);
  }

  stream(): Md5Stream {
    let lane: Md5Lane | undefined;
    for (const l of this.lanes) if (l.failure === undefined && (lane === undefined || l.open < lane.open)) lane = l;
    if (!lane) throw new Error('assertion failed: Md5Hasher.stream() with no MD5 thread (check `available`)');
    const id = this.nextId++;
    this.streamsStarted++;
    lane.open++;
    let done = false;
    const finish = (): void => {
      done = true;
      lane.open--;
    };
    return {
      update: (data, onHashed) => {
        if (done) return;
        if (onHashed !== undefined) {
          if (!(data.buffer instanceof SharedArrayBuffer)) throw new Error('assertion failed: Md5Stream.update(data, onHashed) needs shared memory');
          // Shared memory is cloned as a reference, not copied.
          lane.post({ op: 'update', id, data });
          return lane.posted(data.byteLength, onHashed);
        }
        // One copy, then a transfer: cloning a view would serialize its whole ArrayBuffer (all of a
        // caller's 64 MiB body for each 1 MiB piece of it).
        const own = new Uint8Array(data);
        const bytes = own.byteLength; // before the transfer detaches `own`
        lane.post({ op: 'update', id, data: own }, [own.buffer as ArrayBuffer]);
        return lane.posted(bytes, undefined);
      },
      digest: () => {
        if (!done) finish();
        if (lane.failure !== undefined) return Promise.reject(lane.failure);
        return new Promise<Buffer>((resolve, reject) => {
          lane.waiting.set(id, { resolve, reject });
          lane.post({ op: 'digest', id });
        });
      },
      drop: () => {
        if (done) return;
        finish();
        if (lane.failure === undefined) lane.post({ op: 'drop', id });
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}
