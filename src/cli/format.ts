// Human-readable rendering of sizes, dates and aligned columns, and the JSON shape of values that
// JSON cannot carry as-is (Buffers become base64, times become ISO 8601 UTC).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 3145728 → "3.0 MiB"; below 1 KiB exact bytes ("512 B"). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** "3.0 MiB (3145728 bytes)", or just "512 B" when the two would say the same. */
export function formatBytesExact(bytes: number): string {
  return bytes < 1024 ? formatBytes(bytes) : `${formatBytes(bytes)} (${bytes} bytes)`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "YYYY-MM-DD HH:MM:SS" in local time, the way `aws s3 ls` shows dates. */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** ISO 8601 UTC with milliseconds: unambiguous for detail views and JSON. */
export function formatIsoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Renders `label: value` rows with the values aligned. */
export function formatFields(rows: Array<[string, string]>): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${oneLine(value)}`).join('\n');
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;

/** A value on one line: control characters (a line break in stored metadata, a key) written as JSON escapes. */
export function oneLine(value: string): string {
  return value.replace(CONTROL_CHARS, (c) => JSON.stringify(c).slice(1, -1));
}

/** "1 damaged region", "2 damaged regions": a count with its noun (plural by an "s", or `many`). */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** JSON.stringify that writes Buffers as base64 strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    return v;
  });
}
