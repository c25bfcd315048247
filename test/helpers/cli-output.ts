// What every failing CLI command must print: exactly one "sediment: ..." line on stderr, no stack trace,
// and the exit status the failure calls for (2 bad command line, 1 the operation failed).
import { expect } from 'vitest';

export function expectOneLineFailure(r: { code?: number | null; status?: number | null; stderr: string }, exitCode: number, pattern: RegExp): void {
  expect(r.code ?? r.status, r.stderr).toBe(exitCode);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^sediment: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
