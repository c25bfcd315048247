#!/usr/bin/env node
// Entry point of the `sediment` command. Whatever happens, the user sees at most one line on stderr
// per failure ("sediment: <message>") and an exit status: 0 success, 1 the operation failed,
// 2 bad command line. Stack traces are never printed, not even for unexpected errors: the handlers are
// installed before anything else is loaded, and the rest of the CLI (and the engine) is imported
// dynamically so that even a broken installation fails with one line.

function fallbackMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

async function report(err: unknown): Promise<number> {
  let message: string | undefined;
  let exitCode = 1;
  try {
    const { describeFailure } = await import('./errors.js');
    ({ message, exitCode } = describeFailure(err));
  } catch {
    message = fallbackMessage(err);
  }
  if (message !== undefined) process.stderr.write(`sediment: ${message}\n`);
  return exitCode;
}

process.on('uncaughtException', (err) => void report(err).then((code) => process.exit(code)));
process.on('unhandledRejection', (err) => void report(err).then((code) => process.exit(code)));

try {
  const { buildProgram } = await import('./program.js');
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = await report(err);
}
