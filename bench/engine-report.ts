// The engine bench's markdown table: one row per measurement, reference and ratio side by side.
import type { ResultRow } from './engine-common.js';
import { fmt, markdownTable } from './setup.js';

export const LEGEND =
  'ratio = sediment / reference. cores used = CPU time of the bench process (all threads) / wall time. ' +
  'other load = cores kept busy by other processes on the machine during the sediment run / the reference run ' +
  '(/proc/stat minus this process; for the zstd CLI minus zstd itself). MB/s = 10^6 B/s.';

function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined) return '—';
  if (unit === '×') return v.toFixed(3);
  if (unit === 's') return fmt(v, 2);
  if (unit === 'B/object') return fmt(v, 1);
  return fmt(v);
}

/** Cores busy in other processes during the sediment run / the reference run. */
function otherLoad(r: ResultRow): string {
  const f = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(2));
  if (r.otherCores === undefined && r.referenceOtherCores === undefined) return '—';
  return r.referenceOtherCores === undefined ? f(r.otherCores) : `${f(r.otherCores)} / ${f(r.referenceOtherCores)}`;
}

export function resultsTable(rows: ResultRow[]): string {
  return markdownTable(
    ['bench', 'sediment', 'unit', 'reference', 'reference value', 'ratio', 'target', 'result', 'cores used', 'other load', 'note'],
    rows.map((r) => [
      r.bench,
      formatValue(r.sediment, r.unit),
      r.unit,
      r.reference ?? '—',
      formatValue(r.referenceValue, r.unit),
      r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
      r.target ?? '—',
      r.pass === undefined ? 'info' : r.pass ? '**pass**' : '**FAIL**',
      r.cores === undefined ? '—' : r.cores.toFixed(2),
      otherLoad(r),
      r.note ?? '',
    ]),
  );
}
