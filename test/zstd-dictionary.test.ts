// zstd-format dictionaries for small objects (native/src/zstd-dict.c through finalizeDictionary, and
// hot-dictionaries.ts makeDictionaryContent): entropy tables from the samples in front of the cut, the
// engine's id in zstd's header; frames made with one decode with it only; argument errors are refused; and
// where no dictionary builder is at hand, the raw cut, as before (never one zstd would misread).
import zstdBinding from 'zstd-napi/binding.js';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildDictionary, ColdEncoder, openColdChunkFrame } from '../src/engine/cold-codec.js';
import { cutDictionary, DICT_BYTES, makeDictionaryContent } from '../src/engine/hot-dictionaries.js';
import { decodeFrame } from '../src/format/frame.js';
import { initHash } from '../src/format/hash.js';
import { encodeChunkMeta } from '../src/format/records.js';
import { finalizeDictionary, nativeAddon } from '../src/native/index.js';
import { logObjects } from './helpers/dict-families.js';

const MAGIC = 0xec30a437;

const meta = (r: Uint8Array): Uint8Array => encodeChunkMeta({ uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: r.length });

function compress(raw: Uint8Array, dict: Uint8Array): Buffer {
  const out = Buffer.alloc(zstdBinding.compressBound(raw.length));
  const n = new zstdBinding.CCtx().compressUsingCDict(out, raw, new zstdBinding.CDict(dict, 1));
  return out.subarray(0, n);
}

function decompress(frame: Uint8Array, dict: Uint8Array, rawLen: number): Buffer {
  const out = Buffer.alloc(rawLen);
  const n = new zstdBinding.DCtx().decompressUsingDDict(out, frame, new zstdBinding.DDict(dict));
  return out.subarray(0, n);
}

describe('zstd-format dictionaries', () => {
  beforeAll(async () => {
    await initHash();
  });
  const samples = logObjects(28, 11);
  const others = logObjects(60, 11).slice(40); // later objects of the same family

  it('the dictionary builder of the system zstd is found (Linux, addon built)', () => {
    expect(nativeAddon, 'the native addon is built').not.toBeNull();
    expect(nativeAddon!.zdictAvailable?.()).toBe(true);
  });

  it('hold the cut after zstd header naming the id, and compress the family smaller than the cut alone', () => {
    const raw = cutDictionary(samples);
    expect(raw.length).toBe(DICT_BYTES);
    const dict = finalizeDictionary(raw, samples, 1, 4242)!;
    expect(dict).toBeDefined();
    expect(dict.readUInt32LE(0)).toBe(MAGIC);
    expect(dict.readUInt32LE(4)).toBe(4242);
    expect(dict.subarray(dict.length - raw.length).equals(raw)).toBe(true);
    let withTables = 0;
    let rawOnly = 0;
    for (const o of others) {
      const f = compress(o, dict);
      expect(decompress(f, dict, o.length).equals(o)).toBe(true);
      withTables += f.length;
      rawOnly += compress(o, raw).length;
    }
    // Same bytes in, same bytes out: a property of the data, not of timing.
    expect(withTables, `${withTables} bytes with tables, ${rawOnly} with the cut alone`).toBeLessThan(rawOnly);
  });

  it("frames name the dictionary: one made with another dictionary's id does not decode", () => {
    const raw = cutDictionary(samples);
    const a = finalizeDictionary(raw, samples, 1, 1)!;
    const b = finalizeDictionary(raw, samples, 1, 2)!; // same content and tables, another id
    const f = compress(others[0], a);
    expect(() => decompress(f, b, others[0].length)).toThrow();
    expect(decompress(f, a, others[0].length).equals(others[0])).toBe(true);
  });

  it('bad arguments are refused; too little to work with gives undefined', () => {
    const z = nativeAddon!.zdictFinalize!;
    const out = Buffer.alloc(DICT_BYTES * 2);
    const content = cutDictionary(samples);
    expect(() => z(content, Buffer.alloc(10), new Uint32Array([4, 4]), 1, 1, out)).toThrow(/add up/);
    expect(() => z(content, Buffer.alloc(0), new Uint32Array(0), 1, 1, out)).toThrow(/1\.\.2\^20 samples/);
    expect(() => z(content, samples[0], new Uint32Array([samples[0].length]), 1.5, 1, out)).toThrow(/level/);
    expect(() => z(content, samples[0], new Uint32Array([samples[0].length]), 1, -1, out)).toThrow(/dictId/);
    expect(() => z('x' as unknown as Uint8Array, samples[0], new Uint32Array([samples[0].length]), 1, 1, out)).toThrow(TypeError);
    // An output too small for header and content: zstd refuses, the addon throws with its message.
    expect(() => z(content, samples[0], new Uint32Array([samples[0].length]), 1, 1, Buffer.alloc(64))).toThrow(/ERR|could not finalize/);
    expect(finalizeDictionary(content, [], 1, 1)).toBeUndefined();
  });

  it('without a builder the cut alone is used, unless it starts with zstd dictionary magic', () => {
    const none = (): undefined => undefined;
    expect(makeDictionaryContent(samples, 1, 3, none)!.equals(cutDictionary(samples))).toBe(true);
    const magic = samples.map((s) => Buffer.concat([Buffer.from([0x37, 0xa4, 0x30, 0xec]), s]));
    expect(makeDictionaryContent(magic, 1, 3, none)).toBeUndefined();
    // With the builder, such samples are fine: the dictionary is zstd-format whatever its content.
    expect(makeDictionaryContent(magic, 1, 3)!.readUInt32LE(4)).toBe(3);
  });

  it("a cold segment's dictionary has tables too, decodes its frames, and falls back to raw content", () => {
    const raws = logObjects(64, 21, 2048);
    const dict = buildDictionary(raws, 12)!;
    expect(dict.readUInt32LE(0)).toBe(MAGIC);
    expect(dict.readUInt32LE(4)).toBe(1);
    const raw = buildDictionary(raws, 12, () => undefined)!;
    expect(raw.readUInt32LE(0)).not.toBe(MAGIC);
    expect(dict.subarray(dict.length - raw.length).equals(raw)).toBe(true);
    // Frames coded with it decode through the cold reader (the content checksum stays on).
    const enc = new ColdEncoder(12, dict);
    let withTables = 0;
    for (const r of raws.slice(0, 8)) {
      const frame = enc.encode(r, meta(r));
      withTables += frame.length;
      expect(openColdChunkFrame(decodeFrame(frame), dict, 1, 64).equals(r)).toBe(true);
    }
    const plain = new ColdEncoder(12, raw);
    const rawOnly = raws.slice(0, 8).reduce((n, r) => n + plain.encode(r, meta(r)).length, 0);
    expect(withTables, `${withTables} with tables, ${rawOnly} raw`).toBeLessThan(rawOnly);
    const magic = raws.map((r) => Buffer.concat([Buffer.from([0x37, 0xa4, 0x30, 0xec]), r]));
    expect(buildDictionary(magic, 12, () => undefined)).toBeUndefined();
  });
});
