// XXH64 (seed 0) for frames, headers, tails and checkpoints (docs/FORMAT.md preamble).
// One-shot hashes use the addon's XXH64 where it is loaded; it reads the bytes in place, where xxhash-wasm
// copies them into its memory first (5–10 % faster large GETs and random-data PUTs, docs/PERFORMANCE.md,
// session 24; `SEDIMENT_XXH64=wasm` keeps xxhash-wasm, for A/B runs). Streams (checkpoints) and builds
// without the addon use xxhash-wasm, which must be instantiated once per thread: call `initHash()`
// (idempotent) before `xxh64` or `xxh64Stream`.
import xxhash from 'xxhash-wasm';
import { nativeAddon } from '../native/index.js';

const nativeXxh64 = process.env.SEDIMENT_XXH64 === 'wasm' ? undefined : nativeAddon?.xxh64;

let h64Raw: ((input: Uint8Array, seed?: bigint) => bigint) | undefined;
let create64: ((seed?: bigint) => { update(input: Uint8Array): unknown; digest(): bigint }) | undefined;
let initPromise: Promise<void> | undefined;

export function initHash(): Promise<void> {
  initPromise ??= xxhash().then((api) => {
    h64Raw = api.h64Raw;
    create64 = api.create64;
  });
  return initPromise;
}

/** True once `initHash()` has completed in this thread. */
export function hashReady(): boolean {
  return h64Raw !== undefined;
}

/** XXH64 (seed 0) fed piece by piece: `digest()` equals `xxh64` of the pieces concatenated in order. */
export interface Xxh64Stream {
  update(data: Uint8Array): void;
  digest(): bigint;
}

/** A new incremental XXH64; throws if `initHash()` has not completed (a bug, not a fault). */
export function xxh64Stream(): Xxh64Stream {
  if (create64 === undefined) throw new Error('assertion failed: initHash() must complete before xxh64Stream()');
  const h = create64(0n);
  return {
    update: (data) => {
      for (let at = 0; at < data.length; at += WASM_SLICE_BYTES) h.update(data.subarray(at, at + WASM_SLICE_BYTES));
    },
    digest: () => h.digest(),
  };
}

/**
 * Longer inputs are hashed in slices of this many bytes. xxhash-wasm copies each input into its linear
 * memory, which grows to fit the largest input ever hashed and never shrinks: checking one ~7 MB footer at
 * open kept 7 MB in every process for good (7 B per object of the 1,000,000-object reopen bench).
 */
const WASM_SLICE_BYTES = 1 << 20;

/** XXH64 of `data`; without the addon, throws if `initHash()` has not completed (a bug, not a fault). */
export function xxh64(data: Uint8Array): bigint {
  if (nativeXxh64 !== undefined) return nativeXxh64(data);
  if (h64Raw === undefined) throw new Error('assertion failed: initHash() must complete before xxh64()');
  if (data.length <= WASM_SLICE_BYTES) return h64Raw(data, 0n);
  const h = create64!(0n);
  for (let at = 0; at < data.length; at += WASM_SLICE_BYTES) h.update(data.subarray(at, at + WASM_SLICE_BYTES));
  return h.digest();
}

/** Writes xxh64(buf[start, end)) as u64 LE at `end`. */
export function writeHashAt(buf: Buffer, start: number, end: number): void {
  buf.writeBigUInt64LE(xxh64(buf.subarray(start, end)), end);
}

/** True when the u64 LE at `end` equals xxh64(buf[start, end)). */
export function checkHashAt(buf: Buffer, start: number, end: number): boolean {
  return buf.readBigUInt64LE(end) === xxh64(buf.subarray(start, end));
}
