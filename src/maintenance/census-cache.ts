// Census tables (census-table.ts) kept from one compaction pass to the next. Sealed segments and packs
// never change, so a pass need not decode their footers again; liveness is NOT kept (it is a question
// to the index, asked anew by every census). A held table is only a candidate: the census still has the
// file's footer read and checked, and uses the table only when the footer's bytes are the ones it was
// built from (`footerKey`). A file replaced, shortened or damaged since is decoded again (or reported
// damaged); a file no longer listed is dropped from the cache at the next census.
import type { SegmentTable } from './census-table.js';

export class CensusCache {
  private readonly tables = new Map<number, SegmentTable>();
  private heldBytes = 0;

  /** At most this many bytes of tables are kept between passes (a pass itself holds all of them). */
  constructor(readonly bytesMax: number) {}

  /** The table held for file `id` of this kind, if any (still to be checked against the file). */
  get(id: number, kind: 'log' | 'pack'): SegmentTable | undefined {
    const t = this.tables.get(id);
    return t && t.kind === kind ? t : undefined;
  }

  /**
   * Keeps the footer-built tables of the census just taken, oldest files first up to bytesMax, and drops
   * every other (files that are gone, tables built by a scan).
   */
  retain(tables: SegmentTable[]): void {
    this.tables.clear();
    this.heldBytes = 0;
    for (const t of [...tables].sort((a, b) => a.id - b.id)) {
      if (t.footerKey === '' || this.heldBytes + t.bytes > this.bytesMax) continue;
      this.tables.set(t.id, t);
      this.heldBytes += t.bytes;
    }
  }

  /** Forgets files a pass replaced (their memory goes back before the next census). */
  drop(ids: Iterable<number>): void {
    for (const id of ids) {
      const t = this.tables.get(id);
      if (!t) continue;
      this.tables.delete(id);
      this.heldBytes -= t.bytes;
    }
  }

  get sizeBytes(): number {
    return this.heldBytes;
  }

  ids(): number[] {
    return [...this.tables.keys()];
  }
}
