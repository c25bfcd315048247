// `sediment serve`: open the engine on a data directory, load or create credentials, listen, and stop
// gracefully on SIGINT/SIGTERM (stop accepting, let in-flight requests finish, close the engine, which
// drains writes, checkpoints and releases the directory lock).
import { Engine } from '../engine/engine.js';
import type { Durability } from '../engine/segment-writer.js';
import { loadCredentials } from './credentials.js';
import { createS3Server, type LogLevel } from './server.js';

export interface RunServerOptions {
  dataDir: string;
  host: string;
  port: number;
  region: string;
  durability?: Durability;
  logLevel?: LogLevel;
  /** No per-request log lines (same as logLevel 'warn'). */
  quiet?: boolean;
  /** Passed to the engine (default: the engine's 128 MiB). */
  segmentBytesMax?: number;
}

export async function runServer(opts: RunServerOptions): Promise<void> {
  const engine = await Engine.open({ dir: opts.dataDir, durability: opts.durability, defaultRegion: opts.region, segmentBytesMax: opts.segmentBytesMax });
  let creds;
  try {
    creds = await loadCredentials(engine.fs, engine.dir, process.env);
  } catch (err) {
    await engine.close();
    throw err;
  }
  const s3 = createS3Server({
    engine,
    region: opts.region,
    credentials: [creds],
    logLevel: opts.logLevel ?? (opts.quiet ? 'warn' : 'info'),
  });
  await new Promise<void>((resolve, reject) => {
    s3.server.once('error', reject);
    s3.server.listen(opts.port, opts.host, () => {
      s3.server.off('error', reject);
      resolve();
    });
  }).catch(async (err) => {
    await engine.close();
    throw err;
  });
  const addr = s3.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const out = (s: string): boolean => process.stdout.write(s + '\n');
  out(`sediment: serving S3 on http://${opts.host}:${port} (region ${opts.region}, data ${opts.dataDir}, durability ${engine.durability})`);
  if (creds.source === 'generated') {
    out(`sediment: generated credentials (stored in ${creds.path}, mode 0600):`);
    out(`  AWS_ACCESS_KEY_ID=${creds.accessKeyId}`);
    out(`  AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}`);
  } else if (creds.source === 'file') {
    out(`sediment: credentials from ${creds.path} (access key ${creds.accessKeyId})`);
  } else {
    out(`sediment: credentials from SEDIMENT_ACCESS_KEY / SEDIMENT_SECRET_KEY (access key ${creds.accessKeyId})`);
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      out(`sediment: ${signal}: finishing ${s3.inflight} in-flight request(s), then closing`);
      void s3
        .shutdown()
        .then(() => engine.close())
        .then(
          () => {
            out('sediment: stopped cleanly');
            resolve();
          },
          (err) => {
            process.stderr.write(`sediment: error while closing: ${(err as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          },
        );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
