// sediment's public API: the embeddable engine and its types.
export { Engine } from './engine/engine.js';
export type * from './engine/types.js';
export type { Durability } from './engine/segment-writer.js';
export type { Damage } from './engine/segment-scan.js';
export { SedimentError, CorruptionError, isSedimentError, type ErrorCode, ErrorCodes } from './util/errors.js';
export { bucketNameProblem, KEY_BYTES_MAX, USER_METADATA_BYTES_MAX } from './engine/names.js';
export { MemoryFileSystem } from './io/memory-fs.js';
export { RealFileSystem } from './io/real-fs.js';
export type { FileSystem, Clock } from './io/types.js';
export { Compactor, type CompactionSettings, type PassStats, type PassOptions, type DamagedRecord } from './maintenance/compaction.js';
export { MaintenancePool } from './maintenance/maintenance-pool.js';
export { takeCensus, type Census, type SegmentAccount } from './maintenance/census.js';
export { Scrubber, type ScrubReport, type ScrubSettings } from './maintenance/scrub.js';
export { BackgroundMaintenance, type BackgroundSettings } from './maintenance/background.js';
export { readStatus, writeStatus, passLine, spaceSummary, scrubSummary, type MaintenanceStatus } from './maintenance/status.js';
