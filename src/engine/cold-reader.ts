// Reads object bytes from cold segments (docs/FORMAT.md §2.6) for GET: one ranged read of the chunk's frame
// from the cold store, its xxh64 checked, then decompressed (large zstd chunks in the GET worker pool; a
// dictionary chunk here, with the segment's DICT record fetched once and cached). Wrong bytes are never
// returned: any mismatch is a CorruptionError. An unreachable store is SEDIMENT_COLD_UNAVAILABLE (the S3
// front answers 503) — never "no such key". The engine knows the store only through ColdSource (the
// S3 client lives in src/s3, the local directory store in src/tier: both satisfy it).
import { coldSegmentName } from '../format/cold-segment.js';
import { CODEC_MASK, CODEC_ZSTD, CODEC_ZSTD_DICT, FRAME_HEADER_BYTES, RecordType, SEGMENT_HEADER_BYTES } from '../format/constants.js';
import { parseFrameHeader } from '../format/frame.js';
import { decodeChunkMeta, type ChunkRef } from '../format/records.js';
import { CorruptionError, SedimentError, isSedimentError } from '../util/errors.js';
import { PinCounts } from '../util/pin-counts.js';
import type { ChunkPool } from './chunk-pool.js';
import { openColdChunkFrame, openDictFrame } from './cold-codec.js';
import { verifyFrame } from './segment-store.js';

/** What the engine needs of a cold store (src/tier/cold-store.ts ColdStore is one). */
export interface ColdSource {
  readonly description: string;
  readRange(name: string, offset: number, length: number): Promise<Buffer>;
}

const DICT_CACHE_MAX = 64;

export class ColdReader {
  private readonly dicts = new Map<number, Promise<Buffer | undefined>>();
  private readonly reading = new Map<number, number>();
  /** GET streams reading from a cold segment, by segment id: held from the stream's start to its end. */
  private readonly pins = new PinCounts();

  constructor(
    readonly source: ColdSource | undefined,
    private readonly pool: ChunkPool,
  ) {}

  /**
   * True while some read of cold segment `id` is in flight or some GET stream that will read from it is
   * open (cold garbage collection leaves it alone then; a later pass deletes it).
   */
  busy(id: number): boolean {
    return (this.reading.get(id) ?? 0) > 0 || this.pins.has(id);
  }

  /**
   * Pins cold segments for the life of a GET stream: a stream reads its chunks one group after another,
   * possibly for hours (a slow client), from the chunk list it was opened with. A migration pass may
   * meanwhile rewrite those chunks elsewhere (or the object may be overwritten), and a later pass would
   * delete the segment the stream still needs. Returns the release, which is idempotent.
   */
  pin(segmentIds: Iterable<number>): () => void {
    return this.pins.pin(segmentIds);
  }


  forget(id: number): void {
    this.dicts.delete(id);
  }

  private storeOrThrow(): ColdSource {
    if (!this.source) throw new SedimentError('SEDIMENT_COLD_UNAVAILABLE', 'the object is in the cold tier, but no cold store is configured');
    return this.source;
  }

  /**
   * Reads `ref` (a chunk of a cold object) and returns raw bytes [from, to) of it. `uploadId`, the object's
   * (its COMMIT's), is checked against the chunk's meta when given: every chunk of an object carries it
   * (docs/FORMAT.md §2.3, §2.6), so a chunk address that leads to another object's chunk in a cold store
   * (the wrong store, a segment id written twice) is refused even where the frame itself is sound.
   */
  async readChunk(p: { ref: ChunkRef; from: number; to: number; uploadId?: number }): Promise<Buffer> {
    const { ref } = p;
    const store = this.storeOrThrow();
    this.reading.set(ref.segmentId, (this.reading.get(ref.segmentId) ?? 0) + 1);
    try {
      const bytes = await this.read(store, ref.segmentId, ref.offset, ref.frameLen);
      // Read before the pool takes the bytes (they are transferred); trusted only once the frame checks.
      const owner = p.uploadId === undefined ? undefined : chunkUploadId(bytes);
      let raw: Buffer;
      const codec = bytes.length > 9 ? bytes[9]! & CODEC_MASK : 0;
      if (codec === CODEC_ZSTD && ref.rawLen >= this.pool.poolMinBytes && this.pool.usingWorkers) {
        raw = await this.pool.open(bytes, ref.segmentId, ref.offset);
      } else {
        const frame = verifyFrame(bytes, ref.segmentId, ref.offset, RecordType.CHUNK);
        const dict = codec === CODEC_ZSTD_DICT ? await this.dictOf(store, ref.segmentId) : undefined;
        raw = openColdChunkFrame(frame, dict, ref.segmentId, ref.offset);
      }
      if (raw.length !== ref.rawLen) throw new CorruptionError(ref.segmentId, ref.offset, 'cold chunk length differs from the manifest');
      // The frame was verified above (here or in the pool), so the meta read from it can be trusted.
      if (p.uploadId !== undefined) {
        if (owner !== p.uploadId) {
          throw new CorruptionError(
            ref.segmentId,
            ref.offset,
            `cold chunk belongs to another object (upload ${owner}, this object's is ${p.uploadId}): is ${store.description} the cold store this data directory wrote?`,
          );
        }
      }
      return p.from === 0 && p.to === raw.length ? raw : raw.subarray(p.from, p.to);
    } finally {
      const n = (this.reading.get(ref.segmentId) ?? 1) - 1;
      if (n === 0) this.reading.delete(ref.segmentId);
      else this.reading.set(ref.segmentId, n);
    }
  }

  /** A range past the end of the blob means the index and the cold segment disagree: corruption. */
  private async read(store: ColdSource, id: number, offset: number, length: number): Promise<Buffer> {
    try {
      return await store.readRange(coldSegmentName(id), offset, length);
    } catch (err) {
      if (isSedimentError(err, 'SEDIMENT_INVALID_RANGE')) throw new CorruptionError(id, offset, `cold segment is shorter than the index says: ${err.message}`, { cause: err });
      throw err;
    }
  }

  private dictOf(store: ColdSource, id: number): Promise<Buffer | undefined> {
    let d = this.dicts.get(id);
    if (!d) {
      d = this.loadDict(store, id);
      if (this.dicts.size >= DICT_CACHE_MAX) this.dicts.delete(this.dicts.keys().next().value!);
      this.dicts.set(id, d);
      // A failed fetch (store unreachable) is not remembered: the next GET tries again.
      d.catch(() => this.dicts.delete(id));
    }
    return d;
  }

  private async loadDict(store: ColdSource, id: number): Promise<Buffer | undefined> {
    const head = await this.read(store, id, SEGMENT_HEADER_BYTES, FRAME_HEADER_BYTES);
    const h = parseFrameHeader(head, 0);
    if (!h || h.type !== RecordType.DICT) return undefined;
    const frame = verifyFrame(await this.read(store, id, SEGMENT_HEADER_BYTES, h.frameLen), id, SEGMENT_HEADER_BYTES, RecordType.DICT);
    return openDictFrame(frame, id, SEGMENT_HEADER_BYTES);
  }
}

/** The uploadId in a CHUNK frame's meta (FORMAT.md §2.3), or undefined if the bytes are too short to hold one. */
function chunkUploadId(frame: Buffer): number | undefined {
  if (frame.length < FRAME_HEADER_BYTES) return undefined;
  const metaLen = frame.readUInt16LE(10);
  if (frame.length < FRAME_HEADER_BYTES + metaLen) return undefined;
  try {
    return decodeChunkMeta(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + metaLen)).uploadId;
  } catch {
    return undefined;
  }
}
