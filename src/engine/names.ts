// Validation of bucket names, keys and metadata, following S3's rules. Every failure is a typed error
// thrown before anything is written.
import { SedimentError } from '../util/errors.js';

export const KEY_BYTES_MAX = 1024;
export const USER_METADATA_BYTES_MAX = 2048;

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** S3 general-purpose bucket naming rules. */
export function bucketNameProblem(name: string): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!BUCKET_RE.test(name)) {
    return 'may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain two adjacent periods';
  if (IPV4_RE.test(name)) return 'must not be formatted as an IP address';
  for (const p of RESERVED_PREFIXES) if (name.startsWith(p)) return `must not start with "${p}"`;
  for (const s of RESERVED_SUFFIXES) if (name.endsWith(s)) return `must not end with "${s}"`;
  return undefined;
}

export function checkBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) throw new SedimentError('SEDIMENT_INVALID_BUCKET_NAME', `invalid bucket name "${name}": ${problem}`);
}

/** True if `s` has a lone surrogate, i.e. cannot be encoded as UTF-8. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new SedimentError('SEDIMENT_INVALID_KEY', 'object key must not be empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KEY_BYTES_MAX) {
    throw new SedimentError('SEDIMENT_KEY_TOO_LONG', `object key is ${bytes} bytes of UTF-8; the limit is ${KEY_BYTES_MAX}`);
  }
  if (hasLoneSurrogate(key)) throw new SedimentError('SEDIMENT_INVALID_KEY', 'object key is not valid UTF-8');
  if (key.includes('\u0000')) throw new SedimentError('SEDIMENT_INVALID_KEY', 'object key must not contain NUL');
}

/** A region name as S3's: lowercase letters, digits and hyphens (us-east-1, eu-central-2, local). */
export function checkRegion(region: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(region)) {
    throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `invalid region "${region}": lowercase letters, digits and hyphens, such as us-east-1`);
  }
}

const META_NAME_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** A character an HTTP field value cannot carry (RFC 9110 §5.5: VCHAR, SP, HTAB and obs-text only). */
export const NOT_IN_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Content type, standard headers and user metadata values go back out as HTTP headers: a value no
 * header can carry (a line break, a control character, a character past U+00FF) is refused at PUT.
 */
export function checkHeaderValue(what: string, value: string): void {
  if (NOT_IN_HEADER_VALUE.test(value)) {
    throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `${what} holds a character an HTTP header cannot carry (a control character, a line break or one past U+00FF)`);
  }
}

/**
 * User metadata: names are lowercase HTTP tokens; total UTF-8 bytes of names and values ≤ 2 KB. `stored`:
 * values copied from a stored object, which an older sediment may have taken with characters no header
 * carries (served RFC 2047-encoded): their header check is skipped.
 */
export function checkUserMetadata(meta: Array<[string, string]>, stored = false): void {
  let total = 0;
  for (const [k, v] of meta) {
    if (!META_NAME_RE.test(k)) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `invalid user metadata name "${k}"`);
    if (typeof v !== 'string' || hasLoneSurrogate(v)) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `invalid value for user metadata "${k}"`);
    if (!stored) checkHeaderValue(`user metadata "${k}"`, v);
    total += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  }
  if (total > USER_METADATA_BYTES_MAX) {
    throw new SedimentError('SEDIMENT_METADATA_TOO_LARGE', `user metadata is ${total} bytes; the limit is ${USER_METADATA_BYTES_MAX}`);
  }
}
