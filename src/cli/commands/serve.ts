// `serve`: runs the S3 HTTP front on a data directory. The server lives in src/s3/server.ts and is
// loaded on demand, so the other commands never pay for (or depend on) the HTTP layer. Contract with
// that module: it exports `runServer(opts: ServeOptions)`, which opens the engine, listens, and
// resolves when the server has shut down (it owns signals and the engine's close).
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { RealFileSystem, type Durability } from '../../index.js';
import { contextOf } from '../context.js';
import { warnIfNotDurable } from '../output.js';
import { CliError } from '../errors.js';

export interface ServeOptions {
  /** Absolute data directory (created if missing). */
  dataDir: string;
  host: string;
  port: number;
  region: string;
  durability: Durability;
  quiet: boolean;
  /** Seal segments at this size (default: the engine's). Small values exercise sealing (tests). */
  segmentBytesMax?: number;
}

interface ServeFlags {
  host: string;
  port: number;
  region: string;
  segmentBytesMax?: number;
}

type RunServer = (opts: ServeOptions) => Promise<unknown>;

const SERVER_MODULE = new URL('../../s3/server.js', import.meta.url);

function parseBytes(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a number of bytes');
  return n;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
}

async function loadRunServer(): Promise<RunServer> {
  if (!(await new RealFileSystem().exists(fileURLToPath(SERVER_MODULE)))) throw new CliError('the S3 server is not part of this build (src/s3/server.ts is missing)');
  const mod = (await import(SERVER_MODULE.href)) as { runServer?: unknown };
  if (typeof mod.runServer !== 'function') throw new CliError('the S3 server module does not export runServer');
  return mod.runServer as RunServer;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the data directory over the S3 HTTP API')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 9000)
    .option('--region <region>', 'region the server answers for', 'us-east-1')
    .option('--segment-bytes-max <bytes>', 'seal a segment once it would grow past this size (default 128 MiB)', parseBytes)
    .action(async (flags: ServeFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const runServer = await loadRunServer();
      warnIfNotDurable(ctx);
      await runServer({ dataDir: ctx.dataDir, host: flags.host, port: flags.port, region: flags.region, durability: ctx.durability, quiet: ctx.quiet, segmentBytesMax: flags.segmentBytesMax });
    });
}
