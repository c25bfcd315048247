// Footer and tail of a sealed segment (docs/FORMAT.md §2.4).
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { CHUNK_META_BYTES, FOOTER_VERSION, FRAME_HASH_BYTES, FRAME_HEADER_BYTES, FRAME_MIN_BYTES, RecordType, TAIL_BYTES, TAIL_MAGIC } from './constants.js';
import { MAX_FRAME_BYTES, writeFrameHeader } from './frame.js';
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

/** Bytes of the footer payload of `entries`. */
function footerPayloadBytes(entries: FooterEntry[]): number {
  let size = 5;
  for (const e of entries) {
    if (e.type === RecordType.CHUNK) {
      if (e.chunk === undefined) throw new RangeError('chunk footer entry without chunk meta');
      size += 13 + CHUNK_META_BYTES;
    } else {
      size += 17 + (e.payload?.length ?? 0);
    }
  }
  return size;
}

/** Writes entries [from, to) of a footer payload (the version and count come before entry 0). */
function writeFooterEntries(w: BinaryWriter, entries: FooterEntry[], from: number, to: number): void {
  for (let i = from; i < to; i++) writeFooterEntry(w, entries[i]);
}

function writeFooterEntry(w: BinaryWriter, e: FooterEntry): void {
  w.u8(e.type).u64(e.offset).u32(e.frameLen);
  if (e.type === RecordType.CHUNK) {
    if (e.chunk === undefined) throw new RangeError('chunk footer entry without chunk meta');
    const m = e.chunk;
    w.u64(m.uploadId).u32(m.partNumber).u32(m.chunkIndex).u32(m.rawLen); // as encodeChunkMeta
  } else if (e.payload === undefined || e.payload.length === 0) {
    w.u32(0);
  } else {
    w.u32(e.payload.length).bytes(e.payload);
  }
}

function writeFooterPayload(w: BinaryWriter, entries: FooterEntry[]): void {
  w.u8(FOOTER_VERSION).u32(entries.length);
  writeFooterEntries(w, entries, 0, entries.length);
}

// Sizing first and writing in place matters: a segment of 4 KiB objects seals with ~65,000 entries (a
// ~7.5 MB footer), encoded on the event loop while the roll holds every append back.
export function encodeFooterPayload(entries: FooterEntry[]): Buffer {
  const w = new BinaryWriter(footerPayloadBytes(entries));
  writeFooterPayload(w, entries);
  return w.finish();
}

/**
 * The FOOTER frame of `entries`: the same bytes as encodeFrame(FOOTER, 0, empty meta,
 * encodeFooterPayload(entries)), built in one buffer (no payload buffer to fill and then copy).
 */
export function encodeFooterFrame(entries: FooterEntry[]): Buffer {
  const frameLen = FRAME_MIN_BYTES + footerPayloadBytes(entries);
  if (frameLen > MAX_FRAME_BYTES) throw new RangeError(`footer frame of ${frameLen} bytes too large`);
  const w = new BinaryWriter(frameLen);
  w.bytes(FRAME_HEADER_PLACEHOLDER);
  writeFooterPayload(w, entries);
  w.bytes(FRAME_HASH_PLACEHOLDER);
  const buf = w.finish();
  writeFrameHeader(buf, RecordType.FOOTER, 0, frameLen, 0);
  writeHashAt(buf, 0, frameLen - FRAME_HASH_BYTES);
  return buf;
}

/**
 * The FOOTER frame of the active segment, encoded as its records are assigned: sealing then costs one
 * hash over the bytes instead of encoding every entry while the roll holds appends back (~65,000 entries,
 * ~7.5 MB, for a segment of 4 KiB objects). `finish()` gives the same bytes as encodeFooterFrame of the
 * entries added, in order; nothing may be added after it.
 */
export class FooterBuilder {
  private readonly w: BinaryWriter;
  private count = 0;
  private lastEnd = 0;
  private finished = false;

  constructor(initialBytes = 64 * 1024) {
    this.w = new BinaryWriter(Math.max(FRAME_HEADER_BYTES + 5, initialBytes));
    // Frame header, version and count are written by finish(), when the count is known.
    this.w.zeros(FRAME_HEADER_BYTES + 5);
  }

  /** A builder holding `entries` (at open, and after a full disk undid the tail of a segment). */
  static of(entries: FooterEntry[]): FooterBuilder {
    const b = new FooterBuilder(FRAME_MIN_BYTES + footerPayloadBytes(entries));
    for (const e of entries) b.add(e);
    return b;
  }

  get entries(): number {
    return this.count;
  }

  /** Where the last entry's frame ends (offset + frameLen), 0 when there is none: where the footer goes. */
  get end(): number {
    return this.lastEnd;
  }

  /** Bytes of the frame finish() returns. */
  get frameBytes(): number {
    return this.w.length + FRAME_HASH_BYTES;
  }

  add(e: FooterEntry): void {
    if (this.finished) throw new RangeError('assertion failed: footer entry added after the footer was finished');
    writeFooterEntry(this.w, e);
    this.count++;
    this.lastEnd = e.offset + e.frameLen;
  }

  /**
   * A new builder holding the entries of this one whose frames start before `end` (entries are added in
   * offset order): what is left of a segment cut back to `end` after a full disk. Read back from the
   * encoded bytes, so the caller need not keep the entries themselves (nor their payload copies).
   */
  entriesBefore(end: number): FooterBuilder {
    const bytes = this.w.finish();
    const start = FRAME_HEADER_BYTES + 5;
    let p = start;
    let kept = 0;
    let lastEnd = 0;
    for (; kept < this.count; kept++) {
      const offset = bytes.readUInt32LE(p + 1) + bytes.readUInt32LE(p + 5) * 0x1_0000_0000;
      if (offset >= end) break;
      const frameLen = bytes.readUInt32LE(p + 9);
      lastEnd = offset + frameLen;
      p += bytes[p] === RecordType.CHUNK ? 13 + CHUNK_META_BYTES : 17 + bytes.readUInt32LE(p + 13);
    }
    const b = new FooterBuilder(p + FRAME_HASH_BYTES);
    b.w.bytes(bytes.subarray(start, p));
    b.count = kept;
    b.lastEnd = lastEnd;
    return b;
  }

  /** The complete FOOTER frame (a view of the builder's memory). */
  finish(): Buffer {
    if (this.finished) throw new RangeError('assertion failed: footer finished twice');
    const frameLen = this.frameBytes;
    if (frameLen > MAX_FRAME_BYTES) throw new RangeError(`footer frame of ${frameLen} bytes too large`);
    this.finished = true;
    this.w.bytes(FRAME_HASH_PLACEHOLDER);
    const buf = this.w.finish();
    writeFrameHeader(buf, RecordType.FOOTER, 0, frameLen, 0);
    buf[FRAME_HEADER_BYTES] = FOOTER_VERSION;
    buf.writeUInt32LE(this.count, FRAME_HEADER_BYTES + 1);
    writeHashAt(buf, 0, frameLen - FRAME_HASH_BYTES);
    return buf;
  }
}

const FRAME_HEADER_PLACEHOLDER = new Uint8Array(FRAME_HEADER_BYTES);
const FRAME_HASH_PLACEHOLDER = new Uint8Array(FRAME_HASH_BYTES);

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
   * `chunks` false leaves CHUNK entries out (their bytes are still walked).
   */
  next<T = FooterEntry>(max: number, into: T[], make: (type: number, offset: number, frameLen: number, chunk?: ChunkMeta, payload?: Buffer) => T = plainEntry as never, chunks = true): void {
    const r = this.r;
    for (let n = Math.min(max, this.left); n > 0; n--, this.left--) {
      const type = r.u8();
      const offset = r.u64();
      const frameLen = r.u32();
      if (type !== RecordType.CHUNK) into.push(make(type, offset, frameLen, undefined, r.bytes(r.u32())));
      else if (chunks) into.push(make(type, offset, frameLen, decodeChunkMeta(r.bytes(20)), undefined));
      else r.u64(), r.skip(12); // the upload id checked below 2^53 as decodeChunkMeta does, nothing built
    }
    if (this.left === 0) r.expectEnd('FOOTER');
  }
}

function plainEntry(type: number, offset: number, frameLen: number, chunk?: ChunkMeta, payload?: Buffer): FooterEntry {
  return chunk ? { type, offset, frameLen, chunk } : { type, offset, frameLen, payload };
}

/** Decodes a whole footer payload (payloads are views into `buf`); `chunks` false leaves CHUNK entries out. */
export function decodeFooterPayload(buf: Buffer, chunks = true): FooterEntry[] {
  const entries: FooterEntry[] = [];
  new FooterDecoder(buf).next(Infinity, entries, plainEntry, chunks);
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
