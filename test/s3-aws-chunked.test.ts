// aws-chunked decoding: the AWS-documented signed examples (with and without trailer), every chunk
// boundary split (1 byte at a time and seeded random splits), truncation at every byte, tampering,
// framing errors, limits, and seeded encoder → decoder round trips.

import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  AwsChunkedDecoder,
  AwsChunkedEncoder,
  awsChunkedEncodedLength,
  awsChunkedOptionsFor,
  encodeAwsChunked,
  type AwsChunkedDecoderOptions,
  type AwsChunkedSigning,
} from '../src/s3/aws-chunked.js';
import { S3Error } from '../src/s3/s3-error.js';
import { deriveSigningKey, signRequest, verifyRequest, type StreamingPayloadMode } from '../src/s3/sigv4.js';

const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KEY = deriveSigningKey(SK, '20130524', 'us-east-1', 's3');
const CTX = { signingKey: KEY, amzDate: '20130524T000000Z', scope: '20130524/us-east-1/s3/aws4_request' };
const EXAMPLE_DATA = Buffer.alloc(66560, 'a');

const PAYLOAD_EXAMPLE = {
  seed: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  sigs: [
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ],
};
const TRAILER_EXAMPLE = {
  seed: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
  sigs: [
    'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
    '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
    '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
  ],
  trailer: 'x-amz-checksum-crc32c:sOO8/Q==',
  trailerSig: 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435',
};

function exampleBody(sigs: string[], trailerLines: string[] = []): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    Buffer.alloc(65536, 'a'),
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    Buffer.alloc(1024, 'a'),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n`),
    Buffer.from(trailerLines.map((l) => l + '\r\n').join('')),
    Buffer.from('\r\n'),
  ]);
}

const PAYLOAD_BODY = exampleBody(PAYLOAD_EXAMPLE.sigs);
const TRAILER_BODY = exampleBody(TRAILER_EXAMPLE.sigs, [
  TRAILER_EXAMPLE.trailer,
  `x-amz-trailer-signature:${TRAILER_EXAMPLE.trailerSig}`,
]);

const payloadOptions: AwsChunkedDecoderOptions = {
  mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  signing: { ...CTX, seedSignature: PAYLOAD_EXAMPLE.seed },
  decodedContentLength: 66560,
};
const trailerOptions: AwsChunkedDecoderOptions = {
  mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  signing: { ...CTX, seedSignature: TRAILER_EXAMPLE.seed },
  decodedContentLength: 66560,
  expectedTrailers: ['x-amz-checksum-crc32c'],
};

interface Decoded {
  data: Buffer;
  pieces: Buffer[];
  trailers: Record<string, string>;
}

async function decode(pieces: Buffer[], options: AwsChunkedDecoderOptions): Promise<Decoded> {
  const decoder = new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  // A Writable sink sees each pushed chunk as is (an async-iterator consumer may concatenate them).
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  await pipeline(Readable.from(pieces), decoder, sink);
  return { data: Buffer.concat(out), pieces: out, trailers: Object.fromEntries(decoder.trailers) };
}

async function decodeError(pieces: Buffer[], options: AwsChunkedDecoderOptions): Promise<S3Error> {
  try {
    await decode(pieces, options);
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    return err as S3Error;
  }
  throw new Error('decoding succeeded, an error was expected');
}

/** mulberry32: small seeded PRNG so failures replay. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSplit(buf: Buffer, rand: () => number, maxPiece: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let off = 0; off < buf.length; ) {
    const n = 1 + Math.floor(rand() * Math.min(maxPiece, buf.length - off));
    pieces.push(buf.subarray(off, off + n));
    off += n;
  }
  return pieces;
}

function bytewise(buf: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) pieces.push(buf.subarray(i, i + 1));
  return pieces;
}

function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('AWS example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (64 KiB + 1 KiB + final)', () => {
  it('decodes and verifies every chunk signature', async () => {
    const r = await decode([PAYLOAD_BODY], payloadOptions);
    expect(r.data.equals(EXAMPLE_DATA)).toBe(true);
    expect(r.trailers).toEqual({});
  });

  it('has the documented Content-Length, and the encoder reproduces it byte for byte', () => {
    expect(PAYLOAD_BODY.length).toBe(66824);
    expect(awsChunkedEncodedLength(66560, 65536, { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' })).toBe(66824);
    const encoded = encodeAwsChunked(EXAMPLE_DATA, { ...payloadOptions, chunkBytes: 65536 });
    expect(encoded.equals(PAYLOAD_BODY)).toBe(true);
  });

  it('decodes when fed one byte at a time', async () => {
    const r = await decode(bytewise(PAYLOAD_BODY), payloadOptions);
    expect(r.data.equals(EXAMPLE_DATA)).toBe(true);
  });

  it('decodes with seeded random splits', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed);
      const pieces = randomSplit(PAYLOAD_BODY, rand, seed % 2 ? 7 : 20000);
      const r = await decode(pieces, payloadOptions);
      expect(r.data.equals(EXAMPLE_DATA), `seed ${seed}`).toBe(true);
    }
  });

  it('end to end from the request headers: verifyRequest → awsChunkedOptionsFor → decode', async () => {
    const headers = {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;' +
        'x-amz-decoded-content-length;x-amz-storage-class, ' +
        `Signature=${PAYLOAD_EXAMPLE.seed}`,
    };
    const auth = verifyRequest(
      { method: 'PUT', rawUrl: '/examplebucket/chunkObject.txt', headers },
      { region: 'us-east-1', lookupSecret: () => SK, now: new Date('2013-05-24T00:05:00Z') },
    );
    expect(auth.payloadMode).toBe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    const options = awsChunkedOptionsFor(auth as typeof auth & { payloadMode: StreamingPayloadMode }, headers);
    expect(options.decodedContentLength).toBe(66560);
    const r = await decode(randomSplit(PAYLOAD_BODY, prng(7), 5000), options);
    expect(r.data.equals(EXAMPLE_DATA)).toBe(true);
  });

  const sigs = PAYLOAD_EXAMPLE.sigs;
  const chunk = (data: Buffer, sig: string) =>
    Buffer.concat([Buffer.from(`${data.length.toString(16)};chunk-signature=${sig}\r\n`), data, Buffer.from('\r\n')]);
  const final = (sig: string) => Buffer.from(`0;chunk-signature=${sig}\r\n\r\n`);
  const a64 = Buffer.alloc(65536, 'a');
  const a1 = Buffer.alloc(1024, 'a');

  it.each<[string, () => Buffer]>([
    ['a data byte changed', () => { const b = Buffer.from(PAYLOAD_BODY); b[200] = 0x62; return b; }],
    ['a chunk signature changed', () => Buffer.from(PAYLOAD_BODY.toString('latin1').replace(sigs[1]!, '0'.repeat(64)), 'latin1')],
    ['a chunk signature missing', () => Buffer.from(PAYLOAD_BODY.toString('latin1').replace(`400;chunk-signature=${sigs[1]}`, '400'), 'latin1')],
    ['the final signature wrong', () => Buffer.concat([chunk(a64, sigs[0]!), chunk(a1, sigs[1]!), final(sigs[1]!)])],
    ['chunks reordered', () => Buffer.concat([chunk(a1, sigs[1]!), chunk(a64, sigs[0]!), final(sigs[2]!)])],
    ['a chunk dropped', () => Buffer.concat([chunk(a64, sigs[0]!), final(sigs[2]!)])],
    ['cut at a chunk boundary with a replayed signature', () => Buffer.concat([chunk(a64, sigs[0]!), final(sigs[1]!)])],
  ])('%s → SignatureDoesNotMatch', async (_name, body) => {
    const options = { ...payloadOptions };
    delete options.decodedContentLength;
    const err = await decodeError([body()], options);
    expect(err.code).toBe('SignatureDoesNotMatch');
    expect(err.httpStatus).toBe(403);
  });

  it('a trailer on a non-trailer body is refused', async () => {
    const body = exampleBody(sigs, ['x-amz-checksum-crc32:AAAAAA==']);
    expect((await decodeError([body], payloadOptions)).code).toBe('MalformedTrailerError');
  });
});

describe('AWS example: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', () => {
  it('the trailing checksum is the CRC32C of the data', () => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(EXAMPLE_DATA));
    expect(crc.toString('base64')).toBe('sOO8/Q==');
  });

  it('decodes, verifies chunk and trailer signatures, exposes the trailer', async () => {
    const r = await decode([TRAILER_BODY], trailerOptions);
    expect(r.data.equals(EXAMPLE_DATA)).toBe(true);
    expect(r.trailers).toEqual({ 'x-amz-checksum-crc32c': 'sOO8/Q==' });
  });

  it('the encoder reproduces the documented body', () => {
    const encoded = encodeAwsChunked(EXAMPLE_DATA, {
      ...trailerOptions,
      chunkBytes: 65536,
      trailers: [['x-amz-checksum-crc32c', 'sOO8/Q==']],
    });
    expect(encoded.equals(TRAILER_BODY)).toBe(true);
    expect(
      awsChunkedEncodedLength(66560, 65536, {
        mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        trailers: [['x-amz-checksum-crc32c', 'sOO8/Q==']],
      }),
    ).toBe(TRAILER_BODY.length);
  });

  it('decodes one byte at a time', async () => {
    const r = await decode(bytewise(TRAILER_BODY), trailerOptions);
    expect(r.data.equals(EXAMPLE_DATA)).toBe(true);
    expect(r.trailers['x-amz-checksum-crc32c']).toBe('sOO8/Q==');
  });

  const replace = (from: string, to: string) => Buffer.from(TRAILER_BODY.toString('latin1').replace(from, to), 'latin1');
  const noExpect = { ...trailerOptions, expectedTrailers: undefined } as AwsChunkedDecoderOptions;

  it.each<[string, () => Buffer]>([
    ['checksum changed', () => replace('sOO8/Q==', 'AAAAAA==')],
    ['a trailer added', () => replace(TRAILER_EXAMPLE.trailer + '\r\n', TRAILER_EXAMPLE.trailer + '\r\nx-amz-meta-x:1\r\n')],
    ['the trailer dropped', () => replace(TRAILER_EXAMPLE.trailer + '\r\n', '')],
    ['the trailer signature changed', () => replace(TRAILER_EXAMPLE.trailerSig, TRAILER_EXAMPLE.seed)],
    ['the trailer signature missing', () => replace(`x-amz-trailer-signature:${TRAILER_EXAMPLE.trailerSig}\r\n`, '')],
  ])('%s → SignatureDoesNotMatch', async (_name, body) => {
    expect((await decodeError([body()], noExpect)).code).toBe('SignatureDoesNotMatch');
  });

  it('declared trailers must match x-amz-trailer; none declared allows none', async () => {
    expect((await decodeError([TRAILER_BODY], { ...trailerOptions, expectedTrailers: [] })).code).toBe('MalformedTrailerError');
    expect((await decodeError([TRAILER_BODY], { ...trailerOptions, expectedTrailers: ['x-amz-checksum-crc32'] })).code).toBe(
      'MalformedTrailerError',
    );
    expect(
      (await decodeError([TRAILER_BODY], { ...trailerOptions, expectedTrailers: ['x-amz-checksum-crc32c', 'x-amz-checksum-sha256'] }))
        .code,
    ).toBe('MalformedTrailerError');
  });

  it('tolerates a missing final CRLF once the trailer signature has arrived', async () => {
    const r = await decode([TRAILER_BODY.subarray(0, TRAILER_BODY.length - 2)], trailerOptions);
    expect(r.trailers['x-amz-checksum-crc32c']).toBe('sOO8/Q==');
  });
});

describe('STREAMING-UNSIGNED-PAYLOAD-TRAILER', () => {
  const unsigned: AwsChunkedDecoderOptions = {
    mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    decodedContentLength: 11,
    expectedTrailers: ['x-amz-checksum-crc32'],
  };
  const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');

  it('decodes the SDK framing and exposes the checksum trailer', async () => {
    const r = await decode([body], unsigned);
    expect(r.data.toString()).toBe('hello world');
    expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
    const encoded = encodeAwsChunked(Buffer.from('hello world'), {
      mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      chunkBytes: 5,
      trailers: [['x-amz-checksum-crc32', 'DUoRhQ==']],
    });
    expect(encoded.toString()).toBe('5\r\nhello\r\n5\r\n worl\r\n1\r\nd\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
    expect((await decode(bytewise(encoded), unsigned)).data.toString()).toBe('hello world');
  });

  it('ignores chunk extensions, accepts uppercase hex and trailer-name case/spacing', async () => {
    const b = Buffer.from('B;chunk-signature=abc;foo=bar\r\nhello world\r\n0\r\nX-Amz-Checksum-CRC32 : DUoRhQ==\r\n\r\n');
    const r = await decode([b], unsigned);
    expect(r.data.toString()).toBe('hello world');
    expect(r.trailers).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
  });

  it('empty bodies', async () => {
    expect((await decode([Buffer.from('0\r\n\r\n')], { mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', decodedContentLength: 0 })).data.length).toBe(0);
    const signing: AwsChunkedSigning = { ...CTX, seedSignature: PAYLOAD_EXAMPLE.seed };
    const empty = encodeAwsChunked(Buffer.alloc(0), { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing, chunkBytes: 8192 });
    expect(empty.toString('latin1')).toMatch(/^0;chunk-signature=[0-9a-f]{64}\r\n\r\n$/);
    expect((await decode([empty], { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing, decodedContentLength: 0 })).data.length).toBe(0);
  });

  it('truncation at every byte → IncompleteBody (except the tolerated missing final CRLF)', async () => {
    for (let cut = 0; cut < body.length; cut++) {
      if (cut === body.length - 2) continue;
      const err = await decodeError([body.subarray(0, cut)].filter((b) => b.length > 0), unsigned);
      expect(err.code, `cut at ${cut}`).toBe('IncompleteBody');
    }
  });
});

describe('framing errors and limits', () => {
  const unsigned: AwsChunkedDecoderOptions = { mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' };
  const err = async (text: string | Buffer, options: AwsChunkedDecoderOptions = unsigned) => {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    const whole = await decodeError([buf], options);
    // The same verdict when the input arrives one byte at a time.
    expect((await decodeError(bytewise(buf), options)).code).toBe(whole.code);
    return whole.code;
  };

  it.each<[string, string, string]>([
    ['bad hex size', 'InvalidRequest', 'zz\r\nhello\r\n0\r\n\r\n'],
    ['size with a sign', 'InvalidRequest', '-5\r\nhello\r\n0\r\n\r\n'],
    ['size with spaces', 'InvalidRequest', ' 5\r\nhello\r\n0\r\n\r\n'],
    ['size too many digits', 'InvalidRequest', '00000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['header ended by LF only', 'InvalidRequest', '5\nhello\r\n0\r\n\r\n'],
    ['data not followed by CRLF', 'InvalidRequest', '5\r\nhelloXX0\r\n\r\n'],
    ['data followed by LF only', 'InvalidRequest', '5\r\nhello\n0\r\n\r\n'],
    ['bytes after the end', 'InvalidRequest', '5\r\nhello\r\n0\r\n\r\nextra'],
    ['trailer without a name', 'MalformedTrailerError', '5\r\nhello\r\n0\r\n:value\r\n\r\n'],
    ['trailer without a colon', 'MalformedTrailerError', '5\r\nhello\r\n0\r\nnocolon\r\n\r\n'],
    ['trailer line ended by LF', 'MalformedTrailerError', '5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\n\r\n'],
    ['duplicate trailer', 'MalformedTrailerError', '5\r\nhello\r\n0\r\na:1\r\na:2\r\n\r\n'],
    ['trailer after the trailer signature', 'MalformedTrailerError', `5\r\nhello\r\n0\r\nx-amz-trailer-signature:${'a'.repeat(64)}\r\na:1\r\n\r\n`],
    ['empty input', 'IncompleteBody', ''],
    ['only a partial header', 'IncompleteBody', '5'],
    ['cut inside data', 'IncompleteBody', '5\r\nhel'],
    ['no final chunk', 'IncompleteBody', '5\r\nhello\r\n'],
  ])('%s → %s', async (_name, code, text) => {
    if (text === '') {
      expect((await decodeError([], unsigned)).code).toBe(code);
      return;
    }
    expect(await err(text)).toBe(code);
  });

  it('decoded length must match x-amz-decoded-content-length', async () => {
    expect(await err('5\r\nhello\r\n0\r\n\r\n', { ...unsigned, decodedContentLength: 4 })).toBe('InvalidRequest');
    expect(await err('5\r\nhello\r\n0\r\n\r\n', { ...unsigned, decodedContentLength: 6 })).toBe('IncompleteBody');
  });

  it('a chunk header line is bounded (4 KiB default), even before its LF arrives', async () => {
    expect(await err('5;' + 'x'.repeat(5000) + '\r\nhello\r\n0\r\n\r\n')).toBe('InvalidRequest');
    expect(await err('5;' + 'x'.repeat(5000))).toBe('InvalidRequest');
    expect((await decode([Buffer.from('5;' + 'x'.repeat(4000) + '\r\nhello\r\n0\r\n\r\n')], unsigned)).data.toString()).toBe('hello');
  });

  it('the trailer section is bounded (16 KiB default)', async () => {
    const many = Array.from({ length: 400 }, (_, i) => `x-amz-meta-t${i}:${'v'.repeat(40)}\r\n`).join('');
    expect(await err('5\r\nhello\r\n0\r\n' + many + '\r\n')).toBe('MalformedTrailerError');
    expect(await err('5\r\nhello\r\n0\r\nx:' + 'v'.repeat(20000))).toBe('MalformedTrailerError');
  });

  it('a chunk is bounded by chunkBytesMax', async () => {
    expect(await err('100001\r\n', { ...unsigned, chunkBytesMax: 0x100000 })).toBe('InvalidRequest');
  });

  it('signed modes need a signing context', () => {
    expect(() => new AwsChunkedDecoder({ mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' })).toThrow(TypeError);
  });

  it('truncation of a signed body at every byte → IncompleteBody', async () => {
    const signing: AwsChunkedSigning = { ...CTX, seedSignature: PAYLOAD_EXAMPLE.seed };
    const body = encodeAwsChunked(Buffer.from('0123456789abcdefghij'), { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing, chunkBytes: 8 });
    const options: AwsChunkedDecoderOptions = { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing, decodedContentLength: 20 };
    expect((await decode([body], options)).data.toString()).toBe('0123456789abcdefghij');
    for (let cut = 0; cut < body.length; cut++) {
      const e = await decodeError([body.subarray(0, cut)].filter((b) => b.length > 0), options);
      expect(e.code, `cut at ${cut}`).toBe('IncompleteBody');
    }
  });
});

describe('big chunks', () => {
  it('an 8 MiB signed chunk streams through in zero-copy slices', async () => {
    const data = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const signing: AwsChunkedSigning = { ...CTX, seedSignature: PAYLOAD_EXAMPLE.seed };
    const body = encodeAwsChunked(data, { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', signing, chunkBytes: 8 * 1024 * 1024, trailers: [['x-amz-checksum-sha256', 'x']] });
    const pieces = randomSplit(body, prng(99), 64 * 1024);
    const r = await decode(pieces, { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', signing, decodedContentLength: data.length });
    expect(createHash('sha256').update(r.data).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    // Every emitted piece is a view into an input buffer, not a copy.
    const inputs = new Set(pieces.map((p) => p.buffer));
    expect(r.pieces.every((p) => inputs.has(p.buffer))).toBe(true);
  });

  it('mixed chunk sizes from 64 KiB to 8 MiB fed in 1 KiB pieces', async () => {
    const signing: AwsChunkedSigning = { ...CTX, seedSignature: PAYLOAD_EXAMPLE.seed };
    const encoder = new AwsChunkedEncoder({ mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing });
    const sizes = [64 * 1024, 1024 * 1024, 8 * 1024 * 1024, 100_000, 1];
    const datas = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const body = Buffer.concat([...datas.flatMap((d) => encoder.chunk(d)), encoder.end()]);
    const pieces: Buffer[] = [];
    for (let off = 0; off < body.length; off += 1024) pieces.push(body.subarray(off, off + 1024));
    const r = await decode(pieces, { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing });
    expect(r.data.equals(Buffer.concat(datas))).toBe(true);
  });
});

describe('seeded encoder → decoder round trips', () => {
  const modes: StreamingPayloadMode[] = [
    'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
    'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  ];

  it('random sizes, chunkings, trailers and splits decode to the original', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = prng(seed);
      const mode = modes[seed % 3]!;
      const size = Math.floor(rand() * 200_000);
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = Math.floor(rand() * 256);
      const chunkBytes = 1 + Math.floor(rand() * 70_000);
      const trailers: [string, string][] =
        mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' || rand() < 0.3
          ? []
          : [['x-amz-checksum-crc32c', Buffer.from([1, 2, 3, 4]).toString('base64')]];
      const signing: AwsChunkedSigning = { ...CTX, seedSignature: createHash('sha256').update(String(seed)).digest('hex') };
      const body = encodeAwsChunked(data, { mode, signing, chunkBytes, trailers });
      expect(body.length, `seed ${seed}`).toBe(awsChunkedEncodedLength(size, chunkBytes, { mode, trailers }));
      const r = await decode(randomSplit(body, rand, 1 + Math.floor(rand() * 9000)), {
        mode,
        signing,
        decodedContentLength: size,
        expectedTrailers: trailers.map(([n]) => n),
      });
      expect(r.data.equals(data), `seed ${seed}`).toBe(true);
      expect(r.trailers, `seed ${seed}`).toEqual(Object.fromEntries(trailers));
    }
  });

  it('a body signed by signRequest\'s key chain verifies end to end', async () => {
    const date = new Date('2026-01-01T00:00:00Z');
    const mode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' as const;
    const data = Buffer.from('x'.repeat(100_000));
    const headers = {
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(data.length),
      'x-amz-trailer': 'x-amz-checksum-crc32c',
    };
    const s = signRequest({ method: 'PUT', url: 'http://h/b/k', headers, payloadHash: mode, accessKeyId: 'AK', secretKey: 'SK', region: 'us-east-1', date });
    const auth = verifyRequest({ method: 'PUT', rawUrl: '/b/k', headers: s.headers }, { region: 'us-east-1', lookupSecret: () => 'SK', now: date });
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(data));
    const body = encodeAwsChunked(data, {
      mode,
      signing: { signingKey: s.signingKey, amzDate: s.amzDate, scope: s.scope, seedSignature: s.signature },
      chunkBytes: 65536,
      trailers: [['x-amz-checksum-crc32c', crc.toString('base64')]],
    });
    const r = await decode([body], awsChunkedOptionsFor(auth as typeof auth & { payloadMode: typeof mode }, s.headers));
    expect(r.data.equals(data)).toBe(true);
    expect(r.trailers['x-amz-checksum-crc32c']).toBe(crc.toString('base64'));
  });
});

describe('awsChunkedOptionsFor', () => {
  const auth = {
    accessKeyId: 'AK',
    payloadMode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' as const,
    seedSignature: 'a'.repeat(64),
    signingKey: KEY,
    scope: CTX.scope,
    amzDate: CTX.amzDate,
    presigned: false,
  };

  it('reads x-amz-decoded-content-length and x-amz-trailer', () => {
    const o = awsChunkedOptionsFor(auth, { 'X-Amz-Decoded-Content-Length': '42', 'x-amz-trailer': 'X-Amz-Checksum-CRC32, x-amz-checksum-sha256' });
    expect(o.decodedContentLength).toBe(42);
    expect(o.expectedTrailers).toEqual(['x-amz-checksum-crc32', 'x-amz-checksum-sha256']);
    expect(awsChunkedOptionsFor(auth, {}).decodedContentLength).toBeUndefined();
    expect(awsChunkedOptionsFor(auth, {}).expectedTrailers).toEqual([]);
  });

  it('refuses a malformed x-amz-decoded-content-length', () => {
    for (const bad of ['-1', '1.5', 'abc', '', '9'.repeat(20)]) {
      expect(() => awsChunkedOptionsFor(auth, { 'x-amz-decoded-content-length': bad })).toThrow(S3Error);
    }
  });
});
