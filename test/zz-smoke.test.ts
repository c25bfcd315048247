import { expect, it } from 'vitest';
import { Engine, MemoryFileSystem, Compactor, MaintenancePool, takeCensus } from '../src/index.js';
it('smoke', async () => {
  const fs = new MemoryFileSystem();
  const open = () => Engine.open({ dir: '/d', fs, workerThreads: 0, segmentBytesMax: 1 << 20, chunkBytes: 64 << 10, onWarning: (m) => console.log('W', m) });
  let e = await open();
  await e.createBucket('bkt');
  const data = new Map<string, Buffer>();
  for (let i = 0; i < 300; i++) { const b = Buffer.alloc(4096 + i, i); data.set('k' + i, b); await e.putObject('bkt', 'k' + i, b); }
  for (let i = 0; i < 300; i += 2) { await e.deleteObject('bkt', 'k' + i); data.delete('k' + i); }
  for (let i = 1; i < 100; i += 4) { const b = Buffer.alloc(9000, i + 1); data.set('k' + i, b); await e.putObject('bkt', 'k' + i, b); }
  const pool = new MaintenancePool(fs, 0);
  const c = new Compactor(e.maintenance(), pool, { freeBytesReserve: 0 });
  const before = await takeCensus(e.maintenance());
  console.log('before', before.storedBytes, before.liveBytes);
  const st = await c.runPass({ sealFirst: true });
  console.log(st);
  const st2 = await c.runPass({ sealFirst: false });
  console.log(st2);
  const check = async () => { for (const [k, v] of data) { const g = await e.getObject('bkt', k); const chunks: Buffer[] = []; for await (const x of g.body) chunks.push(x); expect(Buffer.concat(chunks).equals(v)).toBe(true); } };
  await check();
  console.log(await fs.readdir('/d/segments'));
  const v = await e.verify(); expect(v.damage).toEqual([]); expect(v.damagedObjects).toEqual([]);
  await e.close();
  e = await open(); await check();
  const v2 = await e.verify(); expect(v2.damage).toEqual([]); expect(v2.damagedObjects).toEqual([]);
  await e.close();
});
