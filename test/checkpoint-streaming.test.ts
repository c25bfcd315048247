// Checkpoints written as they are encoded: the encoder's pieces (the same bytes as the one-buffer
// encoding, a bounded slice at a time) and the file written from them, with memory that does not grow
// with the index. The copy-on-write view of the object table they are read from: object-table.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { BinaryReader, BinaryWriter } from '../src/format/binary.js';
import { checkpointPieces, decodeCheckpoint, decodeCheckpointFrom, encodeCheckpoint, type CheckpointSource, type CheckpointVisitor, type IndexEntry } from '../src/format/checkpoint.js';
import { FormatError } from '../src/format/binary.js';
import { initHash, xxh64, xxh64Stream } from '../src/format/hash.js';
import { writeCheckpoint } from '../src/engine/checkpointer.js';
import type { ObjectEntry } from '../src/engine/object-table.js';
import { MemoryFileSystem } from '../src/index.js';
import type { FileHandle, OpenMode } from '../src/io/types.js';

beforeAll(async () => {
  await initHash();
});

function entry(i: number, extra: Partial<ObjectEntry> = {}): ObjectEntry {
  const md5 = Buffer.alloc(16, i & 0xff);
  return {
    seq: i + 1, segmentId: 1 + (i % 3), commitOffset: 64 + i * 100, commitLen: 90 + (i % 7), size: i * 10,
    mtimeMs: 1_700_000_000_000 + i, md5, partCount: i % 4, storageClass: i % 2, flags: 0, versionId: '', ...extra,
  };
}

describe('BinaryWriter strings', () => {
  it('encode length-prefixed UTF-8 exactly, at and past the one-pass bound', () => {
    const short = ['', 'a', 'ключ/𝄞/日本', 'x'.repeat(85), 'é'.repeat(85), 'x'.repeat(86), 'é'.repeat(127), 'x'.repeat(255), 'lone \ud800 surrogate'];
    const long = [...short, 'x'.repeat(30_000), '日'.repeat(21_845)];
    const w = new BinaryWriter(4);
    for (const s of short) w.str8(s);
    for (const s of long) w.str16(s).str32(s);
    const r = new BinaryReader(w.finish());
    // What the reader gets back is the string's UTF-8 (a lone surrogate becomes U+FFFD).
    for (const s of short) expect(r.str8()).toBe(Buffer.from(s).toString());
    for (const s of long) {
      expect(r.str16()).toBe(Buffer.from(s).toString());
      expect(r.str32()).toBe(Buffer.from(s).toString());
    }
    expect(r.remaining).toBe(0);
  });

  it('u64: exact little-endian bytes at the 32-bit and 53-bit edges; negative and unsafe values refused', () => {
    const values = [0, 1, 0xff, 0x1_00, 0xffff_ffff, 0x1_0000_0000, 0x1_2345_6789, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER];
    const w = new BinaryWriter(4);
    for (const v of values) w.u64(v);
    const bytes = w.finish();
    values.forEach((v, i) => expect(bytes.readBigUInt64LE(i * 8), `${v}`).toBe(BigInt(v)));
    const r = new BinaryReader(bytes);
    for (const v of values) expect(r.u64()).toBe(v);
    for (const bad of [-1, 2 ** 53, 1.5, Number.NaN]) expect(() => new BinaryWriter().u64(bad)).toThrow(RangeError);
  });

  it('refuse a string too long for its field and write nothing of it', () => {
    const w = new BinaryWriter(4);
    w.u8(7);
    expect(() => w.str8('é'.repeat(128))).toThrow(RangeError); // 256 bytes
    expect(() => w.str8('x'.repeat(256))).toThrow(RangeError);
    expect(w.length).toBe(1);
  });
});

function sources(n: number): CheckpointSource[] {
  const rows: Array<[string, IndexEntry]> = Array.from({ length: n }, (_, i) => [`logs/${String(i).padStart(7, '0')}.log`, entry(i)]);
  return [
    { bucket: { name: 'a', createdMs: 1, region: 'us-east-1', flags: 0, seq: 1 }, objectCount: n, objects: rows },
    { bucket: { name: 'empty', createdMs: 2, region: 'eu-west-1', flags: 1, seq: 2 }, objectCount: 0, objects: [] },
  ];
}
const header = { seq: 99, replaySegmentId: 4, replayOffset: 4096, createdMs: 1_700_000_000_123 };
const uploads = [{ create: Buffer.from('create'), parts: [Buffer.from('p1'), Buffer.from('p2')] }];
const configs = [Buffer.from('config')];

/** A piece is valid only until the next is asked for: copies them as they come. */
function collect(pieces: Iterable<Buffer>): Buffer[] {
  const out: Buffer[] = [];
  for (const p of pieces) out.push(Buffer.from(p));
  return out;
}

describe('checkpoint pieces', () => {
  it('concatenate to the one-buffer encoding, in pieces of at most the slice', () => {
    const whole = encodeCheckpoint(header, sources(5_000), uploads, configs);
    const pieces = collect(checkpointPieces(header, sources(5_000), uploads, configs, false, 1_000));
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
    expect(pieces.length).toBe(6); // 5 full slices, then the rest with uploads, configs and the hash
    for (const p of pieces.slice(0, -1)) expect(p.length).toBeLessThan(1_000 * 100);
    let rows = 0;
    decodeCheckpoint(whole, { bucket: () => undefined, object: () => void rows++, upload: () => undefined, config: () => undefined });
    expect(rows).toBe(5_000);
  });

  it('end a piece early when asked, without changing the bytes', () => {
    let asked = 0;
    const pieces = collect(checkpointPieces(header, sources(5_000), uploads, configs, false, 1_000, () => ++asked % 2 === 0));
    expect(asked).toBeGreaterThan(0);
    expect(pieces.length).toBe(40); // a piece every 128 rows (asked at 64, 128, …: every second answer is yes), then the rest
    expect(Buffer.concat(pieces).equals(encodeCheckpoint(header, sources(5_000), uploads, configs))).toBe(true);
  });

  it('hash as they go: the streamed xxh64 equals the one of the concatenation', () => {
    const parts = [Buffer.from('abc'), Buffer.alloc(0), Buffer.alloc(100_000, 7), Buffer.from('z')];
    const h = xxh64Stream();
    for (const p of parts) h.update(p);
    expect(h.digest()).toBe(xxh64(Buffer.concat(parts)));
  });
});

describe('writeCheckpoint', () => {
  /** Records the size of every write to a .ckpt file. */
  class WriteSizes extends MemoryFileSystem {
    readonly sizes: number[] = [];
    override async open(path: string, mode: OpenMode): Promise<FileHandle> {
      const fh = await super.open(path, mode);
      if (!path.endsWith('.ckpt')) return fh;
      const sizes = this.sizes;
      return new Proxy(fh, {
        get(target, prop, receiver) {
          if (prop === 'writev') {
            return (buffers: Buffer[], position: number) => {
              sizes.push(buffers.reduce((n, b) => n + b.length, 0));
              return target.writev(buffers, position);
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    }
  }

  it('writes the file a slice at a time, and it decodes to what was given', async () => {
    const fs = new WriteSizes();
    for (const d of ['/d', '/d/tmp', '/d/checkpoints']) await fs.mkdir(d);
    await fs.writeFile('/d/checkpoints/000000000001.ckpt', Buffer.from('older'));
    const n = 20_000;
    await writeCheckpoint(fs, '/d', header, sources(n), uploads, configs);
    expect(fs.sizes.length).toBeGreaterThanOrEqual(Math.ceil(n / 2048));
    // No write holds more than one slice of rows (2,048 rows of ~70 bytes here).
    expect(Math.max(...fs.sizes)).toBeLessThan(2048 * 100);
    expect(await fs.readdir('/d/checkpoints')).toEqual(['000000000099.ckpt']);
    expect(await fs.readdir('/d/tmp')).toEqual([]);
    const bytes = await fs.readFile('/d/checkpoints/000000000099.ckpt');
    expect(bytes.equals(encodeCheckpoint(header, sources(n), uploads, configs))).toBe(true);
  });
});

describe('decodeCheckpointFrom (a window at a time)', () => {
  /** Every visitor call, as text. */
  function recorder(): { calls: string[]; visitor: CheckpointVisitor } {
    const calls: string[] = [];
    return {
      calls,
      visitor: {
        bucket: (b, n) => void calls.push(`bucket ${JSON.stringify(b)} ${n}`),
        object: (key, e) => void calls.push(`object ${key} ${JSON.stringify({ ...e, md5: e.md5.toString('hex') })}`),
        upload: (u) => void calls.push(`upload ${u.create.toString('hex')} ${u.parts.map((x) => x.toString('hex')).join(',')}`),
        config: (c) => void calls.push(`config ${c.toString('hex')}`),
      },
    };
  }
  function source(buf: Buffer, size = buf.length): { size: number; read: (b: Buffer, o: number, l: number, p: number) => Promise<number> } {
    return {
      size,
      read: async (b, o, l, p) => {
        const n = Math.max(0, Math.min(l, buf.length - p));
        buf.copy(b, o, p, p + n);
        return n;
      },
    };
  }
  /** Rows with long keys and version ids, a large upload and configs: parts of every kind cross windows. */
  function file(): Buffer {
    const rows: Array<[string, IndexEntry]> = Array.from({ length: 3_000 }, (_, i) => [
      `${'k'.repeat(i % 7 === 0 ? 1000 : 10)}/${String(i).padStart(6, '0')}/ключ`,
      entry(i, { versionId: i % 3 === 0 ? 'v'.repeat(200) : '' }),
    ]);
    const big = [{ create: Buffer.alloc(150_000, 1), parts: [Buffer.alloc(70_000, 2), Buffer.from('p2'), Buffer.alloc(0)] }, { create: Buffer.from('c'), parts: [] }];
    return encodeCheckpoint(header, [{ bucket: { name: 'b', createdMs: 1, region: 'r', flags: 0, seq: 1 }, objectCount: rows.length, objects: rows }, ...sources(10)], big, [Buffer.alloc(90_000, 3), Buffer.from('x')]);
  }

  it('makes the same calls as the one-buffer decoder, whatever the window', async () => {
    const f = file();
    const want = recorder();
    const h = decodeCheckpoint(f, want.visitor);
    for (const windowBytes of [56, 1_000, 64 * 1024, 1 << 20, 8 << 20]) {
      const got = recorder();
      expect(await decodeCheckpointFrom(source(f), got.visitor, windowBytes)).toEqual(h);
      expect(got.calls.length, `window ${windowBytes}`).toBe(want.calls.length);
      expect(got.calls, `window ${windowBytes}`).toEqual(want.calls);
    }
  });

  it('checks the hash before the visitor sees anything', async () => {
    const f = file();
    for (const at of [3, 60, Math.floor(f.length / 2), f.length - 20, f.length - 1]) {
      const flipped = Buffer.from(f);
      flipped[at] ^= 0x40;
      const got = recorder();
      await expect(decodeCheckpointFrom(source(flipped), got.visitor, 4096)).rejects.toThrow(at < 8 ? /magic/ : /checksum/);
      expect(got.calls, `flip at ${at}`).toEqual([]);
    }
  });

  it('refuses a file that ends before its stated size, and one too short to be a checkpoint', async () => {
    const f = file();
    await expect(decodeCheckpointFrom(source(f.subarray(0, f.length - 100), f.length), recorder().visitor, 4096)).rejects.toThrow(FormatError);
    await expect(decodeCheckpointFrom(source(f.subarray(0, 40)), recorder().visitor)).rejects.toThrow(/magic/);
  });
});
