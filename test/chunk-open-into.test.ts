// A large GET's worker decompresses each chunk straight into its place in the group's reply buffer
// (chunk-codec.ts `openChunkFrameInto`, chunk-worker.ts `openBatch`). The frames here carry a valid xxh64,
// so only the length checks stand between a lying frame and wrong bytes: each lie must be an error.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { valueSymbol } from 'piscina';
import zstd from 'zstd-napi';
import { CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DICT, RecordType } from '../src/format/constants.js';
import { decodeFrame, encodeFrame } from '../src/format/frame.js';
import { initHash } from '../src/format/hash.js';
import { encodeChunkMeta } from '../src/format/records.js';
import { buildChunkFrame, openChunkFrame, openChunkFrameInto } from '../src/engine/chunk-codec.js';
import { openBatch, type OpenBatchResult } from '../src/engine/chunk-worker.js';
import { CorruptionError } from '../src/util/errors.js';

await initHash();

const text = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i * 7 + seed + (i >> 5)) % 13);
  return b;
};
const meta = (rawLen: number) => encodeChunkMeta({ uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen });
const zstdFrame = (raw: Buffer, claimedLen = raw.length) => encodeFrame(RecordType.CHUNK, CODEC_ZSTD, meta(claimedLen), new zstd.Compressor().compress(raw));

describe('openChunkFrameInto', () => {
  it('gives the same bytes as openChunkFrame, for zstd and raw frames, at an offset in a larger buffer', () => {
    for (const raw of [text(300_000, 1), randomBytes(70_000), Buffer.alloc(0)]) {
      const frame = buildChunkFrame(raw, { uploadId: 9, partNumber: 1, chunkIndex: 2, rawLen: raw.length }, 1);
      const big = Buffer.alloc(raw.length + 20, 0xee);
      const m = openChunkFrameInto(decodeFrame(frame), big.subarray(10, 10 + raw.length), 4, 128);
      expect(m.rawLen).toBe(raw.length);
      expect(big.subarray(10, 10 + raw.length).equals(openChunkFrame(decodeFrame(frame), 4, 128).raw)).toBe(true);
      expect(big.subarray(10, 10 + raw.length).equals(raw)).toBe(true);
      // nothing written outside the destination
      expect(big.subarray(0, 10).every((b) => b === 0xee) && big.subarray(10 + raw.length).every((b) => b === 0xee)).toBe(true);
    }
    expect(decodeFrame(buildChunkFrame(text(300_000, 1), { uploadId: 9, partNumber: 1, chunkIndex: 2, rawLen: 300_000 }, 1)).flags & CODEC_ZSTD).toBe(CODEC_ZSTD);
  });

  it('refuses a payload that decompresses to more or fewer bytes than the meta says, with segment and offset', () => {
    const raw = text(100_000, 2);
    for (const claimed of [raw.length - 1, raw.length + 1]) {
      const f = decodeFrame(zstdFrame(raw, claimed));
      let err: unknown;
      try {
        openChunkFrameInto(f, Buffer.alloc(claimed), 7, 4096);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CorruptionError);
      expect(err).toMatchObject({ segmentId: 7, offset: 4096 });
    }
  });

  it('refuses a destination of another length than the meta, a raw payload of the wrong length, a dictionary codec and garbage', () => {
    const raw = text(5000, 3);
    expect(() => openChunkFrameInto(decodeFrame(zstdFrame(raw)), Buffer.alloc(4999), 1, 0)).toThrow(/expected 4999/);
    const rawFrame = encodeFrame(RecordType.CHUNK, CODEC_RAW, meta(5001), raw);
    expect(() => openChunkFrameInto(decodeFrame(rawFrame), Buffer.alloc(5001), 1, 0)).toThrow(CorruptionError);
    const dict = encodeFrame(RecordType.CHUNK, CODEC_ZSTD_DICT, meta(5000), raw);
    expect(() => openChunkFrameInto(decodeFrame(dict), Buffer.alloc(5000), 1, 0)).toThrow(/dictionary/);
    const junk = encodeFrame(RecordType.CHUNK, CODEC_ZSTD, meta(5000), randomBytes(200));
    expect(() => openChunkFrameInto(decodeFrame(junk), Buffer.alloc(5000), 1, 0)).toThrow(CorruptionError);
  });
});

describe('chunk-worker openBatch (run in this thread)', () => {
  it('puts every chunk at its place in one reply buffer', () => {
    const raws = [text(200_000, 4), randomBytes(90_000), text(1, 5), text(123_457, 6)];
    const frames = raws.map((r) => new Uint8Array(buildChunkFrame(r, { uploadId: 2, partNumber: 0, chunkIndex: 0, rawLen: r.length }, 1)));
    // outside a piscina worker the reply is the wrapper `move()` makes; its value is the buffer
    const out = (openBatch({ frames, rawLens: raws.map((r) => r.length) }) as Record<symbol, Uint8Array>)[valueSymbol]!;
    expect(Buffer.from(out).equals(Buffer.concat(raws))).toBe(true);
  });

  it('names the frame whose length lies or whose bytes are damaged', () => {
    const a = text(50_000, 7);
    const good = new Uint8Array(buildChunkFrame(a, { uploadId: 2, partNumber: 0, chunkIndex: 0, rawLen: a.length }, 1));
    const lying = new Uint8Array(zstdFrame(a, a.length + 10));
    expect(openBatch({ frames: [good, lying], rawLens: [a.length, a.length + 10] })).toMatchObject({ index: 1 } satisfies Partial<OpenBatchResult>);
    // the manifest's length and the frame's meta disagree
    expect(openBatch({ frames: [good], rawLens: [a.length - 1] })).toMatchObject({ index: 0, message: expect.stringMatching(/expected/) });
    const flipped = new Uint8Array(good);
    flipped[100] = flipped[100]! ^ 1;
    expect(openBatch({ frames: [good, flipped], rawLens: [a.length, a.length] })).toMatchObject({ index: 1, message: expect.stringMatching(/checksum/) });
  });
});
