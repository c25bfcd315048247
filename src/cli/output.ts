// Where the CLI's own words go: informational lines on stdout (silenced by --quiet), warnings on
// stderr (never silenced), and writes that respect a slow reader's backpressure.
import type { CliContext } from './context.js';

export function warn(ctx: CliContext, message: string): void {
  ctx.stderr.write(`sediment: warning: ${message}\n`);
}

/** Printed by every command that opens the data directory with --durability none. */
export function warnIfNotDurable(ctx: CliContext): void {
  if (ctx.durability === 'none') warn(ctx, '--durability none is for benchmarks only: acknowledged writes can be lost in a crash');
}

/** Prints an informational line unless --quiet. */
export function say(ctx: CliContext, line: string): void {
  if (!ctx.quiet) ctx.stdout.write(`${line}\n`);
}

/** Writes to a stream and waits for it to drain when its buffer is full (long listings to slow pipes). */
export async function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}
