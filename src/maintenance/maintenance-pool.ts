// Runs compaction copies, census tables and scrub scans in piscina workers when the engine is on the real file system
// and the compiled worker exists; inline otherwise (the in-memory file system lives in this thread).
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { LoadCounter } from '../engine/worker-loaded.js';
import { RealFileSystem } from '../io/real-fs.js';
import type { FileSystem } from '../io/types.js';
import { buildSegmentTable, type CensusTask, type CensusTaskResult, type Tick } from './census-table.js';
import { buildColdSegment, type ColdBuildResult, type ColdBuildTask } from './cold-build.js';
import { copyRecords, scrubFile, type CopyResult, type CopyTask, type ScrubResult, type ScrubTask } from './copy-records.js';
import { dictionaryIdsOf, type DictionaryIdsResult, type DictionaryIdsTask } from './dictionary-gc.js';

async function workerPath(): Promise<string | undefined> {
  const here = fileURLToPath(import.meta.url);
  const candidate = here.endsWith('.ts')
    ? here.replace(/\/src\/maintenance\/maintenance-pool\.ts$/, '/dist/src/maintenance/compaction-worker.js')
    : here.replace(/maintenance-pool\.js$/, 'compaction-worker.js');
  return (await new RealFileSystem().exists(candidate)) ? candidate : undefined;
}

export class MaintenancePool {
  private pool: Piscina | undefined;
  /** The pool's threads that have loaded their module (engine/worker-loaded.ts). */
  private readonly loads = new LoadCounter();
  private filename: Promise<string | undefined> | undefined;

  constructor(
    private readonly fs: FileSystem,
    readonly threads: number,
  ) {}

  /** The worker file, or undefined for inline work. Threads start on first use. */
  private workers(): Promise<Piscina | undefined> {
    this.filename ??= this.threads > 0 && this.fs instanceof RealFileSystem ? workerPath() : Promise.resolve(undefined);
    return this.filename.then((filename) => {
      if (filename === undefined) return undefined;
      // No histograms read (recordTiming off).
      this.pool ??= new Piscina({ filename, minThreads: 0, maxThreads: this.threads, idleTimeout: 10_000, recordTiming: false, workerData: this.loads.workerData() });
      return this.pool;
    });
  }

  async usingWorkers(): Promise<boolean> {
    return (await this.workers()) !== undefined;
  }

  async copy(task: CopyTask): Promise<CopyResult> {
    const pool = await this.workers();
    return pool ? ((await pool.run(task)) as CopyResult) : copyRecords(this.fs, task);
  }

  async scrub(task: ScrubTask): Promise<ScrubResult> {
    const pool = await this.workers();
    return pool ? ((await pool.run(task)) as ScrubResult) : scrubFile(this.fs, task);
  }

  /** The dictionary ids one sealed file's frames name (dictionary-gc.ts). */
  async dictionaryIds(task: DictionaryIdsTask): Promise<DictionaryIdsResult> {
    const pool = await this.workers();
    return pool ? ((await pool.run(task)) as DictionaryIdsResult) : dictionaryIdsOf(this.fs, task.path);
  }

  /**
   * Builds one file's census table; a worker transfers the table's buffer back (no copy). Inline, the
   * build yields through `tick` like the rest of the census.
   */
  async census(task: CensusTask, tick: Tick): Promise<CensusTaskResult> {
    const pool = await this.workers();
    return pool ? ((await pool.run(task)) as CensusTaskResult) : buildSegmentTable(this.fs, task, tick);
  }

  /** Recompresses frames into a cold segment; `task.packed` is transferred to the worker and the segment back. */
  async coldBuild(task: ColdBuildTask): Promise<ColdBuildResult> {
    const pool = await this.workers();
    if (!pool) return buildColdSegment(task);
    return (await pool.run(task, { transferList: [task.packed.buffer as ArrayBuffer] })) as ColdBuildResult;
  }

  async close(): Promise<void> {
    // A thread cut short while loading its module would abort the process (engine/worker-loaded.ts).
    if (this.pool) await this.loads.settled(this.pool);
    await this.pool?.destroy();
    this.pool = undefined;
  }
}
