// The dictionary collector: deletes the files of hot-tier dictionaries (docs/FORMAT.md §2.7) that no frame
// names any more. A bucket whose small objects change gets a new dictionary now and then; the old file
// stays while any frame names it, and without this it stayed forever (and was read into memory at
// every open), also after expiry or deletes had dropped every object coded with it.
//
// Why a delete is safe. Dictionary D is deleted only when all of these hold:
// 1. D is retired (hot-dictionaries.ts): no bucket will hand it out again and no frame naming it is
//    being made, so every frame that names D is already written to a file. Once true, this stays true.
// 2. No frame naming D is in the active segment: D was retired already at an earlier pass, which saw log
//    segment A active, and the active segment is now a later one (so those frames lie in log segments up
//    to A, sealed since, or in packs: compaction output, copied from such files); or the active segment
//    holds no record at all.
// 3. Every file listed now, but the active segment, is sealed and has been read (at this pass or an
//    earlier one: a sealed file never changes, so what it names is remembered by id), and no CHUNK frame
//    in it names D. A file no longer listed had its live records copied into a pack, which is listed, or
//    had none (a GET already reading such a file keeps working: a deleted dictionary stays in memory until
//    the engine closes).
// The last listing and the decision are one synchronous step; files that appeared during the reads (a
// compaction or migration pass) are read first. A file that cannot be read to its footer (damage) may
// name anything: while it is listed, nothing is deleted.
//
// Cost: a pass with no retired dictionary only asks for the list. Otherwise each sealed file is read
// once per engine open, frame headers only (one read per 256 KiB of small frames, one per large frame),
// in a maintenance worker when a pool is given (docs/PERFORMANCE.md "Dictionary collection").
import { CODEC_MASK, CODEC_ZSTD_DATA_DICT, FRAME_HEADER_BYTES, FRAME_MAGIC, FRAME_MIN_BYTES, RecordType, SEGMENT_HEADER_BYTES, TAIL_BYTES } from '../format/constants.js';
import { decodeTail } from '../format/footer.js';
import type { MaintenanceAccess } from '../engine/maintenance-access.js';
import type { FileSystem } from '../io/types.js';
import type { MaintenancePool } from './maintenance-pool.js';

export interface DictionaryGcReport {
  /** Retired dictionaries found (deleted ones included). */
  retired: number;
  /** Retired, but frames naming them may still be in the active segment (condition 2 above). */
  waiting: number;
  /** Ids deleted by this pass. */
  deleted: number[];
  filesRead: number;
  bytesRead: number;
  /** Why the pass decided nothing, when it stopped early. */
  postponed?: string;
}

export interface DictionaryIdsTask {
  kind: 'dict-ids';
  path: string;
}

export interface DictionaryIdsResult {
  ids: Set<number> | undefined;
  bytesRead: number;
}

/** Listing rounds per pass: new files keep appearing only while compaction or migration writes them. */
const ROUNDS_MAX = 8;
/** Bytes read at once while walking frame headers. */
const WINDOW_BYTES = 256 * 1024;

/**
 * The dictionary ids named by the CHUNK frames of one sealed file (log segment or pack), or undefined when
 * the file cannot be walked from its header to its footer (no valid tail, or a frame header that does not
 * parse). Reads frame headers only; checksums are not verified — a damaged frame cannot be read with any
 * dictionary, so what it seems to name does not matter.
 */
export async function dictionaryIdsOf(fs: FileSystem, path: string): Promise<DictionaryIdsResult> {
  const fh = await fs.open(path, 'read');
  let bytesRead = 0;
  try {
    const size = await fh.size();
    if (size < SEGMENT_HEADER_BYTES + TAIL_BYTES) return { ids: undefined, bytesRead };
    const tail = Buffer.alloc(TAIL_BYTES);
    bytesRead += await fh.read(tail, 0, TAIL_BYTES, size - TAIL_BYTES);
    const end = decodeTail(tail);
    if (end === undefined || end < SEGMENT_HEADER_BYTES || end > size - TAIL_BYTES) return { ids: undefined, bytesRead };
    const ids = new Set<number>();
    let win = Buffer.alloc(0);
    let winAt = 0;
    /** Makes [at, at+len) readable in `win`; false when the file ends first. */
    const have = async (at: number, len: number): Promise<boolean> => {
      if (at >= winAt && at + len <= winAt + win.length) return true;
      const n = Math.min(Math.max(len, WINDOW_BYTES), end - at);
      if (n < len) return false;
      const buf = Buffer.allocUnsafe(n);
      const got = await fh.read(buf, 0, n, at);
      bytesRead += got;
      win = buf.subarray(0, got);
      winAt = at;
      return got >= len;
    };
    let at = SEGMENT_HEADER_BYTES;
    while (at < end) {
      if (!(await have(at, FRAME_HEADER_BYTES))) return { ids: undefined, bytesRead };
      // The frames whose header is in this window, with no object per frame (FORMAT.md §2.2).
      do {
        const p = at - winAt;
        const frameLen = win.readUInt32LE(p + 4);
        const metaLen = win.readUInt16LE(p + 10);
        const flags = win[p + 9]!;
        if (win.readUInt32LE(p) !== FRAME_MAGIC || frameLen < FRAME_MIN_BYTES + metaLen || (flags & ~CODEC_MASK) !== 0 || at + frameLen > end) {
          return { ids: undefined, bytesRead };
        }
        if (win[p + 8] === RecordType.CHUNK && (flags & CODEC_MASK) === CODEC_ZSTD_DATA_DICT) {
          const refAt = at + FRAME_HEADER_BYTES + metaLen;
          if (refAt + 4 > at + frameLen) return { ids: undefined, bytesRead };
          if (refAt + 4 > winAt + win.length && !(await have(refAt, 4))) return { ids: undefined, bytesRead };
          ids.add(win.readUInt32LE(refAt - winAt));
        }
        at += frameLen;
      } while (at < end && at + FRAME_HEADER_BYTES <= winAt + win.length);
    }
    return { ids, bytesRead };
  } finally {
    await fh.close();
  }
}

export class DictionaryCollector {
  /** What each sealed file read so far names, by file id; null: it could not be read to its footer. */
  private readonly named = new Map<number, Set<number> | null>();
  /** Retired dictionary → the active log segment when a pass first saw it retired. */
  private readonly armed = new Map<number, number>();
  /** Damaged files already warned about. */
  private readonly warned = new Set<number>();

  /** `pool`: where files are read (a maintenance worker on a real disk); without one, on this thread. */
  constructor(
    private readonly access: MaintenanceAccess,
    private readonly pool?: MaintenancePool,
  ) {}

  async runPass(): Promise<DictionaryGcReport> {
    const a = this.access;
    const retired = a.dictionaries.retired();
    const active = a.activeSegmentId();
    const report: DictionaryGcReport = { retired: retired.length, waiting: 0, deleted: [], filesRead: 0, bytesRead: 0 };
    const stillRetired = new Set(retired);
    for (const id of this.armed.keys()) if (!stillRetired.has(id)) this.armed.delete(id);
    for (const id of retired) if (!this.armed.has(id)) this.armed.set(id, active);
    const activeEmpty = a.segments().some((s) => s.id === active && s.sizeBytes <= SEGMENT_HEADER_BYTES);
    const eligible = retired.filter((id) => activeEmpty || this.armed.get(id)! < active);
    report.waiting = retired.length - eligible.length;
    if (eligible.length === 0) return report;
    for (let round = 0; round < ROUNDS_MAX; round++) {
      if (a.isClosed()) return { ...report, postponed: 'the engine is closing' };
      const activeNow = a.activeSegmentId();
      const others = a.segments().filter((s) => s.id !== activeNow);
      // A segment the writer rolled away from is sealed shortly; its footer is what ends a walk.
      if (others.some((s) => !s.sealed)) return { ...report, postponed: 'a segment is being sealed' };
      const listed = new Set(others.map((s) => s.id));
      for (const id of this.named.keys()) if (!listed.has(id)) this.named.delete(id);
      const unread = others.filter((s) => !this.named.has(s.id));
      if (unread.length === 0) return this.decide(eligible, report);
      for (const s of unread) {
        if (a.isClosed()) return { ...report, postponed: 'the engine is closing' };
        let ids: Set<number> | null;
        try {
          const path = a.pathOf(s.id);
          const r = this.pool ? await this.pool.dictionaryIds({ kind: 'dict-ids', path }) : await dictionaryIdsOf(a.fs, path);
          report.bytesRead += r.bytesRead;
          ids = r.ids ?? null;
        } catch (err) {
          // Removed meanwhile (compacted into a pack, dropped, migrated): the next listing tells.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') continue;
          throw err;
        }
        report.filesRead++;
        if (ids === null && !this.warned.has(s.id)) {
          this.warned.add(s.id);
          a.warn(`dictionary collection: segment ${s.id} cannot be read to its footer; no dictionary file is deleted while it exists (run verify)`);
        }
        this.named.set(s.id, ids);
      }
    }
    return { ...report, postponed: 'new files kept appearing' };
  }

  /** Synchronously with the listing that found every file read: what no file names goes. */
  private async decide(eligible: number[], report: DictionaryGcReport): Promise<DictionaryGcReport> {
    const named = new Set<number>();
    for (const ids of this.named.values()) {
      if (ids === null) return { ...report, postponed: 'a segment cannot be read to its footer' };
      for (const id of ids) named.add(id);
    }
    const doomed = eligible.filter((id) => !named.has(id));
    if (doomed.length === 0) return report;
    await this.access.dictionaries.remove(doomed);
    for (const id of doomed) this.armed.delete(id);
    return { ...report, deleted: doomed };
  }
}
