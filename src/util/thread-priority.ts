// Background threads yield the CPU to request handling. On a machine with few cores, a maintenance worker
// (compaction copies and checks, census tables, cold-segment builds) competing at equal priority with the
// main thread delays every request the main thread has not finished: the request waits for the scheduler,
// not for work of its own. Linux keeps a nice value per thread, and setpriority(PRIO_PROCESS, tid) sets it
// for that thread alone; Node's os.setPriority passes a thread id through unchanged, and /proc/thread-self
// names the calling thread's id. Elsewhere this does nothing.
import { readlinkSync } from 'node:fs';
import * as os from 'node:os';

/** Nice value of background (maintenance) threads: they still run whenever a core is free. */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the scheduling priority of the calling thread (never call it on the main thread: on Linux the main
 * thread's id is the process id, and the whole process would follow). Returns whether it was applied.
 */
export function lowerThisThreadPriority(nice = BACKGROUND_NICE): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid === process.pid) return false;
    os.setPriority(tid, nice);
    return os.getPriority(tid) === nice;
  } catch {
    return false; // no /proc, or not allowed: run at normal priority
  }
}
