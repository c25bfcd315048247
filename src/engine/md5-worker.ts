// The MD5 thread (md5-hasher.ts): keeps one running MD5 per large upload and updates it with each chunk
// as it arrives, in order (one port, one thread: messages are handled in the order they were posted).
// Updates that arrive together (several uploads at once) are hashed together: they are queued as they
// come, and the next piece of every upload with one queued is hashed in one round, the uploads side by side
// in the vector unit (src/native/md5-streams.ts). A round runs as soon as every open upload has a piece
// queued or the thread is behind (an upload has more than 3), else ROUND_WAIT_MS after the first piece waiting: a
// thread that keeps up would otherwise hash each piece alone as it comes, at one chain's cost. An upload does not wait for its pieces to be hashed (only
// its digest does, which runs every round at once), so the wait costs it nothing but the memory of what is
// queued. Every update is answered once its bytes are used, in the order posted.
import { parentPort } from 'node:worker_threads';
import { md5Streams } from '../native/md5-streams.js';

export type Md5Message = { op: 'update'; id: number; data: Uint8Array } | { op: 'digest'; id: number } | { op: 'drop'; id: number };
/** A digest, or how many bytes of updates were hashed since the last report (the hasher's back-pressure). */
export type Md5Reply = { id: number; md5: Uint8Array } | { hashed: number };

/** How long queued pieces wait for the other open uploads' before a round runs anyway. */
const ROUND_WAIT_MS = 8;

const streams = md5Streams();
/** The updates not yet answered, in the order posted: answered as a prefix once their bytes are used. */
const unanswered: Array<{ bytes: number; used: boolean }> = [];
let scheduled = false;
let timer: NodeJS.Timeout | undefined;
const port = parentPort;

/** Answers the updates whose bytes are used, up to the first one still queued (the caller may reuse them). */
function answer(): void {
  while (unanswered.length > 0 && unanswered[0]!.used) port!.postMessage({ hashed: unanswered.shift()!.bytes } satisfies Md5Reply);
}

function step(): void {
  scheduled = false;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (streams.round()) schedule();
  answer();
}

/** A round at the next turn if every open upload has a piece queued or the thread is behind, else after ROUND_WAIT_MS. */
function schedule(): void {
  if (scheduled || streams.queued === 0) return;
  if (streams.queued >= streams.open || streams.behind) {
    scheduled = true;
    setImmediate(step);
  } else {
    timer ??= setTimeout(step, ROUND_WAIT_MS);
  }
}

if (port) {
  port.on('message', (m: Md5Message) => {
    if (m.op === 'update') {
      const u = { bytes: m.data.byteLength, used: false };
      unanswered.push(u);
      streams.update(m.id, m.data, () => (u.used = true));
      schedule();
      answer(); // without the addon the bytes are hashed at once
      return;
    }
    if (m.op === 'digest') {
      const md5 = streams.digest(m.id); // its updates first (and the others' with them)
      answer();
      port.postMessage({ id: m.id, md5 } satisfies Md5Reply);
      return;
    }
    streams.drop(m.id); // its queued updates are answered: their bytes are no longer read
    answer();
  });
}
