// Signed garbage against every S3 operation (in-process server on a real temp directory, 127.0.0.1).
// Each request is correctly signed, so it passes authentication and reaches the operation's own parsing:
// a random method, bucket (plain, with Object Lock, missing), key, sub-resources and query parameters with
// odd values, headers S3 gives meaning to (ranges, copy sources, checksums, preconditions, lock settings,
// metadata, tagging…) with odd values, and bodies that are random bytes or mutated XML documents of the
// kinds S3 takes, some of them framed as aws-chunked with trailers (cut short, a bit flipped, odd lengths). The contract: every answer is a clear one — never 500 (an unhandled path is a bug),
// only 501 (NotImplemented) or 503 among 5xx, every error with an S3 error document — and the server
// stays up. Afterwards the data directory verifies clean.
// Bounded: 1,500 requests by default, SEDIMENT_FUZZ_REQUESTS (or SEDIMENT_SOAK=1: 20,000) for more.
// Seeded: the seed is printed with any failure; replay with SEDIMENT_SEED=<seed>.
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { encodeAwsChunked } from '../src/s3/aws-chunked-encode.js';
import { awsUriEncode } from '../src/s3/aws-uri.js';
import { createS3Server, type S3Server } from '../src/s3/server.js';
import { errorCode, rawRequest, signedRequest, type RawResponse, type SignOptions } from './helpers/s3-raw.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from './helpers/s3-server.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';

const seed = testSeed();
const REQUESTS = Number(process.env.SEDIMENT_FUZZ_REQUESTS ?? (SOAK ? 20_000 : 1_500));
const CONCURRENCY = 8;

let root: string;
let engine: Engine;
let s3: S3Server;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
let uploadId = '';

/** 32-bit integers from the seed (the shared test PRNG). */
function rng(s: number): () => number {
  const r = mulberry32(s);
  return () => (r.next() * 4294967296) >>> 0;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sediment-fuzz-'));
  engine = await Engine.open({ dir: join(root, 'data'), onWarning: () => undefined });
  s3 = createS3Server({ engine, credentials: [{ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }], region: REGION, logLevel: 'silent', partBytesMin: 1 });
  await new Promise<void>((resolve) => s3.server.listen(0, '127.0.0.1', resolve));
  port = (s3.server.address() as AddressInfo).port;
  const send = (o: Omit<SignOptions, 'port'>) => signedRequest({ ...o, port, agent });
  expect((await send({ method: 'PUT', path: '/fuzz' })).status).toBe(200);
  expect((await send({ method: 'PUT', path: '/fuzzlock', headers: { 'x-amz-bucket-object-lock-enabled': 'true' } })).status).toBe(200);
  for (const bucket of ['fuzz', 'fuzzlock']) {
    for (const key of KEYS.slice(0, 4)) expect((await send({ method: 'PUT', path: `/${bucket}/${key}`, body: `seed object ${key}` })).status).toBe(200);
    // A key the fuzzer never names: the bucket is never empty, so it is never deleted and requests keep
    // reaching the operations behind it.
    expect((await send({ method: 'PUT', path: `/${bucket}/keep/sentinel`, body: 'keep' })).status).toBe(200);
  }
  const created = await send({ method: 'POST', path: '/fuzz/mp?uploads' });
  uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body.toString())?.[1] ?? '';
  expect(uploadId).not.toBe('');
  expect((await send({ method: 'PUT', path: `/fuzz/mp?partNumber=1&uploadId=${uploadId}`, body: 'part one' })).status).toBe(200);
});

afterAll(async () => {
  agent.destroy();
  s3.server.closeAllConnections();
  await s3.shutdown(1000);
  await engine.close();
  rmSync(root, { recursive: true, force: true });
});

const KEYS = ['a', 'dir/b', 'mp', 'c%20d', '', 'x/', '%E2%82%AC', 'k'.repeat(300), '..%2F..%2Fetc', 'a%00b'];
const BUCKETS = ['fuzz', 'fuzzlock', 'fuzz', 'fuzzlock', 'missing-bucket', '', 'Bad_Name', 'a'];
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'GET', 'PUT'];
/** Query values, sent AWS-URI-encoded (a value that is not valid percent-encoding cannot be signed at all). */
const ODD = ['', '0', '-1', '1', '2', '10001', '99999999999999999999', 'abc', '1.5', ' 1', '\u0000', 'null', '\u00ff', 'true', 'a/b', 'x'.repeat(2000)];
const SUBRESOURCES = [
  'uploads', 'uploadId', 'partNumber', 'tagging', 'retention', 'legal-hold', 'versioning', 'versions', 'object-lock',
  'lifecycle', 'acl', 'attributes', 'delete', 'location', 'list-type', 'max-keys', 'prefix', 'delimiter', 'marker',
  'continuation-token', 'start-after', 'key-marker', 'version-id-marker', 'upload-id-marker', 'max-uploads', 'max-parts',
  'part-number-marker', 'versionId', 'response-content-type', 'response-expires', 'encoding-type', 'fetch-owner', 'cors',
];
const HEADERS: Array<[string, string[]]> = [
  ['range', ['bytes=0-0', 'bytes=5-2', 'bytes=-0', 'bytes=99999999-', 'bytes=0-1,3-4', 'items=0-1', 'bytes=', 'bytes=-99999999999999999999']],
  ['x-amz-copy-source', ['/fuzz/a', 'fuzz/dir/b', '/fuzz/a?versionId=nope', '/missing/a', '/fuzz/', '//', '%', '/fuzzlock/a?versionId=', '/fuzz/mp']],
  ['x-amz-copy-source-range', ['bytes=0-1', 'bytes=9-1', 'bytes=0-99999', 'junk']],
  ['x-amz-metadata-directive', ['COPY', 'REPLACE', 'junk']],
  ['x-amz-tagging-directive', ['COPY', 'REPLACE', '']],
  ['content-md5', ['', 'abc', '1B2M2Y8AsgTpgAmY7PhCfg==', '====']],
  ['x-amz-checksum-crc32', ['', 'AAAAAA==', 'junk', 'AAAAAAAAAAAA']],
  ['x-amz-checksum-crc64nvme', ['AAAAAAAAAAA=', '!!']],
  ['x-amz-checksum-sha256', ['47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', 'x']],
  ['x-amz-sdk-checksum-algorithm', ['CRC32', 'crc32c', 'SHA512', 'XXHASH64', 'MD5', 'junk', '']],
  ['x-amz-checksum-algorithm', ['CRC64NVME', 'SHA1', 'junk']],
  ['x-amz-checksum-type', ['FULL_OBJECT', 'COMPOSITE', 'junk']],
  ['x-amz-checksum-mode', ['ENABLED', 'junk']],
  ['x-amz-object-lock-mode', ['GOVERNANCE', 'COMPLIANCE', 'junk', '']],
  ['x-amz-object-lock-retain-until-date', ['2099-01-01T00:00:00Z', '2000-01-01T00:00:00Z', 'tomorrow', '']],
  ['x-amz-object-lock-legal-hold', ['ON', 'OFF', 'junk']],
  ['x-amz-bypass-governance-retention', ['true', 'junk']],
  ['if-match', ['*', '"nope"', '', 'x'.repeat(3000)]],
  ['if-none-match', ['*', '"nope"', '']],
  ['if-modified-since', ['Wed, 21 Oct 2015 07:28:00 GMT', 'junk', '']],
  ['if-unmodified-since', ['Wed, 21 Oct 2015 07:28:00 GMT', 'junk']],
  ['x-amz-copy-source-if-match', ['"nope"', '*']],
  ['x-amz-meta-a', ['', 'v', 'x'.repeat(3000)]],
  ['x-amz-tagging', ['a=b', 'a=b&a=c', '=', '%', 'k'.repeat(200) + '=v', Array.from({ length: 12 }, (_, i) => `t${i}=v`).join('&')]],
  ['x-amz-storage-class', ['STANDARD', 'GLACIER_IR', 'DEEP_ARCHIVE', 'junk']],
  ['content-type', ['text/plain', '', 'x'.repeat(2000)]],
  ['x-amz-max-parts', ['1', '0', '-5', 'abc']],
  ['x-amz-part-number-marker', ['1', 'abc']],
  ['x-amz-object-attributes', ['ETag', 'ETag,Checksum,ObjectParts,StorageClass,ObjectSize', 'Nope', '']],
  ['x-amz-mp-object-size', ['8', '-1', 'abc']],
  ['x-amz-expected-bucket-owner', ['123456789012', 'junk']],
  ['x-amz-bucket-object-lock-enabled', ['true', 'junk']],
  ['cache-control', ['no-cache']],
  ['expires', ['junk']],
];
const XML_DOCS = [
  `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>`,
  `<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>dir/b</Key><VersionId>v</VersionId></Object></Delete>`,
  `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`,
  `<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>a</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><Transition><Days>1</Days><StorageClass>GLACIER_IR</StorageClass></Transition></Rule></LifecycleConfiguration>`,
  `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`,
  `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
  `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>`,
  `<LegalHold><Status>ON</Status></LegalHold>`,
  `<CreateBucketConfiguration><LocationConstraint>${REGION}</LocationConstraint></CreateBucketConfiguration>`,
];
const XML_NOISE = ['<', '>', '</', '<a>', '</Part>', '<Part>', '&amp;', '&#0;', '&#xD800;', '&bogus;', '<![CDATA[x]]>', '<?xml version="1.0"?>', '<!DOCTYPE x [<!ENTITY e "e">]>', '99999999999999999999', '-1', '\u0000', 'é', '<Key></Key>', '<Days>0</Days>'];

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** x-amz-content-sha256 when the body is not signed by its SHA-256 (aws-chunked with trailers). */
  payloadHash?: string;
}

/** `body` as an aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER stream, with odd headers, trailers and damage. */
function awsChunked(next: () => number, body: Buffer, headers: Record<string, string>): Buffer {
  const trailer = pick(next, ['x-amz-checksum-crc32', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-sha256', 'x-amz-junk']);
  const value = pick(next, ['AAAAAA==', 'junk', '', 'AAAAAAAAAAA=']);
  headers['content-encoding'] = pick(next, ['aws-chunked', 'aws-chunked,gzip', 'gzip']);
  headers['x-amz-decoded-content-length'] = pick(next, [String(body.length), String(body.length + 1), '-1', 'abc']);
  if (next() % 4 !== 0) headers['x-amz-trailer'] = pick(next, [trailer, 'x-amz-checksum-crc32,x-amz-checksum-crc32c', '']);
  let encoded = encodeAwsChunked(body, { mode: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', chunkBytes: 1 + (next() % 700), trailers: next() % 3 === 0 ? [] : [[trailer, value]] });
  switch (next() % 4) {
    case 0:
      encoded = encoded.subarray(0, next() % (encoded.length + 1)); // cut short
      break;
    case 1:
      encoded = Buffer.from(encoded);
      encoded[next() % encoded.length] ^= 1 << (next() % 8); // one bit flipped
      break;
    default:
  }
  return encoded;
}

function pick<T>(next: () => number, list: readonly T[]): T {
  return list[next() % list.length]!;
}

function mutateXml(next: () => number, doc: string): string {
  let s = doc;
  const n = next() % 4;
  for (let i = 0; i < n; i++) {
    const at = next() % (s.length + 1);
    switch (next() % 4) {
      case 0:
        s = s.slice(0, at) + pick(next, XML_NOISE) + s.slice(at); // insert
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + (next() % 12)); // delete a run
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at).replace(/>[^<]*</, `>${pick(next, XML_NOISE)}<`); // a value replaced
        break;
      default:
        s = s + s.slice(s.indexOf('>') + 1); // elements repeated
    }
  }
  return s;
}

function makeCase(next: () => number): Case {
  const method = pick(next, METHODS);
  const bucket = pick(next, BUCKETS);
  const key = bucket === '' ? '' : pick(next, KEYS);
  const params: string[] = [];
  for (let i = next() % 4; i > 0; i--) {
    const name = pick(next, SUBRESOURCES);
    const value = name === 'uploadId' && next() % 2 === 0 ? uploadId : pick(next, ODD);
    params.push(next() % 5 === 0 ? name : `${name}=${awsUriEncode(value, false)}`);
  }
  const headers: Record<string, string> = {};
  for (let i = next() % 5; i > 0; i--) {
    const [name, values] = pick(next, HEADERS);
    headers[name] = pick(next, values);
  }
  let body: Buffer | undefined;
  switch (next() % 4) {
    case 0:
      break;
    case 1:
      body = Buffer.from(Array.from({ length: next() % 600 }, () => next() & 0xff));
      break;
    default:
      body = Buffer.from(mutateXml(next, pick(next, XML_DOCS)));
  }
  let payloadHash: string | undefined;
  if (body !== undefined && next() % 5 === 0) {
    body = awsChunked(next, body, headers);
    payloadHash = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
  }
  const path = (bucket === '' ? '/' : `/${bucket}${key === '' ? '' : `/${key}`}`) + (params.length > 0 ? `?${params.join('&')}` : '');
  return { method, path, headers, body, payloadHash };
}

/** What is wrong with the answer to `c`, or undefined if it is a clear one. */
function problem(c: Case, res: RawResponse): string | undefined {
  if (res.status === 500 || res.status === 502 || res.status > 503 || res.status < 200) return `status ${res.status}`;
  if (res.status >= 400 && c.method !== 'HEAD') {
    const code = errorCode(res);
    if (code === undefined || !/^<\?xml[^>]*>\s*<Error>/.test(res.body.toString())) return `status ${res.status} without an S3 error document`;
    if (code === 'InternalError') return 'InternalError';
  }
  return undefined;
}

describe(`signed garbage against every S3 operation (seed ${seed}, ${REQUESTS} requests)`, () => {
  it('every answer is a clear one (no 500, an error document for every error) and the server stays up', async () => {
    const next = rng(seed);
    const cases = Array.from({ length: REQUESTS }, () => makeCase(next));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let i = 0;
    const worker = async () => {
      while (i < cases.length && failures.length < 5) {
        const c = cases[i++]!;
        let res: RawResponse;
        try {
          res = await signedRequest({ method: c.method, path: c.path, port, headers: c.headers, body: c.body, payloadHash: c.payloadHash, agent });
        } catch (err) {
          failures.push(`${c.method} ${c.path}: no answer (${(err as Error).message})`);
          continue;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const p = problem(c, res);
        if (p !== undefined) {
          failures.push(`${p}: ${c.method} ${c.path} headers ${JSON.stringify(c.headers)} body ${JSON.stringify(c.body?.toString('latin1').slice(0, 300))} -> ${res.body.toString().slice(0, 400)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures, `seed ${seed}: replay with SEDIMENT_SEED=${seed}`).toEqual([]);
    // The fuzzer reached past authentication and routing: successes and several kinds of refusal.
    expect([...statuses.keys()].filter((s) => s >= 200 && s < 300).length).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s >= 400 && s < 500).length).toBeGreaterThan(3);
    expect((await rawRequest(port, { method: 'GET', path: '/_sediment/health' })).status).toBe(200);
    for (const bucket of ['fuzz', 'fuzzlock']) expect((await signedRequest({ method: 'HEAD', path: `/${bucket}/keep/sentinel`, port, agent })).status).toBe(200);
  }, 120_000);

  it('found by it: a response-* override that an HTTP header cannot carry is 400 InvalidArgument, not 500', async () => {
    // A bucket of its own: the fuzzing before this may have emptied and deleted the seeded ones.
    expect((await signedRequest({ method: 'PUT', path: '/fuzz-overrides', port, agent })).status).toBe(200);
    expect((await signedRequest({ method: 'PUT', path: '/fuzz-overrides/override-target', port, agent, body: 'x' })).status).toBe(200);
    for (const q of ['response-content-type=%00', 'response-expires=a%0Ab', 'response-cache-control=%E2%82%AC']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await signedRequest({ method, path: `/fuzz-overrides/override-target?${q}`, port, agent });
        expect(res.status, `${method} ?${q}`).toBe(400);
        if (method === 'GET') expect(errorCode(res)).toBe('InvalidArgument');
      }
    }
    const ok = await signedRequest({ method: 'GET', path: '/fuzz-overrides/override-target?response-content-type=text%2Fx-fuzz&response-expires=%C3%BF', port, agent });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('text/x-fuzz');
  });

  it('the data directory verifies clean afterwards', async () => {
    const report = await engine.verify();
    expect(report.recordsChecked).toBeGreaterThan(0);
    expect(report.damage).toEqual([]);
    expect(report.damagedObjects).toEqual([]);
  }, 60_000);
});
