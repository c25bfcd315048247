// Log-like text for the 'log' data kind: web access log lines of the shape an archive of application
// logs holds (ISO timestamps, hosts, methods, paths, status codes, sizes, latencies, user agents), with
// the skew real logs have. zstd -1 compresses it roughly 6-10x.
// Contract: fillLogText(buf, seed) fills all of `buf` and depends only on `seed` and buf.length.
import { SeededRandom } from './prng.js';

const HOSTS = ['web-01', 'web-02', 'web-03', 'web-04', 'edge-a', 'edge-b'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE'];
const STATUS = ['200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '200', '304', '201', '404', '500'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/127.0 Safari/537.36',
  'curl/8.5.0',
  'Go-http-client/1.1',
  'Prometheus/2.53.0',
];
const ROUTES = ['/api/v1/orders/', '/api/v1/users/', '/api/v2/items/', '/static/img/', '/search?q=item', '/health'];

function pick<T>(rng: SeededRandom, list: readonly T[]): T {
  return list[rng.below(list.length)]!;
}

/** Fills `buf` with log lines (the last line is cut where the buffer ends). Returns buf. */
export function fillLogText(buf: Buffer, seed: number): Buffer {
  const rng = new SeededRandom(seed);
  let ms = Date.UTC(2026, 0, 1);
  let second = -1;
  let stamp = '';
  let at = 0;
  while (at < buf.length) {
    ms += rng.below(7);
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      stamp = new Date(s * 1000).toISOString().slice(0, 19);
    }
    const route = pick(rng, ROUTES);
    const id = route.endsWith('/') ? String(rng.below(100_000)) : '';
    const status = pick(rng, STATUS);
    const line =
      `${stamp}.${String(ms % 1000).padStart(3, '0')}Z ${pick(rng, HOSTS)} nginx: 10.${rng.below(4)}.${rng.below(256)}.${rng.below(256)} - - ` +
      `"${pick(rng, METHODS)} ${route}${id} HTTP/1.1" ${status} ${status === '304' ? 0 : 200 + rng.below(40_000)} ` +
      `"-" "${pick(rng, AGENTS)}" rt=0.${String(rng.below(rng.below(8) === 0 ? 1000 : 60)).padStart(3, '0')} ` +
      `req=${rng.next().toString(16).padStart(8, '0')}\n`;
    at += buf.write(line, at, 'latin1');
  }
  return buf;
}
