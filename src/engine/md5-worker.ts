// The MD5 thread (md5-hasher.ts): keeps one running MD5 per large upload and updates it with each chunk
// as it arrives, in order (one port, one thread: messages are handled in the order they were posted).
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type Md5Message = { op: 'update'; id: number; data: Uint8Array } | { op: 'digest'; id: number } | { op: 'drop'; id: number };
/** A digest, or how many bytes of updates were hashed since the last report (the hasher's back-pressure). */
export type Md5Reply = { id: number; md5: Uint8Array } | { hashed: number };

const hashes = new Map<number, Hash>();
const port = parentPort;
if (port) {
  port.on('message', (m: Md5Message) => {
    if (m.op === 'update') {
      let h = hashes.get(m.id);
      if (!h) hashes.set(m.id, (h = createHash('md5')));
      h.update(m.data);
      port.postMessage({ hashed: m.data.byteLength } satisfies Md5Reply);
      return;
    }
    const h = hashes.get(m.id) ?? createHash('md5');
    hashes.delete(m.id);
    if (m.op === 'digest') port.postMessage({ id: m.id, md5: h.digest() } satisfies Md5Reply);
  });
}
