// Every compression in a thread writes into one scratch buffer (chunk-codec.ts `compressPlain`,
// `compressWithDict`): a frame must own its bytes, so that the next compression — larger, smaller, with a
// dictionary, at another level, or only the incompressibility probe — cannot change a frame built before it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import zstd from 'zstd-napi';
import { CODEC_MASK, CODEC_RAW, CODEC_ZSTD, CODEC_ZSTD_DATA_DICT } from '../src/format/constants.js';
import { decodeFrame } from '../src/format/frame.js';
import { initHash } from '../src/format/hash.js';
import { buildChunkFrame, buildChunkFrameInPlace, openChunkFrame, type ChunkDict } from '../src/engine/chunk-codec.js';
import { CHUNK_FRAME_HEAD_BYTES } from '../src/engine/chunk-buffers.js';

await initHash();

/** Compressible text whose bytes depend on `seed`. */
const text = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i * 7 + seed + (i >> 5)) % 13);
  return b;
};
const meta = (rawLen: number, chunkIndex: number) => ({ uploadId: 3, partNumber: 0, chunkIndex, rawLen });

describe('chunk frames and the shared compression scratch', () => {
  it('keeps every frame intact while later chunks of other sizes, levels and codecs are compressed', () => {
    const dict: ChunkDict = { id: 5, check: 0x1234, content: text(4096, 99) };
    const raws: Array<{ raw: Buffer; level: number; dict?: ChunkDict; codec: number }> = [
      { raw: text(1 << 20, 1), level: 1, codec: CODEC_ZSTD }, // grows the scratch to a whole chunk
      { raw: text(4096, 2), level: 1, dict, codec: CODEC_ZSTD_DATA_DICT },
      { raw: randomBytes(300_000), level: 1, codec: CODEC_RAW }, // the probe only
      { raw: text(70_000, 3), level: 9, codec: CODEC_ZSTD },
      { raw: text(2 << 20, 4), level: 1, codec: CODEC_ZSTD }, // grows it again
      { raw: text(100, 5), level: 3, codec: CODEC_ZSTD },
      { raw: randomBytes(4096), level: 1, dict, codec: CODEC_RAW },
    ];
    const frames = raws.map((r, i) => buildChunkFrame(r.raw, meta(r.raw.length, i), r.level, r.dict));
    const copies = frames.map((f) => Buffer.from(f));
    // More compressions after all of them, then every frame must still be what it was when built.
    buildChunkFrame(text(1 << 20, 77), meta(1 << 20, 99), 1);
    buildChunkFrame(text(4096, 78), meta(4096, 98), 1, dict);
    for (let i = 0; i < raws.length; i++) {
      expect(frames[i]!.equals(copies[i]!), `frame ${i}`).toBe(true);
      const f = decodeFrame(frames[i]!);
      expect(f.flags & CODEC_MASK, `codec of frame ${i}`).toBe(raws[i]!.codec);
      const opened = openChunkFrame(f, 1, 0, (id) => (id === dict.id ? dict : 'unknown'));
      expect(opened.raw.equals(raws[i]!.raw), `bytes of frame ${i}`).toBe(true);
    }
  });

  it('writes the same zstd frame as zstd-napi`s Compressor at the same level', () => {
    // The payload is a standard zstd frame: any zstd decoder reads it, and the bytes match the library's own.
    for (const [raw, level] of [[text(1 << 20, 6), 1], [text(50_000, 7), 5]] as const) {
      const frame = decodeFrame(buildChunkFrame(raw, meta(raw.length, 0), level));
      const c = new zstd.Compressor();
      c.setParameters({ compressionLevel: level });
      expect(frame.payload.equals(c.compress(raw))).toBe(true);
      expect(new zstd.Decompressor().decompress(frame.payload).equals(raw)).toBe(true);
    }
  });

  it('compresses a chunk held in a chunk buffer into a frame of its own, leaving the buffer as it was', () => {
    const raw = text(1 << 20, 8);
    const whole = new Uint8Array(new SharedArrayBuffer(CHUNK_FRAME_HEAD_BYTES + raw.length + 8));
    whole.set(raw, CHUNK_FRAME_HEAD_BYTES);
    const before = Buffer.from(whole);
    const frame = buildChunkFrameInPlace(whole, raw.length, meta(raw.length, 0), 1);
    expect(frame.buffer).not.toBe(whole.buffer);
    buildChunkFrame(text(1 << 20, 9), meta(1 << 20, 1), 1); // reuses the scratch
    expect(openChunkFrame(decodeFrame(frame), 1, 0).raw.equals(raw)).toBe(true);
    expect(Buffer.from(whole).equals(before)).toBe(true);
  });
});
