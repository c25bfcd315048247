// The layers of docs/ARCHITECTURE.md as the imports in src/ have them: a folder imports only folders
// before it in LAYERS (the engine never imports HTTP, the S3 adapter or the CLI); only src/io/ touches
// the file system for data (node:fs elsewhere only where ALLOWED_FS says why); only the S3 adapter, its
// load generator and the CLI use the network.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');
/** Each folder may import the folders before it (and itself); index.ts (the public API) comes before its user, the CLI. */
const LAYERS = ['util', 'native', 'io', 'format', 'engine', 'tier', 'maintenance', 's3', 'loadgen', 'index.ts', 'cli'];
/** node:fs outside src/io/, and why it is not data-directory I/O. */
const ALLOWED_FS: Record<string, string> = {
  'engine/chunk-pool.ts': 'existsSync of the compiled worker file',
  'engine/md5-hasher.ts': 'existsSync of the compiled worker file',
  'cli/server-tuning.ts': 'existsSync of /proc and /sys files',
  'cli/local-files.ts': "the user's own files for put/get",
  'cli/commands/put.ts': 'fstat of stdin, to refuse a directory there',
  'cli/version.ts': "the package's own package.json, for --version",
};
const NETWORK_LAYERS = new Set(['s3', 'loadgen', 'cli']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

/** Every module specifier a file imports or re-exports (static and dynamic, type-only included). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) {
    out.push((m[1] ?? m[2] ?? m[3]) as string);
  }
  return out;
}

function layerOf(rel: string): string {
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
}

const files = sources(SRC).map((abs) => ({ rel: relative(SRC, abs), specs: specifiers(readFileSync(abs, 'utf8')) }));

describe('layers (docs/ARCHITECTURE.md)', () => {
  it('finds the sources and their imports', () => {
    expect(files.length).toBeGreaterThan(100);
    for (const l of LAYERS) expect(files.some((f) => layerOf(f.rel) === l), l).toBe(true);
    expect(files.find((f) => f.rel === 'engine/engine.ts')?.specs).toContain('../format/constants.js');
  });

  it('each folder imports only folders before it', () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = LAYERS.indexOf(layerOf(f.rel));
      expect(from, `${f.rel} is in no layer`).toBeGreaterThanOrEqual(0);
      for (const s of f.specs.filter((x) => x.startsWith('.'))) {
        const target = relative(SRC, normalize(join(dirname(join(SRC, f.rel)), s)));
        const to = LAYERS.indexOf(layerOf(target.replace(/\.js$/, '.ts')));
        if (target.startsWith('..') || to < 0 || to > from) wrong.push(`${f.rel} imports ${s}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('only src/io/ imports node:fs (but for the reasons listed), and only s3, loadgen and cli the network', () => {
    const fs: string[] = [];
    const net: string[] = [];
    for (const f of files) {
      const layer = layerOf(f.rel);
      for (const s of f.specs) {
        if (/^(node:)?fs(\/promises)?$/.test(s) && layer !== 'io' && ALLOWED_FS[f.rel] === undefined) fs.push(`${f.rel} imports ${s}`);
        if (/^(node:)?(http|https|net|tls|dgram)$/.test(s) && !NETWORK_LAYERS.has(layer)) net.push(`${f.rel} imports ${s}`);
      }
    }
    expect(fs).toEqual([]);
    expect(net).toEqual([]);
  });
});
