// Index checkpoint files (docs/FORMAT.md §4).
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { CHECKPOINT_MAGIC, CHECKPOINT_VERSION } from './constants.js';
import { checkHashAt, xxh64Stream } from './hash.js';

export interface CheckpointHeader {
  seq: number;
  replaySegmentId: number;
  replayOffset: number;
  createdMs: number;
}

export interface CheckpointBucket {
  name: string;
  createdMs: number;
  region: string;
  flags: number;
  seq: number;
}

/** One index entry as stored in a checkpoint (and held by the engine's object table). */
export interface IndexEntry {
  seq: number;
  segmentId: number;
  commitOffset: number;
  commitLen: number;
  size: number;
  mtimeMs: number;
  md5: Buffer;
  partCount: number;
  storageClass: number;
  flags: number;
  versionId: string;
}

export interface CheckpointSource {
  bucket: CheckpointBucket;
  objectCount: number;
  /** Must yield exactly objectCount entries, keys in UTF-8 byte order; a key's versions newest first. */
  objects: Iterable<[string, IndexEntry]>;
}

/** An open multipart upload: its UPLOAD_CREATE payload and the UPLOAD_PART payloads of its live parts. */
export interface CheckpointUpload {
  create: Buffer;
  parts: Buffer[];
}

/**
 * `configs`: BUCKET_CONFIG payloads in force (version 2; none → the file is written as version 1).
 * `versions`: some key has several rows (version 3).
 */
export function encodeCheckpoint(h: CheckpointHeader, buckets: CheckpointSource[], uploads: CheckpointUpload[] = [], configs: Buffer[] = [], versions = false): Buffer {
  // Each piece is only valid until the next is asked for: copy as they come.
  const pieces: Buffer[] = [];
  for (const piece of checkpointPieces(h, buckets, uploads, configs, versions, Infinity)) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

/**
 * The same bytes as `encodeCheckpoint`, produced as consecutive pieces of at most `sliceObjects` index
 * rows each (fewer when `cutEarly` says so), so that a caller can write each piece to the file and yield
 * to the event loop before asking for the next: memory stays one piece, whatever the size of the index.
 * The last piece ends with the file's xxh64, computed as the pieces go. A piece is valid only until the next is asked for (they share one
 * buffer, so that the garbage of a whole file's worth of pieces does not pile up between collections).
 * The sources must not change while it runs (the engine hands it snapshots); an entry is read when its
 * row is encoded, so it may be a reused object valid only until then.
 */
export function* checkpointPieces(
  h: CheckpointHeader,
  buckets: CheckpointSource[],
  uploads: CheckpointUpload[],
  configs: Buffer[],
  versions: boolean,
  sliceObjects: number,
  /** Asked every 64 rows of a piece: true ends the piece early (a caller bounding the time per piece). */
  cutEarly?: () => boolean,
): Generator<Buffer, void, void> {
  const hash = xxh64Stream();
  const rowEstimate = 96;
  const pieceRows = Number.isFinite(sliceObjects) ? sliceObjects : buckets.reduce((n, b) => n + b.objectCount, 0);
  const w = new BinaryWriter(64 + Math.min(pieceRows, 1 << 16) * rowEstimate);
  const version = versions ? 3 : configs.length > 0 ? 2 : 1;
  w.bytes(CHECKPOINT_MAGIC).u16(version).u16(0).u32(0);
  w.u64(h.seq).u64(h.replaySegmentId).u64(h.replayOffset).f64(h.createdMs);
  w.u32(buckets.length);
  let rows = 0;
  for (const { bucket: b, objectCount, objects } of buckets) {
    w.str8(b.name).f64(b.createdMs).str8(b.region).u8(b.flags).u64(b.seq).u32(objectCount);
    let n = 0;
    for (const [key, e] of objects) {
      w.str16(key).str8(e.versionId).u64(e.seq).u64(e.segmentId).u64(e.commitOffset).u32(e.commitLen);
      w.u64(e.size).f64(e.mtimeMs).bytes(e.md5).u16(e.partCount).u8(e.storageClass).u8(e.flags);
      n++;
      if (++rows >= sliceObjects || ((rows & 63) === 0 && cutEarly?.() === true)) {
        rows = 0;
        const piece = w.finish();
        hash.update(piece);
        yield piece;
        w.reset();
      }
    }
    if (n !== objectCount) throw new RangeError(`bucket ${b.name}: ${n} objects yielded, ${objectCount} announced`);
  }
  w.u32(uploads.length);
  for (const u of uploads) {
    w.u32(u.create.length).bytes(u.create).u32(u.parts.length);
    for (const p of u.parts) w.u32(p.length).bytes(p);
  }
  if (version >= 2) {
    w.u32(configs.length);
    for (const c of configs) w.u32(c.length).bytes(c);
  }
  const last = w.finish();
  hash.update(last);
  const tail = Buffer.allocUnsafe(last.length + 8);
  last.copy(tail, 0);
  tail.writeBigUInt64LE(hash.digest(), last.length);
  yield tail;
}

export interface CheckpointVisitor {
  bucket(b: CheckpointBucket, objectCount: number): void;
  /** `e` is a scratch object reused between calls, and `e.md5` a view valid during the call: copy what you keep. */
  object(key: string, e: IndexEntry): void;
  upload(u: CheckpointUpload): void;
  /** A BUCKET_CONFIG payload in force (version 2); a view valid during the call. */
  config?(payload: Buffer): void;
}

export function decodeCheckpointHeader(buf: Buffer): CheckpointHeader {
  if (buf.length < 56 || !buf.subarray(0, 8).equals(CHECKPOINT_MAGIC)) throw new FormatError('bad checkpoint magic');
  const r = new BinaryReader(buf, 8);
  const version = r.u16();
  if (version > CHECKPOINT_VERSION) throw new FormatError(`checkpoint version ${version} is newer than supported`);
  r.u16();
  r.u32();
  return { seq: r.u64(), replaySegmentId: r.u64(), replayOffset: r.u64(), createdMs: r.f64() };
}

/** Verifies the hash and structure, streaming entries to the visitor. Throws FormatError. */
export function decodeCheckpoint(buf: Buffer, visitor: CheckpointVisitor): CheckpointHeader {
  // The hash first: until it checks, no field can be trusted, not even the version (a flipped version
  // byte is damage, not a newer format; a flipped u64 byte must not surface as a different error).
  if (buf.length < 56 || !buf.subarray(0, 8).equals(CHECKPOINT_MAGIC)) throw new FormatError('bad checkpoint magic');
  if (!checkHashAt(buf, 0, buf.length - 8)) throw new FormatError('checkpoint checksum mismatch');
  const header = decodeCheckpointHeader(buf);
  // The whole file is in `buf`: the body's requests for more bytes need no answer.
  const at = { r: new BinaryReader(buf, 48, buf.length - 8) };
  const body = decodeBody(at, buf.readUInt16LE(8), visitor);
  while (body.next().done !== true) {
    // nothing to load
  }
  at.r.expectEnd('checkpoint');
  return header;
}

/** Positional reads of a checkpoint file of `size` bytes (a FileHandle). */
export interface CheckpointBytes {
  readonly size: number;
  /** Reads up to `length` bytes at `position`; returns how many (short only at the end of the file). */
  read(buf: Buffer, bufOffset: number, length: number, position: number): Promise<number>;
}

/** Bytes read at a time by `decodeCheckpointFrom`. */
const READ_WINDOW_BYTES = 4 << 20;

/**
 * `decodeCheckpoint` reading the file a window at a time instead of holding it whole (a checkpoint is
 * ~100 bytes per object). Two passes: the hash over the whole file first — until it checks nothing is
 * trusted, and the visitor sees nothing — then the decoding. The visitor gets the same calls; buffers
 * it is handed are views valid only during the call.
 */
export async function decodeCheckpointFrom(src: CheckpointBytes, visitor: CheckpointVisitor, windowBytes = READ_WINDOW_BYTES): Promise<CheckpointHeader> {
  const size = src.size;
  if (size < 56) throw new FormatError('bad checkpoint magic');
  let window = Buffer.allocUnsafe(Math.max(56, Math.min(windowBytes, size)));
  const readFully = async (into: Buffer, length: number, position: number): Promise<void> => {
    let done = 0;
    while (done < length) {
      const n = await src.read(into, done, length - done, position + done);
      if (n === 0) throw new FormatError(`checkpoint ended at ${position + done} of ${size} bytes while being read`);
      done += n;
    }
  };
  // Pass 1: magic and hash.
  const hash = xxh64Stream();
  for (let pos = 0; pos < size - 8; ) {
    const n = Math.min(window.length, size - 8 - pos);
    await readFully(window, n, pos);
    if (pos === 0 && (n < 8 || !window.subarray(0, 8).equals(CHECKPOINT_MAGIC))) throw new FormatError('bad checkpoint magic');
    hash.update(window.subarray(0, n));
    pos += n;
  }
  const stored = Buffer.allocUnsafe(8);
  await readFully(stored, 8, size - 8);
  if (stored.readBigUInt64LE(0) !== hash.digest()) throw new FormatError('checkpoint checksum mismatch');
  // Pass 2: the body, a window at a time. `base` is the file offset of window[0]; the reader never
  // reaches into the trailing hash.
  let base = 0;
  let valid = Math.min(window.length, size);
  await readFully(window, valid, 0);
  const header = decodeCheckpointHeader(window);
  const version = window.readUInt16LE(8);
  const bodyEnd = size - 8;
  const at = { r: new BinaryReader(window, 48, Math.min(valid, bodyEnd - base)) };
  const body = decodeBody(at, version, visitor);
  for (let step = body.next(); !step.done; step = body.next()) {
    const r = at.r;
    // Never more than the body has left (past that the reader reports the overrun).
    const want = Math.min(step.value, bodyEnd - (base + r.pos));
    if (r.remaining >= want || base + r.end >= bodyEnd) continue;
    // Keep what is not yet read, then fill the window from the file.
    const keep = r.end - r.pos;
    const need = Math.max(window.length, want);
    const next = need > window.length ? Buffer.allocUnsafe(need) : window;
    window.copy(next, 0, r.pos, r.end);
    base += r.pos;
    window = next;
    const more = Math.min(window.length - keep, size - (base + keep));
    await readFully(window.subarray(keep), more, base + keep);
    valid = keep + more;
    at.r = new BinaryReader(window, 0, Math.min(valid, bodyEnd - base));
  }
  if (base + at.r.pos !== bodyEnd) throw new FormatError(`checkpoint: ${bodyEnd - base - at.r.pos} trailing bytes`);
  return header;
}

/** The most one index row takes: str16 key, str8 version id, 64 bytes of fixed fields. */
const ROW_BYTES_MAX = 2 + 0xffff + 1 + 0xff + 64;
/** The most a bucket's header takes: str8 name, f64, str8 region, u8, u64, u32. */
const BUCKET_HEADER_BYTES_MAX = 1 + 0xff + 8 + 1 + 0xff + 1 + 8 + 4;

/**
 * The checkpoint's body after its 48-byte header, for either decoder. Before reading a part it yields
 * how many bytes that part may take; a caller streaming the file makes at least that many available
 * (or all that is left) and may swap `at.r` for a reader over a new window, so `at.r` is read again
 * after every yield.
 */
function* decodeBody(at: { r: BinaryReader }, version: number, visitor: CheckpointVisitor): Generator<number, void, void> {
  const scratch: IndexEntry = {
    seq: 0, segmentId: 0, commitOffset: 0, commitLen: 0, size: 0, mtimeMs: 0, md5: Buffer.alloc(16),
    partCount: 0, storageClass: 0, flags: 0, versionId: '',
  };
  yield 4;
  for (let nb = at.r.u32(); nb > 0; nb--) {
    yield BUCKET_HEADER_BYTES_MAX;
    let r = at.r;
    const b: CheckpointBucket = { name: r.str8(), createdMs: r.f64(), region: r.str8(), flags: r.u8(), seq: r.u64() };
    const count = r.u32();
    visitor.bucket(b, count);
    for (let i = 0; i < count; i++) {
      yield ROW_BYTES_MAX;
      r = at.r;
      const key = r.str16();
      scratch.versionId = r.str8();
      scratch.seq = r.u64();
      scratch.segmentId = r.u64();
      scratch.commitOffset = r.u64();
      scratch.commitLen = r.u32();
      scratch.size = r.u64();
      scratch.mtimeMs = r.f64();
      scratch.md5 = r.bytes(16);
      scratch.partCount = r.u16();
      scratch.storageClass = r.u8();
      scratch.flags = r.u8();
      visitor.object(key, scratch);
    }
  }
  yield 4;
  for (let nu = at.r.u32(); nu > 0; nu--) {
    yield 4;
    const createLen = at.r.u32();
    yield createLen + 4;
    // Copies: a later request for bytes may move the window these views point into.
    const create = Buffer.from(at.r.bytes(createLen));
    const parts: Buffer[] = [];
    for (let np = at.r.u32(); np > 0; np--) {
      yield 4;
      const len = at.r.u32();
      yield len;
      parts.push(Buffer.from(at.r.bytes(len)));
    }
    visitor.upload({ create, parts });
  }
  if (version >= 2) {
    yield 4;
    for (let nc = at.r.u32(); nc > 0; nc--) {
      yield 4;
      const len = at.r.u32();
      yield len;
      visitor.config?.(at.r.bytes(len));
    }
  }
}
