// The segment manifest (docs/FORMAT.md §4.2): which files of segments/ are live, so that open can tell a
// segment file that was removed on purpose (compaction, a segment with nothing live) from one that was
// lost. Pure encode/decode.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { MANIFEST_MAGIC, MANIFEST_VERSION, ManifestKind } from './constants.js';
import { checkHashAt, writeHashAt } from './hash.js';

export type ManifestKindValue = (typeof ManifestKind)[keyof typeof ManifestKind];

export interface ManifestEntry {
  segmentId: number;
  kind: ManifestKindValue;
}

export interface SegmentManifest {
  /** Counts the rewrites of the file: informational (a reader uses the newest file there is). */
  generation: number;
  writtenMs: number;
  /** Sorted by segment id, no id twice. */
  entries: ManifestEntry[];
}

const FIXED_BYTES = 8 + 2 + 2 + 8 + 8 + 4 + 8;

export function encodeSegmentManifest(m: SegmentManifest): Buffer {
  const w = new BinaryWriter(FIXED_BYTES + m.entries.length * 9);
  w.bytes(MANIFEST_MAGIC).u16(MANIFEST_VERSION).u16(0).u64(m.generation).f64(m.writtenMs).u32(m.entries.length);
  let last = -1;
  for (const e of m.entries) {
    if (e.segmentId <= last) throw new RangeError(`manifest: segment ids must ascend (${e.segmentId} after ${last})`);
    last = e.segmentId;
    w.u64(e.segmentId).u8(e.kind);
  }
  w.zeros(8);
  const buf = w.finish();
  writeHashAt(buf, 0, buf.length - 8);
  return buf;
}

export function decodeSegmentManifest(buf: Buffer): SegmentManifest {
  if (buf.length < FIXED_BYTES || !buf.subarray(0, 8).equals(MANIFEST_MAGIC)) throw new FormatError('manifest: bad magic');
  if (!checkHashAt(buf, 0, buf.length - 8)) throw new FormatError('manifest: checksum mismatch');
  const r = new BinaryReader(buf, 8, buf.length - 8);
  const v = r.u16();
  if (v > MANIFEST_VERSION) throw new FormatError(`manifest version ${v} is newer than supported`);
  r.u16();
  const generation = r.u64();
  const writtenMs = r.f64();
  const entries: ManifestEntry[] = [];
  let last = -1;
  for (let n = r.u32(); n > 0; n--) {
    const segmentId = r.u64();
    const kind = r.u8();
    if (segmentId <= last) throw new FormatError(`manifest: segment id ${segmentId} after ${last}`);
    if (kind !== ManifestKind.LOG && kind !== ManifestKind.PACK) throw new FormatError(`manifest: unknown kind ${kind} for segment ${segmentId}`);
    last = segmentId;
    entries.push({ segmentId, kind });
  }
  r.expectEnd('manifest');
  return { generation, writtenMs, entries };
}
