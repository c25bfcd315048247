// Worker files must load with require(): piscina require()s a worker file first. A worker module with
// top-level await fails that on Node 20 (ERR_REQUIRE_ASYNC_MODULE), piscina then import()s it, and a
// second handler lookup during that import re-enters require() on the half-loaded module, which aborts
// the whole process ("FATAL ERROR: v8::Module::IsGraphAsync", seen once in a soak run). The compiled
// files (dist/, built by `npm ci`) are what piscina loads, so they are what is checked here.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const workers = ['../dist/src/engine/chunk-worker.js', '../dist/src/engine/md5-worker.js', '../dist/src/maintenance/compaction-worker.js'].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);

describe('piscina worker modules', () => {
  it.each(workers)('%s loads with require() (no top-level await)', (file) => {
    expect(existsSync(file), `${file} is missing: run \`npx tsc -p tsconfig.json\` before the tests`).toBe(true);
    const code = `try { require(${JSON.stringify(file)}); console.log('loaded'); } catch (e) { console.log(e.code ?? e.message); }`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    // 'loaded' where require(esm) exists (Node 20.19+); a Node without it refuses every ESM file the same
    // way (ERR_REQUIRE_ESM) and piscina only ever import()s. Never ERR_REQUIRE_ASYNC_MODULE.
    expect(['loaded', 'ERR_REQUIRE_ESM']).toContain(r.stdout.trim());
  });
});
