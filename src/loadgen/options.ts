// What a load generator run is asked to do, its defaults and its limits. Everything here is plain data
// (it crosses to worker threads by structured clone); callbacks live in RunHooks.
import { DATA_KINDS, type DataSpec } from './data.js';
import type { S3Endpoint } from './s3-client.js';
import { HTTP_CLIENTS, type HttpClientKind } from './transport.js';

export const WORKLOADS = ['put', 'get', 'mixed', 'delete', 'list', 'multipart'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface WorkloadOptions extends S3Endpoint {
  workload: Workload;
  bucket: string;
  /** Object i is named `${prefix}${objectKeySuffix(i)}`. */
  prefix: string;
  objectBytes: number;
  /** The objects the run works on: indexes 0..objects-1 (put writes them; the others need them to exist). */
  objects: number;
  /**
   * Stop after this many operations. Default: `objects` for put, multipart, get and delete (each object
   * once), unless durationMs is given: then put, multipart and get run for the whole duration; mixed and
   * list need opsMax or durationMs. put, multipart and get go round the objects again past `objects`.
   */
  opsMax?: number;
  /** Stop issuing operations after this long (operations in flight finish). */
  durationMs?: number;
  /** Operations in flight at once, over all workers; also the number of connections. */
  concurrency: number;
  data: DataSpec;
  /** Check every GET byte (default true). */
  verify?: boolean;
  /** mixed: share of GETs in percent (default 50); the rest are PUTs of random existing objects. */
  getPercent?: number;
  /** list: keys per ListObjectsV2 page (default 1000). */
  listPageKeys?: number;
  /**
   * multipart: bytes per part, the last one shorter (default 8 MiB; S3's limits: 5 MiB to 5 GiB). With
   * objects of at most OBJECT_BYTES_MAX, an upload never needs more than S3's 10,000 parts.
   */
  partBytes?: number;
  /** multipart: parts of one upload in flight at once (default 1: one after another). */
  partsInFlight?: number;
  /** A request with no progress for this long is a timeout error (default 120 s). */
  timeoutMs?: number;
  /** Client threads, each with its own connections (default 1: the calling thread). */
  workers?: number;
  /** The HTTP client under the S3 operations (transport.ts; default 'raw'). */
  httpClient?: HttpClientKind;
}

export const CONCURRENCY_MAX = 4096;
export const WORKERS_MAX = 64;
export const OBJECT_BYTES_MAX = 5 * 1024 ** 3;
export const OBJECTS_MAX = 1_000_000_000;
export const DEFAULT_TIMEOUT_MS = 120_000;
export const TIMEOUT_MS_MAX = 24 * 3600_000;
export const PART_BYTES_MIN = 5 * 1024 ** 2;
export const PART_BYTES_MAX = 5 * 1024 ** 3;
export const DEFAULT_PART_BYTES = 8 * 1024 ** 2;

/** Zero-padded so that listing order is index order. */
export function objectKeySuffix(index: number): string {
  return String(index).padStart(9, '0');
}

/** http://host[:port], with at most a trailing slash: nothing the client would drop without a word. */
function endpointIsHostPort(endpoint: string): boolean {
  try {
    const u = new URL(endpoint);
    return u.pathname === '/' && u.search === '' && u.hash === '' && u.username === '' && u.password === '' && !/[?#]/.test(endpoint);
  } catch {
    return false;
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`load generator: ${message}`);
}

function intIn(v: number | undefined, lo: number, hi: number): boolean {
  return v === undefined || (Number.isSafeInteger(v) && v >= lo && v <= hi);
}

/** Throws a RangeError naming the first bad option; returns the options with defaults filled in. */
export function validateOptions(o: WorkloadOptions): Required<Omit<WorkloadOptions, 'opsMax' | 'durationMs'>> & Pick<WorkloadOptions, 'opsMax' | 'durationMs'> {
  check((WORKLOADS as readonly string[]).includes(o.workload), `unknown workload ${String(o.workload)}`);
  check((DATA_KINDS as readonly string[]).includes(o.data?.kind), `unknown data kind ${String(o.data?.kind)}`);
  check(intIn(o.data.seed, 0, 2 ** 32 - 1), 'seed must be an integer in 0..2^32-1');
  check(/^http:\/\/[^/]/.test(o.endpoint), 'endpoint must be an http:// URL (TLS is not supported)');
  check(endpointIsHostPort(o.endpoint), `endpoint ${o.endpoint} must be http://host[:port] alone: requests are path-style (/BUCKET/KEY), a path, query or user part would be ignored`);
  check(o.bucket.length > 0, 'bucket is required');
  check(intIn(o.objectBytes, 0, OBJECT_BYTES_MAX), `objectBytes must be an integer in 0..${OBJECT_BYTES_MAX}`);
  check(intIn(o.objects, 1, OBJECTS_MAX), `objects must be an integer in 1..${OBJECTS_MAX}`);
  check(intIn(o.concurrency, 1, CONCURRENCY_MAX), `concurrency must be an integer in 1..${CONCURRENCY_MAX}`);
  check((HTTP_CLIENTS as readonly string[]).includes(o.httpClient ?? 'raw'), `unknown HTTP client ${String(o.httpClient)}`);
  check(intIn(o.workers, 1, WORKERS_MAX), `workers must be an integer in 1..${WORKERS_MAX}`);
  check((o.workers ?? 1) <= o.concurrency, 'workers must not exceed concurrency');
  check(intIn(o.opsMax, 1, Number.MAX_SAFE_INTEGER), 'opsMax must be a positive integer');
  check(o.durationMs === undefined || (o.durationMs > 0 && Number.isFinite(o.durationMs)), 'durationMs must be positive');
  check(intIn(o.getPercent, 0, 100), 'getPercent must be an integer in 0..100');
  check(intIn(o.listPageKeys, 1, 1000), 'listPageKeys must be an integer in 1..1000');
  check(intIn(o.partBytes, PART_BYTES_MIN, PART_BYTES_MAX), `partBytes must be an integer in ${PART_BYTES_MIN}..${PART_BYTES_MAX} (S3's part size limits)`);
  check(intIn(o.partsInFlight, 1, 64), 'partsInFlight must be an integer in 1..64');
  check(intIn(o.timeoutMs, 1, TIMEOUT_MS_MAX), `timeoutMs must be an integer in 1..${TIMEOUT_MS_MAX} (24 hours)`);
  if (o.workload === 'mixed' || o.workload === 'list') check(o.opsMax !== undefined || o.durationMs !== undefined, `${o.workload} needs opsMax or durationMs`);
  if (o.workload === 'delete') check((o.opsMax ?? o.objects) <= o.objects, 'delete cannot run more operations than objects');
  return {
    ...o,
    verify: o.verify ?? true,
    getPercent: o.getPercent ?? 50,
    listPageKeys: o.listPageKeys ?? 1000,
    partBytes: o.partBytes ?? DEFAULT_PART_BYTES,
    partsInFlight: o.partsInFlight ?? 1,
    timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    workers: o.workers ?? 1,
    httpClient: o.httpClient ?? 'raw',
  };
}

export type ResolvedOptions = ReturnType<typeof validateOptions>;
