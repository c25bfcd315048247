// preadNoWait (preadv2 RWF_NOWAIT) and the real file system's readCached built on it: cached bytes are
// copied exactly; a read past the end, a bad descriptor or an unsupported system never returns data
// (the caller falls back to the asynchronous read, which reports the error).
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealFileSystem } from '../src/io/real-fs.js';
import { nativeLoaded, preadNoWait } from '../src/native/index.js';

let dir: string;
const data = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31 + 7) & 0xff));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sediment-pread-'));
  writeFileSync(join(dir, 'f'), data); // just written: in the page cache
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preadNoWait', () => {
  it.runIf(nativeLoaded)('copies cached bytes exactly, or says to read asynchronously', () => {
    const fd = openSync(join(dir, 'f'), 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = preadNoWait(fd, buf, 12_345);
      expect([4096, -2]).toContain(n); // -2: this kernel or file system has no RWF_NOWAIT
      if (n === 4096) expect(buf.equals(data.subarray(12_345, 12_345 + 4096))).toBe(true);
      expect([-1, -2]).toContain(preadNoWait(fd, Buffer.alloc(100), data.length - 50)); // short: end of file
      expect([-1, -2]).toContain(preadNoWait(fd, Buffer.alloc(10), data.length + 10));
    } finally {
      closeSync(fd);
    }
    expect(() => preadNoWait(-1, Buffer.alloc(1), 0)).toThrow(RangeError);
    expect(() => preadNoWait(0, Buffer.alloc(1), -1)).toThrow(RangeError);
  });

  it('RealFileSystem.readCached agrees with read, and is false past the end', async () => {
    const fh = await new RealFileSystem().open(join(dir, 'f'), 'read');
    try {
      const a = Buffer.alloc(3000);
      const got = fh.readCached!(a, 40_000);
      const b = Buffer.alloc(3000);
      expect(await fh.read(b, 0, 3000, 40_000)).toBe(3000);
      if (got) expect(a.equals(b)).toBe(true);
      expect(fh.readCached!(Buffer.alloc(3000), 49_000)).toBe(false);
    } finally {
      await fh.close();
    }
  });
});
