// S3 error bodies and the S3Error classes.

import { describe, expect, it } from 'vitest';
import {
  S3AuthError,
  S3Error,
  S3_ERROR_DEFAULTS,
  isS3Error,
  renderErrorXml,
  renderS3ErrorXml,
} from '../src/s3/error-xml.js';
import { childText, parseXml } from '../src/s3/xml.js';

describe('S3Error', () => {
  it('takes the default status and message of its code', () => {
    const err = new S3Error('NoSuchKey');
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('NoSuchKey');
    expect(err.httpStatus).toBe(404);
    expect(err.message).toBe('The specified key does not exist.');
    expect(err.extra).toEqual({});
  });

  it.each<[keyof typeof S3_ERROR_DEFAULTS, number]>([
    ['AccessDenied', 403],
    ['SignatureDoesNotMatch', 403],
    ['InvalidAccessKeyId', 403],
    ['RequestTimeTooSkewed', 403],
    ['AuthorizationHeaderMalformed', 400],
    ['AuthorizationQueryParametersError', 400],
    ['IncompleteBody', 400],
    ['MalformedXML', 400],
    ['MalformedTrailerError', 400],
    ['InvalidRequest', 400],
    ['InvalidArgument', 400],
    ['XAmzContentSHA256Mismatch', 400],
    ['BadDigest', 400],
    ['InvalidRange', 416],
    ['PreconditionFailed', 412],
    ['NotModified', 304],
    ['BucketNotEmpty', 409],
    ['NotImplemented', 501],
    ['InternalError', 500],
  ])('%s → %i', (code, status) => {
    expect(new S3Error(code).httpStatus).toBe(status);
  });

  it('keeps message, status override, extra fields and cause', () => {
    const cause = new Error('root');
    const err = new S3Error('AccessDenied', 'Request has expired', { httpStatus: 400, extra: { Expires: 'x' }, cause });
    expect(err.message).toBe('Request has expired');
    expect(err.httpStatus).toBe(400);
    expect(err.extra).toEqual({ Expires: 'x' });
    expect(err.cause).toBe(cause);
    expect(Object.isFrozen(err.extra)).toBe(true);
  });

  it('S3AuthError is an S3Error', () => {
    const err = new S3AuthError('SignatureDoesNotMatch');
    expect(err).toBeInstanceOf(S3Error);
    expect(err.name).toBe('S3AuthError');
    expect(isS3Error(err)).toBe(true);
    expect(isS3Error(err, 'SignatureDoesNotMatch')).toBe(true);
    expect(isS3Error(err, 'AccessDenied')).toBe(false);
    expect(isS3Error(new Error('x'))).toBe(false);
  });
});

describe('error body', () => {
  it('renders S3 field order: Code, Message, extras, Resource, RequestId', () => {
    const xml = renderErrorXml({
      code: 'NoSuchKey',
      message: 'The specified key does not exist.',
      resource: '/bucket/a&b<c>',
      requestId: 'REQ123',
      extra: { Key: 'a&b<c>', BucketName: 'bucket' },
    });
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>' +
        '<Key>a&amp;b&lt;c&gt;</Key><BucketName>bucket</BucketName><Resource>/bucket/a&amp;b&lt;c&gt;</Resource>' +
        '<RequestId>REQ123</RequestId></Error>',
    );
  });

  it('omits Resource when not given', () => {
    const xml = renderErrorXml({ code: 'AccessDenied', message: 'Access Denied', requestId: 'R' });
    expect(xml).not.toContain('Resource');
  });

  it('renders an S3Error with its extra fields, parseable by our own parser', () => {
    const err = new S3AuthError('SignatureDoesNotMatch', undefined, {
      extra: { AWSAccessKeyId: 'AK', StringToSign: 'AWS4-HMAC-SHA256\n2026\nscope\nabc', CanonicalRequest: 'GET\n/\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD' },
    });
    const root = parseXml(renderS3ErrorXml(err, { resource: '/b/k', requestId: 'R1' }), { maxBytes: 65536 });
    expect(root.name).toBe('Error');
    expect(childText(root, 'Code')).toBe('SignatureDoesNotMatch');
    expect(childText(root, 'Message')).toBe(S3_ERROR_DEFAULTS.SignatureDoesNotMatch.message);
    expect(childText(root, 'StringToSign')).toBe('AWS4-HMAC-SHA256\n2026\nscope\nabc');
    expect(childText(root, 'CanonicalRequest')).toContain('host:h');
    expect(childText(root, 'Resource')).toBe('/b/k');
    expect(childText(root, 'RequestId')).toBe('R1');
    expect(root.children.map((c) => c.name)).toEqual([
      'Code',
      'Message',
      'AWSAccessKeyId',
      'StringToSign',
      'CanonicalRequest',
      'Resource',
      'RequestId',
    ]);
  });

  it('refuses extra fields that collide with standard ones or are not XML names', () => {
    expect(() => renderErrorXml({ code: 'X', message: 'm', requestId: 'r', extra: { Code: 'y' } })).toThrow(/collides/);
    expect(() => renderErrorXml({ code: 'X', message: 'm', requestId: 'r', extra: { 'bad name': 'y' } })).toThrow();
  });

  it('X-Amz-Expires style extra names are valid XML names', () => {
    const xml = renderS3ErrorXml(new S3Error('AccessDenied', 'Request has expired', { extra: { 'X-Amz-Expires': '60' } }), {
      requestId: 'r',
    });
    expect(xml).toContain('<X-Amz-Expires>60</X-Amz-Expires>');
  });
});
