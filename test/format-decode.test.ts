// Decoders refuse what the format does not allow (docs/FORMAT.md §2-§4): bad magic, impossible lengths,
// flipped hash bytes, reserved flag bits, u64 values ≥ 2^53, and data from a newer format version —
// the latter with a typed error (SEDIMENT_FORMAT_VERSION) when an engine opens such a directory.
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { BinaryReader, BinaryWriter, FormatError } from '../src/format/binary.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/format/checkpoint.js';
import { CHECKPOINT_VERSION, RecordType } from '../src/format/constants.js';
import { decodeFooterPayload, decodeTail, encodeFooterFrame, encodeFooterPayload, encodeTail, FooterBuilder } from '../src/format/footer.js';
import { decodeFrame, encodeFrame, parseFrameHeader } from '../src/format/frame.js';
import { initHash, writeHashAt } from '../src/format/hash.js';
import { decodeBucketConfig, decodeBucketCreate, decodeChunkMeta, decodeDelete, decodeManifest, encodeBucketConfig, encodeBucketCreate, encodeChunkMeta } from '../src/format/records.js';
import { decodeSegmentHeader, encodeSegmentHeader, NewerFormatError } from '../src/format/segment-header.js';

beforeAll(() => initHash());

const noVisitor = { bucket: () => undefined, object: () => undefined, upload: () => undefined };

function sampleFrame(): Buffer {
  return encodeFrame(RecordType.CHUNK, 0, encodeChunkMeta({ uploadId: 9, partNumber: 0, chunkIndex: 3, rawLen: 5 }), Buffer.from('abcde'));
}

/** Re-hashes a frame after a deliberate edit, so only the edited field can be the reason for a refusal. */
function rehash(frame: Buffer): Buffer {
  writeHashAt(frame, 0, frame.length - 8);
  return frame;
}

describe('record frame decoding (§2.2)', () => {
  it('accepts a valid frame and exposes meta and payload', () => {
    const f = decodeFrame(sampleFrame());
    expect(f).toMatchObject({ type: RecordType.CHUNK, flags: 0, metaLen: 20, frameLen: 20 + 20 + 5 });
    expect(decodeChunkMeta(f.meta)).toEqual({ uploadId: 9, partNumber: 0, chunkIndex: 3, rawLen: 5 });
    expect(f.payload.toString()).toBe('abcde');
  });

  it('rejects a bad magic', () => {
    for (let i = 0; i < 4; i++) {
      const b = sampleFrame();
      b[i] ^= 0x20;
      expect(() => decodeFrame(rehash(b))).toThrow(FormatError);
      expect(parseFrameHeader(b, 0)).toBeUndefined();
    }
  });

  it('rejects a frame length that disagrees with the bytes or is impossible', () => {
    const good = sampleFrame();
    // Length field says more or less than the buffer holds.
    for (const delta of [-1, 1, 1000]) {
      const b = Buffer.from(good);
      b.writeUInt32LE(good.length + delta, 4);
      expect(() => decodeFrame(rehash(b)), `delta ${delta}`).toThrow(FormatError);
    }
    // The buffer is cut short or has extra bytes.
    expect(() => decodeFrame(good.subarray(0, good.length - 1))).toThrow(FormatError);
    expect(() => decodeFrame(Buffer.concat([good, Buffer.alloc(1)]))).toThrow(FormatError);
    // frameLen below the minimum (20) or too small for metaLen.
    for (const len of [0, 12, 19]) {
      const b = Buffer.from(good);
      b.writeUInt32LE(len, 4);
      expect(parseFrameHeader(b, 0), `frameLen ${len}`).toBeUndefined();
    }
    const b = Buffer.from(good);
    b.writeUInt16LE(good.length, 10); // metaLen larger than the frame
    expect(() => decodeFrame(rehash(b))).toThrow(FormatError);
    expect(() => decodeFrame(Buffer.alloc(0))).toThrow(FormatError);
    expect(() => decodeFrame(good.subarray(0, 11))).toThrow(FormatError);
  });

  it('rejects every flipped hash byte, and every flipped byte anywhere', () => {
    const good = sampleFrame();
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const b = Buffer.from(good);
        b[i] ^= mask;
        expect(() => decodeFrame(b), `byte ${i} ^ ${mask}`).toThrow(FormatError);
      }
    }
  });

  it('rejects reserved flag bits even with a valid hash; codecs 0-3 are valid frames', () => {
    for (let bit = 2; bit < 8; bit++) {
      const b = sampleFrame();
      b[9] |= 1 << bit;
      expect(() => decodeFrame(rehash(b)), `flag bit ${bit}`).toThrow(FormatError);
    }
    // Codec 3 (zstd with a dictionary file of the data directory, §2.7) is a valid frame; the chunk decoder
    // opens it only with the directory's dictionaries (test/engine-dictionaries.test.ts).
    const dataDict = sampleFrame();
    dataDict[9] = 3;
    expect(decodeFrame(rehash(dataDict)).flags).toBe(3);
    const zstd = sampleFrame();
    zstd[9] = 1;
    expect(decodeFrame(rehash(zstd)).flags).toBe(1);
    // Codec 2 (zstd with a cold segment's dictionary, §2.6) is a valid frame; only the cold reader can
    // open such a chunk — the hot chunk decoder refuses it as damage (see test/cold-format.test.ts).
    const dict = sampleFrame();
    dict[9] = 2;
    expect(decodeFrame(rehash(dict)).flags).toBe(2);
  });
});

describe('u64 fields (preamble)', () => {
  const u64Bytes = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };

  it('reads values below 2^53 and refuses 2^53 and above as corruption', () => {
    expect(new BinaryReader(u64Bytes(2n ** 53n - 1n)).u64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(new BinaryReader(u64Bytes(0x1_0000_0000n)).u64()).toBe(0x1_0000_0000);
    for (const v of [2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      expect(() => new BinaryReader(u64Bytes(v)).u64(), `${v}`).toThrow(FormatError);
    }
  });

  it('the writer refuses what it could not write exactly', () => {
    for (const v of [2 ** 53, -1, 1.5, Number.NaN, Infinity]) expect(() => new BinaryWriter().u64(v), `${v}`).toThrow(RangeError);
    const round = new BinaryReader(new BinaryWriter().u64(2 ** 53 - 1).finish()).u64();
    expect(round).toBe(2 ** 53 - 1);
  });

  it('a payload with a u64 ≥ 2^53 is refused, not rounded', () => {
    const p = encodeBucketCreate({ seq: 5, name: 'abc', createdMs: 1, region: 'r', flags: 0 });
    expect(decodeBucketCreate(p).seq).toBe(5);
    const bad = Buffer.from(p);
    bad.writeBigUInt64LE(2n ** 53n, 1); // seq
    expect(() => decodeBucketCreate(bad)).toThrow(FormatError);
    const meta = encodeChunkMeta({ uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: 1 });
    meta.writeBigUInt64LE(2n ** 60n, 0);
    expect(() => decodeChunkMeta(meta)).toThrow(FormatError);
  });
});

describe('payloads refuse trailing, missing and unknown-version bytes (§3)', () => {
  it('BUCKET_CREATE / DELETE / COMMIT', () => {
    const p = encodeBucketCreate({ seq: 5, name: 'abc', createdMs: 1, region: 'r', flags: 0 });
    expect(() => decodeBucketCreate(Buffer.concat([p, Buffer.alloc(1)]))).toThrow(FormatError);
    expect(() => decodeBucketCreate(p.subarray(0, p.length - 1))).toThrow(FormatError);
    const v2 = Buffer.from(p);
    v2[0] = 2;
    expect(() => decodeBucketCreate(v2)).toThrow(FormatError);
    expect(() => decodeDelete(Buffer.alloc(3))).toThrow(FormatError);
    expect(() => decodeManifest(Buffer.from([1]))).toThrow(FormatError);
  });

  /** Footer entries of every kind: a chunk, commits with and without payload, a delete. */
  const footerEntries = [
    { type: RecordType.CHUNK, offset: 64, frameLen: 1100, chunk: { uploadId: 2 ** 40 + 3, partNumber: 7, chunkIndex: 2, rawLen: 4096 } },
    { type: RecordType.COMMIT, offset: 1164, frameLen: 300, payload: Buffer.from('a commit payload') },
    { type: RecordType.COMMIT, offset: 1464, frameLen: 40, payload: Buffer.alloc(0) },
    { type: RecordType.DELETE, offset: 1504, frameLen: 50 },
  ];

  it('footer frame built in one buffer (whole, or entry by entry as records are assigned) = the frame around encodeFooterPayload, and decodes back', () => {
    const entries = footerEntries;
    for (const list of [entries, [], entries.slice(0, 1)]) {
      const whole = encodeFooterFrame(list);
      expect(whole.equals(encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodeFooterPayload(list)))).toBe(true);
      // A small first buffer makes the builder grow several times on the way.
      const built = new FooterBuilder(8);
      for (const e of list) built.add(e);
      expect(built.entries).toBe(list.length);
      expect(built.frameBytes).toBe(whole.length);
      expect(built.finish().equals(whole)).toBe(true);
      expect(() => built.add(entries[0])).toThrow(/after the footer was finished/);
      expect(() => built.finish()).toThrow(/finished twice/);
      expect(FooterBuilder.of(list).finish().equals(whole)).toBe(true);
      const f = decodeFrame(whole);
      expect(f.type).toBe(RecordType.FOOTER);
      expect(decodeFooterPayload(f.payload).map((e) => [e.type, e.offset, e.frameLen])).toEqual(list.map((e) => [e.type, e.offset, e.frameLen]));
      // Without CHUNK entries (what open's replay asks for): the others, with the same payloads.
      const others = list.filter((e) => e.type !== RecordType.CHUNK);
      expect(decodeFooterPayload(f.payload, false).map((e) => [e.type, e.offset, e.frameLen, e.payload?.toString()])).toEqual(
        others.map((e) => [e.type, e.offset, e.frameLen, (e as { payload?: Buffer }).payload?.toString() ?? '']),
      );
    }
  });

  it('a footer decoded without CHUNK entries still checks them: an upload id past 2^53, a cut, trailing bytes', () => {
    const p = encodeFooterPayload(footerEntries);
    // The CHUNK entry is first: type u8, offset u64, frame length u32, then its 20 bytes of meta (upload id first).
    const big = Buffer.from(p);
    big.writeUInt32LE(0x00400000, 1 + 4 + 1 + 8 + 4 + 4);
    expect(() => decodeFooterPayload(big, true)).toThrow(FormatError);
    expect(() => decodeFooterPayload(big, false)).toThrow(FormatError);
    expect(() => decodeFooterPayload(p.subarray(0, 20), false)).toThrow(FormatError);
    expect(() => decodeFooterPayload(Buffer.concat([p, Buffer.alloc(1)]), false)).toThrow(FormatError);
  });

  it('a footer builder cut back to an offset holds exactly the entries before it (what a full disk leaves)', () => {
    // A last entry past 2^32 (offsets are u64 in the footer).
    const entries = [...footerEntries, { type: RecordType.CHUNK, offset: 2 ** 33 + 5, frameLen: 77, chunk: { uploadId: 9, partNumber: 0, chunkIndex: 0, rawLen: 9 } }];
    const full = FooterBuilder.of(entries);
    expect(full.end).toBe(2 ** 33 + 5 + 77);
    expect(new FooterBuilder().end).toBe(0);
    for (const end of [0, 64, 65, 1164, 1200, 1464, 1504, 1554, 2 ** 33 + 5, 2 ** 34]) {
      const kept = entries.filter((e) => e.offset < end);
      const cut = full.entriesBefore(end);
      expect(cut.entries, `end ${end}`).toBe(kept.length);
      expect(cut.end, `end ${end}`).toBe(kept.length > 0 ? kept[kept.length - 1].offset + kept[kept.length - 1].frameLen : 0);
      // Appending goes on from there, as it does after the undo.
      const more = { type: RecordType.COMMIT, offset: end + 1, frameLen: 20, payload: Buffer.from('after') };
      cut.add(more);
      expect(cut.finish().equals(encodeFooterFrame([...kept, more])), `end ${end}`).toBe(true);
    }
    // The builder that was cut is unchanged and still finishes whole.
    expect(full.finish().equals(encodeFooterFrame(entries))).toBe(true);
  });

  it('footer: unknown version, impossible count, trailing bytes; tail: magic and hash', () => {
    const entries = [{ type: RecordType.COMMIT, offset: 64, frameLen: 30, payload: Buffer.from('xyz') }];
    const p = encodeFooterPayload(entries);
    expect(decodeFooterPayload(p)).toEqual(entries);
    const v2 = Buffer.from(p);
    v2[0] = 2;
    expect(() => decodeFooterPayload(v2)).toThrow(FormatError);
    const many = Buffer.from(p);
    many.writeUInt32LE(1_000_000, 1);
    expect(() => decodeFooterPayload(many)).toThrow(FormatError);
    expect(() => decodeFooterPayload(Buffer.concat([p, Buffer.alloc(2)]))).toThrow(FormatError);
    const tail = encodeTail(4096);
    expect(decodeTail(tail)).toBe(4096);
    for (let i = 0; i < tail.length; i++) {
      const b = Buffer.from(tail);
      b[i] ^= 0x10;
      expect(decodeTail(b), `tail byte ${i}`).toBeUndefined();
    }
    expect(decodeTail(tail.subarray(1))).toBeUndefined();
  });
});

describe('format versions only move forward (§1.1, §2.1, §4)', () => {
  function headerWithVersion(version: number, rehashIt: boolean): Buffer {
    const h = encodeSegmentHeader({ tier: 0, segmentId: 1, createdMs: 5 });
    h.writeUInt16LE(version, 8);
    if (rehashIt) writeHashAt(h, 0, 56);
    return h;
  }

  it('segment header: a newer version is a typed refusal; a damaged one is a FormatError', () => {
    expect(decodeSegmentHeader(headerWithVersion(1, true)).formatVersion).toBe(1);
    expect(() => decodeSegmentHeader(headerWithVersion(2, true))).toThrow(NewerFormatError);
    // Without a valid hash the version field cannot be trusted: damage, not "newer".
    expect(() => decodeSegmentHeader(headerWithVersion(2, false))).toThrow(FormatError);
    const badMagic = encodeSegmentHeader({ tier: 0, segmentId: 1, createdMs: 5 });
    badMagic[0] = 0;
    expect(() => decodeSegmentHeader(badMagic)).toThrow(FormatError);
    expect(() => decodeSegmentHeader(badMagic.subarray(0, 63))).toThrow(FormatError);
  });

  it('checkpoint: a newer version is refused, a bad hash is a checksum error', () => {
    const c = encodeCheckpoint({ seq: 1, replaySegmentId: 1, replayOffset: 64, createdMs: 0 }, [], []);
    expect(decodeCheckpoint(c, noVisitor)).toMatchObject({ seq: 1 });
    const v2 = Buffer.from(c);
    v2.writeUInt16LE(CHECKPOINT_VERSION + 1, 8);
    writeHashAt(v2, 0, v2.length - 8);
    expect(() => decodeCheckpoint(v2, noVisitor)).toThrow(/newer/);
    const flipped = Buffer.from(c);
    flipped[flipped.length - 1] ^= 1;
    expect(() => decodeCheckpoint(flipped, noVisitor)).toThrow(/checksum/);
  });

  async function dirWith(files: Record<string, Buffer | string>): Promise<MemoryFileSystem> {
    const fs = new MemoryFileSystem();
    for (const sub of ['segments', 'checkpoints', 'tmp']) await fs.mkdir(`/d/${sub}`);
    for (const [name, data] of Object.entries(files)) await fs.writeFile(`/d/${name}`, Buffer.from(data));
    return fs;
  }

  it('engine open: segment header version 2 → SEDIMENT_FORMAT_VERSION', async () => {
    // As the only (active) segment, and as a sealed segment before a valid one.
    const sealedV2 = Buffer.concat([headerWithVersion(2, true), encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodeFooterPayload([])), encodeTail(64)]);
    const layouts: Array<Record<string, Buffer | string>> = [
      { FORMAT: 'sediment-data-dir 1\n', 'segments/000000000001.seg': headerWithVersion(2, true) },
      { FORMAT: 'sediment-data-dir 1\n', 'segments/000000000001.seg': sealedV2, 'segments/000000000002.seg': encodeSegmentHeader({ tier: 0, segmentId: 2, createdMs: 0 }) },
    ];
    for (const files of layouts) {
      const fs = await dirWith(files);
      await expect(Engine.open({ dir: '/d', fs, workerThreads: 0 })).rejects.toMatchObject({ code: 'SEDIMENT_FORMAT_VERSION' });
      // The refusal released the lock and changed nothing.
      expect(await fs.readdir('/d/segments')).toEqual(Object.keys(files).filter((n) => n.startsWith('segments/')).map((n) => n.slice(9)));
      await expect(fs.lock('/d/LOCK', 'probe')).resolves.toBeDefined();
    }
  });

  it('engine open: FORMAT file saying 9 or 0 (or not a FORMAT file) → SEDIMENT_FORMAT_VERSION, the file unchanged', async () => {
    // 8 is the newest this build knows (FORMAT.md §1.1); versions start at 1.
    for (const text of ['sediment-data-dir 9\n', 'sediment-data-dir 17\n', 'sediment-data-dir 0\n', 'sediment-data-dir 00\n', 'something else\n']) {
      const fs = await dirWith({ FORMAT: text });
      await expect(Engine.open({ dir: '/d', fs, workerThreads: 0 }), text).rejects.toMatchObject({ code: 'SEDIMENT_FORMAT_VERSION' });
      expect((await fs.readFile('/d/FORMAT')).toString('utf8'), text).toBe(text);
    }
    const zero = await dirWith({ FORMAT: 'sediment-data-dir 0\n' });
    await expect(Engine.open({ dir: '/d', fs: zero, workerThreads: 0 })).rejects.toThrow(/format 0, which no sediment writes .*damaged or not a sediment data directory/);
    // Segments but no FORMAT file: refused too.
    const fs = await dirWith({ 'segments/000000000001.seg': encodeSegmentHeader({ tier: 0, segmentId: 1, createdMs: 0 }) });
    await expect(Engine.open({ dir: '/d', fs, workerThreads: 0 })).rejects.toMatchObject({ code: 'SEDIMENT_FORMAT_VERSION' });
  });

  it('engine open: checkpoint version newer than supported, with a valid hash → SEDIMENT_FORMAT_VERSION', async () => {
    const c = encodeCheckpoint({ seq: 1, replaySegmentId: 1, replayOffset: 64, createdMs: 0 }, [], []);
    c.writeUInt16LE(CHECKPOINT_VERSION + 1, 8);
    writeHashAt(c, 0, c.length - 8);
    const fs = await dirWith({ FORMAT: 'sediment-data-dir 1\n', 'checkpoints/000000000001.ckpt': c });
    await expect(Engine.open({ dir: '/d', fs, workerThreads: 0 })).rejects.toMatchObject({ code: 'SEDIMENT_FORMAT_VERSION' });
  });
});

describe('BUCKET_CONFIG payload (§3.8) and the checkpoint configuration section (§4, version 2)', () => {
  it('lays out version, seq, bucket, kind and value as FORMAT.md says', () => {
    const p = encodeBucketConfig({ seq: 0x0102, bucket: 'logs', kind: 1, value: Buffer.from('{"rules":[]}') });
    const expected = Buffer.concat([
      Buffer.from([1]), // version
      Buffer.from([0x02, 0x01, 0, 0, 0, 0, 0, 0]), // seq u64 LE
      Buffer.from([4]), Buffer.from('logs'), // bucket str8
      Buffer.from([1]), // kind: lifecycle
      Buffer.from([12, 0, 0, 0]), Buffer.from('{"rules":[]}'), // valueLen u32 + value
    ]);
    expect(p.equals(expected)).toBe(true);
    expect(decodeBucketConfig(p)).toEqual({ seq: 0x0102, bucket: 'logs', kind: 1, value: Buffer.from('{"rules":[]}') });
    expect(() => decodeBucketConfig(Buffer.concat([p, Buffer.from([0])]))).toThrow(FormatError);
    expect(() => decodeBucketConfig(p.subarray(0, p.length - 1))).toThrow(FormatError);
  });

  it('writes version 1 without configurations and version 2 with them, and reads both', () => {
    const h = { seq: 7, replaySegmentId: 1, replayOffset: 64, createdMs: 1_700_000_000_000 };
    const v1 = encodeCheckpoint(h, [], []);
    expect(v1.readUInt16LE(8)).toBe(1);
    const config = encodeBucketConfig({ seq: 5, bucket: 'logs', kind: 1, value: Buffer.from('{"rules":[]}') });
    const v2 = encodeCheckpoint(h, [], [], [config]);
    expect(v2.readUInt16LE(8)).toBe(2);
    expect(v2.length).toBe(v1.length + 4 + 4 + config.length);
    const seen: Buffer[] = [];
    decodeCheckpoint(v2, { ...noVisitor, config: (c) => seen.push(Buffer.from(c)) });
    expect(seen).toEqual([config]);
    const none: Buffer[] = [];
    decodeCheckpoint(v1, { ...noVisitor, config: (c) => none.push(c) });
    expect(none).toEqual([]);
  });
});
