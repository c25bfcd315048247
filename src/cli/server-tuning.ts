// Process tuning for the long-running server (docs/PERFORMANCE.md, "Server process tuning", has the
// measurements). Two settings, both about memory that streams of large bodies churn through:
//
// 1. V8 heap flags, which Node accepts only on its command line (not in NODE_OPTIONS, not at run time).
// `sediment serve` restarts itself once with them, in place: execv keeps the process id (a service
// manager, a test or a user holding the pid sees the same process), stdio and the environment.
// With a small heap (the server holds a few MB of index and code), V8's old-generation limit sits
// less than one young generation above the live size, and V8 then starts a new marking cycle right after
// each one ends. Streaming 64 MiB bodies through it, that was a full mark-compact per 15 MB of data and
// about 2 ms of GC thread CPU per MiB. A 64 MB initial old space leaves the room V8 waits for.
//
// 2. Trimming glibc malloc's arenas, checked once a second, when RSS is above MALLOC_TRIM_RSS_BYTES (a
// trim releasing ~120 MB takes ~20 ms of the event loop; a lightly loaded server never pays it). Chunk
// buffers of 1 MiB come and go by the hundred per second across the main thread and the workers; glibc
// soon serves them from its arenas (its mmap threshold rises by itself), and an arena keeps the freed
// middle of its heap resident. With 16 uploads and downloads of 1 GiB at once the server's RSS reached
// 540-580 MiB, most of it free memory in the arenas; with the trim, 467 MiB. (A fixed mmap threshold of
// 256 KiB did better on RSS, 414 MiB, but made every chunk buffer a fresh mapping: large GETs took 30-40 %
// more CPU per MiB on this VM.)
//
// Contracts:
// - Runs before the data directory is opened or anything is listened on: nothing of the first image is
//   lost (stdout/stderr are synchronous here; libuv opens every descriptor close-on-exec).
// - Never loops: the restarted process carries SEDIMENT_SERVER_TUNED=1 and sees its flags in
//   process.execArgv. Flags the user gave (e.g. a different --initial-old-space-size) are kept and win.
// - SEDIMENT_SERVER_TUNING=off skips both; without the native addon (or if execv fails, or not on
//   glibc) the server runs as is. The trim timer never keeps the process alive.
import { existsSync } from 'node:fs';
import { execSelf, mallocTrim } from '../native/index.js';

export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

export const MALLOC_TRIM_EVERY_MS = 1000;
export const MALLOC_TRIM_RSS_BYTES = 256 << 20;

const APPLIED = 'SEDIMENT_SERVER_TUNED';

/** The command line to restart with, or undefined when no restart is needed (or possible). */
export function serverRestartArgv(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] | undefined {
  if (env.SEDIMENT_SERVER_TUNING === 'off' || env[APPLIED] === '1') return undefined;
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

/**
 * Restarts this process with SERVER_NODE_FLAGS when they are missing (returns only if it did not), then
 * starts the malloc trim timer. Call first thing, before any file is opened.
 */
export function tuneServerProcess(): void {
  if (process.env.SEDIMENT_SERVER_TUNING === 'off') return;
  const next = serverRestartArgv(process.execPath, process.execArgv, process.argv, process.env);
  if (next !== undefined) {
    process.env[APPLIED] = '1';
    execSelf(next);
    delete process.env[APPLIED]; // exec failed (or no addon): go on with the default heap
  }
  setInterval(() => {
    if (process.memoryUsage.rss() > MALLOC_TRIM_RSS_BYTES) mallocTrim();
  }, MALLOC_TRIM_EVERY_MS).unref();
}
