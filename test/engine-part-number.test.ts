// Reading one part of a multipart object (GetOptions.partNumber, S3's ?partNumber): the part's bytes by the
// number it was uploaded as, through getObject, getObjectData (buffered and lent) and headObject, after a
// metadata rewrite and after a reopen.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/index.js';
import { logLike, readAll } from './helpers/engine-helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sed-part-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function lentBytes(e: Engine, key: string, partNumber: number): Promise<Buffer> {
  const r = await e.getObjectData('bkt', key, { partNumber, bufferBytesMax: 1024, lend: true });
  if (r.data) return r.data;
  const out: Buffer[] = [];
  for await (const piece of r.lent!) {
    out.push(Buffer.from(piece.bytes));
    piece.release();
  }
  return Buffer.concat(out);
}

describe('partNumber', () => {
  it('reads parts 1, 2 (empty) and 5 of a multipart object by their numbers; other numbers are refused', async () => {
    // Part 1 spans several chunks (1 MiB each), part 2 is empty, part 5 is small.
    const parts = new Map([
      [1, logLike(2_500_000, 1)],
      [2, Buffer.alloc(0)],
      [5, logLike(3_000, 2)],
    ]);
    let e = await Engine.open({ dir });
    await e.createBucket('bkt');
    const u = await e.createMultipartUpload('bkt', 'mp');
    for (const [n, data] of parts) await e.uploadPart('bkt', 'mp', u.uploadId, n, data);
    await e.completeMultipartUpload('bkt', 'mp', u.uploadId, [...parts.keys()].map((partNumber) => ({ partNumber })), { partBytesMin: 0 });
    await e.putObject('bkt', 'single', 'not in parts');

    const check = async (): Promise<void> => {
      let start = 0;
      for (const [n, data] of parts) {
        const end = start + data.length - 1;
        const got = await e.getObject('bkt', 'mp', { partNumber: n });
        expect(got.range).toEqual({ start, end });
        expect((await readAll(got.body)).equals(data)).toBe(true);
        expect((await lentBytes(e, 'mp', n)).equals(data)).toBe(true);
        const head = await e.headObject('bkt', 'mp', { partNumber: n });
        expect([head.partRange, head.partCount, head.size]).toEqual([{ start, end }, 3, 2_503_000]);
        start = end + 1;
      }
      for (const n of [3, 4, 6, 10_000]) {
        await expect(e.getObject('bkt', 'mp', { partNumber: n })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_PART_NUMBER' });
        await expect(e.headObject('bkt', 'mp', { partNumber: n })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_PART_NUMBER' });
      }
      for (const n of [0, -1, 1.5, 10_001]) {
        await expect(e.getObject('bkt', 'mp', { partNumber: n })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_ARGUMENT' });
      }
      await expect(e.getObject('bkt', 'mp', { partNumber: 1, range: { start: 0, end: 1 } })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_REQUEST' });
      // Not uploaded in parts: part 1 is the whole object, there is no part 2.
      const one = await e.getObjectData('bkt', 'single', { partNumber: 1, bufferBytesMax: 1024 });
      expect([one.range, one.data?.toString()]).toEqual([{ start: 0, end: 11 }, 'not in parts']);
      await expect(e.headObject('bkt', 'single', { partNumber: 2 })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_PART_NUMBER' });
    };
    await check();
    // A metadata rewrite (new commit record, same chunks) keeps the parts.
    await e.putObjectTagging('bkt', 'mp', { k: 'v' });
    await check();
    await e.close();
    e = await Engine.open({ dir });
    await check();
    await e.close();
  });
});
