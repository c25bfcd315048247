// Dictionary files of the hot tier (docs/FORMAT.md §2.7): `DIR/dicts/<12-digit id>.zdict`, each one zstd
// raw-content dictionary for small objects of one bucket, named by CHUNK frames with codec 3. A file is
// written once (tmp, fsync, rename, fsync of its directory) before any frame names it, and never changes.
// A codec-3 payload starts with the dictionary's id and its check (the low 32 bits of xxh64(content)), so a
// frame decoded with any other dictionary — a file replaced, ids reused after a file was lost — is refused
// as corruption instead of yielding wrong bytes of the right length.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { DICT_FILE_MAGIC, DICT_FILE_SUFFIX, DICT_FILE_VERSION, DICT_REF_BYTES } from './constants.js';
import { checkHashAt, xxh64 } from './hash.js';

export interface DictionaryFile {
  id: number;
  createdMs: number;
  /** The bucket whose small objects it was cut from (the one it is used for). */
  bucket: string;
  content: Buffer;
}

/** Dictionary ids are u32 and start at 1 (0 never names one). */
export const DICT_ID_MAX = 0xffff_ffff;
/** A dictionary is at most this large (the hot tier cuts 16 KiB ones). */
export const DICT_CONTENT_BYTES_MAX = 1 << 20;

export function dictFileName(id: number): string {
  return `${String(id).padStart(12, '0')}${DICT_FILE_SUFFIX}`;
}

/** The id a file name gives, or undefined for a name that is not a dictionary file's. */
export function dictIdOfName(name: string): number | undefined {
  const m = /^(\d{12})\.zdict$/.exec(name);
  if (!m) return undefined;
  const id = Number(m[1]);
  return id >= 1 && id <= DICT_ID_MAX ? id : undefined;
}

/** The check a codec-3 payload carries: the low 32 bits of xxh64(content). */
export function dictCheck(content: Uint8Array): number {
  return Number(xxh64(content) & 0xffff_ffffn);
}

export function encodeDictionaryFile(d: DictionaryFile): Buffer {
  if (!Number.isInteger(d.id) || d.id < 1 || d.id > DICT_ID_MAX) throw new RangeError(`dictionary id ${d.id}`);
  if (d.content.length === 0 || d.content.length > DICT_CONTENT_BYTES_MAX) throw new RangeError(`dictionary of ${d.content.length} bytes`);
  const w = new BinaryWriter(64 + d.content.length);
  w.bytes(DICT_FILE_MAGIC).u8(DICT_FILE_VERSION).zeros(3).u32(d.id).u64(d.createdMs).str16(d.bucket).u32(d.content.length).bytes(d.content).zeros(8);
  const buf = w.finish();
  buf.writeBigUInt64LE(xxh64(buf.subarray(0, buf.length - 8)), buf.length - 8);
  return buf;
}

/** Decodes and verifies a whole dictionary file; any inconsistency is a FormatError. */
export function decodeDictionaryFile(buf: Buffer): DictionaryFile {
  if (buf.length < DICT_FILE_MAGIC.length + 30) throw new FormatError(`dictionary file of ${buf.length} bytes is too short`);
  if (!buf.subarray(0, 8).equals(DICT_FILE_MAGIC)) throw new FormatError('bad dictionary file magic');
  if (!checkHashAt(buf, 0, buf.length - 8)) throw new FormatError('dictionary file checksum mismatch');
  const r = new BinaryReader(buf.subarray(0, buf.length - 8));
  r.bytes(8);
  const version = r.u8();
  if (version !== DICT_FILE_VERSION) throw new FormatError(`dictionary file version ${version}`);
  const reserved = r.bytes(3);
  if (reserved.some((b) => b !== 0)) throw new FormatError('dictionary file reserved bytes are not zero');
  const id = r.u32();
  if (id === 0) throw new FormatError('dictionary id 0');
  const createdMs = r.u64();
  const bucket = r.str16();
  const len = r.u32();
  if (len === 0 || len > DICT_CONTENT_BYTES_MAX) throw new FormatError(`dictionary of ${len} bytes`);
  const content = Buffer.from(r.bytes(len));
  r.expectEnd('dictionary file');
  return { id, createdMs, bucket, content };
}

/** The 8 bytes a codec-3 payload starts with. */
export function encodeDictRef(id: number, check: number): Buffer {
  const b = Buffer.allocUnsafe(DICT_REF_BYTES);
  b.writeUInt32LE(id, 0);
  b.writeUInt32LE(check >>> 0, 4);
  return b;
}
