// The S3 bench's tables and its check against the acceptance targets of issue 3 (and, for information,
// the stricter ones of issue 7). With several clients every row names its client and every ratio is
// taken between servers measured with the same client: the targets are stated per client.
import type { BenchClient, PhaseResult, PhaseSpec } from './s3-phases.js';
import type { DiskReference } from './s3-disk.js';
import { fmt, markdownTable } from './setup.js';

export interface Target {
  client: BenchClient;
  issue: 3 | 7;
  text: string;
  value: number | undefined;
  min: number;
  pass: boolean | undefined;
}

export function find(results: PhaseResult[], phase: string, server: string, client: BenchClient): PhaseResult | undefined {
  return results.find((r) => r.phase === phase && r.server === server && r.client === client);
}

/** Throughput that ratios compare: ops/s for small objects, MB/s for large ones. */
function rate(r: PhaseResult | undefined, small: boolean): number | undefined {
  if (!r || r.result.errors > 0) return undefined;
  return small ? r.result.opsPerS : r.result.mbPerS;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

const show = (v: number | undefined, digits: number, suffix = ''): string => (v === undefined ? '-' : `${fmt(v, digits)}${suffix}`);

export function resultsTable(specs: PhaseSpec[], results: PhaseResult[], servers: string[], clients: BenchClient[]): string {
  const rows: Array<Array<string | number>> = [];
  for (const p of specs) {
    for (const c of clients) {
      for (const s of servers) {
        const r = find(results, p.id, s, c);
        if (r) rows.push(resultRow(p, r));
      }
    }
  }
  return markdownTable(
    ['workload', 'client', 'server', 'ops', 'ops/s', 'MB/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'client cores', 'server cores', 'other load'],
    rows,
  );
}

function resultRow(p: PhaseSpec, r: PhaseResult): Array<string | number> {
  const w = r.result;
  return [
    p.label,
    r.client,
    r.server,
    fmt(w.ops),
    fmt(w.opsPerS, w.opsPerS < 100 ? 1 : 0),
    fmt(w.mbPerS, 1),
    fmt(w.latency.p50Ms, 1),
    fmt(w.latency.p99Ms, 1),
    fmt(w.latency.maxMs, 0),
    w.errors === 0 ? '0' : `**${w.errors}**`,
    fmt(w.cpu.cores, 2),
    show(r.serverCores, 2),
    show(r.otherCores, 2),
  ];
}

export function ratioTable(specs: PhaseSpec[], results: PhaseResult[], clients: BenchClient[]): string {
  const rows = specs.flatMap((p) =>
    clients.map((c) => {
      const small = p.id.startsWith('small');
      const sed = rate(find(results, p.id, 'sediment', c), small);
      return [
        `${p.label} (${small ? 'ops/s' : 'MB/s'})`,
        c,
        show(ratio(sed, rate(find(results, p.id, 's3rver', c), small)), 2, '×'),
        show(ratio(sed, rate(find(results, p.id, 'bare', c), small)), 2, '×'),
      ];
    }),
  );
  return markdownTable(['workload', 'client', 'sediment / s3rver', 'sediment / bare'], rows);
}

/** The large PUT phases against the disk: sediment and s3rver with each client / the plain write of the same bytes. */
export function diskTable(specs: PhaseSpec[], results: PhaseResult[], clients: BenchClient[], disk: DiskReference[]): string {
  if (disk.length === 0) return '';
  const rows = disk.flatMap((d) => {
    const p = specs.find((x) => x.id === d.phase);
    return clients.map((c) => [
      p?.label ?? d.phase,
      c,
      fmt(d.mbPerS, 1),
      show(ratio(rate(find(results, d.phase, 'sediment', c), false), d.mbPerS), 2, '×'),
      show(ratio(rate(find(results, d.phase, 's3rver', c), false), d.mbPerS), 2, '×'),
    ]);
  });
  return markdownTable(['workload', 'client', 'disk MB/s (plain write + fdatasync per object)', 'sediment / disk', 's3rver / disk'], rows);
}

/**
 * The targets measured with one client (ratios between servers it drove). `large` names the large
 * object size in the target texts (the targets are set for 64 MiB).
 */
export function targets(results: PhaseResult[], client: BenchClient, storedRatio: number | undefined, large = '64 MiB', disk: DiskReference[] = []): Target[] {
  const r = (phase: string, server: string, small: boolean): number | undefined => rate(find(results, phase, server, client), small);
  const t = (issue: 3 | 7, text: string, value: number | undefined, min: number): Target => ({
    client,
    issue,
    text,
    value,
    min,
    pass: value === undefined ? undefined : value >= min,
  });
  const sedPut = r('small-put', 'sediment', true);
  const sedGet = r('small-get', 'sediment', true);
  const list = [
    t(3, '4 KiB PUT ≥ 3× s3rver', ratio(sedPut, r('small-put', 's3rver', true)), 3),
    t(3, '4 KiB PUT ≥ 0.4× bare', ratio(sedPut, r('small-put', 'bare', true)), 0.4),
    t(3, '4 KiB GET ≥ 0.5× bare', ratio(sedGet, r('small-get', 'bare', true)), 0.5),
    t(3, `${large} log PUT ≥ 150 MB/s`, r('large-log-put', 'sediment', false), 150),
    t(3, `${large} log GET ≥ 400 MB/s`, r('large-log-get', 'sediment', false), 400),
    t(3, `${large} random GET ≥ 400 MB/s`, r('large-random-get', 'sediment', false), 400),
    t(7, '4 KiB PUT ≥ 0.6× bare', ratio(sedPut, r('small-put', 'bare', true)), 0.6),
    t(7, '4 KiB GET ≥ 0.7× bare', ratio(sedGet, r('small-get', 'bare', true)), 0.7),
    t(7, '4 KiB PUT ≥ 4× s3rver', ratio(sedPut, r('small-put', 's3rver', true)), 4),
    t(7, `${large} log PUT ≥ 0.5× bare`, ratio(r('large-log-put', 'sediment', false), r('large-log-put', 'bare', false)), 0.5),
    t(7, `${large} log stored ≤ 1/8 (logical / stored ≥ 8)`, storedRatio, 8),
    t(7, `${large} log GET ≥ 0.7× bare`, ratio(r('large-log-get', 'sediment', false), r('large-log-get', 'bare', false)), 0.7),
    t(7, `${large} random PUT ≥ 0.7× plain write + fdatasync (disk)`, ratio(r('large-random-put', 'sediment', false), disk.find((d) => d.phase === 'large-random-put')?.mbPerS), 0.7),
    t(7, `${large} random GET ≥ 0.7× bare`, ratio(r('large-random-get', 'sediment', false), r('large-random-get', 'bare', false)), 0.7),
  ];
  // A target on the load generator itself, not on the servers: it says nothing about node:http.
  if (client === 'loadgen') list.push(t(7, 'client ≥ 8,000 4 KiB PUT/s against bare', r('small-put', 'bare', true), 8000));
  return list;
}

export function targetTable(list: Target[]): string {
  return markdownTable(
    ['client', 'issue', 'target', 'measured', 'result'],
    list.map((x) => [x.client, `#${x.issue}`, x.text, show(x.value, x.value !== undefined && x.value < 20 ? 2 : 0), x.pass === undefined ? 'n/a' : x.pass ? 'pass' : '**FAIL**']),
  );
}
