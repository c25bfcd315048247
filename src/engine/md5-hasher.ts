// MD5 of large bodies off the main thread (docs/PERFORMANCE.md, "Large PUT: MD5 off the main thread").
// An object's ETag is the MD5 of all its bytes, in order, so the hash of one upload cannot be split
// across the pool's workers the way chunk framing is. One dedicated thread keeps a running MD5 per
// upload instead: the main thread posts a copy of each chunk (one memcpy, ~0.1 ms a MiB, against ~1.6 ms
// a MiB to hash it here) and asks for the digest after the last one. The copy is made before the chunk
// is transferred to a framing worker, while the main thread still owns its bytes.
// Back-pressure: the copies posted and not yet hashed are bounded (QUEUED_BYTES_MAX, all uploads together).
// Past it, update() returns a promise that resolves once the thread has caught up, and the upload waits
// for it before reading more of its body: with many uploads at once the thread can fall behind, and
// without a bound the copies would pile up in memory.
import { existsSync } from 'node:fs';
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

/** Copies posted to the thread and not yet hashed, all uploads together, before update() asks callers to wait. */
export const QUEUED_BYTES_MAX = 16 << 20;

/** One upload's running MD5 in the hasher thread. */
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

export class Md5Hasher {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
  private readonly filename = workerPath();
  private failure: unknown;
  /** Bytes posted for hashing and not yet reported hashed. */
  private queuedBytes = 0;
  private roomWaiters: Array<() => void> = [];
  /** One per update posted and not yet answered, in order: what to call when the thread reports it hashed. */
  private hashedCallbacks: Array<(() => void) | undefined> = [];
  /** Streams started (for stats and tests). */
  streamsStarted = 0;

  get available(): boolean {
    return this.filename !== undefined && this.failure === undefined;
  }

  stream(): Md5Stream {
    const worker = this.start();
    const id = this.nextId++;
    this.streamsStarted++;
    let done = false;
    const post = (m: Md5Message, transfer?: ArrayBuffer[]): void => worker.postMessage(m, transfer);
    return {
      update: (data, onHashed) => {
        if (done) return;
        if (onHashed !== undefined) {
          if (!(data.buffer instanceof SharedArrayBuffer)) throw new Error('assertion failed: Md5Stream.update(data, onHashed) needs shared memory');
          // Shared memory is cloned as a reference, not copied.
          this.queuedBytes += data.byteLength;
          post({ op: 'update', id, data });
        } else {
          // One copy, then a transfer: cloning a view would serialize its whole ArrayBuffer (all of a
          // caller's 64 MiB body for each 1 MiB piece of it).
          const own = new Uint8Array(data);
          this.queuedBytes += own.byteLength; // before the transfer detaches `own`
          post({ op: 'update', id, data: own }, [own.buffer as ArrayBuffer]);
        }
        // The thread answers every update, in the order posted.
        this.hashedCallbacks.push(onHashed);
        if (this.queuedBytes <= QUEUED_BYTES_MAX || this.failure !== undefined) return undefined;
        return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      },
      digest: () => {
        done = true;
        if (this.failure !== undefined) return Promise.reject(this.failure);
        return new Promise<Buffer>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          post({ op: 'digest', id });
        });
      },
      drop: () => {
        if (done) return;
        done = true;
        post({ op: 'drop', id });
      },
    };
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    if (!this.filename) throw new Error('assertion failed: Md5Hasher.stream() without a worker file (check `available`)');
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
      // A dead hasher fails the uploads waiting on it (their bodies cannot be hashed again); later
      // uploads hash on the main thread (`available` turns false).
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
