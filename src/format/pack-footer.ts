// Footer of a compaction output ("pack", docs/FORMAT.md §2.5). A pack is a sealed segment whose records
// were copied verbatim from older segments; its footer says which files it replaces and, for every
// record, the place it was first written (its origin), because commit manifests, upload parts and the
// index keep addressing records by origin forever.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { PACK_FOOTER_VERSION, PACK_RECORD_DAMAGED, RecordType } from './constants.js';
import { decodeChunkMeta, encodeChunkMeta, type ChunkMeta } from './records.js';
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
  return Buffer.concat(packFooterParts(f.inputs, f.entries.length, [encodePackEntries(f.entries)]));
}

/**
 * The footer payload in parts (to pass to encodeFrame): the head, then `entryParts` as produced by
 * encodePackEntries, so a writer can encode entries as it goes instead of all at once at the end.
 */
export function packFooterParts(inputs: number[], entryCount: number, entryParts: Buffer[]): Buffer[] {
  const w = new BinaryWriter(16 + inputs.length * 8);
  w.u8(PACK_FOOTER_VERSION).u32(inputs.length);
  for (const id of inputs) w.u64(id);
  w.u32(entryCount);
  return [w.finish(), ...entryParts];
}

/** The encoded entries (in order), as they appear in the footer after its entry count. */
export function encodePackEntries(entries: PackEntry[]): Buffer {
  const w = new BinaryWriter(64 + entries.length * 60);
  for (const e of entries) {
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

export type PackEntryMaker<T> = (
  type: number, offset: number, frameLen: number, originSegmentId: number, originOffset: number, damaged: boolean, chunk?: ChunkMeta, payload?: Buffer,
) => T;

function plainPackEntry(type: number, offset: number, frameLen: number, originSegmentId: number, originOffset: number, damaged: boolean, chunk?: ChunkMeta, payload?: Buffer): PackEntry {
  return chunk ? { type, offset, frameLen, originSegmentId, originOffset, damaged, chunk } : { type, offset, frameLen, originSegmentId, originOffset, damaged, payload };
}

/** Like FooterDecoder (footer.ts): decodes a pack footer a slice of entries at a time; payloads are views. */
export class PackFooterDecoder {
  private readonly r: BinaryReader;
  private left: number;
  readonly inputs: number[] = [];

  constructor(buf: Buffer) {
    const r = (this.r = new BinaryReader(buf));
    const v = r.u8();
    if (v !== PACK_FOOTER_VERSION) throw new FormatError(`pack footer version ${v} unknown`);
    const inputCount = r.u32();
    if (inputCount * 8 > r.remaining) throw new FormatError('pack input count exceeds payload');
    for (let i = 0; i < inputCount; i++) this.inputs.push(r.u64());
    this.left = r.u32();
    if (this.left * 30 > r.remaining) throw new FormatError('pack entry count exceeds payload');
  }

  get done(): boolean {
    return this.left === 0;
  }

  /** Appends up to `max` more entries to `into`; after the last one, checks that the payload ends there. `make` as in FooterDecoder. */
  next<T = PackEntry>(max: number, into: T[], make: PackEntryMaker<T> = plainPackEntry as never): void {
    const r = this.r;
    for (let n = Math.min(max, this.left); n > 0; n--, this.left--) {
      const type = r.u8();
      const offset = r.u64();
      const frameLen = r.u32();
      const originSegmentId = r.u64();
      const originOffset = r.u64();
      const flags = r.u8();
      if ((flags & ~PACK_RECORD_DAMAGED) !== 0) throw new FormatError(`pack entry flags ${flags}`);
      const damaged = (flags & PACK_RECORD_DAMAGED) !== 0;
      if (type === RecordType.CHUNK) {
        into.push(make(type, offset, frameLen, originSegmentId, originOffset, damaged, decodeChunkMeta(r.bytes(20)), undefined));
      } else {
        into.push(make(type, offset, frameLen, originSegmentId, originOffset, damaged, undefined, r.bytes(r.u32())));
      }
    }
    if (this.left === 0) r.expectEnd('pack FOOTER');
  }
}

/** Decodes a whole pack footer (payloads are views into `buf`). */
export function decodePackFooter(buf: Buffer): PackFooter {
  const d = new PackFooterDecoder(buf);
  const entries: PackEntry[] = [];
  d.next(Infinity, entries);
  return { inputs: d.inputs, entries };
}
