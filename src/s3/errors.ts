// The ONE table that maps engine error codes to S3 errors. Exhaustive by type: adding an ErrorCode
// without a row here is a compile error. Anything that is not a SedimentError or S3Error becomes
// InternalError (and is logged by the server, never shown to the client with internals).
import { DeleteMarkerError, SedimentError, type ErrorCode } from '../util/errors.js';
import { S3Error, type S3ErrorCode } from './s3-error.js';

const TABLE: Record<ErrorCode, { code: S3ErrorCode; status?: number }> = {
  SEDIMENT_NO_SUCH_BUCKET: { code: 'NoSuchBucket' },
  SEDIMENT_NO_SUCH_KEY: { code: 'NoSuchKey' },
  SEDIMENT_BUCKET_EXISTS: { code: 'BucketAlreadyOwnedByYou' },
  SEDIMENT_BUCKET_NOT_EMPTY: { code: 'BucketNotEmpty' },
  SEDIMENT_INVALID_BUCKET_NAME: { code: 'InvalidBucketName' },
  SEDIMENT_INVALID_KEY: { code: 'InvalidArgument' },
  SEDIMENT_KEY_TOO_LONG: { code: 'KeyTooLongError' },
  SEDIMENT_METADATA_TOO_LARGE: { code: 'MetadataTooLarge' },
  SEDIMENT_INVALID_RANGE: { code: 'InvalidRange' },
  SEDIMENT_INVALID_ARGUMENT: { code: 'InvalidArgument' },
  SEDIMENT_PRECONDITION_FAILED: { code: 'PreconditionFailed' },
  SEDIMENT_BAD_DIGEST: { code: 'BadDigest' },
  SEDIMENT_INCOMPLETE_BODY: { code: 'IncompleteBody' },
  SEDIMENT_ENTITY_TOO_LARGE: { code: 'EntityTooLarge' },
  SEDIMENT_ENTITY_TOO_SMALL: { code: 'EntityTooSmall' },
  SEDIMENT_NO_SUCH_UPLOAD: { code: 'NoSuchUpload' },
  SEDIMENT_NO_SUCH_LIFECYCLE: { code: 'NoSuchLifecycleConfiguration' },
  SEDIMENT_NO_SUCH_VERSION: { code: 'NoSuchVersion' },
  // GET/HEAD naming a delete marker's version: S3 answers 405 with x-amz-delete-marker.
  SEDIMENT_DELETE_MARKER: { code: 'MethodNotAllowed' },
  // A version under retention or legal hold: S3 refuses its deletion (or a shortened retention) so.
  SEDIMENT_OBJECT_LOCKED: { code: 'AccessDenied' },
  SEDIMENT_INVALID_BUCKET_STATE: { code: 'InvalidBucketState' },
  SEDIMENT_NO_LOCK_CONFIGURATION: { code: 'ObjectLockConfigurationNotFoundError' },
  SEDIMENT_NO_SUCH_LOCK_SETTING: { code: 'NoSuchObjectLockConfiguration' },
  SEDIMENT_INVALID_REQUEST: { code: 'InvalidRequest' },
  // A cold blob the index points at is missing: the data is not where it must be (an internal error,
  // never "no such key"); an unreachable cold store is temporary.
  SEDIMENT_COLD_NOT_FOUND: { code: 'InternalError' },
  SEDIMENT_COLD_UNAVAILABLE: { code: 'ServiceUnavailable' },
  SEDIMENT_COLD_FOREIGN: { code: 'InternalError' },
  SEDIMENT_INVALID_PART: { code: 'InvalidPart' },
  SEDIMENT_INVALID_PART_ORDER: { code: 'InvalidPartOrder' },
  SEDIMENT_INVALID_PART_NUMBER: { code: 'InvalidPartNumber' },
  SEDIMENT_CORRUPTION: { code: 'InternalError' },
  SEDIMENT_LOCKED: { code: 'ServiceUnavailable' },
  SEDIMENT_CLOSED: { code: 'ServiceUnavailable' },
  SEDIMENT_FORMAT_VERSION: { code: 'InternalError' },
  SEDIMENT_WRITER_FAILED: { code: 'ServiceUnavailable' },
  SEDIMENT_NO_SPACE: { code: 'InsufficientStorage' },
  SEDIMENT_IO: { code: 'InternalError' },
};

/** The S3 error to answer for `err`. Messages of engine errors are safe to show (no paths or stacks). */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof SedimentError) {
    const row = TABLE[err.code];
    const message = err.code === 'SEDIMENT_CORRUPTION' ? `stored data failed its checksum: ${err.message}` : err.message;
    // A delete marker answers with its headers, so clients can tell "deleted" from "never existed".
    const headers = err instanceof DeleteMarkerError
      ? { 'x-amz-delete-marker': 'true', 'x-amz-version-id': err.versionId === '' ? 'null' : err.versionId, 'Last-Modified': new Date(err.lastModifiedMs).toUTCString() }
      : undefined;
    return new S3Error(row.code, message, { httpStatus: row.status, headers, cause: err });
  }
  return new S3Error('InternalError', undefined, { cause: err });
}
