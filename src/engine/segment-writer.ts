// The single appender of the active segment, with group commit.
//
// Contracts:
// - append() assigns the frame's (segmentId, offset) synchronously, so log order = call order.
// - Writes are issued one batch at a time (writev), strictly in log order, so "written" always means
//   "this frame and every frame before it are written".
// - A durable append resolves after an fdatasync that started after its write completed; concurrent
//   appends share one fdatasync. Its onDurable callback runs just before, in log order, which is how the
//   index only ever reflects a durable prefix of the log.
// - The writes and syncs themselves are done by a LogAppender (io/log-appender.ts): on real files the
//   addon's writer thread, which starts the next write+sync cycle as soon as one ends, without waiting
//   for the event loop in between. Each batch handed to it is pinned (its frames referenced from
//   `inflight`) until a report covers it.
// - Rolling to a new segment first seals the old one (footer + tail, fdatasync), then switches to the
//   next one. That one is made ahead, once the active segment is half full: `NNN.spare` with its header
//   (fdatasync, directory fsync), listed in the manifest. The roll renames it to `NNN.seg` and appends
//   to it; the rename needs no directory fsync, because open reads a spare holding records as the
//   segment it became (engine.ts, settleSpares). So a roll creates no file while appends wait, and the
//   footer, encoded as records are assigned (FooterBuilder), costs it no encoding either. The encoded
//   footer is the only copy of the active segment's entries kept (a full disk cuts it back by reading it:
//   FooterBuilder.entriesBefore).
// - A sync failure, and any write failure other than a full disk, is fatal for this writer (no retry
//   could prove lost pages were not dropped): every pending and later append rejects with
//   SEDIMENT_WRITER_FAILED. Reads are unaffected.
// - A full disk (ENOSPC/EDQUOT) on a write — a batch of frames, a footer, a new segment's header — is
//   not: nothing of it was synced, so it is undone (the file truncated back to where the failed write
//   started, and synced; a half-created segment removed) and every append placed after that point is
//   rejected with SEDIMENT_NO_SPACE. Later appends are placed at that point again and simply try, so
//   writes resume by themselves once space is freed. `resets` counts these undos: a record that refers to
//   earlier appends (a COMMIT to its chunks) must not be appended after one (assertNoResetSince).
import { SEGMENT_HEADER_BYTES } from '../format/constants.js';
import { encodeTail, FooterBuilder, type FooterEntry } from '../format/footer.js';
import { openAppender } from '../io/log-appender.js';
import type { AppendFailure, Clock, FileHandle, FileSystem, LogAppender } from '../io/types.js';
import { SedimentError, ioError } from '../util/errors.js';
import { createSegment, segmentFileName, spareFileName } from './segment-files.js';

export type Durability = 'fsync' | 'none';

export interface AppendResult {
  segmentId: number;
  offset: number;
  /** Resolves when written (and, for durable appends in fsync mode, synced). */
  done: Promise<void>;
}

interface FrameItem {
  kind: 'frame';
  segmentId: number;
  offset: number;
  end: number;
  frame: Buffer;
  durable: boolean;
  onDurable?: () => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface RollItem {
  kind: 'roll';
  footer: FooterBuilder;
  segmentId: number;
  nextId: number;
  done?: { resolve: () => void; reject: (err: Error) => void };
}

/** The next segment, made before the roll that will switch to it. */
interface Spare {
  id: number;
  /** Its handle once created, durable and listed; or why that failed (the roll reports it, see useSpare). */
  ready: Promise<{ fh: FileHandle } | { error: unknown }>;
}

/** Frames handed to the appender as one submission, pinned until a report covers them. */
interface InflightBatch {
  seq: number;
  items: FrameItem[];
  bytes: number;
}

export interface SegmentWriterOptions {
  fs: FileSystem;
  segmentsDir: string;
  clock: Clock;
  durability: Durability;
  segmentBytesMax: number;
  /**
   * A segment is also sealed after this many records. The footer entries of the active segment are
   * held in memory, encoded (and rebuilt by a scan at open), so this bounds both for tiny objects.
   */
  segmentRecordsMax: number;
  /** Called after a segment is sealed durably. */
  onSealed?: (segmentId: number, sizeBytes: number) => void;
  /** Called after a new segment is created. */
  onCreated?: (segmentId: number) => void;
  /**
   * Records a new segment in DIR/manifest, durably; awaited after its creation and before anything is
   * written to it. A failure there counts as a failure to create the segment.
   */
  listSegment?: (segmentId: number) => Promise<void>;
}

const BATCH_BYTES_MAX = 32 << 20;
/** Frames per submission at most: one pwritev (IOV_MAX is 1024 on Linux), and well under the addon's limit. */
const BATCH_FRAMES_MAX = 1024;
/**
 * Written-but-unsynced bytes past which the writer syncs without waiting for a durable record to ask
 * (fsync mode). The kernel would otherwise keep a large object's chunks dirty in the page cache until
 * its COMMIT's fdatasync, which then has to write all of it while the PUT waits; flushing ahead writes
 * the data to disk while the rest of the body is still arriving (docs/DURABILITY.md, "Every fsync", flush-ahead).
 */
const FLUSH_AHEAD_BYTES = 8 << 20;

export class SegmentWriter {
  private queue: Array<FrameItem | RollItem> = [];
  private queued = 0;
  private pumping = false;
  /** A pump starts at the end of this event-loop turn (kick). */
  private pumpScheduled = false;
  /** Submitted to the appender and not yet reported, in submission order. */
  private inflight: InflightBatch[] = [];
  private inflightBytes = 0;
  /** The appender of the current file (opened at the first write to it, closed before a roll). */
  private appender: LogAppender | undefined;
  /** A full disk is being undone: nothing is submitted until it is. */
  private recovering = false;
  /** Bytes submitted to the current file since the last submission that asked for a sync. */
  private unsynced = 0;
  private failure: SedimentError | undefined;
  private idleWaiters: Array<() => void> = [];
  private resetCount = 0;
  /** Set when creating the next segment ran out of space: it is created again before the next write. */
  private segmentMissing = false;
  /** close() has begun: no spare is made any more. */
  private closing = false;

  // Assignment state (runs ahead of the writes).
  private assignId: number;
  private assignSize: number;
  /**
   * The footer of the segment being assigned, kept encoded entry by entry: the only copy of its entries
   * (no entry objects, nor copies of their payloads, are kept until the seal).
   */
  private assignFooter: FooterBuilder;
  /** Lowest id the next roll may take (ids below it were reserved for packs). */
  private idFloor = 0;
  /** The segment the next roll switches to, once made (see makeSpare). */
  private spare: Spare | undefined;

  // Write state.
  private fh: FileHandle;
  private writeId: number;
  /**
   * Position just after the last frame known to be synced; every onDurable callback before it has run.
   * Checkpoints record it as their replay position, so it must never pass bytes a crash can drop.
   */
  durableSegmentId: number;
  durableOffset: number;

  constructor(
    private readonly opts: SegmentWriterOptions,
    active: { segmentId: number; fh: FileHandle; size: number; entries: FooterEntry[] },
  ) {
    this.assignId = active.segmentId;
    this.assignSize = active.size;
    this.assignFooter = FooterBuilder.of(active.entries);
    this.fh = active.fh;
    this.writeId = active.segmentId;
    this.durableSegmentId = active.segmentId;
    this.durableOffset = active.size;
  }

  /** Bytes appended but not yet written (queued here, or handed to the appender and not yet reported). */
  get queuedBytes(): number {
    return this.queued + this.inflightBytes;
  }

  get failed(): SedimentError | undefined {
    return this.failure;
  }

  /** How many times a full disk made the writer give up positions it had assigned. */
  get resets(): number {
    return this.resetCount;
  }

  /**
   * Throws SEDIMENT_NO_SPACE if a write was undone since `resets` was read: appends made before it may
   * have been rejected, and a record referring to them must not be written. Call synchronously right
   * before appending such a record.
   */
  assertNoResetSince(resets: number): void {
    if (this.resetCount !== resets) {
      throw new SedimentError('SEDIMENT_NO_SPACE', 'no space left on device: data of this upload was not written (the disk filled up during it); retry when space is freed');
    }
  }

  get activeSegmentId(): number {
    return this.assignId;
  }

  /** Bytes assigned in the active segment (header included). */
  get activeSize(): number {
    return this.assignSize;
  }

  append(frame: Buffer, entry: Omit<FooterEntry, 'offset' | 'frameLen'>, durable: boolean, onDurable?: () => void): AppendResult {
    if (this.failure) throw this.failure;
    const full = this.assignSize + frame.length > this.opts.segmentBytesMax || this.assignFooter.entries >= this.opts.segmentRecordsMax;
    if (full && this.assignSize > SEGMENT_HEADER_BYTES) {
      this.enqueueRoll();
    }
    const segmentId = this.assignId;
    const offset = this.assignSize;
    this.assignSize += frame.length;
    // One shape for every entry (a spread of entries of two shapes made this line the slowest of append).
    this.assignFooter.add({ type: entry.type, offset, frameLen: frame.length, chunk: entry.chunk, payload: entry.payload });
    if (this.spare === undefined && (this.assignSize * 2 > this.opts.segmentBytesMax || this.assignFooter.entries * 2 > this.opts.segmentRecordsMax)) {
      this.makeSpare();
    }
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queue.push({ kind: 'frame', segmentId, offset, end: offset + frame.length, frame, durable, onDurable, resolve, reject });
    this.queued += frame.length;
    this.kick();
    return { segmentId, offset, done };
  }

  /** Seals the active segment (if it holds any record) and starts a new one. */
  sealActive(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.assignSize <= SEGMENT_HEADER_BYTES) return this.drain();
    return new Promise<void>((resolve, reject) => {
      this.enqueueRoll({ resolve, reject });
      this.kick();
    });
  }

  /**
   * Reserves a segment id for a file written outside the log (a compaction pack): later rolls skip it.
   * Ids stay unique across `.seg` and `.pack` files.
   */
  reserveSegmentId(): number {
    const id = Math.max(this.assignId + 1, this.idFloor);
    this.idFloor = id + 1;
    return id;
  }

  /** At open: ids below `floor` are taken by packs. */
  raiseIdFloor(floor: number): void {
    this.idFloor = Math.max(this.idFloor, floor);
  }

  private enqueueRoll(done?: RollItem['done']): void {
    // The spare, unless a roll queued before this one already switches to it (a large object can fill
    // the next segment before that roll has run).
    const spare = this.spare !== undefined && this.spare.id > this.assignId ? this.spare.id : undefined;
    const nextId = spare ?? Math.max(this.assignId + 1, this.idFloor);
    const item: RollItem = { kind: 'roll', footer: this.assignFooter, segmentId: this.assignId, nextId, done };
    this.queue.push(item);
    this.assignId = item.nextId;
    this.assignSize = SEGMENT_HEADER_BYTES;
    this.assignFooter = new FooterBuilder();
  }

  /**
   * Makes the next segment in the background (`NNN.spare` with its header, durably, listed in the
   * manifest), so that the roll to it does no file creation while appends wait. Its id is taken now:
   * rolls and packs reserved later get higher ones. A failure is kept for the roll (useSpare).
   */
  private makeSpare(): void {
    if (this.failure || this.closing) return;
    const id = Math.max(this.assignId + 1, this.idFloor);
    this.idFloor = id + 1;
    const ready = (async (): Promise<{ fh: FileHandle } | { error: unknown }> => {
      let fh: FileHandle | undefined;
      try {
        fh = await createSegment(this.opts.fs, this.opts.segmentsDir, id, this.opts.clock.now(), spareFileName(id));
        await this.opts.listSegment?.(id); // unlisted again if this fails (LiveSegments.add)
        return { fh };
      } catch (error) {
        // Undo what was made, as createMissingSegment does.
        await fh?.close().catch(() => undefined);
        const path = `${this.opts.segmentsDir}/${spareFileName(id)}`;
        try {
          if (await this.opts.fs.exists(path)) {
            await this.opts.fs.unlink(path);
            await this.opts.fs.syncDir(this.opts.segmentsDir);
          }
        } catch (cleanup) {
          return { error: cleanup };
        }
        return { error };
      }
    })();
    this.spare = { id, ready };
  }

  /**
   * Switches the write side to the spare if it is segment `id` (true), or says there is none for it
   * (undefined: the roll creates the segment itself). A spare that found the disk full is not reported:
   * space may have been freed since, and the roll's own attempt tells. Any other failure to make it
   * fails the writer, as it would have in the roll.
   */
  private async useSpare(id: number): Promise<boolean | undefined> {
    const spare = this.spare;
    if (spare === undefined || spare.id !== id) return undefined;
    this.spare = undefined;
    const made = await spare.ready;
    if ('error' in made) {
      if (isNoSpace(made.error)) return undefined;
      throw this.fail(made.error, `creating segment ${id}`);
    }
    const fh = made.fh;
    const dir = this.opts.segmentsDir;
    try {
      await this.opts.fs.rename(`${dir}/${spareFileName(id)}`, `${dir}/${segmentFileName(id)}`);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw this.fail(err, `renaming the spare segment ${id}`);
    }
    this.fh = fh;
    this.segmentMissing = false;
    this.durableSegmentId = id;
    this.durableOffset = SEGMENT_HEADER_BYTES;
    this.opts.onCreated?.(id);
    return true;
  }

  /** Resolves when everything appended so far is written and (fsync mode) synced. */
  drain(): Promise<void> {
    if (!this.pumping && !this.pumpScheduled && this.queue.length === 0 && this.inflight.length === 0 && !this.recovering) {
      return this.failure ? Promise.reject(this.failure) : Promise.resolve();
    }
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve)).then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /** Drains, makes everything durable (also in 'none' mode) and closes the file. Does not seal. */
  async close(): Promise<void> {
    await this.drain().catch(() => undefined);
    await this.closeAppender();
    // A spare stays as it is (listed, header only): the next open removes it.
    this.closing = true;
    const spare = this.spare;
    this.spare = undefined;
    if (spare) {
      const made = await spare.ready;
      if ('fh' in made) await made.fh.close().catch(() => undefined);
    }
    if (this.segmentMissing) {
      if (this.failure) throw this.failure;
      return;
    }
    if (!this.failure) {
      try {
        await this.fh.datasync();
      } catch (err) {
        this.fail(err, 'syncing on close');
      }
    }
    await this.fh.close().catch(() => undefined);
    if (this.failure) throw this.failure;
  }

  /**
   * Starts writing at the end of this turn of the event loop, not at the first append: the appends of one
   * turn (the CHUNK and COMMIT of every small PUT whose framing came back together) then go out in one
   * writev instead of a first one holding a single frame.
   */
  private kick(): void {
    if (this.pumping || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.failure && !this.recovering) {
        // Throws only after fail(): the loop ends and everything queued is rejected below.
        if (this.segmentMissing && !(await this.createMissingSegment().catch(() => false))) continue;
        const head = this.queue[0];
        if (head.kind === 'roll') {
          // The footer goes after every frame before it is written: onReport kicks the pump again.
          if (this.inflight.length > 0) break;
          this.queue.shift();
          await this.closeAppender();
          await this.roll(head);
          continue;
        }
        const batch: FrameItem[] = [];
        const frames: Buffer[] = [];
        let bytes = 0;
        let durable = false;
        while (this.queue.length > 0 && this.queue[0].kind === 'frame' && bytes < BATCH_BYTES_MAX && batch.length < BATCH_FRAMES_MAX) {
          const item = this.queue.shift() as FrameItem;
          batch.push(item);
          frames.push(item.frame);
          bytes += item.frame.length;
          durable ||= item.durable;
        }
        this.queued -= bytes;
        // A durable frame asks for a sync; so do enough unsynced bytes (flush ahead, see FLUSH_AHEAD_BYTES).
        this.unsynced += bytes;
        const sync = this.opts.durability === 'fsync' && (durable || this.unsynced >= FLUSH_AHEAD_BYTES);
        if (sync) this.unsynced = 0;
        this.appender ??= this.openAppender();
        const seq = this.appender.submit(frames, batch[0].offset, sync);
        this.inflight.push({ seq, items: batch, bytes });
        this.inflightBytes += bytes;
      }
    } finally {
      this.pumping = false;
      if (this.failure) this.rejectAll();
      this.maybeIdle();
    }
  }

  private openAppender(): LogAppender {
    const appender: LogAppender = openAppender(this.fh, (doneSeq, synced, failure) => {
      if (this.appender === appender) this.onReport(doneSeq, synced, failure);
    });
    return appender;
  }

  private async closeAppender(): Promise<void> {
    const a = this.appender;
    if (a === undefined) return;
    await a.close(); // reports still arrive while it finishes
    this.appender = undefined;
  }

  /** The appender wrote (and synced) every submission up to `doneSeq`; a failure stopped it after that. */
  private onReport(doneSeq: number, synced: boolean, failure: AppendFailure | undefined): void {
    while (this.inflight.length > 0 && this.inflight[0].seq <= doneSeq) {
      const b = this.inflight.shift() as InflightBatch;
      this.inflightBytes -= b.bytes;
      for (const item of b.items) {
        item.frame = EMPTY; // written: the buffer is no longer needed
        if (this.failure) item.reject(this.failure);
        else this.complete(item, synced || this.opts.durability === 'none');
      }
    }
    if (failure !== undefined) this.onAppendFailure(failure);
    else if (this.queue.length > 0) this.kick(); // a roll waiting for the writes before it
    this.maybeIdle();
  }

  /**
   * Every submission not reported done was dropped. A full disk on a write is undone (undoNoSpace) and
   * writing resumes; anything else is fatal for this writer.
   */
  private onAppendFailure(failure: AppendFailure): void {
    const failed = this.inflight;
    this.inflight = [];
    this.inflightBytes = 0;
    const items: FrameItem[] = [];
    for (const b of failed) for (const item of b.items) items.push(item);
    if (failure.op === 'write' && isNoSpace(failure.error) && items.length > 0 && !this.failure) {
      this.recovering = true;
      // The queue holds what was assigned after these batches; the first roll in it (if any) holds the
      // footer entries of the segment being written.
      const roll = this.queue.find((q): q is RollItem => q.kind === 'roll');
      void this.undoNoSpace(failure.error, this.writeId, items[0].offset, roll ? roll.footer : this.assignFooter, items)
        .catch(() => undefined)
        .finally(() => {
          this.recovering = false;
          if (this.failure) this.rejectAll();
          else {
            this.appender?.resume();
            if (this.queue.length > 0) this.kick();
          }
          this.maybeIdle();
        });
      return;
    }
    const e = this.fail(failure.error, `${failure.op === 'write' ? 'writing' : 'syncing'} segment ${this.writeId}`);
    for (const item of items) item.reject(e);
    this.rejectAll();
  }

  /** `synced`: an fdatasync that started after the frame was written has completed (or durability is 'none'). */
  private complete(item: FrameItem, synced: boolean): void {
    // A chunk completes as soon as it is written. Moving the position over it would let a checkpoint
    // point past bytes a crash can drop, and the next replay would then skip whatever is written at
    // those offsets after the crash.
    if (synced) {
      this.durableSegmentId = item.segmentId;
      this.durableOffset = item.end;
    }
    item.onDurable?.();
    item.resolve();
  }

  private async roll(item: RollItem): Promise<void> {
    try {
      if (this.failure) throw this.failure;
      const footerOffset = item.footer.entries > 0 ? item.footer.end : SEGMENT_HEADER_BYTES;
      const footer = item.footer.finish();
      const tail = encodeTail(footerOffset);
      try {
        await this.fh.writev([footer, tail], footerOffset);
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        await this.undoNoSpace(err, item.segmentId, footerOffset, item.footer, [item]);
        return;
      }
      await this.fh.datasync();
      await this.fh.close();
      this.unsynced = 0;
      this.opts.onSealed?.(item.segmentId, footerOffset + footer.length + tail.length);
      this.writeId = item.nextId;
      this.segmentMissing = true;
      const switched = (await this.useSpare(item.nextId)) ?? (await this.createMissingSegment([item]));
      if (!switched) return;
      item.done?.resolve();
    } catch (err) {
      const e = err instanceof SedimentError ? err : this.fail(err, `sealing segment ${item.segmentId}`);
      item.done?.reject(e);
      this.fail(e, 'sealing');
    }
  }

  /**
   * Creates segment `writeId` (after a seal, or again after a full disk stopped its creation). On a full
   * disk the half-created file is removed and everything queued is rejected; returns false then.
   */
  private async createMissingSegment(alsoReject: Array<FrameItem | RollItem> = []): Promise<boolean> {
    const id = this.writeId;
    let created: FileHandle | undefined;
    try {
      created = await createSegment(this.opts.fs, this.opts.segmentsDir, id, this.opts.clock.now());
      await this.opts.listSegment?.(id);
      this.fh = created;
    } catch (err) {
      if (!isNoSpace(err)) throw this.fail(err, `creating segment ${id}`);
      const path = `${this.opts.segmentsDir}/${segmentFileName(id)}`;
      try {
        await created?.close();
        if (await this.opts.fs.exists(path)) {
          await this.opts.fs.unlink(path);
          await this.opts.fs.syncDir(this.opts.segmentsDir);
        }
      } catch (cleanup) {
        throw this.fail(cleanup, `removing the half-created segment ${id}`);
      }
      await this.undoNoSpace(err, id, SEGMENT_HEADER_BYTES, new FooterBuilder(), alsoReject);
      return false;
    }
    this.segmentMissing = false;
    this.durableSegmentId = id;
    this.durableOffset = SEGMENT_HEADER_BYTES;
    this.opts.onCreated?.(id);
    return true;
  }

  /**
   * A write ran out of space. Nothing from `end` on in segment `segmentId` was synced: give up every
   * position assigned from there (rejecting `failed` and everything queued with SEDIMENT_NO_SPACE),
   * place later appends at `end` again, and cut the file back to `end` (synced, so that a crash cannot
   * bring back frames of the undone write behind later ones).
   */
  private async undoNoSpace(err: unknown, segmentId: number, end: number, footer: FooterBuilder, failed: Array<FrameItem | RollItem>): Promise<void> {
    const e = new SedimentError(
      'SEDIMENT_NO_SPACE',
      `no space left on device while writing segment ${segmentId}; the write was undone and writes resume when space is freed`,
      { cause: err },
    );
    // Synchronously, before any await: appends made from now on are placed at `end`.
    const dropped = this.queue;
    this.queue = [];
    this.queued = 0;
    this.assignId = segmentId;
    this.assignSize = end;
    this.assignFooter = footer.entriesBefore(end);
    this.resetCount++;
    const reject = (why: SedimentError): void => {
      for (const item of [...failed, ...dropped]) {
        if (item.kind === 'frame') item.reject(why);
        else item.done?.reject(why);
      }
    };
    if (!this.segmentMissing) {
      try {
        await this.fh.truncate(end);
        await this.fh.datasync();
      } catch (cause) {
        const fatal = this.fail(cause, `undoing a write to segment ${segmentId} after the disk filled up`);
        reject(fatal);
        throw fatal;
      }
    }
    // Only now: a refused operation must not come back after a crash (frames of it may have reached
    // the disk whole, and a concurrent fdatasync may have made them durable before the truncation).
    reject(e);
  }

  private fail(err: unknown, what: string): SedimentError {
    if (!this.failure) {
      const cause = ioError(err, what);
      this.failure = new SedimentError(
        'SEDIMENT_WRITER_FAILED',
        `writes stopped after an I/O failure (${cause.message}); reads continue; restart to recover`,
        { cause: err },
      );
    }
    return this.failure;
  }

  private rejectAll(): void {
    const e = this.failure as SedimentError;
    for (const item of this.queue) {
      if (item.kind === 'frame') item.reject(e);
      else item.done?.reject(e);
    }
    this.queue = [];
    this.queued = 0;
    // Frames handed to the appender stay pinned in `inflight` until it reports them; onReport rejects them.
  }

  private maybeIdle(): void {
    if (this.pumping || this.queue.length > 0 || this.inflight.length > 0 || this.recovering) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

const EMPTY = Buffer.alloc(0);

function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
