// Child processes the tests drive: the compiled CLI run to completion, and the crash children
// (test/helpers/crash-*.mjs) that print a line per acknowledged operation and are killed mid-work.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Runs `sediment --data DATA ARGS` (SEDIMENT_DATA unset) to its end; resolves with its output. */
export function runCli(data: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.SEDIMENT_DATA;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, '--data', data, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CrashChild {
  p: ChildProcess;
  /** Every complete stdout line so far (the child's acknowledgements). */
  lines: string[];
  stderr: string[];
  /** Resolves when the child printed `ready`. */
  ready: Promise<void>;
  exited: Promise<{ signal: NodeJS.Signals | null }>;
}

/** Starts `node SCRIPT DIR SEED`, collecting its stdout lines as they arrive. */
export function startCrashChild(script: string, dir: string, seed: number): CrashChild {
  const p = spawn(process.execPath, [script, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (s: string) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      if (l === 'ready') onReady();
      lines.push(l);
    }
  });
  p.stderr!.setEncoding('utf8');
  p.stderr!.on('data', (s: string) => stderr.push(s));
  const exited = new Promise<{ signal: NodeJS.Signals | null }>((resolve) => p.on('close', (_code, signal) => resolve({ signal })));
  return { p, lines, stderr, ready, exited };
}

/**
 * Runs `sediment ARGS` (a `bench`, typically), sends SIGINT once `ready` resolves, calls `release` (e.g. to
 * answer requests a test server held) once the child says it is stopping or exits, and returns how it ended.
 */
export async function runInterrupted(args: string[], ready: Promise<unknown>, release: () => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const stopping = new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('stopping')) resolve();
    });
  });
  // 'close', not 'exit': stdout is whole only once the pipes are closed.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await ready;
  child.kill('SIGINT');
  await Promise.race([stopping, exited]);
  release();
  const code = await exited;
  return { code, stdout, stderr };
}
