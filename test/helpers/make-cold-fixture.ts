// Builds the golden cold-segment fixture of docs/FORMAT.md §2.6: cold segment 1 holding a raw DICT
// record, the 11-byte chunk `hello world` stored raw (codec 0) and one log-text chunk compressed with the
// dictionary (codec 2). Only used to regenerate the committed file after a deliberate format change:
//
//   SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden-cold.test.ts
//
// (zstd output may differ between zstd versions; the test decodes the committed bytes and never
// recompresses, so the fixture stays valid when zstd changes.)
import { writeFileSync } from 'node:fs';
import zstd from 'zstd-napi';
import { encodeColdSegment } from '../../src/format/cold-segment.js';
import { CODEC_RAW, CODEC_ZSTD_DICT, RecordType } from '../../src/format/constants.js';
import { encodeFrame } from '../../src/format/frame.js';
import { encodeChunkMeta } from '../../src/format/records.js';

export const FIXTURE_COLD = 'example-v1.cold';
export const COLD_ID = 1;
export const COLD_CREATED_MS = 1_700_000_120_000;
export const COLD_DICT = Buffer.from(
  '2023-11-14T22:13:20Z web-01 GET /api/v1/orders/ 200 512 3ms "Mozilla/5.0 (X11; Linux x86_64)"\n' +
    '2023-11-14T22:13:21Z web-02 GET /api/v1/users/ 200 388 2ms "curl/8.5.0"\n',
);
export const COLD_HELLO = Buffer.from('hello world');
export const COLD_LOG = Buffer.from(
  '2023-11-14T22:15:00Z web-01 GET /api/v1/orders/17 200 512 4ms "Mozilla/5.0 (X11; Linux x86_64)"\n' +
    '2023-11-14T22:15:01Z web-02 GET /api/v1/users/99 200 388 2ms "curl/8.5.0"\n' +
    '2023-11-14T22:15:02Z web-01 GET /api/v1/orders/18 304 0 1ms "Mozilla/5.0 (X11; Linux x86_64)"\n',
);

/** Requires `await initHash()` first. */
export function buildExampleCold(): Buffer {
  const c = new zstd.Compressor();
  c.setParameters({ compressionLevel: 19, checksumFlag: true });
  c.loadDictionary(COLD_DICT);
  const hello = encodeFrame(RecordType.CHUNK, CODEC_RAW, encodeChunkMeta({ uploadId: 7, partNumber: 0, chunkIndex: 0, rawLen: COLD_HELLO.length }), COLD_HELLO);
  const log = encodeFrame(RecordType.CHUNK, CODEC_ZSTD_DICT, encodeChunkMeta({ uploadId: 8, partNumber: 0, chunkIndex: 0, rawLen: COLD_LOG.length }), c.compress(COLD_LOG));
  return encodeColdSegment(COLD_ID, COLD_CREATED_MS, [hello, log], { payload: COLD_DICT, codec: CODEC_RAW }).bytes;
}

export function writeColdFixture(dir: string): void {
  writeFileSync(`${dir}/${FIXTURE_COLD}`, buildExampleCold());
}
