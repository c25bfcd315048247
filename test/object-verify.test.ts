// verifyObjects (`sediment verify --objects`): every version read back and checked against its ETag (part
// MD5s for a multipart object) and its FULL_OBJECT checksums. The damage it exists for is the kind frame
// checksums cannot see: a chunk whose bytes changed and whose frame hash was made again over them (as if the
// bytes had been damaged in memory before they were framed).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { verifyObjects } from '../src/maintenance/object-verify.js';
import { initHash, writeHashAt } from '../src/format/hash.js';
import { mulberry32, testSeed } from './helpers/prng.js';

const seed = testSeed();
const rng = mulberry32(seed);

async function open(fs: MemoryFileSystem): Promise<Engine> {
  return Engine.open({ dir: '/d', fs, workerThreads: 0, chunkBytes: 64 << 10, onWarning: () => undefined });
}

/** Changes one byte of `needle`'s first copy in a segment and makes its frame's hash valid again. */
async function hiddenDamage(fs: MemoryFileSystem, needle: Buffer): Promise<void> {
  await initHash();
  for (const name of await fs.readdir('/d/segments')) {
    const path = `/d/segments/${name}`;
    const bytes = Buffer.from(await fs.readFile(path));
    const at = bytes.indexOf(needle);
    if (at < 0) continue;
    // The frame around it: the last "SREC" before it whose length reaches past it.
    let start = bytes.lastIndexOf('SREC', at, 'latin1');
    while (start >= 0 && start + bytes.readUInt32LE(start + 4) <= at) start = bytes.lastIndexOf('SREC', start - 1, 'latin1');
    expect(start).toBeGreaterThanOrEqual(0);
    const frameLen = bytes.readUInt32LE(start + 4);
    bytes[at + 3] ^= 0x40;
    writeHashAt(bytes, start, start + frameLen - 8);
    const fh = await fs.open(path, 'readwrite');
    await fh.writev([bytes.subarray(start, start + frameLen)], start);
    await fh.datasync();
    await fh.close();
    return;
  }
  throw new Error('needle not found in any segment');
}

describe(`verifyObjects (seed ${seed})`, () => {
  it('passes every version of a clean directory; finds the object, the part and the checksum a re-hashed frame hides', async () => {
    const fs = new MemoryFileSystem();
    let e = await open(fs);
    await e.createBucket('plain');
    await e.createBucket('versioned');
    await e.setBucketVersioning('versioned', 'Enabled');
    const single = rng.bytes(100_000); // random: stored raw, so its bytes can be found in the segment
    await e.putObject('plain', 'single', single, { checksums: [] });
    await e.putObject('plain', 'empty', Buffer.alloc(0));
    const parts = [rng.bytes(70_000), Buffer.alloc(0), rng.bytes(30_000)];
    const u = await e.createMultipartUpload('plain', 'multi', { checksumAlgorithm: 'CRC32C', checksumType: 'FULL_OBJECT' });
    for (let i = 0; i < parts.length; i++) await e.uploadPart('plain', 'multi', u.uploadId, i + 1, parts[i]);
    await e.completeMultipartUpload('plain', 'multi', u.uploadId, parts.map((_, i) => ({ partNumber: i + 1 })), { partBytesMin: 0 });
    const old = rng.bytes(5_000);
    await e.putObject('versioned', 'k', old);
    await e.putObject('versioned', 'k', rng.bytes(6_000));
    await e.deleteObject('versioned', 'k'); // a delete marker: not an object to read
    const clean = await verifyObjects(e);
    expect(clean).toMatchObject({ objectsChecked: 5, objectsChanged: 0, damagedObjects: [] });
    expect(clean.bytesChecked).toBe(100_000 + 100_000 + 5_000 + 6_000);
    await e.close();

    await hiddenDamage(fs, single.subarray(50_000, 50_032));
    await hiddenDamage(fs, parts[2].subarray(10_000, 10_032));
    await hiddenDamage(fs, old.subarray(1_000, 1_032));
    e = await open(fs);
    // The frames are whole: the frame-level check finds nothing.
    const frames = await e.verify();
    expect([frames.damage, frames.damagedObjects]).toEqual([[], []]);
    const r = await verifyObjects(e);
    expect(r.objectsChecked).toBe(5);
    const found = r.damagedObjects.map((d) => [d.bucket, d.key, d.reason.replace(/[0-9a-f]{32}/g, 'MD5')]);
    expect(found.sort()).toEqual(
      [
        ['plain', 'multi', 'part 3: the MD5 of its bytes is not its ETag MD5'],
        ['plain', 'single', 'the MD5 of its bytes is MD5, not its ETag MD5'],
        ['versioned', 'k', 'the MD5 of its bytes is MD5, not its ETag MD5'],
      ].sort(),
    );
    expect(r.damagedObjects.find((d) => d.key === 'k')?.versionId).not.toBe('null');
    await e.close();
  });

  it('a FULL_OBJECT checksum that does not match the bytes is found even when the MD5 does', async () => {
    const fs = new MemoryFileSystem();
    const e = await open(fs);
    await e.createBucket('bkt');
    const body = rng.bytes(3_000);
    // A stored CRC64NVME that is not the one of these bytes (what a checksum bug would leave).
    await e.putObject('bkt', 'k', body, { checksums: [{ algorithm: 'CRC64NVME', value: Buffer.alloc(8, 1) }] });
    const r = await verifyObjects(e);
    expect(r.damagedObjects).toEqual([{ bucket: 'bkt', key: 'k', versionId: 'null', reason: expect.stringMatching(/^its CRC64NVME is \S+, not the stored AQEBAQEBAQE=$/) }]);
    await e.close();
  });

  it("a part's checksum that does not match its bytes is found (a COMPOSITE object: no whole-object checksum to recompute)", async () => {
    const fs = new MemoryFileSystem();
    const e = await open(fs);
    await e.createBucket('bkt');
    const parts = [rng.bytes(5_000), rng.bytes(4_000)];
    const u = await e.createMultipartUpload('bkt', 'mp', { checksumAlgorithm: 'SHA256', checksumType: 'COMPOSITE' });
    const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
    await e.uploadPart('bkt', 'mp', u.uploadId, 1, parts[0]!, { checksums: [{ algorithm: 'SHA256', value: sha(parts[0]!) }] });
    // Part 2 stored with a SHA256 that is not the one of its bytes (what a checksum bug would leave).
    await e.uploadPart('bkt', 'mp', u.uploadId, 2, parts[1]!, { checksums: [{ algorithm: 'SHA256', value: Buffer.alloc(32, 2) }] });
    await e.completeMultipartUpload('bkt', 'mp', u.uploadId, [{ partNumber: 1 }, { partNumber: 2 }], { partBytesMin: 0 });
    const r = await verifyObjects(e);
    expect(r.damagedObjects).toEqual([{ bucket: 'bkt', key: 'mp', versionId: 'null', reason: expect.stringMatching(/^part 2: its SHA256 is \S+, not the stored AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=$/) }]);
    await e.close();
  });
});
