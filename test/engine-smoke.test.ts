import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/index.js';
import { text } from 'node:stream/consumers';

describe('engine smoke', () => {
  it('put/get/list/delete and reopen on a real disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sed-'));
    try {
      let e = await Engine.open({ dir });
      await e.createBucket('photos');
      const info = await e.putObject('photos', 'a/b.txt', 'hello world', { contentType: 'text/plain', userMetadata: { owner: 'ana' } });
      expect(info.etag).toBe('5eb63bbbe01eeed093cb22bb8f5acdc3');
      const big = Buffer.alloc(3_500_000, 'abcdefghij');
      await e.putObject('photos', 'big', big);
      const g = await e.getObject('photos', 'a/b.txt');
      expect(await text(g.body)).toBe('hello world');
      const r = await e.getObject('photos', 'big', { range: { start: 1_048_570, end: 2_100_000 } });
      const chunks: Buffer[] = [];
      for await (const c of r.body) chunks.push(c);
      expect(Buffer.concat(chunks).equals(big.subarray(1_048_570, 2_100_001))).toBe(true);
      expect(e.listObjects('photos', { delimiter: '/' })).toMatchObject({ commonPrefixes: ['a/'], contents: [{ key: 'big' }] });
      await e.deleteObject('photos', 'big');
      await e.close();
      e = await Engine.open({ dir });
      expect((await e.headObject('photos', 'a/b.txt')).userMetadata).toEqual({ owner: 'ana' });
      await expect(e.headObject('photos', 'big')).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_KEY' });
      await expect(Engine.open({ dir })).rejects.toMatchObject({ code: 'SEDIMENT_LOCKED' });
      await e.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
