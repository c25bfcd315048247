// The last-access file (docs/FORMAT.md §4.1): when objects of buckets with access-based tiering were last
// read, at minute granularity, written next to each checkpoint. Pure encode/decode.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { ACCESS_MAGIC, ACCESS_VERSION } from './constants.js';
import { checkHashAt, writeHashAt } from './hash.js';

export interface AccessEntry {
  bucket: string;
  key: string;
  /** Minutes since the Unix epoch of the last read. */
  minute: number;
}

export function encodeAccess(writtenMs: number, entries: Iterable<AccessEntry>, count: number): Buffer {
  const w = new BinaryWriter(64 + count * 32);
  w.bytes(ACCESS_MAGIC).u16(ACCESS_VERSION).u16(0).f64(writtenMs).u32(count);
  let n = 0;
  for (const e of entries) {
    w.str8(e.bucket).str16(e.key).u32(e.minute);
    n++;
  }
  if (n !== count) throw new RangeError(`access file: ${n} entries, announced ${count}`);
  w.zeros(8);
  const buf = w.finish();
  writeHashAt(buf, 0, buf.length - 8);
  return buf;
}

export function decodeAccess(buf: Buffer): { writtenMs: number; entries: AccessEntry[] } {
  if (buf.length < 32 || !buf.subarray(0, 8).equals(ACCESS_MAGIC)) throw new FormatError('access file: bad magic');
  if (!checkHashAt(buf, 0, buf.length - 8)) throw new FormatError('access file: checksum mismatch');
  const r = new BinaryReader(buf, 8, buf.length - 8);
  const v = r.u16();
  if (v > ACCESS_VERSION) throw new FormatError(`access file version ${v} is newer than supported`);
  r.u16();
  const writtenMs = r.f64();
  const entries: AccessEntry[] = [];
  for (let n = r.u32(); n > 0; n--) entries.push({ bucket: r.str8(), key: r.str16(), minute: r.u32() });
  r.expectEnd('access file');
  return { writtenMs, entries };
}
