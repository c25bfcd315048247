// Read side of the hot segments: positional reads of whole frames with verification, over a bounded
// cache of read handles. Wrong bytes never leave this module: every frame is checked (magic, length,
// xxh64) and a failure is a CorruptionError carrying the segment id and offset.
import { FormatError } from '../format/binary.js';
import { decodeFrame, type Frame } from '../format/frame.js';
import type { FileHandle, FileSystem } from '../io/types.js';
import { CorruptionError, ioError, SedimentError } from '../util/errors.js';
import { segmentFileName } from './segment-files.js';
import { packFileName } from './pack-files.js';
import { PinCounts } from '../util/pin-counts.js';

interface OpenSegment {
  fh: Promise<FileHandle>;
  /** The handle once `fh` has resolved (for synchronous page-cache reads). */
  handle?: FileHandle;
  reads: number;
}

/** How many segments removed by compaction a store remembers, to tell a dead version's read from damage. */
const RETIRED_REMEMBERED = 4096;

/** Reads up to this many bytes first try the file system's synchronous page-cache read (readCached). */
export const CACHED_READ_BYTES_MAX = 64 * 1024;

export class SegmentStore {
  private open = new Map<number, OpenSegment>();
  /** Ids that name a pack (`NNN.pack`, written by compaction) rather than a log segment. */
  readonly packIds = new Set<number>();
  /**
   * Compaction's relocation: where a record addressed by its origin lives now (undefined: in place).
   * Resolution and taking the read reference happen in the same tick, so a segment whose last reader
   * is gone (`whenUnread`) gets no new reader once compaction has swapped it out.
   */
  locate: ((segmentId: number, offset: number) => { segmentId: number; offset: number } | undefined) | undefined;
  private unreadWaiters = new Map<number, Array<() => void>>();
  /** Streams reading from a segment, by segment id (pin). */
  private readonly pins = new PinCounts();
  /** Segments compaction removed (forget), the most recent RETIRED_REMEMBERED of them. */
  private readonly retired = new Set<number>();

  constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    private readonly handlesMax = 128,
  ) {}

  pathOf(segmentId: number): string {
    return `${this.dir}/${this.packIds.has(segmentId) ? packFileName(segmentId) : segmentFileName(segmentId)}`;
  }

  /**
   * Keeps segments from being removed while a GET streams from them (ChunkReader): `whenUnread` waits for
   * the returned release too. Release is idempotent. A pin left unreleased delays only the removal of its
   * segments (compaction defers it), never a pass.
   */
  pin(segmentIds: Iterable<number>): () => void {
    return this.pins.pin(segmentIds, (id) => {
      const s = this.open.get(id);
      if (!s || s.reads === 0) this.wake(id);
    });
  }


  /** A GET streaming from `segmentId` holds a pin on it. */
  isPinned(segmentId: number): boolean {
    return this.pins.has(segmentId);
  }

  /** Resolves once no read of `segmentId` is in flight and no stream pins it (later reads resolve elsewhere). */
  whenUnread(segmentId: number): Promise<void> {
    const s = this.open.get(segmentId);
    if ((!s || s.reads === 0) && !this.pins.has(segmentId)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.unreadWaiters.get(segmentId) ?? [];
      list.push(resolve);
      this.unreadWaiters.set(segmentId, list);
    });
  }

  private released(segmentId: number, s: OpenSegment): void {
    if (s.reads !== 0 || this.pins.has(segmentId)) return;
    this.wake(segmentId);
  }

  private wake(segmentId: number): void {
    const list = this.unreadWaiters.get(segmentId);
    if (!list) return;
    this.unreadWaiters.delete(segmentId);
    for (const w of list) w();
  }

  private acquire(segmentId: number): OpenSegment {
    let s = this.open.get(segmentId);
    if (s) {
      // refresh LRU position
      this.open.delete(segmentId);
      this.open.set(segmentId, s);
    } else {
      const opened: OpenSegment = { fh: this.fs.open(this.pathOf(segmentId), 'read'), reads: 0 };
      opened.fh.then((fh) => (opened.handle = fh), () => this.open.delete(segmentId));
      s = opened;
      this.open.set(segmentId, s);
      this.evict();
    }
    s.reads++;
    return s;
  }

  private evict(): void {
    if (this.open.size <= this.handlesMax) return;
    for (const [id, s] of this.open) {
      if (this.open.size <= this.handlesMax) break;
      if (s.reads === 0) {
        this.open.delete(id);
        void s.fh.then((fh) => fh.close()).catch(() => undefined);
      }
    }
  }

  /**
   * Reads `length` bytes at `offset` into a fresh buffer, or into `into` (exactly `length` bytes) and returns
   * it; a short read is corruption (truncated file).
   */
  async readRaw(segmentId: number, offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (into !== undefined && into.length !== length) throw new RangeError(`assertion failed: reading ${length} bytes into ${into.length}`);
    const s = this.acquire(segmentId);
    // Small reads of cached bytes are done on the spot: a thread-pool round trip costs ~10× a 4 KiB
    // copy from the page cache. The handle is in the map, so it is open (closing removes it first).
    const h = s.handle;
    if (h?.readCached !== undefined && length <= CACHED_READ_BYTES_MAX) {
      const buf = into ?? Buffer.allocUnsafe(length);
      if (h.readCached(buf, offset)) {
        s.reads--;
        this.released(segmentId, s);
        return buf;
      }
    }
    try {
      let fh: FileHandle;
      try {
        fh = await s.fh;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // Not damage when compaction removed the file: the bytes asked for belonged to a dead version.
          if (this.retired.has(segmentId)) {
            throw new SedimentError('SEDIMENT_NO_SUCH_KEY', `the object was overwritten or deleted while it was being read, and compaction has since removed the old version's bytes (segment ${segmentId})`, { cause: err });
          }
          throw new CorruptionError(segmentId, offset, 'segment file is missing', { cause: err });
        }
        throw ioError(err, `opening segment ${segmentId}`);
      }
      const buf = into ?? Buffer.allocUnsafe(length);
      let n: number;
      try {
        n = await fh.read(buf, 0, length, offset);
      } catch (err) {
        throw ioError(err, `reading segment ${segmentId} at ${offset}`);
      }
      if (n !== length) throw new CorruptionError(segmentId, offset, `short read: ${n} of ${length} bytes (truncated segment)`);
      return buf;
    } finally {
      s.reads--;
      this.released(segmentId, s);
    }
  }

  /**
   * Where the record first written at (segmentId, offset) is now: compaction moves records into packs
   * and every address the index and manifests hold is the original one (pack-files.ts).
   */
  where(segmentId: number, offset: number): { segmentId: number; offset: number } {
    return this.locate?.(segmentId, offset) ?? { segmentId, offset };
  }

  /** Reads and verifies one frame; `expectType` guards against an index pointing at the wrong record. */
  async readFrame(segmentId: number, offset: number, frameLen: number, expectType?: number): Promise<Frame> {
    ({ segmentId, offset } = this.where(segmentId, offset));
    const buf = await this.readRaw(segmentId, offset, frameLen);
    return verifyFrame(buf, segmentId, offset, expectType);
  }

  /** Forgets a handle (segment deleted or rewritten). */
  /**
   * Compaction is done with `segmentId` (its live records are elsewhere now) and unlinks it next. A read
   * that still addresses it afterwards can only be of a record compaction dropped as dead: a GET of a
   * version overwritten or deleted since it began (see readRaw).
   */
  async forget(segmentId: number): Promise<void> {
    this.retired.add(segmentId);
    if (this.retired.size > RETIRED_REMEMBERED) this.retired.delete(this.retired.values().next().value!);
    const s = this.open.get(segmentId);
    if (!s) return;
    this.open.delete(segmentId);
    await s.fh.then((fh) => fh.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((s) => s.fh.then((fh) => fh.close()).catch(() => undefined)));
  }
}

export function verifyFrame(buf: Buffer, segmentId: number, offset: number, expectType?: number): Frame {
  let frame: Frame;
  try {
    frame = decodeFrame(buf);
  } catch (err) {
    if (err instanceof FormatError) throw new CorruptionError(segmentId, offset, err.message, { cause: err });
    throw err;
  }
  if (expectType !== undefined && frame.type !== expectType) {
    throw new CorruptionError(segmentId, offset, `record type ${frame.type}, expected ${expectType}`);
  }
  return frame;
}
