// Writing and loading index checkpoints (docs/FORMAT.md §4). A checkpoint becomes visible atomically:
// tmp file, fsync, rename, directory fsync; only then are older ones deleted.
import { FormatError } from '../format/binary.js';
import {
  decodeCheckpointFrom,
  checkpointPieces,
  type CheckpointBucket,
  type CheckpointHeader,
  type CheckpointSource,
  type CheckpointUpload,
  type CheckpointVisitor,
} from '../format/checkpoint.js';
import type { FileSystem } from '../io/types.js';
import { SedimentError } from '../util/errors.js';

/** Index rows encoded per piece, i.e. per event-loop turn (~3 ms of work and ~200 KiB on this machine). */
const ENCODE_SLICE_ROWS = 2048;
/**
 * A piece also ends after this long: the first pieces a process encodes run before the code is
 * optimized, and 2,048 rows then held the event loop for 30–60 ms.
 */
const ENCODE_SLICE_MS = 5;
/**
 * The file is synced every this many bytes as it is written: one fsync of a whole large checkpoint
 * (~90 MB for a million objects) at the end occupied the disk long enough to hold up the group commits
 * of puts behind it.
 */
const FLUSH_AHEAD_BYTES = 8 << 20;

function checkpointName(seq: number): string {
  return String(seq).padStart(12, '0') + '.ckpt';
}

/**
 * Writes a checkpoint as it is encoded, a slice of rows at a time (one piece in memory, an event-loop
 * turn between slices), then makes it visible: fsync, rename, directory fsync; only then are older
 * checkpoints deleted. The sources must stay unchanged until this settles (the engine hands it snapshots).
 */
export async function writeCheckpoint(
  fs: FileSystem,
  dir: string,
  header: CheckpointHeader,
  sources: CheckpointSource[],
  uploads: CheckpointUpload[],
  configs: Buffer[] = [],
  versions = false,
): Promise<void> {
  const name = checkpointName(header.seq);
  const tmp = `${dir}/tmp/${name}`;
  // A file of this name can only be left from an attempt that failed in this process (tmp/ is emptied
  // at open): start over.
  if (await fs.exists(tmp)) await fs.unlink(tmp);
  const fh = await fs.open(tmp, 'create-new');
  try {
    let at = 0;
    let pieceStart = performance.now();
    const cutEarly = (): boolean => performance.now() - pieceStart >= ENCODE_SLICE_MS;
    let unsynced = 0;
    for (const piece of checkpointPieces(header, sources, uploads, configs, versions, ENCODE_SLICE_ROWS, cutEarly)) {
      await fh.writev([piece], at);
      at += piece.length;
      unsynced += piece.length;
      if (unsynced >= FLUSH_AHEAD_BYTES) {
        unsynced = 0;
        await fh.datasync();
      }
      // A turn of the event loop between pieces whatever the file system (one that completes writes in
      // microtasks would otherwise run the whole encoding as one task).
      await new Promise((resolve) => setImmediate(resolve));
      pieceStart = performance.now();
    }
  } finally {
    await fh.close();
  }
  await fs.syncFile(tmp);
  await fs.rename(tmp, `${dir}/checkpoints/${name}`);
  await fs.syncDir(`${dir}/checkpoints`);
  for (const old of await fs.readdir(`${dir}/checkpoints`)) {
    if (old !== name && old.endsWith('.ckpt')) await fs.unlink(`${dir}/checkpoints/${old}`);
  }
}

export interface CheckpointSink extends CheckpointVisitor {
  warn(message: string): void;
}

/**
 * Loads the newest valid checkpoint into `sink`; returns its header, or undefined if none is usable.
 * The whole-file hash is checked before the sink sees anything, so a damaged file leaves it untouched.
 */
export async function loadLatestCheckpoint(fs: FileSystem, dir: string, sink: CheckpointSink): Promise<CheckpointHeader | undefined> {
  const names = (await fs.readdir(`${dir}/checkpoints`)).filter((n) => /^\d{12}\.ckpt$/.test(n)).sort().reverse();
  for (const name of names) {
    // Read a window at a time: the file is ~100 bytes per object, and holding it whole at open added
    // its size to the process's peak memory.
    const fh = await fs.open(`${dir}/checkpoints/${name}`, 'read');
    try {
      const size = await fh.size();
      return await decodeCheckpointFrom({ size, read: (buf, off, len, pos) => fh.read(buf, off, len, pos) }, sink);
    } catch (err) {
      if (err instanceof FormatError) {
        if (/newer than supported/.test(err.message)) throw new SedimentError('SEDIMENT_FORMAT_VERSION', `checkpoint ${name}: ${err.message}`);
        if (/checksum|magic/.test(err.message)) {
          sink.warn(`ignoring damaged checkpoint ${name}: ${err.message}`);
          continue;
        }
      }
      throw err;
    } finally {
      await fh.close();
    }
  }
  return undefined;
}
