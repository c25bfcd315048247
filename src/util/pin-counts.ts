// Counted pins on ids (segment ids): a stream pins the segments it will read, and what would remove a
// segment asks whether any pin holds it. One id may be pinned by many streams at once.

export class PinCounts {
  private readonly counts = new Map<number, number>();

  /**
   * Pins each id once (duplicates count once). Returns the release, which is idempotent; `onUnpinned` is
   * called for each id whose last pin it drops.
   */
  pin(ids: Iterable<number>, onUnpinned?: (id: number) => void): () => void {
    const unique = [...new Set(ids)];
    for (const id of unique) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const id of unique) {
        const n = (this.counts.get(id) ?? 1) - 1;
        if (n > 0) {
          this.counts.set(id, n);
        } else {
          this.counts.delete(id);
          onUnpinned?.(id);
        }
      }
    };
  }

  has(id: number): boolean {
    return this.counts.has(id);
  }
}
