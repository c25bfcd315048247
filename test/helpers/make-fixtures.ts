// Builds the golden fixtures of docs/FORMAT.md §5 from the format encoders. The golden test decodes the
// COMMITTED files in test/fixtures/ and never calls this to produce what it checks; this module only
// exists so that a deliberate format change can regenerate them:
//
//   SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden.test.ts
//
// then review the binary diff and update FORMAT.md §5 (the test prints the hex dump it expects there).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { encodeCheckpoint } from '../../src/format/checkpoint.js';
import { CODEC_RAW, RecordType, SEGMENT_HEADER_BYTES, TIER_HOT } from '../../src/format/constants.js';
import { encodeFooterPayload, encodeTail, type FooterEntry } from '../../src/format/footer.js';
import { encodeFrame } from '../../src/format/frame.js';
import { initHash } from '../../src/format/hash.js';
import {
  encodeBucketCreate,
  encodeChunkMeta,
  encodeDelete,
  encodeManifest,
  type BucketCreateRecord,
  type ChunkMeta,
  type DeleteRecord,
  type ObjectManifest,
} from '../../src/format/records.js';
import { encodeSegmentHeader } from '../../src/format/segment-header.js';

export const FIXTURE_SEGMENT = 'example-v1.seg';
export const FIXTURE_CHECKPOINT = 'example-v1.ckpt';
/** 2023-11-14T22:13:20Z: every timestamp of the example is this plus a few seconds. */
export const EXAMPLE_CREATED_MS = 1_700_000_000_000;
export const HELLO = Buffer.from('hello world', 'utf8');

export const exampleBucket: BucketCreateRecord = { seq: 1, name: 'photos', createdMs: EXAMPLE_CREATED_MS, region: 'us-east-1', flags: 0 };
export const exampleChunk: ChunkMeta = { uploadId: 7, partNumber: 0, chunkIndex: 0, rawLen: HELLO.length };
export const exampleDelete: DeleteRecord = { seq: 3, bucket: 'photos', key: 'old.txt', versionId: '', mtimeMs: EXAMPLE_CREATED_MS + 2000, flags: 0 };

/** The manifest of photos/greeting.txt, given where its chunk frame landed. */
export function exampleManifest(chunkOffset: number, chunkFrameLen: number): ObjectManifest {
  return {
    seq: 2, bucket: 'photos', key: 'greeting.txt', versionId: '', uploadId: 7, mtimeMs: EXAMPLE_CREATED_MS + 1000,
    size: HELLO.length, md5: createHash('md5').update(HELLO).digest(), partCount: 0, storageClass: 0, flags: 0,
    contentType: 'text/plain', headers: [], userMetadata: [['owner', 'ana']], checksums: [], lockMode: 0,
    retainUntilMs: 0, legalHold: false, tags: [],
    chunks: [{ segmentId: 1, offset: chunkOffset, frameLen: chunkFrameLen, rawLen: HELLO.length }], parts: [],
  };
}

export interface ExampleSegment {
  bytes: Buffer;
  /** Offsets and lengths of the four records, the footer frame and the tail. */
  frames: Array<{ type: number; offset: number; frameLen: number }>;
  footerOffset: number;
  footerLen: number;
  tailOffset: number;
}

/** Requires `await initHash()` first. */
export function buildExampleSegment(): ExampleSegment {
  const header = encodeSegmentHeader({ tier: TIER_HOT, segmentId: 1, createdMs: EXAMPLE_CREATED_MS });
  const parts: Buffer[] = [header];
  const entries: FooterEntry[] = [];
  let at = SEGMENT_HEADER_BYTES;
  const add = (type: number, frame: Buffer, entry: Omit<FooterEntry, 'offset' | 'frameLen' | 'type'>): { offset: number; frameLen: number } => {
    const offset = at;
    parts.push(frame);
    entries.push({ type, offset, frameLen: frame.length, ...entry });
    at += frame.length;
    return { offset, frameLen: frame.length };
  };
  const bucketPayload = encodeBucketCreate(exampleBucket);
  add(RecordType.BUCKET_CREATE, encodeFrame(RecordType.BUCKET_CREATE, 0, Buffer.alloc(0), bucketPayload), { payload: bucketPayload });
  const chunk = add(RecordType.CHUNK, encodeFrame(RecordType.CHUNK, CODEC_RAW, encodeChunkMeta(exampleChunk), HELLO), { chunk: exampleChunk });
  const commitPayload = encodeManifest(exampleManifest(chunk.offset, chunk.frameLen));
  add(RecordType.COMMIT, encodeFrame(RecordType.COMMIT, 0, Buffer.alloc(0), commitPayload), { payload: commitPayload });
  const deletePayload = encodeDelete(exampleDelete);
  add(RecordType.DELETE, encodeFrame(RecordType.DELETE, 0, Buffer.alloc(0), deletePayload), { payload: deletePayload });
  const footerOffset = at;
  const footer = encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodeFooterPayload(entries));
  const tail = encodeTail(footerOffset);
  parts.push(footer, tail);
  return {
    bytes: Buffer.concat(parts),
    frames: entries.map((e) => ({ type: e.type, offset: e.offset, frameLen: e.frameLen })),
    footerOffset,
    footerLen: footer.length,
    tailOffset: footerOffset + footer.length,
  };
}

/** The checkpoint an engine would write right after the example segment: seq 3, replay from segment 2. */
export function buildExampleCheckpoint(): Buffer {
  const seg = buildExampleSegment();
  const commit = seg.frames[2];
  const m = exampleManifest(seg.frames[1].offset, seg.frames[1].frameLen);
  return encodeCheckpoint(
    { seq: 3, replaySegmentId: 2, replayOffset: SEGMENT_HEADER_BYTES, createdMs: EXAMPLE_CREATED_MS + 3000 },
    [
      {
        bucket: { name: 'photos', createdMs: EXAMPLE_CREATED_MS, region: 'us-east-1', flags: 0, seq: 1 },
        objectCount: 1,
        objects: [[
          'greeting.txt',
          {
            seq: 2, segmentId: 1, commitOffset: commit.offset, commitLen: commit.frameLen, size: m.size, mtimeMs: m.mtimeMs,
            md5: m.md5, partCount: 0, storageClass: 0, flags: 0, versionId: '',
          },
        ]],
      },
    ],
    [],
  );
}

/** Writes both fixtures into `dir` (test/fixtures). */
export async function writeFixtures(dir: string): Promise<void> {
  await initHash();
  writeFileSync(`${dir}/${FIXTURE_SEGMENT}`, buildExampleSegment().bytes);
  writeFileSync(`${dir}/${FIXTURE_CHECKPOINT}`, buildExampleCheckpoint());
}

/** Classic `offset  16 hex bytes  ascii` dump, as used in FORMAT.md §5. */
export function hexDump(buf: Buffer, from = 0, to = buf.length): string {
  const lines: string[] = [];
  for (let at = from - (from % 16); at < to; at += 16) {
    const row = buf.subarray(at, Math.min(at + 16, to));
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(4, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  ${ascii}`);
  }
  return lines.join('\n');
}
