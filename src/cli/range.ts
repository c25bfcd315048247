// Parsing `--range` for `get`, with HTTP Range semantics (inclusive, zero-based): `A-B`, `A-` (to the
// end) or `-N` (the last N bytes). The suffix form needs the object's size, so it is resolved later.
import type { ByteRange } from '../index.js';
import { UsageError } from './errors.js';

export type RangeSpec = { kind: 'span'; start: number; end: number } | { kind: 'suffix'; length: number };

const DIGITS = /^\d+$/;

/** The end of `START-` (to the end of the object): the engine clamps it to the object's last byte. */
export const OPEN_END = Number.MAX_SAFE_INTEGER;

function toInt(text: string, arg: string): number {
  const n = Number(text);
  if (!DIGITS.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`invalid --range "${arg}": ${text} is not a byte offset`);
  return n;
}

export function parseRange(arg: string): RangeSpec {
  const dash = arg.indexOf('-');
  if (dash < 0) throw new UsageError(`invalid --range "${arg}" (expected START-END, START- or -LENGTH)`);
  const left = arg.slice(0, dash);
  const right = arg.slice(dash + 1);
  if (left === '') {
    const length = toInt(right, arg);
    if (length === 0) throw new UsageError(`invalid --range "${arg}": the suffix length must be positive`);
    return { kind: 'suffix', length };
  }
  const start = toInt(left, arg);
  const end = right === '' ? OPEN_END : toInt(right, arg);
  if (end < start) throw new UsageError(`invalid --range "${arg}": the end is before the start`);
  return { kind: 'span', start, end };
}

/** The engine's message about an unsatisfiable range, with an open end shown as the user wrote it ("range 6-"). */
export function describeRangeFailure(message: string): string {
  return message.replace(new RegExp(`\\b(range \\d+)-${OPEN_END}\\b`), '$1-');
}

/** The engine's range for an object of `size` bytes (the engine clamps `end` and rejects a start past the end). */
export function toByteRange(spec: RangeSpec, size: number): ByteRange {
  if (spec.kind === 'span') return { start: spec.start, end: spec.end };
  return { start: Math.max(0, size - spec.length), end: Math.max(0, size - 1) };
}
