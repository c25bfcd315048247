// piscina worker for compaction copies, scrub scans and cold-segment builds (migration) on a real disk. Tasks name files by path; the
// worker opens them itself (file handles cannot cross threads) and returns only small results.
import { initHash } from '../format/hash.js';
import { RealFileSystem } from '../io/real-fs.js';
import { runColdBuild, type ColdBuildTask } from './cold-build.js';
import { copyRecords, scrubFile, type CopyTask, type ScrubTask } from './copy-records.js';

await initHash();
const fs = new RealFileSystem();

export default async function run(task: CopyTask | ScrubTask | ColdBuildTask): Promise<unknown> {
  if (task.kind === 'cold-build') return runColdBuild(task);
  return task.kind === 'copy' ? copyRecords(fs, task) : scrubFile(fs, task);
}
