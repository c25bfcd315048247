// Pure-JS CRCs: the fallback when the native addon cannot be loaded, and the reference the
// addon is tested against. Same signatures and contracts as the native functions:
//   - `prev` is the finished CRC of the bytes before `buf` (0 / 0n to start), so
//     crc(b, crc(a)) === crc(a ‖ b) for any split;
//   - `buf` must be a Uint8Array (Buffer included) and is only read during the call;
//   - a wrong argument type throws TypeError (code ERR_INVALID_ARG_TYPE), an out-of-range `prev`
//     RangeError (code ERR_OUT_OF_RANGE).
//
// All three use slice-by-8 tables (eight 256-entry tables in one typed array, table k at offset
// 256 * k). CRC-64 keeps its register as two int32 halves so the inner loop never touches BigInt;
// BigInt appears only when converting `prev` in and the result out.

import * as zlib from 'node:zlib';

const CRC32C_POLY = 0x82f63b78; // Castagnoli, reflected
const CRC32_POLY = 0xedb88320; // ISO-HDLC (zlib), reflected
// CRC-64/NVME, reflected form 0x9A6C9329AC4BC9B5 split into 32-bit halves.
const CRC64_POLY_HI = 0x9a6c9329;
const CRC64_POLY_LO = 0xac4bc9b5;

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

function argTypeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

function argRangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

function checkBytes(buf: unknown): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw argTypeError('The "buf" argument must be a Uint8Array');
}

function checkPrev32(prev: unknown): asserts prev is number {
  if (typeof prev !== 'number') throw argTypeError('The "prev" argument must be a number');
  if (!Number.isInteger(prev) || prev < 0 || prev > U32_MAX) {
    throw argRangeError('The "prev" argument must be an integer in 0..2^32-1');
  }
}

function checkPrev64(prev: unknown): asserts prev is bigint {
  if (typeof prev !== 'bigint') throw argTypeError('The "prev" argument must be a bigint');
  if (prev < 0n || prev > U64_MAX) throw argRangeError('The "prev" argument must be in 0n..2n**64n-1n');
}

function makeTables32(poly: number): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let reg = b;
    for (let i = 0; i < 8; i++) reg = reg & 1 ? (reg >>> 1) ^ poly : reg >>> 1;
    t[b] = reg;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[(k - 1) * 256 + b];
      t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
}

/** Raw register update (no inversion). */
function update32(t: Int32Array, reg: number, buf: Uint8Array): number {
  const n = buf.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    reg ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    reg =
      t[1792 + (reg & 0xff)] ^
      t[1536 + ((reg >>> 8) & 0xff)] ^
      t[1280 + ((reg >>> 16) & 0xff)] ^
      t[1024 + (reg >>> 24)] ^
      t[768 + buf[i + 4]] ^
      t[512 + buf[i + 5]] ^
      t[256 + buf[i + 6]] ^
      t[buf[i + 7]];
  }
  for (; i < n; i++) reg = t[(reg ^ buf[i]) & 0xff] ^ (reg >>> 8);
  return reg;
}

const crc32cTables = makeTables32(CRC32C_POLY);
let crc32Tables: Int32Array | undefined; // only built if zlib.crc32 is missing (Node < 20.15)

/** CRC-32C (Castagnoli). */
export function crc32c(buf: Uint8Array, prev = 0): number {
  checkBytes(buf);
  checkPrev32(prev);
  return ~update32(crc32cTables, ~prev, buf) >>> 0;
}

/** CRC-32 (ISO-HDLC, as zlib / gzip / S3 "CRC32"); zlib's implementation when Node has it. */
export function crc32(buf: Uint8Array, prev = 0): number {
  checkBytes(buf);
  checkPrev32(prev);
  if (typeof zlib.crc32 === 'function') return zlib.crc32(buf, prev);
  crc32Tables ??= makeTables32(CRC32_POLY);
  return ~update32(crc32Tables, ~prev, buf) >>> 0;
}

/** Low and high 32-bit halves of the eight CRC-64 tables. */
function makeTables64(): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(8 * 256);
  const hi = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let l = b;
    let h = 0;
    for (let i = 0; i < 8; i++) {
      const carry = l & 1;
      l = (l >>> 1) | (h << 31);
      h >>>= 1;
      if (carry) {
        l ^= CRC64_POLY_LO;
        h ^= CRC64_POLY_HI;
      }
    }
    lo[b] = l;
    hi[b] = h;
  }
  for (let k = 1; k < 8; k++) {
    for (let b = 0; b < 256; b++) {
      const pl = lo[(k - 1) * 256 + b];
      const ph = hi[(k - 1) * 256 + b];
      const idx = pl & 0xff;
      lo[k * 256 + b] = ((pl >>> 8) | (ph << 24)) ^ lo[idx];
      hi[k * 256 + b] = (ph >>> 8) ^ hi[idx];
    }
  }
  return { lo, hi };
}

const crc64Tables = makeTables64();

/** CRC-64/NVME. */
export function crc64nvme(buf: Uint8Array, prev = 0n): bigint {
  checkBytes(buf);
  checkPrev64(prev);
  const tl = crc64Tables.lo;
  const th = crc64Tables.hi;
  let lo = ~Number(prev & 0xffff_ffffn);
  let hi = ~Number(prev >> 32n);
  const n = buf.length;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    lo ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    hi ^= buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24);
    // Message byte j of the word goes through table 7 - j.
    const i7 = 1792 + (lo & 0xff);
    const i6 = 1536 + ((lo >>> 8) & 0xff);
    const i5 = 1280 + ((lo >>> 16) & 0xff);
    const i4 = 1024 + (lo >>> 24);
    const i3 = 768 + (hi & 0xff);
    const i2 = 512 + ((hi >>> 8) & 0xff);
    const i1 = 256 + ((hi >>> 16) & 0xff);
    const i0 = hi >>> 24;
    lo = tl[i7] ^ tl[i6] ^ tl[i5] ^ tl[i4] ^ tl[i3] ^ tl[i2] ^ tl[i1] ^ tl[i0];
    hi = th[i7] ^ th[i6] ^ th[i5] ^ th[i4] ^ th[i3] ^ th[i2] ^ th[i1] ^ th[i0];
  }
  for (; i < n; i++) {
    const idx = (lo ^ buf[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ tl[idx];
    hi = (hi >>> 8) ^ th[idx];
  }
  return (BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0);
}
