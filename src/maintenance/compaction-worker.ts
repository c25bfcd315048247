// piscina worker for compaction copies, census tables, scrub scans, dictionary-id scans and cold-segment builds (migration) on a real disk. Tasks name files by path; the
// worker opens them itself (file handles cannot cross threads) and returns only small results, or a
// census table whose one buffer is transferred, not copied.
import { move, transferableSymbol, valueSymbol } from 'piscina';

import { markLoaded } from '../engine/worker-loaded.js';
import { initHash } from '../format/hash.js';
import { RealFileSystem } from '../io/real-fs.js';
import { buildSegmentTable, type CensusTask, type CensusTaskResult } from './census-table.js';
import { runColdBuild, type ColdBuildTask } from './cold-build.js';
import { copyRecords, scrubFile, type CopyTask, type ScrubTask } from './copy-records.js';
import { dictionaryIdsOf, type DictionaryIdsTask } from './dictionary-gc.js';

// No top-level await in a worker file (see chunk-worker.ts): xxh64 is awaited by the first task instead.
const hashInit = initHash();
const fs = new RealFileSystem();

/** A result piscina posts with its table's buffer in the transfer list. */
function moved(r: CensusTaskResult): unknown {
  if (r.unchanged) return r;
  return move({
    get [transferableSymbol]() {
      return [r.table.buffer];
    },
    get [valueSymbol]() {
      return r;
    },
  });
}

export default async function run(task: CopyTask | ScrubTask | ColdBuildTask | CensusTask | DictionaryIdsTask): Promise<unknown> {
  await hashInit;
  if (task.kind === 'dict-ids') return dictionaryIdsOf(fs, task.path);
  if (task.kind === 'cold-build') return runColdBuild(task);
  if (task.kind === 'census') return moved(await buildSegmentTable(fs, task, () => undefined));
  return task.kind === 'copy' ? copyRecords(fs, task) : scrubFile(fs, task);
}

// Last: the module is evaluated (worker-loaded.ts).
markLoaded();
