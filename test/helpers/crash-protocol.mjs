// What the crash children (crash-writer.mjs, crash-compactor.mjs, crash-migrator.mjs) share: the seeded
// random source, the stdout protocol and the writer loop the parent test checks against its model.
//   ready                         the directory is open (the lock is held)
//   start <key> <md5|-> <size>    a put (md5 of its bytes) or a delete (-) of <key> begins
//   ack <key> <md5|->             it resolved: the engine promised durability
// Operations on one key never overlap, so at a kill each key has at most one unacknowledged operation.
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';

/** mulberry32 from the seed given on the command line (the parent prints it for replay). */
export function seeded(seedArg) {
  let state = Number(seedArg) >>> 0;
  const rand = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { rand, int: (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)) };
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/**
 * One stdout line, written synchronously so it exists before the event it announces; whole or nothing
 * before the next event. A full pipe (EAGAIN, the parent is slow) is waited out.
 */
export function line(s) {
  const b = Buffer.from(s + '\n');
  for (let at = 0; at < b.length; ) {
    try {
      at += writeSync(1, b, at);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Creates bucket `crash` unless a previous round did; `setup` runs only on creation. */
export async function crashBucket(engine, setup = async () => undefined) {
  try {
    await engine.createBucket('crash');
    await setup();
  } catch (err) {
    if (err.code !== 'SEDIMENT_BUCKET_EXISTS') throw err;
  }
}

/**
 * Puts and deletes on keys k000.. in bucket `crash`, one operation per key at a time, announcing each
 * on stdout, forever. `body()` makes a put's bytes; `pauseMs()` waits between operations (optional).
 */
export async function writerLoop({ engine, rand, int, keys, deleteShare, body, pauseMs }, busy = new Set()) {
  for (;;) {
    let key;
    do key = `k${String(int(0, keys - 1)).padStart(3, '0')}`;
    while (busy.has(key));
    busy.add(key);
    if (rand() < deleteShare) {
      line(`start ${key} - 0`);
      await engine.deleteObject('crash', key);
      line(`ack ${key} -`);
    } else {
      const data = body();
      const md5 = createHash('md5').update(data).digest('hex');
      line(`start ${key} ${md5} ${data.length}`);
      await engine.putObject('crash', key, data);
      line(`ack ${key} ${md5}`);
    }
    busy.delete(key);
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs()));
  }
}
