// Response headers of an object (src/s3/object-headers.ts objectHeaders). The engine refuses values no
// HTTP header can carry, but a data directory written before it did may hold one: such a value goes
// out RFC 2047-encoded, so HEAD and GET of that object still answer (node:http throws on the raw value).
import { validateHeaderValue } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../src/engine/types.js';
import { objectHeaders } from '../src/s3/object-headers.js';

const info = (over: Partial<ObjectInfo>): ObjectInfo => ({
  bucket: 'bkt', key: 'k', size: 1, etag: 'e', lastModifiedMs: 0, contentType: 'text/plain', userMetadata: {}, headers: {},
  checksums: [], tags: {}, storageClass: 'STANDARD', versionId: '', partCount: 0, ...over,
});
const b64 = (s: string): string => `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;

describe('objectHeaders', () => {
  it('RFC 2047-encodes a stored value no header can carry; every header it returns is valid', () => {
    const h = objectHeaders(info({ contentType: 'text/plain\r\nX-Injected: yes', userMetadata: { nl: 'a\nb', cjk: '中文', ok: 'caf\u00e9' }, headers: { cacheControl: 'no\u0001ctl' } }), false);
    expect(h['Content-Type']).toBe(b64('text/plain\r\nX-Injected: yes'));
    expect([h['x-amz-meta-nl'], h['x-amz-meta-cjk'], h['cache-control']]).toEqual([b64('a\nb'), b64('中文'), b64('no\u0001ctl')]);
    expect(h['x-amz-meta-ok']).toBe('caf\u00e9');
    for (const [name, value] of Object.entries(h)) expect(() => validateHeaderValue(name, value)).not.toThrow();
  });
});
