// Bad input is refused with a typed error before anything is written, and a failed operation changes
// nothing: S3 bucket naming rules, key length in UTF-8 bytes, invalid UTF-16 and NUL in keys, user
// metadata size, missing buckets/objects, unsatisfiable ranges, bodies that do not match their declared
// size or MD5 or that fail mid-stream, use after close, and a second opener of the same directory.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem, type ErrorCode } from '../src/index.js';
import { readAll, snapshot } from './helpers/engine-helpers.js';

const CHUNK = 64 << 10;

let fs: MemoryFileSystem;
let e: Engine;

async function open(): Promise<Engine> {
  return Engine.open({ dir: '/data', fs, workerThreads: 0, chunkBytes: CHUNK, segmentBytesMax: 1 << 20, onWarning: () => undefined });
}

beforeEach(async () => {
  fs = new MemoryFileSystem();
  e = await open();
  await e.createBucket('box');
  await e.putObject('box', 'keep', 'old version', { contentType: 'text/plain' });
});

afterEach(async () => {
  await e.close();
});

/** Runs `op`, expects it to reject with `code`, and checks the visible state did not change. */
async function refused(op: () => unknown, code: ErrorCode, what = ''): Promise<void> {
  const before = snapshot(e);
  let caught: unknown;
  try {
    await op();
  } catch (err) {
    caught = err;
  }
  expect(caught, `${what}: expected ${code}`).toBeDefined();
  expect((caught as { code?: string }).code, `${what}: ${(caught as Error).message}`).toBe(code);
  expect(snapshot(e), `${what}: state changed`).toEqual(before);
}

async function bodyOf(bucket: string, key: string): Promise<string> {
  return (await readAll((await e.getObject(bucket, key)).body)).toString();
}

describe('bucket names (S3 rules)', () => {
  const invalid: Array<[string, string]> = [
    ['ab', 'shorter than 3'],
    ['a'.repeat(64), 'longer than 63'],
    ['', 'empty'],
    ['Abc', 'uppercase'],
    ['a_b', 'underscore'],
    ['a b', 'space'],
    ['ab!', 'punctuation'],
    ['bücket', 'non-ASCII'],
    ['-abc', 'starts with a hyphen'],
    ['abc-', 'ends with a hyphen'],
    ['.abc', 'starts with a dot'],
    ['abc.', 'ends with a dot'],
    ['a..b', 'two adjacent periods'],
    ['192.168.5.4', 'IP address'],
    ['xn--abc', 'xn-- prefix'],
    ['sthree-abc', 'sthree- prefix'],
    ['amzn-s3-demo-abc', 'amzn-s3-demo- prefix'],
    ['abc-s3alias', '-s3alias suffix'],
    ['abc--ol-s3', '--ol-s3 suffix'],
    ['abc.mrap', '.mrap suffix'],
    ['abc--x-s3', '--x-s3 suffix'],
    ['abc--table-s3', '--table-s3 suffix'],
  ];

  it.each(invalid)('refuses %j (%s)', async (name, why) => {
    await refused(() => e.createBucket(name), 'SEDIMENT_INVALID_BUCKET_NAME', why);
  });

  it('refuses a region that is not a region name, at createBucket and at open', async () => {
    for (const region of ['', 'not a region; at all', 'US-EAST-1', '-x', 'x'.repeat(64)]) {
      await refused(() => e.createBucket('region-check', { region }), 'SEDIMENT_INVALID_ARGUMENT', JSON.stringify(region));
    }
    expect(() => e.headBucket('region-check')).toThrow();
    expect((await e.createBucket('region-check', { region: 'eu-central-2' })).region).toBe('eu-central-2');
    await expect(Engine.open({ fs: new MemoryFileSystem(), dir: '/other', defaultRegion: 'Bad Region', workerThreads: 0 })).rejects.toThrow(/invalid region/);
  });

  it('accepts names at the limits', async () => {
    for (const name of ['abc', 'a'.repeat(63), 'a.b-c', '1.2.3', 'my-bucket.1', '0ab', 'xn-abc', 'abc-s3']) {
      await e.createBucket(name);
      expect(e.headBucket(name).name).toBe(name);
    }
  });

  it('an invalid name on a read of a missing bucket is reported as invalid, a valid one as missing', async () => {
    await refused(() => e.listObjects('Bad_Name'), 'SEDIMENT_INVALID_BUCKET_NAME');
    await refused(() => e.listObjects('nope'), 'SEDIMENT_NO_SUCH_BUCKET');
  });
});

describe('keys', () => {
  it('refuses an empty key, NUL, lone surrogates, and more than 1024 UTF-8 bytes', async () => {
    const cases: Array<[string, ErrorCode, string]> = [
      ['', 'SEDIMENT_INVALID_KEY', 'empty'],
      ['a\u0000b', 'SEDIMENT_INVALID_KEY', 'NUL'],
      ['\ud800', 'SEDIMENT_INVALID_KEY', 'lone high surrogate'],
      ['a\udc00b', 'SEDIMENT_INVALID_KEY', 'lone low surrogate'],
      ['x\ud83d', 'SEDIMENT_INVALID_KEY', 'high surrogate at the end'],
      ['a'.repeat(1025), 'SEDIMENT_KEY_TOO_LONG', '1025 ASCII bytes'],
      ['é'.repeat(513), 'SEDIMENT_KEY_TOO_LONG', '513 two-byte chars = 1026 bytes'],
      ['€'.repeat(341) + 'ab', 'SEDIMENT_KEY_TOO_LONG', '1023 + 2 bytes'],
      ['😀'.repeat(256) + 'a', 'SEDIMENT_KEY_TOO_LONG', '256 astral chars + 1 = 1025 bytes'],
    ];
    for (const [key, code, why] of cases) {
      await refused(() => e.putObject('box', key, 'x'), code, `put ${why}`);
      await refused(() => e.getObject('box', key), code, `get ${why}`);
      await refused(() => e.headObject('box', key), code, `head ${why}`);
      await refused(() => e.deleteObject('box', key), code, `delete ${why}`);
    }
  });

  it('accepts exactly 1024 bytes however they are made up', async () => {
    const keys = ['a'.repeat(1024), 'é'.repeat(512), '€'.repeat(341) + 'a', '😀'.repeat(256), 'k\u{10ffff}' + 'z'.repeat(1019)];
    for (const key of keys) {
      expect(Buffer.byteLength(key)).toBe(1024);
      await e.putObject('box', key, key);
      expect(await bodyOf('box', key)).toBe(key);
    }
    await e.close();
    e = await open();
    for (const key of keys) expect((await e.headObject('box', key)).size).toBe(1024);
  });
});

describe('metadata and headers', () => {
  it('user metadata up to 2 KB (names + values, UTF-8) is stored; beyond is refused', async () => {
    await e.putObject('box', 'm1', 'x', { userMetadata: { a: 'x'.repeat(2047) } });
    expect((await e.headObject('box', 'm1')).userMetadata.a).toHaveLength(2047);
    await e.putObject('box', 'm2', 'x', { userMetadata: { ab: 'é'.repeat(1023) } }); // 2 + 2046 bytes
    await refused(() => e.putObject('box', 'm3', 'x', { userMetadata: { a: 'x'.repeat(2048) } }), 'SEDIMENT_METADATA_TOO_LARGE');
    await refused(() => e.putObject('box', 'm3', 'x', { userMetadata: { ab: 'é'.repeat(1024) } }), 'SEDIMENT_METADATA_TOO_LARGE', 'multi-byte');
    const many: Record<string, string> = {};
    for (let i = 0; i < 100; i++) many[`k${String(i).padStart(2, '0')}`] = 'v'.repeat(18); // 100 × 21 bytes
    await refused(() => e.putObject('box', 'm3', 'x', { userMetadata: many }), 'SEDIMENT_METADATA_TOO_LARGE', 'many small');
    await refused(() => e.putObject('box', 'm3', 'x', { userMetadata: { 'bad name': 'v' } }), 'SEDIMENT_INVALID_ARGUMENT', 'name');
    await refused(() => e.putObject('box', 'm3', 'x', { userMetadata: { a: '\ud800' } }), 'SEDIMENT_INVALID_ARGUMENT', 'value');
    await refused(() => e.putObject('box', 'm3', 'x', { contentType: 'x'.repeat(1025) }), 'SEDIMENT_INVALID_ARGUMENT', 'content-type');
    const tags: Record<string, string> = {};
    for (let i = 0; i < 11; i++) tags[`t${i}`] = 'v';
    await refused(() => e.putObject('box', 'm3', 'x', { tags }), 'SEDIMENT_INVALID_ARGUMENT', 'tags');
  });

  it('refuses values an HTTP header cannot carry: line breaks, control characters, characters past U+00FF', async () => {
    for (const bad of ['a\nb', 'text/plain\r\nX-Injected: yes', 'no\u0001ctl', '中文']) {
      await refused(() => e.putObject('box', 'hv', 'x', { userMetadata: { a: bad } }), 'SEDIMENT_INVALID_ARGUMENT', 'metadata value');
      await refused(() => e.putObject('box', 'hv', 'x', { contentType: bad }), 'SEDIMENT_INVALID_ARGUMENT', 'content-type');
      await refused(() => e.putObject('box', 'hv', 'x', { headers: { cacheControl: bad } }), 'SEDIMENT_INVALID_ARGUMENT', 'cache-control');
    }
    await refused(() => e.getObject('box', 'hv'), 'SEDIMENT_NO_SUCH_KEY');
    // Tab, obs-text (what HTTP hands over for non-ASCII bytes) and plain text are fine.
    await e.putObject('box', 'hv', 'x', { contentType: 'text/plain;\tcharset=x', userMetadata: { a: 'caf\u00e9' } });
    expect((await e.headObject('box', 'hv')).userMetadata).toEqual({ a: 'caf\u00e9' });
  });

  it('metadata names that are also names of Object.prototype are plain names', async () => {
    const meta = Object.fromEntries([['constructor', 'c'], ['__proto__', 'p'], ['tostring', 't']]) as Record<string, string>;
    await e.putObject('box', 'proto', 'x', { userMetadata: meta });
    const info = await e.headObject('box', 'proto');
    expect(Object.entries(info.userMetadata).sort()).toEqual([['__proto__', 'p'], ['constructor', 'c'], ['tostring', 't']]);
  });

  it('metadata names are stored lowercased; standard headers round-trip', async () => {
    await e.putObject('box', 'h', 'x', {
      userMetadata: { Owner: 'Ana' },
      headers: { cacheControl: 'no-cache', contentDisposition: 'attachment', contentEncoding: 'gzip', contentLanguage: 'en', expires: 'Thu, 01 Dec 1994 16:00:00 GMT' },
    });
    const info = await e.headObject('box', 'h');
    expect(info.userMetadata).toEqual({ owner: 'Ana' });
    expect(info.headers).toEqual({ cacheControl: 'no-cache', contentDisposition: 'attachment', contentEncoding: 'gzip', contentLanguage: 'en', expires: 'Thu, 01 Dec 1994 16:00:00 GMT' });
  });
});

describe('missing things', () => {
  it('typed errors for missing buckets and objects', async () => {
    await refused(() => e.getObject('box', 'nope'), 'SEDIMENT_NO_SUCH_KEY');
    await refused(() => e.headObject('box', 'nope'), 'SEDIMENT_NO_SUCH_KEY');
    await refused(() => e.getObject('nobucket', 'k'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.headObject('nobucket', 'k'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.putObject('nobucket', 'k', 'x'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.deleteObject('nobucket', 'k'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.listObjects('nobucket'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.headBucket('nobucket'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.deleteBucket('nobucket'), 'SEDIMENT_NO_SUCH_BUCKET');
    expect(await e.deleteObject('box', 'nope')).toEqual({ existed: false });
  });

  it('a deleted object and a deleted bucket are missing, also after reopen', async () => {
    await e.createBucket('gone');
    await e.putObject('gone', 'k', 'v');
    await e.deleteObject('gone', 'k');
    await e.deleteBucket('gone');
    await refused(() => e.getObject('gone', 'k'), 'SEDIMENT_NO_SUCH_BUCKET');
    await e.close();
    e = await open();
    await refused(() => e.getObject('gone', 'k'), 'SEDIMENT_NO_SUCH_BUCKET');
    await refused(() => e.getObject('box', 'nope'), 'SEDIMENT_NO_SUCH_KEY');
  });
});

describe('ranges', () => {
  const data = Buffer.alloc(3 * CHUNK + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;

  it('refuses unsatisfiable ranges with SEDIMENT_INVALID_RANGE and clamps the end', async () => {
    await e.putObject('box', 'r', data);
    await e.putObject('box', 'empty', '');
    const size = data.length;
    const bad = [
      { start: size, end: size + 10 },
      { start: size + 1, end: size + 1 },
      { start: -1, end: 5 },
      { start: 10, end: 9 },
      { start: 1.5, end: 9 },
      { start: 0, end: Number.NaN },
    ];
    for (const range of bad) await refused(() => e.getObject('box', 'r', { range }), 'SEDIMENT_INVALID_RANGE', JSON.stringify(range));
    await refused(() => e.getObject('box', 'empty', { range: { start: 0, end: 0 } }), 'SEDIMENT_INVALID_RANGE', 'empty object');
    const cases = [
      [0, 0],
      [size - 1, size - 1],
      [size - 1, size + 1000],
      [0, Number.MAX_SAFE_INTEGER],
      [CHUNK - 1, CHUNK],
      [CHUNK, 2 * CHUNK - 1],
      [5, 3 * CHUNK + 5],
    ];
    for (const [start, end] of cases) {
      const g = await e.getObject('box', 'r', { range: { start, end } });
      const want = data.subarray(start, Math.min(end, size - 1) + 1);
      expect(g.range).toEqual({ start, end: Math.min(end, size - 1) });
      expect((await readAll(g.body)).equals(want), `${start}-${end}`).toBe(true);
    }
  });

  it('suffix ranges: the last n bytes; n = 0 is unsatisfiable', async () => {
    await e.putObject('box', 'r', data);
    const g = await e.getObject('box', 'r', { range: { suffix: 100 } });
    expect((await readAll(g.body)).equals(data.subarray(data.length - 100))).toBe(true);
    const all = await e.getObject('box', 'r', { range: { suffix: data.length * 2 } });
    expect((await readAll(all.body)).equals(data)).toBe(true);
    await refused(() => e.getObject('box', 'r', { range: { suffix: 0 } }), 'SEDIMENT_INVALID_RANGE', 'suffix 0');
  });
});

describe('bucket lifecycle errors', () => {
  it('deleting a non-empty bucket and creating an existing one are refused', async () => {
    await refused(() => e.deleteBucket('box'), 'SEDIMENT_BUCKET_NOT_EMPTY');
    await refused(() => e.createBucket('box'), 'SEDIMENT_BUCKET_EXISTS');
    // Concurrent creates of one name: exactly one wins.
    const results = await Promise.allSettled([e.createBucket('twice'), e.createBucket('twice')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code).toBe('SEDIMENT_BUCKET_EXISTS');
  });

  it('a bucket with a put in flight cannot be deleted', async () => {
    await e.createBucket('busy');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = (async function* () {
      yield Buffer.alloc(10, 1);
      await gate;
      yield Buffer.alloc(10, 2);
    })();
    const put = e.putObject('busy', 'k', body);
    await new Promise((r) => setImmediate(r));
    await refused(() => e.deleteBucket('busy'), 'SEDIMENT_BUCKET_NOT_EMPTY', 'in-flight put');
    release();
    await put;
    await e.deleteObject('busy', 'k');
    await e.deleteBucket('busy');
  });
});

describe('bodies that do not match what was declared store nothing', () => {
  const big = Buffer.alloc(2 * CHUNK + 100, 7);
  const bigMd5 = createHash('md5').update(big).digest();

  async function keepIntact(): Promise<void> {
    expect(await bodyOf('box', 'keep')).toBe('old version');
  }

  it('expectedSize shorter / longer, expectedMd5 mismatch', async () => {
    await refused(() => e.putObject('box', 'keep', big, { expectedSize: big.length + 1 }), 'SEDIMENT_INCOMPLETE_BODY', 'short');
    await refused(() => e.putObject('box', 'keep', big, { expectedSize: big.length - 1 }), 'SEDIMENT_ENTITY_TOO_LARGE', 'long');
    await refused(() => e.putObject('box', 'keep', Readable.from([big.subarray(0, 10), big.subarray(10)]), { expectedSize: big.length + 5 }), 'SEDIMENT_INCOMPLETE_BODY', 'stream short');
    const wrong = Buffer.from(bigMd5);
    wrong[0] ^= 1;
    await refused(() => e.putObject('box', 'keep', big, { expectedMd5: wrong }), 'SEDIMENT_BAD_DIGEST', 'md5');
    await refused(() => e.putObject('box', 'new', big, { expectedMd5: wrong }), 'SEDIMENT_BAD_DIGEST', 'md5 new key');
    await keepIntact();
    // The right values are accepted.
    await e.putObject('box', 'ok', big, { expectedSize: big.length, expectedMd5: bigMd5 });
    // Nothing of the failed puts comes back after a reopen either.
    const before = snapshot(e);
    await e.close();
    e = await open();
    expect(snapshot(e)).toEqual(before);
    await keepIntact();
    await expect(e.headObject('box', 'new')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
  });

  it('an erroring input stream, an aborted put and a refusing beforeCommit leave no object', async () => {
    const failing = (async function* () {
      yield big.subarray(0, CHUNK + 5); // enough for a chunk to be written
      yield big.subarray(CHUNK + 5, 2 * CHUNK + 20);
      throw new Error('client went away');
    })();
    const before = snapshot(e);
    await expect(e.putObject('box', 'keep', failing)).rejects.toThrow('client went away');
    const stream = new Readable({ read() {} });
    stream.push(big.subarray(0, CHUNK * 2));
    setImmediate(() => stream.destroy(new Error('socket reset')));
    await expect(e.putObject('box', 'keep', stream)).rejects.toThrow('socket reset');
    const ac = new AbortController();
    const slow = (async function* () {
      yield big.subarray(0, CHUNK);
      ac.abort();
      yield big.subarray(CHUNK);
    })();
    await expect(e.putObject('box', 'keep', slow, { signal: ac.signal })).rejects.toThrow();
    await expect(
      e.putObject('box', 'keep', big, {
        beforeCommit: () => {
          throw new Error('trailing checksum mismatch');
        },
      }),
    ).rejects.toThrow('trailing checksum mismatch');
    expect(snapshot(e)).toEqual(before);
    await keepIntact();
    await e.close();
    e = await open();
    expect(snapshot(e)).toEqual(before);
    await keepIntact();
  });
});

describe('listing arguments', () => {
  it('refuses bad max-keys and forged continuation tokens', async () => {
    await refused(() => e.listObjects('box', { maxKeys: -1 }), 'SEDIMENT_INVALID_ARGUMENT', 'negative');
    await refused(() => e.listObjects('box', { maxKeys: 1.5 }), 'SEDIMENT_INVALID_ARGUMENT', 'fraction');
    await refused(() => e.listObjects('box', { continuationToken: '!!!' }), 'SEDIMENT_INVALID_ARGUMENT', 'token');
    await refused(() => e.listObjects('box', { continuationToken: Buffer.from('xabc').toString('base64url') }), 'SEDIMENT_INVALID_ARGUMENT', 'token kind');
    expect(e.listObjects('box', { maxKeys: 0 })).toMatchObject({ contents: [], isTruncated: false });
    expect(e.listObjects('box', { maxKeys: 5000 }).contents).toHaveLength(1);
  });
});

describe('engine lifecycle', () => {
  it('every operation after close fails with SEDIMENT_CLOSED', async () => {
    await e.close();
    const ops: Array<[string, () => unknown]> = [
      ['createBucket', () => e.createBucket('other')],
      ['deleteBucket', () => e.deleteBucket('box')],
      ['headBucket', () => e.headBucket('box')],
      ['listBuckets', () => e.listBuckets()],
      ['putObject', () => e.putObject('box', 'k', 'v')],
      ['getObject', () => e.getObject('box', 'keep')],
      ['headObject', () => e.headObject('box', 'keep')],
      ['deleteObject', () => e.deleteObject('box', 'keep')],
      ['listObjects', () => e.listObjects('box')],
      ['stats', () => e.stats()],
      ['verify', () => e.verify()],
      ['sealActiveSegment', () => e.sealActiveSegment()],
      ['checkpoint', () => e.checkpoint()],
    ];
    const files = await fs.readdir('/data/checkpoints');
    for (const [name, op] of ops) {
      await expect((async () => op())(), name).rejects.toMatchObject({ code: 'SEDIMENT_CLOSED' });
    }
    // Nothing was written after close (the lock is gone: writing would race the next owner).
    expect(await fs.readdir('/data/checkpoints')).toEqual(files);
    await e.close(); // idempotent
    e = await open();
    expect(await bodyOf('box', 'keep')).toBe('old version');
  });

  it('a second open of the same directory gets SEDIMENT_LOCKED (memory and real disk)', async () => {
    await expect(open()).rejects.toMatchObject({ code: 'SEDIMENT_LOCKED' });
    const dir = mkdtempSync(join(tmpdir(), 'sediment-lock-'));
    try {
      const a = await Engine.open({ dir, workerThreads: 0 });
      await expect(Engine.open({ dir, workerThreads: 0 })).rejects.toMatchObject({ code: 'SEDIMENT_LOCKED' });
      await a.close();
      const b = await Engine.open({ dir, workerThreads: 0 });
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('option limits are typed errors', async () => {
    for (const opts of [{ chunkBytes: 1000 }, { chunkBytes: 9 << 20 }, { segmentBytesMax: 1000 }, { segmentBytesMax: 2 ** 32 }]) {
      await expect(Engine.open({ dir: '/other', fs, workerThreads: 0, ...opts }), JSON.stringify(opts)).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_ARGUMENT' });
    }
  });
});
