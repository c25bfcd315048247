// How the CLI turns any failure into exactly one line on stderr and an exit code. Exit 1 means the
// operation failed; exit 2 means the command line was wrong (bad arguments, a path without a bucket,
// an unknown command). Stack traces are never printed: engine errors carry a clear `message`, and
// anything else is reduced to its message.
import { CommanderError } from 'commander';
import { isSedimentError, type ErrorCode } from '../index.js';
import { describeRangeFailure } from './range.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake on the command line, found by the CLI itself. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An operation failed for a reason the CLI found itself (exit 1). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Engine codes that mean "the argument is wrong", not "the operation failed". */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SEDIMENT_INVALID_BUCKET_NAME',
  'SEDIMENT_INVALID_KEY',
  'SEDIMENT_KEY_TOO_LONG',
  'SEDIMENT_METADATA_TOO_LARGE',
  'SEDIMENT_INVALID_ARGUMENT',
]);

export interface Failure {
  /** One line without the "sediment: " prefix; undefined when nothing should be printed. */
  message: string | undefined;
  exitCode: number;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Node system errors (ENOENT, EACCES, ...) as "PATH: reason", without the syscall noise. */
function describeSystemError(err: NodeJS.ErrnoException): string {
  const reason = err.message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*'$/, '');
  return err.path ? `${err.path}: ${reason}` : reason;
}

function fromCommander(err: CommanderError): Failure {
  if (err.exitCode === 0) return { message: undefined, exitCode: EXIT_OK }; // --help, help, --version
  if (err.code === 'commander.help') {
    // Help shown because no command was given: replace the help page by one line.
    return { message: 'missing command (run "sediment --help" for the list)', exitCode: EXIT_USAGE };
  }
  return { message: oneLine(err.message.replace(/^error: /, '')), exitCode: EXIT_USAGE };
}

export function describeFailure(err: unknown): Failure {
  if (err instanceof CommanderError) return fromCommander(err);
  if (err instanceof UsageError) return { message: oneLine(err.message), exitCode: EXIT_USAGE };
  if (err instanceof CliError) return { message: oneLine(err.message), exitCode: EXIT_FAILURE };
  if (isSedimentError(err)) {
    let message = err.message;
    if (err.code === 'SEDIMENT_INVALID_RANGE') message = describeRangeFailure(message);
    if (err.code === 'SEDIMENT_LOCKED') {
      message += '; another process (for example a running "sediment serve") holds the directory';
    }
    return { message: oneLine(message), exitCode: USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILURE };
  }
  const sys = err as NodeJS.ErrnoException | undefined;
  if (sys instanceof Error && sys.code === 'EPIPE') {
    // The reader of our output went away (`sediment get ... | head`): nothing useful to say.
    return { message: undefined, exitCode: EXIT_FAILURE };
  }
  if (sys instanceof Error && typeof sys.code === 'string' && typeof sys.errno === 'number') {
    return { message: oneLine(describeSystemError(sys)), exitCode: EXIT_FAILURE };
  }
  if (err instanceof Error) {
    const prefix = err.name === 'AssertionError' ? 'internal error: ' : '';
    return { message: oneLine(prefix + err.message), exitCode: EXIT_FAILURE };
  }
  return { message: oneLine(String(err)), exitCode: EXIT_FAILURE };
}
