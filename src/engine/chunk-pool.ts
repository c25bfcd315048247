// The worker pool for chunk framing (PUT) and chunk opening (GET: verify + decompress). Chunks of at least
// `poolMinBytes` go to piscina workers one by one, with the buffers transferred. Smaller chunks (a 4 KiB
// PUT) are batched with `batchSmall` (the engine's default since session 16, docs/PERFORMANCE.md; inline
// otherwise): those requested in the same turn of the event loop go to a worker
// together (one thread hop for many chunks), with the MD5 of each whole small object computed there too, so
// that under load the main thread only appends and indexes; a turn with few small chunks (INLINE_ITEMS_MAX,
// INLINE_BYTES_MAX) frames them inline, as a thread hop would cost more than it saves, and so does a batch
// sent while all framing threads but one are busy (the main thread is the last one). Batches go to plain worker threads
// (batch-framers.ts), not piscina's: a round trip costs the main thread ~20 µs less that way
// (bench/worker-hop.bench.ts). If the compiled worker files are missing (running from sources without a
// build), everything is done inline.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ChunkMeta } from '../format/records.js';
import { RecordType } from '../format/constants.js';
import { CorruptionError, SedimentError } from '../util/errors.js';
import type { ChunkBuffer } from './chunk-buffers.js';
import { BatchFramers } from './batch-framers.js';
import { LoadCounter } from './worker-loaded.js';
import { md5Many } from '../native/index.js';
import { md5Buffer } from '../util/one-shot-hash.js';
import { batchLayout, buildChunkFrame, buildChunkFrameInPlace, openChunkFrame, packBatch, type ChunkDict, type DictLookup } from './chunk-codec.js';
import type { BatchTask, ChunkTask, InPlaceResult, InPlaceTask, OpenBatchResult, OpenBatchTask, OpenResult } from './chunk-worker.js';
import { verifyFrame } from './segment-store.js';

/**
 * A batch of small chunks is sent once it holds this many chunks or bytes. 32 rather than 16 since session 20:
 * each batch wakes a framing thread, which costs ~30 µs of the sender's CPU on this VM when that thread's
 * core is idle; 64 concurrent PUTs in two batches instead of four came out ahead in 12 of 18 paired runs,
 * with ~6 % less CPU; 64 (one batch, one thread) was 14 % behind (docs/PERFORMANCE.md, session 20).
 */
const BATCH_ITEMS_MAX = 32;
const BATCH_BYTES_MAX = 256 * 1024;
/**
 * A batch of at most this many chunks is framed inline instead (session 26). Waking a framing thread and
 * being woken by its reply costs both cores ~50 µs per batch on this VM; framing a 4 KiB chunk with its
 * MD5 costs ~14 µs. Over HTTP, where PUTs arrive spread out, batches held 8 chunks on median: sending them
 * cost the server 124–134 µs of CPU per 4 KiB PUT, framing up to 16 inline 104–108 (docs/PERFORMANCE.md).
 * The engine's lock-step load (64 PUTs released by one fsync) still sends full batches of 32.
 */
const INLINE_ITEMS_MAX = 16;
/** ... and of at most this many bytes: framing costs by the byte (16 chunks of 4 KiB, ~0.25 ms). */
const INLINE_BYTES_MAX = 64 * 1024;

export interface Framed {
  frame: Buffer;
  /** The MD5 of the raw bytes, when it was asked for. */
  md5?: Buffer;
}

interface Pending {
  raw: Uint8Array;
  meta: ChunkMeta;
  wantMd5: boolean;
  dict: ChunkDict | undefined;
  resolve: (f: Framed) => void;
  reject: (err: unknown) => void;
}

function workerPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.ts')
    ? [here.replace(/\/src\/engine\/chunk-pool\.ts$/, '/dist/src/engine/chunk-worker.js')]
    : [here.replace(/chunk-pool\.js$/, 'chunk-worker.js')];
  return candidates.find((p) => existsSync(p));
}

/** The plain framing thread's file next to chunk-worker.js (both are compiled together). */
function batchWorkerPath(chunkWorker: string): string | undefined {
  const p = chunkWorker.replace(/chunk-worker\.js$/, 'batch-worker.js');
  return existsSync(p) ? p : undefined;
}

export class ChunkPool {
  private pool: Piscina | undefined;
  /** After close() no chunk is framed (and no new pool started): an upload still running is refused. */
  private closed = false;
  /** Resolved worker file, or undefined for inline framing. Threads start on first use (open stays fast). */
  private readonly filename: string | undefined;
  /** The piscina threads that have loaded their module (worker-loaded.ts). */
  private readonly loads = new LoadCounter();
  /** The plain framing threads' file (with batchSmall), and the threads once started. */
  private readonly batchFile: string | undefined;
  private framing: BatchFramers | undefined;
  readonly threads: number;

  constructor(
    threads: number,
    readonly level: number,
    /** Frame small chunks in the workers, batched (see the header); otherwise inline. */
    readonly batchSmall = false,
    readonly poolMinBytes = 128 * 1024,
  ) {
    this.threads = threads;
    this.filename = threads > 0 ? workerPath() : undefined;
    this.batchFile = this.filename !== undefined && batchSmall ? batchWorkerPath(this.filename) : undefined;
  }

  /**
   * The data directory's dictionaries (docs/FORMAT.md §2.7), for the chunks this pool opens inline; set by
   * the engine. Dictionary chunks are small, so they are always opened on the main thread.
   */
  dicts: DictLookup | undefined;

  get usingWorkers(): boolean {
    return this.filename !== undefined;
  }

  /** GET tasks still running: a stream abandoned by its consumer leaves its read-ahead here until done. */
  private readonly opening = new Set<Promise<unknown>>();

  private workers(): Piscina {
    if (this.closed) throw closedError(); // no pool is started again after close
    if (this.pool === undefined) {
      // recordTiming off: its per-task histograms are never read here, and cost CPU (bench/worker-hop.bench.ts).
      this.pool = new Piscina({
        filename: this.filename, minThreads: this.threads, maxThreads: this.threads, idleTimeout: 60_000, recordTiming: false,
        workerData: this.loads.workerData(),
      });
      // piscina reports some conditions only as an 'error' event (e.g. a result that arrives for a task it
      // no longer knows): without a listener that would be an uncaught exception, and the server must never
      // crash. Task failures themselves reach their callers as rejections.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
  }

  private framers(): BatchFramers {
    if (this.closed) throw closedError();
    this.framing ??= new BatchFramers(this.batchFile as string, this.threads);
    return this.framing;
  }

  /** A batch to a framing thread: the plain ones when built, else piscina's. `packed` is transferred. */
  private runBatch(task: BatchTask | null): Promise<Uint8Array> {
    if (this.batchFile !== undefined) return this.framers().run(task, task === null ? [] : [task.packed.buffer as ArrayBuffer]);
    if (task === null) return this.workers().run({ kind: 'noop' }) as Promise<Uint8Array>;
    return this.workers().run(task, { transferList: [task.packed.buffer as ArrayBuffer] }) as Promise<Uint8Array>;
  }

  private runOpen(task: object, name: string, transferList: ArrayBuffer[]): Promise<unknown> {
    const p = this.workers().run(task, { name, transferList });
    this.opening.add(p);
    const done = (): void => void this.opening.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Frames `raw`. When it goes to a worker the buffer is transferred: the caller must not touch `raw`
   * afterwards (pass a buffer that owns its whole ArrayBuffer, or it is copied first).
   */
  async frame(raw: Uint8Array, meta: ChunkMeta): Promise<Buffer> {
    if (this.closed) throw closedError();
    if (this.filename === undefined || raw.length < this.poolMinBytes) return buildChunkFrame(raw, meta, this.level);
    const owned = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && !(raw.buffer instanceof SharedArrayBuffer) ? raw : new Uint8Array(raw);
    const task: ChunkTask = { kind: 'chunk', raw: owned, meta, level: this.level };
    let out: Uint8Array;
    try {
      out = (await this.workers().run(task, { transferList: [owned.buffer as ArrayBuffer] })) as Uint8Array;
    } catch (err) {
      // piscina rejects the tasks of a pool being destroyed ("Terminating worker thread").
      if (this.closed) throw closedError(err);
      throw err;
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  /**
   * Frames the `len` bytes held in `cb` (a large chunk). The buffer is shared with the worker, not
   * transferred. The result is either a view of `cb` (stored raw: framed in place, `cb.holds(frame)`; the
   * caller must keep `cb` until the frame is written) or a new buffer (compressed: `cb` is no longer read).
   */
  async frameInPlace(cb: ChunkBuffer, len: number, meta: ChunkMeta): Promise<Buffer> {
    if (this.closed) throw closedError();
    if (this.filename === undefined) return buildChunkFrameInPlace(cb.whole, len, meta, this.level);
    const task: InPlaceTask = { kind: 'in-place', whole: cb.whole, len, meta, level: this.level };
    let out: InPlaceResult;
    try {
      out = (await this.workers().run(task)) as InPlaceResult;
    } catch (err) {
      if (this.closed) throw closedError(err);
      throw err;
    }
    if (out instanceof Uint8Array) return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    return cb.whole.subarray(0, out.inPlace);
  }

  /** True once a worker has answered: until then small chunks are framed inline, not queued behind start-up. */
  private warm = false;
  private warming: Promise<void> | undefined;

  private warmUp(): Promise<void> {
    this.warming ??= this.runBatch(null).then(
      () => {
        this.warm = true;
      },
      () => {
        this.warming = undefined; // try again on the next small chunk
      },
    );
    return this.warming;
  }

  /**
   * Starts the worker threads now rather than at first use, and resolves once they answer (or failed to
   * start: first use then tries again). A server calls this before it listens, so that its first
   * requests do not wait for thread start-up on a busy machine.
   */
  async start(): Promise<void> {
    if (this.closed || this.filename === undefined) return;
    const ready: Array<Promise<unknown>> = [this.workers().run({ kind: 'noop' }).catch(() => undefined)];
    if (this.batchSmall) ready.push(this.warmUp());
    await Promise.all(ready);
  }

  private queue: Pending[] = [];
  private queueBytes = 0;
  private flushScheduled = false;
  private readonly batches = new Set<Promise<void>>();
  /** Small chunks framed by a worker as part of a batch (for stats and tests). */
  batchedChunks = 0;

  /**
   * Frames a chunk smaller than `poolMinBytes`, and computes its MD5 if `wantMd5` (a whole small object).
   * `raw` must not change until the promise settles (it is copied into the batch when the batch is sent).
   */
  frameSmall(raw: Uint8Array, meta: ChunkMeta, wantMd5: boolean, dict?: ChunkDict): Promise<Framed> {
    if (this.closed) return Promise.reject(closedError());
    if (this.filename === undefined || !this.batchSmall) return Promise.resolve(this.frameInline(raw, meta, wantMd5, dict));
    if (!this.warm) {
      // Starting the threads takes a while (longer on a busy machine): frame inline until they answer.
      void this.warmUp();
      return Promise.resolve().then(() => this.frameInline(raw, meta, wantMd5, dict));
    }
    return new Promise<Framed>((resolve, reject) => {
      this.queue.push({ raw, meta, wantMd5, dict, resolve, reject });
      this.queueBytes += raw.length;
      if (this.queue.length >= BATCH_ITEMS_MAX || this.queueBytes >= BATCH_BYTES_MAX) {
        this.flush();
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the I/O callbacks of this turn: puts released by one group commit batch together.
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  private frameInline(raw: Uint8Array, meta: ChunkMeta, wantMd5: boolean, dict: ChunkDict | undefined): Framed {
    const md5 = wantMd5 ? md5Buffer(raw) : undefined;
    return { frame: buildChunkFrame(raw, meta, this.level, dict), md5 };
  }

  /** Where frameTurnInline packs the bodies whose MD5s it computes side by side. */
  private md5Scratch: Buffer | undefined;

  /**
   * Frames a turn's small chunks on this thread. Their MD5s are computed together (md5Many: 8 or 16 side
   * by side with the addon, ~0.7 µs a 4 KiB body in a turn of 8 against ~5.5 µs one at a time), from a copy
   * of the bodies packed into one scratch buffer; `bytes` is their total length.
   */
  private frameTurnInline(items: Pending[], bytes: number): void {
    let digests: Buffer | undefined;
    let wanted = 0;
    for (const it of items) if (it.wantMd5) wanted++;
    if (wanted > 1) {
      try {
        if (this.md5Scratch === undefined || this.md5Scratch.length < bytes) this.md5Scratch = Buffer.allocUnsafeSlow(Math.max(bytes, INLINE_BYTES_MAX));
        const offsets = new Uint32Array(wanted);
        const lengths = new Uint32Array(wanted);
        let at = 0;
        let k = 0;
        for (const it of items) {
          if (!it.wantMd5) continue;
          this.md5Scratch.set(it.raw, at);
          offsets[k] = at;
          lengths[k++] = it.raw.length;
          at += it.raw.length;
        }
        digests = Buffer.allocUnsafe(16 * wanted);
        md5Many(this.md5Scratch, offsets, lengths, digests);
      } catch {
        digests = undefined; // each item's own MD5 below, which reports its own failure
      }
    }
    let k = 0;
    for (const it of items) {
      try {
        if (digests !== undefined && it.wantMd5) {
          const md5 = digests.subarray(16 * k, 16 * k + 16);
          k++;
          it.resolve({ frame: buildChunkFrame(it.raw, it.meta, this.level, it.dict), md5 });
        } else {
          it.resolve(this.frameInline(it.raw, it.meta, it.wantMd5, it.dict));
        }
      } catch (err) {
        it.reject(err);
      }
    }
  }

  private flush(): void {
    const items = this.queue;
    const bytes = this.queueBytes;
    if (items.length === 0) return;
    this.queue = [];
    this.queueBytes = 0;
    // The calling thread takes the place of one framing thread: with that many batches out, it frames
    // this one itself, side by side with them, rather than queue it behind them on a busy machine.
    if ((items.length <= INLINE_ITEMS_MAX && bytes <= INLINE_BYTES_MAX) || this.batches.size >= Math.max(1, this.threads - 1)) {
      this.frameTurnInline(items, bytes);
      return;
    }
    const task: BatchTask = { kind: 'batch', packed: packBatch(items, this.level) };
    if (items.some((it) => it.dict !== undefined)) {
      // Every dictionary the batch uses goes with it; the plain threads' dispatcher sends each only once
      // per thread (batch-framers.ts).
      const used = new Map<number, ChunkDict>();
      for (const it of items) if (it.dict) used.set(it.dict.id, it.dict);
      task.dicts = [...used.values()];
    }
    this.batchedChunks += items.length;
    const done: Promise<void> = this.runBatch(task)
      // Handed back in the check phase, after the pump that the appends made earlier in this turn scheduled
      // (segment-writer.ts, kick): the writer starts syncing those (a batch the main thread framed beside
      // this one) instead of waiting for this batch's appends too. 64 PUTs then split into two groups whose
      // syncs alternate with the framing of the other; engine bench (a) +1–12 % over 16 paired runs.
      .then((out: Uint8Array) => new Promise<Uint8Array>((resolve) => setImmediate(() => resolve(out))))
      .then(
        (out: Uint8Array) => {
          const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
          const { lengthsAt, framesAt } = batchLayout(items.length);
          let pos = framesAt;
          for (let i = 0; i < items.length; i++) {
            const len = buf.readUInt32LE(lengthsAt + 4 * i);
            const frame = buf.subarray(pos, pos + len);
            pos += len;
            items[i].resolve({ frame, md5: items[i].wantMd5 ? buf.subarray(16 * i, 16 * i + 16) : undefined });
          }
        },
        (err: unknown) => {
          for (const it of items) it.reject(err);
        },
      )
      .finally(() => {
        this.batches.delete(done);
      });
    this.batches.add(done);
  }

  /**
   * Verifies and decompresses a CHUNK frame read from `segmentId` at `offset` in a worker and returns its
   * raw bytes; a damaged frame is a CorruptionError. `frame` is transferred: the caller must not use it
   * afterwards. Without workers, this runs inline.
   */
  async open(frame: Buffer, segmentId: number, offset: number): Promise<Buffer> {
    if (this.filename === undefined) return openChunkFrame(verifyFrame(frame, segmentId, offset, RecordType.CHUNK), segmentId, offset, this.dicts).raw;
    const owned = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && !(frame.buffer instanceof SharedArrayBuffer) ? frame : Buffer.from(frame);
    const view = new Uint8Array(owned.buffer, owned.byteOffset, owned.byteLength);
    const r = (await this.runOpen({ frame: view }, 'open', [view.buffer as ArrayBuffer])) as OpenResult;
    if (!(r instanceof Uint8Array)) throw new CorruptionError(segmentId, offset, r.message);
    return Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  }

  /**
   * `open` for several frames in one worker task; returns each frame's raw bytes (views of one buffer).
   * `where` gives each frame's segment, offset (for a CorruptionError) and manifest raw length. The frames
   * are transferred.
   */
  async openBatch(frames: Buffer[], where: ReadonlyArray<{ segmentId: number; offset: number; rawLen: number }>, into?: Buffer): Promise<Buffer[]> {
    if (this.filename === undefined) {
      return frames.map((f, i) => {
        const w = where[i]!;
        const raw = openChunkFrame(verifyFrame(f, w.segmentId, w.offset, RecordType.CHUNK), w.segmentId, w.offset, this.dicts).raw;
        if (raw.length !== w.rawLen) throw new CorruptionError(w.segmentId, w.offset, 'chunk length differs from the manifest');
        return raw;
      });
    }
    const views = frames.map((f) => {
      const owned = f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && !(f.buffer instanceof SharedArrayBuffer) ? f : Buffer.from(f);
      return new Uint8Array(owned.buffer, owned.byteOffset, owned.byteLength);
    });
    let total = 0;
    for (const w of where) total += w.rawLen;
    // Shared memory given to write into (a lent GET's group buffer): the worker fills it, nothing is moved.
    const shared = into !== undefined && into.buffer instanceof SharedArrayBuffer && into.length >= total ? new Uint8Array(into.buffer, into.byteOffset, total) : undefined;
    const task: OpenBatchTask = { frames: views, rawLens: where.map((w) => w.rawLen), into: shared };
    const r = (await this.runOpen(task, 'openBatch', views.map((v) => v.buffer as ArrayBuffer))) as OpenBatchResult;
    if (!(r instanceof Uint8Array) && typeof r !== 'number') {
      const w = where[r.index]!;
      throw new CorruptionError(w.segmentId, w.offset, r.message);
    }
    const all = typeof r === 'number' ? Buffer.from(shared!.buffer, shared!.byteOffset, r) : Buffer.from(r.buffer, r.byteOffset, r.byteLength);
    const out: Buffer[] = [];
    let pos = 0;
    for (const w of where) {
      out.push(all.subarray(pos, pos + w.rawLen));
      pos += w.rawLen;
    }
    return out;
  }

  /**
   * Frames what is queued and waits for every batch (their callers get their frames) and every GET task
   * still in flight (read-ahead of abandoned streams); then no chunk is framed any more and the threads stop.
   */
  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.batches, this.warming, ...this.opening]);
    this.closed = true;
    // A thread cut short while loading its module would abort the process (worker-loaded.ts).
    if (this.pool) await this.loads.settled(this.pool);
    await this.pool?.destroy();
    this.pool = undefined;
    await this.framing?.close();
    this.framing = undefined;
  }
}

function closedError(cause?: unknown): SedimentError {
  return new SedimentError('SEDIMENT_CLOSED', 'the engine was closed during the upload', { cause });
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}
