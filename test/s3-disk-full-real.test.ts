// A really full disk: `sediment serve` and the CLI on a small tmpfs the test mounts itself (size 6 MiB;
// needs root and mount(2), so it runs only where both work; under CI=true a failed mount is a failure;
// elsewhere the in-memory fault layer covers the same behaviour in engine-disk-full.test.ts and
// s3-faults.test.ts).
// The disk is filled with PUTs until the server answers 507; reads go on; a ballast file outside the
// data directory is then deleted and writes resume without a restart; filled again, the server is
// killed, and the CLI says "no space left" in one line with exit 1 while its reads still work; with
// room again, a restarted server has every acknowledged object and `sediment verify` finds no damage.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from './helpers/prng.js';
import { errorCode, objectPath, signedRequest, xmlField } from './helpers/s3-raw.js';
import { runCli, startServe, stopServe, type ServeProcess } from './helpers/serve-process.js';

const BUCKET = 'full';
const mountPoint = mkdtempSync(join(tmpdir(), 'sediment-tmpfs-'));
const mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint]).status === 0;
if (!mounted) {
  // CI runs as root on a machine where mount(2) works: there a failed mount is a failure, not a skip.
  if (process.env.CI) {
    rmdirSync(mountPoint);
    throw new Error('s3-disk-full-real: could not mount a tmpfs (CI must run as root with mount(2) allowed)');
  }
  console.log('s3-disk-full-real: not root or mount failed; the real small file system case does not run here');
}

afterAll(() => {
  if (mounted) spawnSync('umount', ['-l', mountPoint]);
  rmdirSync(mountPoint);
});

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

describe.skipIf(!mounted)('a really full disk (tmpfs)', () => {
  it('507 when full, reads go on, writes resume once space is freed, the CLI says why', async () => {
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(mountPoint, 'ballast-1'), Buffer.alloc(1 << 20));
    writeFileSync(join(mountPoint, 'ballast-2'), Buffer.alloc(1 << 20));
    const acked = new Map<string, string>();
    let server: ServeProcess = startServe(dataDir, { segmentBytesMax: 1 << 20 });
    try {
      let port = await server.started;
      expect((await signedRequest({ method: 'PUT', path: `/${BUCKET}`, port })).status).toBe(200);
      const rng = mulberry32(1);
      let n = 0;
      /** PUTs until the disk is full; returns the 507 answer. */
      const fill = async () => {
        for (let i = 0; i < 200; i++) {
          const key = `obj${n++}`;
          const body = rng.bytes(rng.int(10_000, 300_000));
          const res = await signedRequest({ method: 'PUT', path: objectPath(BUCKET, key), port, body });
          if (res.status === 200) {
            acked.set(key, md5(body));
            continue;
          }
          return res;
        }
        throw new Error('the disk never filled up');
      };
      const check = async () => {
        for (const [key, sum] of acked) {
          const res = await signedRequest({ method: 'GET', path: objectPath(BUCKET, key), port });
          expect(res.status, key).toBe(200);
          expect(md5(res.body), key).toBe(sum);
        }
      };
      const full = await fill();
      expect([full.status, errorCode(full)]).toEqual([507, 'InsufficientStorage']);
      expect(xmlField(full.body, 'Message')).toMatch(/no space left on device/);
      await check();
      // Space is freed outside the data directory: writes resume, no restart.
      rmSync(join(mountPoint, 'ballast-1'));
      const again = Buffer.from('written after space was freed');
      expect((await signedRequest({ method: 'PUT', path: objectPath(BUCKET, 'resumed'), port, body: again })).status).toBe(200);
      acked.set('resumed', md5(again));
      await fill();
      await check();
      server.child.kill('SIGKILL');
      await server.exited;

      // The CLI on the full disk: one clear line, exit 1; its reads work.
      const local = join(tmpdir(), `sediment-full-src-${process.pid}`);
      writeFileSync(local, mulberry32(2).bytes(400_000));
      try {
        const put = runCli(['put', '--data', dataDir, `${BUCKET}/cli-object`, local]);
        expect(put.status, put.stderr).toBe(1);
        expect(put.stderr.trim().split('\n')).toHaveLength(1);
        expect(put.stderr).toMatch(/^sediment: no space left on device/);
      } finally {
        rmSync(local, { force: true });
      }
      const [someKey, someSum] = [...acked][0];
      const got = spawnSync(process.execPath, [join(import.meta.dirname, '../dist/src/cli/main.js'), 'get', '--data', dataDir, `${BUCKET}/${someKey}`, '-'], { maxBuffer: 1 << 24 });
      expect(got.status, got.stderr.toString()).toBe(0);
      expect(md5(got.stdout)).toBe(someSum);

      // Room again: a new server has everything acknowledged; verify finds no damage.
      rmSync(join(mountPoint, 'ballast-2'));
      server = startServe(dataDir, { segmentBytesMax: 1 << 20 });
      port = await server.started;
      await check();
      expect((await signedRequest({ method: 'PUT', path: objectPath(BUCKET, 'last'), port, body: 'x' })).status).toBe(200);
      expect((await stopServe(server)).code, server.output()).toBe(0);
      const v = runCli(['verify', '--data', dataDir, '--json']);
      expect(v.status, v.stdout + v.stderr).toBe(0);
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGKILL');
        await server.exited;
      }
    }
  }, 120_000);
});
