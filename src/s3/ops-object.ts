// Object operations: PutObject (incl. conditional writes), GetObject / HeadObject (ranges,
// conditionals, response-* overrides), DeleteObject, CopyObject.
import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import type { ByteRange, GetDataResult, HeadResult, LentBytes, ObjectInfo } from '../engine/types.js';
import { NOT_IN_HEADER_VALUE } from '../engine/names.js';
import { isSedimentError } from '../util/errors.js';
import { decodeComponent } from './aws-uri.js';
import { contentOptions, evaluateConditions, objectChecksumElements, objectHeaders } from './object-headers.js';
import { httpDate, isoDate, quoteEtag, sendEmpty, sendXml, writeHead, type S3Request } from './http-util.js';
import { ChecksumSet, headerFor, parseAlgorithm } from './checksums.js';
import { tappedBody } from '../engine/checksums.js';
import { prepareBody, readSmallBody, smallBodyLength } from './request-body.js';
import { S3Error } from './s3-error.js';
import { element, elementWithAttrs, S3_XMLNS, type XmlNode } from './xml.js';
import { bypassGovernance, lockOptions } from './ops-object-lock.js';

/** ?partNumber of a request: 1..10000, else InvalidArgument. */
export function partNumberOf(r: S3Request): number {
  const v = r.query.get('partNumber') ?? '';
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 10000) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { extra: { ArgumentName: 'partNumber', ArgumentValue: v } });
  }
  return Number(v);
}

/** ?versionId of a request (undefined: the current version). */
function versionIdOf(r: S3Request): string | undefined {
  return r.query.get('versionId');
}

async function currentInfo(r: S3Request, bucket: string, key: string): Promise<ObjectInfo | undefined> {
  try {
    return await r.ctx.engine.headObject(bucket, key);
  } catch (err) {
    if (isSedimentError(err, 'SEDIMENT_NO_SUCH_KEY')) return undefined;
    throw err;
  }
}

/**
 * The null version (written while versioning was off or suspended) is named `null` in GET / HEAD /
 * GetObjectAttributes answers once its bucket has versioning (Enabled or Suspended), as S3 does; in a
 * bucket that never had it, no version header.
 */
function nullVersionHeader(r: S3Request, headers: Record<string, string>, bucket = r.bucket, name = 'x-amz-version-id'): void {
  let status: string;
  try {
    status = r.ctx.engine.getBucketVersioning(bucket);
  } catch (err) {
    if (isSedimentError(err, 'SEDIMENT_NO_SUCH_BUCKET')) return; // deleted meanwhile: the object was read
    throw err;
  }
  if (status !== 'Unversioned') headers[name] = 'null';
}

/** x-amz-copy-source-version-id of CopyObject and UploadPartCopy: the version copied, when its bucket has versioning. */
export function copySourceVersionHeader(r: S3Request, sourceBucket: string, source: ObjectInfo, headers: Record<string, string>): void {
  if (source.versionId !== '') headers['x-amz-copy-source-version-id'] = source.versionId;
  else nullVersionHeader(r, headers, sourceBucket, 'x-amz-copy-source-version-id');
}

export function writeCondition(r: S3Request): { ifNoneMatch?: boolean; ifMatch?: string } | undefined {
  const ifNoneMatch = r.header('if-none-match');
  const ifMatch = r.header('if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return { ifNoneMatch: ifNoneMatch !== undefined ? true : undefined, ifMatch };
}

/** If-None-Match: * and If-Match on PUT (conditional writes): an early check before the body is read; the engine checks again atomically at commit. */
export async function checkWriteConditions(r: S3Request): Promise<void> {
  const ifNoneMatch = r.header('if-none-match');
  const ifMatch = r.header('if-match');
  if (ifNoneMatch === undefined && ifMatch === undefined) return;
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', 'If-None-Match on PUT supports only "*"');
  }
  const info = await currentInfo(r, r.bucket, r.key);
  if (ifNoneMatch !== undefined && info) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { extra: { Condition: 'If-None-Match' } });
  if (ifMatch !== undefined) {
    if (!info) throw new S3Error('NoSuchKey');
    const ok = ifMatch.split(',').some((t) => t.trim() === '*' || t.trim().replace(/"/g, '') === info.etag);
    if (!ok) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { extra: { Condition: 'If-Match' } });
  }
}

export async function putObject(r: S3Request): Promise<void> {
  if (r.header('x-amz-copy-source') !== undefined) return copyObject(r);
  await checkWriteConditions(r);
  let info: ObjectInfo;
  const small = smallBodyLength(r);
  if (small !== undefined) {
    // Small bodies: read whole and verified before the engine is called, handed over as one buffer.
    const body = await readSmallBody(r, { defaultChecksum: true });
    info = await r.ctx.engine.putObject(r.bucket, r.key, body.body, {
      ...contentOptions(r),
      expectedSize: small,
      expectedMd5: body.expectedMd5,
      checksums: body.checksums,
      condition: writeCondition(r),
      lock: lockOptions(r),
    });
  } else {
    const body = prepareBody(r, { defaultChecksum: true });
    info = await r.ctx.engine.putObject(r.bucket, r.key, body.source, {
      ...contentOptions(r),
      expectedSize: body.expectedSize,
      expectedMd5: body.expectedMd5,
      beforeCommit: () => body.verify(),
      condition: writeCondition(r),
      lock: lockOptions(r),
    });
  }
  const headers = ['ETag', quoteEtag(info.etag), 'Content-Length', '0'];
  if (info.versionId !== '') headers.push('x-amz-version-id', info.versionId);
  for (const c of info.checksums) headers.push(headerFor(c.algorithm), c.value.toString('base64'));
  if (info.checksums.length > 0) headers.push('x-amz-checksum-type', 'FULL_OBJECT');
  writeHead(r.res, r.requestId, 200, headers);
  r.res.end();
}

/** Parses a Range header; undefined means "serve the whole object" (absent or not a single byte range). */
export function parseRange(value: string | undefined): { start: number; end: number } | { suffix: number } | undefined {
  if (value === undefined) return undefined;
  // Split by hand, not matched by one pattern: `\s*` next to `\d*` backtracked quadratically on a
  // header of many spaces.
  const eq = value.indexOf('=');
  if (eq < 0 || value.slice(0, eq).trim() !== 'bytes') return undefined;
  const spec = value.slice(eq + 1);
  const dash = spec.indexOf('-');
  if (dash < 0) return undefined;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (!/^\d*$/.test(first) || !/^\d*$/.test(last) || (first === '' && last === '')) return undefined;
  // A number past any object's size counts as "past the end": S3 answers 416 for such a start, reads to
  // the end for such an end, and the whole object for such a suffix.
  const num = (digits: string): number => Math.min(Number(digits), Number.MAX_SAFE_INTEGER);
  if (first === '') return { suffix: num(last) };
  const start = num(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : num(last);
  if (end < start) return undefined;
  return { start, end };
}

// Header names as objectHeaders writes them, so an override replaces the stored value rather than
// adding a second header.
const OVERRIDES: Array<[string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];


/** The response-* overrides the query asks for, as [header, value]; checked before any work is done. */
function overridesOf(r: S3Request): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (r.query.size === 0) return out;
  for (const [q, h] of OVERRIDES) {
    const v = r.query.get(q);
    if (v === undefined) continue;
    if (NOT_IN_HEADER_VALUE.test(v)) {
      throw new S3Error('InvalidArgument', `${q} holds a character that an HTTP header cannot carry`, { extra: { ArgumentName: q } });
    }
    out.push([h, v]);
  }
  return out;
}

/** Objects (or ranges) up to this size are read whole and sent with one `end(buffer)`; larger ones stream. */
export const GET_BUFFER_BYTES_MAX = 256 * 1024;

export async function getObject(r: S3Request): Promise<void> {
  const head = r.method === 'HEAD';
  // ?partNumber reads one part of a multipart object (part 1 of any other object is all of it), as a range.
  const partNumber = r.query.has('partNumber') ? partNumberOf(r) : undefined;
  if (partNumber !== undefined && r.header('range') !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  const range = parseRange(r.header('range'));
  const overrides = overridesOf(r);
  const engine = r.ctx.engine;
  const versionId = versionIdOf(r);
  let info: HeadResult | undefined;
  let result: GetDataResult | undefined;
  try {
    if (head) info = await engine.headObject(r.bucket, r.key, { versionId, partNumber });
    else result = await engine.getObjectData(r.bucket, r.key, { range, partNumber, bufferBytesMax: GET_BUFFER_BYTES_MAX, versionId, lend: true });
  } catch (err) {
    const badRange = isSedimentError(err, 'SEDIMENT_INVALID_RANGE');
    if (!badRange && !isSedimentError(err, 'SEDIMENT_INVALID_PART_NUMBER')) throw err;
    // Preconditions are evaluated before the range (RFC 9110 §13.2.2): a failed one answers 304/412
    // below; only a request whose conditions hold gets 416.
    info = await engine.headObject(r.bucket, r.key, { versionId });
    if (evaluateConditions((n) => r.header(n), info) === undefined) {
      if (!badRange) throw new S3Error('InvalidPartNumber', undefined, { extra: { PartNumberRequested: String(partNumber), ActualPartCount: String(Math.max(1, info.partCount)) } });
      throw new S3Error('InvalidRange', undefined, { extra: { RangeRequested: r.header('range') ?? '', ActualObjectSize: String(info.size) } });
    }
  }
  const obj = (info ?? result?.info) as ObjectInfo;
  const conditional = r.header('if-match') !== undefined || r.header('if-none-match') !== undefined || r.header('if-modified-since') !== undefined || r.header('if-unmodified-since') !== undefined;
  const cond = conditional ? evaluateConditions((n) => r.header(n), obj) : undefined;
  if (cond !== undefined) {
    result?.body?.destroy();
    await result?.lent?.return();
    if (cond === 304) {
      writeHead(r.res, r.requestId, 304, { ETag: quoteEtag(obj.etag), 'Last-Modified': new Date(obj.lastModifiedMs).toUTCString() });
      r.res.end();
      return;
    }
    throw new S3Error('PreconditionFailed');
  }
  let status = 200;
  let length = obj.size;
  let servedRange: ByteRange | undefined = result?.range ?? info?.partRange;
  if (head && range) {
    // HEAD with Range answers with the range's headers and no body.
    const start = 'suffix' in range ? Math.max(0, obj.size - range.suffix) : range.start;
    const end = 'suffix' in range ? obj.size - 1 : Math.min(range.end, obj.size - 1);
    if (start >= obj.size || ('suffix' in range && range.suffix === 0)) throw new S3Error('InvalidRange');
    servedRange = { start, end };
  }
  const checksumMode = (r.header('x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED';
  const headers = objectHeaders(obj, checksumMode && servedRange === undefined);
  if (obj.versionId === '') nullVersionHeader(r, headers);
  // One part of a multipart object that keeps its parts' checksums: the checksum of the bytes served.
  if (checksumMode && partNumber !== undefined && obj.partChecksum !== undefined) {
    headers[headerFor(obj.partChecksum.algorithm)] = obj.partChecksum.value.toString('base64');
  }
  if (servedRange) {
    length = servedRange.end - servedRange.start + 1;
    // An empty part (or part 1 of an empty object) has no byte to name in a Content-Range: 200, no body.
    if (length > 0) {
      status = 206;
      headers['Content-Range'] = `bytes ${servedRange.start}-${servedRange.end}/${obj.size}`;
    }
  }
  if (partNumber !== undefined && obj.partCount > 0) headers['x-amz-mp-parts-count'] = String(obj.partCount);
  for (const [h, v] of overrides) headers[h] = v;
  headers['Content-Length'] = String(length);
  writeHead(r.res, r.requestId, status, headers);
  if (head || !result) {
    await result?.lent?.return();
    r.res.end();
    return;
  }
  if (result.data !== undefined) {
    r.res.end(result.data);
    return;
  }
  // Headers are sent: a failure from here on (e.g. a corrupt chunk) can only cut the connection,
  // which the client sees as a short body — never as wrong bytes.
  // getObjectData was asked to lend: a body too large for one buffer always comes as lent pieces
  if (result.lent === undefined) throw new Error('assertion failed: a large GET without lent pieces');
  await sendLent(r.res, result.lent);
}

/**
 * Writes a body of lent pieces (engine getObjectData with `lend`) to the response. Each piece is released
 * in its write's callback, which runs once the socket no longer holds its memory (written to the kernel,
 * or the write failed); until then the engine does not reuse it. A full socket buffer waits for 'drain'.
 * Resolves when the response has finished; rejects if the piece stream fails (the caller then cuts the
 * connection) or the client goes away first. Either way the rest of the stream is let go.
 */
async function sendLent(res: ServerResponse, lent: AsyncGenerator<LentBytes, void, undefined>): Promise<void> {
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const onDrain = (): void => wake?.();
  const onClose = (): void => {
    if (!res.writableFinished) failed ??= Object.assign(new Error('the client closed the connection before the body was sent'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    wake?.();
  };
  res.on('drain', onDrain);
  res.on('close', onClose);
  try {
    // for await lets the generator go (return()) when this loop throws
    for await (const piece of lent) {
      if (failed !== undefined || res.destroyed) {
        piece.release(); // never handed to the socket
        throw failed ?? new Error('the response was destroyed');
      }
      if (!res.write(piece.bytes, () => piece.release())) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
    if (failed !== undefined) throw failed;
  } finally {
    res.off('drain', onDrain);
    res.off('close', onClose);
  }
  res.end();
  await finished(res);
}

export async function deleteObject(r: S3Request): Promise<void> {
  // If-Match (S3's conditional deletes): the key's current version must have that ETag (`*`: exist).
  const res = await r.ctx.engine.deleteObject(r.bucket, r.key, { versionId: versionIdOf(r), bypassGovernance: bypassGovernance(r), ifMatch: r.header('if-match') });
  const headers: Record<string, string> = {};
  if (res.versionId !== undefined) headers['x-amz-version-id'] = res.versionId;
  if (res.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  sendEmpty(r, 204, headers);
}

/** Splits x-amz-copy-source (`[/]bucket/key[?versionId=…]`, URL-encoded) into bucket, key and version. */
export function parseCopySource(value: string): { bucket: string; key: string; versionId?: string } {
  let v = value.trim();
  const q = v.indexOf('?');
  let versionId: string | undefined;
  if (q !== -1) {
    const params = new URLSearchParams(v.slice(q + 1));
    versionId = params.get('versionId') ?? undefined;
    v = v.slice(0, q);
  }
  const decoded = decodeComponent(v.replace(/\+/g, '%2B'));
  if (decoded === undefined) throw new S3Error('InvalidArgument', 'Invalid copy source encoding', { extra: { ArgumentName: 'x-amz-copy-source' } });
  const s = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = s.indexOf('/');
  if (slash <= 0 || slash === s.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { extra: { ArgumentName: 'x-amz-copy-source' } });
  }
  return { bucket: s.slice(0, slash), key: s.slice(slash + 1), versionId };
}

export function copyConditions(r: S3Request, src: ObjectInfo): void {
  const cond = evaluateConditions((n) => r.header(n), src, {
    ifMatch: 'x-amz-copy-source-if-match',
    ifNoneMatch: 'x-amz-copy-source-if-none-match',
    ifModifiedSince: 'x-amz-copy-source-if-modified-since',
    ifUnmodifiedSince: 'x-amz-copy-source-if-unmodified-since',
  });
  if (cond !== undefined) throw new S3Error('PreconditionFailed');
}

export async function copyObject(r: S3Request): Promise<void> {
  const src = parseCopySource(r.header('x-amz-copy-source') as string);
  const engine = r.ctx.engine;
  const directive = (r.header('x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown metadata directive.');
  const taggingDirective = (r.header('x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  const lock = lockOptions(r);
  const askedChecksum = parseAlgorithm(r.header('x-amz-checksum-algorithm'));
  // Every header is checked before the source is opened (a refusal then leaves no stream behind).
  const replace = contentOptions(r);
  // If-None-Match: * / If-Match name the destination (conditional writes, as on PutObject): checked
  // early, and again atomically at commit.
  await checkWriteConditions(r);
  const { info, body } = await engine.getObject(src.bucket, src.key, { versionId: src.versionId });
  try {
    copyConditions(r, info);
    // Copying an older version onto its own key makes it current again: that is a change.
    if (src.bucket === r.bucket && src.key === r.key && src.versionId === undefined && directive === 'COPY' && r.header('x-amz-storage-class') === undefined) {
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  const opts =
    directive === 'REPLACE'
      ? { ...replace, tags: taggingDirective === 'REPLACE' ? replace.tags : info.tags }
      : {
          contentType: info.contentType,
          userMetadata: info.userMetadata,
          headers: info.headers,
          tags: taggingDirective === 'REPLACE' ? replace.tags : info.tags,
          // The source's values as stored, even one an older sediment took that a header cannot carry.
          storedContent: true,
        };
  // Lock settings are never copied from the source: the destination gets the request's, or its bucket's default.
  // The copy is a single-part object: a FULL_OBJECT checksum of the source still holds for its bytes, a
  // COMPOSITE one (made of the source's parts) does not. The algorithm the request asks for is computed
  // over the bytes as they are copied (and replaces the source's), as is a CRC64NVME when none is left, so
  // that every new object has a checksum as with PutObject.
  const kept = askedChecksum ? [] : info.checksums.filter((c) => c.type !== 'COMPOSITE').map((c) => ({ algorithm: c.algorithm, value: c.value }));
  const compute = askedChecksum ?? (kept.length === 0 ? 'CRC64NVME' : undefined);
  const sums = compute ? new ChecksumSet([compute]) : undefined;
  const out = await engine.putObject(r.bucket, r.key, sums ? tappedBody(body, sums) : body, {
    ...opts,
    expectedSize: info.size,
    checksums: kept,
    beforeCommit: sums ? () => [...kept, ...[...sums.results()].map(([algorithm, value]) => ({ algorithm, value }))] : undefined,
    condition: writeCondition(r),
    lock,
  });
  const headers: Record<string, string> = {};
  if (out.versionId !== '') headers['x-amz-version-id'] = out.versionId;
  copySourceVersionHeader(r, src.bucket, info, headers);
  sendXml(
    r,
    200,
    element('CopyObjectResult', element('LastModified', isoDate(out.lastModifiedMs)), element('ETag', quoteEtag(out.etag)), objectChecksumElements(out)),
    headers,
  );
}

const OBJECT_ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;

/** A non-negative integer request header of GetObjectAttributes' part list, else InvalidArgument. */
function partListHeader(r: S3Request, name: string, fallback: number): number {
  const v = r.header(name);
  if (v === undefined) return fallback;
  if (!/^\d{1,9}$/.test(v.trim())) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`, { extra: { ArgumentName: name, ArgumentValue: v } });
  return Number(v.trim());
}

/** ObjectParts: the count, and a page of parts with their checksums when the object keeps them. */
function objectPartsElement(info: HeadResult, maxParts: number, marker: number): XmlNode {
  const withSums = info.parts !== undefined && info.parts.length > 0 && info.parts.every((p) => p.checksum !== undefined);
  if (!withSums) return element('ObjectParts', element('PartsCount', info.partCount));
  const after = info.parts!.filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  return element(
    'ObjectParts',
    element('PartsCount', info.partCount),
    element('PartNumberMarker', marker),
    element('NextPartNumberMarker', page.length > 0 ? page[page.length - 1]!.partNumber : marker),
    element('MaxParts', maxParts),
    element('IsTruncated', truncated ? 'true' : 'false'),
    ...page.map((p) => element('Part', element('PartNumber', p.partNumber), element('Size', p.size), element(`Checksum${p.checksum!.algorithm}`, p.checksum!.value.toString('base64')))),
  );
}

/**
 * GetObjectAttributes (`GET ?attributes`, `x-amz-object-attributes: ETag,ObjectSize,…`): the object's
 * metadata as XML without its bytes. ObjectParts gives the parts count of a multipart object and, when it
 * keeps its parts' checksums (format 8), a page of `Part` entries (`x-amz-max-parts`, default and most
 * 1000; `x-amz-part-number-marker`: parts after it). As S3, no `Part` entries for an object without.
 */
export async function getObjectAttributes(r: S3Request): Promise<void> {
  const raw = r.header('x-amz-object-attributes');
  const wanted = new Set((raw ?? '').split(',').map((a) => a.trim()).filter((a) => a !== ''));
  if (wanted.size === 0) throw new S3Error('InvalidArgument', 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty', { extra: { ArgumentName: 'x-amz-object-attributes' } });
  for (const a of wanted) {
    if (!(OBJECT_ATTRIBUTES as readonly string[]).includes(a)) throw new S3Error('InvalidArgument', 'Invalid attribute name specified.', { extra: { ArgumentName: 'x-amz-object-attributes', ArgumentValue: a } });
  }
  const maxParts = partListHeader(r, 'x-amz-max-parts', 1000);
  const marker = partListHeader(r, 'x-amz-part-number-marker', 0);
  const info = await r.ctx.engine.headObject(r.bucket, r.key, { versionId: versionIdOf(r), parts: wanted.has('ObjectParts') });
  const children = [
    wanted.has('ETag') ? element('ETag', info.etag) : null,
    wanted.has('Checksum') && info.checksums.length > 0 ? element('Checksum', ...objectChecksumElements(info)) : null,
    wanted.has('ObjectParts') && info.partCount > 0 ? objectPartsElement(info, Math.min(maxParts, 1000), marker) : null,
    wanted.has('StorageClass') ? element('StorageClass', info.storageClass === 'STANDARD' ? 'STANDARD' : 'GLACIER_IR') : null,
    wanted.has('ObjectSize') ? element('ObjectSize', info.size) : null,
  ];
  const headers: Record<string, string> = { 'Last-Modified': httpDate(info.lastModifiedMs) };
  if (info.versionId !== '') headers['x-amz-version-id'] = info.versionId;
  else nullVersionHeader(r, headers);
  sendXml(r, 200, elementWithAttrs('GetObjectAttributesResponse', { xmlns: S3_XMLNS }, ...children), headers);
}
