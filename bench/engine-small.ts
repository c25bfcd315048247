// Engine bench (a) and the small-object half of (c): 4 KiB log-like puts at concurrency 64, durable,
// against one file per object with fdatasync each; then everything read back, against fs.readFile.
import { createHash } from 'node:crypto';

import { Engine } from '../src/index.js';
import { BUCKET, consume, engineOptions, leastDisturbed, measure, settleDisk, type EngineBenchSizes, type ResultRow } from './engine-common.js';
import { logKey, smallObject } from './data.js';
import { prepareDirs, readFilePerObject, writeFilePerObject } from './references.js';
import { fmt, forEachConcurrent, removeDir, scratchDir } from './setup.js';

export async function benchSmall(s: EngineBenchSizes, pool: Buffer[], rows: ResultRow[], extra: Record<string, unknown>): Promise<void> {
  const names = Array.from({ length: s.smallCount }, (_, i) => logKey(i));
  const body = (i: number) => smallObject(pool, i, s.smallBytes);
  const logical = s.smallCount * s.smallBytes;
  const label = `${fmt(s.smallCount)} × ${s.smallBytes / 1024} KiB log-like`;

  // sediment
  const eng = await leastDisturbed('(a) sediment', async () => {
    const dir = await scratchDir('small');
    try {
      const engine = await Engine.open(engineOptions(dir));
      try {
        await engine.createBucket(BUCKET);
        const put = await measure('(a) sediment puts', () => forEachConcurrent(s.smallCount, s.smallConcurrency, async (i) => void (await engine.putObject(BUCKET, names[i], body(i)))));
        const st = engine.stats();
        const read = await measure('(c) sediment gets, small', async () => {
          let bytes = 0;
          await forEachConcurrent(s.smallCount, s.smallConcurrency, async (i) => {
            const n = await consume((await engine.getObject(BUCKET, names[i])).body);
            bytes += n; // not `bytes += await …`: that would read `bytes` before the await
          });
          if (bytes !== logical) throw new Error(`read ${bytes} bytes, expected ${logical}`);
        });
        const verify = await measure('(c) sediment gets + MD5, small', () =>
          forEachConcurrent(s.smallCount, s.smallConcurrency, async (i) => {
            const r = await engine.getObject(BUCKET, names[i]);
            const h = createHash('md5');
            await consume(r.body, h);
            const got = h.digest('hex');
            const want = createHash('md5').update(body(i)).digest('hex');
            if (got !== want || r.info.etag !== want) throw new Error(`object ${names[i]}: MD5 ${got}, ETag ${r.info.etag}, expected ${want}`);
          }),
        );
        return { put, read, verify, st };
      } finally {
        await engine.close();
      }
    } finally {
      await removeDir(dir);
      settleDisk();
    }
  }, (r) => r.put.otherCores, (r) => r.put.ms);
  const { put, read, verify, st } = eng;
  extra.small = { storedBytes: st.storedBytes, logicalBytes: st.logicalBytes, segments: st.segments, workerThreads: st.workerThreads };
  const storedRatio = st.storedBytes / st.logicalBytes;

  // reference: one file per object
  const ref = await leastDisturbed('(a) reference', async () => {
    const refDir = await scratchDir('files');
    try {
      const dirs = await prepareDirs(refDir, names);
      const refPut = await measure('(a) reference: file per object', () => writeFilePerObject(refDir, names, dirs, body, s.smallConcurrency));
      const refRead = await measure('(c) reference: read files back', async () => {
        const bytes = await readFilePerObject(refDir, names, s.smallConcurrency);
        if (bytes !== logical) throw new Error(`reference read ${bytes} bytes, expected ${logical}`);
      });
      return { refPut, refRead };
    } finally {
      await removeDir(refDir);
      settleDisk();
    }
  }, (r) => r.refPut.otherCores, (r) => r.refPut.ms);
  const { refPut, refRead } = ref;
  {
    const putOps = s.smallCount / (put.ms / 1000);
    const refOps = s.smallCount / (refPut.ms / 1000);
    rows.push({
      id: 'a-small-put',
      bench: `(a) put ${label}, concurrency ${s.smallConcurrency}, durable`,
      sediment: putOps,
      unit: 'ops/s',
      reference: `one file per object: open, write, fdatasync, close (concurrency ${s.smallConcurrency}); dir fsyncs`,
      referenceValue: refOps,
      ratio: putOps / refOps,
      target: '≥ 5×',
      pass: putOps / refOps >= 5,
      cores: put.cpuMs / put.ms,
      otherCores: put.otherCores,
      referenceOtherCores: refPut.otherCores,
    });
    rows.push({
      id: 'a-small-stored',
      bench: `(a) stored / logical bytes, ${label}`,
      sediment: storedRatio,
      unit: '×',
      note: 'segment bytes (frames, commit records, footers) / object bytes',
    });
    const readOps = s.smallCount / (read.ms / 1000);
    const refReadOps = s.smallCount / (refRead.ms / 1000);
    rows.push({
      id: 'c-small-get',
      bench: `(c) get ${label}, concurrency ${s.smallConcurrency}, stream consumed`,
      sediment: readOps,
      unit: 'ops/s',
      reference: 'fs.readFile of each per-object file (same concurrency)',
      referenceValue: refReadOps,
      ratio: readOps / refReadOps,
      cores: read.cpuMs / read.ms,
      otherCores: read.otherCores,
      referenceOtherCores: refRead.otherCores,
      note: 'warm page cache',
    });
    rows.push({
      id: 'c-small-get-md5',
      bench: `(c) get + MD5 check vs ETag and source, ${label}`,
      sediment: s.smallCount / (verify.ms / 1000),
      unit: 'ops/s',
      cores: verify.cpuMs / verify.ms,
      otherCores: verify.otherCores,
      note: 'all objects verified',
    });
  }
}
