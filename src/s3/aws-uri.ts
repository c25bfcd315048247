// URI handling shared by SigV4 verification and the router, so that what is signed and what is acted on
// are decoded the same way.
// Contracts:
// - awsUriEncode is AWS's UriEncode: every UTF-8 byte outside A-Z a-z 0-9 - . _ ~ becomes %XX with
//   uppercase hex; '/' is kept only in paths.
// - decodeRequestPath: percent-decoding with '+' read as a space, as S3 itself reads request paths
//   (clients that mean a plus send %2B). The router must take bucket and key from this function.
// - parseRawQuery: '&'-separated pairs, first '=' splits name and value, '+' is a space, empty pieces are
//   skipped. Bad percent-encoding is an S3Error InvalidArgument. The router must read the query with it.
// - The canonical query is each name and value re-encoded, sorted by encoded name then encoded value.

import { S3Error } from './s3-error.js';

const HEX = '0123456789ABCDEF';

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

/** AWS UriEncode. Lone surrogates are encoded as U+FFFD's bytes (they cannot occur in decoded input). */
export function awsUriEncode(value: string, keepSlash: boolean): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!isUnreserved(c) && !(keepSlash && c === 0x2f)) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (isUnreserved(byte) || (keepSlash && byte === 0x2f)) out += String.fromCharCode(byte);
    else out += '%' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

/** Percent-decodes with '+' as a space; undefined when the encoding or the UTF-8 it yields is invalid. */
export function decodeComponent(raw: string): string | undefined {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The request path as S3 reads it (e.g. `/bucket/a key`), or undefined when it is not valid encoding. */
export function decodeRequestPath(rawPath: string): string | undefined {
  return decodeComponent(rawPath);
}

/** Splits a request-target (origin-form `/p?q`, or absolute-form `http://h/p?q`) into raw path and query. */
export function splitRawUrl(rawUrl: string): { rawPath: string; rawQuery: string } {
  let target = rawUrl;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (scheme) target = target.slice(scheme[0].length);
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  return { rawPath: rawPath === '' ? '/' : rawPath, rawQuery };
}

export type QueryPair = readonly [name: string, value: string];

/** Decoded query pairs in the order sent. */
export function parseRawQuery(rawQuery: string): QueryPair[] {
  const pairs: QueryPair[] = [];
  if (rawQuery === '') return pairs;
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawName = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? '' : piece.slice(eq + 1);
    const name = decodeComponent(rawName);
    const value = decodeComponent(rawValue);
    if (name === undefined || value === undefined) {
      throw new S3Error('InvalidArgument', 'The query string contains invalid percent-encoding.', {
        extra: { ArgumentName: rawName },
      });
    }
    pairs.push([name, value]);
  }
  return pairs;
}

function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SigV4 CanonicalQueryString of decoded pairs, leaving out names for which `exclude` is true. */
export function canonicalQueryString(pairs: readonly QueryPair[], exclude?: (name: string) => boolean): string {
  const encoded: [string, string][] = [];
  for (const [name, value] of pairs) {
    if (exclude?.(name)) continue;
    encoded.push([awsUriEncode(name, false), awsUriEncode(value, false)]);
  }
  encoded.sort((a, b) => compareAscii(a[0], b[0]) || compareAscii(a[1], b[1]));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * Canonical URIs to try, best first: the path decoded and re-encoded with AWS rules (what S3 computes,
 * and what AWS's `PUT test$file.text` example expects), then the raw path exactly as sent when it
 * differs (clients that sign the wire path verbatim). Both name the same decoded path, so accepting
 * either cannot authorize a different resource. S3 does not normalize `.`/`..` or `//`; neither do we.
 */
export function canonicalUriCandidates(rawPath: string): string[] {
  const decoded = decodeRequestPath(rawPath);
  if (decoded === undefined) return [rawPath];
  const reencoded = awsUriEncode(decoded, true);
  return reencoded === rawPath ? [reencoded] : [reencoded, rawPath];
}
