// A load generator worker thread: adopts the parent's data pool (shared memory), opens its own
// connections, waits for 'start' so every thread starts on the same clock, runs its lanes and posts
// its stats. Messages: worker → parent 'ready' | 'done' | 'failed'; parent → worker 'start'.
import { parentPort, workerData } from 'node:worker_threads';
import { adoptPool } from './data.js';
import { runLanes, type Control, type LaneStats } from './lanes.js';
import type { ResolvedOptions } from './options.js';

export interface WorkerInput {
  options: ResolvedOptions;
  control: Control;
  lanes: number;
  firstLane: number;
  /** The data pool's bytes (a SharedArrayBuffer view). */
  pool: Uint8Array;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; stats: LaneStats } | { type: 'failed'; message: string };

if (parentPort) {
  const port = parentPort;
  const input = workerData as WorkerInput;
  adoptPool(input.options.data, Buffer.from(input.pool.buffer, input.pool.byteOffset, input.pool.byteLength));
  port.once('message', (m: { type: 'start'; deadlineEpochMs: number | undefined }) => {
    runLanes({ options: input.options, control: input.control, lanes: input.lanes, firstLane: input.firstLane, deadlineEpochMs: m.deadlineEpochMs }).then(
      (stats) => port.postMessage({ type: 'done', stats } satisfies WorkerMessage),
      (err: unknown) => port.postMessage({ type: 'failed', message: (err as Error)?.stack ?? String(err) } satisfies WorkerMessage),
    );
  });
  port.postMessage({ type: 'ready' } satisfies WorkerMessage);
}
