// V8 heap flags for the long-running server, which Node accepts only on its command line (not in
// NODE_OPTIONS, not at run time). `sediment serve` restarts itself once with them, in place: execv keeps
// the process id (a service manager, a test or a user holding the pid sees the same process), stdio and
// the environment. docs/PERFORMANCE.md ("V8 heap flags of the server") has the measurements.
//
// Why: with a small heap (the server holds a few MB of index and code), V8's old-generation limit sits
// less than one young generation above the live size, and V8 then starts a new marking cycle right after
// each one ends. Streaming 64 MiB bodies through it, that was a full mark-compact per 15 MB of data and
// about 2 ms of GC thread CPU per MiB. A 64 MB initial old space leaves the room V8 waits for.
//
// Contracts:
// - Runs before the data directory is opened or anything is listened on: nothing of the first image is
//   lost (stdout/stderr are synchronous here; libuv opens every descriptor close-on-exec).
// - Never loops: the restarted process carries SEDIMENT_SERVER_FLAGS_APPLIED=1 and sees its flags in
//   process.execArgv. Flags the user gave (e.g. a different --initial-old-space-size) are kept and win.
// - SEDIMENT_SERVER_FLAGS=off skips it; without the native addon or if execv fails, the server runs as is.
import { existsSync } from 'node:fs';
import { execSelf } from '../native/index.js';

export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

const APPLIED = 'SEDIMENT_SERVER_FLAGS_APPLIED';

/** The command line to restart with, or undefined when no restart is needed (or possible). */
export function serverRestartArgv(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] | undefined {
  if (env.SEDIMENT_SERVER_FLAGS === 'off' || env[APPLIED] === '1') return undefined;
  const given = (flag: string): boolean => {
    const name = flag.split('=')[0]!;
    // node accepts both --a-b and --a_b for V8 flags
    return execArgv.some((a) => a.split('=')[0]!.replace(/_/g, '-') === name);
  };
  const missing = SERVER_NODE_FLAGS.filter((f) => !given(f));
  const script = argv[1];
  if (missing.length === 0 || script === undefined || !existsSync(script)) return undefined;
  return [execPath, ...missing, ...execArgv, script, ...argv.slice(2)];
}

/** Restarts this process with SERVER_NODE_FLAGS when they are missing; returns only if it did not. */
export function restartWithServerFlags(): void {
  const next = serverRestartArgv(process.execPath, process.execArgv, process.argv, process.env);
  if (next === undefined) return;
  process.env[APPLIED] = '1';
  execSelf(next);
  delete process.env[APPLIED]; // exec failed (or no addon): go on with the default heap
}
