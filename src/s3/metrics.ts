// `GET /_sediment/metrics`: the server's counters in the Prometheus text format (version 0.0.4), for a
// scraper. Requests by method and status code with a latency histogram per method, requests in flight,
// the engine's gauges (Engine.gauges(): no scan of the index, so a scrape costs the same with a billion
// objects), the process's memory and CPU, and whatever the server's owner adds (`extra`: the background
// maintenance of `sediment serve`). Counting a request is a few array and map operations.
import type { EngineGauges } from '../engine/types.js';

/** Methods get their own label value; anything else is "OTHER" (a client cannot grow the label set). */
const METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE', 'OTHER'] as const;
/** Upper bounds of the latency histogram, seconds. */
export const LATENCY_BOUNDS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

/** One sample to render: a metric name, its labels, a value. */
export interface MetricSample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

function methodIndex(method: string | undefined): number {
  const i = METHODS.indexOf(method as (typeof METHODS)[number]);
  return i === -1 ? METHODS.length - 1 : i;
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

export class HttpMetrics {
  private readonly started = Date.now();
  /** Per method: status code → requests answered. */
  private readonly byCode = METHODS.map(() => new Map<number, number>());
  /** Per method: counts per latency bound (not cumulative; the last slot is +Inf), sum, count. */
  private readonly buckets = METHODS.map(() => new Array<number>(LATENCY_BOUNDS_S.length + 1).fill(0));
  private readonly sums = METHODS.map(() => 0);
  private readonly counts = METHODS.map(() => 0);

  /** Counts one answered request. */
  observe(method: string | undefined, status: number, seconds: number): void {
    const m = methodIndex(method);
    const codes = this.byCode[m]!;
    codes.set(status, (codes.get(status) ?? 0) + 1);
    let b = 0;
    while (b < LATENCY_BOUNDS_S.length && seconds > LATENCY_BOUNDS_S[b]!) b++;
    this.buckets[m]![b]!++;
    this.sums[m]! += seconds;
    this.counts[m]!++;
  }

  /** The whole exposition text. */
  render(engine: EngineGauges, inflight: number, extra: MetricSample[] = []): string {
    const out: string[] = [];
    const family = (name: string, help: string, type: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('sediment_http_requests_total', 'HTTP requests answered, by method and status code.', 'counter');
    for (const [m, codes] of this.byCode.entries()) {
      for (const [code, n] of [...codes].sort((a, b) => a[0] - b[0])) out.push(`sediment_http_requests_total${labelText({ method: METHODS[m]!, code: String(code) })} ${n}`);
    }
    family('sediment_http_request_duration_seconds', 'Time from the request to the end of its answer, by method.', 'histogram');
    for (const [m, slots] of this.buckets.entries()) {
      if (this.counts[m] === 0) continue;
      let cumulative = 0;
      for (const [i, bound] of LATENCY_BOUNDS_S.entries()) {
        cumulative += slots[i]!;
        out.push(`sediment_http_request_duration_seconds_bucket${labelText({ method: METHODS[m]!, le: String(bound) })} ${cumulative}`);
      }
      out.push(`sediment_http_request_duration_seconds_bucket${labelText({ method: METHODS[m]!, le: '+Inf' })} ${this.counts[m]}`);
      out.push(`sediment_http_request_duration_seconds_sum${labelText({ method: METHODS[m]! })} ${num(this.sums[m]!)}`);
      out.push(`sediment_http_request_duration_seconds_count${labelText({ method: METHODS[m]! })} ${this.counts[m]}`);
    }
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const samples: MetricSample[] = [
      { name: 'sediment_http_requests_in_flight', help: 'Requests being handled now.', type: 'gauge', value: inflight },
      { name: 'sediment_buckets', help: 'Buckets.', type: 'gauge', value: engine.buckets },
      { name: 'sediment_objects', help: 'Objects in the index (every version and delete marker of versioned buckets).', type: 'gauge', value: engine.objects },
      { name: 'sediment_logical_bytes', help: 'Bytes of the objects in the index, as clients see them.', type: 'gauge', value: engine.logicalBytes },
      { name: 'sediment_stored_bytes', help: 'Bytes of the hot tier on disk (segments and packs).', type: 'gauge', value: engine.storedBytes },
      { name: 'sediment_segments', help: 'Segment and pack files of the hot tier.', type: 'gauge', value: engine.segments },
      { name: 'sediment_dictionaries', help: 'zstd dictionaries for small objects (DIR/dicts).', type: 'gauge', value: engine.dictionaries },
      { name: 'sediment_damage_at_open', help: 'Damaged regions found when the data directory was opened (see sediment verify).', type: 'gauge', value: engine.damageAtOpen },
      { name: 'sediment_writable', help: '1 while writes are accepted; 0 once the log writer stopped after an I/O error (restart needed).', type: 'gauge', value: engine.writable ? 1 : 0 },
      { name: 'sediment_framing_bytes', help: 'Raw bytes of uploads being compressed and hashed now.', type: 'gauge', value: engine.framingBytes },
      { name: 'sediment_read_ahead_bytes', help: 'Raw bytes read ahead for GETs now.', type: 'gauge', value: engine.readAheadBytes },
      ...extra,
      { name: 'process_resident_memory_bytes', help: 'Resident memory of the server process.', type: 'gauge', value: mem.rss },
      { name: 'process_cpu_seconds_total', help: 'CPU time of the server process, user and system, all threads.', type: 'counter', value: (cpu.user + cpu.system) / 1e6 },
      { name: 'process_start_time_seconds', help: 'When the metrics started counting (server start), Unix seconds.', type: 'gauge', value: Math.floor(this.started / 1000) },
    ];
    let last = '';
    for (const s of samples) {
      if (s.name !== last) family(s.name, s.help, s.type);
      last = s.name;
      out.push(`${s.name}${labelText(s.labels ?? {})} ${num(s.value)}`);
    }
    return out.join('\n') + '\n';
  }
}
