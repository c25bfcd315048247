// S3 listing semantics over a KeyIndex: prefix, delimiter (common prefixes), start-after / marker,
// max-keys, and an opaque continuation token, in UTF-8 byte order. A page never repeats or skips a key:
// the token records the last key or common prefix returned, and resuming after a common prefix skips
// every key under it.
import { SedimentError } from '../util/errors.js';
import type { KeyIndex } from './key-index.js';
import { compareUtf8, prefixSuccessor } from './utf8-order.js';
import type { ListEntry, ListOptions, ListResult } from './types.js';

export const MAX_KEYS_LIMIT = 1000;

interface Token {
  /** last key or common prefix returned */
  after: string;
  isPrefix: boolean;
}

function encodeToken(t: Token): string {
  return Buffer.from((t.isPrefix ? 'p' : 'k') + t.after, 'utf8').toString('base64url');
}

function decodeToken(s: string): Token {
  const raw = Buffer.from(s, 'base64url').toString('utf8');
  if (raw.length === 0 || (raw[0] !== 'p' && raw[0] !== 'k') || Buffer.from(raw, 'utf8').toString('base64url') !== s) {
    throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'the continuation token is not valid');
  }
  return { after: raw.slice(1), isPrefix: raw[0] === 'p' };
}


export function listKeys(index: KeyIndex, opts: ListOptions, entry: (key: string, slot: number) => ListEntry): ListResult {
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter ?? '';
  const maxKeys = opts.maxKeys ?? MAX_KEYS_LIMIT;
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'max-keys must be a non-negative integer');
  const limit = Math.min(maxKeys, MAX_KEYS_LIMIT);

  let resume: Token | undefined;
  if (opts.continuationToken !== undefined && opts.continuationToken !== '') resume = decodeToken(opts.continuationToken);
  else if (opts.startAfter !== undefined && opts.startAfter !== '') {
    // A V1 marker may be a common prefix returned earlier: then skip everything under it.
    const a = opts.startAfter;
    resume = { after: a, isPrefix: delimiter !== '' && a.startsWith(prefix) && a.endsWith(delimiter) && a.indexOf(delimiter, prefix.length) === a.length - delimiter.length };
  }

  const result: ListResult = { contents: [], commonPrefixes: [], isTruncated: false };
  if (limit === 0) return result;

  let skipPrefix: string | undefined = resume?.isPrefix ? resume.after : undefined;
  let scanFrom: { after?: string; from?: string } = {};
  if (resume) {
    const succ = skipPrefix !== undefined ? prefixSuccessor(skipPrefix) : undefined;
    scanFrom = succ !== undefined ? { from: succ } : { after: resume.after };
    if (compareUtf8(resume.after, prefix) < 0) scanFrom = { from: prefix };
  } else if (prefix !== '') {
    scanFrom = { from: prefix };
  }

  let count = 0;
  let last: Token | undefined;
  let iter = index.scan(scanFrom);
  for (let step = iter.next(); !step.done; step = iter.next()) {
    const [key, slot] = step.value;
    // The scan starts at or after `prefix`, and keys with a prefix are contiguous in UTF-8 order.
    if (!key.startsWith(prefix)) break;
    if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
    if (delimiter !== '') {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const cp = key.slice(0, at + delimiter.length);
        if (count === limit) {
          result.isTruncated = true;
          break;
        }
        result.commonPrefixes.push(cp);
        count++;
        last = { after: cp, isPrefix: true };
        skipPrefix = cp;
        const succ = prefixSuccessor(cp);
        if (succ !== undefined) iter = index.scan({ from: succ });
        continue;
      }
    }
    if (count === limit) {
      result.isTruncated = true;
      break;
    }
    result.contents.push(entry(key, slot));
    count++;
    last = { after: key, isPrefix: false };
  }
  if (result.isTruncated && last) {
    result.nextContinuationToken = encodeToken(last);
    result.nextMarker = last.after;
  }
  return result;
}
