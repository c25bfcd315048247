// Golden fixtures of the hot tier's dictionaries (docs/FORMAT.md §2.7). The committed bytes in
// test/fixtures/ are the reference: example-v1.zdict (dictionary file 1 of bucket "logs") and
// example-dict.seg (sealed log segment 1 with a codec-3 CHUNK naming it) are parsed field by field with a
// reader of their own, decoded with src/format and the chunk codec (never recompressed: zstd's output may
// change between versions, what existing data directories hold does not), and opened by an engine as a
// format-6 data directory — with the dictionary, and after it was lost.
// Regenerate (after a deliberate format change only): SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden-dict.test.ts
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptionError, Engine, MemoryFileSystem } from '../src/index.js';
import { buildChunkFrame, openChunkFrame, type ChunkDict, type DictLookup } from '../src/engine/chunk-codec.js';
import { CODEC_MASK, CODEC_ZSTD_DATA_DICT, ManifestKind, RecordType } from '../src/format/constants.js';
import { decodeDictionaryFile, dictCheck, dictFileName, dictIdOfName, encodeDictionaryFile } from '../src/format/dictionary-file.js';
import { decodeFooterPayload, decodeTail, encodeFooterPayload, encodeTail } from '../src/format/footer.js';
import { decodeFrame, encodeFrame } from '../src/format/frame.js';
import { initHash, xxh64 } from '../src/format/hash.js';
import { decodeBucketCreate, decodeChunkMeta, decodeManifest, encodeBucketCreate, encodeChunkMeta, encodeManifest } from '../src/format/records.js';
import { decodeSegmentHeader, encodeSegmentHeader } from '../src/format/segment-header.js';
import { encodeSegmentManifest } from '../src/format/segment-manifest.js';
import { Cursor } from './helpers/cursor.js';
import { expectHotHeaderByHand, framesOf, parseFrameByHand } from './helpers/frame-by-hand.js';
import { errorCode, expectCorruption, readAll, tryGet } from './helpers/engine-helpers.js';
import {
  buildExampleDictFile,
  buildExampleDictSegment,
  DICT_CONTENT,
  FIXTURE_DICT,
  FIXTURE_DICT_SEGMENT,
  writeDictFixtures,
} from './helpers/make-dict-fixture.js';
import { hexDump } from './helpers/make-fixtures.js';

const fixturesDir = fileURLToPath(new URL('./fixtures', import.meta.url));

// What the fixtures must hold, restated here (not taken from the generator or recomputed from the files).
const SEGMENT_CREATED_MS = 1_700_000_180_000;
const DICT_CREATED_MS = 1_700_000_200_000;
const MTIME_MS = 1_700_000_201_000;
/** logs/app.log: the bytes the codec-3 chunk must decode to. */
const EXPECTED_RAW = Buffer.from(
  '2023-11-14T22:16:45Z api-01 INFO  GET /v2/orders/1003 status=200 bytes=514 dur=4ms ua="Mozilla/5.0 (X11; Linux x86_64)"\n' +
    '2023-11-14T22:16:46Z api-02 INFO  GET /v2/users/79 status=200 bytes=391 dur=2ms ua="curl/8.5.0"\n' +
    '2023-11-14T22:16:47Z api-03 WARN  POST /v2/orders status=429 bytes=64 dur=1ms ua="python-requests/2.31.0"\n',
  'utf8',
);
const RAW_MD5 = '27d663b71635a8e3ce29c6c7f8b892bb';
/** The dictionary content: 536 bytes of five log lines, pinned by its SHA-256 and its dictCheck. */
const CONTENT_LEN = 536;
const CONTENT_SHA256 = 'c4512684c78be27594a78a9fdfdeaf195dca614fb7eeacb5b6a050cf7c7176da';
const CONTENT_CHECK = 0x520968ed;
/** example-v1.zdict: 34 header bytes + content + 8 hash bytes. */
const DICT_FILE_LEN = 34 + CONTENT_LEN + 8;
/** example-dict.seg: [type, offset, frameLen] of each frame, then the tail. */
const SEGMENT_FRAMES: Array<[number, number, number]> = [
  [RecordType.BUCKET_CREATE, 0x40, 53],
  [RecordType.CHUNK, 0x75, 96],
  [RecordType.COMMIT, 0xd5, 149],
  [RecordType.FOOTER, 0x16a, 254],
];
const TAIL_AT = 0x268;
const SEGMENT_LEN = TAIL_AT + 24;
const CHUNK_AT = 0x75;

let dictFile: Buffer;
let seg: Buffer;

beforeAll(async () => {
  await initHash();
  if (process.env.SEDIMENT_WRITE_FIXTURES === '1') {
    await writeDictFixtures(fixturesDir);
    console.log(`dictionary fixtures rewritten; example-v1.zdict:\n${hexDump(buildExampleDictFile())}`);
  }
  dictFile = readFileSync(`${fixturesDir}/${FIXTURE_DICT}`);
  seg = readFileSync(`${fixturesDir}/${FIXTURE_DICT_SEGMENT}`);
});

/** The fixture dictionary as readers use it, from the committed file's bytes at their §2.7 offsets. */
function fixtureDict(): ChunkDict {
  const content = dictFile.subarray(34, 34 + CONTENT_LEN);
  return { id: dictFile.readUInt32LE(12), check: Number(xxh64(content) & 0xffff_ffffn), content };
}

describe('golden dictionary file example-v1.zdict (FORMAT.md §2.7)', () => {
  it('every field, by hand, at its offset', () => {
    expect(dictFile.length).toBe(DICT_FILE_LEN);
    expect(dictFile.subarray(0, 8).toString('hex')).toBe('534544444943540a'); // 0: magic "SEDDICT\n"
    expect(dictFile[8]).toBe(1); // 8: version
    expect(dictFile.subarray(9, 12).toString('hex')).toBe('000000'); // 9: reserved
    expect(dictFile.readUInt32LE(12)).toBe(1); // 12: dictId
    expect(Number(dictFile.readBigUInt64LE(16))).toBe(DICT_CREATED_MS); // 16: createdMs
    expect(dictFile.readUInt16LE(24)).toBe(4); // 24: bucket str16 length
    expect(dictFile.subarray(26, 30).toString('utf8')).toBe('logs'); // 26: bucket
    expect(dictFile.readUInt32LE(30)).toBe(CONTENT_LEN); // 30: contentLen
    const content = dictFile.subarray(34, 34 + CONTENT_LEN); // 34: content
    expect(createHash('sha256').update(content).digest('hex')).toBe(CONTENT_SHA256);
    expect(content.toString('utf8').split('\n')).toHaveLength(6); // five log lines, each ending in \n
    expect(content.toString('utf8').startsWith('2023-11-14T22:16:40Z api-01 INFO  GET /v2/orders/1001 ')).toBe(true);
    // 570: hash = xxh64 of every byte before it, u64 LE; the file ends there.
    expect(dictFile.readBigUInt64LE(34 + CONTENT_LEN)).toBe(xxh64(dictFile.subarray(0, 34 + CONTENT_LEN)));
    expect(34 + CONTENT_LEN + 8).toBe(dictFile.length);
    // dictCheck: the low 32 bits of xxh64(content).
    expect(Number(xxh64(content) & 0xffff_ffffn)).toBe(CONTENT_CHECK);
    // The same with the sequential reader of the grammar.
    const c = new Cursor(dictFile);
    expect(c.bytes(8).toString('latin1')).toBe('SEDDICT\n');
    expect([c.u8(), c.u8(), c.u8(), c.u8()]).toEqual([1, 0, 0, 0]);
    expect(c.u32()).toBe(1);
    expect(c.u64()).toBe(DICT_CREATED_MS);
    expect(c.str16()).toBe('logs');
    expect(c.bytes(c.u32()).equals(content)).toBe(true);
    expect(c.u64big()).toBe(xxh64(dictFile.subarray(0, dictFile.length - 8)));
    expect(c.done).toBe(true);
  });

  it('decodes with src/format, and re-encodes to identical bytes', () => {
    const d = decodeDictionaryFile(dictFile);
    expect({ ...d, content: undefined }).toEqual({ id: 1, createdMs: DICT_CREATED_MS, bucket: 'logs', content: undefined });
    expect(d.content.length).toBe(CONTENT_LEN);
    expect(createHash('sha256').update(d.content).digest('hex')).toBe(CONTENT_SHA256);
    expect(dictCheck(d.content)).toBe(CONTENT_CHECK);
    expect(encodeDictionaryFile(d).equals(dictFile)).toBe(true);
    // Its name in DIR/dicts/.
    expect(dictFileName(1)).toBe('000000000001.zdict');
    expect(dictIdOfName('000000000001.zdict')).toBe(1);
  });

  it('the fixture generator still produces the committed bytes', () => {
    // If this fails but the tests above pass, the encoder changed in a way the fixture does not show.
    expect(buildExampleDictFile().equals(dictFile)).toBe(true);
    expect(DICT_CONTENT.equals(dictFile.subarray(34, 34 + CONTENT_LEN))).toBe(true);
  });
});

describe('golden segment example-dict.seg with a codec-3 CHUNK (FORMAT.md §2.2, §2.3, §2.4, §2.7)', () => {
  it('header (§2.1)', () => {
    expect(seg.length).toBe(SEGMENT_LEN);
    expectHotHeaderByHand(seg, 1, SEGMENT_CREATED_MS);
    expect(decodeSegmentHeader(seg.subarray(0, 64))).toEqual({ formatVersion: 1, tier: 0, segmentId: 1, createdMs: SEGMENT_CREATED_MS });
  });

  it('record frames: types, offsets, lengths, codecs', () => {
    const frames = framesOf(seg);
    expect(frames.map((f) => [f.type, f.offset, f.frameLen])).toEqual(SEGMENT_FRAMES);
    expect(frames.map((f) => f.flags)).toEqual([0, 3, 0, 0]); // only the CHUNK is coded: codec 3
    expect(frames.map((f) => f.meta.length)).toEqual([0, 20, 0, 0]);
    for (const f of frames) {
      const d = decodeFrame(seg.subarray(f.offset, f.offset + f.frameLen));
      expect([d.type, d.flags]).toEqual([f.type, f.flags]);
      expect(d.payload.equals(f.payload)).toBe(true);
    }
  });

  it('BUCKET_CREATE payload (§3.3)', () => {
    const f = parseFrameByHand(seg, 0x40);
    const c = new Cursor(f.payload);
    expect(c.u8()).toBe(1);
    expect(c.u64()).toBe(1); // seq
    expect(c.str8()).toBe('logs');
    expect(c.f64()).toBe(SEGMENT_CREATED_MS);
    expect(c.str8()).toBe('us-east-1');
    expect(c.u8()).toBe(0);
    expect(c.done).toBe(true);
    expect(decodeBucketCreate(f.payload)).toEqual({ seq: 1, name: 'logs', createdMs: SEGMENT_CREATED_MS, region: 'us-east-1', flags: 0 });
  });

  it('the codec-3 CHUNK, by hand: frame header, flags byte 3, meta, dictId, dictCheck, zstd frame', () => {
    // Frame header bytes, exactly.
    expect(seg.subarray(CHUNK_AT, CHUNK_AT + 12).toString('hex')).toBe(
      '53524543' + // "SREC"
        '60000000' + // frameLen 96
        '01' + // type CHUNK
        '03' + // flags: codec 3 (zstd with a dictionary file of the data directory)
        '1400', // metaLen 20
    );
    const f = parseFrameByHand(seg, CHUNK_AT);
    expect(f.flags & CODEC_MASK).toBe(CODEC_ZSTD_DATA_DICT);
    const m = new Cursor(f.meta);
    expect(m.u64()).toBe(9); // uploadId
    expect(m.u32()).toBe(0); // partNumber
    expect(m.u32()).toBe(0); // chunkIndex
    expect(m.u32()).toBe(EXPECTED_RAW.length); // rawLen 322
    expect(m.done).toBe(true);
    expect(decodeChunkMeta(f.meta)).toEqual({ uploadId: 9, partNumber: 0, chunkIndex: 0, rawLen: 322 });
    // Payload: dictId u32, dictCheck u32 = low 32 bits of xxh64 of the fixture dictionary's content.
    const p = new Cursor(f.payload);
    expect(p.u32()).toBe(1);
    const check = p.u32();
    expect(check).toBe(CONTENT_CHECK);
    expect(check).toBe(fixtureDict().check);
    // Then one plain zstd frame (RFC 8878 §3.1.1): magic, and a frame header descriptor without
    // Content_Checksum_flag (bit 2; the hot tier sets none, §2.7) and without Dictionary_ID_flag (bits 0-1;
    // a raw-content dictionary has no id: that is why the payload carries id and check).
    const zstdFrame = f.payload.subarray(8);
    expect(zstdFrame.subarray(0, 4).toString('hex')).toBe('28b52ffd');
    const fhd = zstdFrame[4]!;
    expect(fhd & 0x04, 'Content_Checksum_flag').toBe(0);
    expect(fhd & 0x03, 'Dictionary_ID_flag').toBe(0);
    expect(f.payload.length).toBeLessThan(EXPECTED_RAW.length / 4); // the dictionary did its work
  });

  it('opens with openChunkFrame and the fixture dictionary, to the expected log lines', () => {
    const frame = decodeFrame(seg.subarray(CHUNK_AT, CHUNK_AT + 96));
    const d = fixtureDict();
    const lookup: DictLookup = (id) => (id === d.id ? d : `dictionary ${id} is missing`);
    const { meta, raw } = openChunkFrame(frame, 1, CHUNK_AT, lookup);
    expect(meta).toEqual({ uploadId: 9, partNumber: 0, chunkIndex: 0, rawLen: 322 });
    expect(raw.equals(EXPECTED_RAW)).toBe(true);
    expect(createHash('md5').update(raw).digest('hex')).toBe(RAW_MD5);
    // A lookup built from decodeDictionaryFile's result works the same.
    const decoded = decodeDictionaryFile(dictFile);
    const viaDecoder: ChunkDict = { id: decoded.id, check: dictCheck(decoded.content), content: decoded.content };
    expect(openChunkFrame(frame, 1, CHUNK_AT, () => viaDecoder).raw.equals(EXPECTED_RAW)).toBe(true);
  });

  it('a wrong dictionary (same id, other content) or a missing one is a CorruptionError, never other bytes', () => {
    const frame = decodeFrame(seg.subarray(CHUNK_AT, CHUNK_AT + 96));
    const good = fixtureDict();
    // Same id, other content (with its own check): refused on the check.
    for (const other of [
      Buffer.from(Buffer.from(good.content).toString('utf8').replace(/api-0/g, 'web-0')),
      Buffer.concat([good.content, Buffer.from('x')]),
      Buffer.from('2023-11-14T22:16:45Z something else entirely\n'),
    ]) {
      const wrong: ChunkDict = { id: 1, check: dictCheck(other), content: other };
      expect(wrong.check).not.toBe(good.check);
      const err = expectCorruption(() => openChunkFrame(frame, 1, CHUNK_AT, () => wrong));
      expect(err.message).toMatch(/dictionary 1 check 520968ed/);
    }
    // Missing: the lookup has no such dictionary, or the reader has no dictionaries at all.
    expect(expectCorruption(() => openChunkFrame(frame, 1, CHUNK_AT, (id) => `dictionary ${id} is missing (no file dicts/${dictFileName(id)})`)).message).toMatch(
      /dictionary 1: dictionary 1 is missing/,
    );
    expect(expectCorruption(() => openChunkFrame(frame, 1, CHUNK_AT)).message).toMatch(/no dictionary is available/);
    // A dictionary of another id only: still missing for this frame.
    expect(expectCorruption(() => openChunkFrame(frame, 1, CHUNK_AT, (id) => (id === 2 ? { ...good, id: 2 } : 'missing'))).message).toMatch(/dictionary 1/);
  });

  it('COMMIT manifest (§3.1) points at the chunk', () => {
    const f = parseFrameByHand(seg, 0xd5);
    const c = new Cursor(f.payload);
    expect(c.u8()).toBe(1); // version
    expect(c.u64()).toBe(2); // seq
    expect(c.str16()).toBe('logs');
    expect(c.str16()).toBe('app.log');
    expect(c.str8()).toBe(''); // null version
    expect(c.u64()).toBe(9); // uploadId
    expect(c.f64()).toBe(MTIME_MS);
    expect(c.u64()).toBe(322); // size
    expect(c.bytes(16).toString('hex')).toBe(RAW_MD5);
    expect(c.u16()).toBe(0); // partCount
    expect(c.u8()).toBe(0); // storageClass STANDARD
    expect(c.u8()).toBe(0); // flags
    expect(c.str16()).toBe('text/plain');
    expect(c.u8()).toBe(0); // headerCount
    expect(c.u16()).toBe(0); // metaCount
    expect(c.u8()).toBe(0); // checksumCount
    expect(c.u8()).toBe(0); // lockMode
    expect(c.f64()).toBe(0); // retainUntilMs
    expect(c.u8()).toBe(0); // legalHold
    expect(c.u16()).toBe(0); // tagCount
    expect(c.u32()).toBe(1); // chunkCount
    expect([c.u64(), c.u64(), c.u32(), c.u32()]).toEqual([1, CHUNK_AT, 96, 322]);
    expect(c.u32()).toBe(0); // partTableCount
    expect(c.done).toBe(true);
    expect(decodeManifest(f.payload)).toMatchObject({
      seq: 2, bucket: 'logs', key: 'app.log', versionId: '', uploadId: 9, mtimeMs: MTIME_MS, size: 322, partCount: 0,
      storageClass: 0, flags: 0, contentType: 'text/plain', chunks: [{ segmentId: 1, offset: CHUNK_AT, frameLen: 96, rawLen: 322 }], parts: [],
    });
  });

  it('FOOTER (§2.4) lists the three records, and the tail points at it', () => {
    const frames = framesOf(seg);
    const footer = frames[3]!;
    const c = new Cursor(footer.payload);
    expect(c.u8()).toBe(1); // footer version
    expect(c.u32()).toBe(3); // recordCount
    for (const f of frames.slice(0, 3)) {
      expect(c.u8()).toBe(f.type);
      expect(c.u64()).toBe(f.offset);
      expect(c.u32()).toBe(f.frameLen);
      if (f.type === RecordType.CHUNK) expect(c.bytes(20).equals(f.meta)).toBe(true);
      else expect(c.bytes(c.u32()).equals(f.payload)).toBe(true);
    }
    expect(c.done).toBe(true);
    expect(decodeFooterPayload(footer.payload).map((e) => [e.type, e.offset, e.frameLen])).toEqual(SEGMENT_FRAMES.slice(0, 3));
    const t = new Cursor(seg, TAIL_AT);
    expect(t.bytes(8).toString('hex')).toBe('534544454e440d0a');
    expect(t.u64()).toBe(0x16a);
    expect(t.u64big()).toBe(xxh64(seg.subarray(TAIL_AT, TAIL_AT + 16)));
    expect(t.done).toBe(true);
    expect(decodeTail(seg.subarray(TAIL_AT))).toBe(0x16a);
  });

  it('re-encoding the decoded records gives identical bytes; so does the generator around the committed chunk', () => {
    const h = decodeSegmentHeader(seg.subarray(0, 64));
    const [bucketF, chunkF, commitF, footerF] = framesOf(seg);
    const again = Buffer.concat([
      encodeSegmentHeader({ tier: h.tier, segmentId: h.segmentId, createdMs: h.createdMs }),
      encodeFrame(RecordType.BUCKET_CREATE, 0, Buffer.alloc(0), encodeBucketCreate(decodeBucketCreate(bucketF!.payload))),
      encodeFrame(RecordType.CHUNK, chunkF!.flags, encodeChunkMeta(decodeChunkMeta(chunkF!.meta)), Buffer.from(chunkF!.payload)),
      encodeFrame(RecordType.COMMIT, 0, Buffer.alloc(0), encodeManifest(decodeManifest(commitF!.payload))),
      encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodeFooterPayload(decodeFooterPayload(footerF!.payload))),
      encodeTail(decodeTail(seg.subarray(TAIL_AT)) as number),
    ]);
    expect(again.equals(seg)).toBe(true);
    // Everything but zstd's output comes from the generator's constants and the encoders.
    expect(buildExampleDictSegment(Buffer.from(seg.subarray(CHUNK_AT, CHUNK_AT + 96))).bytes.equals(seg)).toBe(true);
    // Compressing again (with this zstd) must at least give a frame that opens to the same bytes.
    const d = fixtureDict();
    const fresh = buildChunkFrame(EXPECTED_RAW, decodeChunkMeta(chunkF!.meta), 1, d);
    expect(fresh[9]! & CODEC_MASK).toBe(CODEC_ZSTD_DATA_DICT);
    expect(openChunkFrame(decodeFrame(fresh), 1, CHUNK_AT, () => d).raw.equals(EXPECTED_RAW)).toBe(true);
  });
});

describe('a format-6 data directory holding the fixtures', () => {
  const SEG_PATH = '/d/segments/000000000001.seg';
  const DICT_PATH = '/d/dicts/000000000001.zdict';

  /** FORMAT 6, the segment, its manifest (§4.2: required from format 5 on), and the dictionary unless told. */
  async function dataDir(withDict: boolean): Promise<MemoryFileSystem> {
    const fs = new MemoryFileSystem();
    for (const sub of ['segments', 'checkpoints', 'tmp', 'dicts']) await fs.mkdir(`/d/${sub}`);
    await fs.writeFile('/d/FORMAT', Buffer.from('sediment-data-dir 6\n'));
    await fs.writeFile(SEG_PATH, seg);
    await fs.writeFile('/d/manifest', encodeSegmentManifest({ generation: 1, writtenMs: MTIME_MS + 1000, entries: [{ segmentId: 1, kind: ManifestKind.LOG }] }));
    if (withDict) await fs.writeFile(DICT_PATH, dictFile);
    return fs;
  }

  async function open(fs: MemoryFileSystem, warnings: string[] = []): Promise<Engine> {
    return Engine.open({ dir: '/d', fs, workerThreads: 0, onWarning: (m) => warnings.push(m) });
  }

  async function expectCorrupt(e: Engine): Promise<void> {
    const r = await tryGet(e, 'logs', 'app.log');
    expect(r.error, 'logs/app.log read back without its dictionary').toBeDefined();
    expect(r.data.length).toBe(0);
    expect(r.error).toBeInstanceOf(CorruptionError);
    expect(errorCode(r.error)).toBe('SEDIMENT_CORRUPTION');
    expect((r.error as Error).message).toMatch(/dictionary 1 is missing/);
  }

  async function expectMissingReported(e: Engine): Promise<void> {
    const v = await e.verify();
    expect(v.damage).toEqual([]);
    expect(v.damagedDictionaries).toEqual([]); // nothing to report about a file that is not there...
    expect(v.damagedObjects).toEqual([{ bucket: 'logs', key: 'app.log', reason: expect.stringMatching(/dictionary 1 is missing \(no file dicts\/000000000001\.zdict\)/) }]);
  }

  it('an engine serves the object; verify is clean; without the dictionary file the GET is corruption and verify names it', async () => {
    const fs = await dataDir(true);
    const warnings: string[] = [];
    let e = await open(fs, warnings);
    try {
      expect(warnings).toEqual([]);
      expect(e.stats()).toMatchObject({ objects: 1, logicalBytes: 322, damage: [], dictionaries: { count: 1, bytes: CONTENT_LEN, made: 0 } });
      expect(e.listBuckets()).toEqual([{ name: 'logs', createdMs: SEGMENT_CREATED_MS, region: 'us-east-1' }]);
      expect(e.listObjects('logs').contents).toEqual([{ key: 'app.log', size: 322, etag: RAW_MD5, lastModifiedMs: MTIME_MS, storageClass: 'STANDARD' }]);
      const g = await e.getObject('logs', 'app.log');
      expect(g.info).toMatchObject({ contentType: 'text/plain', etag: RAW_MD5, size: 322 });
      expect((await readAll(g.body)).equals(EXPECTED_RAW)).toBe(true);
      const r = await e.getObject('logs', 'app.log', { range: { start: 100, end: 199 } });
      expect((await readAll(r.body)).equals(EXPECTED_RAW.subarray(100, 200))).toBe(true);
      const v = await e.verify();
      expect(v.damage).toEqual([]);
      expect(v.damagedObjects).toEqual([]);
      expect(v.damagedDictionaries).toEqual([]);
      expect(e.stats().activeSegmentId).toBe(2); // segment 1 is sealed: the fixture is never appended to
    } finally {
      await e.close();
    }
    expect((await fs.readFile(SEG_PATH)).equals(seg)).toBe(true);
    expect((await fs.readFile(DICT_PATH)).equals(dictFile)).toBe(true);
    expect((await fs.readFile('/d/FORMAT')).toString()).toBe('sediment-data-dir 6\n');

    // The dictionary file is lost; reopen (now from the checkpoint the close wrote).
    expect(await fs.readdir('/d/checkpoints')).toHaveLength(1);
    await fs.unlink(DICT_PATH);
    e = await open(fs);
    try {
      expect(e.stats().dictionaries.count).toBe(0);
      await expectCorrupt(e);
      await expect(e.getObject('logs', 'app.log', { range: { start: 10, end: 20 } }).then((x) => readAll(x.body))).rejects.toMatchObject({ code: 'SEDIMENT_CORRUPTION' });
      await expectMissingReported(e);
    } finally {
      await e.close();
    }
  });

  it('a directory that never had the dictionary file (full replay of the fixture): the same corruption and report', async () => {
    const fs = await dataDir(false);
    const e = await open(fs);
    try {
      expect(e.stats()).toMatchObject({ objects: 1, damage: [] });
      await expectCorrupt(e);
      await expectMissingReported(e);
    } finally {
      await e.close();
    }
  });
});

