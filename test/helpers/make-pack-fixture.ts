// Builds the golden pack fixture of docs/FORMAT.md §2.5: the example segment of §5 (segment 1)
// compacted into pack 2. Its BUCKET_CREATE, CHUNK and COMMIT are live and copied verbatim; its DELETE
// of photos/old.txt is dropped (no older record of that key exists anywhere). Like make-fixtures.ts,
// only used to regenerate the committed file after a deliberate change:
//
//   SEDIMENT_WRITE_FIXTURES=1 npx vitest run test/format-golden-pack.test.ts
import { writeFileSync } from 'node:fs';
import { RecordType, SEGMENT_HEADER_BYTES, TIER_HOT } from '../../src/format/constants.js';
import { encodeTail } from '../../src/format/footer.js';
import { encodeFrame } from '../../src/format/frame.js';
import { initHash } from '../../src/format/hash.js';
import { encodePackFooter, type PackEntry } from '../../src/format/pack-footer.js';
import { decodeChunkMeta } from '../../src/format/records.js';
import { decodeFrame } from '../../src/format/frame.js';
import { encodeSegmentHeader } from '../../src/format/segment-header.js';
import { buildExampleSegment, EXAMPLE_CREATED_MS } from './make-fixtures.js';

export const FIXTURE_PACK = 'example-v1.pack';
export const PACK_ID = 2;

/** Requires `await initHash()` first. */
export function buildExamplePack(): { bytes: Buffer; entries: PackEntry[]; footerOffset: number } {
  const seg = buildExampleSegment();
  const parts: Buffer[] = [encodeSegmentHeader({ tier: TIER_HOT, segmentId: PACK_ID, createdMs: EXAMPLE_CREATED_MS + 60_000 })];
  const entries: PackEntry[] = [];
  let at = SEGMENT_HEADER_BYTES;
  for (const f of seg.frames.filter((x) => x.type !== RecordType.DELETE)) {
    const frame = seg.bytes.subarray(f.offset, f.offset + f.frameLen);
    const d = decodeFrame(frame);
    parts.push(frame);
    entries.push({
      type: f.type, offset: at, frameLen: f.frameLen, originSegmentId: 1, originOffset: f.offset, damaged: false,
      ...(f.type === RecordType.CHUNK ? { chunk: decodeChunkMeta(d.meta) } : { payload: Buffer.from(d.payload) }),
    });
    at += f.frameLen;
  }
  const footer = encodeFrame(RecordType.FOOTER, 0, Buffer.alloc(0), encodePackFooter({ inputs: [1], entries }));
  parts.push(footer, encodeTail(at));
  return { bytes: Buffer.concat(parts), entries, footerOffset: at };
}

export async function writePackFixture(dir: string): Promise<void> {
  await initHash();
  writeFileSync(`${dir}/${FIXTURE_PACK}`, buildExamplePack().bytes);
}
