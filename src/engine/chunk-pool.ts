// The worker pool for chunk framing (PUT) and chunk opening (GET: verify + decompress). Chunks below
// `poolMinBytes` are framed inline (a thread hop costs more than it saves); larger ones go to piscina
// workers with the buffers transferred. If the compiled worker file is missing (running from sources
// without a build), everything is done inline.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ChunkMeta } from '../format/records.js';
import { RecordType } from '../format/constants.js';
import { CorruptionError } from '../util/errors.js';
import { buildChunkFrame, openChunkFrame } from './chunk-codec.js';
import type { OpenBatchResult, OpenResult } from './chunk-worker.js';
import { verifyFrame } from './segment-store.js';

function workerPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.ts')
    ? [here.replace(/\/src\/engine\/chunk-pool\.ts$/, '/dist/src/engine/chunk-worker.js')]
    : [here.replace(/chunk-pool\.js$/, 'chunk-worker.js')];
  return candidates.find((p) => existsSync(p));
}

export class ChunkPool {
  private pool: Piscina | undefined;
  /** Resolved worker file, or undefined for inline framing. Threads start on first use (open stays fast). */
  private readonly filename: string | undefined;
  readonly threads: number;

  constructor(
    threads: number,
    readonly level: number,
    readonly poolMinBytes = 128 * 1024,
  ) {
    this.threads = threads;
    this.filename = threads > 0 ? workerPath() : undefined;
  }

  get usingWorkers(): boolean {
    return this.filename !== undefined;
  }

  /** GET tasks still running: a stream abandoned by its consumer leaves its read-ahead here until done. */
  private readonly opening = new Set<Promise<unknown>>();

  private workers(): Piscina {
    if (this.pool === undefined) {
      this.pool = new Piscina({ filename: this.filename, minThreads: this.threads, maxThreads: this.threads, idleTimeout: 60_000 });
      // piscina reports some conditions only as an 'error' event (e.g. a result that arrives for a task it
      // no longer knows): without a listener that would be an uncaught exception, and the server must never
      // crash. Task failures themselves reach their callers as rejections.
      this.pool.on('error', () => undefined);
    }
    return this.pool;
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
    if (this.filename === undefined || raw.length < this.poolMinBytes) return buildChunkFrame(raw, meta, this.level);
    const owned = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && !(raw.buffer instanceof SharedArrayBuffer) ? raw : new Uint8Array(raw);
    const out = (await this.workers().run({ raw: owned, meta, level: this.level }, { transferList: [owned.buffer as ArrayBuffer] })) as Uint8Array;
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  /**
   * Verifies and decompresses a CHUNK frame read from `segmentId` at `offset` in a worker and returns its
   * raw bytes; a damaged frame is a CorruptionError. `frame` is transferred: the caller must not use it
   * afterwards. Without workers, this runs inline.
   */
  async open(frame: Buffer, segmentId: number, offset: number): Promise<Buffer> {
    if (this.filename === undefined) return openChunkFrame(verifyFrame(frame, segmentId, offset, RecordType.CHUNK), segmentId, offset).raw;
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
  async openBatch(frames: Buffer[], where: ReadonlyArray<{ segmentId: number; offset: number; rawLen: number }>): Promise<Buffer[]> {
    if (this.filename === undefined) {
      return frames.map((f, i) => {
        const w = where[i]!;
        const raw = openChunkFrame(verifyFrame(f, w.segmentId, w.offset, RecordType.CHUNK), w.segmentId, w.offset).raw;
        if (raw.length !== w.rawLen) throw new CorruptionError(w.segmentId, w.offset, 'chunk length differs from the manifest');
        return raw;
      });
    }
    const views = frames.map((f) => {
      const owned = f.byteOffset === 0 && f.byteLength === f.buffer.byteLength && !(f.buffer instanceof SharedArrayBuffer) ? f : Buffer.from(f);
      return new Uint8Array(owned.buffer, owned.byteOffset, owned.byteLength);
    });
    const task = { frames: views, rawLens: where.map((w) => w.rawLen) };
    const r = (await this.runOpen(task, 'openBatch', views.map((v) => v.buffer as ArrayBuffer))) as OpenBatchResult;
    if (!(r instanceof Uint8Array)) {
      const w = where[r.index]!;
      throw new CorruptionError(w.segmentId, w.offset, r.message);
    }
    const all = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
    const out: Buffer[] = [];
    let pos = 0;
    for (const w of where) {
      out.push(all.subarray(pos, pos + w.rawLen));
      pos += w.rawLen;
    }
    return out;
  }

  /** Waits for GET tasks still in flight (read-ahead of abandoned streams), then stops the threads. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.opening]);
    await this.pool?.destroy();
    this.pool = undefined;
  }
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}
