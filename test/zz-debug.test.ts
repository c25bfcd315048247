import { it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
it('dbg', async () => {
  const fs = new MemoryFileSystem();
  const e = await Engine.open({ dir: '/data', fs, workerThreads: 0, chunkBytes: 65536, segmentBytesMax: 1 << 20, onWarning: (m) => console.log('WARN', m) });
  await e.createBucket('bkt');
  const puts = Array.from({ length: 24 }, (_, i) => e.putObject('bkt', `k${i}`, Buffer.alloc(200_000 + i, i)).then(() => console.log('ok', i), (err) => console.log('fail', i, err.message)));
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
  const w = (e as any).writer;
  const t = setInterval(() => console.log('still waiting', JSON.stringify({ pumping: w.pumping, q: w.queue.map((x: any) => x.kind + ':' + (x.offset ?? x.segmentId)), syncing: !!w.syncing, sw: w.syncWaiters.length, idle: w.idleWaiters.length, fail: w.failure?.message, assignId: w.assignId, writeId: w.writeId, ckpt: !!(e as any).checkpointing })), 1000);
  const c = e.close().then(() => console.log('closed'), (err) => console.log('close failed', err));
  await Promise.race([c, new Promise((r) => setTimeout(r, 3000))]);
  console.log('after close');
  await Promise.race([Promise.allSettled(puts), new Promise((r) => setTimeout(r, 3000))]);
  clearInterval(t);
}, 20000);
