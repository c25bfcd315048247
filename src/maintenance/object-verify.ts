// End to end: every stored object version read back whole and checked against what the client was told
// when it was written — the MD5 ETag (each part's, and the MD5 of the part MD5s, for a multipart object)
// and every FULL_OBJECT checksum (CRC32, CRC32C, CRC64NVME, SHA1, SHA256). Frame checksums (`verify`)
// prove that each chunk is as it was written; this proves that the chunks a manifest lists, in its order,
// are the bytes the client sent: what no per-frame checksum can see (a bug that wrote or listed the wrong
// chunk, bytes damaged in memory before their frame was hashed).
// A multipart object's parts are checked one by one: each part's MD5, and its checksum when the object
// keeps them (format 8); a COMPOSITE checksum is made of those, so it is not recomputed itself. Versions deleted or changed while the pass runs are
// counted as changed, not damaged. Cold objects are read only with `cold` (they come from the cold store).
import { createHash, type Hash } from 'node:crypto';
import { ChecksumSet, type ChecksumName } from '../engine/checksums.js';
import type { Engine } from '../engine/engine.js';
import type { HeadResult } from '../engine/types.js';
import { isSedimentError } from '../util/errors.js';

export interface ObjectVerifyReport {
  objectsChecked: number;
  bytesChecked: number;
  /** Versions deleted or overwritten between the listing and their reading. */
  objectsChanged: number;
  /** Cold objects passed over (no `cold`). */
  coldSkipped: number;
  damagedObjects: Array<{ bucket: string; key: string; versionId: string; reason: string }>;
}

export interface ObjectVerifyOptions {
  /** Also read the objects in the cold tier (from the cold store). */
  cold?: boolean;
  /** Called after each object with the bytes checked so far. */
  onProgress?: (bytesChecked: number) => void;
}

const GONE = new Set(['SEDIMENT_NO_SUCH_KEY', 'SEDIMENT_NO_SUCH_VERSION', 'SEDIMENT_NO_SUCH_BUCKET', 'SEDIMENT_DELETE_MARKER']);

/**
 * Feeds a stream's pieces to the MD5 (and, with `alg`, the checksum) of the part they belong to, parts of
 * the given sizes in order.
 */
class PartDigests {
  private readonly done: Buffer[] = [];
  private readonly doneSums: Buffer[] = [];
  private current: Hash = createHash('md5');
  private currentSum: ChecksumSet | undefined;
  private left: number;
  private index = 0;
  constructor(
    private readonly sizes: number[],
    private readonly alg?: ChecksumName,
  ) {
    this.left = sizes[0] ?? 0;
    this.currentSum = alg ? new ChecksumSet([alg]) : undefined;
    this.skipEmpty();
  }
  update(piece: Uint8Array): void {
    let at = 0;
    while (at < piece.length) {
      if (this.index >= this.sizes.length) throw new Error('more bytes than the parts hold');
      const n = Math.min(this.left, piece.length - at);
      const bytes = piece.subarray(at, at + n);
      this.current.update(bytes);
      this.currentSum?.update(bytes);
      at += n;
      this.left -= n;
      this.skipEmpty();
    }
  }
  /** Parts whose bytes are all in, each finished when its last byte (or, if empty, the one before) came. */
  private skipEmpty(): void {
    while (this.left === 0 && this.index < this.sizes.length) {
      this.done.push(this.current.digest());
      this.current = createHash('md5');
      if (this.alg && this.currentSum) {
        this.doneSums.push(this.currentSum.results().get(this.alg)!);
        this.currentSum = new ChecksumSet([this.alg]);
      }
      this.index++;
      this.left = this.sizes[this.index] ?? 0;
    }
  }
  results(): Buffer[] {
    return this.done;
  }
  /** Each finished part's checksum (with `alg`). */
  sums(): Buffer[] {
    return this.doneSums;
  }
}

/** What is wrong with the bytes of `info` read from `body`, or undefined if they are as written. */
async function check(info: HeadResult, body: AsyncIterable<Uint8Array>, counted: (n: number) => void): Promise<string | undefined> {
  const whole = info.partCount === 0 ? createHash('md5') : undefined;
  const partAlg = info.parts?.[0]?.checksum?.algorithm;
  const parts = info.partCount > 0 ? new PartDigests((info.parts ?? []).map((p) => p.size), partAlg) : undefined;
  const full = info.checksums.filter((c) => c.type !== 'COMPOSITE');
  const sums = new ChecksumSet(full.map((c) => c.algorithm));
  let size = 0;
  for await (const piece of body) {
    whole?.update(piece);
    parts?.update(piece);
    sums.update(piece);
    size += piece.length;
    counted(piece.length);
  }
  if (size !== info.size) return `${size} bytes read, ${info.size} stored`;
  if (whole) {
    const md5 = whole.digest('hex');
    if (md5 !== info.etag) return `the MD5 of its bytes is ${md5}, not its ETag ${info.etag}`;
  } else if (parts) {
    const md5s = parts.results();
    const bad = (info.parts ?? []).findIndex((p, i) => md5s[i]?.toString('hex') !== p.etag);
    if (bad >= 0) return `part ${info.parts![bad].partNumber}: the MD5 of its bytes is not its ETag ${info.parts![bad].etag}`;
    const partSums = parts.sums();
    const badSum = (info.parts ?? []).findIndex((p, i) => p.checksum !== undefined && !partSums[i]?.equals(p.checksum.value));
    if (badSum >= 0) {
      const p = info.parts![badSum]!;
      return `part ${p.partNumber}: its ${p.checksum!.algorithm} is ${partSums[badSum]?.toString('base64')}, not the stored ${p.checksum!.value.toString('base64')}`;
    }
    const etag = `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}`;
    if (etag !== info.etag) return `the MD5 of its part MD5s gives ${etag}, not its ETag ${info.etag}`;
  }
  const got = sums.results();
  for (const c of full) {
    if (!got.get(c.algorithm)?.equals(c.value)) return `its ${c.algorithm} is ${got.get(c.algorithm)?.toString('base64')}, not the stored ${c.value.toString('base64')}`;
  }
  return undefined;
}

/** Reads every version of every object of `engine` and checks it (see the header). */
export async function verifyObjects(engine: Engine, opts: ObjectVerifyOptions = {}): Promise<ObjectVerifyReport> {
  const report: ObjectVerifyReport = { objectsChecked: 0, bytesChecked: 0, objectsChanged: 0, coldSkipped: 0, damagedObjects: [] };
  const counted = (n: number): void => {
    report.bytesChecked += n;
  };
  for (const bucket of engine.listBuckets()) {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = engine.listObjectVersions(bucket.name, { keyMarker, versionIdMarker, maxKeys: 1000 });
      } catch (err) {
        if (isSedimentError(err) && err.code === 'SEDIMENT_NO_SUCH_BUCKET') break; // deleted meanwhile
        throw err;
      }
      for (const v of page.versions) {
        if (v.isDeleteMarker) continue;
        const damaged = (reason: string): void => {
          report.damagedObjects.push({ bucket: bucket.name, key: v.key, versionId: v.versionId, reason });
        };
        try {
          const info = await engine.headObject(bucket.name, v.key, { versionId: v.versionId, parts: true });
          if (info.storageClass === 'COLD' && !opts.cold) {
            report.coldSkipped++;
            continue;
          }
          const got = await engine.getObject(bucket.name, v.key, { versionId: v.versionId });
          // The version read must be the one checked: an in-place rewrite (tags, retention) keeps the bytes.
          if (got.info.etag !== info.etag || got.info.size !== info.size) {
            got.body.destroy();
            report.objectsChanged++;
            continue;
          }
          const reason = await check(info, got.body, counted);
          report.objectsChecked++;
          if (reason !== undefined) damaged(reason);
        } catch (err) {
          if (isSedimentError(err) && GONE.has(err.code)) report.objectsChanged++;
          else if (isSedimentError(err) && err.code === 'SEDIMENT_COLD_UNAVAILABLE') throw err;
          else {
            report.objectsChecked++;
            damaged(`unreadable: ${(err as Error).message}`);
          }
        }
        opts.onProgress?.(report.bytesChecked);
      }
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
  }
  return report;
}
