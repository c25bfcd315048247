// Joins CRCs without the data: S3 multipart uploads report full-object CRC32 / CRC32C / CRC64NVME
// checksums, derived here from each part's CRC and size so no part is reread. Contract: for the
// reflected, init = xorout = all-ones CRCs of src/native/index.ts,
// crcCombine(alg, crc(A), crc(B), len(B)) === crc(A ‖ B); bad arguments throw TypeError (wrong
// type or unknown algorithm) or RangeError (value out of range), never return a wrong CRC.

export type CrcAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME';

interface Spec {
  readonly name: CrcAlgorithm;
  readonly width: number;
  /** Largest valid CRC value, 2^width - 1. */
  readonly max: bigint;
  /** The reflected polynomial. */
  readonly poly: bigint;
  /** powers[k] = multiplesOf(x^(2^k) mod P). */
  readonly powers: readonly Multiples[];
  /** multiplesOf(x^(8·len) mod P) by len; bounded, least recently used evicted first. */
  readonly cache: Map<number, Multiples>;
}

/**
 * f·x^i mod P for i = 0..width-1: multiplying anything by f is then one XOR per set bit, which
 * makes a cached factor (parts mostly share a size) several times cheaper to apply than a
 * shift-and-reduce multiply.
 */
type Multiples = readonly bigint[];

const POWER_TABLE_SIZE = 64;
const CACHE_LIMIT = 64;

function multiplesOf(width: number, poly: bigint, f: bigint): Multiples {
  const out: bigint[] = [];
  for (let i = 0; i < width; i++) {
    out.push(f);
    // f·x: reflection puts x^(width-1) in bit 0; shifted out, it wraps around as P.
    f = (f & 1n) !== 0n ? (f >> 1n) ^ poly : f >> 1n;
  }
  return out;
}

/** a·f mod P, with f given as its multiples. Bit j of a (from the least significant) is x^(width-1-j). */
function mulMod(a: bigint, f: Multiples): bigint {
  const bits = a.toString(2);
  const skip = f.length - bits.length; // leading zero bits: the powers of x that a lacks
  let product = 0n;
  for (let i = 0; i < bits.length; i++) {
    if (bits.charCodeAt(i) === 49 /* '1' */) product ^= f[skip + i];
  }
  return product;
}

function makeSpec(name: CrcAlgorithm, width: number, poly: bigint): Spec {
  const powers = [multiplesOf(width, poly, 1n << BigInt(width - 2))]; // x^1
  for (let k = 1; k < POWER_TABLE_SIZE; k++) {
    const prev = powers[k - 1];
    powers.push(multiplesOf(width, poly, mulMod(prev[0], prev)));
  }
  return { name, width, max: (1n << BigInt(width)) - 1n, poly, powers, cache: new Map() };
}

// Width and reflected polynomial; each Spec (its power table takes ~1 ms) is built on first use.
const params: Record<CrcAlgorithm, readonly [width: number, poly: bigint]> = {
  CRC32: [32, 0xedb88320n],
  CRC32C: [32, 0x82f63b78n],
  CRC64NVME: [64, 0x9a6c9329ac4bc9b5n],
};
const specs = new Map<CrcAlgorithm, Spec>();

/** x^(8·len) mod P as multiples: one factor x^(2^(k+3)) per set bit k of len. */
function shiftFactor(spec: Spec, len: number): Multiples {
  const cached = spec.cache.get(len);
  if (cached !== undefined) {
    spec.cache.delete(len);
    spec.cache.set(len, cached);
    return cached;
  }
  let factor = 1n << BigInt(spec.width - 1); // x^0
  let rest = BigInt(len);
  for (let k = 3; rest !== 0n; k++, rest >>= 1n) {
    if ((rest & 1n) !== 0n) factor = mulMod(factor, spec.powers[k]);
  }
  const multiples = multiplesOf(spec.width, spec.poly, factor);
  if (spec.cache.size >= CACHE_LIMIT) {
    const oldest = spec.cache.keys().next().value as number;
    spec.cache.delete(oldest);
  }
  spec.cache.set(len, multiples);
  return multiples;
}

function argTypeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

function argRangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

function specOf(alg: unknown): Spec {
  if (typeof alg !== 'string' || !Object.hasOwn(params, alg)) {
    throw argTypeError(`unknown CRC algorithm ${JSON.stringify(alg)} (expected CRC32, CRC32C or CRC64NVME)`);
  }
  const name = alg as CrcAlgorithm;
  let spec = specs.get(name);
  if (spec === undefined) {
    spec = makeSpec(name, ...params[name]);
    specs.set(name, spec);
  }
  return spec;
}

function checkCrc(spec: Spec, crc: unknown, what: string): bigint {
  if (typeof crc !== 'bigint') throw argTypeError(`${what} must be a bigint, got ${typeof crc}`);
  if (crc < 0n || crc > spec.max) {
    throw argRangeError(`${what} must be in 0..2^${spec.width}-1 for ${spec.name}, got ${crc}`);
  }
  return crc;
}

function checkLength(len: unknown, what: string): number {
  if (typeof len !== 'number') throw argTypeError(`${what} must be a number, got ${typeof len}`);
  if (!Number.isSafeInteger(len) || len < 0) {
    throw argRangeError(`${what} must be a non-negative safe integer, got ${len}`);
  }
  return len;
}

function checkParts(parts: unknown): ReadonlyArray<unknown> {
  if (!Array.isArray(parts)) throw argTypeError('parts must be an array');
  return parts;
}

function checkPart(part: unknown, i: number): Record<string, unknown> {
  if (typeof part !== 'object' || part === null) throw argTypeError(`parts[${i}] must be an object`);
  return part as Record<string, unknown>;
}

/** CRC of A‖B from crc(A), crc(B) and B's length in bytes (lenB: a non-negative safe integer). */
export function crcCombine(alg: CrcAlgorithm, crcA: bigint, crcB: bigint, lenB: number): bigint {
  const spec = specOf(alg);
  checkCrc(spec, crcA, 'crcA');
  checkCrc(spec, crcB, 'crcB');
  checkLength(lenB, 'lenB');
  return mulMod(crcA, shiftFactor(spec, lenB)) ^ crcB;
}

/** Full-object CRC of parts in order, from each part's CRC and byte length. Empty list → CRC of nothing (0n). */
export function crcOfParts(alg: CrcAlgorithm, parts: ReadonlyArray<{ crc: bigint; size: number }>): bigint {
  const spec = specOf(alg);
  let acc = 0n;
  checkParts(parts).forEach((raw, i) => {
    const part = checkPart(raw, i);
    const crc = checkCrc(spec, part.crc, `parts[${i}].crc`);
    const size = checkLength(part.size, `parts[${i}].size`);
    acc = mulMod(acc, shiftFactor(spec, size)) ^ crc;
  });
  return acc;
}

/** Same, on the big-endian digest bytes S3 uses (4 bytes for CRC32/CRC32C, 8 for CRC64NVME); returns digest bytes. */
export function crcDigestOfParts(alg: CrcAlgorithm, parts: ReadonlyArray<{ digest: Uint8Array; size: number }>): Buffer {
  const spec = specOf(alg);
  const bytes = spec.width / 8;
  const asCrcs = checkParts(parts).map((raw, i) => {
    const part = checkPart(raw, i);
    const digest = part.digest;
    if (!(digest instanceof Uint8Array)) throw argTypeError(`parts[${i}].digest must be a Uint8Array`);
    if (digest.length !== bytes) {
      throw argRangeError(`parts[${i}].digest must be ${bytes} bytes for ${spec.name}, got ${digest.length}`);
    }
    const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
    const crc = bytes === 4 ? BigInt(view.getUint32(0)) : view.getBigUint64(0);
    return { crc, size: part.size as number };
  });
  const out = Buffer.alloc(bytes);
  const crc = crcOfParts(alg, asCrcs);
  if (bytes === 4) out.writeUInt32BE(Number(crc));
  else out.writeBigUInt64BE(crc);
  return out;
}
