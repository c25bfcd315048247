// Typed errors with stable codes. The core throws only these (or AssertionError for broken
// invariants); the S3 edge maps `code` to an S3 error once, in src/s3/errors.ts, and the CLI
// prints `message` on one line. Always pass `cause` when wrapping another error.

export const ErrorCodes = [
  'SEDIMENT_NO_SUCH_BUCKET',
  'SEDIMENT_NO_SUCH_KEY',
  'SEDIMENT_BUCKET_EXISTS',
  'SEDIMENT_BUCKET_NOT_EMPTY',
  'SEDIMENT_INVALID_BUCKET_NAME',
  'SEDIMENT_INVALID_KEY',
  'SEDIMENT_KEY_TOO_LONG',
  'SEDIMENT_METADATA_TOO_LARGE',
  'SEDIMENT_INVALID_RANGE',
  'SEDIMENT_INVALID_ARGUMENT',
  'SEDIMENT_PRECONDITION_FAILED',
  'SEDIMENT_BAD_DIGEST',
  'SEDIMENT_INCOMPLETE_BODY',
  'SEDIMENT_ENTITY_TOO_LARGE',
  'SEDIMENT_ENTITY_TOO_SMALL',
  'SEDIMENT_NO_SUCH_UPLOAD',
  'SEDIMENT_NO_SUCH_LIFECYCLE',
  'SEDIMENT_NO_SUCH_VERSION',
  'SEDIMENT_DELETE_MARKER',
  'SEDIMENT_OBJECT_LOCKED',
  'SEDIMENT_INVALID_BUCKET_STATE',
  'SEDIMENT_NO_LOCK_CONFIGURATION',
  'SEDIMENT_NO_SUCH_LOCK_SETTING',
  'SEDIMENT_INVALID_REQUEST',
  'SEDIMENT_COLD_NOT_FOUND',
  'SEDIMENT_COLD_UNAVAILABLE',
  'SEDIMENT_COLD_FOREIGN',
  'SEDIMENT_INVALID_PART',
  'SEDIMENT_INVALID_PART_ORDER',
  'SEDIMENT_INVALID_PART_NUMBER',
  'SEDIMENT_CORRUPTION',
  'SEDIMENT_LOCKED',
  'SEDIMENT_CLOSED',
  'SEDIMENT_FORMAT_VERSION',
  'SEDIMENT_WRITER_FAILED',
  'SEDIMENT_NO_SPACE',
  'SEDIMENT_IO',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class SedimentError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SedimentError';
  }
}

/** A record or segment failed its checksum or structure check. Never retried, never turned into bytes. */
export class CorruptionError extends SedimentError {
  readonly segmentId: number;
  readonly offset: number;
  constructor(segmentId: number, offset: number, detail: string, options?: { cause?: unknown }) {
    super('SEDIMENT_CORRUPTION', `corrupt data in segment ${segmentId} at offset ${offset}: ${detail}`, options);
    this.name = 'CorruptionError';
    this.segmentId = segmentId;
    this.offset = offset;
  }
}

/**
 * The version asked for (or the current version of the key) is a delete marker: SEDIMENT_NO_SUCH_KEY when
 * no version was named, SEDIMENT_DELETE_MARKER when the marker itself was (S3 answers 405 then).
 */
export class DeleteMarkerError extends SedimentError {
  readonly versionId: string;
  readonly lastModifiedMs: number;
  constructor(code: 'SEDIMENT_NO_SUCH_KEY' | 'SEDIMENT_DELETE_MARKER', message: string, versionId: string, lastModifiedMs: number) {
    super(code, message);
    this.name = 'DeleteMarkerError';
    this.versionId = versionId;
    this.lastModifiedMs = lastModifiedMs;
  }
}

export function isSedimentError(err: unknown, code?: ErrorCode): err is SedimentError {
  return err instanceof SedimentError && (code === undefined || err.code === code);
}

/** Broken invariant: a bug in sediment, not an operating fault. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) {
    const err = new Error(`assertion failed: ${message}`);
    err.name = 'AssertionError';
    throw err;
  }
}

/** Maps an operating-system error from the file layer to a typed error, keeping the cause. */
export function ioError(err: unknown, what: string): SedimentError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SedimentError('SEDIMENT_NO_SPACE', `no space left on device while ${what}`, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new SedimentError('SEDIMENT_IO', `I/O error while ${what}: ${detail}`, { cause: err });
}
