// The one door to native code. Loads the sediment_native addon (native/binding.gyp) and exposes
// checksums and the directory lock through a single interface; when the addon cannot be loaded
// the checksums fall back to the pure-JS versions in crc-js.ts (same results, slower) and
// `nativeLoaded` / `nativeLoadError` say why. `flock` has no fallback: without the addon it
// throws, because a data directory must never be opened unlocked.
//
// The addon path is found from the package root (the nearest ancestor directory holding the
// package.json named "sediment"), so this works both from src/native/ (vitest) and from
// dist/src/native/ (built). The package.json is read through require() so this layer needs no
// node:fs (only src/io/ touches the file system).

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SedimentError } from '../util/errors.js';
import * as js from './crc-js.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME';
export const checksumAlgorithms: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

export interface CpuFeatures {
  sse42: boolean;
  pclmul: boolean;
  /** AVX2 usable (multi-buffer MD5, 8 lanes); absent from builds before it. */
  avx2?: boolean;
  /** AVX-512 F usable (multi-buffer MD5, 16 lanes); absent from builds before it. */
  avx512?: boolean;
  /** AVX-512 VL usable as well (multi-buffer MD5, 8 lanes on 256-bit registers); absent from builds before it. */
  avx512vl?: boolean;
}

/** An MD5 path to force (tests, benches): lanes 1, 8 or 16 (the best kernel of that width), or a kernel's name. */
export type Md5Path = 1 | 8 | 16 | 'scalar' | 'avx2' | 'avx512vl' | 'avx512';

/** The addon's exports, as built from native/src/addon.c. */
export interface NativeAddon {
  crc32c(buf: Uint8Array, prev?: number): number;
  crc64nvme(buf: Uint8Array, prev?: bigint): bigint;
  /** Portable slice-by-8 paths, bypassing hardware acceleration; for cross-checking. */
  crc32cTable(buf: Uint8Array, prev?: number): number;
  crc64nvmeTable(buf: Uint8Array, prev?: bigint): bigint;
  /** Optional (a build from before it lacks it): XXH64, seed 0, of the bytes in place. */
  xxh64?(buf: Uint8Array): bigint;
  /** Optional: puts the calling thread under SCHED_BATCH (Linux; false where it did not take effect). */
  schedBatch?(): boolean;
  flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean;
  cpuFeatures(): CpuFeatures;
  /** Optional (a build from before it lacks it): see md5Many below. `lanes` forces a path (Md5Path). */
  md5Many?(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, out: Uint8Array, lanes?: Md5Path): number;
  /** Optional (a build from before it lacks it): running MD5s continued side by side, see md5-streams.ts. */
  md5Blocks?(states: Uint8Array, datas: Uint8Array[], lanes?: Md5Path): number;
  /** Optional (a build from before it lacks it): see preadNoWait below. */
  preadNoWait?(fd: number, buf: Uint8Array, position: number): number;
  /** Optional (a build from before it lacks it): see copyBytes below. */
  copyBytes?(target: Uint8Array, targetStart: number, source: Uint8Array): number;
  /** Optional (a build from before it lacks it): see execSelf below. */
  exec?(argv: string[]): number;
  /** Optional (a build from before it lacks it): see mallocTrim below. */
  mallocTrim?(): boolean;
  /** Optional (a build from before it lacks them): see finalizeDictionary below. */
  zdictAvailable?(): boolean;
  zdictFinalize?(content: Uint8Array, samples: Uint8Array, sizes: Uint32Array, level: number, dictId: number, out: Uint8Array): number;
  /** Optional (a build from before it lacks them): the log writer thread, see src/io/log-appender.ts. */
  logWriterOpen?(fd: number, onReport: (doneSeq: number, synced: boolean, errno: number, failedOp: number, failedSeq: number) => void): NativeLogWriter;
  logWriterSubmit?(writer: NativeLogWriter, buffers: Uint8Array[], position: number, sync: boolean): number;
  logWriterResume?(writer: NativeLogWriter): void;
  logWriterRef?(writer: NativeLogWriter, ref: boolean): void;
  logWriterClose?(writer: NativeLogWriter): void;
}

/** An opaque handle of the addon's log writer thread. */
export type NativeLogWriter = { readonly __nativeLogWriter: unique symbol };

const addonExports = ['crc32c', 'crc64nvme', 'crc32cTable', 'crc64nvmeTable', 'flock', 'cpuFeatures'] as const;

const require = createRequire(import.meta.url);

function findPackageRoot(startDir: string): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    let name: unknown;
    try {
      name = (require(join(dir, 'package.json')) as { name?: unknown }).name;
    } catch {
      name = undefined; // no package.json here (or unreadable): keep walking up
    }
    if (name === 'sediment') return dir;
    if (dirname(dir) === dir) {
      throw new Error(`no package.json named "sediment" above ${startDir}`);
    }
  }
}

function loadAddon(): { addon: NativeAddon | null; path: string | null; error: Error | null } {
  let path: string | null = null;
  try {
    path = join(findPackageRoot(dirname(fileURLToPath(import.meta.url))), 'native', 'build', 'Release', 'sediment_native.node');
    const addon = require(path) as Partial<NativeAddon>;
    const missing = addonExports.filter((name) => typeof addon[name] !== 'function');
    if (missing.length > 0) {
      throw new Error(`addon ${path} lacks ${missing.join(', ')} (stale build? run npm run install)`);
    }
    return { addon: addon as NativeAddon, path, error: null };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    return { addon: null, path, error };
  }
}

const loaded = loadAddon();

/** True when the native addon is in use; false means the JS fallbacks are. */
export const nativeLoaded: boolean = loaded.addon !== null;
/** Why the addon could not be loaded (null when it was). */
export const nativeLoadError: Error | null = loaded.error;
/** Where the addon was looked for (null if the package root was not found). */
export const nativeAddonPath: string | null = loaded.path;
/** The raw addon, for tests and benchmarks that compare implementations. */
export const nativeAddon: NativeAddon | null = loaded.addon;

/** CRC-32C; `prev` is the previous result (0 to start). See crc-js.ts for the contract. */
export const crc32c: (buf: Uint8Array, prev?: number) => number = loaded.addon?.crc32c ?? js.crc32c;
/** CRC-64/NVME; `prev` is the previous result (0n to start). */
export const crc64nvme: (buf: Uint8Array, prev?: bigint) => bigint = loaded.addon?.crc64nvme ?? js.crc64nvme;
/** CRC-32 (zlib polynomial), always node:zlib. */
export const crc32: (buf: Uint8Array, prev?: number) => number = js.crc32;

function flockUnavailable(): never {
  throw new SedimentError(
    'SEDIMENT_IO',
    `cannot lock the data directory: native addon sediment_native is not loaded (${loaded.error?.message ?? 'unknown reason'})`,
    { cause: loaded.error },
  );
}

/**
 * flock(2) on `fd`: exclusive (LOCK_EX) or shared (LOCK_SH), optionally non-blocking (LOCK_NB).
 * Returns true when the lock is held, false when LOCK_NB was refused (EWOULDBLOCK); any other
 * failure throws an Error whose `code` is the errno name (e.g. 'EBADF'). The lock belongs to the
 * open file description and is released when it is closed or the process dies, even by SIGKILL.
 * Blocking mode blocks the event loop until granted; the data-directory lock uses nonBlocking.
 */
export const flock: (fd: number, exclusive: boolean, nonBlocking: boolean) => boolean =
  loaded.addon?.flock ?? flockUnavailable;

/**
 * preadv2(RWF_NOWAIT): fills all of `buf` from `position` of `fd` if the bytes are in the page cache, never
 * waiting for the disk. Returns buf.length on success, -1 when the caller must read asynchronously (not
 * cached, a short read, or any error — the asynchronous read reports it), -2 when unsupported here.
 */
export const preadNoWait: (fd: number, buf: Uint8Array, position: number) => number =
  loaded.addon?.preadNoWait ?? (() => -2);

/** Below this many bytes, Buffer.copy costs less than a call into the addon (bench/copy.bench.ts). */
const NATIVE_COPY_MIN_BYTES = 1024;
const nativeCopy = loaded.addon?.copyBytes;

/**
 * Copies all of `source` into `target` at `targetStart`; returns the bytes copied. For copies into shared
 * memory (the chunk buffers, a SharedArrayBuffer): V8 copies there with relaxed atomic stores, a byte at a
 * time when the two sides are not equally aligned mod 8, ~3x slower than the addon's memmove
 * (bench/copy.bench.ts). A source that does not fit throws RangeError and copies nothing.
 */
export function copyBytes(target: Uint8Array, targetStart: number, source: Uint8Array): number {
  if (nativeCopy !== undefined && source.length >= NATIVE_COPY_MIN_BYTES) return nativeCopy(target, targetStart, source);
  if (!(Number.isSafeInteger(targetStart) && targetStart >= 0 && source.length <= target.length - targetStart)) {
    throw new RangeError('The source does not fit in the target at "targetStart"');
  }
  target.set(source, targetStart);
  return source.length;
}

/**
 * execv(argv[0], argv): replaces this process with another program (same pid, same environment as
 * process.env has it now; stdin/stdout/stderr and other descriptors without close-on-exec kept). Does not return on success; returns
 * the errno when exec failed, or undefined when the addon (or this function in it) is missing.
 */
export function execSelf(argv: string[]): number | undefined {
  return loaded.addon?.exec?.(argv);
}

/**
 * glibc malloc_trim(0): returns the free memory of every malloc arena to the system, including whole free
 * pages in the middle of a heap. True if any was released; false if none was, or without the addon or
 * glibc. Blocks the calling thread while it works: ~20 ms to release ~120 MB of a 270 MB heap here.
 */
export function mallocTrim(): boolean {
  return loaded.addon?.mallocTrim?.() ?? false;
}

/**
 * The MD5 of every message `data[offsets[i], offsets[i] + lengths[i])`, written to `out[16i, 16i + 16)`.
 * The addon computes them side by side, 16 (AVX-512, for more than 8 messages) or 8 (AVX-512VL, else AVX2)
 * messages per instruction stream (native/src/md5-multi.c): for a batch of 4 KiB objects ~0.7 µs each against ~6 µs with node:crypto
 * (bench/md5.bench.ts). Without the addon, or on a CPU without AVX2, one at a time (node:crypto or the
 * addon's scalar code). Returns the lanes used (1 when one at a time). Reads `data` during the call only.
 * A message outside `data`, mismatched arrays or a short `out` throw RangeError.
 */
export function md5Many(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, out: Uint8Array): number {
  const native = loaded.addon?.md5Many;
  if (native !== undefined) return native(data, offsets, lengths, out);
  if (offsets.length !== lengths.length) throw new RangeError('offsets and lengths must have the same length');
  if (out.length < 16 * offsets.length) throw new RangeError('out must hold 16 bytes per message');
  for (let i = 0; i < offsets.length; i++) {
    if (offsets[i] + lengths[i] > data.length) throw new RangeError('a message lies outside data');
  }
  for (let i = 0; i < offsets.length; i++) {
    out.set(createHash('md5').update(data.subarray(offsets[i], offsets[i] + lengths[i])).digest(), 16 * i);
  }
  return 1;
}

/** Room for the header and entropy tables that finalizeDictionary puts in front of the content. */
const ZDICT_HEADER_ROOM = 4096;

/**
 * A zstd-format dictionary: entropy tables computed from `samples` at `level`, then `content` (zstd's
 * ZDICT_finalizeDictionary, from the system's libzstd.so.1 through the addon: native/src/zstd-dict.h).
 * Small frames compressed with it reuse those tables instead of building their own: on 4 KiB log-like
 * objects at level 1, ~35 % less CPU and ~7 % fewer bytes than with `content` alone as a raw-content
 * dictionary (docs/PERFORMANCE.md, session 20). The header carries `dictId` (1..2^32-1), which zstd writes
 * into every frame made with it and checks when decoding. Returns undefined when the library or the addon
 * is missing, or zstd refused (too little content or samples): the caller then keeps `content` as a
 * raw-content dictionary. The result begins with zstd's dictionary magic (37 a4 30 ec).
 */
export function finalizeDictionary(content: Uint8Array, samples: readonly Uint8Array[], level: number, dictId: number): Buffer | undefined {
  const addon = loaded.addon;
  if (addon?.zdictFinalize === undefined || addon.zdictAvailable?.() !== true || samples.length === 0) return undefined;
  const sizes = Uint32Array.from(samples, (s) => s.length);
  const out = Buffer.allocUnsafe(content.length + ZDICT_HEADER_ROOM);
  try {
    const n = addon.zdictFinalize(content, Buffer.concat(samples), sizes, level, dictId, out);
    return Buffer.from(out.subarray(0, n));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SEDIMENT_ZDICT') return undefined;
    throw err;
  }
}

/** Which hardware CRC paths the addon uses (all false when running on the JS fallback). */
export function cpuFeatures(): CpuFeatures {
  return loaded.addon?.cpuFeatures() ?? { sse42: false, pclmul: false };
}

function checkAlgorithm(alg: unknown): asserts alg is ChecksumAlgorithm {
  if (!checksumAlgorithms.includes(alg as ChecksumAlgorithm)) {
    throw Object.assign(new TypeError(`unknown checksum algorithm ${String(alg)}`), { code: 'ERR_INVALID_ARG_TYPE' });
  }
}

/**
 * The form S3 uses in x-amz-checksum-* headers: the CRC's big-endian bytes (4 for CRC32 and
 * CRC32C, 8 for CRC64NVME), base64-encoded.
 */
export function checksumBase64(alg: 'CRC32' | 'CRC32C', value: number): string;
export function checksumBase64(alg: 'CRC64NVME', value: bigint): string;
export function checksumBase64(alg: ChecksumAlgorithm, value: number | bigint): string;
export function checksumBase64(alg: ChecksumAlgorithm, value: number | bigint): string {
  checkAlgorithm(alg);
  if (alg === 'CRC64NVME') {
    if (typeof value !== 'bigint') throw new TypeError('a CRC64NVME value must be a bigint');
    const out = Buffer.allocUnsafe(8);
    out.writeBigUInt64BE(value); // throws RangeError outside 0..2^64-1
    return out.toString('base64');
  }
  if (typeof value !== 'number') throw new TypeError(`a ${alg} value must be a number`);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value); // throws RangeError outside 0..2^32-1
  return out.toString('base64');
}

/**
 * Incremental checksum of a streamed body. Digests do not end the hasher: more updates may
 * follow and the next digest covers everything so far.
 */
export class CrcHasher {
  readonly algorithm: ChecksumAlgorithm;
  #crc32 = 0;
  #crc64 = 0n;

  constructor(algorithm: ChecksumAlgorithm) {
    checkAlgorithm(algorithm);
    this.algorithm = algorithm;
  }

  /** Feeds `buf`; it is read during the call only. */
  update(buf: Uint8Array): this {
    switch (this.algorithm) {
      case 'CRC32':
        this.#crc32 = crc32(buf, this.#crc32);
        break;
      case 'CRC32C':
        this.#crc32 = crc32c(buf, this.#crc32);
        break;
      case 'CRC64NVME':
        this.#crc64 = crc64nvme(buf, this.#crc64);
        break;
    }
    return this;
  }

  /** The CRC so far: a number for CRC32/CRC32C, a bigint for CRC64NVME. */
  digest(): number | bigint {
    return this.algorithm === 'CRC64NVME' ? this.#crc64 : this.#crc32;
  }

  digestBase64(): string {
    return checksumBase64(this.algorithm, this.digest());
  }
}
