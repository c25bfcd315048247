// Footer and tail of a sealed segment (docs/FORMAT.md §2.4).
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { CHUNK_META_BYTES, FOOTER_VERSION, RecordType, TAIL_BYTES, TAIL_MAGIC } from './constants.js';
import { checkHashAt, writeHashAt } from './hash.js';
import { decodeChunkMeta, type ChunkMeta } from './records.js';

export interface FooterEntry {
  type: number;
  offset: number;
  frameLen: number;
  /** CHUNK records only. */
  chunk?: ChunkMeta;
  /** Non-chunk records: a copy of the record payload. */
  payload?: Buffer;
}

export function encodeFooterPayload(entries: FooterEntry[]): Buffer {
  // Sized exactly first, then written in place: a segment of 4 KiB objects seals with ~65,000 entries,
  // and the encoding runs on the event loop (growing a writer and a buffer per chunk meta took ~40 ms).
  let size = 5;
  for (const e of entries) {
    if (e.type === RecordType.CHUNK) {
      if (e.chunk === undefined) throw new RangeError('chunk footer entry without chunk meta');
      size += 13 + CHUNK_META_BYTES;
    } else {
      size += 17 + (e.payload?.length ?? 0);
    }
  }
  const w = new BinaryWriter(size);
  w.u8(FOOTER_VERSION).u32(entries.length);
  for (const e of entries) {
    w.u8(e.type).u64(e.offset).u32(e.frameLen);
    if (e.type === RecordType.CHUNK) {
      const m = e.chunk as ChunkMeta;
      w.u64(m.uploadId).u32(m.partNumber).u32(m.chunkIndex).u32(m.rawLen); // = encodeChunkMeta
    } else if (e.payload === undefined || e.payload.length === 0) {
      w.u32(0);
    } else {
      w.u32(e.payload.length).bytes(e.payload);
    }
  }
  return w.finish();
}

/**
 * Decodes a footer payload a slice of entries at a time, so a caller on the main thread can yield to
 * the event loop between slices (a 64 MiB segment of 4 KiB objects lists ~32,000 records). Payloads are
 * views into `buf`: they keep it alive (copy them to keep a few records of a large footer).
 */
export class FooterDecoder {
  private readonly r: BinaryReader;
  private left: number;

  constructor(buf: Buffer) {
    this.r = new BinaryReader(buf);
    const v = this.r.u8();
    if (v !== FOOTER_VERSION) throw new FormatError(`footer version ${v} unknown`);
    this.left = this.r.u32();
    if (this.left * 13 > this.r.remaining) throw new FormatError('footer entry count exceeds payload');
  }

  get done(): boolean {
    return this.left === 0;
  }

  /**
   * Appends up to `max` more entries to `into`; after the last one, checks that the payload ends there.
   * `make` builds each entry (a caller that keeps them in a richer shape saves an object per record).
   */
  next<T = FooterEntry>(max: number, into: T[], make: (type: number, offset: number, frameLen: number, chunk?: ChunkMeta, payload?: Buffer) => T = plainEntry as never): void {
    const r = this.r;
    for (let n = Math.min(max, this.left); n > 0; n--, this.left--) {
      const type = r.u8();
      const offset = r.u64();
      const frameLen = r.u32();
      if (type === RecordType.CHUNK) into.push(make(type, offset, frameLen, decodeChunkMeta(r.bytes(20)), undefined));
      else into.push(make(type, offset, frameLen, undefined, r.bytes(r.u32())));
    }
    if (this.left === 0) r.expectEnd('FOOTER');
  }
}

function plainEntry(type: number, offset: number, frameLen: number, chunk?: ChunkMeta, payload?: Buffer): FooterEntry {
  return chunk ? { type, offset, frameLen, chunk } : { type, offset, frameLen, payload };
}

/** Decodes a whole footer payload (payloads are views into `buf`). */
export function decodeFooterPayload(buf: Buffer): FooterEntry[] {
  const entries: FooterEntry[] = [];
  new FooterDecoder(buf).next(Infinity, entries);
  return entries;
}

export function encodeTail(footerOffset: number): Buffer {
  const w = new BinaryWriter(TAIL_BYTES);
  w.bytes(TAIL_MAGIC).u64(footerOffset).zeros(8);
  const buf = w.finish();
  writeHashAt(buf, 0, 16);
  return buf;
}

/** Returns the footer offset, or undefined if `buf` (the last 24 bytes of a file) is not a valid tail. */
export function decodeTail(buf: Buffer): number | undefined {
  if (buf.length !== TAIL_BYTES) return undefined;
  if (!buf.subarray(0, 8).equals(TAIL_MAGIC)) return undefined;
  if (!checkHashAt(buf, 0, 16)) return undefined;
  return new BinaryReader(buf, 8, 16).u64();
}
