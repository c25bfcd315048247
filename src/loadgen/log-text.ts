// Log-like text for the 'log' data kind: structured web access log lines of the kind an archive of
// application logs holds (timestamps, hosts, clients, routes, status codes, sizes, latencies, user
// agents, a random request id per line), with the skew real logs have: a few hot routes and clients,
// mostly 200s, mostly fast. zstd -1 compresses it about 9x (close to bench/data.ts's log text).
// Contract: fillLogText(buf, seed) fills all of `buf` and depends only on `seed` and buf.length.
import { SeededRandom } from './prng.js';

const HOSTS = ['web-01', 'web-02', 'web-03', 'web-04', 'edge-a', 'edge-b'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE'];
const STATUS = ['200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '304', '201', '404', '500'];
const CACHE = ['HIT', 'HIT', 'MISS', 'BYPASS'];
const UPSTREAMS = ['10.0.4.12:8080', '10.0.4.13:8080', '10.0.5.21:8080', '10.0.5.22:8080'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'Prometheus/2.53.0',
];
/** Route, whether it takes an id, and the response sizes it returns. */
const ROUTES: ReadonlyArray<readonly [string, boolean, readonly number[]]> = [
  ['/api/v1/orders/', true, [512, 734, 1290]],
  ['/api/v1/users/', true, [388, 402]],
  ['/api/v2/items/', true, [2048, 2210, 4096]],
  ['/static/js/app.7f3c9e.js', false, [184_320]],
  ['/static/css/site.41ab.css', false, [22_811]],
  ['/search?q=storage&page=1', false, [10_240, 9_870]],
  ['/health', false, [2]],
  ['/metrics', false, [48_113, 48_120]],
];

function pick<T>(rng: SeededRandom, list: readonly T[]): T {
  return list[rng.below(list.length)]!;
}

/** Skewed toward small values: about half the picks land in the first eighth of [0, n). */
function skewed(rng: SeededRandom, n: number): number {
  return rng.below(2) === 0 ? rng.below(Math.max(1, n >> 3)) : rng.below(n);
}

/** Fills `buf` with log lines (the last line is cut where the buffer ends). Returns buf. */
export function fillLogText(buf: Buffer, seed: number): Buffer {
  const rng = new SeededRandom(seed);
  const clients = Array.from({ length: 256 }, () => `10.${20 + rng.below(4)}.${rng.below(256)}.${1 + rng.below(254)}`);
  let ms = Date.UTC(2026, 0, 1);
  let second = -1;
  let stamp = '';
  let at = 0;
  while (at < buf.length) {
    ms += rng.below(5);
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      stamp = new Date(s * 1000).toISOString().slice(0, 19);
    }
    const [route, withId, sizes] = ROUTES[skewed(rng, ROUTES.length)]!;
    const status = pick(rng, STATUS);
    const upstreamMs = rng.below(16) === 0 ? 100 + rng.below(900) : 1 + rng.below(20);
    const line =
      `${stamp}.${String(ms % 1000).padStart(3, '0')}Z ${pick(rng, HOSTS)} nginx: client=${clients[skewed(rng, clients.length)]} host=shop.example.com ` +
      `method=${pick(rng, METHODS)} path=${route}${withId ? skewed(rng, 5000) : ''} proto=HTTP/1.1 status=${status} ` +
      `bytes=${status === '304' ? 0 : pick(rng, sizes)} upstream=${pick(rng, UPSTREAMS)} upstream_ms=${upstreamMs} total_ms=${upstreamMs + rng.below(3)} ` +
      `cache=${pick(rng, CACHE)} ua="${pick(rng, AGENTS)}" req_id=${rng.next().toString(16).padStart(8, '0')}\n`;
    at += buf.write(line, at, 'latin1');
  }
  return buf;
}
