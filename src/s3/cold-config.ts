// Which cold store a process uses (docs/OPERATIONS.md "Cold tier"): a local directory (default
// DATA/cold, or --cold-dir / $SEDIMENT_COLD_DIR) or an S3-compatible bucket (--cold-s3 /
// $SEDIMENT_COLD_S3 = http://host:port/bucket[/prefix], credentials from $SEDIMENT_COLD_ACCESS_KEY and
// $SEDIMENT_COLD_SECRET_KEY, region from $SEDIMENT_COLD_REGION, default us-east-1). The local store is
// opened on first use, so commands that never touch the cold tier create nothing. Opening never deletes
// cold data (only the local store's own unfinished temporary files).
import type { FileSystem } from '../io/types.js';
import type { ColdBlob, ColdStore } from '../tier/cold-store.js';
import { LocalDirColdStore } from '../tier/local-dir-store.js';
import { SedimentError } from '../util/errors.js';

export interface ColdSpec {
  dir?: string;
  s3?: string;
}

export interface OpenedColdStore {
  store: ColdStore;
  /** An S3 bucket (reading all of it costs requests and transfer), not a local directory. */
  remote: boolean;
  close(): void;
}

class LazyLocalStore implements ColdStore {
  private opened: Promise<LocalDirColdStore> | undefined;
  readonly description: string;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {
    this.description = `local ${dir}`;
  }

  private s(): Promise<LocalDirColdStore> {
    this.opened ??= LocalDirColdStore.open(this.fs, this.dir);
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  async put(name: string, data: Buffer): Promise<void> {
    return (await this.s()).put(name, data);
  }
  async readRange(name: string, offset: number, length: number): Promise<Buffer> {
    return (await this.s()).readRange(name, offset, length);
  }
  async stat(name: string): Promise<number | undefined> {
    if (this.opened === undefined && !(await this.fs.exists(this.dir))) return undefined;
    return (await this.s()).stat(name);
  }
  async list(prefix?: string): Promise<ColdBlob[]> {
    if (this.opened === undefined && !(await this.fs.exists(this.dir))) return [];
    return (await this.s()).list(prefix);
  }
  async delete(name: string): Promise<void> {
    return (await this.s()).delete(name);
  }
  async freeBytes(): Promise<number> {
    return (await this.s()).freeBytes();
  }
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) await (await opened.catch(() => undefined))?.close();
  }
}

/** `http://host:port/bucket/some/prefix` → endpoint, bucket, prefix ("some/prefix/"). */
export function parseColdS3Url(text: string): { endpoint: string; bucket: string; prefix: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `cold S3 location "${text}" is not a URL such as http://127.0.0.1:9000/bucket/prefix`);
  }
  const [bucket, ...rest] = url.pathname.split('/').filter((p) => p !== '');
  if (!bucket) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', `cold S3 location "${text}" names no bucket`);
  return { endpoint: url.origin, bucket, prefix: rest.length > 0 ? `${rest.join('/')}/` : '' };
}

/** The S3 client is imported only when an S3 location is configured: other commands never load HTTP code. */
export async function openColdStore(fs: FileSystem, dataDir: string, spec: ColdSpec, env: NodeJS.ProcessEnv = process.env): Promise<OpenedColdStore> {
  // A flag wins over the environment; two locations given the same way are a mistake, not a choice.
  if (spec.s3 !== undefined && spec.dir !== undefined) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'give either --cold-s3 or --cold-dir, not both');
  const fromEnv = spec.s3 === undefined && spec.dir === undefined;
  if (fromEnv && env.SEDIMENT_COLD_S3 && env.SEDIMENT_COLD_DIR) {
    throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'SEDIMENT_COLD_S3 and SEDIMENT_COLD_DIR are both set: set only one');
  }
  const s3 = fromEnv ? env.SEDIMENT_COLD_S3 || undefined : spec.s3;
  if (s3 !== undefined) {
    const ak = env.SEDIMENT_COLD_ACCESS_KEY;
    const sk = env.SEDIMENT_COLD_SECRET_KEY;
    if (!ak || !sk) throw new SedimentError('SEDIMENT_INVALID_ARGUMENT', 'an S3 cold store needs SEDIMENT_COLD_ACCESS_KEY and SEDIMENT_COLD_SECRET_KEY');
    const { S3ColdStore } = await import('./cold-store-s3.js');
    const store = new S3ColdStore({ ...parseColdS3Url(s3), accessKeyId: ak, secretAccessKey: sk, region: env.SEDIMENT_COLD_REGION || 'us-east-1' });
    return { store, remote: true, close: () => void store.close() };
  }
  const dir = spec.dir ?? ((fromEnv && env.SEDIMENT_COLD_DIR) || `${dataDir}/cold`);
  const store = new LazyLocalStore(fs, dir);
  return { store, remote: false, close: () => void store.close().catch(() => undefined) };
}
