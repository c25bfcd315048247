// The golden cold segment (docs/FORMAT.md §2.6): test/fixtures/example-v1.cold parsed field by field with
// a reader of its own, decoded with src/format and the cold codec, re-laid-out to the same bytes from its
// own frames (never recompressed), and read through the engine's ColdReader from a cold store.
// Regenerate (after a deliberate format change only): SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden-cold.test.ts
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeColdSegment, encodeColdSegment } from '../src/format/cold-segment.js';
import { CODEC_RAW, RecordType } from '../src/format/constants.js';
import zstd from 'zstd-napi';
import { decodeFrame, encodeFrame } from '../src/format/frame.js';
import { encodeChunkMeta } from '../src/format/records.js';
import { initHash, xxh64 } from '../src/format/hash.js';
import { ChunkPool } from '../src/engine/chunk-pool.js';
import { ColdReader } from '../src/engine/cold-reader.js';
import { openColdChunkFrame } from '../src/engine/cold-codec.js';
import { MemoryColdStore } from '../src/tier/memory-store.js';
import { COLD_CREATED_MS, COLD_DICT, COLD_HELLO, COLD_ID, COLD_LOG, FIXTURE_COLD, writeColdFixture } from './helpers/make-cold-fixture.js';

const fixturesDir = fileURLToPath(new URL('./fixtures', import.meta.url));
let bytes: Buffer;

beforeAll(async () => {
  await initHash();
  if (process.env.SEDIMENT_WRITE_FIXTURES === '1') writeColdFixture(fixturesDir);
  bytes = readFileSync(`${fixturesDir}/${FIXTURE_COLD}`);
});

/** Own minimal frame reader: [type, flags, meta, payload], hash checked. */
function frameAt(at: number): { len: number; type: number; flags: number; meta: Buffer; payload: Buffer } {
  expect(bytes.readUInt32LE(at)).toBe(0x43455253);
  const len = bytes.readUInt32LE(at + 4);
  const metaLen = bytes.readUInt16LE(at + 10);
  expect(bytes.readBigUInt64LE(at + len - 8)).toBe(xxh64(bytes.subarray(at, at + len - 8)));
  return { len, type: bytes[at + 8]!, flags: bytes[at + 9]!, meta: bytes.subarray(at + 12, at + 12 + metaLen), payload: bytes.subarray(at + 12 + metaLen, at + len - 8) };
}

describe('golden cold segment (FORMAT.md §2.6)', () => {
  it('parses field by field', () => {
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('SEDSEG\r\n');
    expect(bytes.readUInt16LE(8)).toBe(1); // formatVersion
    expect(bytes[10]).toBe(1); // tier: cold
    expect(Number(bytes.readBigUInt64LE(16))).toBe(COLD_ID);
    expect(Number(bytes.readBigUInt64LE(24))).toBe(COLD_CREATED_MS);
    const dict = frameAt(64);
    expect(dict).toMatchObject({ type: RecordType.DICT, flags: 0 });
    expect(dict.meta.length).toBe(0);
    expect(dict.payload.equals(COLD_DICT)).toBe(true);
    const hello = frameAt(64 + dict.len);
    expect(hello).toMatchObject({ type: RecordType.CHUNK, flags: 0 });
    expect(Number(hello.meta.readBigUInt64LE(0))).toBe(7); // uploadId
    expect(hello.meta.readUInt32LE(16)).toBe(11); // rawLen
    expect(hello.payload.equals(COLD_HELLO)).toBe(true);
    const logAt = 64 + dict.len + hello.len;
    const log = frameAt(logAt);
    expect(log).toMatchObject({ type: RecordType.CHUNK, flags: 2 }); // codec 2: zstd with the segment dictionary
    expect(log.meta.readUInt32LE(16)).toBe(COLD_LOG.length);
    expect(log.payload.length).toBeLessThan(COLD_LOG.length);
    const footerAt = logAt + log.len;
    const footer = frameAt(footerAt);
    expect(footer.type).toBe(RecordType.FOOTER);
    expect(footer.payload[0]).toBe(1); // footer version 1
    expect(footer.payload.readUInt32LE(1)).toBe(3); // DICT + 2 CHUNKs
    // DICT entry: type, offset 64, frameLen, payloadLen 0 (the dictionary is not copied).
    expect(footer.payload[5]).toBe(RecordType.DICT);
    expect(Number(footer.payload.readBigUInt64LE(6))).toBe(64);
    expect(footer.payload.readUInt32LE(14)).toBe(dict.len);
    expect(footer.payload.readUInt32LE(18)).toBe(0);
    const tail = bytes.subarray(bytes.length - 24);
    expect(tail.subarray(0, 8).toString('latin1')).toBe('SEDEND\r\n');
    expect(Number(tail.readBigUInt64LE(8))).toBe(footerAt);
    expect(footerAt + footer.len + 24).toBe(bytes.length);
  });

  it('decodes with src/format and the cold codec, and re-lays out to the same bytes', () => {
    const info = decodeColdSegment(bytes, COLD_ID);
    expect(info.entries.map((e) => e.type)).toEqual([RecordType.DICT, RecordType.CHUNK, RecordType.CHUNK]);
    const [, a, b] = info.entries;
    const frames = [a!, b!].map((e) => bytes.subarray(e.offset, e.offset + e.frameLen));
    expect(openColdChunkFrame(decodeFrame(frames[0]!), COLD_DICT, COLD_ID, a!.offset).equals(COLD_HELLO)).toBe(true);
    expect(openColdChunkFrame(decodeFrame(frames[1]!), COLD_DICT, COLD_ID, b!.offset).equals(COLD_LOG)).toBe(true);
    expect(() => openColdChunkFrame(decodeFrame(frames[1]!), undefined, COLD_ID, b!.offset)).toThrow(/without a dictionary/);
    // The wrong dictionary (a reused id, a mix-up) is an error, never other bytes of the right length.
    const wrong = Buffer.from(COLD_DICT.toString().replace(/web-0/g, 'node-'));
    expect(() => openColdChunkFrame(decodeFrame(frames[1]!), wrong, COLD_ID, b!.offset)).toThrow(/does not decompress/);
    // A dictionary chunk must carry zstd's content checksum (what makes the check above possible).
    const plain = new zstd.Compressor();
    plain.loadDictionary(COLD_DICT);
    const noSum = encodeFrame(RecordType.CHUNK, 2, encodeChunkMeta({ uploadId: 8, partNumber: 0, chunkIndex: 0, rawLen: COLD_LOG.length }), plain.compress(COLD_LOG));
    expect(() => openColdChunkFrame(decodeFrame(noSum), COLD_DICT, COLD_ID, 64)).toThrow(/content checksum/);
    expect(encodeColdSegment(COLD_ID, COLD_CREATED_MS, frames, { payload: COLD_DICT, codec: CODEC_RAW }).bytes.equals(bytes)).toBe(true);
    expect(() => decodeColdSegment(bytes, 2)).toThrow(/expected 2/);
  });

  it('reads through the ColdReader from a cold store, and refuses a flipped byte', async () => {
    const store = new MemoryColdStore();
    await store.put('000000000001.cold', bytes);
    const pool = new ChunkPool(0, 1);
    const reader = new ColdReader(store, pool);
    const e = decodeColdSegment(bytes, COLD_ID).entries[2]!;
    const ref = { segmentId: COLD_ID, offset: e.offset, frameLen: e.frameLen, rawLen: COLD_LOG.length };
    expect((await reader.readChunk({ ref, from: 0, to: COLD_LOG.length })).equals(COLD_LOG)).toBe(true);
    expect((await reader.readChunk({ ref, from: 10, to: 30 })).equals(COLD_LOG.subarray(10, 30))).toBe(true);
    const bad = Buffer.from(bytes);
    bad[e.offset + 20]! ^= 1;
    await store.put('000000000001.cold', bad);
    await expect(new ColdReader(store, pool).readChunk({ ref, from: 0, to: COLD_LOG.length })).rejects.toMatchObject({ code: 'SEDIMENT_CORRUPTION' });
    await pool.close();
  });
});
