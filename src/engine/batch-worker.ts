// A plain worker thread that frames batches of small chunks for ChunkPool (batch-framers.ts). It answers
// messages on its parentPort rather than piscina tasks: one round trip then costs the main thread ~20 µs
// less (bench/worker-hop.bench.ts), and the S3 server sends a batch every ~5 small PUTs.
// Protocol: { id, task: BatchTask | null } in; { id, out } (out transferred) or { id, error } back. A null
// task is answered with an empty `out` once the thread is ready (the warm-up).
import { parentPort } from 'node:worker_threads';
import { hashReady, initHash } from '../format/hash.js';
import { frameBatch, type BatchTask } from './chunk-worker.js';

export interface BatchRequest {
  id: number;
  task: BatchTask | null;
}

export type BatchReply = { id: number; out: Uint8Array } | { id: number; error: string };

const port = parentPort;
if (port === null) throw new Error('batch-worker.js runs in a worker thread');
const ready = initHash();

function answer(m: BatchRequest): void {
  let reply: BatchReply;
  try {
    reply = { id: m.id, out: m.task === null ? new Uint8Array(0) : frameBatch(m.task) };
  } catch (err) {
    port!.postMessage({ id: m.id, error: (err as Error).message } satisfies BatchReply);
    return;
  }
  port!.postMessage(reply, 'out' in reply && reply.out.byteLength > 0 ? [reply.out.buffer as ArrayBuffer] : []);
}

port.on('message', (m: BatchRequest) => {
  // Answered in arrival order: until xxh64 is ready every message waits on the same promise.
  if (hashReady()) answer(m);
  else void ready.then(() => answer(m), (err: unknown) => port.postMessage({ id: m.id, error: `xxh64 did not start: ${(err as Error).message}` } satisfies BatchReply));
});
