// Dictionary files of the hot tier and codec-3 CHUNK frames (docs/FORMAT.md §2.7): a file pinned byte for
// byte, the round trip, every refusal of the decoder (magic, hash, version, reserved bytes, truncation,
// impossible fields), the file names, the check, and the codec-3 frame itself — which opens only with
// the dictionary it names (same id and check), and is corruption otherwise, never other bytes.
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../src/index.js';
import { FormatError } from '../src/format/binary.js';
import { CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DATA_DICT, DATA_DIR_FORMAT_DICTS, DICT_FILE_MAGIC, DICT_REF_BYTES, RecordType } from '../src/format/constants.js';
import {
  decodeDictionaryFile, dictCheck, dictFileName, dictIdOfName, DICT_CONTENT_BYTES_MAX, DICT_ID_MAX, encodeDictionaryFile, encodeDictRef, type DictionaryFile,
} from '../src/format/dictionary-file.js';
import { decodeFrame, encodeFrame, parseFrameHeader } from '../src/format/frame.js';
import { encodeChunkMeta } from '../src/format/records.js';
import { initHash, writeHashAt, xxh64 } from '../src/format/hash.js';
import { buildChunkFrame, digestedCount, openChunkFrame, openChunkFrameInto, type ChunkDict, type DictLookup } from '../src/engine/chunk-codec.js';
import { logText } from '../bench/data.js';
import { expectCorruption, logLike } from './helpers/engine-helpers.js';
import { mulberry32 } from './helpers/prng.js';

// Top level: the codec cases below compute checks while they are collected.
await initHash();

const CONTENT = Buffer.from('GET /a 200\nGET /b 404\n');
const SAMPLE: DictionaryFile = { id: 7, createdMs: 1_700_000_000_000, bucket: 'logs', content: CONTENT };

/** The sample file, laid out by hand (§2.7): magic, version, reserved, id, createdMs, bucket, content, hash. */
const PINNED_HEX =
  '534544444943540a' + // "SEDDICT\n"
  '01' + // version 1
  '000000' + // reserved
  '07000000' + // id 7
  '0068e5cf8b010000' + // createdMs 1700000000000
  '0400' + '6c6f6773' + // bucket "logs" (str16)
  '16000000' + // contentLen 22
  '474554202f61203230300a474554202f62203430340a' + // content
  '0ed32bc88aad6e80'; // xxh64 of everything before, u64 LE

/** Re-hashes a file after a deliberate edit, so only the edited field can be the reason for a refusal. */
function rehash(buf: Buffer): Buffer {
  writeHashAt(buf, 0, buf.length - 8);
  return buf;
}

function refusal(buf: Buffer): unknown {
  try {
    decodeDictionaryFile(buf);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('dictionary file (§2.7)', () => {
  it('is pinned byte for byte', () => {
    const bytes = encodeDictionaryFile(SAMPLE);
    expect(bytes.toString('hex')).toBe(PINNED_HEX);
    expect(bytes.length).toBe(64);
    expect(bytes.subarray(0, 8).equals(DICT_FILE_MAGIC)).toBe(true);
    // The hash is xxh64 (seed 0) of every byte before it.
    expect(bytes.readBigUInt64LE(56)).toBe(xxh64(bytes.subarray(0, 56)));
    expect(decodeDictionaryFile(Buffer.from(PINNED_HEX, 'hex'))).toEqual(SAMPLE);
  });

  it('round-trips ids, times, bucket names and contents of every size', () => {
    const rng = mulberry32(11);
    const cases: DictionaryFile[] = [
      { id: 1, createdMs: 0, bucket: '', content: Buffer.from([0]) },
      { id: DICT_ID_MAX, createdMs: Number.MAX_SAFE_INTEGER, bucket: 'ünïcödé-bücket', content: rng.bytes(16 * 1024) },
      { id: 123_456, createdMs: Date.UTC(2026, 10, 27), bucket: 'b'.repeat(63), content: rng.bytes(DICT_CONTENT_BYTES_MAX) },
      { id: 42, createdMs: 5, bucket: 'logs', content: logLike(16 * 1024, 3) },
    ];
    for (const d of cases) {
      const bytes = encodeDictionaryFile(d);
      expect(bytes.length).toBe(8 + 1 + 3 + 4 + 8 + 2 + Buffer.byteLength(d.bucket) + 4 + d.content.length + 8);
      const back = decodeDictionaryFile(bytes);
      // Field by field: toEqual on a 1 MiB Buffer takes seconds.
      expect({ ...back, content: undefined }).toEqual({ ...d, content: undefined });
      expect(back.content.equals(d.content)).toBe(true);
      // The decoded content is the caller's own (not a view of the file buffer it may reuse).
      bytes.fill(0);
      expect(back.content.equals(d.content)).toBe(true);
    }
  });

  it('the encoder refuses ids and contents the format does not allow', () => {
    for (const id of [0, -1, 1.5, DICT_ID_MAX + 1, Number.NaN]) {
      expect(() => encodeDictionaryFile({ ...SAMPLE, id }), `id ${id}`).toThrow(RangeError);
    }
    expect(() => encodeDictionaryFile({ ...SAMPLE, content: Buffer.alloc(0) })).toThrow(RangeError);
    expect(() => encodeDictionaryFile({ ...SAMPLE, content: Buffer.alloc(DICT_CONTENT_BYTES_MAX + 1) })).toThrow(RangeError);
  });

  it('refuses a bad magic', () => {
    for (let i = 0; i < 8; i++) {
      const b = encodeDictionaryFile(SAMPLE);
      b[i] ^= 0x20;
      expect(refusal(rehash(b)), `byte ${i}`).toBeInstanceOf(FormatError);
      expect((refusal(b) as Error).message).toMatch(/magic/);
    }
  });

  it('refuses any flipped byte (the hash covers the whole file)', () => {
    const good = encodeDictionaryFile(SAMPLE);
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const b = Buffer.from(good);
        b[i] ^= mask;
        const err = refusal(b);
        expect(err, `byte ${i} mask ${mask}`).toBeInstanceOf(FormatError);
        if (i >= 8) expect((err as Error).message, `byte ${i}`).toMatch(/checksum/);
      }
    }
  });

  it('refuses another version and nonzero reserved bytes, even with a correct hash', () => {
    for (const v of [0, 2, 255]) {
      const b = encodeDictionaryFile(SAMPLE);
      b[8] = v;
      const err = refusal(rehash(b));
      expect(err, `version ${v}`).toBeInstanceOf(FormatError);
      expect((err as Error).message).toMatch(/version/);
    }
    for (let i = 9; i < 12; i++) {
      const b = encodeDictionaryFile(SAMPLE);
      b[i] = 1;
      const err = refusal(rehash(b));
      expect(err, `reserved byte ${i}`).toBeInstanceOf(FormatError);
      expect((err as Error).message).toMatch(/reserved/);
    }
  });

  it('refuses every truncation, with or without a recomputed hash', () => {
    const good = encodeDictionaryFile(SAMPLE);
    for (let n = 0; n < good.length; n++) {
      expect(refusal(Buffer.from(good.subarray(0, n))), `${n} bytes`).toBeInstanceOf(FormatError);
      if (n >= 16) {
        // The first n-8 bytes re-hashed: a well-hashed file whose fields run past its end.
        const cut = Buffer.concat([good.subarray(0, n - 8), Buffer.alloc(8)]);
        expect(refusal(rehash(cut)), `${n} bytes, re-hashed`).toBeInstanceOf(FormatError);
      }
    }
  });

  it('refuses trailing bytes, id 0, an empty or oversized content, and a content length past the end', () => {
    const good = encodeDictionaryFile(SAMPLE);
    const contentLenAt = 8 + 1 + 3 + 4 + 8 + 2 + 4;
    // Trailing bytes before the hash.
    const longer = Buffer.concat([good.subarray(0, good.length - 8), Buffer.from([0]), Buffer.alloc(8)]);
    expect((refusal(rehash(longer)) as Error).message).toMatch(/trailing/);
    // Id 0.
    const id0 = Buffer.from(good);
    id0.writeUInt32LE(0, 12);
    expect(refusal(rehash(id0))).toBeInstanceOf(FormatError);
    // Content lengths 0, past the end, and past the maximum.
    for (const len of [0, CONTENT.length + 1, DICT_CONTENT_BYTES_MAX + 1, 0xffff_ffff]) {
      const b = Buffer.from(good);
      b.writeUInt32LE(len, contentLenAt);
      expect(refusal(rehash(b)), `contentLen ${len}`).toBeInstanceOf(FormatError);
    }
    // Shorter content length: the rest is trailing bytes.
    const shorter = Buffer.from(good);
    shorter.writeUInt32LE(CONTENT.length - 1, contentLenAt);
    expect(refusal(rehash(shorter))).toBeInstanceOf(FormatError);
  });

  it('names files with 12-digit ids, and accepts only such names', () => {
    expect(dictFileName(1)).toBe('000000000001.zdict');
    expect(dictFileName(DICT_ID_MAX)).toBe('004294967295.zdict');
    for (const id of [1, 2, 99, 123_456_789, DICT_ID_MAX]) expect(dictIdOfName(dictFileName(id))).toBe(id);
    for (const name of [
      '000000000000.zdict', // id 0 names no dictionary
      '004294967296.zdict', // past u32
      '1.zdict',
      '00000000001.zdict', // 11 digits
      '0000000000001.zdict', // 13 digits
      '000000000001.zdict.tmp',
      '000000000001.ZDICT',
      '000000000001.dict',
      '00000000000a.zdict',
      '-00000000001.zdict',
      ' 000000000001.zdict',
      '000000000001',
      '',
    ]) {
      expect(dictIdOfName(name), JSON.stringify(name)).toBeUndefined();
    }
  });

  it('dictCheck is the low 32 bits of xxh64 of the content', () => {
    expect(dictCheck(CONTENT)).toBe(0x776b47d4);
    const rng = mulberry32(5);
    for (let i = 0; i < 20; i++) {
      const c = rng.bytes(1 + rng.int(0, 5000));
      const check = dictCheck(c);
      expect(check).toBe(Number(xxh64(c) & 0xffff_ffffn));
      expect(Number.isInteger(check) && check >= 0 && check <= 0xffff_ffff).toBe(true);
    }
    // Contents that differ in one byte have other checks (here; a 32-bit check can collide in general).
    const other = Buffer.from(CONTENT);
    other[0] ^= 1;
    expect(dictCheck(other)).not.toBe(dictCheck(CONTENT));
  });

  it('encodeDictRef lays out id and check as u32 LE', () => {
    const ref = encodeDictRef(0x01020304, 0xa0b0c0d0);
    expect(ref.length).toBe(DICT_REF_BYTES);
    expect(ref.toString('hex')).toBe('04030201d0c0b0a0');
    // A check given as a negative int32 (a `^`/`|` result) is the same u32.
    expect(encodeDictRef(1, 0xa0b0c0d0 | 0).equals(encodeDictRef(1, 0xa0b0c0d0))).toBe(true);
  });

  it('a data directory with dictionaries is format 6', () => {
    expect(DATA_DIR_FORMAT_DICTS).toBe(6);
  });
});

describe('codec-3 CHUNK frames (§2.7)', () => {
  // Log text of the bench's generator: its 4 KiB pieces compress clearly better with a dictionary.
  const content = logText(16 * 1024, 1);
  const dict: ChunkDict = { id: 3, check: dictCheck(content), content };
  const lookup: DictLookup = (id) => (id === dict.id ? dict : `dictionary ${id} is missing`);
  const raw = logText(4096, 2);
  const meta = { uploadId: 5, partNumber: 0, chunkIndex: 0, rawLen: raw.length };

  function open(frame: Buffer, dicts?: DictLookup): Buffer {
    return openChunkFrame(decodeFrame(frame), 9, 1234, dicts).raw;
  }

  it('keeps digested dictionaries of 200 buckets taking turns (LRU), and drops the least recent past 256', () => {
    const many: ChunkDict[] = Array.from({ length: 300 }, (_, i) => {
      const c = logText(4096, 1000 + i);
      return { id: 1000 + i, check: dictCheck(c), content: c };
    });
    const byId: DictLookup = (id) => many[id - 1000] ?? 'missing';
    const round = (n: number): void => {
      for (const d of many.slice(0, n)) expect(open(buildChunkFrame(raw, meta, 1, d), byId).equals(raw)).toBe(true);
    };
    round(200);
    const made = { ...digestedCount };
    round(200); // every one is still digested: none made again
    round(200);
    expect(digestedCount).toEqual(made);
    round(300); // 100 more than fit: the oldest go, and taking turns over all 300 digests each again
    round(300);
    expect(digestedCount.cdicts - made.cdicts).toBeGreaterThanOrEqual(400);
  });

  it('compresses with the dictionary, names it, and opens with it', () => {
    const frame = buildChunkFrame(raw, meta, 1, dict);
    const f = decodeFrame(frame);
    expect(f.flags & CODEC_MASK).toBe(CODEC_ZSTD_DATA_DICT);
    expect(parseFrameHeader(frame, 0)).toMatchObject({ type: RecordType.CHUNK, flags: CODEC_ZSTD_DATA_DICT });
    expect(f.payload.readUInt32LE(0)).toBe(dict.id);
    expect(f.payload.readUInt32LE(4)).toBe(dict.check);
    // Smaller than plain zstd of the same bytes (the dictionary was cut from the same kind of text).
    const plain = decodeFrame(buildChunkFrame(raw, meta, 1));
    expect(plain.flags & CODEC_MASK).toBe(CODEC_ZSTD);
    expect(f.payload.length).toBeLessThan(plain.payload.length * 0.8);
    expect(open(frame, lookup).equals(raw)).toBe(true);
  });

  it('is refused as corruption without the dictionary, with another check, or with another content', () => {
    const frame = buildChunkFrame(raw, meta, 1, dict);
    expect(expectCorruption(() => open(frame)).message).toMatch(/no dictionary is available/);
    expect(expectCorruption(() => open(frame, () => 'dictionary 3 is missing (no file dicts/000000000003.zdict)')).message).toMatch(/missing/);
    expect(expectCorruption(() => open(frame, () => ({ ...dict, check: (dict.check ^ 1) >>> 0 }))).message).toMatch(/check/);
    // Same id, other content with its own check: the check differs, so no wrong bytes of the right length.
    const other = logText(16 * 1024, 99);
    expect(expectCorruption(() => open(frame, () => ({ id: dict.id, check: dictCheck(other), content: other }))).message).toMatch(/check/);
    // openChunkFrameInto (the workers' GET path) has no dictionaries: codec 3 there is damage.
    expect(() => openChunkFrameInto(decodeFrame(frame), Buffer.alloc(raw.length), 9, 1234)).toThrow(CorruptionError);
  });

  it('a short, truncated or padded codec-3 payload is corruption', () => {
    const f = decodeFrame(buildChunkFrame(raw, meta, 1, dict));
    const reframe = (payload: Buffer): Buffer => encodeFrame(RecordType.CHUNK, CODEC_ZSTD_DATA_DICT, f.meta, payload);
    // Nothing but the reference (or less).
    for (const n of [0, 4, DICT_REF_BYTES]) {
      expect(expectCorruption(() => open(reframe(Buffer.from(f.payload.subarray(0, n))), lookup)).message, `${n} bytes`).toMatch(/too short/);
    }
    // The zstd frame cut short.
    expectCorruption(() => open(reframe(Buffer.from(f.payload.subarray(0, f.payload.length - 4))), lookup));
    // A chunk meta that claims more bytes than the zstd frame holds.
    const longer = encodeFrame(RecordType.CHUNK, CODEC_ZSTD_DATA_DICT, encodeChunkMeta({ ...meta, rawLen: raw.length + 1 }), f.payload);
    expectCorruption(() => open(longer, lookup));
    // Unchanged, it still opens (the cases above fail for their edit alone).
    expect(open(reframe(Buffer.from(f.payload)), lookup).equals(raw)).toBe(true);
  });

  it('stores incompressible or tiny chunks raw even with a dictionary', () => {
    const random = mulberry32(3).bytes(4096);
    const r = decodeFrame(buildChunkFrame(random, { ...meta, rawLen: random.length }, 1, dict));
    expect(r.flags & CODEC_MASK).toBe(CODEC_RAW);
    expect(openChunkFrame(r, 1, 1).raw.equals(random)).toBe(true);
    const tiny = Buffer.from('GET /a 200\n');
    const t = decodeFrame(buildChunkFrame(tiny, { ...meta, rawLen: tiny.length }, 1, dict));
    expect(t.flags & CODEC_MASK).toBe(CODEC_RAW);
    // Level 0 (store raw) ignores the dictionary too.
    expect(decodeFrame(buildChunkFrame(raw, meta, 0, dict)).flags & CODEC_MASK).toBe(CODEC_RAW);
  });
});
