// Starts each server of the S3 bench as a child process (so the client and the server never share an
// event loop or a heap), waits for the line with its URL, and stops it with SIGTERM. Temporary data
// lives in a fresh directory under the bench base dir and is removed on stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatDataSpec, type DataSpec } from '../../src/loadgen/data.js';
import { removeDir, scratchDir } from '../setup.js';

export const SERVER_NAMES = ['bare', 's3rver', 'sediment'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const SEDIMENT_CREDENTIALS = { accessKeyId: 'BENCHSEDIMENTKEY0001', secretAccessKey: 'bench/sediment/secret/0123456789abcdefABCD' };

export interface RunningServer {
  name: ServerName;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  pid: number;
  /** The server's data directory (s3rver, sediment). */
  dataDir?: string;
  /** Stops the process (SIGTERM, then SIGKILL after 60 s) and removes its data directory. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra node flags for the server process, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  /** sediment: --durability (default fsync). */
  durability?: 'fsync' | 'none';
  /** bare: flip a byte of every GET body. */
  corrupt?: boolean;
  /** bare: data pools to build before listening (else the first GET of a kind waits for its pool). */
  dataSpecs?: DataSpec[];
  /** sediment: the CLI script to run instead of this build's (e.g. an older build, to compare side by side). */
  sedimentMain?: string;
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
}

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;
const script = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

function waitForUrl(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(`no URL printed within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} server: ${why}\n${out}${err}`));
    };
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const onOut = (d: Buffer): void => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onOut);
        child.stdout!.resume(); // keep draining later output
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onOut);
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
  });
}

function stopper(child: ChildProcess, dataDir: string | undefined): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    if (dataDir) await removeDir(dataDir);
  };
}

export async function startServer(name: ServerName, opts: StartOptions = {}): Promise<RunningServer> {
  const nodeArgs = opts.nodeArgs ?? [];
  let args: string[];
  let dataDir: string | undefined;
  let creds = { accessKeyId: 'unused', secretAccessKey: 'unused' };
  const env = { ...process.env, ...opts.env };
  switch (name) {
    case 'bare':
      args = [script('./bare-server-main.js'), ...(opts.corrupt ? ['--corrupt'] : []), ...(opts.dataSpecs ?? []).map((d) => `--pool=${formatDataSpec(d)}`)];
      break;
    case 's3rver':
      dataDir = await scratchDir('s3rver');
      args = [script('./s3rver-main.js'), dataDir];
      creds = S3RVER_CREDENTIALS;
      break;
    case 'sediment':
      dataDir = await scratchDir('sediment');
      args = [opts.sedimentMain ?? script('../../src/cli/main.js'), 'serve', '--data', dataDir, '--port', '0', '--quiet', '--durability', opts.durability ?? 'fsync'];
      creds = SEDIMENT_CREDENTIALS;
      env.SEDIMENT_ACCESS_KEY = creds.accessKeyId;
      env.SEDIMENT_SECRET_KEY = creds.secretAccessKey;
      break;
  }
  const child = spawn(process.execPath, [...nodeArgs, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = stopper(child, dataDir);
  try {
    const endpoint = await waitForUrl(child, name);
    return { name, endpoint, ...creds, pid: child.pid!, dataDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
