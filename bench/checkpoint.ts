// What a checkpoint of a large index costs the process that takes it: time, memory on top of the open
// index, the longest event-loop stall, and the slowest durable put issued meanwhile. Side by side for
// several builds on the same data directory (one is filled once, then every build opens it in turn).
//
//   node dist/bench/checkpoint.js DIR [--fill=1000000 [--versions=K]] [--rounds=3] [--engine=NAME=path/to/dist/src/index.js ...]
//   node dist/bench/checkpoint.js --encode=1000000      (the encoder alone, on synthetic rows)
//
// --fill=N fills DIR (which must not exist yet) with N × 64-byte objects first, as the engine bench's (d)
// does (durability 'none' for the fill only); with --versions=K the bucket is versioned and holds N / K
// keys of K versions each (the probe's overwrites then add versions). Without --engine the build this
// script belongs to is measured.
// Each round opens the directory in a fresh process per build (node --expose-gc; the open is timed and
// its peak RSS sampled), waits for a full GC, puts one new object (timed: the first after an open), then
// runs one checkpoint while a loop overwrites existing objects with 4 KiB ones, one after another
// (durable), and a 5 ms timer samples memory and timer lateness.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { logKey, piecePool, smallObject } from './data.js';
import { forEachConcurrent, markdownTable, fmt, machineInfo, describeMachine } from './setup.js';

interface Probe {
  checkpointMs: number;
  peakRssMiB: number;
  peakExternalMiB: number;
  peakHeapMiB: number;
  maxLagMs: number;
  puts: number;
  maxPutMs: number;
  rssAfterOpenMiB: number;
  firstNewPutMs: number;
  firstNewArrayBuffersMiB: number;
  openMs: number;
  openPeakRssMiB: number;
}

type EngineModule = typeof import('../src/index.js');

const MiBf = 1 << 20;

/** One measurement, in this process (run as a child: `--probe`). */
async function probe(dir: string, modulePath: string): Promise<Probe> {
  const { Engine } = (await import(pathToFileURL(modulePath).href)) as EngineModule;
  // The open itself: its time and the peak RSS while it runs (the checkpoint load is the bulk of it).
  const rssBeforeOpen = process.memoryUsage().rss;
  let openPeakRss = rssBeforeOpen;
  const openTimer = setInterval(() => void (openPeakRss = Math.max(openPeakRss, process.memoryUsage().rss)), 5);
  const tOpen = performance.now();
  const e = await Engine.open({ dir, onWarning: () => undefined });
  const openMs = performance.now() - tOpen;
  clearInterval(openTimer);
  openPeakRss = Math.max(openPeakRss, process.memoryUsage().rss);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  // The first new object after an open: the table was sized exactly by the checkpoint load, so this is
  // where it grows.
  const firstBase = process.memoryUsage().arrayBuffers;
  const tFirst = performance.now();
  await e.putObject('bench', `checkpoint-probe/new/${process.pid}`, Buffer.alloc(64, 0x62));
  const firstNewPutMs = performance.now() - tFirst;
  const firstNewArrayBuffersMiB = (process.memoryUsage().arrayBuffers - firstBase) / MiBf;
  gc?.();
  const base = process.memoryUsage();
  const peak = { rss: base.rss, external: base.external, heap: base.heapUsed };
  let maxLag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.external = Math.max(peak.external, m.external);
    peak.heap = Math.max(peak.heap, m.heapUsed);
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 5);
    last = now;
  }, 5);
  let stop = false;
  let puts = 0;
  let maxPut = 0;
  const body = Buffer.alloc(4096, 0x61);
  const loop = (async () => {
    while (!stop) {
      const t = performance.now();
      // Overwrites of existing objects: a new key could make the object table grow (a copy of every
      // column, measured apart from the checkpoint), and each overwrite makes the checkpoint's view keep a row.
      await e.putObject('bench', logKey(puts++ * 997), body);
      maxPut = Math.max(maxPut, performance.now() - t);
    }
  })();
  const t0 = performance.now();
  await e.checkpoint();
  const checkpointMs = performance.now() - t0;
  stop = true;
  await loop;
  clearInterval(timer);
  await e.close();
  return {
    checkpointMs,
    peakRssMiB: (peak.rss - base.rss) / MiBf,
    peakExternalMiB: (peak.external - base.external) / MiBf,
    peakHeapMiB: (peak.heap - base.heapUsed) / MiBf,
    maxLagMs: maxLag,
    puts,
    maxPutMs: maxPut,
    rssAfterOpenMiB: base.rss / MiBf,
    firstNewPutMs,
    firstNewArrayBuffersMiB,
    openMs,
    openPeakRssMiB: openPeakRss / MiBf,
  };
}

/** `versions` > 1: a versioned bucket where each key has that many versions (count / versions keys). */
async function fill(dir: string, count: number, versions: number): Promise<void> {
  const { Engine } = await import('../src/index.js');
  const pool = piecePool('log', 4, MiBf, 3);
  const e = await Engine.open({ dir, durability: 'none' });
  await e.createBucket('bench');
  if (versions > 1) await e.setBucketVersioning('bench', 'Enabled');
  const keys = Math.ceil(count / versions);
  const t0 = performance.now();
  // Round by round, so that a key's versions are not written concurrently.
  for (let v = 0; v < versions; v++) {
    const n = Math.min(keys, count - v * keys);
    await forEachConcurrent(n, 256, async (i) => void (await e.putObject('bench', logKey(i), smallObject(pool, i + v * keys, 64))));
  }
  await e.close();
  console.log(`filled ${dir} with ${count} objects (${versions > 1 ? `${keys} keys × ${versions} versions` : 'one version each'}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** `--encode=N`: the checkpoint encoder alone, N synthetic rows, four rounds in this process. */
async function encodeOnly(n: number): Promise<void> {
  const { checkpointPieces } = await import('../src/format/checkpoint.js');
  const { initHash } = await import('../src/format/hash.js');
  await initHash();
  const keys = Array.from({ length: n }, (_, i) => logKey(i));
  const entry = { seq: 0, segmentId: 7, commitOffset: 0, commitLen: 300, size: 64, mtimeMs: 1_764_000_000_000, md5: Buffer.alloc(16, 9), partCount: 0, storageClass: 0, flags: 0, versionId: '' };
  function* rows(): Generator<[string, typeof entry]> {
    const pair: [string, typeof entry] = ['', entry];
    for (let i = 0; i < n; i++) {
      pair[0] = keys[i]!;
      entry.seq = i + 1;
      entry.commitOffset = i * 300;
      yield pair;
    }
  }
  for (let round = 1; round <= 4; round++) {
    const t0 = performance.now();
    let bytes = 0;
    const source = { bucket: { name: 'bench', createdMs: 0, region: 'us-east-1', flags: 0, seq: 1 }, objectCount: n, objects: rows() };
    for (const piece of checkpointPieces({ seq: 1, replaySegmentId: 1, replayOffset: 64, createdMs: 0 }, [source], [], [], false, 2048)) bytes += piece.length;
    const ms = performance.now() - t0;
    console.log(`round ${round}: encoded ${n} rows (${fmt(bytes / 1e6)} MB) in ${fmt(ms)} ms, ${fmt((ms * 1000) / n, 2)} µs a row`);
  }
}

function usage(problem: string): never {
  console.error(`checkpoint bench: ${problem}\nusage: node dist/bench/checkpoint.js DIR [--fill=N [--versions=K]] [--rounds=N] [--engine=NAME=path/to/dist/src/index.js ...]`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--probe') {
    const [, dir, modulePath] = args;
    process.stdout.write(JSON.stringify(await probe(dir!, modulePath!)));
    return;
  }
  const encode = /^--encode=(\d+)$/.exec(args[0] ?? '');
  if (encode) {
    await encodeOnly(Number(encode[1]));
    return;
  }
  const dir = args.find((a) => !a.startsWith('--'));
  if (!dir) usage('no data directory given');
  let rounds = 3;
  let fillCount: number | undefined;
  let versions = 1;
  const engines: Array<{ name: string; path: string }> = [];
  for (const a of args.filter((x) => x.startsWith('--'))) {
    const m = /^--(fill|rounds|versions)=(\d+)$/.exec(a);
    if (m) {
      if (m[1] === 'fill') fillCount = Number(m[2]);
      else if (m[1] === 'versions') versions = Number(m[2]);
      else rounds = Number(m[2]);
      continue;
    }
    const en = /^--engine=([^=]+)=(.+)$/.exec(a);
    if (en) {
      engines.push({ name: en[1]!, path: en[2]! });
      continue;
    }
    usage(`unknown option ${a}`);
  }
  if (engines.length === 0) engines.push({ name: 'this build', path: fileURLToPath(new URL('../src/index.js', import.meta.url)) });
  if (fillCount !== undefined) {
    if (existsSync(dir)) usage(`${dir} exists: --fill needs a new directory`);
    await fill(dir, fillCount, versions);
  } else if (!existsSync(dir)) usage(`${dir} does not exist (use --fill=N to create it)`);

  console.log(describeMachine(machineInfo()));
  const rows: Array<Array<string | number>> = [];
  for (let r = 1; r <= rounds; r++) {
    for (const en of engines) {
      const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--probe', dir, en.path], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) throw new Error(`probe of ${en.name} failed (${child.status}): ${child.stderr}`);
      const p = JSON.parse(child.stdout) as Probe;
      rows.push([r, en.name, fmt(p.openMs), fmt(p.openPeakRssMiB), fmt(p.rssAfterOpenMiB), fmt(p.firstNewPutMs, 1), fmt(p.firstNewArrayBuffersMiB), fmt(p.checkpointMs), fmt(p.peakRssMiB), fmt(p.peakExternalMiB), fmt(p.peakHeapMiB), fmt(p.maxLagMs, 1), p.puts, fmt(p.maxPutMs, 1)]);
      console.log(`round ${r}, ${en.name}: ${JSON.stringify(p)}`);
    }
  }
  console.log(
    markdownTable(
      ['round', 'build', 'open, ms', 'peak RSS during open, MiB', 'RSS after open (after a full GC), MiB', 'first new object after open: put, ms', '… ArrayBuffers added, MiB', 'checkpoint, ms', 'peak RSS added, MiB', 'peak external added, MiB', 'peak heap added, MiB', 'longest timer delay, ms', 'puts meanwhile', 'slowest put, ms'],
      rows,
    ),
  );
}

await main();
