// Parsers for option values that are numbers or dates, shared by every command so that one spelling
// means the same everywhere. Strict on purpose: `Number('')` is 0 and Date.parse reads "1" as 2001, so a
// value that is empty, not written as a plain decimal number, a fraction where a count is meant, or a
// date that is not ISO 8601 (or names a day the calendar lacks, like February 31) is refused, never
// turned into something the user did not write. The commander parsers throw InvalidArgumentError, which
// commander reports as "option '--x <n>' argument 'v' is invalid. ..." (exit 2).
import { InvalidArgumentError } from 'commander';

/** A plain decimal number: digits, an optional fraction and exponent; no sign, hex, spaces or "Infinity". */
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** A number from `min` to `max` (fractions allowed), for options like --dead-share or --compact-every. */
export function parseNumber(min: number, max: number): (text: string) => number {
  return (text: string): number => {
    const n = Number(text);
    if (!DECIMAL.test(text) || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return n;
  };
}

/** A whole number from `min` to `max`, for counts such as --threads or --days. */
export function parseInteger(min: number, max: number): (text: string) => number {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

// YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.fff]] with Z or a ±HH[:MM] offset (a time without a zone would be
// read in the local time zone: refused as ambiguous).
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?))?$/i;

/**
 * Milliseconds since the epoch of an ISO 8601 date or date-time (a date alone is midnight UTC), or
 * undefined when `text` is not one or names a time that does not exist (2027-02-31, 24:00, +25:00).
 */
export function isoDateMs(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((f) => Number(f ?? 0));
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // setUTCFullYear: Date.UTC would read years below 100 as 19xx
  d.setUTCHours(hour, minute, second, ms);
  // Date rolls over (February 31 becomes March 3): a field that does not come back as written did not exist.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || d.getUTCHours() !== hour || d.getUTCMinutes() !== minute || d.getUTCSeconds() !== second) {
    return undefined;
  }
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offsetMs = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const at = d.getTime() - offsetMs;
  return Number.isFinite(at) ? at : undefined;
}

export const DATE_EXAMPLE = 'a date such as 2027-01-31 or 2027-01-31T12:00:00Z (ISO 8601)';

/** --as-of and the like: an ISO 8601 date (midnight UTC) or date-time with a time zone. */
export function parseDate(text: string): number {
  const ms = isoDateMs(text);
  if (ms === undefined) throw new InvalidArgumentError(`expected ${DATE_EXAMPLE}`);
  return ms;
}
