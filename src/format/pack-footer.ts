// Footer of a compaction output ("pack", docs/FORMAT.md §2.5). A pack is a sealed segment whose records
// were copied verbatim from older segments; its footer says which files it replaces and, for every
// record, the place it was first written (its origin), because commit manifests, upload parts and the
// index keep addressing records by origin forever.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { PACK_FOOTER_VERSION, PACK_RECORD_DAMAGED, RecordType } from './constants.js';
import { decodeChunkMeta, encodeChunkMeta } from './records.js';
import type { FooterEntry } from './footer.js';

export interface PackEntry extends FooterEntry {
  originSegmentId: number;
  originOffset: number;
  /** The record failed its checksum when it was copied; it was copied anyway so the damage stays reported. */
  damaged: boolean;
}

export interface PackFooter {
  /** Segment and pack ids this pack replaces; once it is durable they are garbage. */
  inputs: number[];
  entries: PackEntry[];
}

export function encodePackFooter(f: PackFooter): Buffer {
  const w = new BinaryWriter(64 + f.inputs.length * 8 + f.entries.length * 60);
  w.u8(PACK_FOOTER_VERSION).u32(f.inputs.length);
  for (const id of f.inputs) w.u64(id);
  w.u32(f.entries.length);
  for (const e of f.entries) {
    w.u8(e.type).u64(e.offset).u32(e.frameLen).u64(e.originSegmentId).u64(e.originOffset).u8(e.damaged ? PACK_RECORD_DAMAGED : 0);
    if (e.type === RecordType.CHUNK) {
      if (e.chunk === undefined) throw new RangeError('chunk pack entry without chunk meta');
      w.bytes(encodeChunkMeta(e.chunk));
    } else {
      const p = e.payload ?? Buffer.alloc(0);
      w.u32(p.length).bytes(p);
    }
  }
  return w.finish();
}

export function decodePackFooter(buf: Buffer): PackFooter {
  const r = new BinaryReader(buf);
  const v = r.u8();
  if (v !== PACK_FOOTER_VERSION) throw new FormatError(`pack footer version ${v} unknown`);
  const inputCount = r.u32();
  if (inputCount * 8 > r.remaining) throw new FormatError('pack input count exceeds payload');
  const inputs: number[] = [];
  for (let i = 0; i < inputCount; i++) inputs.push(r.u64());
  const count = r.u32();
  if (count * 30 > r.remaining) throw new FormatError('pack entry count exceeds payload');
  const entries: PackEntry[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u8();
    const offset = r.u64();
    const frameLen = r.u32();
    const originSegmentId = r.u64();
    const originOffset = r.u64();
    const flags = r.u8();
    if ((flags & ~PACK_RECORD_DAMAGED) !== 0) throw new FormatError(`pack entry flags ${flags}`);
    const damaged = (flags & PACK_RECORD_DAMAGED) !== 0;
    if (type === RecordType.CHUNK) {
      entries.push({ type, offset, frameLen, originSegmentId, originOffset, damaged, chunk: decodeChunkMeta(r.bytes(20)) });
    } else {
      entries.push({ type, offset, frameLen, originSegmentId, originOffset, damaged, payload: Buffer.from(r.bytes(r.u32())) });
    }
  }
  r.expectEnd('pack FOOTER');
  return { inputs, entries };
}
