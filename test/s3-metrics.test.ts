// `GET /_sediment/metrics`: Prometheus text that a scraper can parse, counting exactly the requests the
// server answered (by method and status, with a latency histogram), and the engine's gauges.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpMetrics, LATENCY_BOUNDS_S } from '../src/s3/metrics.js';
import { objectPath, rawRequest, signedRequest, signHeaders } from './helpers/s3-raw.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

/** Sample lines of an exposition text: `name{labels}` → value; throws on a line that is not the format. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (families.has(meta[2]!)) throw new Error(`family ${meta[2]} declared twice`);
        families.add(meta[2]!);
        expect(['counter', 'gauge', 'histogram']).toContain(meta[3]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

describe('HttpMetrics', () => {
  it('buckets latencies by upper bound (a bound is inclusive), cumulative in the text; unknown methods are OTHER', () => {
    const m = new HttpMetrics();
    m.observe('PUT', 200, 0.001);
    m.observe('PUT', 200, 0.0011);
    m.observe('PUT', 500, 400);
    m.observe('BREW', 405, 0.2);
    const gauges = { buckets: 0, objects: 0, logicalBytes: 0, storedBytes: 0, segments: 1, dictionaries: 0, damageAtOpen: 0, writable: true, framingBytes: 0, readAheadBytes: 0 };
    const s = parseExposition(m.render(gauges, 0, [{ name: 'x_extra', help: 'h', type: 'gauge', value: 7, labels: { who: 'a "q"\\' } }]));
    expect(s.get('sediment_http_requests_total{method="PUT",code="200"}')).toBe(2);
    expect(s.get('sediment_http_requests_total{method="PUT",code="500"}')).toBe(1);
    expect(s.get('sediment_http_requests_total{method="OTHER",code="405"}')).toBe(1);
    expect(s.get('sediment_http_request_duration_seconds_bucket{method="PUT",le="0.001"}')).toBe(1);
    expect(s.get('sediment_http_request_duration_seconds_bucket{method="PUT",le="0.0025"}')).toBe(2);
    expect(s.get(`sediment_http_request_duration_seconds_bucket{method="PUT",le="${LATENCY_BOUNDS_S.at(-1)}"}`)).toBe(2);
    expect(s.get('sediment_http_request_duration_seconds_bucket{method="PUT",le="+Inf"}')).toBe(3);
    expect(s.get('sediment_http_request_duration_seconds_count{method="PUT"}')).toBe(3);
    expect(s.get('sediment_http_request_duration_seconds_sum{method="PUT"}')).toBeCloseTo(400.0021, 6);
    expect(s.get('x_extra{who="a \\"q\\"\\\\"}')).toBe(7);
    expect(s.get('sediment_segments')).toBe(1);
    expect(s.get('sediment_writable')).toBe(1);
  });
});

describe('GET /_sediment/metrics', () => {
  let h: S3Harness;
  const logLines: string[] = [];
  beforeAll(async () => {
    h = await startHarness({ log: (line) => logLines.push(line) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers without authentication and counts what the server answered', async () => {
    const scrape = async (): Promise<Map<string, number>> => {
      const res = await rawRequest(h.port, { method: 'GET', path: '/_sediment/metrics' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      return parseExposition(res.body.toString('utf8'));
    };
    const before = await scrape();
    const count = (s: Map<string, number>, method: string, code: number): number => s.get(`sediment_http_requests_total{method="${method}",code="${code}"}`) ?? 0;
    expect((await signedRequest({ method: 'PUT', path: '/metrics-bucket', port: h.port })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await signedRequest({ method: 'PUT', path: objectPath('metrics-bucket', `k${i}`), port: h.port, body: 'x'.repeat(1000 + i) })).status).toBe(200);
    expect((await signedRequest({ method: 'GET', path: objectPath('metrics-bucket', 'missing'), port: h.port })).status).toBe(404);
    expect((await rawRequest(h.port, { method: 'GET', path: objectPath('metrics-bucket', 'k0') })).status).toBe(403); // unsigned
    const after = await scrape();
    expect(count(after, 'PUT', 200) - count(before, 'PUT', 200)).toBe(4);
    expect(count(after, 'GET', 404) - count(before, 'GET', 404)).toBe(1);
    expect(count(after, 'GET', 403) - count(before, 'GET', 403)).toBe(1);
    // The first scrape itself was answered (and counted) before the second one rendered.
    expect(count(after, 'GET', 200) - count(before, 'GET', 200)).toBe(1);
    expect(after.get('sediment_http_request_duration_seconds_count{method="PUT"}')! - (before.get('sediment_http_request_duration_seconds_count{method="PUT"}') ?? 0)).toBe(4);
    expect(after.get('sediment_http_request_duration_seconds_bucket{method="PUT",le="+Inf"}')).toBe(after.get('sediment_http_request_duration_seconds_count{method="PUT"}'));
    expect(after.get('sediment_buckets')).toBe(1);
    expect(after.get('sediment_objects')).toBe(3);
    expect(after.get('sediment_logical_bytes')).toBe(1000 + 1001 + 1002);
    expect(after.get('sediment_stored_bytes')).toBeGreaterThan(0);
    expect(after.get('sediment_writable')).toBe(1);
    expect(after.get('sediment_http_requests_in_flight')).toBe(1); // the scrape itself
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);

    const head = await rawRequest(h.port, { method: 'HEAD', path: '/_sediment/metrics' });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    // Any other method is an S3 request like any other: unsigned, it is refused.
    expect((await rawRequest(h.port, { method: 'POST', path: '/_sediment/metrics' })).status).toBe(403);
  });

  it('a client that goes away mid-body or mid-download is counted as 499, never as a server error', async () => {
    const scrape = async (): Promise<Map<string, number>> => parseExposition((await rawRequest(h.port, { method: 'GET', path: '/_sediment/metrics' })).body.toString('utf8'));
    const count = (s: Map<string, number>, method: string, code: number): number => s.get(`sediment_http_requests_total{method="${method}",code="${code}"}`) ?? 0;
    expect((await signedRequest({ method: 'PUT', path: '/gone-bucket', port: h.port })).status).toBe(200);
    const big = Buffer.alloc(16 << 20, 'log line of some length\n');
    expect((await signedRequest({ method: 'PUT', path: objectPath('gone-bucket', 'big'), port: h.port, body: big, payloadHash: 'UNSIGNED-PAYLOAD' })).status).toBe(200);
    const before = await scrape();
    logLines.length = 0;

    // A PUT announcing 1 MB (more than is read whole into memory) that stops after 100 KB and closes.
    const path = objectPath('gone-bucket', 'cut');
    const s = signHeaders({ method: 'PUT', path, port: h.port, payloadHash: 'UNSIGNED-PAYLOAD', headers: { 'content-length': '1000000' } });
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: h.port, method: 'PUT', path, headers: s.headers, agent: false });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(100_000, 1), () => setTimeout(() => req.destroy(), 50));
      req.on('close', () => resolve());
    });
    // A GET of 16 MiB abandoned after its first bytes.
    const g = signHeaders({ method: 'GET', path: objectPath('gone-bucket', 'big'), port: h.port });
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: h.port, method: 'GET', path: objectPath('gone-bucket', 'big'), headers: g.headers, agent: false }, (res) => {
        res.once('data', () => req.destroy());
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.end();
    });

    // Both requests end on the server a moment later; wait for them (bounded) before comparing.
    let after = await scrape();
    for (let i = 0; i < 100 && after.get('sediment_http_requests_in_flight')! > 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await scrape();
    }
    expect(after.get('sediment_http_requests_in_flight')).toBe(1);
    expect(count(after, 'PUT', 499) - count(before, 'PUT', 499)).toBe(1);
    expect(count(after, 'PUT', 500) - count(before, 'PUT', 500)).toBe(0);
    expect(count(after, 'GET', 200) - count(before, 'GET', 200)).toBe(2); // the abandoned GET had answered 200; the first scrape
    expect(count(after, 'GET', 500) - count(before, 'GET', 500)).toBe(0);
    expect(logLines.filter((l) => / ERROR /.test(l))).toEqual([]);
    expect(logLines.some((l) => / PUT \/gone-bucket\/cut 499 /.test(l))).toBe(true);
    expect((await signedRequest({ method: 'GET', path, port: h.port })).status).toBe(404);
  });
});
