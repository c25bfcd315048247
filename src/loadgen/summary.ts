// The summary table a load generator run prints (what `sediment bench` will show): one row per
// workload result with throughput, latency percentiles, errors and the client's own CPU use.

import type { WorkloadResult } from './run-workload.js';

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

export function summaryRow(r: WorkloadResult): string[] {
  const l = r.latency;
  return [
    r.workload,
    bytesLabel(r.objectBytes),
    r.data.kind,
    String(r.concurrency),
    num(r.ops),
    num(r.opsPerS, r.opsPerS < 100 ? 1 : 0),
    num(r.mbPerS, 1),
    num(l.p50Ms, 2),
    num(l.p90Ms, 2),
    num(l.p99Ms, 2),
    num(l.maxMs, 1),
    String(r.errors),
    num(r.cpu.cores, 2),
  ];
}

/** A markdown table of the results, followed by the first error messages of any run that had errors. */
export function formatSummary(results: WorkloadResult[]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const out = [line(SUMMARY_COLUMNS), line(SUMMARY_COLUMNS.map(() => '---')), ...results.map((r) => line(summaryRow(r)))];
  for (const r of results) {
    if (r.retries > 0) {
      out.push('', `${r.workload} ${bytesLabel(r.objectBytes)}: ${r.retries} request(s) sent again: the server closed a kept-alive connection without answering them`);
    }
    if (r.errors === 0) continue;
    const kinds = Object.entries(r.errorsByKind).map(([k, v]) => `${k} ${v}`).join(', ');
    out.push('', `${r.workload} ${bytesLabel(r.objectBytes)}: ${r.errors} errors (${kinds}); first: ${r.errorSamples.join(' | ')}`);
  }
  return out.join('\n');
}
