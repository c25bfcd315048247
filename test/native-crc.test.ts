// The native addon and the pure-JS CRCs against golden vectors, a bit-at-a-time reference and
// each other (one-shot vs incremental, odd buffer offsets, sizes around the native block
// boundaries), plus flock(2) through its lifecycle: refusal, release on close, release when the
// owning process is SIGKILLed, errno errors. Randomized cases print their seed; replay with
// SEDIMENT_TEST_SEED=<seed>.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import * as js from '../src/native/crc-js.js';
import {
  checksumBase64,
  CrcHasher,
  cpuFeatures,
  crc32,
  crc32c,
  crc64nvme,
  flock,
  nativeAddon,
  nativeAddonPath,
  nativeLoadError,
  nativeLoaded,
  type NativeAddon,
} from '../src/native/index.js';

const seed = Number(process.env.SEDIMENT_TEST_SEED ?? Math.floor(Math.random() * 2 ** 32));

/** Small seeded PRNG (mulberry32); deterministic for a given seed. */
function makeRandom(s: number): () => number {
  let state = s >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

/** Copy of `bytes` that starts at byte `offset` of its ArrayBuffer (unaligned when odd). */
function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(bytes.length + offset + 7);
  backing.set(bytes, offset);
  return backing.subarray(offset, offset + bytes.length);
}

// Bit-at-a-time definitions, written straight from the CRC parameters: the ground truth.
function refCrc32(poly: number, bytes: Uint8Array, prev = 0): number {
  let reg = ~prev >>> 0;
  for (const b of bytes) {
    reg ^= b;
    for (let i = 0; i < 8; i++) reg = reg & 1 ? (reg >>> 1) ^ poly : reg >>> 1;
  }
  return ~reg >>> 0;
}

function refCrc64(bytes: Uint8Array, prev = 0n): bigint {
  const mask = (1n << 64n) - 1n;
  let reg = ~prev & mask;
  for (const b of bytes) {
    reg ^= BigInt(b);
    for (let i = 0; i < 8; i++) reg = reg & 1n ? (reg >> 1n) ^ 0x9a6c9329ac4bc9b5n : reg >> 1n;
  }
  return ~reg & mask;
}

type Impl32 = { name: string; fn: (buf: Uint8Array, prev?: number) => number };
type Impl64 = { name: string; fn: (buf: Uint8Array, prev?: bigint) => bigint };

function addon(): NativeAddon {
  if (nativeAddon === null) throw new Error(`native addon not loaded: ${nativeLoadError?.message}`);
  return nativeAddon;
}

const crc32cImpls: Impl32[] = [
  { name: 'native', fn: (b, p) => addon().crc32c(b, p) },
  { name: 'native-table', fn: (b, p) => addon().crc32cTable(b, p) },
  { name: 'js', fn: js.crc32c },
];
const crc64Impls: Impl64[] = [
  { name: 'native', fn: (b, p) => addon().crc64nvme(b, p) },
  { name: 'native-table', fn: (b, p) => addon().crc64nvmeTable(b, p) },
  { name: 'js', fn: js.crc64nvme },
];

const ascii = (s: string) => new TextEncoder().encode(s);

describe('native addon', () => {
  it('is loaded (it is part of the build)', () => {
    expect(nativeLoadError?.message ?? null).toBeNull();
    expect(nativeLoaded).toBe(true);
    expect(crc32c).toBe(nativeAddon?.crc32c);
    expect(crc64nvme).toBe(nativeAddon?.crc64nvme);
  });

  it('reports CPU features as booleans', () => {
    const f = cpuFeatures();
    expect(typeof f.sse42).toBe('boolean');
    expect(typeof f.pclmul).toBe('boolean');
  });
});

describe('golden vectors', () => {
  // [input, CRC32, CRC32C, CRC64NVME]; the non-standard rows were computed once and cross-checked
  // against the bit-at-a-time reference below.
  const vectors: Array<[string, number, number, bigint]> = [
    ['', 0, 0, 0n],
    ['123456789', 0xcbf43926, 0xe3069283, 0xae8b14860a799888n],
    ['Hello world', 0x8bd69e52, 0x72b51f78, 0x38e259d03f312adbn],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339, 0x22620404, 0xd76c54054954c143n],
  ];

  for (const [input, want32, want32c, want64] of vectors) {
    it(`"${input}"`, () => {
      const bytes = ascii(input);
      expect(refCrc32(0xedb88320, bytes)).toBe(want32);
      expect(refCrc32(0x82f63b78, bytes)).toBe(want32c);
      expect(refCrc64(bytes)).toBe(want64);
      expect(crc32(bytes)).toBe(want32);
      expect(js.crc32(bytes)).toBe(want32);
      for (const impl of crc32cImpls) expect(impl.fn(bytes), impl.name).toBe(want32c);
      for (const impl of crc64Impls) expect(impl.fn(bytes), impl.name).toBe(want64);
    });
  }

  it('32 bytes of zeros and of 0xff (RFC 3720 B.4 iSCSI vectors)', () => {
    for (const impl of crc32cImpls) {
      expect(impl.fn(new Uint8Array(32)), impl.name).toBe(0x8a9136aa);
      expect(impl.fn(new Uint8Array(32).fill(0xff)), impl.name).toBe(0x62a8ab43);
    }
  });

  it('S3 base64 forms', () => {
    expect(checksumBase64('CRC64NVME', crc64nvme(new Uint8Array(0)))).toBe('AAAAAAAAAAA=');
    expect(checksumBase64('CRC32', crc32(new Uint8Array(0)))).toBe('AAAAAA==');
    expect(checksumBase64('CRC32C', crc32c(new Uint8Array(0)))).toBe('AAAAAA==');
    const check = ascii('123456789');
    expect(checksumBase64('CRC32', crc32(check))).toBe('y/Q5Jg==');
    expect(checksumBase64('CRC32C', crc32c(check))).toBe('4waSgw==');
    expect(checksumBase64('CRC64NVME', crc64nvme(check))).toBe('rosUhgp5mIg=');
    const hello = ascii('Hello world');
    expect(checksumBase64('CRC32', crc32(hello))).toBe('i9aeUg==');
    expect(checksumBase64('CRC32C', crc32c(hello))).toBe('crUfeA==');
    expect(checksumBase64('CRC64NVME', crc64nvme(hello))).toBe('OOJZ0D8xKts=');
  });

  it('checksumBase64 is big-endian and range-checked', () => {
    expect(checksumBase64('CRC32C', 0x01020304)).toBe(Buffer.from([1, 2, 3, 4]).toString('base64'));
    expect(checksumBase64('CRC64NVME', 0x0102030405060708n)).toBe(
      Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).toString('base64'),
    );
    expect(() => checksumBase64('CRC32', 2 ** 32)).toThrow(RangeError);
    expect(() => checksumBase64('CRC64NVME', 1n << 64n)).toThrow(RangeError);
    expect(() => checksumBase64('CRC64NVME', 5 as unknown as bigint)).toThrow(TypeError);
    expect(() => checksumBase64('CRC32', 5n as unknown as number)).toThrow(TypeError);
  });
});

describe('cross-checks', () => {
  it(`every length 0..1100 and the native block boundaries against the reference (seed ${seed})`, () => {
    const rand = makeRandom(seed);
    const part = [256, 8192]; // native SSE4.2 three-stream part sizes
    const lengths = new Set<number>();
    for (let n = 0; n <= 1100; n++) lengths.add(n);
    for (const p of part) for (const d of [-9, -8, -1, 0, 1, 8, 9]) lengths.add(3 * p + d).add(6 * p + d);
    for (const n of lengths) {
      const bytes = randomBytes(rand, n);
      const want32c = n <= 1100 ? refCrc32(0x82f63b78, bytes) : js.crc32c(bytes);
      const want64 = n <= 1100 ? refCrc64(bytes) : js.crc64nvme(bytes);
      for (const impl of crc32cImpls) expect(impl.fn(bytes), `${impl.name} crc32c len=${n} seed=${seed}`).toBe(want32c);
      for (const impl of crc64Impls) expect(impl.fn(bytes), `${impl.name} crc64 len=${n} seed=${seed}`).toBe(want64);
    }
  });

  it(`random lengths 0..5000, split points and odd offsets (seed ${seed})`, () => {
    const rand = makeRandom(seed ^ 0x5eed);
    for (let round = 0; round < 400; round++) {
      const n = Math.floor(rand() * 5001);
      const split = Math.floor(rand() * (n + 1));
      const offset = Math.floor(rand() * 16);
      const bytes = atOffset(randomBytes(rand, n), offset);
      const where = `len=${n} split=${split} offset=${offset} seed=${seed}`;
      const want32c = js.crc32c(bytes);
      const want64 = js.crc64nvme(bytes);
      const head = bytes.subarray(0, split);
      const tail = bytes.subarray(split);
      for (const impl of crc32cImpls) {
        expect(impl.fn(bytes), `${impl.name} crc32c ${where}`).toBe(want32c);
        expect(impl.fn(tail, impl.fn(head, 0)), `${impl.name} crc32c incremental ${where}`).toBe(want32c);
      }
      for (const impl of crc64Impls) {
        expect(impl.fn(bytes), `${impl.name} crc64 ${where}`).toBe(want64);
        expect(impl.fn(tail, impl.fn(head, 0n)), `${impl.name} crc64 incremental ${where}`).toBe(want64);
      }
      expect(crc32(tail, crc32(head)), `crc32 incremental ${where}`).toBe(crc32(bytes));
      expect(js.crc32(bytes), `crc32 ${where}`).toBe(refCrc32(0xedb88320, bytes));
    }
  });

  it(`a 3 MiB buffer, one-shot and streamed through CrcHasher (seed ${seed})`, () => {
    const rand = makeRandom(seed ^ 0x3);
    const bytes = atOffset(randomBytes(rand, 3 * 1024 * 1024), 3);
    const want32c = js.crc32c(bytes);
    const want64 = js.crc64nvme(bytes);
    for (const impl of crc32cImpls) expect(impl.fn(bytes), impl.name).toBe(want32c);
    for (const impl of crc64Impls) expect(impl.fn(bytes), impl.name).toBe(want64);

    const hashers = [new CrcHasher('CRC32'), new CrcHasher('CRC32C'), new CrcHasher('CRC64NVME')];
    for (let pos = 0; pos < bytes.length; ) {
      const end = Math.min(bytes.length, pos + 1 + Math.floor(rand() * 100_000));
      for (const h of hashers) h.update(bytes.subarray(pos, end));
      pos = end;
    }
    expect(hashers[0].digestBase64()).toBe(checksumBase64('CRC32', crc32(bytes)));
    expect(hashers[1].digestBase64()).toBe(checksumBase64('CRC32C', want32c));
    expect(hashers[2].digestBase64()).toBe(checksumBase64('CRC64NVME', want64));
    expect(hashers[2].digest()).toBe(want64);
  });

  it('CrcHasher keeps going after a digest', () => {
    const h = new CrcHasher('CRC32C').update(ascii('1234'));
    expect(h.digest()).toBe(crc32c(ascii('1234')));
    expect(h.update(ascii('56789')).digest()).toBe(0xe3069283);
  });
});

describe('argument checking', () => {
  const bytes = ascii('abc');

  it('wrong types throw TypeError, native and JS alike', () => {
    const bad: unknown[] = ['abc', 42, null, undefined, [1, 2, 3], new Uint16Array(2), new DataView(new ArrayBuffer(4))];
    for (const impl of [...crc32cImpls, ...crc64Impls]) {
      const fn = impl.fn as (buf: unknown, prev?: unknown) => unknown;
      for (const b of bad) expect(() => fn(b), `${impl.name} buf=${String(b)}`).toThrow(TypeError);
    }
    for (const impl of crc32cImpls) {
      const fn = impl.fn as (buf: unknown, prev?: unknown) => unknown;
      expect(() => fn(bytes, 1n), impl.name).toThrow(TypeError);
      expect(() => fn(bytes, '1'), impl.name).toThrow(TypeError);
      expect(() => fn(bytes, null), impl.name).toThrow(TypeError);
    }
    for (const impl of crc64Impls) {
      const fn = impl.fn as (buf: unknown, prev?: unknown) => unknown;
      expect(() => fn(bytes, 1), impl.name).toThrow(TypeError);
      expect(() => fn(bytes, null), impl.name).toThrow(TypeError);
    }
    const anyFlock = flock as unknown as (...args: unknown[]) => unknown;
    expect(() => anyFlock('3', true, true)).toThrow(TypeError);
    expect(() => anyFlock(3, 'yes', true)).toThrow(TypeError);
    expect(() => anyFlock(3, true)).toThrow(TypeError);
    expect(() => anyFlock()).toThrow(TypeError);
    expect(() => crc32('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => new CrcHasher('MD5' as never)).toThrow(TypeError);
    expect(() => new CrcHasher('CRC32C').update('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('out-of-range values throw RangeError, native and JS alike', () => {
    for (const impl of crc32cImpls) {
      for (const prev of [-1, 1.5, 2 ** 32, Number.NaN, Infinity]) {
        expect(() => impl.fn(bytes, prev), `${impl.name} prev=${prev}`).toThrow(RangeError);
      }
    }
    for (const impl of crc64Impls) {
      for (const prev of [-1n, 1n << 64n]) {
        expect(() => impl.fn(bytes, prev), `${impl.name} prev=${prev}`).toThrow(RangeError);
      }
    }
    const anyFlock = flock as unknown as (...args: unknown[]) => unknown;
    expect(() => anyFlock(-1, true, true)).toThrow(RangeError);
    expect(() => anyFlock(1.5, true, true)).toThrow(RangeError);
  });

  it('accepts the full prev range', () => {
    for (const impl of crc32cImpls) expect(impl.fn(bytes, 0xffffffff), impl.name).toBe(js.crc32c(bytes, 0xffffffff));
    for (const impl of crc64Impls) {
      expect(impl.fn(bytes, (1n << 64n) - 1n), impl.name).toBe(refCrc64(bytes, (1n << 64n) - 1n));
    }
  });
});

describe('flock', () => {
  let dir: string;
  let lockPath: string;
  const openFds: number[] = [];

  const open = () => {
    const fd = fs.openSync(lockPath, 'r+');
    openFds.push(fd);
    return fd;
  };
  const close = (fd: number) => {
    fs.closeSync(fd);
    openFds.splice(openFds.indexOf(fd), 1);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sediment-flock-'));
    lockPath = path.join(dir, 'LOCK');
    fs.writeFileSync(lockPath, '');
  });

  afterEach(() => {
    for (const fd of openFds.splice(0)) fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second open file description in the same process until the first closes', () => {
    const first = open();
    const second = open();
    expect(flock(first, true, true)).toBe(true);
    expect(flock(first, true, true)).toBe(true); // re-locking through the same description is fine
    expect(flock(second, true, true)).toBe(false);
    expect(flock(second, false, true)).toBe(false);
    close(first);
    expect(flock(second, true, true)).toBe(true);
  });

  it('lets shared locks coexist and refuses an exclusive one meanwhile', () => {
    const a = open();
    const b = open();
    const c = open();
    expect(flock(a, false, true)).toBe(true);
    expect(flock(b, false, true)).toBe(true);
    expect(flock(c, true, true)).toBe(false);
    close(a);
    close(b);
    expect(flock(c, true, true)).toBe(true);
  });

  it('is released when the owning process is SIGKILLed', async () => {
    expect(nativeAddonPath).not.toBeNull();
    const script = `
      const addon = require(${JSON.stringify(nativeAddonPath)});
      const fd = require('node:fs').openSync(${JSON.stringify(lockPath)}, 'r+');
      if (!addon.flock(fd, true, true)) process.exit(3);
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('locked')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      });
      const fd = open();
      expect(flock(fd, true, true)).toBe(false);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(flock(fd, true, true)).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('throws an errno-coded Error for a bad descriptor', () => {
    let caught: unknown;
    try {
      flock(1_000_000, true, true);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as NodeJS.ErrnoException).code).toBe('EBADF');
    expect((caught as NodeJS.ErrnoException).syscall).toBe('flock');
  });
});
