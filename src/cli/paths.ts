// Parsing S3-like path arguments: `BUCKET`, `BUCKET/`, `BUCKET/KEY` or `BUCKET/PREFIX`, optionally
// written as `s3://BUCKET/KEY`. The bucket is everything before the first '/', the key everything after
// it, byte for byte (a key may itself contain '/'). Bucket names are checked here, before the data
// directory is opened, so a typo is a usage error rather than a failed operation.
//
// Node decodes the command line as UTF-8 and turns every invalid byte into U+FFFD, so two different
// byte strings (`$'\xc3'` and `$'\x80'`) would name the same key: a path holding U+FFFD is refused.
import { bucketNameProblem } from '../index.js';
import { UsageError } from './errors.js';

export interface BucketPath {
  bucket: string;
  /** The key or prefix after the bucket; '' when the path names only the bucket. */
  key: string;
}

const SCHEME = 's3://';

const REPLACEMENT_CHARACTER = '\uFFFD';

/** Refuses text from the command line that held invalid UTF-8 (see the header); `what` names it. */
export function checkUtf8(text: string, what: string): string {
  if (text.includes(REPLACEMENT_CHARACTER)) {
    throw new UsageError(`${what} is not valid UTF-8 (invalid bytes arrive as U+FFFD, so different names would collide; U+FFFD itself is refused too)`);
  }
  return text;
}

export function checkBucket(bucket: string): string {
  const problem = bucketNameProblem(bucket);
  if (problem) throw new UsageError(`invalid bucket name "${bucket}": ${problem}`);
  return bucket;
}

/** Splits `BUCKET[/KEY]`; the key may be empty. */
export function parseBucketPath(arg: string): BucketPath {
  const path = arg.startsWith(SCHEME) ? arg.slice(SCHEME.length) : arg;
  const slash = path.indexOf('/');
  const bucket = slash < 0 ? path : path.slice(0, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  if (bucket === '') throw new UsageError(`path "${arg}" has no bucket (expected BUCKET/KEY)`);
  checkUtf8(arg, `path "${arg}"`);
  checkBucket(bucket);
  return { bucket, key };
}

/** A path that must name an object: `BUCKET/KEY` with a non-empty key. */
export function parseObjectPath(arg: string): BucketPath {
  const p = parseBucketPath(arg);
  if (p.key === '') throw new UsageError(`path "${arg}" has no key (expected BUCKET/KEY)`);
  return p;
}

/** A path that must name only a bucket. */
export function parseBucketOnly(arg: string): string {
  const p = parseBucketPath(arg);
  if (p.key !== '') throw new UsageError(`expected a bucket name, got the object path "${arg}"`);
  return p.bucket;
}

/** The last '/'-separated part of a key or file path ('' if it ends with '/'). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
