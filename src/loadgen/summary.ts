// The summary table a load generator run prints (what `sediment bench` shows): one row per workload
// result with throughput, latency percentiles, errors and the client's own CPU use, and under a workload
// that issues more than one kind of operation (mixed) one row per kind ("mixed get", "mixed put"), so a
// slow PUT is not hidden in the GETs' figures. A latency of no successful operation shows as "-", not 0.

import type { OperationResult, WorkloadResult } from './run-workload.js';

function bytesLabel(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} B`;
}

function num(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const SUMMARY_COLUMNS = ['workload', 'size', 'data', 'conc', 'ops', 'ops/s', 'MB/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'client cores'];

function figures(o: OperationResult): string[] {
  const l = o.latency;
  const ms = (v: number, digits: number): string => (l.count === 0 ? '-' : num(v, digits));
  return [num(o.ops), num(o.opsPerS, o.opsPerS < 100 ? 1 : 0), num(o.mbPerS, 1), ms(l.p50Ms, 2), ms(l.p90Ms, 2), ms(l.p99Ms, 2), ms(l.maxMs, 1), String(o.errors)];
}

/** The workload's row (all its operations), then one per kind of operation when it issues several. */
export function summaryRows(r: WorkloadResult): string[][] {
  const setup = [bytesLabel(r.objectBytes), r.data.kind, String(r.concurrency)];
  const rows = [[r.workload, ...setup, ...figures(r), num(r.cpu.cores, 2)]];
  const kinds = Object.entries(r.operations);
  if (kinds.length > 1) for (const [kind, o] of kinds) rows.push([`${r.workload} ${kind}`, ...setup, ...figures(o!), '']);
  return rows;
}

/** A markdown table of the results, followed by the first error messages of any run that had errors. */
export function formatSummary(results: WorkloadResult[]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const out = [line(SUMMARY_COLUMNS), line(SUMMARY_COLUMNS.map(() => '---')), ...results.flatMap((r) => summaryRows(r).map(line))];
  for (const r of results) {
    if (r.retries > 0) {
      out.push('', `${r.workload} ${bytesLabel(r.objectBytes)}: ${r.retries} request(s) sent again: the server closed a kept-alive connection without answering them`);
    }
    if (r.errors === 0) continue;
    const kinds = Object.entries(r.errorsByKind).map(([k, v]) => `${k} ${v}`).join(', ');
    const byOperation = Object.keys(r.operations).length > 1 ? ` [${Object.entries(r.operations).map(([k, o]) => `${k} ${o!.errors}`).join(', ')}]` : '';
    out.push('', `${r.workload} ${bytesLabel(r.objectBytes)}: ${r.errors} errors (${kinds})${byOperation}; first: ${r.errorSamples.join(' | ')}`);
  }
  return out.join('\n');
}
