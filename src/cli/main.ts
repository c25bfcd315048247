#!/usr/bin/env node
// Entry point of the `sediment` command. Whatever happens, the user sees at most one line on stderr
// per failure ("sediment: <message>") and an exit status: 0 success, 1 the operation failed,
// 2 bad command line. Stack traces are never printed, not even for unexpected errors.
import { describeFailure } from './errors.js';
import { buildProgram } from './program.js';

function report(err: unknown): number {
  const failure = describeFailure(err);
  if (failure.message !== undefined) process.stderr.write(`sediment: ${failure.message}\n`);
  return failure.exitCode;
}

process.on('uncaughtException', (err) => process.exit(report(err)));
process.on('unhandledRejection', (err) => process.exit(report(err)));

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err);
}
