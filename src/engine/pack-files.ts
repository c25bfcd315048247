// Packs: sealed segments written by compaction (docs/FORMAT.md §2.5, docs/DURABILITY.md "Compaction").
//
// Ids: a pack takes its id from the same sequence as log segments (the writer skips reserved ids), so a
// segment id names exactly one file, `NNN.seg` or `NNN.pack`.
// Addressing: the index, commit manifests and upload parts keep addressing every record by its origin
// (segment id and offset where it was first appended). A log segment that still exists serves its
// records in place; once compaction has replaced it, the RelocationMap says where each of its live
// records now is. An origin with no entry in a replaced segment is a record compaction dropped as dead.
// The rule at open: a valid pack wins over every file it lists as an input (those are deleted).
import { FormatError } from '../format/binary.js';
import { RecordType, SEGMENT_HEADER_BYTES, TAIL_BYTES } from '../format/constants.js';
import { decodeFrame } from '../format/frame.js';
import { decodeTail } from '../format/footer.js';
import { decodePackFooter, type PackFooter } from '../format/pack-footer.js';
import { decodeSegmentHeader } from '../format/segment-header.js';
import type { FileSystem } from '../io/types.js';
import { indexOfSorted } from '../util/sorted-search.js';

export function packFileName(id: number): string {
  return String(id).padStart(12, '0') + '.pack';
}

export function parsePackFileName(name: string): number | undefined {
  const m = /^(\d{12})\.pack$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Reads and checks a pack's header, tail and footer; undefined if any of them is invalid. */
export async function readPackFooter(fs: FileSystem, path: string, id: number): Promise<(PackFooter & { sizeBytes: number }) | undefined> {
  const raw = await readPackFooterPayload(fs, path, id);
  if (!raw) return undefined;
  try {
    const f = decodePackFooter(raw.payload);
    // Copies: what open keeps of a record must not pin the whole footer.
    for (const e of f.entries) if (e.payload) e.payload = Buffer.from(e.payload);
    return { ...f, sizeBytes: raw.sizeBytes };
  } catch (err) {
    if (err instanceof FormatError) return undefined;
    throw err;
  }
}

/** Reads and checks a pack's header, tail and footer frame; the footer payload, undecoded (undefined if invalid). */
export async function readPackFooterPayload(fs: FileSystem, path: string, id: number): Promise<{ payload: Buffer; sizeBytes: number } | undefined> {
  const fh = await fs.open(path, 'read');
  try {
    const size = await fh.size();
    if (size < SEGMENT_HEADER_BYTES + TAIL_BYTES) return undefined;
    const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(TAIL_BYTES);
    await fh.read(tail, 0, TAIL_BYTES, size - TAIL_BYTES);
    const footerOffset = decodeTail(tail);
    if (footerOffset === undefined || footerOffset < SEGMENT_HEADER_BYTES || footerOffset >= size - TAIL_BYTES) return undefined;
    const buf = Buffer.allocUnsafe(size - TAIL_BYTES - footerOffset);
    if ((await fh.read(buf, 0, buf.length, footerOffset)) !== buf.length) return undefined;
    try {
      if (decodeSegmentHeader(head).segmentId !== id) return undefined;
      const frame = decodeFrame(buf);
      if (frame.type !== RecordType.FOOTER) return undefined;
      return { payload: frame.payload, sizeBytes: size };
    } catch (err) {
      if (err instanceof FormatError) return undefined;
      throw err;
    }
  } finally {
    await fh.close();
  }
}

const OFFSET_SPAN = 2 ** 32;

/** One pack's records by origin: origin keys (segmentId * 2^32 + offset) ascending, and where each is in the pack. */
interface PackOrigins {
  packId: number;
  keys: Float64Array;
  offsets: Float64Array;
  /** Distinct origin segment ids, to unhook the pack when it is replaced in turn. */
  originSegments: number[];
}

/**
 * Origin → current place of every record that compaction moved. Per pack, two sorted typed arrays
 * (16 bytes a record, one binary search a lookup) rather than a JS map entry per record: installing a
 * pack of 50,000 records took ~20 ms of the event loop with a Map, and a million moved records cost tens
 * of MB.
 */
export class RelocationMap {
  /** originSegmentId → the packs holding records first written there. */
  private readonly byOrigin = new Map<number, PackOrigins[]>();
  /** Segment ids whose file was replaced by a pack: an origin there without an entry was dropped. */
  private readonly replaced = new Set<number>();
  private readonly packs = new Map<number, PackOrigins>();

  get size(): number {
    let n = 0;
    for (const p of this.packs.values()) n += p.keys.length;
    return n;
  }

  isReplaced(segmentId: number): boolean {
    return this.replaced.has(segmentId);
  }

  /** Where the record first written at (segmentId, offset) is now; the origin itself if it never moved. */
  locate(segmentId: number, offset: number): { segmentId: number; offset: number } | undefined {
    if (!this.replaced.has(segmentId)) return undefined;
    const list = this.byOrigin.get(segmentId);
    if (!list) return undefined;
    const key = segmentId * OFFSET_SPAN + offset;
    for (const p of list) {
      const i = indexOfSorted(p.keys, key);
      if (i >= 0) return { segmentId: p.packId, offset: p.offsets[i] };
    }
    return undefined;
  }

  /**
   * Installs a pack: its records' origins now resolve into it, and its inputs are replaced. Runs
   * synchronously, so a reader sees either the old places or the new ones, never a mix for one record.
   */
  install(packId: number, inputs: number[], records: Array<{ originSegmentId: number; originOffset: number; offset: number }>): void {
    const pack = records.length > 0 ? packOrigins(packId, records) : undefined;
    for (const id of inputs) {
      this.replaced.add(id);
      const old = this.packs.get(id);
      if (!old) continue;
      this.packs.delete(id);
      for (const seg of old.originSegments) {
        const list = this.byOrigin.get(seg)?.filter((p) => p !== old) ?? [];
        if (list.length > 0) this.byOrigin.set(seg, list);
        else this.byOrigin.delete(seg);
      }
    }
    if (!pack) return;
    this.packs.set(packId, pack);
    for (const seg of pack.originSegments) {
      const list = this.byOrigin.get(seg);
      if (list) list.push(pack);
      else this.byOrigin.set(seg, [pack]);
      // Every origin held by a pack is in a log segment that some pass replaced (maybe through a pack
      // that is itself gone now and no longer names it).
      this.replaced.add(seg);
    }
  }
}

function packOrigins(packId: number, records: Array<{ originSegmentId: number; originOffset: number; offset: number }>): PackOrigins {
  const n = records.length;
  let keys = new Float64Array(n);
  let offsets = new Float64Array(n);
  let sorted = true;
  const segs = new Set<number>();
  for (let i = 0; i < n; i++) {
    const r = records[i];
    keys[i] = r.originSegmentId * OFFSET_SPAN + r.originOffset;
    offsets[i] = r.offset;
    if (i > 0 && keys[i] <= keys[i - 1]) sorted = false;
    segs.add(r.originSegmentId);
  }
  // Packs copy records in origin order unless they pack other packs: sort only when needed.
  if (!sorted) {
    const order = new Uint32Array(n).map((_, i) => i).sort((a, b) => keys[a] - keys[b]);
    const k2 = new Float64Array(n);
    const o2 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      k2[i] = keys[order[i]];
      o2[i] = offsets[order[i]];
    }
    keys = k2;
    offsets = o2;
  }
  return { packId, keys, offsets, originSegments: [...segs] };
}

export interface LoadedPack extends PackFooter {
  id: number;
  sizeBytes: number;
}

/**
 * At open, before the log is read: finds the valid packs, deletes every file a valid pack replaces
 * (a crash after the pack became durable but before its inputs were unlinked leaves both), and reports
 * packs whose footer is unreadable. `newestLogId` is never deleted (the active segment is never an input).
 */
export async function loadPacks(
  fs: FileSystem,
  segmentsDir: string,
  warn: (m: string) => void,
): Promise<{ packs: LoadedPack[]; damaged: number[]; maxId: number; replaced: Set<number> }> {
  const names = await fs.readdir(segmentsDir);
  const packIds = names.map(parsePackFileName).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  const logIds = names.filter((n) => n.endsWith('.seg')).map((n) => Number(n.slice(0, 12))).filter(Number.isSafeInteger);
  const newestLogId = logIds.length > 0 ? Math.max(...logIds) : 0;
  const loaded: LoadedPack[] = [];
  const damaged: number[] = [];
  for (const id of packIds) {
    const f = await readPackFooter(fs, `${segmentsDir}/${packFileName(id)}`, id);
    if (f) loaded.push({ id, ...f });
    else damaged.push(id);
  }
  const replaced = new Set<number>();
  for (const p of loaded) for (const i of p.inputs) replaced.add(i);
  let removed = 0;
  const present = new Set(names);
  for (const id of [...replaced].sort((a, b) => a - b)) {
    if (id >= newestLogId && present.has(String(id).padStart(12, '0') + '.seg')) {
      warn(`pack lists segment ${id}, the newest log segment, as replaced; keeping it`);
      continue;
    }
    for (const name of [String(id).padStart(12, '0') + '.seg', packFileName(id)]) {
      if (!present.has(name)) continue;
      warn(`removing ${name}: replaced by a compaction pack (the pass that wrote it was interrupted before removing it)`);
      await fs.unlink(`${segmentsDir}/${name}`);
      removed++;
    }
  }
  if (removed > 0) await fs.syncDir(segmentsDir);
  const packs = loaded.filter((p) => !replaced.has(p.id));
  const maxId = Math.max(0, ...packIds);
  return { packs, damaged: damaged.filter((id) => !replaced.has(id)), maxId, replaced };
}
