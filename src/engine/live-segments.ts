// The live files of segments/ and their manifest, DIR/manifest (docs/FORMAT.md §4.2, docs/DURABILITY.md
// "The segment manifest"). Without it a segment file that disappears is noticed only where something
// still refers to it; with it, open tells a file removed on purpose from one that was lost.
//
// Invariants, kept by the order of the steps (each manifest write is tmp, fsync, rename, fsync of DIR):
// - A log segment is listed only after its header and directory entry are durable (createSegment), and
//   before the writer appends to it: a listed segment always existed whole, an unlisted newest one never
//   held an acknowledged record.
// - A pack is listed after its rename into segments/ (the rename is what commits it) and together with
//   the removal of its inputs; a file is unlisted before it is truncated or unlinked.
// - A listed file that is gone, and was not replaced by a valid pack, is damage. It stays listed (so that
//   every open and every `verify` reports it) until `forgetMissing`.
import { DATA_DIR_FORMAT_MANIFEST, ManifestKind } from '../format/constants.js';
import { FormatError } from '../format/binary.js';
import { decodeSegmentManifest, encodeSegmentManifest, type ManifestKindValue } from '../format/segment-manifest.js';
import type { FileSystem } from '../io/types.js';
import { raiseFormatVersion, readFormatVersion } from './data-dir.js';
import type { Damage } from './segment-scan.js';
import { segmentFileName } from './segment-files.js';

export const MANIFEST_FILE = 'manifest';

export type LoadedManifest =
  | { state: 'ok'; listed: Map<number, ManifestKindValue>; generation: number }
  | { state: 'absent' }
  | { state: 'damaged'; why: string };

/** Reads DIR/manifest. */
export async function loadManifest(fs: FileSystem, dir: string): Promise<LoadedManifest> {
  const path = `${dir}/${MANIFEST_FILE}`;
  if (!(await fs.exists(path))) return { state: 'absent' };
  try {
    const m = decodeSegmentManifest(await fs.readFile(path));
    return { state: 'ok', listed: new Map(m.entries.map((e) => [e.segmentId, e.kind])), generation: m.generation };
  } catch (err) {
    if (err instanceof FormatError) return { state: 'damaged', why: err.message };
    throw err;
  }
}

export interface ReconcileInput {
  /** What the manifest lists; undefined when there is none to trust (first open, or damaged). */
  listed: ReadonlyMap<number, ManifestKindValue> | undefined;
  /** Log segment files present (after loadPacks removed the inputs of valid packs). */
  logIds: readonly number[];
  /** Pack files present, valid or not. */
  packIds: readonly number[];
  /** Files a valid pack replaces: gone on purpose. */
  replaced: ReadonlySet<number>;
}

export interface Reconciled {
  /** What the manifest must list now (missing files included). */
  live: Map<number, ManifestKindValue>;
  /** Listed, not present, not replaced by a pack: lost. */
  missing: number[];
  /** Unlisted log segments older than the newest listed id: their removal was decided, the unlink not done. */
  leftovers: number[];
  /** Present, unlisted, and legitimately live: a pack whose listing a crash interrupted, or the newest log segments. */
  adopted: number[];
  /** The manifest must be rewritten. */
  changed: boolean;
}

/** The rules of open (pure, so that each case can be tested on its own). */
export function reconcileSegments(i: ReconcileInput): Reconciled {
  const live = new Map<number, ManifestKindValue>();
  const out: Reconciled = { live, missing: [], leftovers: [], adopted: [], changed: false };
  const present = new Map<number, ManifestKindValue>();
  for (const id of i.logIds) present.set(id, ManifestKind.LOG);
  for (const id of i.packIds) present.set(id, ManifestKind.PACK);
  if (!i.listed) {
    for (const [id, kind] of present) live.set(id, kind);
    out.changed = true;
    return sortLive(out);
  }
  let maxListed = 0;
  for (const [id, kind] of i.listed) {
    maxListed = Math.max(maxListed, id);
    const now = present.get(id);
    if (now !== undefined) live.set(id, now);
    else if (i.replaced.has(id)) out.changed = true;
    else {
      live.set(id, kind);
      out.missing.push(id);
    }
  }
  for (const [id, kind] of present) {
    if (i.listed.has(id)) continue;
    if (kind === ManifestKind.PACK || id > maxListed) {
      live.set(id, kind);
      out.adopted.push(id);
      out.changed = true;
    } else out.leftovers.push(id);
  }
  out.missing.sort((a, b) => a - b);
  out.leftovers.sort((a, b) => a - b);
  out.adopted.sort((a, b) => a - b);
  return sortLive(out);
}

function sortLive(r: Reconciled): Reconciled {
  const sorted = [...r.live].sort((a, b) => a[0] - b[0]);
  r.live.clear();
  for (const [id, kind] of sorted) r.live.set(id, kind);
  return r;
}

/**
 * The manifest of an open engine. Every change resolves once the new manifest is durable; changes are
 * written one at a time, each write holding every change made before it started.
 */
export class LiveSegments {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly live: Map<number, ManifestKindValue>,
    private readonly missingIds: Set<number>,
    private generation: number,
    private readonly clock: { now(): number },
  ) {}

  /** Highest id listed (missing ones included): a new segment must take a higher one. */
  get maxId(): number {
    let max = 0;
    for (const id of this.live.keys()) max = Math.max(max, id);
    return max;
  }

  get missing(): number[] {
    return [...this.missingIds].sort((a, b) => a - b);
  }

  has(id: number): boolean {
    return this.live.has(id);
  }

  /** Writes the manifest as it is (at open, after reconciling). */
  save(): Promise<void> {
    return this.enqueue(() => undefined, () => undefined);
  }

  /** Lists a newly created log segment. On failure it is not listed (the caller removes the file). */
  add(id: number): Promise<void> {
    return this.enqueue(
      () => this.live.set(id, ManifestKind.LOG),
      () => this.live.delete(id),
    );
  }

  /**
   * Unlists `removed` and lists `packId` (if any) in one write: called after a pack's rename and before
   * any of its inputs is truncated or unlinked, or before a segment with nothing live is removed.
   */
  replace(packId: number | undefined, removed: readonly number[]): Promise<void> {
    return this.enqueue(() => {
      for (const id of removed) this.live.delete(id);
      if (packId !== undefined) this.live.set(packId, ManifestKind.PACK);
    });
  }

  /** Accepts the loss of the missing files: they are no longer listed or reported. */
  async forgetMissing(): Promise<number[]> {
    const gone = this.missing;
    await this.enqueue(() => {
      for (const id of gone) {
        this.live.delete(id);
        this.missingIds.delete(id);
      }
    });
    return gone;
  }

  /** Runs `change` when the previous write is done, then writes; `undo` reverts it if the write fails. */
  private enqueue(change: () => void, undo?: () => void): Promise<void> {
    const run = async (): Promise<void> => {
      change();
      try {
        await this.write();
      } catch (err) {
        undo?.();
        throw err;
      }
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async write(): Promise<void> {
    const tmp = `${this.dir}/tmp/${MANIFEST_FILE}`;
    const entries = [...this.live].sort((a, b) => a[0] - b[0]).map(([segmentId, kind]) => ({ segmentId, kind }));
    await this.fs.writeFile(tmp, encodeSegmentManifest({ generation: this.generation + 1, writtenMs: this.clock.now(), entries }));
    await this.fs.syncFile(tmp);
    await this.fs.rename(tmp, `${this.dir}/${MANIFEST_FILE}`);
    await this.fs.syncDir(this.dir);
    this.generation++;
  }
}

/**
 * At open, after loadPacks: reads the manifest (trusted only from data directory format 5 on: an older
 * sediment did not keep it), reconciles it with the files, finishes interrupted removals, writes it if
 * anything changed and raises the directory to format 5. Returns the damage found: listed files that
 * are gone, or a manifest that is itself missing or damaged.
 */
export async function openLiveSegments(
  fs: FileSystem,
  dir: string,
  files: Omit<ReconcileInput, 'listed'>,
  clock: { now(): number },
  warn: (m: string) => void,
): Promise<{ live: LiveSegments; damage: Damage[] }> {
  const damage: Damage[] = [];
  const format = await readFormatVersion(fs, dir);
  const loaded: LoadedManifest = format >= DATA_DIR_FORMAT_MANIFEST ? await loadManifest(fs, dir) : { state: 'absent' };
  const anyFiles = files.logIds.length + files.packIds.length > 0;
  if (format >= DATA_DIR_FORMAT_MANIFEST && loaded.state !== 'ok' && anyFiles) {
    const why = loaded.state === 'damaged' ? `is damaged (${loaded.why})` : 'is missing';
    const d = { segmentId: 0, offset: 0, length: 0, detail: `${MANIFEST_FILE} ${why}: rebuilt from the segment files present; a segment file lost before this open cannot be detected` };
    damage.push(d);
    warn(`data directory ${d.detail}`);
  }
  const r = reconcileSegments({ ...files, listed: loaded.state === 'ok' ? loaded.listed : undefined });
  for (const id of r.missing) {
    const d = { segmentId: id, offset: 0, length: 0, detail: `segment file is missing: ${MANIFEST_FILE} lists it and no compaction replaced it; records only it held are lost` };
    damage.push(d);
    warn(`damage: segment ${id}: ${d.detail}`);
  }
  for (const id of r.adopted) warn(`listing segment ${id} in ${MANIFEST_FILE} (its listing was interrupted)`);
  const segmentsDir = `${dir}/segments`;
  for (const id of r.leftovers) {
    warn(`removing ${segmentFileName(id)}: ${MANIFEST_FILE} no longer lists it (its removal was interrupted)`);
    await fs.unlink(`${segmentsDir}/${segmentFileName(id)}`);
  }
  if (r.leftovers.length > 0) await fs.syncDir(segmentsDir);
  const live = new LiveSegments(fs, dir, r.live, new Set(r.missing), loaded.state === 'ok' ? loaded.generation : 0, clock);
  if (r.changed || format < DATA_DIR_FORMAT_MANIFEST) await live.save();
  // Only with the manifest durable: an older sediment must not change segments/ without keeping it.
  await raiseFormatVersion(fs, dir, DATA_DIR_FORMAT_MANIFEST);
  // A directory an older sediment wrote: say so once, since that sediment can no longer open it.
  if (format < DATA_DIR_FORMAT_MANIFEST && anyFiles) {
    warn(`data directory raised from format ${format} to ${DATA_DIR_FORMAT_MANIFEST} (it now keeps DIR/${MANIFEST_FILE}): sediment versions that read only up to format ${DATA_DIR_FORMAT_MANIFEST - 1} refuse it from now on (docs/OPERATIONS.md "Upgrading and going back")`);
  }
  return { live, damage };
}
