// Writing and loading index checkpoints (docs/FORMAT.md §4). A checkpoint becomes visible atomically:
// tmp file, fsync, rename, directory fsync; only then are older ones deleted.
import { FormatError } from '../format/binary.js';
import {
  decodeCheckpoint,
  checkpointEncoder,
  type CheckpointBucket,
  type CheckpointHeader,
  type CheckpointSource,
  type CheckpointUpload,
  type CheckpointVisitor,
} from '../format/checkpoint.js';
import type { FileSystem } from '../io/types.js';
import { SedimentError } from '../util/errors.js';

/** Index rows encoded per event-loop turn (~3 ms of work on this machine). */
const ENCODE_SLICE_ROWS = 2048;

function checkpointName(seq: number): string {
  return String(seq).padStart(12, '0') + '.ckpt';
}

export async function writeCheckpoint(
  fs: FileSystem,
  dir: string,
  header: CheckpointHeader,
  sources: CheckpointSource[],
  uploads: CheckpointUpload[],
  configs: Buffer[] = [],
  versions = false,
): Promise<void> {
  // Encoded a slice at a time between event-loop turns: the sources are snapshots (see the engine).
  const steps = checkpointEncoder(header, sources, uploads, configs, versions, ENCODE_SLICE_ROWS);
  let bytes: Buffer;
  for (;;) {
    const r = steps.next();
    if (r.done) {
      bytes = r.value;
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const name = checkpointName(header.seq);
  const tmp = `${dir}/tmp/${name}`;
  await fs.writeFile(tmp, bytes);
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
    const buf = await fs.readFile(`${dir}/checkpoints/${name}`);
    try {
      return decodeCheckpoint(buf, sink);
    } catch (err) {
      if (err instanceof FormatError) {
        if (/newer than supported/.test(err.message)) throw new SedimentError('SEDIMENT_FORMAT_VERSION', `checkpoint ${name}: ${err.message}`);
        if (/checksum|magic/.test(err.message)) {
          sink.warn(`ignoring damaged checkpoint ${name}: ${err.message}`);
          continue;
        }
      }
      throw err;
    }
  }
  return undefined;
}
