// `sediment serve` as a child process (the compiled CLI in dist/), for tests that kill it, restart it
// and watch its memory and file descriptors: port 0 on 127.0.0.1, credentials from the environment
// (SEDIMENT_ACCESS_KEY / SEDIMENT_SECRET_KEY, the test keys of s3-server.ts), its own data directory.
// `started` resolves with the port once the "serving S3 on ..." line is printed; `exited` resolves on
// 'close', after every byte the child wrote to its pipes has been read.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ACCESS_KEY, SECRET_KEY } from './s3-server.js';

export const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout + stderr so far (for failure messages). */
  output(): string;
  /** The listening port; rejects if the child exits first or does not start within `timeoutMs`. */
  readonly started: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServeOptions {
  segmentBytesMax?: number;
  extraArgs?: string[];
  startTimeoutMs?: number;
}

export function startServe(dataDir: string, opts: ServeOptions = {}): ServeProcess {
  if (!existsSync(MAIN)) throw new Error('dist/src/cli/main.js is missing: run `npm run build` before the tests');
  const args = [MAIN, '--quiet', 'serve', '--data', dataDir, '--port', '0'];
  if (opts.segmentBytesMax !== undefined) args.push('--segment-mb', String(opts.segmentBytesMax / 1048576));
  args.push(...(opts.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, SEDIMENT_ACCESS_KEY: ACCESS_KEY, SEDIMENT_SECRET_KEY: SECRET_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const started = new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sediment serve did not start within ${opts.startTimeoutMs ?? 30_000} ms: ${out}`)), opts.startTimeoutMs ?? 30_000);
    child.stdout!.on('data', (s: string) => {
      out += s;
      const m = /serving S3 on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (s: string) => (out += s));
    void exited.then((e) => {
      clearTimeout(t);
      reject(new Error(`sediment serve exited (code ${e.code}, signal ${e.signal}) before listening: ${out}`));
    });
  });
  started.catch(() => undefined);
  return { child, pid: child.pid!, output: () => out, started, exited };
}

/** Stops with SIGTERM (drain, checkpoint, unlock) and resolves with the exit status. */
export async function stopServe(p: ServeProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

/** `sediment <args>` run to completion (synchronously: only between server runs). */
export function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Resident set size (kB) and open file descriptors of a live process, from /proc (Linux only); `segFds`
 * of them are segment files (`.seg` and `.pack`: the engine caches read handles per segment, up to a
 * bound), open on `segOpenFiles` distinct files. A deleted file's handle (a link ending " (deleted)") is
 * not a segment fd here.
 */
export function processFigures(pid: number): { rssKb: number; fds: number; segFds: number; segOpenFiles: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    const fds = readdirSync(`/proc/${pid}/fd`);
    let segFds = 0;
    const segPaths = new Set<string>();
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.endsWith('.seg') || target.endsWith('.pack')) {
          segFds++;
          segPaths.add(target);
        }
      } catch {
        // closed between readdir and readlink
      }
    }
    return m ? { rssKb: Number(m[1]), fds: fds.length, segFds, segOpenFiles: segPaths.size } : undefined;
  } catch {
    return undefined;
  }
}
