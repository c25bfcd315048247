// AWS URI encoding and the path/query reading shared by SigV4 and the router.

import { describe, expect, it } from 'vitest';
import {
  awsUriEncode,
  canonicalQueryString,
  canonicalUriCandidates,
  decodeRequestPath,
  parseRawQuery,
  splitRawUrl,
} from '../src/s3/aws-uri.js';
import { S3Error } from '../src/s3/s3-error.js';

describe('awsUriEncode', () => {
  it('keeps only the unreserved set, uppercase hex', () => {
    expect(awsUriEncode('AZaz09-._~', false)).toBe('AZaz09-._~');
    expect(awsUriEncode(" !\"#$%&'()*+,/:;<=>?@[\\]^`{|}", false)).toBe(
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D',
    );
  });

  it('keeps "/" only in paths', () => {
    expect(awsUriEncode('a/b c', true)).toBe('a/b%20c');
    expect(awsUriEncode('a/b c', false)).toBe('a%2Fb%20c');
  });

  it('encodes UTF-8 bytes', () => {
    expect(awsUriEncode('ü日😀', false)).toBe('%C3%BC%E6%97%A5%F0%9F%98%80');
    expect(awsUriEncode('\u0000\u007f', false)).toBe('%00%7F');
  });
});

describe('decodeRequestPath', () => {
  it('decodes percent-escapes and reads "+" as a space, as S3 does', () => {
    expect(decodeRequestPath('/b/a%20b+c%2Bd')).toBe('/b/a b c+d');
    expect(decodeRequestPath('/b/%C3%BC%2F')).toBe('/b/ü/');
  });

  it('does not normalize dot segments or double slashes', () => {
    expect(decodeRequestPath('/b//x/../y/./z')).toBe('/b//x/../y/./z');
  });

  it('rejects invalid escapes and invalid UTF-8', () => {
    expect(decodeRequestPath('/b/%ZZ')).toBeUndefined();
    expect(decodeRequestPath('/b/%FF')).toBeUndefined();
    expect(decodeRequestPath('/b/%')).toBeUndefined();
  });
});

describe('splitRawUrl', () => {
  it('handles origin-form, absolute-form, empty paths and fragments', () => {
    expect(splitRawUrl('/b/k?x=1&y')).toEqual({ rawPath: '/b/k', rawQuery: 'x=1&y' });
    expect(splitRawUrl('http://h:9000/b/k?uploads')).toEqual({ rawPath: '/b/k', rawQuery: 'uploads' });
    expect(splitRawUrl('https://h')).toEqual({ rawPath: '/', rawQuery: '' });
    expect(splitRawUrl('/b/k?a=1#frag')).toEqual({ rawPath: '/b/k', rawQuery: 'a=1' });
    expect(splitRawUrl('/b/k?a=1?b')).toEqual({ rawPath: '/b/k', rawQuery: 'a=1?b' });
  });
});

describe('parseRawQuery', () => {
  it('decodes names and values, "+" is a space, missing "=" is an empty value', () => {
    expect(parseRawQuery('prefix=a%2Fb+c&uploads&marker=%E6%97%A5&&x=')).toEqual([
      ['prefix', 'a/b c'],
      ['uploads', ''],
      ['marker', '日'],
      ['x', ''],
    ]);
  });

  it('splits at the first "=" only', () => {
    expect(parseRawQuery('token=a==')).toEqual([['token', 'a==']]);
  });

  it('bad encoding is InvalidArgument', () => {
    for (const bad of ['a=%E6%97', '%zz=1']) {
      expect(() => parseRawQuery(bad)).toThrow(S3Error);
      expect(() => parseRawQuery(bad)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
  });
});

describe('canonicalQueryString', () => {
  it('re-encodes and sorts by name then value', () => {
    expect(
      canonicalQueryString([
        ['prefix', 'J'],
        ['max-keys', '2'],
        ['a', 'z'],
        ['a', 'b c'],
        ['~', '*'],
      ]),
    ).toBe('a=b%20c&a=z&max-keys=2&prefix=J&~=%2A');
  });

  it('sorts by encoded bytes (uppercase escapes before lowercase letters)', () => {
    expect(canonicalQueryString([['b', ''], ['ü', ''], ['A', ''], ['%', '']])).toBe('%25=&%C3%BC=&A=&b=');
  });

  it('leaves out excluded names', () => {
    expect(canonicalQueryString([['X-Amz-Signature', 'x'], ['a', '1']], (n) => n === 'X-Amz-Signature')).toBe('a=1');
  });
});

describe('canonicalUriCandidates', () => {
  it('re-encoded first, raw second when different', () => {
    expect(canonicalUriCandidates('/test$file.text')).toEqual(['/test%24file.text', '/test$file.text']);
    expect(canonicalUriCandidates('/a%20b')).toEqual(['/a%20b']);
    expect(canonicalUriCandidates('/a%2fb')).toEqual(['/a/b', '/a%2fb']);
    expect(canonicalUriCandidates('/a+b')).toEqual(['/a%20b', '/a+b']);
  });

  it('only the raw path when it cannot be decoded', () => {
    expect(canonicalUriCandidates('/a%ZZ')).toEqual(['/a%ZZ']);
  });
});
