// Plain worker threads that frame batches of small chunks (batch-worker.ts), for ChunkPool's batched
// path. A batch goes to the thread with the fewest batches outstanding; replies come back by id.
// Contracts:
// - run() resolves with the batch's framed bytes (batchLayout), or rejects: with the worker's message if
//   framing threw there, or if the thread died (it is started again for the next batch), or if close()
//   came first.
// - A thread keeps the process alive only while a batch of its own is outstanding (as a pending I/O
//   request would); idle ones do not.
import { Worker } from 'node:worker_threads';
import type { BatchReply, BatchRequest } from './batch-worker.js';
import type { BatchTask } from './chunk-worker.js';

interface Waiter {
  resolve: (out: Uint8Array) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Waiter>;
  /** Dictionaries already sent to this thread (it keeps them): each is sent once per thread. */
  dictsSent: Set<number>;
}

export class BatchFramers {
  private readonly threads: Array<Thread | undefined>;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly filename: string,
    count: number,
  ) {
    this.threads = new Array<Thread | undefined>(Math.max(1, count)).fill(undefined);
  }

  /** Frames `task` in a thread; `transfer` (the packed raws' buffer) is moved there. `null` only warms up. */
  run(task: BatchTask | null, transfer: ArrayBuffer[] = []): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('batch framing threads are closed'));
    const t = this.pick();
    const id = this.nextId++;
    if (task?.dicts !== undefined) {
      const need = task.dicts.filter((d) => !t.dictsSent.has(d.id));
      for (const d of need) t.dictsSent.add(d.id);
      task = { ...task, dicts: need.length > 0 ? need : undefined };
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      if (t.pending.size === 1) t.worker.ref();
      try {
        t.worker.postMessage({ id, task } satisfies BatchRequest, transfer);
      } catch (err) {
        this.settled(t, id);
        reject(err as Error);
      }
    });
  }

  /** Stops every thread; batches still outstanding are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.threads.splice(0, this.threads.length).filter((t): t is Thread => t !== undefined);
    await Promise.all(all.map((t) => t.worker.terminate()));
    for (const t of all) this.failAll(t, new Error('batch framing threads are closed'));
  }

  private pick(): Thread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (t === undefined) return this.start(i);
      if (best < 0 || t.pending.size < this.threads[best]!.pending.size) best = i;
    }
    return this.threads[best]!;
  }

  private start(slot: number): Thread {
    const t: Thread = { worker: new Worker(this.filename), pending: new Map(), dictsSent: new Set() };
    t.worker.unref();
    t.worker.on('message', (m: BatchReply) => {
      const w = t.pending.get(m.id);
      if (w === undefined) return;
      this.settled(t, m.id);
      if ('error' in m) w.reject(new Error(`framing a batch of small chunks failed: ${m.error}`));
      else w.resolve(m.out);
    });
    // A thread that dies takes its outstanding batches with it; the next batch starts a new one.
    const died = (err: Error): void => {
      if (this.threads[slot] === t) this.threads[slot] = undefined;
      this.failAll(t, err);
    };
    t.worker.on('error', (err) => died(err));
    t.worker.on('exit', (code) => died(new Error(`batch framing thread exited (code ${code})`)));
    this.threads[slot] = t;
    return t;
  }

  private settled(t: Thread, id: number): void {
    t.pending.delete(id);
    if (t.pending.size === 0) t.worker.unref();
  }

  private failAll(t: Thread, err: Error): void {
    const waiters = [...t.pending.values()];
    t.pending.clear();
    for (const w of waiters) w.reject(err);
  }
}
