// The worker pool for chunk framing. Chunks below `poolMinBytes` are framed inline (a thread hop costs
// more than it saves); larger ones go to piscina workers with the raw buffer transferred. If the
// compiled worker file is missing (running from sources without a build), everything is framed inline.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ChunkMeta } from '../format/records.js';
import { SedimentError } from '../util/errors.js';
import { buildChunkFrame } from './chunk-codec.js';

function workerPath(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.ts')
    ? [here.replace(/\/src\/engine\/chunk-pool\.ts$/, '/dist/src/engine/chunk-worker.js')]
    : [here.replace(/chunk-pool\.js$/, 'chunk-worker.js')];
  return candidates.find((p) => existsSync(p));
}

export class ChunkPool {
  private pool: Piscina | undefined;
  /** After close() no chunk is framed (and no new pool started): an upload still running is refused. */
  private closed = false;
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

  private workers(): Piscina {
    this.pool ??= new Piscina({ filename: this.filename, minThreads: this.threads, maxThreads: this.threads, idleTimeout: 60_000 });
    return this.pool;
  }

  /**
   * Frames `raw`. When it goes to a worker the buffer is transferred: the caller must not touch `raw`
   * afterwards (pass a buffer that owns its whole ArrayBuffer, or it is copied first).
   */
  async frame(raw: Uint8Array, meta: ChunkMeta): Promise<Buffer> {
    if (this.closed) throw closedError();
    if (this.filename === undefined || raw.length < this.poolMinBytes) return buildChunkFrame(raw, meta, this.level);
    const owned = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && !(raw.buffer instanceof SharedArrayBuffer) ? raw : new Uint8Array(raw);
    let out: Uint8Array;
    try {
      out = (await this.workers().run({ raw: owned, meta, level: this.level }, { transferList: [owned.buffer as ArrayBuffer] })) as Uint8Array;
    } catch (err) {
      // piscina rejects the tasks of a pool being destroyed ("Terminating worker thread").
      if (this.closed) throw closedError(err);
      throw err;
    }
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.destroy();
    this.pool = undefined;
  }
}

function closedError(cause?: unknown): SedimentError {
  return new SedimentError('SEDIMENT_CLOSED', 'the engine was closed during the upload', { cause });
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}
