// Copying a request body's pieces into a chunk buffer (shared memory, src/engine/chunk-buffers.ts), as a
// large PUT does (src/engine/chunk-writer.ts): Buffer.copy against the addon's copyBytes (memmove), into
// a SharedArrayBuffer and into plain memory, with the pieces landing at offsets aligned to 8 bytes and
// not. The target cycles through 64 chunk buffers of 1 MiB (cache-cold, as in the server); the source is
// one piece, cache-hot (the HTTP parser has just written it). Side by side in one process.
//
// Run: npx tsc -p tsconfig.json && node dist/bench/copy.bench.js

import * as os from 'node:os';
import { pathToFileURL } from 'node:url';

import { Bench } from 'tinybench';

import { copyBytes, nativeAddon } from '../src/native/index.js';
import { fmt, markdownTable, quickMode } from './setup.js';

const CHUNK = 1 << 20;
const BUFFERS = 64;

export interface CopyRow {
  task: string;
  msPerMiB: number;
}

export async function runCopyBench(quick = quickMode()): Promise<{ rows: CopyRow[]; markdown: string }> {
  const bench = new Bench({ time: quick ? 150 : 500, warmupTime: quick ? 50 : 150 });
  const shared = Array.from({ length: BUFFERS }, () => Buffer.from(new SharedArrayBuffer(CHUNK)).fill(1));
  const plain = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafeSlow(CHUNK).fill(1));
  const bytesPerRun = new Map<string, number>();
  for (const piece of [65_536, 16_384, 1500]) {
    const src = Buffer.alloc(piece, 7);
    for (const [memory, targets] of [['shared', shared], ['plain', plain]] as const) {
      // Aligned: every piece lands at a multiple of 8. Unaligned: the first at offset 3, so all are off by 3.
      for (const shift of [0, 3]) {
        for (const how of ['Buffer.copy', 'copyBytes'] as const) {
          if (how === 'copyBytes' && nativeAddon?.copyBytes === undefined) continue;
          const task = `${fmt(piece)} B pieces into ${memory} memory, ${shift === 0 ? 'aligned' : 'unaligned'}: ${how}`;
          let k = 0;
          const per = Math.floor((CHUNK - shift) / piece);
          bytesPerRun.set(task, per * piece);
          bench.add(task, () => {
            const dst = targets[k++ % BUFFERS]!;
            if (how === 'Buffer.copy') for (let i = 0; i < per; i++) src.copy(dst, shift + i * piece);
            else for (let i = 0; i < per; i++) copyBytes(dst, shift + i * piece, src);
          });
        }
      }
    }
  }
  await bench.run();
  const rows: CopyRow[] = [];
  for (const t of bench.tasks) {
    if (t.result.state !== 'completed') throw new Error(`copy bench task "${t.name}" did not complete (${t.result.state})`);
    rows.push({ task: t.name, msPerMiB: (t.result.latency.mean * CHUNK) / bytesPerRun.get(t.name)! });
  }
  const markdown = markdownTable(['task', 'ms per MiB'], rows.map((r) => [r.task, r.msPerMiB.toFixed(3)]));
  return { rows, markdown };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`CPU: ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} logical); Node ${process.version}`);
  const { markdown } = await runCopyBench();
  console.log(markdown);
}
