// The model of the crash tests whose child process logs `start KEY MD5|- SIZE` before and `ack KEY MD5|-`
// after each put or delete (test/helpers/crash-writer.mjs, crash-compactor.mjs): after a SIGKILL, a key may
// hold its last acknowledged state, or the new state of an operation that started and was not
// acknowledged — nothing else.
import { expect } from 'vitest';

/** The child's name for "no object". */
export const DELETED = '-';

/** Key → the states it may hold now, from the child's log and the states verified before this round. */
export function allowedStates(lines: string[], before: Map<string, string>): Map<string, Set<string>> {
  const settled = new Map(before);
  const open = new Map<string, string>();
  for (const l of lines) {
    const [what, key, md5] = l.split(' ');
    if (what === 'start') open.set(key, md5);
    else if (what === 'ack') {
      expect(open.get(key), `ack without start: ${l}`).toBe(md5);
      open.delete(key);
      settled.set(key, md5);
    }
  }
  const allowed = new Map<string, Set<string>>();
  for (const key of new Set([...settled.keys(), ...open.keys()])) {
    const s = new Set<string>([settled.get(key) ?? DELETED]);
    if (open.has(key)) s.add(open.get(key)!);
    allowed.set(key, s);
  }
  return allowed;
}
