// SigV4 verification: the AWS-published S3 examples (header and presigned), then round trips through the
// client signer with awkward keys and queries, tampering, clock skew, expiry and refused mechanisms.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { awsUriEncode, decodeRequestPath } from '../src/s3/aws-uri.js';
import { S3Error } from '../src/s3/s3-error.js';
import {
  canonicalHeaders,
  canonicalRequest,
  credentialScope,
  normalizeHeaders,
  stringToSign,
} from '../src/s3/sigv4-canonical.js';
import { deriveSigningKey, signatureHex } from '../src/s3/sigv4-crypto.js';
import {
  EMPTY_SHA256,
  presignUrl,
  signRequest,
  verifyRequest,
  type AuthResult,
  type VerifyInput,
  type VerifyOptions,
} from '../src/s3/sigv4.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const T0 = new Date('2013-05-24T00:00:00Z');
const HOST = 'examplebucket.s3.amazonaws.com';

function opts(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    region: 'us-east-1',
    lookupSecret: (k) => (k === AK ? SK : k === 'OTHERKEY' ? 'other secret' : undefined),
    now: T0,
    ...overrides,
  };
}

function authHeader(signedHeaders: string, signature: string, credential = `${AK}/20130524/us-east-1/s3/aws4_request`) {
  return `AWS4-HMAC-SHA256 Credential=${credential},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

/** Expects verifyRequest to throw an S3Error with `code`; returns it for further checks. */
function expectS3Error(fn: () => unknown, code: string): S3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).code).toBe(code);
    return err as S3Error;
  }
  throw new Error(`expected S3Error ${code}, nothing was thrown`);
}

describe('AWS documentation examples (header auth)', () => {
  it('GET object with Range', () => {
    const r = verifyRequest(
      {
        method: 'GET',
        rawUrl: '/test.txt',
        headers: {
          host: HOST,
          range: 'bytes=0-9',
          'x-amz-content-sha256': EMPTY_SHA256,
          'x-amz-date': '20130524T000000Z',
          authorization: authHeader(
            'host;range;x-amz-content-sha256;x-amz-date',
            'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
          ),
        },
      },
      opts(),
    );
    expect(r).toMatchObject({
      accessKeyId: AK,
      payloadMode: 'SIGNED',
      payloadSha256: EMPTY_SHA256,
      seedSignature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      scope: '20130524/us-east-1/s3/aws4_request',
      amzDate: '20130524T000000Z',
      presigned: false,
    });
  });

  const putHeaders = {
    host: HOST,
    date: 'Fri, 24 May 2013 00:00:00 GMT',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    authorization: authHeader(
      'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
      '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    ),
  };

  it('PUT object: the body hash is the documented one', () => {
    expect(createHash('sha256').update('Welcome to Amazon S3.').digest('hex')).toBe(
      putHeaders['x-amz-content-sha256'],
    );
  });

  it.each(['/test$file.text', '/test%24file.text'])('PUT object sent as %s (canonical /test%%24file.text)', (rawUrl) => {
    const r = verifyRequest({ method: 'PUT', rawUrl, headers: putHeaders }, opts());
    expect(r.payloadMode).toBe('SIGNED');
    expect(r.payloadSha256).toBe(putHeaders['x-amz-content-sha256']);
  });

  const bucketGet = (rawUrl: string, signature: string): VerifyInput => ({
    method: 'GET',
    rawUrl,
    headers: {
      host: HOST,
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY_SHA256,
      authorization: authHeader('host;x-amz-content-sha256;x-amz-date', signature),
    },
  });

  it('GET bucket lifecycle (?lifecycle canonicalizes to lifecycle=)', () => {
    const sig = 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543';
    expect(verifyRequest(bucketGet('/?lifecycle', sig), opts()).accessKeyId).toBe(AK);
    expect(verifyRequest(bucketGet('/?lifecycle=', sig), opts()).accessKeyId).toBe(AK);
  });

  it('GET bucket (list objects), query in either order', () => {
    const sig = '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7';
    expect(verifyRequest(bucketGet('/?max-keys=2&prefix=J', sig), opts()).accessKeyId).toBe(AK);
    expect(verifyRequest(bucketGet('/?prefix=J&max-keys=2', sig), opts()).accessKeyId).toBe(AK);
    expectS3Error(() => verifyRequest(bucketGet('/?max-keys=3&prefix=J', sig), opts()), 'SignatureDoesNotMatch');
  });

  it('the client signer reproduces the documented signatures', () => {
    const base = { accessKeyId: AK, secretKey: SK, region: 'us-east-1', date: T0 };
    expect(
      signRequest({ ...base, method: 'GET', url: `https://${HOST}/test.txt`, headers: { Range: 'bytes=0-9' } })
        .signature,
    ).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    const put = signRequest({
      ...base,
      method: 'PUT',
      url: `https://${HOST}/test$file.text`,
      headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    });
    expect(put.signature).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
    expect(put.canonicalRequest.split('\n')[1]).toBe('/test%24file.text');
    expect(signRequest({ ...base, method: 'GET', url: `https://${HOST}/?lifecycle` }).signature).toBe(
      'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    );
    expect(signRequest({ ...base, method: 'GET', url: `https://${HOST}/?prefix=J&max-keys=2` }).signature).toBe(
      '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    );
  });

  it('derives the documented signing key (general reference example, IAM)', () => {
    const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    expect(key.toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
    expect(deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam')).toBe(key);
    expect(deriveSigningKey('another secret', '20120215', 'us-east-1', 'iam')).not.toEqual(key);
  });

  it('aws-chunked seed signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD example)', () => {
    const r = verifyRequest(
      {
        method: 'PUT',
        rawUrl: '/examplebucket/chunkObject.txt',
        headers: {
          host: 's3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': '66560',
          'content-length': '66824',
          authorization:
            `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request, ` +
            'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;' +
            'x-amz-decoded-content-length;x-amz-storage-class, ' +
            'Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
        },
      },
      opts(),
    );
    expect(r.payloadMode).toBe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    expect(r.payloadSha256).toBeUndefined();
    expect(r.seedSignature).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
  });

  it('aws-chunked seed signature (…-PAYLOAD-TRAILER example)', () => {
    const r = verifyRequest(
      {
        method: 'PUT',
        rawUrl: '/examplebucket/chunkObject.txt',
        headers: {
          host: 's3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': '66560',
          'x-amz-trailer': 'x-amz-checksum-crc32c',
          authorization: authHeader(
            'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;' +
              'x-amz-storage-class;x-amz-trailer',
            '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
          ),
        },
      },
      opts(),
    );
    expect(r.payloadMode).toBe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER');
  });
});

describe('AWS documentation example (presigned URL)', () => {
  const url =
    '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
    '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
    '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
    '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

  it('verifies within its lifetime', () => {
    const r = verifyRequest(
      { method: 'GET', rawUrl: url, headers: { host: HOST } },
      opts({ now: new Date(T0.getTime() + 3600_000) }),
    );
    expect(r).toMatchObject({ accessKeyId: AK, payloadMode: 'UNSIGNED-PAYLOAD', presigned: true });
  });

  it('presignUrl produces exactly the documented URL', () => {
    const out = presignUrl({
      method: 'GET',
      url: `https://${HOST}/test.txt`,
      expiresSec: 86400,
      accessKeyId: AK,
      secretKey: SK,
      region: 'us-east-1',
      date: T0,
    });
    expect(out).toBe(`https://${HOST}${url}`);
  });

  it('expires after X-Amz-Expires, with S3 fields', () => {
    const at = (ms: number) => opts({ now: new Date(T0.getTime() + ms) });
    expect(verifyRequest({ method: 'GET', rawUrl: url, headers: { host: HOST } }, at(86400_000)).presigned).toBe(true);
    const err = expectS3Error(
      () => verifyRequest({ method: 'GET', rawUrl: url, headers: { host: HOST } }, at(86401_000)),
      'AccessDenied',
    );
    expect(err.message).toBe('Request has expired');
    expect(err.httpStatus).toBe(403);
    expect(err.extra).toMatchObject({ 'X-Amz-Expires': '86400', Expires: '2013-05-25T00:00:00.000Z' });
  });

  it('is not valid before its date (beyond the allowed skew)', () => {
    const err = expectS3Error(
      () =>
        verifyRequest(
          { method: 'GET', rawUrl: url, headers: { host: HOST } },
          opts({ now: new Date(T0.getTime() - 16 * 60_000) }),
        ),
      'AccessDenied',
    );
    expect(err.message).toBe('Request is not valid yet');
    expect(
      verifyRequest(
        { method: 'GET', rawUrl: url, headers: { host: HOST } },
        opts({ now: new Date(T0.getTime() - 14 * 60_000) }),
      ).presigned,
    ).toBe(true);
  });

  it('refuses any change to the URL', () => {
    const now = opts({ now: new Date(T0.getTime() + 1000) });
    const variants = [
      url.replace('/test.txt', '/test.txu'),
      url.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401'),
      url + '&extra=1',
      url.replace('aeeed9bb', 'aeeed9bc'),
    ];
    for (const rawUrl of variants) {
      expectS3Error(() => verifyRequest({ method: 'GET', rawUrl, headers: { host: HOST } }, now), 'SignatureDoesNotMatch');
    }
    expectS3Error(
      () => verifyRequest({ method: 'PUT', rawUrl: url, headers: { host: HOST } }, now),
      'SignatureDoesNotMatch',
    );
    expectS3Error(
      () => verifyRequest({ method: 'GET', rawUrl: url, headers: { host: 'evil.example' } }, now),
      'SignatureDoesNotMatch',
    );
  });
});

// ---- round trips through the client signer -------------------------------------------------------

const CLIENT = { accessKeyId: AK, secretKey: SK, region: 'us-east-1', date: new Date('2026-01-01T12:00:00Z') };
const NOW = opts({ now: CLIENT.date });
const BASE = 'http://127.0.0.1:9000';

const KEYS = [
  'plain.txt',
  'dir/sub/file.bin',
  'with space.txt',
  'ünïcödé/日本語/файл.bin',
  'plus+sign+',
  'tilde~and~',
  'percent%2Fnot-a-slash',
  "sub-delims!$&'()*,;=:@",
  'a//double/../dot/./x',
  'emoji 😀 🚀',
  ' leading and trailing ',
  'tab\tand\nnewline',
  '%',
  '?#[]',
];

const QUERIES: [string, string][][] = [
  [],
  [['uploads', '']],
  [
    ['list-type', '2'],
    ['prefix', 'with space/'],
    ['delimiter', '/'],
  ],
  [
    ['prefix', 'a+b'],
    ['start-after', 'x~y'],
    ['continuation-token', 'abc%2Fdef=='],
  ],
  [
    ['prefix', 'ü/日本'],
    ['marker', '&=?#'],
    ['encoding-type', 'url'],
  ],
  [
    ['b', '2'],
    ['a', '2'],
    ['a', '1'],
  ],
];

function rawQueryOf(pairs: [string, string][]): string {
  return pairs.map(([n, v]) => `${awsUriEncode(n, false)}=${awsUriEncode(v, false)}`).join('&');
}

function urlFor(key: string, query: [string, string][]): string {
  const q = rawQueryOf(query);
  return `/bucket/${awsUriEncode(key, true)}${q === '' ? '' : '?' + q}`;
}

function signed(
  method: string,
  rawUrl: string,
  headers: Record<string, string> = {},
  payloadHash?: string,
): VerifyInput & { headers: Record<string, string> } {
  const s = signRequest({
    ...CLIENT,
    method,
    url: BASE + rawUrl,
    headers,
    ...(payloadHash === undefined ? {} : { payloadHash }),
  });
  return { method, rawUrl, headers: s.headers };
}

describe('signRequest → verifyRequest round trips', () => {
  it.each(KEYS)('key %j with every query shape', (key) => {
    for (const query of QUERIES) {
      const rawUrl = urlFor(key, query);
      const r = verifyRequest(signed('GET', rawUrl), NOW);
      expect(r.accessKeyId).toBe(AK);
      // The router reads the same key that was signed.
      expect(decodeRequestPath(rawUrl.split('?')[0]!)).toBe(`/bucket/${key}`);
    }
  });

  it.each(KEYS)('presigned URL for key %j', (key) => {
    for (const query of QUERIES) {
      const rawUrl = presignUrl({ ...CLIENT, method: 'GET', url: urlFor(key, query), headers: { host: 'h:9000' }, expiresSec: 60 });
      const r = verifyRequest({ method: 'GET', rawUrl, headers: { host: 'h:9000' } }, NOW);
      expect(r.presigned).toBe(true);
    }
  });

  it('secrets with spaces, unicode, + and / work', () => {
    for (const secret of ['with space', 'ünï/cödé+', '+/=~%2F', 'x'.repeat(200)]) {
      const s = signRequest({ ...CLIENT, secretKey: secret, method: 'GET', url: BASE + '/b/k' });
      const r = verifyRequest(
        { method: 'GET', rawUrl: '/b/k', headers: s.headers },
        opts({ now: CLIENT.date, lookupSecret: () => secret }),
      );
      expect(r.accessKeyId).toBe(AK);
    }
  });

  it('reports the payload mode and hash', () => {
    const hash = createHash('sha256').update('body').digest('hex');
    expect(verifyRequest(signed('PUT', '/b/k', {}, hash), NOW)).toMatchObject({ payloadMode: 'SIGNED', payloadSha256: hash });
    for (const mode of [
      'UNSIGNED-PAYLOAD',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
    ] as const) {
      const r: AuthResult = verifyRequest(signed('PUT', '/b/k', {}, mode), NOW);
      expect(r.payloadMode).toBe(mode);
      expect(r.payloadSha256).toBeUndefined();
    }
  });

  it('accepts an uppercase signed payload hash and reports it lowercase', () => {
    const hash = createHash('sha256').update('body').digest('hex').toUpperCase();
    expect(verifyRequest(signed('PUT', '/b/k', {}, hash), NOW).payloadSha256).toBe(hash.toLowerCase());
  });

  it('presigned URL with X-Amz-Content-Sha256 is a SIGNED payload', () => {
    const hash = createHash('sha256').update('body').digest('hex');
    const rawUrl = presignUrl({ ...CLIENT, method: 'PUT', url: '/b/k', headers: { host: 'h' }, expiresSec: 604800, payloadHash: hash });
    expect(verifyRequest({ method: 'PUT', rawUrl, headers: { host: 'h' } }, NOW)).toMatchObject({
      payloadMode: 'SIGNED',
      payloadSha256: hash,
    });
  });

  it('presigned URL with a security token and extra signed headers', () => {
    const rawUrl = presignUrl({
      ...CLIENT,
      method: 'PUT',
      url: '/b/k?x-id=PutObject',
      headers: { host: 'h', 'x-amz-meta-a': 'v', 'content-type': 'text/plain' },
      expiresSec: 300,
      securityToken: 'tok/en+==',
    });
    const headers = { host: 'h', 'x-amz-meta-a': 'v', 'content-type': 'text/plain' };
    expect(verifyRequest({ method: 'PUT', rawUrl, headers }, NOW).presigned).toBe(true);
    expectS3Error(
      () => verifyRequest({ method: 'PUT', rawUrl, headers: { ...headers, 'x-amz-meta-a': 'w' } }, NOW),
      'SignatureDoesNotMatch',
    );
  });

  it('header values: trimmed, spaces collapsed, repeated headers joined with ","', () => {
    const s = signed('GET', '/b/k', { 'x-amz-meta-a': '  one   two  ', 'x-amz-meta-list': '1,2' });
    expect(verifyRequest({ ...s, headers: { ...s.headers, 'x-amz-meta-a': 'one two' } }, NOW).accessKeyId).toBe(AK);
    expect(verifyRequest({ ...s, headers: { ...s.headers, 'x-amz-meta-list': ['1', '2'] } }, NOW).accessKeyId).toBe(AK);
  });

  it('header names are case-insensitive; unsigned ordinary headers are allowed', () => {
    const s = signed('GET', '/b/k');
    const upper: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.headers)) upper[k.toUpperCase()] = v;
    upper['User-Agent'] = 'aws-cli/2';
    upper['Accept-Encoding'] = 'identity';
    expect(verifyRequest({ ...s, headers: upper }, NOW).accessKeyId).toBe(AK);
  });

  it('absolute-form request targets', () => {
    const s = signed('GET', '/b/k?acl');
    expect(verifyRequest({ ...s, rawUrl: 'http://127.0.0.1:9000/b/k?acl' }, NOW).accessKeyId).toBe(AK);
  });

  it('tolerates Authorization header spacing variants', () => {
    const s = signed('GET', '/b/k');
    const m = /Credential=(\S+), SignedHeaders=(\S+), Signature=(\S+)/.exec(s.headers.authorization!)!;
    const [, cred, sh, sig] = m;
    for (const auth of [
      `AWS4-HMAC-SHA256 Credential=${cred},SignedHeaders=${sh},Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=${sh}, Signature=${sig}`,
      `AWS4-HMAC-SHA256   Credential=${cred} ,  SignedHeaders=${sh} ,Signature=${sig}  `,
      `AWS4-HMAC-SHA256 Signature=${sig},Credential=${cred},SignedHeaders=${sh}`,
      `AWS4-HMAC-SHA256 Credential=${cred} SignedHeaders=${sh} Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=${sh}, Signature=${sig!.toUpperCase()}`,
    ]) {
      expect(verifyRequest({ ...s, headers: { ...s.headers, authorization: auth } }, NOW).accessKeyId).toBe(AK);
    }
  });

  it('accepts a client that signs the raw path verbatim (e.g. unencoded sub-delims)', () => {
    const rawPath = "/b/it's(1)!*.txt";
    const headers = { host: 'h', 'x-amz-date': '20260101T120000Z', 'x-amz-content-sha256': EMPTY_SHA256 };
    const names = ['host', 'x-amz-content-sha256', 'x-amz-date'];
    const canonical = canonicalRequest({
      method: 'GET',
      canonicalUri: rawPath,
      canonicalQuery: '',
      canonicalHeaders: canonicalHeaders(names, normalizeHeaders(headers)),
      signedHeaders: names.join(';'),
      payloadHash: EMPTY_SHA256,
    });
    const scope = credentialScope('20260101', 'us-east-1', 's3');
    const sig = signatureHex(deriveSigningKey(SK, '20260101', 'us-east-1', 's3'), stringToSign('20260101T120000Z', scope, canonical));
    const authorization = authHeader(names.join(';'), sig, `${AK}/${scope}`);
    expect(verifyRequest({ method: 'GET', rawUrl: rawPath, headers: { ...headers, authorization } }, NOW).accessKeyId).toBe(AK);
  });

  it('uses the Date header when x-amz-date is absent', () => {
    const headers = { host: 'h', date: 'Thu, 01 Jan 2026 12:00:00 GMT', 'x-amz-content-sha256': EMPTY_SHA256 };
    const names = ['date', 'host', 'x-amz-content-sha256'];
    const canonical = canonicalRequest({
      method: 'GET',
      canonicalUri: '/b/k',
      canonicalQuery: '',
      canonicalHeaders: canonicalHeaders(names, normalizeHeaders(headers)),
      signedHeaders: names.join(';'),
      payloadHash: EMPTY_SHA256,
    });
    const scope = credentialScope('20260101', 'us-east-1', 's3');
    const sig = signatureHex(deriveSigningKey(SK, '20260101', 'us-east-1', 's3'), stringToSign('20260101T120000Z', scope, canonical));
    const authorization = authHeader(names.join(';'), sig, `${AK}/${scope}`);
    const r = verifyRequest({ method: 'GET', rawUrl: '/b/k', headers: { ...headers, authorization } }, NOW);
    expect(r.amzDate).toBe('20260101T120000Z');
  });
});

describe('tampering fails', () => {
  const hash = createHash('sha256').update('body').digest('hex');
  const original = signed('PUT', '/bucket/some%20key?partNumber=1&uploadId=abc', { 'x-amz-meta-a': 'v', range: 'bytes=0-1' }, hash);

  it('the untampered request verifies', () => {
    expect(verifyRequest(original, NOW).accessKeyId).toBe(AK);
  });

  const cases: [string, (r: typeof original) => typeof original][] = [
    ['method', (r) => ({ ...r, method: 'POST' })],
    ['path', (r) => ({ ...r, rawUrl: r.rawUrl.replace('some%20key', 'some%20kez') })],
    ['path to a different key encoding the same bytes differently', (r) => ({ ...r, rawUrl: r.rawUrl.replace('some%20key', 'some%2520key') })],
    ['query value', (r) => ({ ...r, rawUrl: r.rawUrl.replace('partNumber=1', 'partNumber=2') })],
    ['added query parameter', (r) => ({ ...r, rawUrl: r.rawUrl + '&x=1' })],
    ['removed query parameter', (r) => ({ ...r, rawUrl: r.rawUrl.replace('&uploadId=abc', '') })],
    ['signed header value', (r) => ({ ...r, headers: { ...r.headers, range: 'bytes=0-2' } })],
    ['signed x-amz-meta value', (r) => ({ ...r, headers: { ...r.headers, 'x-amz-meta-a': 'w' } })],
    ['host', (r) => ({ ...r, headers: { ...r.headers, host: '127.0.0.1:9001' } })],
    ['x-amz-date by one second', (r) => ({ ...r, headers: { ...r.headers, 'x-amz-date': '20260101T120001Z' } })],
    ['payload hash', (r) => ({ ...r, headers: { ...r.headers, 'x-amz-content-sha256': EMPTY_SHA256 } })],
    ['payload mode', (r) => ({ ...r, headers: { ...r.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })],
    ['signature', (r) => ({ ...r, headers: { ...r.headers, authorization: r.headers.authorization!.replace(/.$/, (c) => (c === '0' ? '1' : '0')) } })],
    ['signed headers list', (r) => ({ ...r, headers: { ...r.headers, authorization: r.headers.authorization!.replace(';range', '') } })],
    ['access key (another valid key)', (r) => ({ ...r, headers: { ...r.headers, authorization: r.headers.authorization!.replace(AK, 'OTHERKEY') } })],
  ];

  it.each(cases)('%s → SignatureDoesNotMatch', (_name, tamper) => {
    const err = expectS3Error(() => verifyRequest(tamper(original), NOW), 'SignatureDoesNotMatch');
    expect(err.httpStatus).toBe(403);
    expect(err.extra['CanonicalRequest']).toContain('\n');
    expect(err.extra['StringToSign']).toMatch(/^AWS4-HMAC-SHA256\n/);
  });

  it('unknown access key → InvalidAccessKeyId', () => {
    const r = { ...original, headers: { ...original.headers, authorization: original.headers.authorization!.replace(AK, 'NOPE') } };
    const err = expectS3Error(() => verifyRequest(r, NOW), 'InvalidAccessKeyId');
    expect(err.httpStatus).toBe(403);
    expect(err.extra['AWSAccessKeyId']).toBe('NOPE');
  });

  it('an unsigned x-amz-* header → AccessDenied with HeadersNotSigned', () => {
    const r = { ...original, headers: { ...original.headers, 'x-amz-meta-extra': '1' } };
    const err = expectS3Error(() => verifyRequest(r, NOW), 'AccessDenied');
    expect(err.extra['HeadersNotSigned']).toBe('x-amz-meta-extra');
  });

  it('host must be signed', () => {
    const auth = original.headers.authorization!.replace('SignedHeaders=host;', 'SignedHeaders=');
    const err = expectS3Error(() => verifyRequest({ ...original, headers: { ...original.headers, authorization: auth } }, NOW), 'AccessDenied');
    expect(err.extra['HeadersNotSigned']).toBe('host');
  });

  it('x-amz-content-sha256 must be signed', () => {
    const auth = original.headers.authorization!.replace(';x-amz-content-sha256', '');
    const err = expectS3Error(() => verifyRequest({ ...original, headers: { ...original.headers, authorization: auth } }, NOW), 'AccessDenied');
    expect(err.extra['HeadersNotSigned']).toBe('x-amz-content-sha256');
  });
});

describe('clock skew', () => {
  const r = signed('GET', '/b/k');
  const at = (minutes: number, maxSkewMs?: number) =>
    opts({ now: new Date(CLIENT.date.getTime() + minutes * 60_000), ...(maxSkewMs === undefined ? {} : { maxSkewMs }) });

  it('within 15 minutes either way is accepted', () => {
    for (const m of [-15, -14, 0, 14, 15]) expect(verifyRequest(r, at(m)).accessKeyId).toBe(AK);
  });

  it.each([-16, 16, 60 * 24])('%i minutes off → RequestTimeTooSkewed', (m) => {
    const err = expectS3Error(() => verifyRequest(r, at(m)), 'RequestTimeTooSkewed');
    expect(err.httpStatus).toBe(403);
    expect(err.extra).toMatchObject({ RequestTime: '20260101T120000Z', MaxAllowedSkewMilliseconds: '900000' });
  });

  it('maxSkewMs is configurable', () => {
    expectS3Error(() => verifyRequest(r, at(2, 60_000)), 'RequestTimeTooSkewed');
  });
});

describe('refused and malformed authentication', () => {
  const good = signed('GET', '/b/k');
  const withAuth = (authorization: string) => ({ ...good, headers: { ...good.headers, authorization } });
  const cred = `${AK}/20260101/us-east-1/s3/aws4_request`;
  const sig = 'a'.repeat(64);
  const sh = 'host;x-amz-content-sha256;x-amz-date';

  it('no authentication → AccessDenied', () => {
    const err = expectS3Error(() => verifyRequest({ method: 'GET', rawUrl: '/b/k', headers: { host: 'h' } }, NOW), 'AccessDenied');
    expect(err.httpStatus).toBe(403);
  });

  it('SigV2 header → clear refusal', () => {
    const err = expectS3Error(() => verifyRequest(withAuth(`AWS ${AK}:frJIUN8DYpKDtOLCwo//yllqDzg=`), NOW), 'InvalidRequest');
    expect(err.message).toBe('Signature Version 2 is not supported; use Signature Version 4');
  });

  it('SigV2 query → clear refusal', () => {
    const err = expectS3Error(
      () =>
        verifyRequest(
          { method: 'GET', rawUrl: `/b/k?AWSAccessKeyId=${AK}&Expires=1141889120&Signature=vjbyPxybd%2F`, headers: { host: 'h' } },
          NOW,
        ),
      'InvalidRequest',
    );
    expect(err.message).toContain('Signature Version 2 is not supported');
  });

  it('SigV4A and unknown schemes', () => {
    expect(expectS3Error(() => verifyRequest(withAuth(`AWS4-ECDSA-P256-SHA256 Credential=${cred}`), NOW), 'InvalidRequest').message).toContain('4A');
    expectS3Error(() => verifyRequest(withAuth('Bearer abc'), NOW), 'InvalidArgument');
  });

  it('header and query authentication together → InvalidArgument', () => {
    const rawUrl = presignUrl({ ...CLIENT, method: 'GET', url: '/b/k', headers: { host: 'h' }, expiresSec: 60 });
    expectS3Error(() => verifyRequest({ ...good, rawUrl }, NOW), 'InvalidArgument');
  });

  it.each([
    ['missing Signature', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=${sh}`],
    ['missing Credential', `AWS4-HMAC-SHA256 SignedHeaders=${sh}, Signature=${sig}`],
    ['repeated component', `AWS4-HMAC-SHA256 Credential=${cred}, Credential=${cred}, SignedHeaders=${sh}, Signature=${sig}`],
    ['unknown component', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=${sh}, Signature=${sig}, Foo=bar`],
    ['short credential', `AWS4-HMAC-SHA256 Credential=${AK}/20260101/us-east-1, SignedHeaders=${sh}, Signature=${sig}`],
    ['bad credential date', `AWS4-HMAC-SHA256 Credential=${AK}/2026011/us-east-1/s3/aws4_request, SignedHeaders=${sh}, Signature=${sig}`],
    ['wrong service', `AWS4-HMAC-SHA256 Credential=${AK}/20260101/us-east-1/ec2/aws4_request, SignedHeaders=${sh}, Signature=${sig}`],
    ['wrong terminator', `AWS4-HMAC-SHA256 Credential=${AK}/20260101/us-east-1/s3/aws5_request, SignedHeaders=${sh}, Signature=${sig}`],
    ['credential date ≠ x-amz-date', `AWS4-HMAC-SHA256 Credential=${AK}/20260102/us-east-1/s3/aws4_request, SignedHeaders=${sh}, Signature=${sig}`],
    ['signature not hex', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=${sh}, Signature=xyz`],
    ['empty SignedHeaders', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=, Signature=${sig}`],
    ['repeated signed header', `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host;host, Signature=${sig}`],
  ])('%s → AuthorizationHeaderMalformed', (_name, auth) => {
    const err = expectS3Error(() => verifyRequest(withAuth(auth), NOW), 'AuthorizationHeaderMalformed');
    expect(err.httpStatus).toBe(400);
    expect(err.message).toMatch(/^The authorization header is malformed; /);
  });

  it('wrong region → AuthorizationHeaderMalformed naming the expected region', () => {
    const s = signRequest({ ...CLIENT, region: 'eu-west-1', method: 'GET', url: BASE + '/b/k' });
    const err = expectS3Error(() => verifyRequest({ method: 'GET', rawUrl: '/b/k', headers: s.headers }, NOW), 'AuthorizationHeaderMalformed');
    expect(err.message).toBe("The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'");
    expect(err.extra['Region']).toBe('us-east-1');
  });

  it('missing or invalid x-amz-content-sha256', () => {
    const { ['x-amz-content-sha256']: _omit, ...rest } = good.headers;
    expect(expectS3Error(() => verifyRequest({ ...good, headers: rest }, NOW), 'InvalidRequest').message).toContain('x-amz-content-sha256');
    expectS3Error(() => verifyRequest({ ...good, headers: { ...good.headers, 'x-amz-content-sha256': 'abc' } }, NOW), 'InvalidArgument');
    expectS3Error(
      () => verifyRequest({ ...good, headers: { ...good.headers, 'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' } }, NOW),
      'InvalidArgument',
    );
  });

  it('missing or malformed request date → AccessDenied', () => {
    const { ['x-amz-date']: _omit, ...rest } = good.headers;
    expectS3Error(() => verifyRequest({ ...good, headers: rest }, NOW), 'AccessDenied');
    expectS3Error(() => verifyRequest({ ...good, headers: { ...good.headers, 'x-amz-date': '2026-01-01T12:00:00Z' } }, NOW), 'AccessDenied');
    expectS3Error(() => verifyRequest({ ...good, headers: { ...good.headers, 'x-amz-date': '20260231T120000Z' } }, NOW), 'AccessDenied');
  });

  it('bad percent-encoding in the query → InvalidArgument', () => {
    expectS3Error(() => verifyRequest({ ...good, rawUrl: '/b/k?prefix=%ZZ' }, NOW), 'InvalidArgument');
  });
});

describe('malformed presigned URLs', () => {
  const valid = presignUrl({ ...CLIENT, method: 'GET', url: '/b/k', headers: { host: 'h' }, expiresSec: 3600 });
  const verify = (rawUrl: string) => verifyRequest({ method: 'GET', rawUrl, headers: { host: 'h' } }, NOW);

  it('the valid one verifies', () => {
    expect(verify(valid).presigned).toBe(true);
  });

  it.each([
    ['missing X-Amz-Date', valid.replace(/&X-Amz-Date=[^&]*/, '')],
    ['missing X-Amz-Expires', valid.replace(/&X-Amz-Expires=[^&]*/, '')],
    ['missing X-Amz-SignedHeaders', valid.replace(/&X-Amz-SignedHeaders=[^&]*/, '')],
    ['missing X-Amz-Signature', valid.replace(/&X-Amz-Signature=[^&]*/, '')],
    ['missing X-Amz-Algorithm', valid.replace(/X-Amz-Algorithm=[^&]*&/, '')],
    ['wrong algorithm', valid.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1')],
    ['expires more than a week', valid.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604801')],
    ['expires negative', valid.replace('X-Amz-Expires=3600', 'X-Amz-Expires=-1')],
    ['expires not a number', valid.replace('X-Amz-Expires=3600', 'X-Amz-Expires=soon')],
    ['bad date', valid.replace('X-Amz-Date=20260101T120000Z', 'X-Amz-Date=2026-01-01')],
    ['impossible date', valid.replace('X-Amz-Date=20260101T120000Z', 'X-Amz-Date=20260101T250000Z')],
    ['credential date ≠ X-Amz-Date', valid.replace('%2F20260101%2F', '%2F20260102%2F')],
    ['malformed credential', valid.replace(/X-Amz-Credential=[^&]*/, 'X-Amz-Credential=nope')],
    ['repeated parameter', valid + '&X-Amz-Expires=3600'],
    ['malformed signature', valid.replace(/X-Amz-Signature=[^&]*/, 'X-Amz-Signature=zz')],
  ])('%s → AuthorizationQueryParametersError', (_name, rawUrl) => {
    expect(expectS3Error(() => verify(rawUrl), 'AuthorizationQueryParametersError').httpStatus).toBe(400);
  });

  it('wrong region names the expected one', () => {
    const url = presignUrl({ ...CLIENT, region: 'eu-west-1', method: 'GET', url: '/b/k', headers: { host: 'h' }, expiresSec: 60 });
    const err = expectS3Error(() => verify(url), 'AuthorizationQueryParametersError');
    expect(err.message).toContain("the region 'eu-west-1' is wrong; expecting 'us-east-1'");
    expect(err.extra['Region']).toBe('us-east-1');
  });

  it('a week is the maximum and is accepted', () => {
    const url = presignUrl({ ...CLIENT, method: 'GET', url: '/b/k', headers: { host: 'h' }, expiresSec: 604800 });
    expect(verifyRequest({ method: 'GET', rawUrl: url, headers: { host: 'h' } }, opts({ now: new Date(CLIENT.date.getTime() + 604800_000) })).presigned).toBe(true);
  });

  it('streaming payloads are refused with presigned URLs', () => {
    const url = presignUrl({ ...CLIENT, method: 'PUT', url: '/b/k', headers: { host: 'h' }, expiresSec: 60, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' });
    expectS3Error(() => verifyRequest({ method: 'PUT', rawUrl: url, headers: { host: 'h' } }, NOW), 'InvalidRequest');
  });

  it('an unsigned x-amz-* header on a presigned request is refused', () => {
    expectS3Error(() => verifyRequest({ method: 'GET', rawUrl: valid, headers: { host: 'h', 'x-amz-acl': 'public-read' } }, NOW), 'AccessDenied');
  });
});
