// `sediment serve` makes zstd dictionaries for buckets of small log-like objects (FORMAT.md §2.7), and
// `--no-dictionaries` makes none; the objects read back either way. The compiled CLI in a child process.
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logText } from '../bench/data.js';
import { objectPath, signedRequest } from './helpers/s3-raw.js';
import { startServe, stopServe } from './helpers/serve-process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serveAndPut(extraArgs: string[]): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'sed-serve-dict-'));
  dirs.push(data);
  const server = startServe(data, { extraArgs });
  try {
    const port = await server.started;
    expect((await signedRequest({ method: 'PUT', path: '/logs', port })).status).toBe(200);
    const text = logText(120 * 2048, 5);
    for (let i = 0; i < 120; i++) {
      const body = text.subarray(i * 2048, (i + 1) * 2048);
      const res = await signedRequest({ method: 'PUT', path: objectPath('logs', `k${i}`), body, port });
      expect(res.status, res.body.toString()).toBe(200);
    }
    // Every object reads back (some written before the dictionary, most with it when there is one).
    for (let i = 0; i < 120; i += 7) {
      const res = await signedRequest({ method: 'GET', path: objectPath('logs', `k${i}`), port });
      expect(res.status).toBe(200);
      expect(res.body.equals(text.subarray(i * 2048, (i + 1) * 2048))).toBe(true);
    }
  } finally {
    expect((await stopServe(server)).code, server.output()).toBe(0);
  }
  return data;
}

describe('sediment serve and dictionaries', () => {
  it('makes one for a bucket of small log objects by default', async () => {
    const data = await serveAndPut([]);
    expect(readdirSync(join(data, 'dicts'))).toEqual(['000000000001.zdict']);
  }, 30_000);

  it('makes none with --no-dictionaries', async () => {
    const data = await serveAndPut(['--no-dictionaries']);
    expect(existsSync(join(data, 'dicts'))).toBe(false);
  }, 30_000);
});
