// Last access of objects in buckets with access-based tiering (docs/ARCHITECTURE.md "Cold tier"): kept in
// memory at minute granularity (one Map.set per GET, no write per read), saved to DIR/access with every
// checkpoint and at a clean close when reads happened since (tmp, fsync, rename, directory fsync), and
// loaded at open. Losing it (crash between
// checkpoints, damaged file) only makes objects look unread since their last saved access or their upload:
// they may move to the cold tier early — a cost, never a loss, since cold GETs are instant.
import { decodeAccess, encodeAccess } from '../format/access-days.js';
import { FormatError } from '../format/binary.js';
import type { FileSystem } from '../io/types.js';
import { ownedString } from '../util/owned-string.js';

const MINUTE_MS = 60_000;

export class AccessTracker {
  private readonly byBucket = new Map<string, Map<string, number>>();
  /** Reads recorded since the last save (a clean close saves them even without a checkpoint). */
  dirty = false;

  /** Records a read of bucket/key at `nowMs` (only called for buckets with tiering). */
  touch(bucket: string, key: string, nowMs: number): void {
    let m = this.byBucket.get(bucket);
    if (!m) this.byBucket.set(bucket, (m = new Map()));
    const minute = Math.floor(nowMs / MINUTE_MS);
    const last = m.get(key);
    if (last === minute) return;
    m.set(last === undefined ? ownedString(key) : key, minute); // a new entry keeps a flat copy of the key
    this.dirty = true;
  }

  /** Last read (ms, minute granularity), or undefined if none was recorded. */
  lastAccessMs(bucket: string, key: string): number | undefined {
    const minute = this.byBucket.get(bucket)?.get(key);
    return minute === undefined ? undefined : minute * MINUTE_MS;
  }

  forgetBucket(bucket: string): void {
    this.byBucket.delete(bucket);
  }

  /** Drops entries of keys that no longer exist (called before saving). */
  prune(exists: (bucket: string, key: string) => boolean): void {
    for (const [b, m] of this.byBucket) {
      for (const k of m.keys()) if (!exists(b, k)) m.delete(k);
      if (m.size === 0) this.byBucket.delete(b);
    }
  }

  async save(fs: FileSystem, dir: string, nowMs: number): Promise<void> {
    this.dirty = false;
    let count = 0;
    for (const m of this.byBucket.values()) count += m.size;
    const map = this.byBucket;
    const bytes = encodeAccess(nowMs, (function* () {
      for (const [bucket, m] of map) for (const [key, minute] of m) yield { bucket, key, minute };
    })(), count);
    await fs.writeFile(`${dir}/tmp/access`, bytes);
    await fs.syncFile(`${dir}/tmp/access`);
    await fs.rename(`${dir}/tmp/access`, `${dir}/access`);
    await fs.syncDir(dir);
  }

  async load(fs: FileSystem, dir: string, warn: (m: string) => void): Promise<void> {
    if (!(await fs.exists(`${dir}/access`))) return;
    try {
      for (const e of decodeAccess(await fs.readFile(`${dir}/access`)).entries) {
        let m = this.byBucket.get(e.bucket);
        if (!m) this.byBucket.set(e.bucket, (m = new Map()));
        m.set(e.key, e.minute);
      }
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      warn(`ignoring damaged last-access file: ${err.message}`);
    }
  }
}
