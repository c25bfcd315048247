// Time-boxed property fuzzing (fast-check) of every decoder that reads bytes sediment did not produce
// itself, or reads back from a disk that may lie: record frames and record payloads, footers, tails,
// segment headers, checkpoints, a whole-segment scan, the aws-chunked body decoder, the XML request
// parser and the SigV4 Authorization parser / request verifier.
// Contract checked: hostile input ends in the decoder's typed refusal (FormatError / S3Error) or in a
// value — never another exception (TypeError, RangeError: a crash path), never a hang; mutated valid
// input is refused where a checksum or signature covers it.
// Bounded: FUZZ_RUNS per property (x10 with SEDIMENT_SOAK=1). Seeded: SEDIMENT_SEED replays.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../src/index.js';
import { FormatError } from '../src/format/binary.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/format/checkpoint.js';
import { RecordType } from '../src/format/constants.js';
import { decodeFooterPayload, decodeTail, encodeFooterPayload } from '../src/format/footer.js';
import { decodeFrame, encodeFrame } from '../src/format/frame.js';
import { initHash } from '../src/format/hash.js';
import * as records from '../src/format/records.js';
import { decodeSegmentHeader, encodeSegmentHeader, NewerFormatError } from '../src/format/segment-header.js';
import { scanSegment } from '../src/engine/segment-scan.js';
import { decodeColdSegment, encodeColdSegment } from '../src/format/cold-segment.js';
import { decodeAccess, encodeAccess } from '../src/format/access-days.js';
import { AwsChunkedDecoder, type AwsChunkedDecoderOptions } from '../src/s3/aws-chunked.js';
import { encodeAwsChunked } from '../src/s3/aws-chunked-encode.js';
import { S3Error } from '../src/s3/s3-error.js';
import { parseXml } from '../src/s3/xml-parse.js';
import { parseAuthorizationHeader } from '../src/s3/sigv4-parse.js';
import { deriveSigningKey, signRequest, verifyRequest } from '../src/s3/sigv4.js';
import { SOAK, testSeed } from './helpers/prng.js';

const FUZZ_RUNS = SOAK ? 3000 : 300;
const seed = testSeed();
const params = { numRuns: FUZZ_RUNS, seed, endOnFailure: true };

beforeAll(() => initHash());

/** Runs `fn`; an exception must be one of `allowed`. Returns the value or undefined. */
function refusedOr<T>(fn: () => T, ...allowed: Array<abstract new (...a: never[]) => Error>): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (allowed.some((c) => err instanceof c)) return undefined;
    throw new Error(`unexpected ${(err as Error)?.name}: ${(err as Error)?.message} (replay: SEDIMENT_SEED=${seed})`, { cause: err });
  }
}

/** A valid encoding, then up to 4 byte edits, an optional cut and optional garbage at the end. */
function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .record({
      edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      extra: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ edits, cut, extra }) => {
      const b = Buffer.from(valid);
      for (const e of edits) if (b.length > 0) b[e.at % b.length] = e.value;
      const cutAt = cut === undefined ? b.length : cut % (b.length + 1);
      return Buffer.concat([b.subarray(0, cutAt), Buffer.from(extra)]);
    });
}

const bytes = fc.uint8Array({ maxLength: 512 }).map((u) => Buffer.from(u));

const manifest: records.ObjectManifest = {
  seq: 7, bucket: 'b', key: 'dir/k', versionId: '', uploadId: 99, mtimeMs: 1_700_000_000_000, size: 10, md5: Buffer.alloc(16, 1),
  partCount: 0, storageClass: 0, flags: 0, contentType: 'text/plain', headers: [['cache-control', 'no-cache']], userMetadata: [['a', 'b']],
  tags: [], checksums: [], lockMode: 0, retainUntilMs: 0, legalHold: false, chunks: [{ segmentId: 1, offset: 64, frameLen: 50, rawLen: 10 }], parts: [],
};

describe('on-disk format decoders', () => {
  it('record frames: refused with FormatError or decoded; a mutated frame is never accepted as different content', () => {
    const valid = encodeFrame(RecordType.CHUNK, 0, records.encodeChunkMeta({ uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: 5 }), Buffer.from('hello'));
    fc.assert(fc.property(bytes, (b) => void refusedOr(() => decodeFrame(b), FormatError)), params);
    fc.assert(
      fc.property(mutated(valid), (b) => {
        const f = refusedOr(() => decodeFrame(b), FormatError);
        // Accepted only if the frame part is the original (garbage may follow it).
        if (f) expect(b.subarray(0, valid.length).equals(valid)).toBe(true);
      }),
      params,
    );
  });

  it('record payloads (manifest, delete, bucket, upload records, chunk meta): FormatError or a value', () => {
    const decoders: Array<[string, (b: Buffer) => unknown, Buffer]> = [
      ['manifest', records.decodeManifest, records.encodeManifest(manifest)],
      ['delete', records.decodeDelete, records.encodeDelete({ seq: 3, bucket: 'b', key: 'k', versionId: '', mtimeMs: 5, flags: 0 })],
      ['bucket create', records.decodeBucketCreate, records.encodeBucketCreate({ seq: 1, name: 'b', createdMs: 2, region: 'r', flags: 0 })],
      ['bucket delete', records.decodeBucketDelete, records.encodeBucketDelete({ seq: 1, name: 'b' })],
      ['chunk meta', records.decodeChunkMeta, records.encodeChunkMeta({ uploadId: 1, partNumber: 2, chunkIndex: 3, rawLen: 4 })],
      ['upload part', records.decodeUploadPart, records.encodeUploadPart({ seq: 1, uploadId: 2, partNumber: 1, size: 3, md5: Buffer.alloc(16), mtimeMs: 4, checksums: [], chunks: manifest.chunks })],
      ['upload abort', records.decodeUploadAbort, records.encodeUploadAbort({ seq: 1, uploadId: 2 })],
    ];
    for (const [, decode, valid] of decoders) {
      fc.assert(fc.property(fc.oneof(bytes, mutated(valid)), (b) => void refusedOr(() => decode(b), FormatError)), params);
    }
  });

  it('footers, tails, segment headers and checkpoints: FormatError (or NewerFormatError) or a value', () => {
    const footer = encodeFooterPayload([{ type: RecordType.COMMIT, offset: 64, frameLen: 100, payload: records.encodeManifest(manifest) }]);
    const header = encodeSegmentHeader({ tier: 0, segmentId: 3, createdMs: 1 });
    const ckpt = encodeCheckpoint({ seq: 5, replaySegmentId: 1, replayOffset: 64, createdMs: 1 }, [], []);
    const visitor = { bucket: () => undefined, object: () => undefined, upload: () => undefined };
    fc.assert(fc.property(fc.oneof(bytes, mutated(footer)), (b) => void refusedOr(() => decodeFooterPayload(b), FormatError)), params);
    fc.assert(fc.property(fc.oneof(bytes, mutated(Buffer.alloc(24))), (b) => void refusedOr(() => decodeTail(b), FormatError)), params);
    fc.assert(fc.property(fc.oneof(bytes, mutated(header)), (b) => void refusedOr(() => decodeSegmentHeader(b), FormatError, NewerFormatError)), params);
    fc.assert(fc.property(fc.oneof(bytes, mutated(ckpt)), (b) => void refusedOr(() => decodeCheckpoint(b, visitor), FormatError, NewerFormatError)), params);
  });

  it('cold segments and the last-access file: FormatError (or NewerFormatError) or a value; mutations refused', () => {
    const chunk = encodeFrame(RecordType.CHUNK, 0, records.encodeChunkMeta({ uploadId: 1, partNumber: 0, chunkIndex: 0, rawLen: 5 }), Buffer.from('hello'));
    const cold = encodeColdSegment(3, 1_700_000_000_000, [chunk, chunk], { payload: Buffer.from('dictionary bytes'), codec: 0 }).bytes;
    const access = encodeAccess(1_700_000_000_000, [{ bucket: 'logs', key: 'a/b', minute: 28_333_333 }], 1);
    fc.assert(
      fc.property(fc.oneof(mutated(cold), fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u))), (b) => {
        const v = refusedOr(() => decodeColdSegment(b, 3), FormatError, NewerFormatError);
        if (v !== undefined && !b.equals(cold)) throw new Error(`a changed cold segment decoded (replay: SEDIMENT_SEED=${seed})`);
      }),
      params,
    );
    fc.assert(
      fc.property(fc.oneof(mutated(access), fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u))), (b) => {
        const v = refusedOr(() => decodeAccess(b), FormatError);
        if (v !== undefined && !b.equals(access)) throw new Error(`a changed last-access file decoded (replay: SEDIMENT_SEED=${seed})`);
      }),
      params,
    );
  });

  it('a whole-segment scan of garbage and of mutated segments returns only frames that verify', async () => {
    const frames = [0, 1, 2].map((i) => encodeFrame(RecordType.CHUNK, 0, records.encodeChunkMeta({ uploadId: i, partNumber: 0, chunkIndex: 0, rawLen: 3 }), Buffer.from(`ab${i}`)));
    const valid = Buffer.concat([encodeSegmentHeader({ tier: 0, segmentId: 1, createdMs: 1 }), ...frames]);
    await fc.assert(
      fc.asyncProperty(fc.oneof(bytes, mutated(valid)), async (b) => {
        const fs = new MemoryFileSystem();
        await fs.writeFile('/s.seg', b);
        const fh = await fs.open('/s.seg', 'read');
        let listing;
        try {
          listing = await scanSegment(fh, 1, b.length);
        } catch (err) {
          if (err instanceof FormatError || err instanceof NewerFormatError) return;
          throw err;
        }
        for (const e of listing.entries) {
          const f = decodeFrame(b.subarray(e.offset, e.offset + e.frameLen)); // throws if the scan let a bad frame through
          expect(f.type).toBe(e.type);
        }
      }),
      { ...params, numRuns: Math.ceil(FUZZ_RUNS / 3) },
    );
  });
});

describe('aws-chunked bodies', () => {
  const signingKey = deriveSigningKey('secret/key', '20260101', 'us-east-1', 's3');
  const signing = { signingKey, amzDate: '20260101T000000Z', scope: '20260101/us-east-1/s3/aws4_request', seedSignature: 'a'.repeat(64) };
  const payload = Buffer.from('the quick brown fox jumps over the lazy dog, again and again and again');
  const modes: AwsChunkedDecoderOptions[] = [
    { mode: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', signing, chunkBytesMax: 1 << 20 },
    { mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', chunkBytesMax: 1 << 20 },
  ];

  async function decode(pieces: Buffer[], options: AwsChunkedDecoderOptions): Promise<Buffer | undefined> {
    const out: Buffer[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    });
    try {
      await pipeline(Readable.from(pieces), new AwsChunkedDecoder(options), sink);
    } catch (err) {
      if (err instanceof S3Error) return undefined;
      throw new Error(`unexpected ${(err as Error)?.name}: ${(err as Error)?.message} (replay: SEDIMENT_SEED=${seed})`, { cause: err });
    }
    return Buffer.concat(out);
  }

  it('garbage and mutated encodings: S3Error or a body; a signed body never decodes to other bytes', async () => {
    for (const options of modes) {
      const valid = encodeAwsChunked(payload, { mode: options.mode, signing: options.signing, chunkBytes: 16 });
      await fc.assert(
        fc.asyncProperty(fc.oneof(bytes, mutated(valid)), fc.integer({ min: 1, max: 64 }), async (b, split) => {
          const pieces: Buffer[] = [];
          for (let at = 0; at < b.length; at += split) pieces.push(b.subarray(at, at + split));
          const out = await decode(pieces, options);
          if (out && options.signing) expect(out.equals(payload)).toBe(true);
        }),
        { ...params, numRuns: Math.ceil(FUZZ_RUNS / 2) },
      );
    }
  });

  it('a chunk size past the limit is refused before its bytes are buffered', async () => {
    const out = await decode([Buffer.from('fffffffffff;chunk-signature=' + 'a'.repeat(64) + '\r\n')], modes[0]);
    expect(out).toBeUndefined();
  });
});

describe('XML request bodies', () => {
  const valid = '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part></CompleteMultipartUpload>';

  it('garbage, mutated documents and random unicode: MalformedXML (S3Error) or a tree', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      mutated(Buffer.from(valid)).map((b) => b.toString('latin1')),
      fc.array(fc.constantFrom('<a>', '</a>', '<b x="1">', '</b>', '<!--', '-->', '<![CDATA[', ']]>', '&amp;', '&#0;', '&#x110000;', '<?xml?>', '<!DOCTYPE a>', 'text'), { maxLength: 40 }).map((a) => a.join('')),
    );
    fc.assert(fc.property(text, (t) => void refusedOr(() => parseXml(t, { maxBytes: 64 * 1024 }), S3Error)), params);
    fc.assert(fc.property(bytes, (b) => void refusedOr(() => parseXml(b, { maxBytes: 64 * 1024 }), S3Error)), params);
  });

  it('deep nesting, many nodes and entity tricks are refused within the limits, not by exhausting the stack', () => {
    for (const doc of ['<a>'.repeat(200_000), '<a>' + '<b/>'.repeat(300_000) + '</a>', '<!DOCTYPE a [<!ENTITY x "xx">]><a>&x;</a>']) {
      expect(() => parseXml(doc, { maxBytes: 4 << 20 })).toThrow(S3Error);
    }
  });
});

describe('SigV4', () => {
  it('Authorization headers: AuthorizationHeaderMalformed (S3Error) or parsed', () => {
    const valid = 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + 'a'.repeat(64);
    const header = fc.oneof(fc.string({ maxLength: 300 }), mutated(Buffer.from(valid)).map((b) => b.toString('latin1')));
    fc.assert(fc.property(header, (h) => void refusedOr(() => parseAuthorizationHeader(h), S3Error)), params);
  });

  it('hostile requests are refused with an S3Error; a tampered signed request never verifies', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const signed = signRequest({ method: 'GET', url: 'http://127.0.0.1:9000/b/k?x=1', accessKeyId: 'AKID', secretKey: 'secret', region: 'us-east-1', date: now });
    const opts = { region: 'us-east-1', lookupSecret: (ak: string) => (ak === 'AKID' ? 'secret' : undefined), now };
    // The unmodified request verifies: the property below is not vacuous.
    expect(verifyRequest({ method: 'GET', rawUrl: '/b/k?x=1', headers: signed.headers }, opts).accessKeyId).toBe('AKID');
    const names = Object.keys(signed.headers);
    const request = fc.record({
      rawUrl: fc.oneof(fc.constant('/b/k?x=1'), fc.string({ maxLength: 80 }).map((s) => '/' + s), fc.constantFrom('/b/k?x=2', '/b/../k?x=1', '/b/k?x=1&X-Amz-Signature=0', '/b/k%00?x=1')),
      header: fc.constantFrom(...names),
      value: fc.oneof(fc.string({ maxLength: 120 }), fc.constant('')),
      drop: fc.boolean(),
    });
    fc.assert(
      fc.property(request, ({ rawUrl, header, value, drop }) => {
        const headers: Record<string, string> = { ...signed.headers };
        if (drop) delete headers[header];
        else headers[header] = value;
        const changed = rawUrl !== '/b/k?x=1' || drop || value !== signed.headers[header];
        const r = refusedOr(() => verifyRequest({ method: 'GET', rawUrl, headers }, opts), S3Error);
        if (r && changed) {
          // Only a change that does not alter the canonical request may still verify (e.g. extra spaces).
          expect(['authorization', 'host', 'x-amz-date', 'x-amz-content-sha256']).toContain(header);
        }
      }),
      params,
    );
  });
});
