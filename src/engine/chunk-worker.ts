// piscina worker: compresses, frames and hashes chunks off the main thread (default export), and verifies
// and decompresses chunks for a GET (`open`, `openBatch`). Kinds of framing task:
// - one large chunk: the raw bytes arrive transferred (not copied) and the frame goes back transferred;
// - one large chunk in a ChunkBuffer (shared memory): framed raw in place, or compressed into a new frame;
// - a batch of small chunks (docs/ARCHITECTURE.md, "Small puts"): the raws and their metadata arrive packed in
//   one transferred buffer (packBatch); the frames, and the MD5 of each raw that asked for it, go back packed
//   in one transferred buffer.
import { move, Piscina } from 'piscina';
import { hashReady, initHash } from '../format/hash.js';
import type { ChunkMeta } from '../format/records.js';
import { RecordType } from '../format/constants.js';
import { decodeFrame } from '../format/frame.js';
import { md5Many, nativeAddon } from '../native/index.js';
import { markLoaded } from './worker-loaded.js';
import { batchLayout, buildChunkFrame, buildChunkFrameInPlace, openChunkFrame, openChunkFrameInto, unpackBatch, type BatchItem, type ChunkDict } from './chunk-codec.js';

// No top-level await in a worker file: piscina require()s it first. On Node 20 a module with top-level
// await fails require(), piscina falls back to import(), and a second handler lookup during that import
// (the default export's preload, then a task for `open`) re-enters require() on the half-loaded module,
// which aborts the whole process ("FATAL ERROR: v8::Module::IsGraphAsync", seen once in a soak run). A thread
// terminated inside that require aborts it the same way: see worker-loaded.ts (and markLoaded at the end).
const hashInit = initHash();
// The pool's threads (large chunks: framing, and opening for GETs) run under SCHED_BATCH on Linux: woken with a
// chunk, such a thread does not preempt the thread that woke it (the main thread, reading the next piece of a
// body or serving the next request) but takes a free core or waits for the next tick. Over HTTP, large random
// GETs gained 21 % and log PUTs 3 %; random PUTs were unchanged (docs/PERFORMANCE.md, session 24). The small-PUT batch framers (batch-worker.ts, plain
// threads that import this module) keep the normal policy: their latency is a PUT's.
// SEDIMENT_FRAMING_BATCH=0 keeps the normal policy here too (A/B runs).
if (Piscina.isWorkerThread && process.env.SEDIMENT_FRAMING_BATCH !== '0') nativeAddon?.schedBatch?.();

/** Runs `f` once xxh64 is ready: at once from the first task on. */
function afterInit<T>(f: () => T): T | Promise<T> {
  return hashReady() ? f() : hashInit.then(f);
}

export interface ChunkTask {
  kind: 'chunk';
  raw: Uint8Array;
  meta: ChunkMeta;
  level: number;
}

/**
 * One large chunk held in a ChunkBuffer (chunk-buffers.ts), shared, not transferred: the main thread and the
 * MD5 thread keep reading it. Framed raw, the frame is built in place and the reply is its length; framed
 * compressed, the reply is the new frame (moved).
 */
export interface InPlaceTask {
  kind: 'in-place';
  whole: Uint8Array;
  len: number;
  meta: ChunkMeta;
  level: number;
}

export type InPlaceResult = { inPlace: number } | Uint8Array;

export interface BatchTask {
  kind: 'batch';
  /** The chunks, their metadata and the level, as packBatch lays them out (moved, not cloned). */
  packed: Uint8Array;
  /**
   * Dictionaries this thread may not have yet; a thread keeps every one it was given (its pool's engine
   * never reuses an id for other content).
   */
  dicts?: ChunkDict[];
}

/** The dictionaries given to this thread, by id. */
const knownDicts = new Map<number, ChunkDict>();

function owned(frame: Buffer): Buffer {
  // A frame from encodeFrame owns its whole ArrayBuffer only if it was not pooled; copy if it was.
  return frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : Buffer.from(frame);
}

function buildOne(task: ChunkTask): unknown {
  const frame = owned(buildChunkFrame(task.raw, task.meta, task.level));
  return move(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
}

function buildInPlace(task: InPlaceTask): unknown {
  const frame = buildChunkFrameInPlace(task.whole, task.len, task.meta, task.level);
  if (frame.buffer === task.whole.buffer) return { inPlace: frame.length } satisfies InPlaceResult;
  const own = owned(frame);
  return move(new Uint8Array(own.buffer, own.byteOffset, own.byteLength));
}

function buildBatch(task: BatchTask): unknown {
  return move(frameBatch(task));
}

/**
 * Frames every chunk of a batch (and the MD5 of those that asked for it) into one buffer of its own,
 * laid out as batchLayout says. Also the work of the plain framing threads (batch-worker.ts).
 */
export function frameBatch(task: BatchTask): Uint8Array {
  for (const d of task.dicts ?? []) knownDicts.set(d.id, d);
  const { level, items } = unpackBatch(task.packed);
  const n = items.length;
  const digests = batchMd5s(task.packed, items);
  const frames: Buffer[] = [];
  let total = 0;
  for (const it of items) {
    const dict = it.dictId === 0 ? undefined : knownDicts.get(it.dictId);
    if (it.dictId !== 0 && dict === undefined) throw new Error(`assertion failed: dictionary ${it.dictId} was never sent to this thread`);
    const frame = buildChunkFrame(it.raw, it.meta, level, dict);
    frames.push(frame);
    total += frame.length;
  }
  const { lengthsAt, framesAt } = batchLayout(n);
  const out = Buffer.allocUnsafeSlow(framesAt + total);
  out.fill(0, 0, lengthsAt);
  let pos = framesAt;
  let d = 0;
  for (let i = 0; i < n; i++) {
    if (items[i].wantMd5) digests.copy(out, 16 * i, 16 * d, 16 * ++d);
    out.writeUInt32LE(frames[i].length, lengthsAt + 4 * i);
    frames[i].copy(out, pos);
    pos += frames[i].length;
  }
  return new Uint8Array(out.buffer, 0, out.length);
}

/**
 * The MD5 of every raw of the batch that asked for one, in order, 16 bytes each: all in one call, which
 * the addon computes side by side (native/src/md5-multi.c; ~0.7 µs for a 4 KiB raw against ~6 µs one
 * at a time here, bench/md5.bench.ts).
 */
function batchMd5s(packed: Uint8Array, items: readonly BatchItem[]): Buffer {
  let k = 0;
  for (const it of items) if (it.wantMd5) k++;
  const digests = Buffer.allocUnsafe(16 * k);
  if (k === 0) return digests;
  const offsets = new Uint32Array(k);
  const lengths = new Uint32Array(k);
  let j = 0;
  for (const it of items) {
    if (it.wantMd5) {
      offsets[j] = it.raw.byteOffset - packed.byteOffset;
      lengths[j++] = it.raw.length;
    }
  }
  md5Many(packed, offsets, lengths, digests);
  return digests;
}

/** Answered once the worker is up (ChunkPool waits for it before sending batches). */
export interface NoopTask {
  kind: 'noop';
}

export default function run(task: ChunkTask | InPlaceTask | BatchTask | NoopTask): unknown {
  return afterInit(() => runNow(task));
}

function runNow(task: ChunkTask | InPlaceTask | BatchTask | NoopTask): unknown {
  if (task.kind === 'noop') return null;
  if (task.kind === 'in-place') return buildInPlace(task);
  return task.kind === 'batch' ? buildBatch(task) : buildOne(task);
}

export interface OpenTask {
  /** A whole CHUNK frame as read from its segment (transferred). */
  frame: Uint8Array;
}

/** The raw bytes (moved), or why the frame is damaged. */
export type OpenResult = Uint8Array | { message: string };

/**
 * Verifies (xxh64, type, meta) and decompresses one CHUNK frame. Failures come back as values, not
 * exceptions, so the main thread can raise a CorruptionError with the segment and offset (an Error
 * thrown here would lose its class crossing the thread boundary).
 */
export function open(task: OpenTask): unknown {
  return afterInit(() => openNow(task));
}

function openNow(task: OpenTask): unknown {
  const frameBuf = Buffer.from(task.frame.buffer, task.frame.byteOffset, task.frame.byteLength);
  let raw: Buffer;
  try {
    const frame = decodeFrame(frameBuf);
    if (frame.type !== RecordType.CHUNK) return { message: `record type ${frame.type}, expected ${RecordType.CHUNK}` } satisfies OpenResult;
    raw = openChunkFrame(frame, 0, 0).raw;
  } catch (err) {
    return { message: (err as Error).message } satisfies OpenResult;
  }
  // Moving a view transfers its whole ArrayBuffer: fine for the frame we were given (a raw-codec payload is
  // a view into it) and for a buffer of its own; anything else (e.g. a slice of Buffer's shared pool) is
  // copied first, as detaching the pool would break this thread's later allocations.
  const movable = raw.buffer === task.frame.buffer || (raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength);
  const own = movable && !(raw.buffer instanceof SharedArrayBuffer) ? raw : Buffer.from(raw);
  return move(new Uint8Array(own.buffer, own.byteOffset, own.byteLength));
}

export interface OpenBatchTask {
  /** Whole CHUNK frames, in order (transferred). */
  frames: Uint8Array[];
  /** The raw length the manifest gives for each. */
  rawLens: number[];
  /** Shared memory of exactly the total raw length to write the bytes into (shared, not transferred). */
  into?: Uint8Array;
}

/**
 * All raw bytes of the batch back to back (moved), or with `into` their total length (the bytes are
 * there), or which frame is damaged and why.
 */
export type OpenBatchResult = Uint8Array | number | { message: string; index: number };

/**
 * `open` for several chunks in one task (one thread round trip instead of one per chunk): the raw bytes
 * of every frame, each checked against its manifest length, concatenated into one buffer of its own.
 */
export function openBatch(task: OpenBatchTask): unknown {
  return afterInit(() => openBatchNow(task));
}

function openBatchNow(task: OpenBatchTask): unknown {
  let total = 0;
  for (const n of task.rawLens) total += n;
  if (task.into !== undefined && task.into.length !== total) return { message: `a destination of ${task.into.length} bytes for ${total}`, index: 0 } satisfies OpenBatchResult;
  // its own ArrayBuffer, never Buffer's shared pool: it is moved
  const out = task.into !== undefined ? Buffer.from(task.into.buffer, task.into.byteOffset, total) : Buffer.allocUnsafeSlow(total);
  let pos = 0;
  for (let i = 0; i < task.frames.length; i++) {
    const f = task.frames[i]!;
    const len = task.rawLens[i]!;
    try {
      const frame = decodeFrame(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
      if (frame.type !== RecordType.CHUNK) return { message: `record type ${frame.type}, expected ${RecordType.CHUNK}`, index: i } satisfies OpenBatchResult;
      // Straight into its place in the reply: no buffer per chunk, no copy.
      openChunkFrameInto(frame, out.subarray(pos, pos + len), 0, 0);
    } catch (err) {
      return { message: (err as Error).message, index: i } satisfies OpenBatchResult;
    }
    pos += len;
  }
  if (task.into !== undefined) return total satisfies OpenBatchResult;
  return move(new Uint8Array(out.buffer, 0, total));
}

// Last: the module is evaluated (worker-loaded.ts).
markLoaded();
