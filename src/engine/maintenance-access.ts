// What compaction and scrub (src/maintenance/) may see and do inside an open engine. The engine hands
// out one of these; maintenance never reaches into engine state any other way.
import type { FileSystem } from '../io/types.js';

export interface SegmentView {
  id: number;
  kind: 'log' | 'pack';
  /** False only for the active log segment. */
  sealed: boolean;
  sizeBytes: number;
}

/** What is live, taken synchronously as one state (MaintenanceAccess.liveSnapshot). */
export interface LiveSnapshot {
  /** Origin of the COMMIT of every entry the index holds: every version and delete marker. */
  commits: { segmentId: Uint32Array; offset: Uint32Array; frameLen: Uint32Array; count: number };
  /**
   * Chunks live without a COMMIT in the index: the parts of open multipart uploads, and the chunks a PUT
   * or a part upload has appended while its COMMIT or UPLOAD_PART record is not applied yet (it may
   * still come, and will reference them where they are).
   */
  chunks: { segmentId: Float64Array; offset: Float64Array; count: number };
}

export interface PackRecord {
  originSegmentId: number;
  originOffset: number;
  /** Offset in the pack. */
  offset: number;
}

export interface MaintenanceAccess {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly segmentsDir: string;
  readonly segmentBytesMax: number;
  /** A log segment is sealed at this many records too (EngineOptions.segmentRecordsMax). */
  readonly segmentRecordsMax: number;
  warn(message: string): void;
  isClosed(): boolean;
  /** Highest mutation seq applied: changes whenever the index does. */
  seq(): number;
  segments(): SegmentView[];
  activeSegmentId(): number;
  /** Log segments with a lower id are fully reflected in the newest durable checkpoint. */
  checkpointSegmentId(): number;
  pathOf(segmentId: number): string;
  sealActive(): Promise<void>;
  checkpoint(): Promise<void>;
  reserveSegmentId(): number;
  /** Makes DIR/FORMAT say at least `version`, durably (before the first pack appears). */
  raiseFormatVersion(version: number): Promise<void>;

  // Liveness, as of now (the index only reflects durable records).
  objectSeq(bucket: string, key: string): number | undefined;
  /**
   * The bucket may hold several versions of a key: a DELETE there names one version, and a newer write
   * of the key does not make an older version's COMMIT harmless on replay.
   */
  bucketVersioned(name: string): boolean;
  bucketSeq(name: string): number | undefined;
  uploadCreateSeq(uploadId: number): number | undefined;
  uploadPartSeq(uploadId: number, partNumber: number): number | undefined;
  /**
   * The COMMITs and chunks live now, copied in one synchronous step: a census that asked the index
   * key by key across event-loop turns could miss an object committed or completed meanwhile whose
   * chunks sit in a sealed segment (dropping them), and nothing tells it about uploads in flight.
   */
  liveSnapshot(): LiveSnapshot;
  /** Reads and verifies a COMMIT record by origin; resolves to its payload. */
  readCommitPayload(segmentId: number, offset: number, frameLen: number): Promise<Buffer>;
  /** Current place of an origin (itself when it never moved). */
  locate(segmentId: number, offset: number): { segmentId: number; offset: number };

  /**
   * Swaps a durable pack in, synchronously: its records resolve into it from now on, its inputs stop
   * being listed. The inputs' files may still have readers: wait with `whenUnread` before unlinking.
   */
  installPack(packId: number, inputs: number[], records: PackRecord[], sizeBytes: number): void;
  /** Like installPack for inputs that hold no live record at all: they stop being listed, nothing moves. */
  dropSegments(ids: number[]): void;
  /**
   * Makes DIR/manifest list `packId` (if any) and no longer list `removed`, durably. After installPack or
   * dropSegments, before any removed file is truncated or unlinked (docs/DURABILITY.md "The segment
   * manifest").
   */
  recordReplacement(packId: number | undefined, removed: number[]): Promise<void>;
  /** Resolves once no read of the segment is in flight and no GET stream pins it. */
  whenUnread(segmentId: number): Promise<void>;
  /** A GET stream reads from the segment (SegmentStore.pin): its removal is deferred until the stream ends. */
  isPinned(segmentId: number): boolean;
  forget(segmentId: number): Promise<void>;
  /** The hot tier's dictionary files (docs/FORMAT.md §2.7), for the collector (maintenance/dictionary-gc.ts). */
  readonly dictionaries: DictionaryAccess;
}

export interface DictionaryAccess {
  /**
   * Ids of the retired dictionaries: no bucket will use them again and no frame naming them is being
   * made, so every frame that names one is already in a file (hot-dictionaries.ts).
   */
  retired(): number[];
  /** Deletes retired dictionaries' files, durably. The caller has proved that no frame names them. */
  remove(ids: number[]): Promise<void>;
}
