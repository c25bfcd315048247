// The S3 front driven by raw node:http requests signed with sediment's own client signer, for what an
// SDK never sends: missing, wrong, skewed, expired and SigV2 authentication; signed and streaming bodies
// whose hash, chunk signature or trailing checksum is wrong; bodies cut short; bad XML and ranges;
// unsupported sub-resources; and connection reuse after errors. Every failed write is checked to have
// left no object behind (or the previous version intact).
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsChunkedEncoder, awsChunkedEncodedLength, encodeAwsChunked } from '../src/s3/aws-chunked-encode.js';
import { presignUrl } from '../src/s3/sigv4-sign.js';
import { payloadBuffer } from './helpers/s3-data.js';
import {
  errorCode,
  objectPath,
  rawRequest,
  sha256Hex,
  signHeaders,
  signedRequest,
  xmlField,
  type RawResponse,
  type SignOptions,
} from './helpers/s3-raw.js';
import { ACCESS_KEY, REGION, SECRET_KEY, startHarness, type S3Harness } from './helpers/s3-server.js';

const BUCKET = 'raw-bucket';
let h: S3Harness;

beforeAll(async () => {
  h = await startHarness();
  const res = await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port: h.port });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await h?.close();
});

const send = (o: Omit<SignOptions, 'port'> & { agent?: Agent | false }): Promise<RawResponse> => signedRequest({ ...o, port: h.port });

async function put(key: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return send({ method: 'PUT', path: objectPath(BUCKET, key), body, headers });
}

/** The object's bytes, or undefined when it does not exist. */
async function read(key: string): Promise<Buffer | undefined> {
  const res = await send({ method: 'GET', path: objectPath(BUCKET, key) });
  if (res.status === 404) {
    expect(errorCode(res)).toBe('NoSuchKey');
    return undefined;
  }
  expect(res.status).toBe(200);
  return res.body;
}

/** An S3 error response: status, XML code, RequestId in the body equal to the x-amz-request-id header. */
function expectS3Error(res: RawResponse, status: number, code: string): void {
  expect({ status: res.status, code: errorCode(res) }).toEqual({ status, code });
  expect(res.headers['content-type']).toBe('application/xml');
  const id = res.headers['x-amz-request-id'];
  expect(id).toMatch(/^[0-9A-F]{16}$/);
  expect(xmlField(res.body, 'RequestId')).toBe(id);
  expect(xmlField(res.body, 'Message')).toBeTruthy();
}

/** A node:http request whose body and lifetime the test drives itself. */
function requestRaw(port: number, method: string, path: string, headers: Record<string, string>, onResponse: (res: IncomingMessage) => void): ClientRequest {
  return httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, onResponse);
}

async function waitIdle(): Promise<void> {
  for (let i = 0; i < 200 && h.s3.inflight > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(h.s3.inflight).toBe(0);
}

// ------------------------------------------------------------------------------------ authentication

describe('authentication', () => {
  it('an unsigned request gets 403 AccessDenied XML with RequestId and x-amz-request-id', async () => {
    const res = await rawRequest(h.port, { method: 'GET', path: `/${BUCKET}` });
    expectS3Error(res, 403, 'AccessDenied');
    expect(xmlField(res.body, 'Resource')).toBe(`/${BUCKET}`);
    const root = await rawRequest(h.port, { method: 'GET', path: '/' });
    expectS3Error(root, 403, 'AccessDenied');
    expect(root.headers['x-amz-request-id']).not.toBe(res.headers['x-amz-request-id']);
  });

  it('a wrong secret gets SignatureDoesNotMatch; an unknown key InvalidAccessKeyId', async () => {
    const wrong = await send({ method: 'GET', path: `/${BUCKET}`, secretKey: 'not the secret' });
    expectS3Error(wrong, 403, 'SignatureDoesNotMatch');
    expect(xmlField(wrong.body, 'AWSAccessKeyId')).toBe(ACCESS_KEY);
    const unknown = await send({ method: 'GET', path: `/${BUCKET}`, accessKeyId: 'AKIDUNKNOWN000000000' });
    expectS3Error(unknown, 403, 'InvalidAccessKeyId');
  });

  it('a header changed after signing breaks the signature', async () => {
    const s = signHeaders({ method: 'GET', path: `/${BUCKET}?prefix=a`, port: h.port });
    const res = await rawRequest(h.port, { method: 'GET', path: `/${BUCKET}?prefix=b`, headers: s.headers });
    expectS3Error(res, 403, 'SignatureDoesNotMatch');
  });

  it('a clock 20 minutes off either way gets RequestTimeTooSkewed; 10 minutes is accepted', async () => {
    for (const offsetMs of [-20 * 60_000, 20 * 60_000]) {
      const res = await send({ method: 'GET', path: `/${BUCKET}`, date: new Date(Date.now() + offsetMs) });
      expectS3Error(res, 403, 'RequestTimeTooSkewed');
    }
    const ok = await send({ method: 'GET', path: `/${BUCKET}`, date: new Date(Date.now() - 10 * 60_000) });
    expect(ok.status).toBe(200);
  });

  it('SigV2 (header or query) is refused with a clear error', async () => {
    const header = await rawRequest(h.port, {
      method: 'GET',
      path: `/${BUCKET}`,
      headers: { Authorization: `AWS ${ACCESS_KEY}:frJIUN8DYpKDtOLCwo//yllqDzg=`, Date: new Date().toUTCString() },
    });
    expectS3Error(header, 400, 'InvalidRequest');
    expect(xmlField(header.body, 'Message')).toMatch(/Signature Version 2 is not supported/);
    const query = await rawRequest(h.port, {
      method: 'GET',
      path: `/${BUCKET}?AWSAccessKeyId=${ACCESS_KEY}&Expires=${Math.floor(Date.now() / 1000) + 60}&Signature=abc%3D`,
    });
    expectS3Error(query, 400, 'InvalidRequest');
    expect(xmlField(query.body, 'Message')).toMatch(/Version 4/);
  });

  it('presigned GET and PUT work; expired or tampered presigned URLs are refused', async () => {
    await put('presigned/obj', 'presigned body');
    const presign = (method: string, key: string, date: Date, expiresSec: number): string => {
      const url = presignUrl({ method, url: `http://127.0.0.1:${h.port}${objectPath(BUCKET, key)}`, expiresSec, accessKeyId: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION, date });
      return url.slice(url.indexOf('/', 'http://'.length));
    };
    const get = await rawRequest(h.port, { method: 'GET', path: presign('GET', 'presigned/obj', new Date(), 300) });
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('presigned body');

    const putRes = await rawRequest(h.port, { method: 'PUT', path: presign('PUT', 'presigned/uploaded é', new Date(), 300), body: 'via url', headers: { 'content-length': '7' } });
    expect(putRes.status).toBe(200);
    expect((await read('presigned/uploaded é'))?.toString()).toBe('via url');

    const expired = await rawRequest(h.port, { method: 'GET', path: presign('GET', 'presigned/obj', new Date(Date.now() - 2 * 3600_000), 60) });
    expectS3Error(expired, 403, 'AccessDenied');
    expect(xmlField(expired.body, 'Message')).toMatch(/expired/i);

    const path = presign('GET', 'presigned/obj', new Date(), 300);
    const tampered = await rawRequest(h.port, { method: 'GET', path: path.replace('presigned/obj', 'presigned/other') });
    expectS3Error(tampered, 403, 'SignatureDoesNotMatch');
    // A presigned GET URL does not authorize a PUT.
    const wrongMethod = await rawRequest(h.port, { method: 'PUT', path, body: 'x', headers: { 'content-length': '1' } });
    expectS3Error(wrongMethod, 403, 'SignatureDoesNotMatch');
    expect((await read('presigned/obj'))?.toString()).toBe('presigned body');
  });
});

// -------------------------------------------------------------------------------- body integrity

describe('payload verification', () => {
  it('a signed hex SHA-256 payload is verified: a wrong hash stores nothing', async () => {
    const body = Buffer.from('signed payload body');
    const good = await send({ method: 'PUT', path: objectPath(BUCKET, 'sha/good'), body });
    expect(good.status).toBe(200);
    expect(good.headers.etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);

    const bad = await send({ method: 'PUT', path: objectPath(BUCKET, 'sha/bad'), body, payloadHash: sha256Hex('some other body') });
    expectS3Error(bad, 400, 'XAmzContentSHA256Mismatch');
    expect(await read('sha/bad')).toBeUndefined();

    const overwrite = await send({ method: 'PUT', path: objectPath(BUCKET, 'sha/good'), body: 'replacement', payloadHash: sha256Hex('not it') });
    expectS3Error(overwrite, 400, 'XAmzContentSHA256Mismatch');
    expect((await read('sha/good'))?.equals(body)).toBe(true);

    const malformed = await send({ method: 'PUT', path: objectPath(BUCKET, 'sha/malformed'), body, payloadHash: 'not-a-hash' });
    expectS3Error(malformed, 400, 'InvalidArgument');
  });

  /** Signs a STREAMING-* request for `payload` and returns the headers plus an encoder seeded from it. */
  function streamingRequest(
    key: string,
    mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' | 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    decodedLength: number,
    chunkBytes: number,
    trailers: ReadonlyArray<readonly [string, string]> = [],
    contentLength = awsChunkedEncodedLength(decodedLength, chunkBytes, { mode, trailers }),
  ) {
    // Content-Length is signed: a test that sends a different body must say so before signing.
    const extra: Record<string, string> = {
      'x-amz-decoded-content-length': String(decodedLength),
      'content-length': String(contentLength),
    };
    if (trailers.length > 0) {
      extra['x-amz-trailer'] = trailers.map(([n]) => n).join(',');
      extra['content-encoding'] = 'aws-chunked';
    }
    const s = signHeaders({ method: 'PUT', path: objectPath(BUCKET, key), port: h.port, headers: extra, payloadHash: mode });
    const signing = { signingKey: s.signingKey, amzDate: s.amzDate, scope: s.scope, seedSignature: s.signature };
    return { headers: s.headers, signing, encode: (p: Buffer) => encodeAwsChunked(p, { mode, signing, chunkBytes, trailers }) };
  }

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chunk signatures verified; a tampered chunk signature or chunk stores nothing', async () => {
    const payload = payloadBuffer(200_000, 7);
    const chunkBytes = 64 * 1024;
    const ok = streamingRequest('chunked/good', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', payload.length, chunkBytes);
    const res = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'chunked/good'), headers: ok.headers, body: ok.encode(payload) });
    expect(res.status).toBe(200);
    expect((await read('chunked/good'))?.equals(payload)).toBe(true);

    // Flip one hex digit of the second chunk's signature.
    const t = streamingRequest('chunked/bad-sig', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', payload.length, chunkBytes);
    const wire = t.encode(payload);
    const sigAt = wire.indexOf(';chunk-signature=', wire.indexOf(';chunk-signature=') + 1) + ';chunk-signature='.length;
    wire[sigAt] = wire[sigAt] === 0x30 ? 0x31 : 0x30;
    const badSig = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'chunked/bad-sig'), headers: t.headers, body: wire });
    expectS3Error(badSig, 403, 'SignatureDoesNotMatch');
    expect(await read('chunked/bad-sig')).toBeUndefined();

    // Change one data byte of the last chunk (its signature no longer matches), over an existing object.
    const d = streamingRequest('chunked/good', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', payload.length, chunkBytes);
    const wire2 = d.encode(payloadBuffer(200_000, 8));
    wire2[wire2.length - 200] ^= 0xff;
    const badData = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'chunked/good'), headers: d.headers, body: wire2 });
    expectS3Error(badData, 403, 'SignatureDoesNotMatch');
    expect((await read('chunked/good'))?.equals(payload)).toBe(true);

    // More data than x-amz-decoded-content-length announces.
    const longLength = awsChunkedEncodedLength(2000, chunkBytes, { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' });
    const long = streamingRequest('chunked/long', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 1000, chunkBytes, [], longLength);
    const tooLong = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'chunked/long'), headers: long.headers, body: long.encode(payloadBuffer(2000, 9)) });
    expectS3Error(tooLong, 400, 'InvalidRequest');
    expect(await read('chunked/long')).toBeUndefined();
  });

  it('STREAMING-UNSIGNED-PAYLOAD-TRAILER: the trailing x-amz-checksum-crc32 is verified; a wrong one leaves the old version', async () => {
    const crc = (b: Buffer): string => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(b) >>> 0);
      return out.toString('base64');
    };
    const v1 = payloadBuffer(100_000, 11);
    const first = streamingRequest('trailer/obj', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', v1.length, 16 * 1024, [['x-amz-checksum-crc32', crc(v1)]]);
    const ok = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'trailer/obj'), headers: first.headers, body: first.encode(v1) });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-amz-checksum-crc32']).toBe(crc(v1));

    const v2 = payloadBuffer(100_000, 12);
    const wrong = streamingRequest('trailer/obj', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', v2.length, 16 * 1024, [['x-amz-checksum-crc32', crc(v1)]]);
    const bad = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'trailer/obj'), headers: wrong.headers, body: wrong.encode(v2) });
    expectS3Error(bad, 400, 'BadDigest');
    expect((await read('trailer/obj'))?.equals(v1)).toBe(true);

    const fresh = streamingRequest('trailer/new', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', v2.length, 16 * 1024, [['x-amz-checksum-crc32', crc(v1)]]);
    const badNew = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'trailer/new'), headers: fresh.headers, body: fresh.encode(v2) });
    expectS3Error(badNew, 400, 'BadDigest');
    expect(await read('trailer/new')).toBeUndefined();

    // The announced trailer never arrives.
    const enc = new AwsChunkedEncoder({ mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' });
    const noTrailer = Buffer.concat([...enc.chunk(v2), enc.end()]);
    const missing = streamingRequest('trailer/missing', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', v2.length, 16 * 1024, [['x-amz-checksum-crc32', crc(v2)]], noTrailer.length);
    const res = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'trailer/missing'), headers: missing.headers, body: noTrailer });
    expectS3Error(res, 400, 'MalformedTrailerError');
    expect(await read('trailer/missing')).toBeUndefined();

    // A checksum trailer no x-amz-trailer header declared (and a wrong one): refused, not dropped unchecked.
    const sneaky = encodeAwsChunked(v2, { mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', chunkBytes: 16 * 1024, trailers: [['x-amz-checksum-crc32', crc(v1)]] });
    const undeclared = streamingRequest('trailer/undeclared', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', v2.length, 16 * 1024, [], sneaky.length);
    expect(undeclared.headers['x-amz-trailer']).toBeUndefined();
    const refused = await rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, 'trailer/undeclared'), headers: undeclared.headers, body: sneaky });
    expectS3Error(refused, 400, 'MalformedTrailerError');
    expect(await read('trailer/undeclared')).toBeUndefined();
  });

  it('Content-MD5: a mismatch is BadDigest, a malformed value InvalidDigest; neither stores anything', async () => {
    const body = Buffer.from('content md5 body');
    const md5 = createHash('md5').update(body).digest('base64');
    expect((await put('md5/ok', body, { 'content-md5': md5 })).status).toBe(200);
    const wrong = await put('md5/wrong', body, { 'content-md5': createHash('md5').update('other').digest('base64') });
    expectS3Error(wrong, 400, 'BadDigest');
    expect(await read('md5/wrong')).toBeUndefined();
    const malformed = await put('md5/malformed', body, { 'content-md5': 'abc' });
    expectS3Error(malformed, 400, 'InvalidDigest');
    expect(await read('md5/malformed')).toBeUndefined();
    const overwrite = await put('md5/ok', 'new body', { 'content-md5': md5 });
    expectS3Error(overwrite, 400, 'BadDigest');
    expect((await read('md5/ok'))?.equals(body)).toBe(true);
  });

  it('a body cut short (Content-Length 1000, 500 bytes, socket destroyed) leaves nothing and the server healthy', async () => {
    await put('cut/existing', 'the old version');
    for (const key of ['cut/new', 'cut/existing']) {
      const s = signHeaders({ method: 'PUT', path: objectPath(BUCKET, key), port: h.port, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': '1000' } });
      const head = [`PUT ${objectPath(BUCKET, key)} HTTP/1.1`, ...Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      const sock: Socket = connect(h.port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      sock.on('error', () => undefined);
      sock.write(head);
      sock.write(Buffer.alloc(500, 0x61));
      await new Promise((r) => setTimeout(r, 50)); // let the server start consuming the body
      sock.destroy();
      await waitIdle();
    }
    expect(await read('cut/new')).toBeUndefined();
    expect((await read('cut/existing'))?.toString()).toBe('the old version');
    const health = await rawRequest(h.port, { method: 'GET', path: '/_sediment/health' });
    expect(health.status).toBe(200);
    expect((await put('cut/after', 'still writable')).status).toBe(200);
  });
});

// ------------------------------------------------------------------------------- malformed requests

describe('malformed requests', () => {
  it('bad XML on CompleteMultipartUpload and DeleteObjects is MalformedXML', async () => {
    const init = await send({ method: 'POST', path: `${objectPath(BUCKET, 'xml/mp')}?uploads` });
    expect(init.status).toBe(200);
    const uploadId = xmlField(init.body, 'UploadId')!;
    const bodies = ['<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>', 'not xml at all', '<Other/>', '<CompleteMultipartUpload></CompleteMultipartUpload>'];
    for (const body of bodies) {
      const res = await send({ method: 'POST', path: `${objectPath(BUCKET, 'xml/mp')}?uploadId=${uploadId}`, body });
      expectS3Error(res, 400, 'MalformedXML');
    }
    const del = (body: string) =>
      send({ method: 'POST', path: `/${BUCKET}?delete`, body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
    for (const body of ['<Delete><Object><Key>a</Key></Object>', '<<>>', '<Delete></Delete>', '<Delete><Object></Object></Delete>']) {
      expectS3Error(await del(body), 400, 'MalformedXML');
    }
    // An entity declaration is refused, not expanded.
    const xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]><Delete><Object><Key>&x;</Key></Object></Delete>';
    expect((await del(xxe)).status).toBe(400);
    await send({ method: 'DELETE', path: `${objectPath(BUCKET, 'xml/mp')}?uploadId=${uploadId}` });
  });

  it('malformed multipart checksum inputs are 400s that store nothing and leave the upload open', async () => {
    const key = 'xml/sums';
    const create = (headers: Record<string, string>) => send({ method: 'POST', path: `${objectPath(BUCKET, key)}?uploads`, headers });
    expectS3Error(await create({ 'x-amz-checksum-algorithm': 'CRC32', 'x-amz-checksum-type': 'PARTIAL' }), 400, 'InvalidRequest');
    expectS3Error(await create({ 'x-amz-checksum-type': 'FULL_OBJECT' }), 400, 'InvalidRequest');
    expectS3Error(await create({ 'x-amz-checksum-algorithm': 'MD4' }), 400, 'InvalidRequest');
    const init = await create({ 'x-amz-checksum-algorithm': 'crc32', 'x-amz-checksum-type': 'full_object' });
    expect([init.status, init.headers['x-amz-checksum-algorithm'], init.headers['x-amz-checksum-type']]).toEqual([200, 'CRC32', 'FULL_OBJECT']);
    const uploadId = xmlField(init.body, 'UploadId')!;
    const part = Buffer.from('part one of the upload');
    const up = await send({ method: 'PUT', path: `${objectPath(BUCKET, key)}?partNumber=1&uploadId=${uploadId}`, body: part });
    expect(up.status).toBe(200);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(part) >>> 0);
    expect(up.headers['x-amz-checksum-crc32']).toBe(crc.toString('base64')); // computed by the server
    const etag = up.headers.etag as string;
    const xml = (sum: string) => `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag>${sum}</Part></CompleteMultipartUpload>`;
    const complete = (body: string, headers: Record<string, string> = {}) => send({ method: 'POST', path: `${objectPath(BUCKET, key)}?uploadId=${uploadId}`, body, headers });
    const cases: Array<[string, Record<string, string>, string]> = [
      [xml('<ChecksumCRC32>not base64!</ChecksumCRC32>'), {}, 'InvalidRequest'],
      [xml('<ChecksumCRC32>AAAAAAAA</ChecksumCRC32>'), {}, 'InvalidRequest'], // 6 bytes, not 4
      [xml(''), { 'x-amz-checksum-crc32': 'AAAAAA==' }, 'BadDigest'],
      [xml(''), { 'x-amz-checksum-crc32': `${crc.toString('base64')}-7` }, 'BadDigest'],
      [xml(''), { 'x-amz-checksum-crc32': '-1' }, 'InvalidRequest'],
      [xml(''), { 'x-amz-checksum-crc32': crc.toString('base64'), 'x-amz-checksum-crc32c': crc.toString('base64') }, 'InvalidRequest'],
      [xml(''), { 'x-amz-checksum-type': 'SOMETHING' }, 'InvalidRequest'],
      [xml(''), { 'x-amz-mp-object-size': 'lots' }, 'InvalidArgument'],
    ];
    for (const [body, headers, code] of cases) {
      expectS3Error(await complete(body, headers), 400, code);
      expect(await read(key)).toBeUndefined();
    }
    const ok = await complete(xml(`<ChecksumCRC32>${crc.toString('base64')}</ChecksumCRC32>`), { 'x-amz-checksum-crc32': crc.toString('base64'), 'x-amz-checksum-type': 'FULL_OBJECT', 'x-amz-mp-object-size': String(part.length) });
    expect(ok.status).toBe(200);
    expect([xmlField(ok.body, 'ChecksumCRC32'), xmlField(ok.body, 'ChecksumType')]).toEqual([crc.toString('base64'), 'FULL_OBJECT']);
    expect((await read(key))?.equals(part)).toBe(true);
  });

  it('a Range that is not a single byte range is ignored (200, whole object); unsatisfiable is 416', async () => {
    const body = payloadBuffer(5000, 21);
    await put('range/obj', body);
    for (const range of ['bytes=abc', 'bytes=5-2', 'items=0-1', 'bytes=0-1,5-6', 'bytes=-', 'bytes 0-5']) {
      const res = await send({ method: 'GET', path: objectPath(BUCKET, 'range/obj'), headers: { range } });
      expect({ range, status: res.status }).toEqual({ range, status: 200 });
      expect(res.body.equals(body)).toBe(true);
    }
    const unsatisfiable = await send({ method: 'GET', path: objectPath(BUCKET, 'range/obj'), headers: { range: 'bytes=5000-' } });
    expectS3Error(unsatisfiable, 416, 'InvalidRange');
    const zeroSuffix = await send({ method: 'GET', path: objectPath(BUCKET, 'range/obj'), headers: { range: 'bytes=-0' } });
    expectS3Error(zeroSuffix, 416, 'InvalidRange');
    // Numbers past any object's size: a start is unsatisfiable, an end reads to the end, as in S3.
    const hugeStart = await send({ method: 'GET', path: objectPath(BUCKET, 'range/obj'), headers: { range: 'bytes=99999999999999999999-' } });
    expectS3Error(hugeStart, 416, 'InvalidRange');
    const hugeEnd = await send({ method: 'GET', path: objectPath(BUCKET, 'range/obj'), headers: { range: 'bytes=4990-99999999999999999999' } });
    expect([hugeEnd.status, hugeEnd.headers['content-range']]).toEqual([206, 'bytes 4990-4999/5000']);
    expect(hugeEnd.body.equals(body.subarray(4990))).toBe(true);
  });

  it('?partNumber: a part the object lacks is 416 InvalidPartNumber naming it; not a number, or with a Range, is a 400', async () => {
    const body = payloadBuffer(3000, 22);
    await put('part/obj', body);
    const whole = await send({ method: 'GET', path: `${objectPath(BUCKET, 'part/obj')}?partNumber=1` });
    expect([whole.status, whole.headers['content-range'], whole.headers['x-amz-mp-parts-count']]).toEqual([206, 'bytes 0-2999/3000', undefined]);
    expect(whole.body.equals(body)).toBe(true);
    const missing = await send({ method: 'GET', path: `${objectPath(BUCKET, 'part/obj')}?partNumber=2` });
    expectS3Error(missing, 416, 'InvalidPartNumber');
    expect([xmlField(missing.body, 'PartNumberRequested'), xmlField(missing.body, 'ActualPartCount')]).toEqual(['2', '1']);
    for (const q of ['partNumber=', 'partNumber=x', 'partNumber=0', 'partNumber=10001', 'partNumber=1.0', 'partNumber=-1']) {
      expectS3Error(await send({ method: 'GET', path: `${objectPath(BUCKET, 'part/obj')}?${q}` }), 400, 'InvalidArgument');
    }
    const both = await send({ method: 'GET', path: `${objectPath(BUCKET, 'part/obj')}?partNumber=1`, headers: { range: 'bytes=0-1' } });
    expectS3Error(both, 400, 'InvalidRequest');
  });

  it('unknown sub-resources and methods are NotImplemented / MethodNotAllowed, never a crash', async () => {
    for (const path of [`${objectPath(BUCKET, 'range/obj')}?lifecycle`, `${objectPath(BUCKET, 'range/obj')}?policy`, `/${BUCKET}?inventory`, `/${BUCKET}?analytics`]) {
      const res = await send({ method: 'GET', path });
      expectS3Error(res, 501, 'NotImplemented');
    }
    // A bucket setting sediment does not keep: read as unset (s3-bucket-unset.test.ts), never stored.
    expectS3Error(await send({ method: 'GET', path: `/${BUCKET}?policy` }), 404, 'NoSuchBucketPolicy');
    expectS3Error(await send({ method: 'PUT', path: `/${BUCKET}?policy`, body: '{}' }), 501, 'NotImplemented');
    // ?attributes is GetObjectAttributes (GET on an object) only: on a bucket, or a PUT, it stores nothing.
    expectS3Error(await send({ method: 'GET', path: `/${BUCKET}?attributes` }), 501, 'NotImplemented');
    expectS3Error(await send({ method: 'PUT', path: `${objectPath(BUCKET, 'attr/put')}?attributes`, body: 'x' }), 501, 'NotImplemented');
    expect(await read('attr/put')).toBeUndefined();
    const attrs = await send({ method: 'GET', path: `${objectPath(BUCKET, 'range/obj')}?attributes` });
    expectS3Error(attrs, 400, 'InvalidArgument'); // no x-amz-object-attributes header
    const patch = await send({ method: 'PATCH', path: objectPath(BUCKET, 'range/obj') });
    expectS3Error(patch, 405, 'MethodNotAllowed');
    const health = await rawRequest(h.port, { method: 'GET', path: '/_sediment/health' });
    expect(health.status).toBe(200);
  });

  it('a malformed percent-encoding in the path or query is a 400, not a crash', async () => {
    // (The client signer refuses to sign these, so they go unsigned: decoding comes before auth.)
    for (const path of [`/${BUCKET}/bad%zzkey`, `/${BUCKET}/bad%C3`, `/${BUCKET}?prefix=%E0%A4%A`]) {
      expectS3Error(await rawRequest(h.port, { method: 'GET', path }), 400, 'InvalidArgument');
    }
    expect((await rawRequest(h.port, { method: 'GET', path: '/_sediment/health' })).status).toBe(200);
  });

  it('GET /_sediment/health answers 200 without authentication', async () => {
    const res = await rawRequest(h.port, { method: 'GET', path: '/_sediment/health' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 'ok' });
    expect(res.headers['x-amz-request-id']).toBeTruthy();
    const head = await rawRequest(h.port, { method: 'HEAD', path: '/_sediment/health' });
    expect(head.status).toBe(200);
  });
});

// ------------------------------------------------------------------------------- connection reuse

describe('more failure paths', () => {
  it('UploadPart with a wrong Content-MD5 stores no part; DeleteObjects needs Content-MD5 or a checksum', async () => {
    const init = await send({ method: 'POST', path: `${objectPath(BUCKET, 'more/mp')}?uploads` });
    const uploadId = xmlField(init.body, 'UploadId')!;
    const partPath = `${objectPath(BUCKET, 'more/mp')}?partNumber=1&uploadId=${uploadId}`;
    const bad = await send({ method: 'PUT', path: partPath, body: 'part body', headers: { 'content-md5': createHash('md5').update('other').digest('base64') } });
    expectS3Error(bad, 400, 'BadDigest');
    const parts = await send({ method: 'GET', path: `${objectPath(BUCKET, 'more/mp')}?uploadId=${uploadId}` });
    expect(parts.status).toBe(200);
    expect(parts.body.toString()).not.toContain('<Part>');
    expect((await send({ method: 'DELETE', path: `${objectPath(BUCKET, 'more/mp')}?uploadId=${uploadId}` })).status).toBe(204);

    const body = '<Delete><Object><Key>a</Key></Object></Delete>';
    expectS3Error(await send({ method: 'POST', path: `/${BUCKET}?delete`, body }), 400, 'InvalidRequest');
    const wrongMd5 = await send({ method: 'POST', path: `/${BUCKET}?delete`, body, headers: { 'content-md5': createHash('md5').update('x').digest('base64') } });
    expectS3Error(wrongMd5, 400, 'BadDigest');
  });

  it('x-amz-storage-class: an S3 class is accepted (stored hot), an unknown one is InvalidStorageClass on PUT, copy and multipart, storing nothing', async () => {
    expect((await put('sc/ok', 'x', { 'x-amz-storage-class': 'STANDARD_IA' })).status).toBe(200);
    expect((await read('sc/ok'))?.toString()).toBe('x');
    expectS3Error(await put('sc/bad', 'x', { 'x-amz-storage-class': 'COLDEST' }), 400, 'InvalidStorageClass');
    expect(await read('sc/bad')).toBeUndefined();
    const copy = await send({ method: 'PUT', path: `/${BUCKET}/sc/copy`, headers: { 'x-amz-copy-source': `/${BUCKET}/sc/ok`, 'x-amz-storage-class': 'glacier' } });
    expectS3Error(copy, 400, 'InvalidStorageClass');
    expect(await read('sc/copy')).toBeUndefined();
    expectS3Error(await send({ method: 'POST', path: `${objectPath(BUCKET, 'sc/mp')}?uploads`, headers: { 'x-amz-storage-class': 'X' } }), 400, 'InvalidStorageClass');
  });

  it('a write that asks for server-side encryption is refused (501), never stored in the clear', async () => {
    for (const [h, v] of [['x-amz-server-side-encryption', 'AES256'], ['x-amz-server-side-encryption', 'aws:kms'], ['x-amz-server-side-encryption-aws-kms-key-id', 'arn:aws:kms:us-east-1:1:key/x'], ['x-amz-server-side-encryption-customer-algorithm', 'AES256']] as const) {
      const res = await put('sse/obj', 'secret', { [h]: v });
      expectS3Error(res, 501, 'NotImplemented');
      expect(xmlField(res.body, 'Message')).toContain(h);
      expectS3Error(await send({ method: 'POST', path: `${objectPath(BUCKET, 'sse/mp')}?uploads`, headers: { [h]: v } }), 501, 'NotImplemented');
    }
    expect(await read('sse/obj')).toBeUndefined();
    expect((await put('sse/src', 'plain')).status).toBe(200);
    const copy = await send({ method: 'PUT', path: objectPath(BUCKET, 'sse/copy'), headers: { 'x-amz-copy-source': `/${BUCKET}/sse/src`, 'x-amz-server-side-encryption': 'AES256' } });
    expectS3Error(copy, 501, 'NotImplemented');
    expect(await read('sse/copy')).toBeUndefined();
  });

  it('metadata and tag names such as constructor and __proto__ are stored as given', async () => {
    const res = await put('proto/o1', 'p', { 'x-amz-meta-constructor': 'hello', 'x-amz-meta-__proto__': 'world', 'x-amz-tagging': '__proto__=a&constructor=b' });
    expect(res.status).toBe(200);
    const head = await send({ method: 'HEAD', path: objectPath(BUCKET, 'proto/o1') });
    expect([head.headers['x-amz-meta-constructor'], head.headers['x-amz-meta-__proto__'], head.headers['x-amz-tagging-count']]).toEqual(['hello', 'world', '2']);
    const tagXml = '<Tagging><TagSet><Tag><Key>__proto__</Key><Value>v</Value></Tag></TagSet></Tagging>';
    const md5 = createHash('md5').update(tagXml).digest('base64');
    expect((await send({ method: 'PUT', path: `${objectPath(BUCKET, 'proto/o1')}?tagging`, body: Buffer.from(tagXml), headers: { 'content-md5': md5 } })).status).toBe(200);
    const tags = await send({ method: 'GET', path: `${objectPath(BUCKET, 'proto/o1')}?tagging` });
    expect(tags.body.toString()).toContain('<Tag><Key>__proto__</Key><Value>v</Value></Tag>');
  });

  it('key and metadata limits: 1024-byte keys work, 1025 bytes is KeyTooLongError; > 2 KB of metadata is MetadataTooLarge', async () => {
    const okKey = 'k/' + 'é'.repeat(511); // 2 + 1022 bytes
    expect((await put(okKey, 'long key')).status).toBe(200);
    expect((await read(okKey))?.toString()).toBe('long key');
    expectS3Error(await put(okKey + 'x', 'too long'), 400, 'KeyTooLongError');
    const meta = await put('more/meta', 'm', { 'x-amz-meta-big': 'v'.repeat(2100) });
    expectS3Error(meta, 400, 'MetadataTooLarge');
    expect(await read('more/meta')).toBeUndefined();
  });

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks and a signed trailer; a wrong trailer signature stores nothing', async () => {
    const mode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' as const;
    const payload = payloadBuffer(70_000, 51);
    const sha = createHash('sha256').update(payload).digest('base64');
    const trailers: Array<[string, string]> = [['x-amz-checksum-sha256', sha]];
    const attempt = async (key: string, corruptTrailerSig: boolean) => {
      const length = awsChunkedEncodedLength(payload.length, 32 * 1024, { mode, trailers });
      const s = signHeaders({
        method: 'PUT',
        path: objectPath(BUCKET, key),
        port: h.port,
        payloadHash: mode,
        headers: { 'x-amz-decoded-content-length': String(payload.length), 'content-length': String(length), 'x-amz-trailer': 'x-amz-checksum-sha256', 'content-encoding': 'aws-chunked' },
      });
      const wire = encodeAwsChunked(payload, { mode, chunkBytes: 32 * 1024, trailers, signing: { signingKey: s.signingKey, amzDate: s.amzDate, scope: s.scope, seedSignature: s.signature } });
      if (corruptTrailerSig) {
        const at = wire.indexOf('x-amz-trailer-signature:') + 'x-amz-trailer-signature:'.length;
        wire[at] = wire[at] === 0x30 ? 0x31 : 0x30;
      }
      return rawRequest(h.port, { method: 'PUT', path: objectPath(BUCKET, key), headers: s.headers, body: wire });
    };
    const ok = await attempt('signed-trailer/good', false);
    expect(ok.status).toBe(200);
    expect(ok.headers['x-amz-checksum-sha256']).toBe(sha);
    expect((await read('signed-trailer/good'))?.equals(payload)).toBe(true);
    expectS3Error(await attempt('signed-trailer/bad', true), 403, 'SignatureDoesNotMatch');
    expect(await read('signed-trailer/bad')).toBeUndefined();
  });

  it('an aws-chunked body cut short by a closed socket stores nothing', async () => {
    const payload = payloadBuffer(300_000, 61);
    const mode = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' as const;
    const trailers: Array<[string, string]> = [['x-amz-checksum-crc32', 'AAAAAA==']];
    const length = awsChunkedEncodedLength(payload.length, 64 * 1024, { mode, trailers });
    const path = objectPath(BUCKET, 'cut/chunked');
    const s = signHeaders({
      method: 'PUT',
      path,
      port: h.port,
      payloadHash: mode,
      headers: { 'x-amz-decoded-content-length': String(payload.length), 'content-length': String(length), 'x-amz-trailer': 'x-amz-checksum-crc32', 'content-encoding': 'aws-chunked' },
    });
    const wire = encodeAwsChunked(payload, { mode, chunkBytes: 64 * 1024, trailers });
    const sock = connect(h.port, '127.0.0.1');
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    sock.write([`PUT ${path} HTTP/1.1`, ...Object.entries(s.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n'));
    sock.write(wire.subarray(0, 150_000));
    await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    await waitIdle();
    expect(await read('cut/chunked')).toBeUndefined();
  });

  it('a client that hangs up in the middle of a large GET does not wedge the server', async () => {
    const big = payloadBuffer(8 * 1024 * 1024, 71);
    await put('hangup/big', big);
    for (let round = 0; round < 3; round++) {
      const s = signHeaders({ method: 'GET', path: objectPath(BUCKET, 'hangup/big'), port: h.port });
      await new Promise<void>((resolve, reject) => {
        const req = requestRaw(h.port, 'GET', objectPath(BUCKET, 'hangup/big'), s.headers, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.once('error', reject);
        req.end();
      });
    }
    await waitIdle();
    const again = await send({ method: 'GET', path: objectPath(BUCKET, 'hangup/big') });
    expect(again.body.equals(big)).toBe(true);
  });

  it('Expect: 100-continue: the body is sent after the interim response and stored', async () => {
    const body = payloadBuffer(256 * 1024, 81);
    const path = objectPath(BUCKET, 'expect/continue');
    const s = signHeaders({ method: 'PUT', path, port: h.port, body, headers: { expect: '100-continue', 'content-length': String(body.length) } });
    const res = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = requestRaw(h.port, 'PUT', path, s.headers, (r) => {
        r.resume();
        r.on('end', () => resolve({ status: r.statusCode ?? 0, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(res).toEqual({ status: 200, continued: true });
    expect((await read('expect/continue'))?.equals(body)).toBe(true);
  });
});

describe('HTTP connection behaviour', () => {
  /**
   * Sends requests one after another over a keep-alive agent with one socket; `connections()` counts the
   * TCP connections the server accepted meanwhile (1 = every request reused the first socket).
   */
  function oneSocket() {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let accepted = 0;
    const onConnection = (): void => {
      accepted++;
    };
    h.s3.server.on('connection', onConnection);
    return {
      agent,
      connections: () => accepted,
      close: () => {
        h.s3.server.off('connection', onConnection);
        agent.destroy();
      },
    };
  }

  it('HEAD errors have no body (the next response on the socket parses cleanly)', async () => {
    await put('head/obj', 'head me');
    const c = oneSocket();
    try {
      const missing = await send({ method: 'HEAD', path: objectPath(BUCKET, 'head/none'), agent: c.agent });
      expect(missing.status).toBe(404);
      expect(missing.body.length).toBe(0);
      expect(missing.headers['x-amz-request-id']).toBeTruthy();
      const noAuth = await rawRequest(h.port, { method: 'HEAD', path: objectPath(BUCKET, 'head/obj'), agent: c.agent });
      expect(noAuth.status).toBe(403);
      expect(noAuth.body.length).toBe(0);
      const ok = await send({ method: 'GET', path: objectPath(BUCKET, 'head/obj'), agent: c.agent });
      expect(ok.body.toString()).toBe('head me');
      expect(c.connections()).toBe(1);
    } finally {
      c.close();
    }
    // The same over a raw socket: a HEAD 404 followed by a GET, both responses read back to back.
    const sock = connect(h.port, '127.0.0.1');
    const headReq = signHeaders({ method: 'HEAD', path: objectPath(BUCKET, 'head/none'), port: h.port });
    const getReq = signHeaders({ method: 'GET', path: objectPath(BUCKET, 'head/obj'), port: h.port });
    const lines = (m: string, p: string, hs: Record<string, string>) => [`${m} ${p} HTTP/1.1`, ...Object.entries(hs).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    sock.write(lines('HEAD', objectPath(BUCKET, 'head/none'), headReq.headers) + lines('GET', objectPath(BUCKET, 'head/obj'), { ...getReq.headers, connection: 'close' }));
    const chunks: Buffer[] = [];
    for await (const c2 of sock) chunks.push(c2 as Buffer);
    const text = Buffer.concat(chunks).toString('latin1');
    const responses = text.split(/(?=HTTP\/1\.1 )/);
    expect(responses.map((r) => r.slice(0, 12))).toEqual(['HTTP/1.1 404', 'HTTP/1.1 200']);
    expect(responses[0].endsWith('\r\n\r\n')).toBe(true);
    expect(responses[1].endsWith('head me')).toBe(true);
  });

  it('a keep-alive connection stays usable after error responses', async () => {
    const c = oneSocket();
    try {
      // Errors found before the first await (authentication) must not close a bodiless request's connection.
      const denied0 = await rawRequest(h.port, { method: 'GET', path: `/${BUCKET}`, agent: c.agent });
      expectS3Error(denied0, 403, 'AccessDenied');
      expect(denied0.headers.connection).toBe('keep-alive');
      expectS3Error(await send({ method: 'GET', path: `/${BUCKET}`, secretKey: 'wrong', agent: c.agent }), 403, 'SignatureDoesNotMatch');
      expectS3Error(await send({ method: 'GET', path: `/${BUCKET}`, date: new Date(Date.now() - 3600_000), agent: c.agent }), 403, 'RequestTimeTooSkewed');
      expect((await send({ method: 'HEAD', path: `/${BUCKET}`, date: new Date(Date.now() - 3600_000), agent: c.agent })).status).toBe(403);
      expectS3Error(await send({ method: 'GET', path: objectPath(BUCKET, 'nope'), agent: c.agent }), 404, 'NoSuchKey');
      expectS3Error(await send({ method: 'GET', path: `/${BUCKET}?inventory`, agent: c.agent }), 501, 'NotImplemented');
      // An error after the body was read (BadDigest) keeps the connection too.
      expectS3Error(await send({ method: 'PUT', path: objectPath(BUCKET, 'ka/x'), body: 'abc', headers: { 'content-md5': createHash('md5').update('xyz').digest('base64') }, agent: c.agent }), 400, 'BadDigest');
      const ok = await send({ method: 'PUT', path: objectPath(BUCKET, 'ka/x'), body: 'fine', agent: c.agent });
      expect(ok.status).toBe(200);
      expect(c.connections()).toBe(1);
      // An error before a large body was read: the server closes instead of parsing the body as a request;
      // the client's next request simply goes on a new connection and succeeds.
      const big = payloadBuffer(2 * 1024 * 1024, 31);
      const denied = await send({ method: 'PUT', path: objectPath(BUCKET, 'ka/big'), body: big, secretKey: 'wrong', agent: c.agent });
      expectS3Error(denied, 403, 'SignatureDoesNotMatch');
      expect(denied.headers.connection).toBe('close');
      const after = await send({ method: 'GET', path: objectPath(BUCKET, 'ka/x'), agent: c.agent });
      expect(after.body.toString()).toBe('fine');
      expect(c.connections()).toBe(2);
      expect(await read('ka/big')).toBeUndefined();
    } finally {
      c.close();
    }
  });

  it('a 1 MiB object and then 300 small requests on one keep-alive socket', async () => {
    const big = payloadBuffer(1024 * 1024, 41);
    await put('ka/big-one', big);
    for (let i = 0; i < 20; i++) await put(`ka/small-${i}`, `small ${i}`);
    const c = oneSocket();
    try {
      const first = await send({ method: 'GET', path: objectPath(BUCKET, 'ka/big-one'), agent: c.agent });
      expect(first.body.equals(big)).toBe(true);
      for (let i = 0; i < 300; i++) {
        const res = await send({ method: i % 3 === 2 ? 'HEAD' : 'GET', path: objectPath(BUCKET, `ka/small-${i % 20}`), agent: c.agent });
        expect(res.status).toBe(200);
        if (i % 3 !== 2) expect(res.body.toString()).toBe(`small ${i % 20}`);
      }
      expect(c.connections()).toBe(1);
    } finally {
      c.close();
    }
  });
});
