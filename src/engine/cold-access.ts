// What cold-tier migration (src/maintenance/migration.ts) may see and do inside an open engine — kept apart
// from MaintenanceAccess (compaction) so each stays small. The engine hands out one of these.
import type { ChunkRef, ObjectManifest } from '../format/records.js';
import type { FileSystem } from '../io/types.js';
import type { LifecycleConfig } from './lifecycle.js';

export interface ColdCandidate {
  bucket: string;
  key: string;
  /** The version's seq: a re-commit happens only while the index still holds exactly this. */
  seq: number;
  size: number;
  mtimeMs: number;
  storageClass: number;
  /** Last GET (minute granularity) in buckets with access-based tiering; undefined when never read. */
  lastAccessMs?: number;
  /** A noncurrent version: when it became noncurrent (its next newer version was created). */
  noncurrentSinceMs?: number;
}

export interface ColdBucketPolicy {
  name: string;
  lifecycle?: LifecycleConfig;
  tieringDays?: number;
}

export interface ColdAccess {
  readonly fs: FileSystem;
  readonly dir: string;
  warn(message: string): void;
  isClosed(): boolean;
  now(): number;
  policies(): ColdBucketPolicy[];
  /** The bucket's current objects and, in a bucket with versions, its noncurrent ones (a snapshot; no delete markers). */
  objects(bucket: string): ColdCandidate[];
  /**
   * The same objects one at a time from the live index, keys in UTF-8 order (current versions, then the
   * noncurrent ones): memory for one at a time, however large the bucket. The index may change between
   * steps: an object written later may or may not be yielded, none twice; a bucket deleted meanwhile ends
   * the scan.
   */
  scanObjects(bucket: string): Generator<ColdCandidate>;
  /** Every current object in the cold tier, in all buckets (a snapshot; hot objects cost no allocation). */
  coldObjects(): ColdCandidate[];
  /**
   * The same objects one at a time, bucket by bucket in name order, keys in UTF-8 order (current versions,
   * then the bucket's noncurrent ones): memory for one at a time, however large the tier. The index may
   * change between steps (the key index's scan is live): an object written later may or may not be
   * yielded, none twice; a bucket deleted meanwhile ends its part of the scan.
   */
  scanColdObjects(): Generator<ColdCandidate>;
  /** The manifest of bucket/key if its current version is still `seq`, else undefined. */
  readManifest(bucket: string, key: string, seq: number): Promise<ObjectManifest | undefined>;
  /**
   * A hot CHUNK frame as read (not verified: the cold build checks it), except that a frame coded with a
   * data-directory dictionary (codec 3, docs/FORMAT.md §2.7) is verified, decoded here and re-framed raw:
   * the build workers have no dictionaries, and cold segments never name them. With that address, for
   * error reports.
   */
  readHotChunkFrame(ref: ChunkRef): Promise<{ bytes: Buffer; segmentId: number; offset: number }>;
  /** Raw, verified bytes of a chunk of a cold object; with `uploadId` (the object's), also checked to be one of its chunks. */
  readColdChunk(ref: ChunkRef, uploadId?: number): Promise<Buffer>;
  /**
   * Durably replaces version `expectSeq` of bucket/key (current or, with versions, noncurrent) by
   * `manifest` (same version, new chunk list and storage class) if the index still holds it and no write
   * or delete of the key is in flight. Resolves
   * true after the COMMIT is fsync'd, false (nothing written) when the object changed: the change wins.
   */
  recommit(bucket: string, key: string, expectSeq: number, manifest: ObjectManifest): Promise<boolean>;
  /**
   * Removes version `seq` of bucket/key (current or noncurrent) for good, Object Lock or not, if the index
   * still holds it and no write or delete of the key is in flight: for cold versions whose cold bytes are
   * gone (cold-forget.ts), never for data that exists. One DELETE record, fsync'd before this resolves
   * true; false (nothing written) when the version changed meanwhile. In a bucket with versions, a current
   * version with older versions behind it first gets a delete marker (durable on its own): the key reads
   * as deleted, not as the older content.
   */
  dropVersion(bucket: string, key: string, seq: number): Promise<boolean>;
  raiseFormatVersion(version: number): Promise<void>;
  /** A GET reads from cold segment `id` right now, or a GET stream open now will read from it. */
  coldBusy(id: number): boolean;
  forgetCold(id: number): void;
}
