// Test harness for the S3 front: an engine on a temp data directory and createS3Server listening on
// 127.0.0.1 port 0, an @aws-sdk/client-s3 client pointed at it, and restart() that closes both and
// reopens the same directory (what a process restart does). One harness per test file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent as HttpAgent } from 'node:http';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Engine } from '../../src/index.js';
import { createS3Server, type S3Server } from '../../src/s3/server.js';

export const ACCESS_KEY = 'AKIDSEDIMENTTEST0001';
export const SECRET_KEY = 'sediment/test+secret/Key0123456789abcdefgh';
export const REGION = 'us-east-1';

/** An SDK client (path style, default request checksums, no retries) for any sediment endpoint. */
export function makeClient(endpoint: string, config: Partial<S3ClientConfig> = {}, credentials = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }): S3Client {
  return new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials, maxAttempts: 1, ...config });
}

export interface HarnessOptions {
  /** Minimum part size; default S3's 5 MiB. */
  partBytesMin?: number;
  now?: () => number;
  maxSkewMs?: number;
  /** Chunk compression threads; default 0 (inline). 'default' leaves the engine's default (one per core). */
  workerThreads?: number | 'default';
  /** The engine's cold store (cold-tier tests). */
  coldStore?: import('../../src/tier/cold-store.js').ColdStore;
  /** Domains for virtual-hosted-style requests (S3ServerOptions.domains). */
  domains?: string[];
  /** Receives the server's log lines (request lines and errors); without it the server logs nothing. */
  log?: (line: string) => void;
  /** S3ServerOptions.connectionsMax. */
  connectionsMax?: number;
  /** An existing data directory to open (a copied fixture); close() leaves it in place. Default: a new temp directory. */
  dir?: string;
}

export interface S3Harness {
  readonly dir: string;
  readonly engine: Engine;
  readonly s3: S3Server;
  readonly port: number;
  readonly endpoint: string;
  /** A new SDK client (path style, default request checksums) for this server. */
  client(config?: Partial<S3ClientConfig>): S3Client;
  /** Closes server and engine and opens both again on the same directory (a new port). */
  restart(): Promise<void>;
  /** Closes everything and removes the directory. */
  close(): Promise<void>;
}

async function listen(s3: S3Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    s3.server.once('error', reject);
    s3.server.listen(0, '127.0.0.1', () => {
      s3.server.off('error', reject);
      resolve();
    });
  });
  return (s3.server.address() as AddressInfo).port;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<S3Harness> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'sediment-s3-test-')));
  const clients: S3Client[] = [];
  let engine!: Engine;
  let s3!: S3Server;
  let port = 0;

  const open = async (): Promise<void> => {
    const workerThreads = opts.workerThreads === 'default' ? undefined : (opts.workerThreads ?? 0);
    // Like `sediment serve` (run-server.ts): small chunks batched to the workers when there are any.
    engine = await Engine.open({ dir, workerThreads, batchSmallChunks: true, coldStore: opts.coldStore, onWarning: () => undefined });
    s3 = createS3Server({
      engine,
      credentials: [{ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }],
      region: REGION,
      logLevel: opts.log ? 'info' : 'silent',
      log: opts.log,
      connectionsMax: opts.connectionsMax,
      partBytesMin: opts.partBytesMin,
      now: opts.now,
      maxSkewMs: opts.maxSkewMs,
      domains: opts.domains,
    });
    port = await listen(s3);
  };
  const shut = async (): Promise<void> => {
    for (const c of clients.splice(0)) c.destroy();
    await s3.shutdown(5_000);
    s3.server.closeAllConnections();
    await engine.close();
  };

  await open();
  return {
    dir,
    get engine() {
      return engine;
    },
    get s3() {
      return s3;
    },
    get port() {
      return port;
    },
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    client(config = {}) {
      const c = makeClient(`http://127.0.0.1:${port}`, config);
      clients.push(c);
      return c;
    },
    async restart() {
      await shut();
      await open();
    },
    async close() {
      await shut();
      if (opts.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An http.Agent whose connections go to 127.0.0.1 whatever the host name (virtual-hosted style without DNS). */
export function loopbackAgent(): HttpAgent {
  return new HttpAgent({
    keepAlive: true,
    lookup: ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
      if (opts?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as never,
  });
}
