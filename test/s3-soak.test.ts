// Soak: `sediment serve` (child process) under a bounded mixed load — PUT / overwrite / GET (checked)
// / DELETE / LIST / multipart, over keep-alive connections and one lane opening a connection per
// request — while its resident memory and open file descriptors are sampled from /proc every second.
// Pass: no growth trend after warm-up. Criterion (robust to GC sawtooth and noise): split the samples
// after the warm-up (first 25 %) into thirds; the median of the last third may exceed the median of the
// first third by at most RSS_SLACK (ratio) + RSS_SLACK_KB, and the fds that are not segment files
// (sockets, pipes, the lock...) by at most FD_SLACK. Segment fds legitimately grow with the number of
// segments holding live objects (the read-handle cache keeps one per segment, up to 128): the files they
// are open on may never outnumber the segment files (+1: a file unlinked between the two listings), and
// beyond one handle per file at most DUPLICATE_SEG_FDS more may be open at once — the writer's on the
// active segment and a maintenance task's on the file it reads (compaction, census), a few more around a
// segment roll. A leak grows without bound and fails either check. The keyspace is bounded (overwrites),
// so the index does not legitimately grow. Figures are printed.
// Duration: SEDIMENT_SOAK_MS, else 60 s (30 min with SEDIMENT_SOAK=1). Linux only (/proc).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32, SOAK, testSeed, type Rng } from './helpers/prng.js';
import { errorCode, objectPath, signedRequest, xmlField } from './helpers/s3-raw.js';
import { processFigures, startServe, stopServe } from './helpers/serve-process.js';

const DURATION_MS = Number(process.env.SEDIMENT_SOAK_MS ?? (SOAK ? 30 * 60_000 : 60_000));
const KEYS = 300;
const RSS_SLACK = 0.25;
const RSS_SLACK_KB = 24 * 1024;
const FD_SLACK = 8;
const DUPLICATE_SEG_FDS = 3;
const BUCKET = 'soak';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

describe.skipIf(!existsSync('/proc/self/status'))('soak', () => {
  it(`RSS and open fds stay flat over ${Math.round(DURATION_MS / 1000)} s of mixed load`, async () => {
    const seed = testSeed();
    const dir = mkdtempSync(join(tmpdir(), 'sediment-soak-'));
    dirs.push(dir);
    const server = startServe(dir);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const model = new Map<string, string>();
    const counts = { put: 0, get: 0, del: 0, list: 0, multipart: 0 };
    const failures: string[] = [];
    let stop = false;
    try {
      const port = await server.started;
      expect((await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port })).status).toBe(200);

      const lane = async (rng: Rng, keepAlive: boolean, index: number) => {
        const a = keepAlive ? agent : false;
        while (!stop && failures.length === 0) {
          const key = `k${index + 4 * rng.int(0, KEYS / 4 - 1)}`; // each lane owns a slice: the model is exact
          const r = rng.next();
          try {
            if (r < 0.35) {
              const size = rng.pick([0, 100, 3000, 40_000, 300_000, 1_200_000]);
              const body = rng.bool() ? rng.bytes(size) : Buffer.alloc(size, rng.int(0, 255));
              const res = await signedRequest({ method: 'PUT', path: objectPath(BUCKET, key), port, body, agent: a });
              if (res.status !== 200) throw new Error(`PUT ${key}: ${res.status} ${errorCode(res)}`);
              model.set(key, md5(body));
              counts.put++;
            } else if (r < 0.75) {
              const res = await signedRequest({ method: 'GET', path: objectPath(BUCKET, key), port, agent: a });
              const want = model.get(key);
              if (want === undefined ? res.status !== 404 : res.status !== 200 || md5(res.body) !== want) {
                throw new Error(`GET ${key}: ${res.status}, model ${want ?? 'absent'}`);
              }
              counts.get++;
            } else if (r < 0.87) {
              const res = await signedRequest({ method: 'DELETE', path: objectPath(BUCKET, key), port, agent: a });
              if (res.status !== 204) throw new Error(`DELETE ${key}: ${res.status}`);
              model.delete(key);
              counts.del++;
            } else if (r < 0.95) {
              const res = await signedRequest({ method: 'GET', path: `/${BUCKET}?list-type=2&max-keys=100&prefix=k1`, port, agent: a });
              if (res.status !== 200) throw new Error(`LIST: ${res.status}`);
              counts.list++;
            } else {
              const path = objectPath(BUCKET, key);
              const init = await signedRequest({ method: 'POST', path: `${path}?uploads`, port, agent: a });
              const id = xmlField(init.body, 'UploadId');
              const body = rng.bytes(rng.int(1, 200_000));
              const part = await signedRequest({ method: 'PUT', path: `${path}?partNumber=1&uploadId=${id}`, port, body, agent: a });
              const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>`;
              const done = await signedRequest({ method: 'POST', path: `${path}?uploadId=${id}`, port, body: xml, agent: a });
              if (done.status !== 200 || xmlField(done.body, 'Code')) throw new Error(`multipart ${key}: ${done.status} ${done.body}`);
              model.set(key, md5(body));
              counts.multipart++;
            }
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      };
      const rng = mulberry32(seed);
      const lanes = [0, 1, 2, 3].map((i) => lane(mulberry32(rng.int(0, 2 ** 31)), i !== 3, i));

      const samples: Array<{ t: number; rssKb: number; fds: number; segFds: number; segOpenFiles: number; segFiles: number }> = [];
      const t0 = Date.now();
      while (Date.now() - t0 < DURATION_MS && failures.length === 0) {
        await new Promise((r) => setTimeout(r, 1000));
        const f = processFigures(server.pid);
        const segFiles = readdirSync(join(dir, 'segments')).length;
        if (f) samples.push({ t: Date.now() - t0, ...f, segFiles });
      }
      stop = true;
      await Promise.all(lanes);
      expect(failures, `seed ${seed}`).toEqual([]);

      const steady = samples.slice(Math.floor(samples.length / 4));
      const third = Math.floor(steady.length / 3);
      const first = steady.slice(0, third);
      const last = steady.slice(steady.length - third);
      const figures = {
        seconds: Math.round(DURATION_MS / 1000),
        samples: samples.length,
        ops: counts,
        rssKb: { min: Math.min(...steady.map((s) => s.rssKb)), max: Math.max(...steady.map((s) => s.rssKb)), firstThirdMedian: median(first.map((s) => s.rssKb)), lastThirdMedian: median(last.map((s) => s.rssKb)) },
        fds: { min: Math.min(...steady.map((s) => s.fds)), max: Math.max(...steady.map((s) => s.fds)), firstThirdMedian: median(first.map((s) => s.fds)), lastThirdMedian: median(last.map((s) => s.fds)) },
        otherFds: { firstThirdMedian: median(first.map((s) => s.fds - s.segFds)), lastThirdMedian: median(last.map((s) => s.fds - s.segFds)) },
        segmentFds: { first: steady[0]?.segFds, last: steady[steady.length - 1]?.segFds, maxBeyondOnePerFile: Math.max(...samples.map((x) => x.segFds - x.segOpenFiles)), segmentFilesAtEnd: samples[samples.length - 1]?.segFiles },
        // The shape over the whole run (warm-up included): RSS median of each tenth of the samples, MiB.
        rssMibByTenth: Array.from({ length: 10 }, (_, i) => {
          const part = samples.slice(Math.floor((i * samples.length) / 10), Math.floor(((i + 1) * samples.length) / 10));
          return part.length > 0 ? Math.round(median(part.map((x) => x.rssKb)) / 1024) : undefined;
        }),
      };
      console.log(`soak (seed ${seed}): ${JSON.stringify(figures)}`);
      expect(third, 'enough samples').toBeGreaterThanOrEqual(3);
      expect(counts.put + counts.get, 'the load ran').toBeGreaterThan(DURATION_MS / 100);
      expect(figures.rssKb.lastThirdMedian, 'RSS grows').toBeLessThanOrEqual(figures.rssKb.firstThirdMedian * (1 + RSS_SLACK) + RSS_SLACK_KB);
      expect(figures.otherFds.lastThirdMedian, 'open fds (not segment files) grow').toBeLessThanOrEqual(figures.otherFds.firstThirdMedian + FD_SLACK);
      for (const s of samples) {
        expect(s.segOpenFiles, `segment files open at ${s.t} ms`).toBeLessThanOrEqual(s.segFiles + 1);
        expect(s.segFds - s.segOpenFiles, `segment fds beyond one per open file at ${s.t} ms`).toBeLessThanOrEqual(DUPLICATE_SEG_FDS);
      }
      expect((await stopServe(server)).code, server.output()).toBe(0);
    } finally {
      stop = true;
      agent.destroy();
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    }
  }, DURATION_MS + 120_000);
});
