// ISO 8601 dates, read strictly (shared by the CLI's options and the S3 lifecycle XML): Date.parse reads
// "1" as 2001 and February 31 as March 3, so a date that is not ISO 8601, or names a day or time the
// calendar lacks, is refused (undefined), never turned into another one.

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

