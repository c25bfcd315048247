// Names and creation of segment files (docs/FORMAT.md §1, §2.1).
import { encodeSegmentHeader } from '../format/segment-header.js';
import { TIER_HOT } from '../format/constants.js';
import type { FileHandle, FileSystem } from '../io/types.js';

export function segmentFileName(id: number): string {
  return String(id).padStart(12, '0') + '.seg';
}

export function parseSegmentFileName(name: string): number | undefined {
  const m = /^(\d{12})\.seg$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * A spare: the next log segment, made ahead of the roll that switches to it (segment-writer.ts). It has
 * its own name so that open can never take it for an active segment that holds no record yet.
 */
export function spareFileName(id: number): string {
  return String(id).padStart(12, '0') + '.spare';
}

export function parseSpareFileName(name: string): number | undefined {
  const m = /^(\d{12})\.spare$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Creates segment `id` with its header, named `name` (a spare is made under spareFileName). Resolves after
 * the header is fsync'd and the directory entry is durable (fsync of `dir`), so a crash never leaves a
 * segment name without a header.
 */
export async function createSegment(fs: FileSystem, dir: string, id: number, nowMs: number, name = segmentFileName(id)): Promise<FileHandle> {
  const fh = await fs.open(`${dir}/${name}`, 'create-new');
  try {
    await fh.writev([encodeSegmentHeader({ tier: TIER_HOT, segmentId: id, createdMs: nowMs })], 0);
    await fh.datasync();
    await fs.syncDir(dir);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  return fh;
}
