// The yardsticks the engine bench compares against, run in the same process and on the same bytes:
// - one file per object with fdatasync each (how uploads land on a plain server disk),
// - one plain sequential file write + fdatasync (what the disk can take),
// - the zstd CLI at the same level on one thread (what compression alone costs).
// Every file written is fdatasync'd and its directory fsync'd, as the engine does for its segments.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import * as path from 'node:path';

import { forEachConcurrent } from './setup.js';

/** fsync a directory so the names created in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates the directories of `files` (untimed setup: an upload target's directories already exist). */
export async function prepareDirs(root: string, files: string[]): Promise<string[]> {
  const dirs = [...new Set(files.map((f) => path.dirname(path.join(root, f))))];
  for (const d of dirs) await mkdir(d, { recursive: true });
  return dirs;
}

/**
 * Writes each object to its own new file: open(O_CREAT|O_TRUNC), write, fdatasync, close, at most
 * `concurrency` at a time; then fsyncs every directory that received files, and the root.
 */
export async function writeFilePerObject(
  root: string,
  names: string[],
  dirs: string[],
  body: (i: number) => Buffer,
  concurrency: number,
): Promise<void> {
  await forEachConcurrent(names.length, concurrency, async (i) => {
    const data = body(i);
    const fh = await open(path.join(root, names[i]), 'w');
    try {
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done, done)).bytesWritten;
      await fh.datasync();
    } finally {
      await fh.close();
    }
  });
  for (const d of dirs) await syncDir(d);
  await syncDir(root);
}

/** Reads every file back, at most `concurrency` at a time; returns the byte count. */
export async function readFilePerObject(root: string, names: string[], concurrency: number): Promise<number> {
  let bytes = 0;
  await forEachConcurrent(names.length, concurrency, async (i) => {
    const n = (await readFile(path.join(root, names[i]))).length;
    bytes += n;
  });
  return bytes;
}

/** Writes `pieces` sequentially into a new file, then fdatasync + directory fsync. Returns bytes written. */
export async function writeSequential(file: string, pieces: Iterable<Buffer>): Promise<number> {
  const fh = await open(file, 'w');
  let pos = 0;
  try {
    for (const p of pieces) {
      let done = 0;
      while (done < p.length) done += (await fh.write(p, done, p.length - done, pos + done)).bytesWritten;
      pos += p.length;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await syncDir(path.dirname(file));
  return pos;
}

/** The zstd CLI to run: $SEDIMENT_ZSTD or `zstd` on PATH. */
export function zstdCommand(): string {
  return process.env.SEDIMENT_ZSTD ?? 'zstd';
}

/** `zstd --version`, or undefined when the CLI cannot run. */
export async function zstdVersion(): Promise<string | undefined> {
  try {
    const { stdout, code } = await run(zstdCommand(), ['--version'], 'pipe');
    return code === 0 ? stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Times `zstd -<level> -T1 -c FILE` with stdout discarded (the file is in the page cache: it was just
 * written). It runs under `sh -c '…; times'` so the CPU time of zstd is known too (-T1 still has an I/O
 * thread next to the compression thread). With `countOutput` the output is piped here and counted instead
 * (for the ratio, not timed).
 */
export async function zstdCompressFile(file: string, level: number, countOutput = false): Promise<{ ms: number; cpuMs?: number; outBytes?: number }> {
  if (countOutput) {
    const r = await run(zstdCommand(), [`-${level}`, '-T1', '-q', '-c', file], 'count');
    if (r.code !== 0) throw new Error(`zstd exited with ${r.code}: ${r.stderr.trim()}`);
    return { ms: 0, outBytes: r.outBytes };
  }
  const script = '"$0" "$1" -T1 -q -c "$2" > /dev/null || exit $?; times';
  const t0 = performance.now();
  const r = await run('sh', ['-c', script, zstdCommand(), `-${level}`, file], 'pipe');
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`zstd exited with ${r.code}: ${r.stderr.trim()}`);
  return { ms, cpuMs: childCpuMs(r.stdout) };
}

/** The children's user + system time from the second line of `times` ("0m1.330s 0m0.370s"). */
function childCpuMs(timesOutput: string): number | undefined {
  const line = timesOutput.trim().split('\n')[1];
  const m = line ? /^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(line.trim()) : null;
  if (!m) return undefined;
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

function run(cmd: string, args: string[], stdout: 'ignore' | 'pipe' | 'count'): Promise<{ code: number | null; stdout: string; stderr: string; outBytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let outBytes = 0;
    child.stdout?.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (stdout === 'pipe') out += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => void (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out, stderr: err, outBytes }));
  });
}
