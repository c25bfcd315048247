// The versioning additions to the format (docs/FORMAT.md §1.1, §3.1, §3.2, §3.8, §4), checked against
// the grammar written out by hand: BUCKET_CONFIG kinds 2 and 3, the COMMIT flags of a delete marker and
// of an in-place update, checkpoint version 3 with one row per version, and the data directory raised
// to version 3 only once versioning is used (a directory that never uses it keeps versions 1/1).
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { decodeCheckpoint } from '../src/format/checkpoint.js';
import { BucketConfigKind, CommitFlag } from '../src/format/constants.js';
import { initHash } from '../src/format/hash.js';
import { decodeBucketConfig, decodeManifest, decodeUploadCreate, encodeBucketConfig, encodeManifest, encodeUploadCreate, type UploadCreateRecord } from '../src/format/records.js';
import { markerManifest } from '../src/engine/versions.js';

beforeAll(() => initHash());

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

async function files(fs: MemoryFileSystem): Promise<{ format: string; checkpoint: Buffer }> {
  const names = await fs.readdir('/d/checkpoints');
  return { format: (await fs.readFile('/d/FORMAT')).toString(), checkpoint: await fs.readFile(`/d/checkpoints/${names.sort().at(-1)}`) };
}

describe('format: versioning (§3.8 kinds 2 and 3, §3.1 flags, §4 version 3)', () => {
  it('BUCKET_CONFIG kind 2 is version seq bucket:str8 kind valueLen:u32 JSON', () => {
    const value = Buffer.from('{"status":"Enabled"}');
    const want = Buffer.concat([Buffer.from([1]), u64(42), Buffer.from([4]), Buffer.from('logs'), Buffer.from([2]), Buffer.from([value.length, 0, 0, 0]), value]);
    expect(encodeBucketConfig({ seq: 42, bucket: 'logs', kind: BucketConfigKind.VERSIONING, value })).toEqual(want);
    expect(decodeBucketConfig(want)).toEqual({ seq: 42, bucket: 'logs', kind: 2, value });
    expect(BucketConfigKind.OBJECT_LOCK).toBe(3);
  });

  it('a delete marker is a COMMIT with flag bit 0, no bytes and the MD5 of nothing', () => {
    const m = decodeManifest(encodeManifest(markerManifest(7, 'b', 'k', '0000000000000007', 1000)));
    expect(m.flags).toBe(CommitFlag.DELETE_MARKER);
    expect([m.size, m.chunks.length, m.md5.toString('hex'), m.versionId]).toEqual([0, 0, 'd41d8cd98f00b204e9800998ecf8427e', '0000000000000007']);
    expect(CommitFlag.IN_PLACE).toBe(2);
  });

  it('versioned data (FORMAT ≥ 3) writes checkpoint version 3 with a row per version, newest first', async () => {
    const fs = new MemoryFileSystem();
    let now = 1_700_000_000_000;
    const e = await Engine.open({ dir: '/d', fs, workerThreads: 0, clock: { now: () => now++ }, onWarning: () => undefined });
    await e.createBucket('plain');
    await e.putObject('plain', 'x', 'x');
    await e.close();
    // Never versioned: a version-1 checkpoint. (The directory is at 5 from its first open: the manifest.)
    let f = await files(fs);
    expect(f.format).toBe('sediment-data-dir 5\n');
    expect(f.checkpoint.readUInt16LE(8)).toBe(1);

    const e2 = await Engine.open({ dir: '/d', fs, workerThreads: 0, clock: { now: () => now++ }, onWarning: () => undefined });
    await e2.setBucketVersioning('plain', 'Enabled');
    const v1 = (await e2.putObject('plain', 'x', 'one')).versionId;
    const marker = (await e2.deleteObject('plain', 'x')).versionId;
    await e2.putObjectTagging('plain', 'x', { t: '1' }, { versionId: v1 });
    await e2.close();
    f = await files(fs);
    expect(f.format).toBe('sediment-data-dir 5\n');
    expect(f.checkpoint.readUInt16LE(8)).toBe(3);
    const rows: Array<[string, string, number]> = [];
    const configs: number[] = [];
    decodeCheckpoint(f.checkpoint, {
      bucket: () => undefined,
      object: (key, e) => rows.push([key, e.versionId, e.flags]),
      upload: () => undefined,
      config: (p) => configs.push(decodeBucketConfig(Buffer.from(p)).kind),
    });
    // The marker is newest, then v1 (its tags rewritten in place: still before the null version), then null.
    expect(rows).toEqual([['x', marker!, CommitFlag.DELETE_MARKER], ['x', v1, 0], ['x', '', 0]]);
    expect(configs).toEqual([BucketConfigKind.VERSIONING]);
    const e3 = await Engine.open({ dir: '/d', fs, workerThreads: 0, onWarning: () => undefined });
    expect((await e3.headObject('plain', 'x', { versionId: v1 })).tags).toEqual({ t: '1' });
    await e3.close();
  });
});

describe('format: UPLOAD_CREATE lock trailer (§3.5)', () => {
  const base: UploadCreateRecord = {
    seq: 9, uploadId: 3, bucket: 'b', key: 'k', initiatedMs: 0, contentType: '', headers: [], userMetadata: [], tags: [], checksumAlg: 0,
  };
  it('is absent without a lock (the bytes end at checksumAlg) and is lockMode:u8 retainUntilMs:f64 legalHold:u8 with one', () => {
    const plain = encodeUploadCreate(base);
    expect(plain.at(-1)).toBe(0); // checksumAlg, the last field
    expect(decodeUploadCreate(plain).lock).toBeUndefined();
    const locked = encodeUploadCreate({ ...base, lock: { lockMode: 2, retainUntilMs: 1.5e12, legalHold: true } });
    const trailer = Buffer.alloc(10);
    trailer[0] = 2;
    trailer.writeDoubleLE(1.5e12, 1);
    trailer[9] = 1;
    expect(locked).toEqual(Buffer.concat([plain, trailer]));
    expect(decodeUploadCreate(locked).lock).toEqual({ lockMode: 2, retainUntilMs: 1.5e12, legalHold: true });
    // A lock of nothing is not written at all.
    expect(encodeUploadCreate({ ...base, lock: { lockMode: 0, retainUntilMs: 0, legalHold: false } })).toEqual(plain);
    // A cut or unknown trailer is a format error, never a guess.
    expect(() => decodeUploadCreate(locked.subarray(0, locked.length - 1))).toThrow();
    const bad = Buffer.from(locked);
    bad[plain.length] = 7;
    expect(() => decodeUploadCreate(bad)).toThrow(/lock mode 7/);
  });
});

