// Builds the golden fixtures of the hot tier's dictionaries (docs/FORMAT.md §2.7):
//   example-v1.zdict  dictionary file 1 of bucket "logs" (a few fixed log lines as raw-content dictionary)
//   example-dict.seg  sealed hot log segment 1: BUCKET_CREATE "logs", one CHUNK of three log lines
//                     compressed with that dictionary (codec 3), the COMMIT of logs/app.log, FOOTER, tail.
// The golden test decodes the COMMITTED files and never calls this to produce what it checks; this module
// only exists so that a deliberate format change can regenerate them:
//
//   SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden-dict.test.ts
//
// (zstd output may differ between zstd versions; the test never recompresses, so the committed fixture
// stays valid — and keeps pinning what existing data directories hold — when zstd changes.)
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { buildChunkFrame } from '../../src/engine/chunk-codec.js';
import { CODEC_MASK, CODEC_ZSTD_DATA_DICT, RecordType, SEGMENT_HEADER_BYTES, TIER_HOT } from '../../src/format/constants.js';
import { dictCheck, encodeDictionaryFile, type DictionaryFile } from '../../src/format/dictionary-file.js';
import { encodeFooterPayload, encodeTail, type FooterEntry } from '../../src/format/footer.js';
import { encodeFrame } from '../../src/format/frame.js';
import { initHash } from '../../src/format/hash.js';
import { encodeBucketCreate, encodeManifest, type BucketCreateRecord, type ChunkMeta, type ObjectManifest } from '../../src/format/records.js';
import { encodeSegmentHeader } from '../../src/format/segment-header.js';

export const FIXTURE_DICT = 'example-v1.zdict';
export const FIXTURE_DICT_SEGMENT = 'example-dict.seg';
export const DICT_ID = 1;
export const DICT_BUCKET = 'logs';
export const DICT_KEY = 'app.log';
/** Segment 1 and bucket "logs" are created at this time; the dictionary 20 s later, the object 21 s later. */
export const DICT_SEGMENT_CREATED_MS = 1_700_000_180_000;
export const DICT_CREATED_MS = 1_700_000_200_000;
export const DICT_OBJECT_MTIME_MS = 1_700_000_201_000;
/** uploadId of the PUT that wrote logs/app.log (its CHUNK meta and its COMMIT). */
export const DICT_UPLOAD_ID = 9;
/** The hot tier's default zstd level. */
export const DICT_LEVEL = 1;

/** The dictionary's content: fixed log lines, a raw-content zstd dictionary. */
export const DICT_CONTENT = Buffer.from(
  '2023-11-14T22:16:40Z api-01 INFO  GET /v2/orders/1001 status=200 bytes=512 dur=3ms ua="Mozilla/5.0 (X11; Linux x86_64)"\n' +
    '2023-11-14T22:16:41Z api-02 INFO  GET /v2/users/77 status=200 bytes=388 dur=2ms ua="curl/8.5.0"\n' +
    '2023-11-14T22:16:42Z api-01 WARN  POST /v2/orders status=429 bytes=64 dur=1ms ua="python-requests/2.31.0"\n' +
    '2023-11-14T22:16:43Z api-03 INFO  GET /v2/orders/1002 status=304 bytes=0 dur=1ms ua="Mozilla/5.0 (X11; Linux x86_64)"\n' +
    '2023-11-14T22:16:44Z api-02 ERROR GET /v2/users/78 status=500 bytes=97 dur=41ms ua="curl/8.5.0"\n',
  'utf8',
);

/** The object logs/app.log: three log lines like the dictionary's. */
export const DICT_RAW = Buffer.from(
  '2023-11-14T22:16:45Z api-01 INFO  GET /v2/orders/1003 status=200 bytes=514 dur=4ms ua="Mozilla/5.0 (X11; Linux x86_64)"\n' +
    '2023-11-14T22:16:46Z api-02 INFO  GET /v2/users/79 status=200 bytes=391 dur=2ms ua="curl/8.5.0"\n' +
    '2023-11-14T22:16:47Z api-03 WARN  POST /v2/orders status=429 bytes=64 dur=1ms ua="python-requests/2.31.0"\n',
  'utf8',
);

export const exampleDictFile: DictionaryFile = { id: DICT_ID, createdMs: DICT_CREATED_MS, bucket: DICT_BUCKET, content: DICT_CONTENT };
export const dictBucket: BucketCreateRecord = { seq: 1, name: DICT_BUCKET, createdMs: DICT_SEGMENT_CREATED_MS, region: 'us-east-1', flags: 0 };
export const dictChunkMeta: ChunkMeta = { uploadId: DICT_UPLOAD_ID, partNumber: 0, chunkIndex: 0, rawLen: DICT_RAW.length };

/** The manifest of logs/app.log, given where its chunk frame landed. */
export function dictObjectManifest(chunkOffset: number, chunkFrameLen: number): ObjectManifest {
  return {
    seq: 2, bucket: DICT_BUCKET, key: DICT_KEY, versionId: '', uploadId: DICT_UPLOAD_ID, mtimeMs: DICT_OBJECT_MTIME_MS,
    size: DICT_RAW.length, md5: createHash('md5').update(DICT_RAW).digest(), partCount: 0, storageClass: 0, flags: 0,
    contentType: 'text/plain', headers: [], userMetadata: [], checksums: [], lockMode: 0,
    retainUntilMs: 0, legalHold: false, tags: [],
    chunks: [{ segmentId: 1, offset: chunkOffset, frameLen: chunkFrameLen, rawLen: DICT_RAW.length }], parts: [],
  };
}

/** Requires `await initHash()` first. */
export function buildExampleDictFile(): Buffer {
  return encodeDictionaryFile(exampleDictFile);
}

/** The codec-3 CHUNK frame of logs/app.log, as the engine frames a small chunk of a bucket with a dictionary. */
export function buildDictChunkFrame(): Buffer {
  const frame = buildChunkFrame(DICT_RAW, dictChunkMeta, DICT_LEVEL, { id: DICT_ID, check: dictCheck(DICT_CONTENT), content: DICT_CONTENT });
  if ((frame[9]! & CODEC_MASK) !== CODEC_ZSTD_DATA_DICT) throw new Error('the example chunk did not come out as codec 3: change DICT_RAW or DICT_CONTENT');
  return Buffer.from(frame);
}

export interface DictSegment {
  bytes: Buffer;
  /** Offsets and lengths of BUCKET_CREATE, CHUNK, COMMIT and FOOTER. */
  frames: Array<{ type: number; offset: number; frameLen: number }>;
  footerOffset: number;
  tailOffset: number;
}

/**
 * Segment 1 around `chunkFrame` (default: compressed now). The test passes the fixture's own chunk frame,
 * so everything but zstd's output is rebuilt from the encoders and must give the committed bytes.
 * Requires `await initHash()` first.
 */
export function buildExampleDictSegment(chunkFrame: Buffer = buildDictChunkFrame()): DictSegment {
  const parts: Buffer[] = [encodeSegmentHeader({ tier: TIER_HOT, segmentId: 1, createdMs: DICT_SEGMENT_CREATED_MS })];
  const entries: FooterEntry[] = [];
  let at = SEGMENT_HEADER_BYTES;
  const add = (type: number, frame: Buffer, entry: Pick<FooterEntry, 'chunk' | 'payload'>): { offset: number; frameLen: number } => {
    const offset = at;
    parts.push(frame);
    entries.push({ type, offset, frameLen: frame.length, ...entry });
    at += frame.length;
    return { offset, frameLen: frame.length };
  };
  const bucketPayload = encodeBucketCreate(dictBucket);
  add(RecordType.BUCKET_CREATE, encodeFrame(RecordType.BUCKET_CREATE, 0, Buffer.alloc(0), bucketPayload), { payload: bucketPayload });
  const chunk = add(RecordType.CHUNK, chunkFrame, { chunk: dictChunkMeta });
  const commitPayload = encodeManifest(dictObjectManifest(chunk.offset, chunk.frameLen));
  add(RecordType.COMMIT, encodeFrame(RecordType.COMMIT, 0, Buffer.alloc(0), commitPayload), { payload: commitPayload });
  const footerOffset = at;
  const footer = encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodeFooterPayload(entries));
  parts.push(footer, encodeTail(footerOffset));
  return {
    bytes: Buffer.concat(parts),
    frames: [...entries.map((e) => ({ type: e.type, offset: e.offset, frameLen: e.frameLen })), { type: RecordType.FOOTER, offset: footerOffset, frameLen: footer.length }],
    footerOffset,
    tailOffset: footerOffset + footer.length,
  };
}

/** Writes both fixtures into `dir` (test/fixtures). */
export async function writeDictFixtures(dir: string): Promise<void> {
  await initHash();
  writeFileSync(`${dir}/${FIXTURE_DICT}`, buildExampleDictFile());
  writeFileSync(`${dir}/${FIXTURE_DICT_SEGMENT}`, buildExampleDictSegment().bytes);
}
