// The S3 load generator: the public surface for benches and, later, the `sediment bench` command.
// Layering: uses src/s3's SigV4 primitives and URI encoding (client side only); nothing imports it but
// bench/, test/ and the CLI.
export { DATA_KINDS, type DataKind, type DataSpec, ObjectVerifier, objectPieces, objectBody, dataPool } from './data.js';
export { LatencyHistogram, type LatencySummary } from './histogram.js';
export { WORKLOADS, type Workload, type WorkloadOptions, validateOptions, objectKeySuffix } from './options.js';
export { runWorkload, prepareObjects, type WorkloadResult, type OperationResult, type Progress, type RunHooks } from './run-workload.js';
export { OPERATION_KINDS, type OperationKind } from './lanes.js';
export { S3LoadClient, OperationError, type OperationErrorKind, type S3Endpoint } from './s3-client.js';
export { formatSummary } from './summary.js';
export { HTTP_CLIENTS, type HttpClientKind } from './transport.js';
