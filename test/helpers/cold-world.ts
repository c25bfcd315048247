// An engine with a memory cold store and a migrator on an in-memory disk, with an injected clock that
// tests move by days, and power loss (unsynced bytes dropped) between opens.
import type { FileSystem } from '../../src/io/types.js';
import { Engine, MaintenancePool, MemoryColdStore, MemoryFileSystem, Migrator, type MigrationSettings } from '../../src/index.js';
import { DAY_MS } from '../../src/engine/lifecycle.js';
import { ProcessFs } from './process-fs.js';

export const T0 = Date.UTC(2026, 10, 1, 10, 30);

/** `wrapFs`: what the engine sees of the disk (e.g. a FaultFs around it), per open. */
export function coldWorld(migrator: MigrationSettings = {}, wrapFs: (fs: FileSystem) => FileSystem = (fs) => fs) {
  const disk = new MemoryFileSystem();
  const store = new MemoryColdStore();
  let now = T0;
  let view: ProcessFs | undefined;
  return {
    store,
    disk,
    advanceDays(d: number): void {
      now += d * DAY_MS;
    },
    now: () => now,
    async open(): Promise<{ e: Engine; m: Migrator }> {
      view = new ProcessFs(disk);
      const fs = wrapFs(view);
      const e = await Engine.open({ dir: '/data', fs, clock: { now: () => now }, workerThreads: 0, chunkBytes: 64 << 10, coldStore: store, onWarning: () => undefined });
      return { e, m: new Migrator(e.coldAccess(), store, new MaintenancePool(fs, 0), { batchBytesMax: 16 << 10, ...migrator }) };
    },
    crash(): void {
      view?.kill();
      disk.crash();
    },
  };
}
