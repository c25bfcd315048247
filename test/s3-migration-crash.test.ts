// SIGKILL of `sediment serve` while its lifecycle schedule migrates objects to the cold tier (1-second
// lifecycle days, passes every 300 ms, a 1-day Transition on the whole bucket: everything goes cold within
// a few seconds) and background compaction reclaims the hot copies, under HTTP PUT / overwrite / DELETE
// load with GETs. After each kill the server restarts on the same directory and every key must hold its
// last acknowledged state (bytes or 404) or the new state of the operation in flight at the kill; listed
// keys must match; cold keys must read back exactly. A bounded companion of s3-crash-loop.test.ts.
//
// Rounds: 6 by default, 40 with SEDIMENT_SOAK=1. Seeded (SEDIMENT_SEED); kill moments depend on timing.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fillLogText } from '../src/loadgen/log-text.js';
import { errorCode, objectPath, signedRequest, type RawResponse } from './helpers/s3-raw.js';
import { mulberry32, SOAK, testSeed } from './helpers/prng.js';
import { runCli, startServe, stopServe } from './helpers/serve-process.js';

const ROUNDS = SOAK ? 40 : 6;
const BUCKET = 'coldcrash';
const KEYS = 60;
const WRITERS = 3;
const DELETED = 'deleted';
const ARGS = ['--lifecycle-every', '0.3', '--lifecycle-day-seconds', '1', '--compact-every', '0.5', '--compact-dead-share', '0.1', '--compact-bytes-per-sec', '0'];
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SIGKILL of sediment serve during cold-tier migration', () => {
  it(`keeps every acknowledged state over ${ROUNDS} kills`, async () => {
    const seed = testSeed();
    const rng = mulberry32(seed);
    const work = mkdtempSync(join(tmpdir(), 'sediment-serve-cold-crash-'));
    dirs.push(work);
    const data = join(work, 'data');
    expect(runCli(['--data', data, 'mb', BUCKET]).status).toBe(0);
    writeFileSync(join(work, 'lc.json'), JSON.stringify({ rules: [{ id: 'cold', enabled: true, filter: {}, transitions: [{ days: 1, storageClass: 'GLACIER_IR' }] }] }));
    expect(runCli(['--data', data, 'lifecycle', 'set', BUCKET, join(work, 'lc.json')]).status).toBe(0);
    const settled = new Map<string, string>();
    let coldSeen = 0;
    let acked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed} (replay: SEDIMENT_SEED=${seed}) round ${round}`;
      const server = startServe(data, { segmentBytesMax: 1 << 20, extraArgs: ARGS });
      const port = await server.started;
      const inflight = new Map<string, string>();
      let killed = false;
      const send = async (o: { method: string; path: string; body?: Buffer }): Promise<RawResponse | undefined> => {
        try {
          return await signedRequest({ ...o, port });
        } catch (err) {
          if (killed) return undefined;
          throw new Error(`${where}: ${o.method} ${o.path}: ${(err as Error).message}`, { cause: err });
        }
      };
      const writer = async (lane: number): Promise<void> => {
        while (!killed) {
          const key = `k${String(lane + WRITERS * rng.int(0, KEYS / WRITERS - 1)).padStart(3, '0')}`;
          if (rng.bool(0.25)) {
            inflight.set(key, DELETED);
            const res = await send({ method: 'DELETE', path: objectPath(BUCKET, key) });
            if (!res) return;
            expect(res.status, `${where}: DELETE ${key}`).toBe(204);
            settled.set(key, DELETED);
          } else {
            const body = fillLogText(Buffer.alloc(rng.bool(0.8) ? rng.int(0, 20_000) : rng.int(100_000, 1_500_000)), rng.int(0, 2 ** 30));
            inflight.set(key, md5(body));
            const res = await send({ method: 'PUT', path: objectPath(BUCKET, key), body });
            if (!res) return;
            expect(res.status, `${where}: PUT ${key}: ${res.body.toString().slice(0, 200)}`).toBe(200);
            settled.set(key, md5(body));
          }
          acked++;
          inflight.delete(key);
          await new Promise((r) => setTimeout(r, rng.int(20, 200)));
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, lane) => writer(lane));
      await new Promise((r) => setTimeout(r, rng.int(2000, 5000)));
      killed = true;
      server.child.kill('SIGKILL');
      await server.exited;
      await Promise.all(writers);

      const again = startServe(data, { segmentBytesMax: 1 << 20, extraArgs: ['--lifecycle-every', '0'] });
      const port2 = await again.started;
      try {
        for (let i = 0; i < KEYS; i++) {
          const key = `k${String(i).padStart(3, '0')}`;
          const res = await signedRequest({ method: 'GET', path: objectPath(BUCKET, key), port: port2 });
          const now = res.status === 404 && errorCode(res) === 'NoSuchKey' ? DELETED : res.status === 200 ? md5(res.body) : `HTTP ${res.status} ${res.body.toString().slice(0, 200)}`;
          if (res.status === 200 && res.headers['x-amz-storage-class'] === 'GLACIER_IR') coldSeen++;
          const allowed = new Set([settled.get(key) ?? DELETED, ...(inflight.has(key) ? [inflight.get(key)!] : [])]);
          expect(allowed.has(now), `${where}: ${key} is ${now}, allowed ${[...allowed].join(' or ')}`).toBe(true);
          settled.set(key, now);
        }
        const list = await signedRequest({ method: 'GET', path: `/${BUCKET}?list-type=2&max-keys=1000`, port: port2 });
        const listed = [...list.body.toString().matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]).sort();
        expect(listed, where).toEqual([...settled].filter(([, v]) => v !== DELETED).map(([k]) => k).sort());
      } finally {
        await stopServe(again);
      }
    }
    expect(acked, `seed ${seed}: acknowledged operations`).toBeGreaterThan(ROUNDS * 5);
    expect(coldSeen, `seed ${seed}: cold objects read back after kills`).toBeGreaterThan(0);
    const v = runCli(['--data', data, 'verify', '--cold']);
    expect(v.status, `seed ${seed}: verify --cold: ${v.stdout}${v.stderr}`).toBe(0);
  }, SOAK ? 1_800_000 : 240_000);
});
