// piscina worker for compaction copies and scrub scans on a real disk. Tasks name files by path; the
// worker opens them itself (file handles cannot cross threads) and returns only small results.
import { initHash } from '../format/hash.js';
import { RealFileSystem } from '../io/real-fs.js';
import { copyRecords, scrubFile, type CopyTask, type ScrubTask } from './copy-records.js';

await initHash();
const fs = new RealFileSystem();

export default function run(task: CopyTask | ScrubTask): Promise<unknown> {
  return task.kind === 'copy' ? copyRecords(fs, task) : scrubFile(fs, task);
}
