// Crash loops over HTTP: `sediment serve` runs as a child process on one data directory; lanes of
// clients drive PUT / overwrite / DELETE / multipart (and GETs checked against the model) over HTTP;
// the server is killed with SIGKILL at a random moment and restarted on the same directory, where every
// key is read back before the next round's load starts.
//
// Model: each lane owns its keys, so a key has at most one operation in flight. A key must hold its
// last acknowledged state (an answered PUT / Complete: those bytes exactly; an answered DELETE: 404),
// or — only if an operation on it was in flight at the kill — that operation's new state. Nothing else:
// no lost write, no resurrected delete, no torn or foreign object, no listed key the model does not know.
//
// Some rounds kill the server during its start-up (recovery) instead of under load; every
// `SIGTERM_EVERY`-th round stops it cleanly (checkpoint), so later kills replay on top of a checkpoint.
// 1 MiB segments make the load seal segments, so kills also land around seals and segment creation.
//
// Rounds: 50 SIGKILLs under load by default, SEDIMENT_CRASH_ROUNDS or 400 with SEDIMENT_SOAK=1.
// Seeded: SEDIMENT_SEED=<seed> replays the choices (the kill moments still depend on timing).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signedRequest, objectPath, xmlField, errorCode, type RawResponse } from './helpers/s3-raw.js';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';
import { runCli, startServe, stopServe, type ServeProcess } from './helpers/serve-process.js';

const ROUNDS = Number(process.env.SEDIMENT_CRASH_ROUNDS ?? (SOAK ? 400 : 50));
const LANES = 6;
const KEYS_PER_LANE = 6;
const BUCKET = 'crash';
const SEGMENT_BYTES_MAX = 1 << 20;
// Background compaction runs every 200 ms at a 10 % dead share (overwrites and deletes of 1 MiB segments
// make dead records all the time), so kills land before, during and after compaction passes.
const COMPACTION_ARGS = ['--compact-every', '0.2', '--compact-dead-share', '0.1', '--compact-bytes-per-sec', '0'];
const PART_MIN = 5 * 1024 * 1024; // sediment serve keeps S3's minimum part size
const SIGTERM_EVERY = Number(process.env.SEDIMENT_CRASH_SIGTERM_EVERY ?? 12);
const STARTUP_KILL_EVERY = 6;
const DELETED = 'deleted';

interface KeyState {
  /** md5 of the acknowledged content, or DELETED. */
  state: string;
  /** The new state of an operation sent but not answered (the kill may have cut it). */
  pending?: string;
}

interface Counters {
  puts: number;
  deletes: number;
  multiparts: number;
  gets: number;
  sigkillsUnderLoad: number;
  sigkillsAtStartup: number;
  cleanStops: number;
  /** Rounds in which the server logged a compaction pass before it was stopped. */
  roundsWithCompaction: number;
  inFlightAtKill: number;
  inFlightLanded: number;
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** Deterministic content: random head (incompressible) and a patterned rest (zstd-compressible). */
function content(rng: Rng, size: number): Buffer {
  const b = Buffer.alloc(size);
  const head = Math.min(size, rng.int(0, 8192));
  rng.bytes(head).copy(b);
  const salt = rng.int(0, 255);
  for (let i = head; i < size; i++) b[i] = (i * 31 + salt) & 0xff;
  return b;
}

function pickSize(rng: Rng): number {
  const r = rng.next();
  if (r < 0.1) return 0;
  if (r < 0.6) return rng.int(1, 4096);
  if (r < 0.9) return rng.int(4097, 200_000);
  return rng.int(200_001, 2_500_000); // several 1 MiB chunks
}

class Killed extends Error {}

/** An S3 answer other than the expected one. */
class StatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Ctx {
  port: number;
  killed: boolean;
  /** A clean stop (SIGTERM) is under way. */
  stopping: boolean;
  failures: string[];
  counters: Counters;
}

async function send(ctx: Ctx, o: { method: string; path: string; body?: Buffer | string }): Promise<RawResponse> {
  try {
    return await signedRequest({ ...o, port: ctx.port });
  } catch (err) {
    if (ctx.killed) throw new Killed();
    throw new Error(`${o.method} ${o.path}: transport error before the kill: ${(err as Error).message}`, { cause: err });
  }
}

function expectStatus(res: RawResponse, ok: number[], what: string): void {
  if (!ok.includes(res.status)) {
    throw new StatusError(res.status, `${what}: HTTP ${res.status} ${errorCode(res) ?? ''} ${res.body.toString().slice(0, 300)}`);
  }
}

async function getState(ctx: Ctx, key: string): Promise<string> {
  const res = await send(ctx, { method: 'GET', path: objectPath(BUCKET, key) });
  if (res.status === 404 && errorCode(res) === 'NoSuchKey') return DELETED;
  expectStatus(res, [200], `GET ${key}`);
  if (res.headers['content-length'] !== String(res.body.length)) throw new Error(`GET ${key}: ${res.body.length} bytes, Content-Length ${res.headers['content-length']}`);
  return md5(res.body);
}

async function multipart(ctx: Ctx, rng: Rng, key: string, model: KeyState): Promise<void> {
  const path = objectPath(BUCKET, key);
  const init = await send(ctx, { method: 'POST', path: `${path}?uploads` });
  expectStatus(init, [200], `CreateMultipartUpload ${key}`);
  const uploadId = xmlField(init.body, 'UploadId')!;
  const sizes = rng.bool(0.15) ? [PART_MIN, rng.int(1, 300_000)] : [rng.int(1, 1_500_000)];
  const bodies = sizes.map((n) => content(rng, n));
  const etags: string[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const res = await send(ctx, { method: 'PUT', path: `${path}?partNumber=${i + 1}&uploadId=${uploadId}`, body: bodies[i] });
    expectStatus(res, [200], `UploadPart ${key} #${i + 1}`);
    etags.push(String(res.headers.etag));
  }
  if (rng.bool(0.1)) {
    const res = await send(ctx, { method: 'DELETE', path: `${path}?uploadId=${uploadId}` });
    expectStatus(res, [204], `AbortMultipartUpload ${key}`);
    return;
  }
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const whole = md5(Buffer.concat(bodies));
  model.pending = whole;
  const res = await send(ctx, { method: 'POST', path: `${path}?uploadId=${uploadId}`, body: xml });
  expectStatus(res, [200], `CompleteMultipartUpload ${key}`);
  // A Complete answers 200 early and may report an error in the body (S3 does); sediment must not.
  if (xmlField(res.body, 'Code') !== undefined) throw new Error(`CompleteMultipartUpload ${key}: error in a 200 body: ${res.body}`);
  model.state = whole;
  model.pending = undefined;
  ctx.counters.multiparts++;
}

async function lane(ctx: Ctx, rng: Rng, keys: string[], model: Map<string, KeyState>): Promise<void> {
  while (!ctx.killed) {
    const key = rng.pick(keys);
    const m = model.get(key)!;
    const r = rng.next();
    try {
      if (r < 0.45) {
        const body = content(rng, pickSize(rng));
        m.pending = md5(body);
        const res = await send(ctx, { method: 'PUT', path: objectPath(BUCKET, key), body });
        expectStatus(res, [200], `PUT ${key}`);
        if (res.headers.etag !== `"${m.pending}"`) throw new Error(`PUT ${key}: ETag ${res.headers.etag}, expected "${m.pending}"`);
        m.state = m.pending;
        m.pending = undefined;
        ctx.counters.puts++;
      } else if (r < 0.65) {
        m.pending = DELETED;
        const res = await send(ctx, { method: 'DELETE', path: objectPath(BUCKET, key) });
        expectStatus(res, [204], `DELETE ${key}`);
        m.state = DELETED;
        m.pending = undefined;
        ctx.counters.deletes++;
      } else if (r < 0.75) {
        await multipart(ctx, rng, key, m);
      } else {
        const now = await getState(ctx, key);
        if (now !== m.state) throw new Error(`GET ${key} during load: ${now}, acknowledged state ${m.state}`);
        ctx.counters.gets++;
      }
    } catch (err) {
      if (err instanceof Killed) return;
      // During a clean stop, a request that arrives after the in-flight ones have drained finds the
      // engine closing: 503, not acknowledged (its operation stays pending in the model).
      if (ctx.stopping && err instanceof StatusError && err.status === 503) return;
      ctx.failures.push((err as Error).message);
      return;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('sediment serve killed with SIGKILL under HTTP load', () => {
  it(`loses, corrupts and resurrects nothing over ${ROUNDS} SIGKILLs under load`, async () => {
    const seed = testSeed();
    const where = (round: number) => `seed ${seed} (replay: SEDIMENT_SEED=${seed}) round ${round}`;
    const rng = mulberry32(seed);
    const dir = mkdtempSync(join(tmpdir(), 'sediment-crash-http-'));
    dirs.push(dir);
    const counters: Counters = { puts: 0, deletes: 0, multiparts: 0, gets: 0, sigkillsUnderLoad: 0, sigkillsAtStartup: 0, cleanStops: 0, roundsWithCompaction: 0, inFlightAtKill: 0, inFlightLanded: 0 };
    const model = new Map<string, KeyState>();
    const laneKeys: string[][] = [];
    for (let l = 0; l < LANES; l++) {
      laneKeys.push([]);
      for (let k = 0; k < KEYS_PER_LANE; k++) {
        const key = k % 3 === 0 ? `lane${l}/dir/k${k}` : `lane${l}-k${k}`;
        laneKeys[l].push(key);
        model.set(key, { state: DELETED });
      }
    }
    let server: ServeProcess | undefined;
    const start = async (round: number): Promise<number> => {
      server = startServe(dir, { segmentBytesMax: SEGMENT_BYTES_MAX, extraArgs: COMPACTION_ARGS });
      try {
        return await server.started;
      } catch (err) {
        throw new Error(`${where(round)}: ${(err as Error).message}`, { cause: err });
      }
    };
    try {
      let round = 0;
      let port = await start(round);
      const first = await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port });
      expect(first.status, first.body.toString()).toBe(200);
      while (counters.sigkillsUnderLoad < ROUNDS) {
        round++;
        // 1. Load, then kill (or a clean stop) at a random moment.
        const ctx: Ctx = { port, killed: false, stopping: false, failures: [], counters };
        const lanes = laneKeys.map((keys) => lane(ctx, mulberry32(rng.int(0, 2 ** 31)), keys, model));
        await sleep(rng.int(30, 600));
        const clean = round % SIGTERM_EVERY === 0;
        ctx.killed = true;
        ctx.stopping = clean;
        if (clean) {
          const exit = await stopServe(server!);
          expect(exit.code, `${where(round)}: clean stop: ${server!.output()}`).toBe(0);
          counters.cleanStops++;
        } else {
          server!.child.kill('SIGKILL');
          const exit = await server!.exited;
          expect(exit.signal, `${where(round)}: the server ended on its own: ${server!.output()}`).toBe('SIGKILL');
          counters.sigkillsUnderLoad++;
        }
        await Promise.all(lanes);
        if (/compaction/i.test(server!.output())) counters.roundsWithCompaction++;
        expect(ctx.failures.join('\n'), `${where(round)}; server output: ${server!.output().slice(-4000)}`).toBe('');

        // 2. Sometimes kill the next start-up during recovery.
        if (round % STARTUP_KILL_EVERY === 3) {
          const s = startServe(dir, { segmentBytesMax: SEGMENT_BYTES_MAX, extraArgs: COMPACTION_ARGS });
          await Promise.race([sleep(rng.int(0, 400)), s.exited]);
          s.child.kill('SIGKILL');
          const exit = await s.exited;
          if (exit.signal === 'SIGKILL') counters.sigkillsAtStartup++;
          else expect(exit.code, `${where(round)}: start-up ended on its own: ${s.output()}`).toBe(null);
        }

        // 3. Restart on the same directory and check every key against the model.
        port = await start(round);
        const check: Ctx = { port, killed: false, stopping: false, failures: [], counters };
        for (const [key, m] of model) {
          const now = await getState(check, key);
          const allowed = m.pending === undefined ? [m.state] : [m.state, m.pending];
          expect(allowed, `${where(round)}: ${key} is ${now}; allowed: ${allowed.join(' or ')}`).toContain(now);
          if (m.pending !== undefined) {
            counters.inFlightAtKill++;
            if (now === m.pending && m.pending !== m.state) counters.inFlightLanded++;
          }
          m.state = now;
          m.pending = undefined;
        }
        const list = await signedRequest({ method: 'GET', path: `/${BUCKET}?list-type=2&max-keys=1000`, port });
        expect(list.status, where(round)).toBe(200);
        const listed = [...list.body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((x) => x[1]).sort();
        const present = [...model].filter(([, m]) => m.state !== DELETED).map(([k]) => k).sort();
        expect(listed, `${where(round)}: listing`).toEqual(present);
      }
      // The directory is whole: a clean stop, then `sediment verify` finds no damage.
      const exit = await stopServe(server!);
      expect(exit.code, server!.output()).toBe(0);
      const v = runCli(['verify', '--data', dir, '--json']);
      expect(v.status, `${where(round)}: verify: ${v.stdout} ${v.stderr}`).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, damage: [], damagedObjects: [] });
      console.log(`crash loop (seed ${seed}): ${JSON.stringify(counters)}`);
      // The load really ran: a kill that never interrupts anything proves little.
      expect(counters.puts + counters.deletes + counters.multiparts).toBeGreaterThan(ROUNDS * 5);
      expect(counters.inFlightAtKill, 'operations were in flight at kills').toBeGreaterThan(0);
    } finally {
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    }
  }, SOAK ? 3_600_000 : 600_000);
});
