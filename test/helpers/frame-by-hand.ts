// A record frame (docs/FORMAT.md §2.2) read by hand for the golden tests, with the independent Cursor
// rather than src/format's decoder: magic, bounds, reserved flag bits and hash are checked with expect().
import { expect } from 'vitest';
import { xxh64 } from '../../src/format/hash.js';
import { Cursor } from './cursor.js';

export interface RawFrame {
  offset: number;
  frameLen: number;
  type: number;
  flags: number;
  meta: Buffer;
  payload: Buffer;
}

/** The frame at `offset` of `buf`, its parts as views of `buf`. xxh64 must be initialised. */
export function parseFrameByHand(buf: Buffer, offset: number): RawFrame {
  const c = new Cursor(buf, offset);
  expect(c.bytes(4).toString('latin1'), `frame magic at ${offset}`).toBe('SREC');
  const frameLen = c.u32();
  expect(frameLen).toBeGreaterThanOrEqual(20);
  expect(offset + frameLen).toBeLessThanOrEqual(buf.length);
  const type = c.u8();
  const flags = c.u8();
  expect(flags & 0xfc, 'reserved flag bits').toBe(0);
  const metaLen = c.u16();
  const meta = c.bytes(metaLen);
  const payload = c.bytes(frameLen - 20 - metaLen);
  expect(c.u64big(), `frame hash at ${offset}`).toBe(xxh64(buf.subarray(offset, offset + frameLen - 8)));
  return { offset, frameLen, type, flags, meta, payload };
}

/** Every frame of a sealed segment, from offset 64 up to its 24-byte tail, read by hand. */
export function framesOf(buf: Buffer): RawFrame[] {
  const frames: RawFrame[] = [];
  for (let at = 64; at < buf.length - 24; ) {
    const f = parseFrameByHand(buf, at);
    frames.push(f);
    at += f.frameLen;
  }
  return frames;
}

/** §2.1 by hand: the 64-byte header of a hot segment with this id and creation time. */
export function expectHotHeaderByHand(seg: Buffer, segmentId: number, createdMs: number): void {
  const c = new Cursor(seg);
  expect(c.bytes(8).toString('hex')).toBe('5345445345470d0a');
  expect(c.u16()).toBe(1); // formatVersion
  expect(c.u8()).toBe(0); // tier hot
  expect(c.u8()).toBe(0); // flags
  expect(c.u32()).toBe(0); // reserved
  expect(c.u64()).toBe(segmentId);
  expect(c.u64()).toBe(createdMs);
  expect(c.bytes(24).equals(Buffer.alloc(24))).toBe(true);
  expect(c.u64big()).toBe(xxh64(seg.subarray(0, 56)));
  expect(c.pos).toBe(64);
}
