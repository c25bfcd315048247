// Golden fixtures of docs/FORMAT.md §5. The committed bytes in test/fixtures/ are the reference: they
// are parsed here field by field following the FORMAT.md grammar (with an independent reader), then
// decoded with src/format and re-encoded, which must give the same bytes. The hex dump in FORMAT.md §5
// is compared with the fixture too, so the document, the code and the bytes cannot drift apart.
// Regenerate (after a deliberate format change only): SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden.test.ts
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { decodeCheckpoint, encodeCheckpoint, type IndexEntry } from '../src/format/checkpoint.js';
import { RecordType } from '../src/format/constants.js';
import { decodeFooterPayload, decodeTail, encodeFooterPayload, encodeTail } from '../src/format/footer.js';
import { decodeFrame, encodeFrame } from '../src/format/frame.js';
import { initHash, xxh64 } from '../src/format/hash.js';
import {
  decodeBucketCreate,
  decodeChunkMeta,
  decodeDelete,
  decodeManifest,
  encodeBucketCreate,
  encodeChunkMeta,
  encodeDelete,
  encodeManifest,
} from '../src/format/records.js';
import { decodeSegmentHeader, encodeSegmentHeader } from '../src/format/segment-header.js';
import { Cursor } from './helpers/cursor.js';
import { expectHotHeaderByHand, framesOf, parseFrameByHand } from './helpers/frame-by-hand.js';
import {
  buildExampleCheckpoint,
  buildExampleSegment,
  EXAMPLE_CREATED_MS,
  FIXTURE_CHECKPOINT,
  FIXTURE_SEGMENT,
  hexDump,
  writeFixtures,
} from './helpers/make-fixtures.js';

const fixturesDir = fileURLToPath(new URL('./fixtures', import.meta.url));
const formatDoc = fileURLToPath(new URL('../docs/FORMAT.md', import.meta.url));
const HELLO_MD5 = '5eb63bbbe01eeed093cb22bb8f5acdc3';
/** How much of the segment FORMAT.md §5 shows. */
const DOC_DUMP_BYTES = 208;

let seg: Buffer;
let ckpt: Buffer;

beforeAll(async () => {
  await initHash();
  if (process.env.SEDIMENT_WRITE_FIXTURES === '1') {
    await writeFixtures(fixturesDir);
    console.log(`fixtures rewritten; FORMAT.md §5 dump:\n${hexDump(buildExampleSegment().bytes, 0, DOC_DUMP_BYTES)}`);
  }
  seg = readFileSync(`${fixturesDir}/${FIXTURE_SEGMENT}`);
  ckpt = readFileSync(`${fixturesDir}/${FIXTURE_CHECKPOINT}`);
});

function hash8(buf: Buffer, start: number, end: number): bigint {
  return xxh64(buf.subarray(start, end));
}

describe('golden segment fixture (FORMAT.md §5)', () => {
  it('header (§2.1)', () => {
    expectHotHeaderByHand(seg, 1, EXAMPLE_CREATED_MS);
    expect(decodeSegmentHeader(seg.subarray(0, 64))).toEqual({ formatVersion: 1, tier: 0, segmentId: 1, createdMs: EXAMPLE_CREATED_MS });
  });

  it('record frames: types, offsets, lengths, flags (§2.2, §2.3)', () => {
    const frames = framesOf(seg);
    expect(frames.map((f) => f.type)).toEqual([RecordType.BUCKET_CREATE, RecordType.CHUNK, RecordType.COMMIT, RecordType.DELETE, RecordType.FOOTER]);
    expect(frames.map((f) => [f.offset, f.frameLen])).toEqual([
      [0x40, 55],
      [0x77, 51],
      [0xaa, 167],
      [0x151, 56],
      [0x189, 327],
    ]);
    for (const f of frames) {
      expect(f.flags).toBe(0); // metadata records and the raw chunk: codec 0
      expect(f.meta.length).toBe(f.type === RecordType.CHUNK ? 20 : 0);
      const d = decodeFrame(seg.subarray(f.offset, f.offset + f.frameLen));
      expect(d.type).toBe(f.type);
      expect(d.payload.equals(f.payload)).toBe(true);
    }
  });

  it('BUCKET_CREATE payload (§3.3)', () => {
    const f = framesOf(seg)[0];
    const c = new Cursor(f.payload);
    expect(c.u8()).toBe(1);
    expect(c.u64()).toBe(1);
    expect(c.str8()).toBe('photos');
    expect(c.f64()).toBe(EXAMPLE_CREATED_MS);
    expect(c.str8()).toBe('us-east-1');
    expect(c.u8()).toBe(0);
    expect(c.done).toBe(true);
    expect(decodeBucketCreate(f.payload)).toEqual({ seq: 1, name: 'photos', createdMs: EXAMPLE_CREATED_MS, region: 'us-east-1', flags: 0 });
  });

  it('CHUNK meta and raw payload (§2.3)', () => {
    const f = framesOf(seg)[1];
    const c = new Cursor(f.meta);
    expect(c.u64()).toBe(7); // uploadId
    expect(c.u32()).toBe(0); // partNumber
    expect(c.u32()).toBe(0); // chunkIndex
    expect(c.u32()).toBe(11); // rawLen
    expect(c.done).toBe(true);
    expect(f.payload.toString('utf8')).toBe('hello world');
    expect(decodeChunkMeta(f.meta)).toEqual({ uploadId: 7, partNumber: 0, chunkIndex: 0, rawLen: 11 });
  });

  it('COMMIT manifest (§3.1)', () => {
    const frames = framesOf(seg);
    const f = frames[2];
    const c = new Cursor(f.payload);
    expect(c.u8()).toBe(1); // version
    expect(c.u64()).toBe(2); // seq
    expect(c.str16()).toBe('photos');
    expect(c.str16()).toBe('greeting.txt');
    expect(c.str8()).toBe(''); // null version
    expect(c.u64()).toBe(7); // uploadId
    expect(c.f64()).toBe(EXAMPLE_CREATED_MS + 1000); // mtimeMs
    expect(c.u64()).toBe(11); // size
    expect(c.bytes(16).toString('hex')).toBe(HELLO_MD5);
    expect(c.u16()).toBe(0); // partCount
    expect(c.u8()).toBe(0); // storageClass STANDARD
    expect(c.u8()).toBe(0); // flags
    expect(c.str16()).toBe('text/plain');
    expect(c.u8()).toBe(0); // headerCount
    expect(c.u16()).toBe(1); // metaCount
    expect([c.str8(), c.str16()]).toEqual(['owner', 'ana']);
    expect(c.u8()).toBe(0); // checksumCount
    expect(c.u8()).toBe(0); // lockMode
    expect(c.f64()).toBe(0); // retainUntilMs
    expect(c.u8()).toBe(0); // legalHold
    expect(c.u16()).toBe(0); // tagCount
    expect(c.u32()).toBe(1); // chunkCount
    expect([c.u64(), c.u64(), c.u32(), c.u32()]).toEqual([1, frames[1].offset, frames[1].frameLen, 11]);
    expect(c.u32()).toBe(0); // partTableCount
    expect(c.done).toBe(true);
    const m = decodeManifest(f.payload);
    expect(m).toMatchObject({
      seq: 2, bucket: 'photos', key: 'greeting.txt', versionId: '', uploadId: 7, mtimeMs: EXAMPLE_CREATED_MS + 1000, size: 11,
      partCount: 0, storageClass: 0, flags: 0, contentType: 'text/plain', headers: [], userMetadata: [['owner', 'ana']],
      checksums: [], lockMode: 0, retainUntilMs: 0, legalHold: false, tags: [], parts: [],
      chunks: [{ segmentId: 1, offset: 0x77, frameLen: 51, rawLen: 11 }],
    });
    expect(m.md5.toString('hex')).toBe(HELLO_MD5);
  });

  it('DELETE payload (§3.2)', () => {
    const f = framesOf(seg)[3];
    const c = new Cursor(f.payload);
    expect(c.u8()).toBe(1);
    expect(c.u64()).toBe(3);
    expect(c.str16()).toBe('photos');
    expect(c.str16()).toBe('old.txt');
    expect(c.str8()).toBe('');
    expect(c.f64()).toBe(EXAMPLE_CREATED_MS + 2000);
    expect(c.u8()).toBe(0);
    expect(c.done).toBe(true);
    expect(decodeDelete(f.payload)).toEqual({ seq: 3, bucket: 'photos', key: 'old.txt', versionId: '', mtimeMs: EXAMPLE_CREATED_MS + 2000, flags: 0 });
  });

  it('FOOTER lists every record, with payload copies (§2.4)', () => {
    const frames = framesOf(seg);
    const footer = frames[4];
    const c = new Cursor(footer.payload);
    expect(c.u8()).toBe(1); // footer version
    expect(c.u32()).toBe(4); // recordCount
    for (const f of frames.slice(0, 4)) {
      expect(c.u8()).toBe(f.type);
      expect(c.u64()).toBe(f.offset);
      expect(c.u32()).toBe(f.frameLen);
      if (f.type === RecordType.CHUNK) {
        expect(c.bytes(20).equals(f.meta)).toBe(true);
      } else {
        const len = c.u32();
        expect(c.bytes(len).equals(f.payload)).toBe(true);
      }
    }
    expect(c.done).toBe(true);
    const entries = decodeFooterPayload(footer.payload);
    expect(entries.map((e) => [e.type, e.offset, e.frameLen])).toEqual(frames.slice(0, 4).map((f) => [f.type, f.offset, f.frameLen]));
    expect(entries[1].chunk).toEqual({ uploadId: 7, partNumber: 0, chunkIndex: 0, rawLen: 11 });
  });

  it('tail (§2.4) ends the file and points at the footer', () => {
    expect(seg.length).toBe(0x2e8);
    const tailAt = seg.length - 24;
    const c = new Cursor(seg, tailAt);
    expect(c.bytes(8).toString('hex')).toBe('534544454e440d0a');
    expect(c.u64()).toBe(0x189);
    expect(c.u64big()).toBe(hash8(seg, tailAt, tailAt + 16));
    expect(c.done).toBe(true);
    expect(decodeTail(seg.subarray(tailAt))).toBe(0x189);
    expect(0x189 + 327).toBe(tailAt);
  });

  it('re-encoding the decoded records gives identical bytes', () => {
    const h = decodeSegmentHeader(seg.subarray(0, 64));
    const parts: Buffer[] = [encodeSegmentHeader({ tier: h.tier, segmentId: h.segmentId, createdMs: h.createdMs })];
    const frames = framesOf(seg);
    const [bucketF, chunkF, commitF, deleteF, footerF] = frames;
    parts.push(encodeFrame(RecordType.BUCKET_CREATE, 0, Buffer.alloc(0), encodeBucketCreate(decodeBucketCreate(bucketF.payload))));
    parts.push(encodeFrame(RecordType.CHUNK, chunkF.flags, encodeChunkMeta(decodeChunkMeta(chunkF.meta)), Buffer.from(chunkF.payload)));
    parts.push(encodeFrame(RecordType.COMMIT, 0, Buffer.alloc(0), encodeManifest(decodeManifest(commitF.payload))));
    parts.push(encodeFrame(RecordType.DELETE, 0, Buffer.alloc(0), encodeDelete(decodeDelete(deleteF.payload))));
    parts.push(encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodeFooterPayload(decodeFooterPayload(footerF.payload))));
    parts.push(encodeTail(decodeTail(seg.subarray(seg.length - 24)) as number));
    expect(Buffer.concat(parts).equals(seg)).toBe(true);
  });

  it('the fixture generator still produces the committed bytes', () => {
    // If this fails but the tests above pass, the encoders changed in a way the fixture does not show.
    expect(buildExampleSegment().bytes.equals(seg)).toBe(true);
    expect(buildExampleCheckpoint().equals(ckpt)).toBe(true);
  });

  it('FORMAT.md §5 shows the real bytes', () => {
    const doc = readFileSync(formatDoc, 'utf8');
    const section = doc.slice(doc.indexOf('## 5. Worked example'));
    expect(section.length).toBeGreaterThan(0);
    const rows = [...section.matchAll(/^([0-9a-f]{4})  ((?:[0-9a-f]{2} ){7}[0-9a-f]{2})  ((?:[0-9a-f]{2} ){7}[0-9a-f]{2})/gm)];
    const shown = rows.map((r) => parseInt(r[1], 16));
    for (let at = 0; at < DOC_DUMP_BYTES; at += 16) expect(shown, `FORMAT.md §5 shows row ${at.toString(16)}`).toContain(at);
    expect(shown, 'FORMAT.md §5 shows the tail').toContain(0x2d0);
    for (const [, off, left, right] of rows) {
      const at = parseInt(off, 16);
      const bytes = Buffer.from(`${left} ${right}`.replace(/ /g, ''), 'hex');
      expect(bytes.toString('hex'), `FORMAT.md §5 row ${off}`).toBe(seg.subarray(at, at + 16).toString('hex'));
    }
    // The tail row is shorter than 16 bytes: check its 8 hex bytes separately.
    const tailRow = /^02e0  ((?:[0-9a-f]{2} ){7}[0-9a-f]{2})/m.exec(section);
    expect(tailRow, 'FORMAT.md §5 shows the tail hash row').not.toBeNull();
    if (tailRow) {
      expect(tailRow[1].replace(/ /g, '')).toBe(seg.subarray(0x2e0).toString('hex'));
    }
  });

  it('an engine opens a directory holding the fixture and serves its objects', async () => {
    for (const withCheckpoint of [false, true]) {
      const fs = new MemoryFileSystem();
      await fs.mkdir('/d/segments');
      await fs.mkdir('/d/checkpoints');
      await fs.writeFile('/d/FORMAT', Buffer.from('sediment-data-dir 1\n'));
      await fs.writeFile('/d/segments/000000000001.seg', seg);
      if (withCheckpoint) await fs.writeFile('/d/checkpoints/000000000003.ckpt', ckpt);
      const warnings: string[] = [];
      const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, onWarning: (m) => warnings.push(m) });
      try {
        // No damage; only the note that the hand-made directory (format below 5) was raised to 5.
        expect(warnings).toEqual([expect.stringMatching(/^data directory raised from format \d to 5 /)]);
        expect(e.listBuckets()).toEqual([{ name: 'photos', createdMs: EXAMPLE_CREATED_MS, region: 'us-east-1' }]);
        const list = e.listObjects('photos');
        expect(list.contents).toEqual([{ key: 'greeting.txt', size: 11, etag: HELLO_MD5, lastModifiedMs: EXAMPLE_CREATED_MS + 1000, storageClass: 'STANDARD' }]);
        const g = await e.getObject('photos', 'greeting.txt');
        expect(g.info).toMatchObject({ contentType: 'text/plain', userMetadata: { owner: 'ana' }, etag: HELLO_MD5, size: 11 });
        expect(await text(g.body)).toBe('hello world');
        expect(e.stats()).toMatchObject({ objects: 1, logicalBytes: 11, damage: [] });
        const v = await e.verify();
        expect(v.damage).toEqual([]);
        expect(v.damagedObjects).toEqual([]);
        // Segment 1 is sealed, so new writes go to segment 2 and the fixture file is untouched.
        expect(e.stats().activeSegmentId).toBe(2);
      } finally {
        await e.close();
      }
      expect((await fs.readFile('/d/segments/000000000001.seg')).equals(seg)).toBe(true);
    }
  });
});

describe('golden checkpoint fixture (FORMAT.md §4)', () => {
  it('every field, by hand', () => {
    const c = new Cursor(ckpt);
    expect(c.bytes(8).toString('latin1')).toBe('SEDCKPT\n');
    expect(c.u16()).toBe(1); // version
    expect(c.u16()).toBe(0);
    expect(c.u32()).toBe(0);
    expect(c.u64()).toBe(3); // seq
    expect(c.u64()).toBe(2); // replaySegmentId
    expect(c.u64()).toBe(64); // replayOffset
    expect(c.f64()).toBe(EXAMPLE_CREATED_MS + 3000);
    expect(c.u32()).toBe(1); // bucketCount
    expect(c.str8()).toBe('photos');
    expect(c.f64()).toBe(EXAMPLE_CREATED_MS);
    expect(c.str8()).toBe('us-east-1');
    expect(c.u8()).toBe(0); // flags
    expect(c.u64()).toBe(1); // bucketSeq
    expect(c.u32()).toBe(1); // objectCount
    expect(c.str16()).toBe('greeting.txt');
    expect(c.str8()).toBe(''); // versionId
    expect(c.u64()).toBe(2); // seq
    expect(c.u64()).toBe(1); // segmentId
    expect(c.u64()).toBe(0xaa); // commitOffset
    expect(c.u32()).toBe(167); // commitLen
    expect(c.u64()).toBe(11); // size
    expect(c.f64()).toBe(EXAMPLE_CREATED_MS + 1000);
    expect(c.bytes(16).toString('hex')).toBe(HELLO_MD5);
    expect(c.u16()).toBe(0); // partCount
    expect(c.u8()).toBe(0); // storageClass
    expect(c.u8()).toBe(0); // flags
    expect(c.u32()).toBe(0); // uploadCount
    expect(c.u64big()).toBe(hash8(ckpt, 0, ckpt.length - 8));
    expect(c.done).toBe(true);
  });

  it('decodes with src/format and re-encodes to identical bytes', () => {
    const buckets: Array<{ b: unknown; count: number; objects: Array<[string, IndexEntry]> }> = [];
    const header = decodeCheckpoint(ckpt, {
      bucket: (b, count) => buckets.push({ b, count, objects: [] }),
      object: (key, e) => buckets[buckets.length - 1].objects.push([key, { ...e, md5: Buffer.from(e.md5) }]),
      upload: () => {
        throw new Error('the fixture has no open uploads');
      },
    });
    expect(header).toEqual({ seq: 3, replaySegmentId: 2, replayOffset: 64, createdMs: EXAMPLE_CREATED_MS + 3000 });
    expect(buckets).toHaveLength(1);
    expect(buckets[0].objects[0][1]).toMatchObject({ seq: 2, segmentId: 1, commitOffset: 0xaa, commitLen: 167, size: 11, versionId: '' });
    const again = encodeCheckpoint(
      header,
      buckets.map((x) => ({ bucket: x.b as never, objectCount: x.count, objects: x.objects })),
      [],
    );
    expect(again.equals(ckpt)).toBe(true);
  });

  it('the checkpoint points at the COMMIT record of the segment fixture', () => {
    const entries: Array<[string, IndexEntry]> = [];
    decodeCheckpoint(ckpt, {
      bucket: () => undefined,
      object: (key, e) => entries.push([key, { ...e, md5: Buffer.from(e.md5) }]),
      upload: () => undefined,
    });
    expect(entries).toHaveLength(1);
    const [key, e] = entries[0];
    const f = decodeFrame(seg.subarray(e.commitOffset, e.commitOffset + e.commitLen));
    expect(f.type).toBe(RecordType.COMMIT);
    const m = decodeManifest(f.payload);
    expect(m.key).toBe(key);
    expect(m.size).toBe(e.size);
    expect(m.md5.equals(e.md5)).toBe(true);
    expect(createHash('md5').update('hello world').digest('hex')).toBe(HELLO_MD5); // the fixture's object is "hello world"
  });
});

