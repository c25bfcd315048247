// Failures of the load generator's HTTP transport, by kind, so a run can count them apart from bad
// statuses and bad bytes. `retryable` marks a request that failed on a reused keep-alive connection
// before any response byte arrived (the server had closed it while idle): sending it again is safe.

export type TransportErrorKind = 'network' | 'timeout' | 'protocol';

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}
