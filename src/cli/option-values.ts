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

export { isoDateMs } from '../util/iso-date.js';
import { isoDateMs } from '../util/iso-date.js';

export const DATE_EXAMPLE = 'a date such as 2027-01-31 or 2027-01-31T12:00:00Z (ISO 8601)';

/** --as-of and the like: an ISO 8601 date (midnight UTC) or date-time with a time zone. */
export function parseDate(text: string): number {
  const ms = isoDateMs(text);
  if (ms === undefined) throw new InvalidArgumentError(`expected ${DATE_EXAMPLE}`);
  return ms;
}
