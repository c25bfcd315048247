// Golden fixture of a compaction pack (docs/FORMAT.md §2.5): test/fixtures/example-v1.pack is the
// example segment of §5 compacted into pack 2. Parsed by hand following the grammar, decoded with
// src/format and re-encoded to the same bytes, and opened by an engine with the §4 checkpoint fixture
// (which addresses the object by its origin in segment 1, a file that no longer exists).
// Regenerate (after a deliberate format change only): SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden-pack.test.ts
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { RecordType } from '../src/format/constants.js';
import { decodeTail } from '../src/format/footer.js';
import { decodeFrame } from '../src/format/frame.js';
import { initHash, xxh64 } from '../src/format/hash.js';
import { decodePackFooter, encodePackFooter } from '../src/format/pack-footer.js';
import { decodeSegmentHeader, encodeSegmentHeader } from '../src/format/segment-header.js';
import { Cursor } from './helpers/cursor.js';
import { FIXTURE_CHECKPOINT, FIXTURE_SEGMENT } from './helpers/make-fixtures.js';
import { buildExamplePack, FIXTURE_PACK, PACK_ID, writePackFixture } from './helpers/make-pack-fixture.js';

const fixturesDir = fileURLToPath(new URL('./fixtures', import.meta.url));
let pack: Buffer;
let seg: Buffer;
let ckpt: Buffer;

beforeAll(async () => {
  await initHash();
  if (process.env.SEDIMENT_WRITE_FIXTURES === '1') await writePackFixture(fixturesDir);
  pack = readFileSync(`${fixturesDir}/${FIXTURE_PACK}`);
  seg = readFileSync(`${fixturesDir}/${FIXTURE_SEGMENT}`);
  ckpt = readFileSync(`${fixturesDir}/${FIXTURE_CHECKPOINT}`);
});

describe('golden pack fixture (FORMAT.md §2.5)', () => {
  it('header, verbatim records, pack footer with inputs and origins, tail — by hand', () => {
    expect(decodeSegmentHeader(pack.subarray(0, 64)).segmentId).toBe(PACK_ID);
    // Tail → footer offset.
    const tail = pack.subarray(pack.length - 24);
    expect(tail.subarray(0, 8).toString('latin1')).toBe('SEDEND\r\n');
    const footerOffset = Number(tail.readBigUInt64LE(8));
    expect(decodeTail(tail)).toBe(footerOffset);
    // The records are the example segment's BUCKET_CREATE, CHUNK, COMMIT, byte for byte (its DELETE dropped).
    const copied = [[0x40, 55], [0x77, 51], [0xaa, 167]];
    let at = 64;
    for (const [origin, len] of copied) {
      expect(pack.subarray(at, at + len).equals(seg.subarray(origin, origin + len)), `record from ${origin}`).toBe(true);
      at += len;
    }
    expect(at).toBe(footerOffset);
    // FOOTER frame (type 15) whose payload is the pack footer, version 2.
    const c = new Cursor(pack, footerOffset);
    expect(c.bytes(4).toString('latin1')).toBe('SREC');
    const frameLen = c.u32();
    expect(footerOffset + frameLen + 24).toBe(pack.length);
    expect(c.u8()).toBe(RecordType.FOOTER);
    expect(c.u8()).toBe(0);
    expect(c.u16()).toBe(0);
    expect(c.u8()).toBe(2); // pack footer version
    expect(c.u32()).toBe(1); // one input …
    expect(c.u64()).toBe(1); // … segment 1
    expect(c.u32()).toBe(3); // three records
    const want = [
      { type: RecordType.BUCKET_CREATE, offset: 64, frameLen: 55, origin: 0x40 },
      { type: RecordType.CHUNK, offset: 119, frameLen: 51, origin: 0x77 },
      { type: RecordType.COMMIT, offset: 170, frameLen: 167, origin: 0xaa },
    ];
    for (const w of want) {
      expect([c.u8(), c.u64(), c.u32(), c.u64(), c.u64(), c.u8()]).toEqual([w.type, w.offset, w.frameLen, 1, w.origin, 0]);
      if (w.type === RecordType.CHUNK) c.bytes(20);
      else c.bytes(c.u32());
    }
    expect(c.u64big()).toBe(xxh64(pack.subarray(footerOffset, footerOffset + frameLen - 8)));
  });

  it('decodes with src/format and re-encodes to identical bytes; the generator still gives them', () => {
    const footerOffset = Number(pack.readBigUInt64LE(pack.length - 16));
    const frame = decodeFrame(pack.subarray(footerOffset, pack.length - 24));
    const f = decodePackFooter(Buffer.from(frame.payload));
    expect(f.inputs).toEqual([1]);
    expect(f.entries.map((e) => [e.originSegmentId, e.originOffset, e.offset])).toEqual([[1, 0x40, 64], [1, 0x77, 119], [1, 0xaa, 170]]);
    expect(encodePackFooter(f).equals(Buffer.from(frame.payload))).toBe(true);
    expect(buildExamplePack().bytes.equals(pack)).toBe(true);
  });

  it('an engine opens it, with and without the checkpoint, and serves the object by its origin', async () => {
    for (const withCheckpoint of [false, true]) {
      const fs = new MemoryFileSystem();
      await fs.mkdir('/d/segments');
      await fs.mkdir('/d/checkpoints');
      await fs.writeFile('/d/FORMAT', Buffer.from('sediment-data-dir 1\n'));
      await fs.writeFile('/d/segments/000000000002.pack', pack);
      if (withCheckpoint) await fs.writeFile('/d/checkpoints/000000000003.ckpt', ckpt);
      const warnings: string[] = [];
      const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, onWarning: (m) => warnings.push(m) });
      try {
        // No damage; only the note that the hand-made directory (format below 5) was raised to 5.
        expect(warnings).toEqual([expect.stringMatching(/^data directory raised from format \d to 5 /)]);
        expect(await text((await e.getObject('photos', 'greeting.txt')).body)).toBe('hello world');
        await expect(e.headObject('photos', 'old.txt')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
        const v = await e.verify();
        expect([v.damage, v.damagedObjects]).toEqual([[], []]);
        expect(e.stats().activeSegmentId).toBe(3); // ids stay unique across .seg and .pack
      } finally {
        await e.close();
      }
    }
  });

  it('next to its input, the pack wins and the input is removed at open (a pass killed before its unlink)', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/d/segments');
    await fs.writeFile('/d/FORMAT', Buffer.from('sediment-data-dir 1\n'));
    await fs.writeFile('/d/segments/000000000001.seg', seg);
    await fs.writeFile('/d/segments/000000000002.pack', pack);
    // The active segment the writer had moved on to (an input is never the newest log segment).
    await fs.writeFile('/d/segments/000000000003.seg', encodeSegmentHeader({ tier: 0, segmentId: 3, createdMs: 1 }));
    const warnings: string[] = [];
    const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, onWarning: (m) => warnings.push(m) });
    try {
      expect(warnings.join('\n')).toMatch(/removing 000000000001\.seg: replaced by a compaction pack/);
      expect(await fs.readdir('/d/segments')).not.toContain('000000000001.seg');
      expect(await text((await e.getObject('photos', 'greeting.txt')).body)).toBe('hello world');
    } finally {
      await e.close();
    }
  });
});
