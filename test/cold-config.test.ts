// Choosing the cold store from flags and environment (src/s3/cold-config.ts): default DATA/cold, opened
// lazily (nothing is created until the tier is used), --cold-dir / $SEDIMENT_COLD_DIR, and an S3 location
// that needs both keys.
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../src/index.js';
import { openColdStore, parseColdS3Url } from '../src/s3/cold-config.js';

describe('cold store configuration', () => {
  it('parses S3 locations into endpoint, bucket and prefix', () => {
    expect(parseColdS3Url('http://127.0.0.1:9000/cold')).toEqual({ endpoint: 'http://127.0.0.1:9000', bucket: 'cold', prefix: '' });
    expect(parseColdS3Url('http://rgw.local:7480/archive/sediment/node1/')).toEqual({ endpoint: 'http://rgw.local:7480', bucket: 'archive', prefix: 'sediment/node1/' });
    expect(() => parseColdS3Url('http://127.0.0.1:9000/')).toThrow(/names no bucket/);
    expect(() => parseColdS3Url('not a url')).toThrow(/not a URL/);
  });

  it('defaults to DATA/cold, created only on first write; honours --cold-dir and $SEDIMENT_COLD_DIR', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/data');
    const def = await openColdStore(fs, '/data', {}, {});
    expect(def.store.description).toBe('local /data/cold');
    expect(await def.store.list()).toEqual([]);
    expect(await fs.exists('/data/cold')).toBe(false);
    await def.store.put('000000000001.cold', Buffer.from('x'));
    expect(await fs.exists('/data/cold/000000000001.cold')).toBe(true);
    expect((await openColdStore(fs, '/data', { dir: '/big/cold' }, { SEDIMENT_COLD_DIR: '/env/cold' })).store.description).toBe('local /big/cold');
    expect((await openColdStore(fs, '/data', {}, { SEDIMENT_COLD_DIR: '/env/cold' })).store.description).toBe('local /env/cold');
  });

  it('an S3 location needs both keys; a flag wins over the environment', async () => {
    await expect(openColdStore(new MemoryFileSystem(), '/data', { s3: 'http://127.0.0.1:9/cold' }, {})).rejects.toThrow(/SEDIMENT_COLD_ACCESS_KEY/);
    const env = { SEDIMENT_COLD_S3: 'http://127.0.0.1:1/envbucket', SEDIMENT_COLD_ACCESS_KEY: 'a', SEDIMENT_COLD_SECRET_KEY: 'b' };
    const fromEnv = await openColdStore(new MemoryFileSystem(), '/data', {}, env);
    expect(fromEnv.store.description).toBe('s3 http://127.0.0.1:1/envbucket/');
    fromEnv.close();
    const fromFlag = await openColdStore(new MemoryFileSystem(), '/data', { s3: 'http://127.0.0.1:2/flag/p' }, env);
    expect(fromFlag.store.description).toBe('s3 http://127.0.0.1:2/flag/p/');
    fromFlag.close();
    // --cold-dir wins over $SEDIMENT_COLD_S3 too: the store used is the one the command line names.
    const dirFlag = await openColdStore(new MemoryFileSystem(), '/data', { dir: '/flag/cold' }, env);
    expect(dirFlag.store.description).toBe('local /flag/cold');
    dirFlag.close();
  });

  it('two locations given the same way are refused', async () => {
    await expect(openColdStore(new MemoryFileSystem(), '/data', { s3: 'http://127.0.0.1:2/b', dir: '/c' }, {})).rejects.toThrow(/either --cold-s3 or --cold-dir/);
    await expect(openColdStore(new MemoryFileSystem(), '/data', {}, { SEDIMENT_COLD_S3: 'http://127.0.0.1:2/b', SEDIMENT_COLD_DIR: '/c' })).rejects.toThrow(/both set/);
  });
});
