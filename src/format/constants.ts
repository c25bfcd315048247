// Constants of the on-disk format; each names its section in docs/FORMAT.md.

/**
 * §1.1: the newest directory format understood; new directories start at 1, packs (§2.5) raise it to 2,
 * the first bucket with versioning (§3.8 kinds 2 and 3) raises it to 3, the first cold-tier record (a
 * COMMIT with storageClass COLD, §3.1, or a tiering setting, §3.8 kind 4) to 4; 5 to 8 below.
 */
export const DATA_DIR_FORMAT_VERSION = 8;
export const DATA_DIR_FORMAT_CREATED = 1;
export const DATA_DIR_FORMAT_PACKS = 2;
export const DATA_DIR_FORMAT_VERSIONS = 3;
export const DATA_DIR_FORMAT_COLD = 4;
/** §1.1, §4.2: from 5 on, DIR/manifest lists the live segment files and every open and removal keeps it. */
export const DATA_DIR_FORMAT_MANIFEST = 5;
/** §1.1, §2.7: from 6 on, hot CHUNK frames may use codec 3 (a dictionary file of DIR/dicts/). */
export const DATA_DIR_FORMAT_DICTS = 6;
/** §1.1, §3.1, §3.5: from 7 on, checksum algorithm bytes may carry a checksum type (ChecksumTypeBit). */
export const DATA_DIR_FORMAT_CHECKSUM_TYPES = 7;
/** §1.1, §3.1: from 8 on, a multipart COMMIT may keep each part's checksum (CommitFlag.PART_CHECKSUMS). */
export const DATA_DIR_FORMAT_PART_CHECKSUMS = 8;
export const FORMAT_FILE_PREFIX = 'sediment-data-dir ';

/** §2.1 segment header */
export const SEGMENT_MAGIC = Buffer.from('SEDSEG\r\n', 'latin1');
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 64;
export const TIER_HOT = 0;
export const TIER_COLD = 1;

/** §2.2 record frame */
export const FRAME_MAGIC = 0x43455253; // "SREC" read as u32 LE
export const FRAME_HEADER_BYTES = 12;
export const FRAME_HASH_BYTES = 8;
export const FRAME_MIN_BYTES = FRAME_HEADER_BYTES + FRAME_HASH_BYTES;
export const CODEC_RAW = 0;
export const CODEC_ZSTD = 1;
/** §2.6: zstd with the cold segment's dictionary (DICT record); only in CHUNK frames of cold segments. */
export const CODEC_ZSTD_DICT = 2;
/**
 * §2.7: zstd with a dictionary file of the data directory (DIR/dicts/); only in CHUNK frames of log
 * segments and packs. The payload starts with the dictionary's id and check (DICT_REF_BYTES).
 */
export const CODEC_ZSTD_DATA_DICT = 3;
export const CODEC_MASK = 0x03;

/** §2.3 record types */
export const RecordType = {
  CHUNK: 1,
  COMMIT: 2,
  DELETE: 3,
  BUCKET_CREATE: 4,
  BUCKET_DELETE: 5,
  BUCKET_CONFIG: 6,
  UPLOAD_CREATE: 7,
  UPLOAD_PART: 8,
  UPLOAD_ABORT: 9,
  /** §2.6: a cold segment's zstd dictionary (cold segments only). */
  DICT: 10,
  FOOTER: 15,
} as const;
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType];

/** §3.8 BUCKET_CONFIG kinds */
export const BucketConfigKind = { LIFECYCLE: 1, VERSIONING: 2, OBJECT_LOCK: 3, TIERING: 4 } as const;
export const CHUNK_META_BYTES = 20;

/** §2.4 tail */
export const TAIL_MAGIC = Buffer.from('SEDEND\r\n', 'latin1');
export const TAIL_BYTES = 24;
export const FOOTER_VERSION = 1;

/** §2.5 pack (compaction output) footer */
export const PACK_FOOTER_VERSION = 2;
export const PACK_RECORD_DAMAGED = 0x01;

/** §2.6 cold segments: blob name `<12-digit id>.cold` in the cold store. */
export const COLD_SEGMENT_SUFFIX = '.cold';

/** §2.7 dictionary files: `DIR/dicts/<12-digit id>.zdict`. */
export const DICT_FILE_MAGIC = Buffer.from('SEDDICT\n', 'latin1');
export const DICT_FILE_VERSION = 1;
export const DICT_FILE_SUFFIX = '.zdict';
/** §2.7: a codec-3 payload starts with dictId:u32 dictCheck:u32. */
export const DICT_REF_BYTES = 8;

/** §3 payload versions */
export const PAYLOAD_VERSION = 1;

/** §3.1 checksum algorithm ids */
export const ChecksumAlg = { CRC32: 1, CRC32C: 2, CRC64NVME: 3, SHA1: 4, SHA256: 5 } as const;
export type ChecksumAlgName = keyof typeof ChecksumAlg;
/**
 * §3.1, §3.5 (format 7): the high bits of a checksum algorithm byte say how a multipart object's checksum is
 * made: of every byte of the object (FULL_OBJECT) or of the parts' checksums (COMPOSITE). Neither bit: a
 * single-part object's checksum (full object), or an upload created before format 7 (S3's default type).
 */
export const ChecksumTypeBit = { FULL_OBJECT: 0x40, COMPOSITE: 0x80 } as const;
export const CHECKSUM_ALG_ID_MASK = 0x3f;

/** §3.1 lock modes and storage classes */
export const LockMode = { NONE: 0, GOVERNANCE: 1, COMPLIANCE: 2 } as const;
export const StorageClass = { STANDARD: 0, COLD: 1 } as const;

/** §4.1 last-access file written with each checkpoint (access-based tiering). */
export const ACCESS_MAGIC = Buffer.from('SEDACCS\n', 'latin1');
export const ACCESS_VERSION = 1;

/** §4.2 segment manifest (DIR/manifest): the live files of segments/. */
export const MANIFEST_MAGIC = Buffer.from('SEDMANI\n', 'latin1');
export const MANIFEST_VERSION = 1;
export const ManifestKind = { LOG: 0, PACK: 1 } as const;

/** §4 checkpoint */
export const CHECKPOINT_MAGIC = Buffer.from('SEDCKPT\n', 'latin1');
/**
 * Version 2 adds the bucket configuration section; version 3 lets a key have several object rows (its
 * versions, newest first). Each is written only when needed: a checkpoint without configurations is
 * still version 1, one without versioned buckets version 2.
 */
export const CHECKPOINT_VERSION = 3;

/** §3.1 COMMIT flags */
export const CommitFlag = {
  /** The version is a delete marker (no bytes). */
  DELETE_MARKER: 0x01,
  /** Rewrites the metadata of an existing version in place (tags, retention, legal hold); not a new version. */
  IN_PLACE: 0x02,
  /**
   * The payload ends with each part's checksum (format 8). Written and read by records.ts alone, from and
   * into PartEntry.checksum: a decoded manifest's `flags` never has it.
   */
  PART_CHECKSUMS: 0x04,
} as const;
/** §3.3 BUCKET_CREATE flags */
export const BUCKET_FLAG_OBJECT_LOCK = 0x01;
