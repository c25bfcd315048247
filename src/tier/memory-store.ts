// An in-memory ColdStore for tests, with a switch that makes it unreachable (to test callers' handling of
// SEDIMENT_COLD_UNAVAILABLE).
import { checkBlobName, checkRange, notFound, unavailable, type ColdBlob, type ColdStore } from './cold-store.js';

export class MemoryColdStore implements ColdStore {
  readonly description = 'memory';
  private readonly blobs = new Map<string, Buffer>();
  /** While true, every call fails with SEDIMENT_COLD_UNAVAILABLE. */
  offline = false;
  /** What freeBytes() answers (tests of a full cold store); the store itself never refuses a put. */
  free = Number.MAX_SAFE_INTEGER;

  async freeBytes(): Promise<number> {
    return this.free;
  }

  private check(): void {
    if (this.offline) throw unavailable('memory store is offline (test switch)');
  }

  async put(name: string, data: Buffer): Promise<void> {
    checkBlobName(name);
    this.check();
    this.blobs.set(name, Buffer.from(data));
  }

  async readRange(name: string, offset: number, length: number): Promise<Buffer> {
    checkBlobName(name);
    this.check();
    const b = this.blobs.get(name);
    if (!b) throw notFound(name);
    checkRange(name, b.length, offset, length);
    return Buffer.from(b.subarray(offset, offset + length));
  }

  async stat(name: string): Promise<number | undefined> {
    checkBlobName(name);
    this.check();
    return this.blobs.get(name)?.length;
  }

  async list(prefix = ''): Promise<ColdBlob[]> {
    this.check();
    return [...this.blobs].filter(([n]) => n.startsWith(prefix)).map(([name, b]) => ({ name, size: b.length })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    this.check();
    this.blobs.delete(name);
  }
}
