// A multipart object's checksum in the engine: the checksum each part keeps (the upload's algorithm, else
// CRC64NVME), the object's made at completion (FULL_OBJECT: as if computed over every byte; COMPOSITE: the
// checksum of the parts' checksums), the client's expectations checked before anything is written, the
// format bits that say which type it is (FORMAT 7), and the type kept through reopen, checkpoint,
// compaction and migration to the cold tier.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Compactor, Engine, MaintenancePool, MemoryFileSystem, type ObjectChecksum } from '../src/index.js';
import { crc32, crc32c, crc64nvme } from '../src/native/index.js';
import { decodeUploadCreate, encodeManifest, encodeUploadCreate, decodeManifest, type ObjectManifest, type UploadCreateRecord } from '../src/format/records.js';
import { FormatError } from '../src/format/binary.js';
import { coldWorld } from './helpers/cold-world.js';
import { errorCode, readAll, randomPieces } from './helpers/engine-helpers.js';
import { mulberry32, testSeed } from './helpers/prng.js';

type Alg = ObjectChecksum['algorithm'];

function digest(alg: Alg, data: Uint8Array): Buffer {
  switch (alg) {
    case 'CRC32':
    case 'CRC32C': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE((alg === 'CRC32' ? crc32(data) : crc32c(data)) >>> 0);
      return b;
    }
    case 'CRC64NVME': {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(crc64nvme(data));
      return b;
    }
    default:
      return createHash(alg === 'SHA1' ? 'sha1' : 'sha256').update(data).digest();
  }
}

const seed = testSeed();
const rng = mulberry32(seed);

/** Parts of uneven sizes (one empty in the middle when `withEmpty`), random bytes. */
function makeParts(n: number, withEmpty = false): Buffer[] {
  return Array.from({ length: n }, (_, i) => rng.bytes(withEmpty && i === 1 ? 0 : rng.int(1, 200_000)));
}

async function openMem(fs = new MemoryFileSystem()): Promise<{ fs: MemoryFileSystem; e: Engine }> {
  const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, chunkBytes: 64 << 10, segmentBytesMax: 1 << 20, onWarning: () => undefined });
  return { fs, e };
}

/** Uploads `parts` (as streams in random pieces, so the engine's own checksum sees every piece) and completes. */
async function upload(e: Engine, key: string, parts: Buffer[], create: { checksumAlgorithm?: Alg; checksumType?: 'FULL_OBJECT' | 'COMPOSITE' } = {}, complete = {}) {
  const u = await e.createMultipartUpload('bkt', key, create);
  for (let i = 0; i < parts.length; i++) await e.uploadPart('bkt', key, u.uploadId, i + 1, randomPieces(parts[i], seed + i, 7_000));
  const info = await e.completeMultipartUpload('bkt', key, u.uploadId, parts.map((_, i) => ({ partNumber: i + 1 })), { partBytesMin: 0, ...complete });
  return { u, info };
}

const formatOf = async (fs: MemoryFileSystem): Promise<string> => (await fs.readFile('/d/FORMAT')).toString();

describe(`multipart object checksums (seed ${seed})`, () => {
  it('an upload without an algorithm gets a FULL_OBJECT CRC64NVME of the whole object, as S3 gives by default', async () => {
    const { fs, e } = await openMem();
    await e.createBucket('bkt');
    const parts = makeParts(4, true);
    const whole = Buffer.concat(parts);
    expect(await formatOf(fs)).toBe('sediment-data-dir 5\n');
    const { u, info } = await upload(e, 'k', parts);
    expect(u.checksumAlgorithm).toBeUndefined();
    expect(info.checksums).toEqual([{ algorithm: 'CRC64NVME', value: digest('CRC64NVME', whole), type: 'FULL_OBJECT' }]);
    // Written with the type bit (7) and each part's checksum (8): the directory says 8 first, so an older
    // sediment refuses it.
    expect(await formatOf(fs)).toBe('sediment-data-dir 8\n');
    expect(await e.formatVersion()).toBe(8);
    expect((await e.headObject('bkt', 'k')).checksums).toEqual(info.checksums);
    expect((await readAll((await e.getObject('bkt', 'k')).body)).equals(whole)).toBe(true);
    // Each part keeps its own checksum: in the part list, and with a GET or HEAD of that part.
    const partSums = parts.map((p) => ({ algorithm: 'CRC64NVME', value: digest('CRC64NVME', p) }));
    const expectParts = async (eng: Engine): Promise<void> => {
      expect((await eng.headObject('bkt', 'k', { parts: true })).parts!.map((p) => p.checksum)).toEqual(partSums);
      for (let n = 1; n <= parts.length; n++) {
        const got = await eng.getObject('bkt', 'k', { partNumber: n });
        expect(got.info.partChecksum, `part ${n}`).toEqual(partSums[n - 1]);
        expect((await readAll(got.body)).equals(parts[n - 1]!)).toBe(true);
        expect((await eng.headObject('bkt', 'k', { partNumber: n })).partChecksum).toEqual(partSums[n - 1]);
      }
      expect((await eng.headObject('bkt', 'k')).partChecksum).toBeUndefined();
    };
    await expectParts(e);
    await e.close();
    const again = await Engine.open({ dir: '/d', fs, workerThreads: 0 });
    await expectParts(again); // read back from the COMMIT on disk
    await again.close();
  });

  for (const [alg, type] of [
    ['CRC64NVME', 'FULL_OBJECT'],
    ['CRC32', 'FULL_OBJECT'],
    ['CRC32C', 'FULL_OBJECT'],
    ['CRC32', 'COMPOSITE'],
    ['CRC32C', 'COMPOSITE'],
    ['SHA1', 'COMPOSITE'],
    ['SHA256', 'COMPOSITE'],
  ] as const) {
    it(`${alg} ${type}: parts keep ${alg}, the object's is ${type === 'FULL_OBJECT' ? 'that of every byte' : 'that of the parts’ checksums'}`, async () => {
      const { e } = await openMem();
      await e.createBucket('bkt');
      const parts = makeParts(3);
      const { u, info } = await upload(e, 'k', parts, { checksumAlgorithm: alg, checksumType: type });
      expect(u).toMatchObject({ checksumAlgorithm: alg, checksumType: type });
      const want = type === 'FULL_OBJECT' ? digest(alg, Buffer.concat(parts)) : digest(alg, Buffer.concat(parts.map((p) => digest(alg, p))));
      expect(info.checksums).toEqual([{ algorithm: alg, value: want, type }]);
      await e.close();
    });
  }

  it('without a type: COMPOSITE, but FULL_OBJECT for CRC64NVME; impossible pairs are refused and write nothing', async () => {
    const { e } = await openMem();
    await e.createBucket('bkt');
    expect((await e.createMultipartUpload('bkt', 'a', { checksumAlgorithm: 'CRC32' })).checksumType).toBe('COMPOSITE');
    expect((await e.createMultipartUpload('bkt', 'bkt', { checksumAlgorithm: 'SHA256' })).checksumType).toBe('COMPOSITE');
    expect((await e.createMultipartUpload('bkt', 'c', { checksumAlgorithm: 'CRC64NVME' })).checksumType).toBe('FULL_OBJECT');
    const refused = [
      { checksumAlgorithm: 'CRC64NVME', checksumType: 'COMPOSITE' },
      { checksumAlgorithm: 'SHA1', checksumType: 'FULL_OBJECT' },
      { checksumAlgorithm: 'SHA256', checksumType: 'FULL_OBJECT' },
      { checksumType: 'FULL_OBJECT' },
    ] as const;
    for (const opts of refused) {
      const err = await e.createMultipartUpload('bkt', 'x', opts).catch((x: unknown) => x);
      expect(errorCode(err), JSON.stringify(opts)).toBe('SEDIMENT_INVALID_ARGUMENT');
    }
    expect(e.listMultipartUploads('bkt').map((x) => x.key)).toEqual(['a', 'bkt', 'c']);
    await e.close();
  });

  it('what the client expects is checked before anything is written; a failed completion leaves the upload open', async () => {
    const { e } = await openMem();
    await e.createBucket('bkt');
    const parts = makeParts(2);
    const u = await e.createMultipartUpload('bkt', 'k', { checksumAlgorithm: 'CRC32', checksumType: 'FULL_OBJECT' });
    for (let i = 0; i < 2; i++) await e.uploadPart('bkt', 'k', u.uploadId, i + 1, parts[i]);
    const list = [{ partNumber: 1 }, { partNumber: 2 }];
    const right = digest('CRC32', Buffer.concat(parts));
    const wrong = Buffer.from(right.map((x) => x ^ 1));
    const attempts: Array<[object, string]> = [
      [{ expectedChecksum: { algorithm: 'CRC32', value: wrong } }, 'SEDIMENT_BAD_DIGEST'],
      [{ expectedChecksum: { algorithm: 'CRC32', value: right, type: 'COMPOSITE' } }, 'SEDIMENT_BAD_DIGEST'],
      [{ expectedChecksumType: 'COMPOSITE' }, 'SEDIMENT_BAD_DIGEST'],
      [{ expectedChecksum: { algorithm: 'CRC32C', value: right } }, 'SEDIMENT_INVALID_ARGUMENT'],
    ];
    for (const [opts, code] of attempts) {
      const err = await e.completeMultipartUpload('bkt', 'k', u.uploadId, list, { partBytesMin: 0, ...opts }).catch((x: unknown) => x);
      expect(errorCode(err), JSON.stringify(opts)).toBe(code);
      expect(errorCode(await e.headObject('bkt', 'k').catch((x: unknown) => x))).toBe('SEDIMENT_NO_SUCH_KEY');
    }
    // A part checksum the client names must be the stored one.
    const badPart = [{ partNumber: 1, checksums: [{ algorithm: 'CRC32' as const, value: wrong }] }, { partNumber: 2 }];
    expect(errorCode(await e.completeMultipartUpload('bkt', 'k', u.uploadId, badPart, { partBytesMin: 0 }).catch((x: unknown) => x))).toBe('SEDIMENT_INVALID_PART');
    expect(e.listParts('bkt', 'k', u.uploadId).parts).toHaveLength(2);
    const goodPart = [{ partNumber: 1, checksums: [{ algorithm: 'CRC32' as const, value: digest('CRC32', parts[0]) }] }, { partNumber: 2 }];
    const info = await e.completeMultipartUpload('bkt', 'k', u.uploadId, goodPart, {
      partBytesMin: 0,
      expectedChecksumType: 'FULL_OBJECT',
      expectedChecksum: { algorithm: 'CRC32', value: right, type: 'FULL_OBJECT' },
    });
    expect(info.checksums).toEqual([{ algorithm: 'CRC32', value: right, type: 'FULL_OBJECT' }]);
    await e.close();
  });

  it('two completions of one upload at once, the first raising FORMAT to 7: exactly one commits', async () => {
    const { fs, e } = await openMem();
    await e.createBucket('bkt');
    const u = await e.createMultipartUpload('bkt', 'k'); // no algorithm: FORMAT stays at 5 until completion
    await e.uploadPart('bkt', 'k', u.uploadId, 1, rng.bytes(1000));
    expect(await formatOf(fs)).toBe('sediment-data-dir 5\n');
    const done = await Promise.allSettled([0, 1].map(() => e.completeMultipartUpload('bkt', 'k', u.uploadId, [{ partNumber: 1 }])));
    expect(done.filter((d) => d.status === 'fulfilled')).toHaveLength(1);
    expect(done.map((d) => (d.status === 'rejected' ? errorCode(d.reason) : 'ok')).sort()).toEqual(['SEDIMENT_NO_SUCH_UPLOAD', 'ok']);
    expect(e.listObjectVersions('bkt').versions).toHaveLength(1);
    await e.close();
  });

  it('two uploads of one key completed at once with ifNoneMatch: one commits, the other is refused and stays open', async () => {
    const { e } = await openMem();
    await e.createBucket('bkt');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const u = await e.createMultipartUpload('bkt', 'k');
      await e.uploadPart('bkt', 'k', u.uploadId, 1, rng.bytes(500));
      ids.push(u.uploadId);
    }
    const done = await Promise.allSettled(ids.map((id) => e.completeMultipartUpload('bkt', 'k', id, [{ partNumber: 1 }], { condition: { ifNoneMatch: true } })));
    expect(done.map((d) => (d.status === 'rejected' ? errorCode(d.reason) : 'ok')).sort()).toEqual(['SEDIMENT_PRECONDITION_FAILED', 'ok']);
    expect(e.listMultipartUploads('bkt')).toHaveLength(1);
    await e.close();
  });

  it('a caller that brings its own part checksums without the one the upload needs: no object checksum, and none can be expected', async () => {
    const { e } = await openMem();
    await e.createBucket('bkt');
    const part = makeParts(1)[0];
    const u = await e.createMultipartUpload('bkt', 'k');
    // beforeCommit returns the checksums to keep: here a CRC32 only, so the engine does not compute the CRC64NVME.
    await e.uploadPart('bkt', 'k', u.uploadId, 1, part, { beforeCommit: () => [{ algorithm: 'CRC32', value: digest('CRC32', part) }] });
    expect(e.listParts('bkt', 'k', u.uploadId).parts[0].checksums.map((c) => c.algorithm)).toEqual(['CRC32']);
    const expected = { algorithm: 'CRC64NVME' as const, value: digest('CRC64NVME', part) };
    expect(errorCode(await e.completeMultipartUpload('bkt', 'k', u.uploadId, [{ partNumber: 1 }], { expectedChecksum: expected }).catch((x: unknown) => x))).toBe('SEDIMENT_INVALID_ARGUMENT');
    const info = await e.completeMultipartUpload('bkt', 'k', u.uploadId, [{ partNumber: 1 }]);
    expect(info.checksums).toEqual([]);
    await e.close();
  });

  it('the type survives a crash and replay, a checkpoint, and compaction', async () => {
    let { fs, e } = await openMem();
    await e.createBucket('bkt');
    const a = makeParts(3);
    const b = makeParts(2);
    const full = (await upload(e, 'full', a, { checksumAlgorithm: 'CRC32C', checksumType: 'FULL_OBJECT' })).info.checksums;
    const comp = (await upload(e, 'comp', b, { checksumAlgorithm: 'CRC32C' })).info.checksums;
    expect(comp[0].type).toBe('COMPOSITE');
    const open = await e.createMultipartUpload('bkt', 'open', { checksumAlgorithm: 'CRC32', checksumType: 'FULL_OBJECT' });
    const check = async (): Promise<void> => {
      expect((await e.headObject('bkt', 'full')).checksums).toEqual(full);
      expect((await e.headObject('bkt', 'comp')).checksums).toEqual(comp);
      expect(e.listMultipartUploads('bkt')[0]).toMatchObject({ uploadId: open.uploadId, checksumAlgorithm: 'CRC32', checksumType: 'FULL_OBJECT' });
    };
    fs.crash();
    ({ e } = await openMem(fs)); // replay of the log
    await check();
    await e.checkpoint();
    await e.close();
    ({ e } = await openMem(fs)); // from the checkpoint
    await check();
    // Compaction copies the COMMIT records into a pack (overwrite something so there is garbage).
    await e.putObject('bkt', 'filler', rng.bytes(300_000));
    await e.putObject('bkt', 'filler', Buffer.alloc(10, 2));
    await e.sealActiveSegment();
    const st = await new Compactor(e.maintenance(), new MaintenancePool(fs, 0), { freeBytesReserve: 0, deadShareMin: 0.01 }).runPass();
    expect(st.packsWritten).toBeGreaterThan(0);
    await check();
    await e.close();
    ({ e } = await openMem(fs));
    await check();
    await e.close();
  });

  it('migration to the cold tier keeps the checksum and its type', async () => {
    const w = coldWorld();
    let { e, m } = await w.open();
    await e.createBucket('bkt');
    const parts = makeParts(3);
    const { info } = await upload(e, 'k', parts, { checksumAlgorithm: 'SHA256' });
    await e.setBucketLifecycle('bkt', { rules: [{ id: 'cold', enabled: true, filter: { prefix: '' }, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] });
    w.advanceDays(2);
    expect((await m.runPass()).objectsMoved).toBe(1);
    const head = await e.headObject('bkt', 'k');
    expect(head.storageClass).toBe('COLD');
    expect(head.checksums).toEqual(info.checksums);
    w.crash();
    ({ e, m } = await w.open());
    expect((await e.headObject('bkt', 'k')).checksums).toEqual(info.checksums);
    expect((await readAll((await e.getObject('bkt', 'k')).body)).equals(Buffer.concat(parts))).toBe(true);
    await e.close();
  });
});

describe('checksum type bits (FORMAT.md §3.1, §3.5)', () => {
  const create: UploadCreateRecord = {
    seq: 5, uploadId: 9, bucket: 'bkt', key: 'k', initiatedMs: 0, contentType: '', headers: [], userMetadata: [], tags: [], checksumAlg: 1,
  };

  it('UPLOAD_CREATE: the algorithm byte carries the type in bits 6 (FULL_OBJECT) and 7 (COMPOSITE); none means the default', () => {
    const byteOf = (rec: UploadCreateRecord): number => {
      const buf = encodeUploadCreate(rec);
      return buf[buf.length - 1];
    };
    expect(byteOf(create)).toBe(0x01);
    expect(byteOf({ ...create, checksumType: 'FULL_OBJECT' })).toBe(0x41);
    expect(byteOf({ ...create, checksumAlg: 2, checksumType: 'COMPOSITE' })).toBe(0x82);
    expect(decodeUploadCreate(encodeUploadCreate({ ...create, checksumType: 'FULL_OBJECT' }))).toEqual({ ...create, checksumType: 'FULL_OBJECT' });
    expect(decodeUploadCreate(encodeUploadCreate(create))).toEqual(create);
    for (const bad of [0xc1, 0x46, 0x00 | 0x80]) {
      const buf = encodeUploadCreate(create);
      buf[buf.length - 1] = bad;
      expect(() => decodeUploadCreate(buf), bad.toString(16)).toThrow(FormatError);
    }
  });

  it('COMMIT: a multipart object checksum entry keeps its type; an unknown algorithm byte is damage', () => {
    const m: ObjectManifest = {
      seq: 1, bucket: 'bkt', key: 'k', versionId: '', uploadId: 3, mtimeMs: 0, size: 0, md5: Buffer.alloc(16), partCount: 2, storageClass: 0, flags: 0,
      contentType: '', headers: [], userMetadata: [], checksums: [{ alg: 5, value: Buffer.alloc(32, 7), type: 'COMPOSITE' }],
      lockMode: 0, retainUntilMs: 0, legalHold: false, tags: [], chunks: [], parts: [],
    };
    const buf = encodeManifest(m);
    const at = buf.indexOf(Buffer.concat([Buffer.from([0x85, 32]), Buffer.alloc(32, 7)]));
    expect(at).toBeGreaterThan(0);
    expect(decodeManifest(buf).checksums).toEqual(m.checksums);
    buf[at] = 0xc5;
    expect(() => decodeManifest(buf)).toThrow(FormatError);
    buf[at] = 0x06;
    expect(() => decodeManifest(buf)).toThrow(FormatError);
  });

  it('COMMIT (format 8): part checksums follow the part table, flagged by bit 2, all of one algorithm or none', () => {
    const part = (n: number, sum?: { alg: number; value: Buffer }) => ({ partNumber: n, size: 0, md5: Buffer.alloc(16, n), chunkCount: 0, ...(sum ? { checksum: sum } : {}) });
    const base: ObjectManifest = {
      seq: 1, bucket: 'bkt', key: 'k', versionId: '', uploadId: 3, mtimeMs: 0, size: 0, md5: Buffer.alloc(16), partCount: 2, storageClass: 0, flags: 0,
      contentType: '', headers: [], userMetadata: [], checksums: [], lockMode: 0, retainUntilMs: 0, legalHold: false, tags: [], chunks: [],
      parts: [part(1, { alg: 3, value: Buffer.alloc(8, 0xa1) }), part(4, { alg: 3, value: Buffer.alloc(8, 0xb2) })],
    };
    const buf = encodeManifest(base);
    // The last 20 bytes: per part alg:u8 (3 = CRC64NVME, no type bits) len:u8 (8) and the digest.
    expect(buf.subarray(buf.length - 20)).toEqual(Buffer.concat([Buffer.from([3, 8]), Buffer.alloc(8, 0xa1), Buffer.from([3, 8]), Buffer.alloc(8, 0xb2)]));
    const flagsAt = 1 + 8 + 2 + 3 + 2 + 1 + 1 + 8 + 8 + 8 + 16 + 2 + 1; // version seq bucket key versionId uploadId mtimeMs size md5 partCount storageClass
    expect(buf[flagsAt]).toBe(0x04);
    const back = decodeManifest(buf);
    expect(back.flags).toBe(0); // the bit is the format's, not the engine's
    expect(back.parts).toEqual(base.parts);
    // Not every part with one, or two algorithms: none kept (bit clear, nothing after the table).
    for (const parts of [[part(1, { alg: 3, value: Buffer.alloc(8) }), part(2)], [part(1, { alg: 3, value: Buffer.alloc(8) }), part(2, { alg: 1, value: Buffer.alloc(4) })]]) {
      const b = encodeManifest({ ...base, parts });
      expect(b.length).toBe(buf.length - 20);
      expect(decodeManifest(b).parts.map((p) => p.checksum)).toEqual([undefined, undefined]);
    }
    // Damage: a type bit on a part checksum, the flag with no part table, a truncated section.
    const typed = Buffer.from(buf);
    typed[buf.length - 20] = 0x43;
    expect(() => decodeManifest(typed)).toThrow(FormatError);
    const noParts = encodeManifest({ ...base, parts: [] });
    noParts[flagsAt] = 0x04;
    expect(() => decodeManifest(noParts)).toThrow(FormatError);
    expect(() => decodeManifest(buf.subarray(0, buf.length - 1))).toThrow(FormatError);
  });
});
