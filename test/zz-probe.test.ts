import { it, expect } from 'vitest';
import { logText } from '../bench/data.js';
import { Engine, MemoryFileSystem, RealFileSystem } from '../src/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
it('probe', async () => {
  for (const real of [false, true]) {
  const warnings: string[] = [];
  const e = await Engine.open(real ? { dir: mkdtempSync(join(tmpdir(), 'x-')), workerThreads: 0, onWarning: (m) => warnings.push(m) } : { dir: '/d', fs: new MemoryFileSystem(), workerThreads: 0, onWarning: (m) => warnings.push(m) });
  await e.createBucket('bkt-a'); await e.createBucket('bkt-b');
  for (let i = 0; i < 39; i++) { await e.putObject('bkt-a', `k${i}`, logText(4096, i)); await e.putObject('bkt-b', `k${i}`, logText(4096, 100 + i)); }
  await Promise.all([e.putObject('bkt-a', 'k39', logText(4096, 39)), e.putObject('bkt-b', 'k39', logText(4096, 139))]);
  for (let i = 0; i < 200 && e.stats().dictionaries.made + e.stats().dictionaries.rejected < 2 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  console.log('PROBE', real, e.stats().dictionaries, warnings);
  await e.close();
  }
});
