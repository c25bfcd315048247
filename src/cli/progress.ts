// A one-line progress indicator for long work, redrawn in place with '\r' on stderr. It is drawn only
// when stderr is a terminal (never into logs or pipes) and not with --quiet, and is erased when done so
// the report that follows starts on a clean line.
import type { CliContext } from './context.js';
import { formatBytes } from './format.js';

const REDRAW_INTERVAL_MS = 100;

export interface Progress {
  update(doneBytes: number, totalBytes: number): void;
  finish(): void;
}

export function byteProgress(ctx: CliContext, label: string): Progress {
  return progressLine(ctx, label, formatBytes);
}

/** As byteProgress, for counts of things (`label: 40% (400 of 1000 objects)`). */
export function countProgress(ctx: CliContext, label: string, unit: string): Progress {
  return progressLine(ctx, label, (n) => `${n}`, ` ${unit}`);
}

function progressLine(ctx: CliContext, label: string, format: (n: number) => string, unit = ''): Progress {
  if (ctx.quiet || !ctx.stderr.isTTY) return { update: () => undefined, finish: () => undefined };
  let lastDrawMs = 0;
  let drawn = false;
  return {
    update(doneBytes, totalBytes) {
      const now = Date.now();
      if (now - lastDrawMs < REDRAW_INTERVAL_MS && doneBytes < totalBytes) return;
      lastDrawMs = now;
      const pct = totalBytes > 0 ? Math.min(100, Math.floor((doneBytes / totalBytes) * 100)) : 100;
      ctx.stderr.write(`\r\x1b[K${label}: ${pct}% (${format(doneBytes)} of ${format(totalBytes)}${unit})`);
      drawn = true;
    },
    finish() {
      if (drawn) ctx.stderr.write('\r\x1b[K');
    },
  };
}
