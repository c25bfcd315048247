// Families of small objects for the dictionary tests (docs/FORMAT.md §2.7): log lines (the bench's
// generator) and JSON events that share nothing with them, so a dictionary cut from one family saves the
// other nothing and a bucket that moves from one to the other gets a new dictionary.
import { logText } from '../../bench/data.js';
import { Engine, type EngineOptions, type FileSystem } from '../../src/index.js';
import { mulberry32 } from './prng.js';

/** `n` consecutive `size`-byte pieces of one seeded log stream (the bench's generator). */
export function logObjects(n: number, seed: number, size = 4096): Buffer[] {
  const all = logText(n * size, seed);
  return Array.from({ length: n }, (_, i) => all.subarray(i * size, (i + 1) * size));
}

// JSON events over a vocabulary of 80 product words: each 1 KiB object uses a few dozen of them once,
// so a dictionary cut from other events saves a lot, and the log lines' dictionary nothing.
const vocab = Array.from(
  { length: 80 },
  (_, i) => `${['ultra', 'mega', 'eco', 'smart', 'retro'][i % 5]}${['kettle', 'lantern', 'backpack', 'blender', 'headset', 'scooter', 'monitor', 'toaster'][i % 8]}${i}`,
);

/** `n` 1 KiB objects of JSON events. */
export function jsonObjects(n: number, seed: number): Buffer[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const out = Buffer.alloc(1024);
    for (let at = 0; at < out.length; ) {
      at += out.write(`{"event":"${rng.pick(['viewed', 'carted', 'bought'])}","item":"${rng.pick(vocab)}","with":"${rng.pick(vocab)}","n":${rng.int(0, 9)}}\n`, at);
    }
    return out;
  });
}

/** An engine on `fs` at `dir` as the dictionary tests open it: inline framing, 1 MiB segments, warnings kept. */
export function openDictEngine(fs: FileSystem, dir: string, opts: Partial<EngineOptions> = {}, warnings: string[] = []): Promise<Engine> {
  return Engine.open({ dir, fs, workerThreads: 0, segmentBytesMax: 1 << 20, onWarning: (m) => warnings.push(m), ...opts });
}
