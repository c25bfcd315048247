// Payload encoders/decoders for the record types of docs/FORMAT.md §2.3 and §3.
import { BinaryReader, BinaryWriter, FormatError } from './binary.js';
import { CHECKSUM_ALG_ID_MASK, ChecksumAlg, ChecksumTypeBit, CHUNK_META_BYTES, CommitFlag, PAYLOAD_VERSION } from './constants.js';

export interface ChunkMeta {
  uploadId: number;
  partNumber: number;
  chunkIndex: number;
  rawLen: number;
}

/** Where one chunk frame lives and how many object bytes it holds. */
export interface ChunkRef {
  segmentId: number;
  offset: number;
  frameLen: number;
  rawLen: number;
}

export interface PartEntry {
  partNumber: number;
  size: number;
  md5: Buffer;
  chunkCount: number;
  /** The part's checksum (its upload's algorithm; format 8), kept when every part of the object has one. */
  checksum?: ChecksumEntry;
}

export type ChecksumTypeName = keyof typeof ChecksumTypeBit;

export interface ChecksumEntry {
  /** A ChecksumAlg id (1..5). */
  alg: number;
  value: Buffer;
  /** §3.1: set on a multipart object's checksum (format 7); absent on a single-part object's. */
  type?: ChecksumTypeName;
}

const ALG_IDS = new Set<number>(Object.values(ChecksumAlg));

/** The algorithm byte: id in the low bits, the checksum type (if any) in the high ones. */
export function checksumAlgByte(alg: number, type: ChecksumTypeName | undefined): number {
  if (!ALG_IDS.has(alg)) throw new RangeError(`checksum algorithm id ${alg} unknown`);
  return alg | (type === undefined ? 0 : ChecksumTypeBit[type]);
}

/** Splits an algorithm byte; an unknown id or both type bits is damage. */
export function parseChecksumAlgByte(b: number, what: string): { alg: number; type?: ChecksumTypeName } {
  const alg = b & CHECKSUM_ALG_ID_MASK;
  const bits = b & ~CHECKSUM_ALG_ID_MASK;
  if (!ALG_IDS.has(alg) || bits === (ChecksumTypeBit.FULL_OBJECT | ChecksumTypeBit.COMPOSITE)) {
    throw new FormatError(`${what} checksum algorithm byte 0x${b.toString(16)} unknown`);
  }
  if (bits === ChecksumTypeBit.FULL_OBJECT) return { alg, type: 'FULL_OBJECT' };
  if (bits === ChecksumTypeBit.COMPOSITE) return { alg, type: 'COMPOSITE' };
  return { alg };
}

/** §3.1 — everything the commit of one object version says. */
export interface ObjectManifest {
  seq: number;
  bucket: string;
  key: string;
  versionId: string;
  uploadId: number;
  mtimeMs: number;
  size: number;
  md5: Buffer;
  partCount: number;
  storageClass: number;
  flags: number;
  contentType: string;
  headers: Array<[string, string]>;
  userMetadata: Array<[string, string]>;
  checksums: ChecksumEntry[];
  lockMode: number;
  retainUntilMs: number;
  legalHold: boolean;
  tags: Array<[string, string]>;
  chunks: ChunkRef[];
  parts: PartEntry[];
}

export interface DeleteRecord {
  seq: number;
  bucket: string;
  key: string;
  versionId: string;
  mtimeMs: number;
  flags: number;
}

export interface BucketCreateRecord {
  seq: number;
  name: string;
  createdMs: number;
  region: string;
  flags: number;
}

export interface BucketDeleteRecord {
  seq: number;
  name: string;
}

export function encodeChunkMeta(m: ChunkMeta): Buffer {
  const w = new BinaryWriter(CHUNK_META_BYTES);
  return w.u64(m.uploadId).u32(m.partNumber).u32(m.chunkIndex).u32(m.rawLen).finish();
}

export function decodeChunkMeta(buf: Buffer): ChunkMeta {
  if (buf.length !== CHUNK_META_BYTES) throw new FormatError(`chunk meta of ${buf.length} bytes`);
  const r = new BinaryReader(buf);
  return { uploadId: r.u64(), partNumber: r.u32(), chunkIndex: r.u32(), rawLen: r.u32() };
}

function checkVersion(r: BinaryReader, what: string): void {
  const v = r.u8();
  if (v !== PAYLOAD_VERSION) throw new FormatError(`${what} payload version ${v} unknown`);
}

function writeChecksums(w: BinaryWriter, list: ChecksumEntry[]): void {
  w.u8(list.length);
  for (const c of list) w.u8(checksumAlgByte(c.alg, c.type)).u8(c.value.length).bytes(c.value);
}

function readChecksums(r: BinaryReader, what: string): ChecksumEntry[] {
  const out: ChecksumEntry[] = [];
  for (let n = r.u8(); n > 0; n--) {
    const { alg, type } = parseChecksumAlgByte(r.u8(), what);
    const value = Buffer.from(r.bytes(r.u8()));
    out.push(type === undefined ? { alg, value } : { alg, value, type });
  }
  return out;
}

/** One checksum of a part (no type bits): alg:u8 len:u8 bytes. */
function writeChecksumValue(w: BinaryWriter, c: ChecksumEntry): void {
  w.u8(checksumAlgByte(c.alg, undefined)).u8(c.value.length).bytes(c.value);
}

function readChecksumValue(r: BinaryReader, what: string): ChecksumEntry {
  const { alg, type } = parseChecksumAlgByte(r.u8(), what);
  if (type !== undefined) throw new FormatError(`${what}: a part's checksum has no type`);
  return { alg, value: Buffer.from(r.bytes(r.u8())) };
}

function writeChunkRefs(w: BinaryWriter, chunks: ChunkRef[]): void {
  w.u32(chunks.length);
  for (const c of chunks) w.u64(c.segmentId).u64(c.offset).u32(c.frameLen).u32(c.rawLen);
}

/** Reads a chunk table and checks that its raw lengths add up to `size`. */
function readChunkRefs(r: BinaryReader, size: number, what: string): ChunkRef[] {
  const count = r.u32();
  if (count * 24 > r.remaining) throw new FormatError(`${what}: chunk table truncated`);
  const chunks: ChunkRef[] = new Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    chunks[i] = { segmentId: r.u64(), offset: r.u64(), frameLen: r.u32(), rawLen: r.u32() };
    sum += chunks[i].rawLen;
  }
  if (sum !== size) throw new FormatError(`${what}: chunks hold ${sum} bytes, record says ${size}`);
  return chunks;
}

export function encodeManifest(m: ObjectManifest): Buffer {
  if (m.md5.length !== 16) throw new RangeError('md5 must be 16 bytes');
  const w = new BinaryWriter(256 + m.chunks.length * 24);
  w.u8(PAYLOAD_VERSION).u64(m.seq).str16(m.bucket).str16(m.key).str8(m.versionId).u64(m.uploadId);
  // Part checksums are kept for all parts or none (one of another algorithm, or a part without: none).
  const alg = m.parts[0]?.checksum?.alg;
  const partChecksums = alg !== undefined && m.parts.every((p) => p.checksum !== undefined && p.checksum.alg === alg && p.checksum.type === undefined);
  const flags = (m.flags & ~CommitFlag.PART_CHECKSUMS) | (partChecksums ? CommitFlag.PART_CHECKSUMS : 0);
  w.f64(m.mtimeMs).u64(m.size).bytes(m.md5).u16(m.partCount).u8(m.storageClass).u8(flags);
  w.str16(m.contentType);
  w.u8(m.headers.length);
  for (const [k, v] of m.headers) w.str8(k).str16(v);
  w.u16(m.userMetadata.length);
  for (const [k, v] of m.userMetadata) w.str8(k).str16(v);
  writeChecksums(w, m.checksums);
  w.u8(m.lockMode).f64(m.retainUntilMs).u8(m.legalHold ? 1 : 0);
  w.u16(m.tags.length);
  for (const [k, v] of m.tags) w.str16(k).str16(v);
  writeChunkRefs(w, m.chunks);
  w.u32(m.parts.length);
  for (const p of m.parts) w.u32(p.partNumber).u64(p.size).bytes(p.md5).u32(p.chunkCount);
  if (partChecksums) for (const p of m.parts) writeChecksumValue(w, p.checksum!);
  return w.finish();
}

/** The fields of a COMMIT that the in-memory index keeps (engine ObjectEntry), in payload order (§3.1). */
export type CommitIndexFields = Pick<ObjectManifest, 'seq' | 'bucket' | 'key' | 'versionId' | 'uploadId' | 'mtimeMs' | 'size' | 'md5' | 'partCount' | 'storageClass' | 'flags'>;

/** §3.1 up to the flag byte: the index's fields, and the flag byte as stored. `md5` is a view into the payload. */
function readCommitHead(r: BinaryReader): CommitIndexFields & { flagByte: number } {
  checkVersion(r, 'COMMIT');
  const seq = r.u64();
  const bucket = r.str16();
  const key = r.str16();
  const versionId = r.str8();
  const uploadId = r.u64();
  const mtimeMs = r.f64();
  const size = r.u64();
  const md5 = r.bytes(16);
  const partCount = r.u16();
  const storageClass = r.u8();
  const flagByte = r.u8();
  return { seq, bucket, key, versionId, uploadId, mtimeMs, size, md5, partCount, storageClass, flags: flagByte & ~CommitFlag.PART_CHECKSUMS, flagByte };
}

export function decodeManifest(buf: Buffer): ObjectManifest {
  const r = new BinaryReader(buf);
  const head = readCommitHead(r);
  const flagByte = head.flagByte;
  const contentType = r.str16();
  const headers: Array<[string, string]> = [];
  for (let n = r.u8(); n > 0; n--) headers.push([r.str8(), r.str16()]);
  const userMetadata: Array<[string, string]> = [];
  for (let n = r.u16(); n > 0; n--) userMetadata.push([r.str8(), r.str16()]);
  const checksums = readChecksums(r, 'COMMIT');
  const lockMode = r.u8();
  const retainUntilMs = r.f64();
  const legalHold = r.u8() !== 0;
  const tags: Array<[string, string]> = [];
  for (let n = r.u16(); n > 0; n--) tags.push([r.str16(), r.str16()]);
  const chunks = readChunkRefs(r, head.size, 'COMMIT');
  const parts: PartEntry[] = [];
  for (let n = r.u32(); n > 0; n--) {
    parts.push({ partNumber: r.u32(), size: r.u64(), md5: Buffer.from(r.bytes(16)), chunkCount: r.u32() });
  }
  if ((flagByte & CommitFlag.PART_CHECKSUMS) !== 0) {
    if (parts.length === 0) throw new FormatError('COMMIT: part checksums without parts');
    for (const p of parts) p.checksum = readChecksumValue(r, 'COMMIT part checksum');
    if (parts.some((p) => p.checksum!.alg !== parts[0]!.checksum!.alg)) throw new FormatError('COMMIT: part checksums of different algorithms');
  }
  r.expectEnd('COMMIT');
  return {
    seq: head.seq, bucket: head.bucket, key: head.key, versionId: head.versionId, uploadId: head.uploadId, mtimeMs: head.mtimeMs,
    size: head.size, md5: Buffer.from(head.md5), partCount: head.partCount, storageClass: head.storageClass, flags: head.flags,
    contentType, headers, userMetadata, checksums, lockMode, retainUntilMs, legalHold, tags, chunks, parts,
  };
}

/**
 * The index's fields of a COMMIT, for replaying the log at open: the rest of the payload is walked and
 * checked as decodeManifest checks it (the same FormatErrors, so damage is still reported at open), but
 * nothing of it is built. `md5` is a view into `buf`. Replay from sealed footers spent ~0.9 µs per
 * record in decodeManifest plus the garbage it left (docs/PERFORMANCE.md, session 23).
 */
export function decodeCommitIndex(buf: Buffer): CommitIndexFields {
  const r = new BinaryReader(buf);
  const head = readCommitHead(r); // its extra flagByte is left on the returned object
  const flagByte = head.flagByte;
  r.skip(r.u16()); // content type
  for (let n = r.u8(); n > 0; n--) r.skip(r.u8()), r.skip(r.u16()); // headers
  for (let n = r.u16(); n > 0; n--) r.skip(r.u8()), r.skip(r.u16()); // user metadata
  for (let n = r.u8(); n > 0; n--) parseChecksumAlgByte(r.u8(), 'COMMIT'), r.skip(r.u8()); // checksums
  r.skip(1 + 8 + 1); // lock mode, retain-until, legal hold
  for (let n = r.u16(); n > 0; n--) r.skip(r.u16()), r.skip(r.u16()); // tags
  const count = r.u32();
  if (count * 24 > r.remaining) throw new FormatError('COMMIT: chunk table truncated');
  let sum = 0;
  for (let i = 0; i < count; i++) {
    r.u64(), r.u64(), r.u32(); // segment id, offset, frame length (u64s checked below 2^53 as decoded)
    sum += r.u32();
  }
  if (sum !== head.size) throw new FormatError(`COMMIT: chunks hold ${sum} bytes, record says ${head.size}`);
  const parts = r.u32();
  for (let n = parts; n > 0; n--) r.u32(), r.u64(), r.skip(16), r.u32();
  if ((flagByte & CommitFlag.PART_CHECKSUMS) !== 0) {
    if (parts === 0) throw new FormatError('COMMIT: part checksums without parts');
    let first = -1;
    for (let n = parts; n > 0; n--) {
      const { alg, type } = parseChecksumAlgByte(r.u8(), 'COMMIT part checksum');
      if (type !== undefined) throw new FormatError('COMMIT part checksum: a part\'s checksum has no type');
      r.skip(r.u8());
      if (first >= 0 && alg !== first) throw new FormatError('COMMIT: part checksums of different algorithms');
      first = alg;
    }
  }
  r.expectEnd('COMMIT');
  return head;
}

export function encodeDelete(d: DeleteRecord): Buffer {
  return new BinaryWriter(64)
    .u8(PAYLOAD_VERSION).u64(d.seq).str16(d.bucket).str16(d.key).str8(d.versionId).f64(d.mtimeMs).u8(d.flags)
    .finish();
}

export function decodeDelete(buf: Buffer): DeleteRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'DELETE');
  const d = { seq: r.u64(), bucket: r.str16(), key: r.str16(), versionId: r.str8(), mtimeMs: r.f64(), flags: r.u8() };
  r.expectEnd('DELETE');
  return d;
}

export function encodeBucketCreate(b: BucketCreateRecord): Buffer {
  return new BinaryWriter(64)
    .u8(PAYLOAD_VERSION).u64(b.seq).str8(b.name).f64(b.createdMs).str8(b.region).u8(b.flags)
    .finish();
}

export function decodeBucketCreate(buf: Buffer): BucketCreateRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'BUCKET_CREATE');
  const b = { seq: r.u64(), name: r.str8(), createdMs: r.f64(), region: r.str8(), flags: r.u8() };
  r.expectEnd('BUCKET_CREATE');
  return b;
}

export function encodeBucketDelete(b: BucketDeleteRecord): Buffer {
  return new BinaryWriter(32).u8(PAYLOAD_VERSION).u64(b.seq).str8(b.name).finish();
}

export function decodeBucketDelete(buf: Buffer): BucketDeleteRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'BUCKET_DELETE');
  const b = { seq: r.u64(), name: r.str8() };
  r.expectEnd('BUCKET_DELETE');
  return b;
}

/** §3.8 BUCKET_CONFIG: one setting of a bucket; an empty value removes it. */
export interface BucketConfigRecord {
  seq: number;
  bucket: string;
  /** BucketConfigKind */
  kind: number;
  /** UTF-8 JSON of the setting (lifecycle: the validated rules), or empty. */
  value: Buffer;
}

export function encodeBucketConfig(c: BucketConfigRecord): Buffer {
  return new BinaryWriter(32 + c.value.length).u8(PAYLOAD_VERSION).u64(c.seq).str8(c.bucket).u8(c.kind).u32(c.value.length).bytes(c.value).finish();
}

export function decodeBucketConfig(buf: Buffer): BucketConfigRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'BUCKET_CONFIG');
  const c = { seq: r.u64(), bucket: r.str8(), kind: r.u8(), value: Buffer.from(r.bytes(r.u32())) };
  r.expectEnd('BUCKET_CONFIG');
  return c;
}

/** §3.5 UPLOAD_CREATE: a multipart upload begins. */
export interface UploadCreateRecord {
  seq: number;
  uploadId: number;
  bucket: string;
  key: string;
  initiatedMs: number;
  contentType: string;
  headers: Array<[string, string]>;
  userMetadata: Array<[string, string]>;
  tags: Array<[string, string]>;
  /** ChecksumAlg id the client announced (0 = none). */
  checksumAlg: number;
  /** The checksum type asked for or resolved at creation (format 7); absent: S3's default for the algorithm. */
  checksumType?: ChecksumTypeName;
  /**
   * Object Lock the client asked for, applied to the object at completion (§3.5: an optional trailer,
   * written only when there is a retention or a legal hold). lockMode as in COMMIT: 0 none, 1, 2.
   */
  lock?: { lockMode: number; retainUntilMs: number; legalHold: boolean };
}

/** §3.6 UPLOAD_PART: one part of a multipart upload is stored. */
export interface UploadPartRecord {
  seq: number;
  uploadId: number;
  partNumber: number;
  size: number;
  md5: Buffer;
  mtimeMs: number;
  checksums: ChecksumEntry[];
  chunks: ChunkRef[];
}

/** §3.7 UPLOAD_ABORT: a multipart upload is abandoned; its parts are garbage. */
export interface UploadAbortRecord {
  seq: number;
  uploadId: number;
}

function writePairs8(w: BinaryWriter, pairs: Array<[string, string]>, countBytes: 1 | 2): void {
  if (countBytes === 1) w.u8(pairs.length);
  else w.u16(pairs.length);
  for (const [k, v] of pairs) w.str8(k).str16(v);
}

function readPairs8(r: BinaryReader, countBytes: 1 | 2): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let n = countBytes === 1 ? r.u8() : r.u16(); n > 0; n--) out.push([r.str8(), r.str16()]);
  return out;
}

export function encodeUploadCreate(u: UploadCreateRecord): Buffer {
  const w = new BinaryWriter(256);
  w.u8(PAYLOAD_VERSION).u64(u.seq).u64(u.uploadId).str16(u.bucket).str16(u.key).f64(u.initiatedMs).str16(u.contentType);
  writePairs8(w, u.headers, 1);
  writePairs8(w, u.userMetadata, 2);
  w.u16(u.tags.length);
  for (const [k, v] of u.tags) w.str16(k).str16(v);
  w.u8(u.checksumAlg === 0 ? 0 : checksumAlgByte(u.checksumAlg, u.checksumType));
  if (u.lock && (u.lock.lockMode !== 0 || u.lock.legalHold)) w.u8(u.lock.lockMode).f64(u.lock.retainUntilMs).u8(u.lock.legalHold ? 1 : 0);
  return w.finish();
}

export function decodeUploadCreate(buf: Buffer): UploadCreateRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'UPLOAD_CREATE');
  const seq = r.u64();
  const uploadId = r.u64();
  const bucket = r.str16();
  const key = r.str16();
  const initiatedMs = r.f64();
  const contentType = r.str16();
  const headers = readPairs8(r, 1);
  const userMetadata = readPairs8(r, 2);
  const tags: Array<[string, string]> = [];
  for (let n = r.u16(); n > 0; n--) tags.push([r.str16(), r.str16()]);
  const algByte = r.u8();
  const { alg: checksumAlg, type: checksumType } = algByte === 0 ? { alg: 0, type: undefined } : parseChecksumAlgByte(algByte, 'UPLOAD_CREATE');
  let lock: UploadCreateRecord['lock'];
  if (r.remaining > 0) {
    const lockMode = r.u8();
    if (lockMode > 2) throw new FormatError(`UPLOAD_CREATE lock mode ${lockMode}`);
    lock = { lockMode, retainUntilMs: r.f64(), legalHold: r.u8() === 1 };
  }
  r.expectEnd('UPLOAD_CREATE');
  return { seq, uploadId, bucket, key, initiatedMs, contentType, headers, userMetadata, tags, checksumAlg, ...(checksumType ? { checksumType } : {}), ...(lock ? { lock } : {}) };
}

export function encodeUploadPart(p: UploadPartRecord): Buffer {
  const w = new BinaryWriter(64 + p.chunks.length * 24);
  w.u8(PAYLOAD_VERSION).u64(p.seq).u64(p.uploadId).u32(p.partNumber).u64(p.size).bytes(p.md5).f64(p.mtimeMs);
  writeChecksums(w, p.checksums);
  writeChunkRefs(w, p.chunks);
  return w.finish();
}

export function decodeUploadPart(buf: Buffer): UploadPartRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'UPLOAD_PART');
  const seq = r.u64();
  const uploadId = r.u64();
  const partNumber = r.u32();
  const size = r.u64();
  const md5 = Buffer.from(r.bytes(16));
  const mtimeMs = r.f64();
  const checksums = readChecksums(r, 'UPLOAD_PART');
  const chunks = readChunkRefs(r, size, 'UPLOAD_PART');
  r.expectEnd('UPLOAD_PART');
  return { seq, uploadId, partNumber, size, md5, mtimeMs, checksums, chunks };
}

export function encodeUploadAbort(a: UploadAbortRecord): Buffer {
  return new BinaryWriter(24).u8(PAYLOAD_VERSION).u64(a.seq).u64(a.uploadId).finish();
}

export function decodeUploadAbort(buf: Buffer): UploadAbortRecord {
  const r = new BinaryReader(buf);
  checkVersion(r, 'UPLOAD_ABORT');
  const a = { seq: r.u64(), uploadId: r.u64() };
  r.expectEnd('UPLOAD_ABORT');
  return a;
}
