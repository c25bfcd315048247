// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
// ListMultipartUploads. Parts go into the log as they arrive; Complete writes one commit record that
// references them (no data is copied).
import { compareUtf8 } from '../engine/utf8-order.js';
import { awsUriEncode } from './aws-uri.js';
import { resolveChecksumType } from '../engine/checksums.js';
import type { ObjectChecksum, UploadInfo } from '../engine/types.js';
import { CHECKSUM_HEADERS, decodeChecksumValue, headerFor, parseAlgorithm, type ChecksumName } from './checksums.js';
import { isoDate, quoteEtag, sendEmpty, sendXml, type S3Request } from './http-util.js';
import { contentOptions, objectChecksumElements } from './object-headers.js';
import { owner } from './ops-bucket.js';
import { checkWriteConditions, copyConditions, copySourceVersionHeader, parseCopySource, parseRange, partNumberOf, writeCondition } from './ops-object.js';
import { prepareBody } from './request-body.js';
import { S3Error } from './s3-error.js';
import { lockOptions } from './ops-object-lock.js';
import { readVerifiedBody } from './small-body.js';
import { childElements, childText, element, elementWithAttrs, localName, parseXml, S3_XMLNS } from './xml.js';

function uploadIdOf(r: S3Request): string {
  const id = r.query.get('uploadId');
  if (id === undefined || id === '') throw new S3Error('NoSuchUpload');
  return id;
}


/** x-amz-checksum-type: FULL_OBJECT or COMPOSITE (undefined when absent). */
function checksumTypeHeader(r: S3Request): ObjectChecksum['type'] {
  const v = r.header('x-amz-checksum-type');
  if (v === undefined || v === '') return undefined;
  const up = v.trim().toUpperCase();
  if (up === 'FULL_OBJECT' || up === 'COMPOSITE') return up;
  throw new S3Error('InvalidRequest', `Value for x-amz-checksum-type header is invalid: ${v} (use FULL_OBJECT or COMPOSITE)`);
}

export async function createMultipartUpload(r: S3Request): Promise<void> {
  const c = contentOptions(r);
  const checksumAlgorithm = parseAlgorithm(r.header('x-amz-checksum-algorithm'));
  const checksumType = checksumTypeHeader(r);
  if (checksumType !== undefined && checksumAlgorithm === undefined) {
    throw new S3Error('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
  }
  const resolved = checksumAlgorithm ? resolveChecksumType(checksumAlgorithm, checksumType) : undefined;
  if (resolved && 'refused' in resolved) throw new S3Error('InvalidRequest', `${resolved.refused[0].toUpperCase()}${resolved.refused.slice(1)}.`);
  // The lock asked for here is kept in the upload record and stamped on the object at completion.
  const upload = await r.ctx.engine.createMultipartUpload(r.bucket, r.key, { ...c, lock: lockOptions(r), checksumAlgorithm, checksumType });
  const headers: Record<string, string> = {};
  if (upload.checksumAlgorithm) headers['x-amz-checksum-algorithm'] = upload.checksumAlgorithm;
  if (upload.checksumType) headers['x-amz-checksum-type'] = upload.checksumType;
  sendXml(
    r,
    200,
    elementWithAttrs('InitiateMultipartUploadResult', { xmlns: S3_XMLNS }, element('Bucket', r.bucket), element('Key', r.key), element('UploadId', upload.uploadId)),
    headers,
  );
}

export async function uploadPart(r: S3Request): Promise<void> {
  const uploadId = uploadIdOf(r);
  const partNumber = partNumberOf(r);
  if (r.header('x-amz-copy-source') !== undefined) return uploadPartCopy(r, uploadId, partNumber);
  // Refuse early (before reading the body) if the upload does not exist.
  const upload = r.ctx.engine.getMultipartUpload(r.bucket, r.key, uploadId);
  // Every part gets the checksum its upload will combine at completion (the declared one, else CRC64NVME).
  const declared = upload.checksumAlgorithm;
  const body = prepareBody(r, { defaultChecksum: false, compute: declared ?? 'CRC64NVME', declared });
  const part = await r.ctx.engine.uploadPart(r.bucket, r.key, uploadId, partNumber, body.source, {
    expectedSize: body.expectedSize,
    expectedMd5: body.expectedMd5,
    beforeCommit: () => body.verify(),
  });
  const headers: Record<string, string> = { ETag: quoteEtag(part.etag) };
  for (const c of part.checksums) {
    if (c.algorithm === declared || body.named.has(c.algorithm)) headers[headerFor(c.algorithm)] = c.value.toString('base64');
  }
  sendEmpty(r, 200, headers);
}

/** The checksums of a part S3 shows: the upload's algorithm if it declared one, else all kept. */
function shownPartChecksums(upload: UploadInfo, checksums: ObjectChecksum[]): ObjectChecksum[] {
  return upload.checksumAlgorithm ? checksums.filter((c) => c.algorithm === upload.checksumAlgorithm) : checksums;
}

async function uploadPartCopy(r: S3Request, uploadId: string, partNumber: number): Promise<void> {
  const src = parseCopySource(r.header('x-amz-copy-source') as string);
  const upload = r.ctx.engine.getMultipartUpload(r.bucket, r.key, uploadId);
  const rangeHeader = r.header('x-amz-copy-source-range');
  const parsed = rangeHeader !== undefined ? parseRange(rangeHeader) : undefined;
  // Only `bytes=first-last`, both given (S3 refuses `bytes=5-` and `bytes=-5` here, unlike a GET's Range).
  const range = parsed && !('suffix' in parsed) && /-\s*\d+\s*$/.test(rangeHeader!) ? parsed : undefined;
  if (rangeHeader !== undefined && range === undefined) {
    throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', {
      extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: rangeHeader },
    });
  }
  const got = await r.ctx.engine.getObject(src.bucket, src.key, range ? { range, versionId: src.versionId } : { versionId: src.versionId });
  try {
    copyConditions(r, got.info);
    if (range && range.end >= got.info.size) throw new S3Error('InvalidRange');
  } catch (err) {
    got.body.destroy();
    throw err;
  }
  const expectedSize = got.range ? got.range.end - got.range.start + 1 : got.info.size;
  // Neither checksums nor beforeCommit: the engine computes the checksum the upload keeps for its parts.
  const part = await r.ctx.engine.uploadPart(r.bucket, r.key, uploadId, partNumber, got.body, { expectedSize });
  const headers: Record<string, string> = {};
  copySourceVersionHeader(r, src.bucket, got.info, headers);
  sendXml(
    r,
    200,
    element(
      'CopyPartResult',
      element('LastModified', isoDate(part.lastModifiedMs)),
      element('ETag', quoteEtag(part.etag)),
      upload.checksumAlgorithm ? shownPartChecksums(upload, part.checksums).map((c) => element(`Checksum${c.algorithm}`, c.value.toString('base64'))) : null,
    ),
    headers,
  );
}

export async function completeMultipartUpload(r: S3Request): Promise<void> {
  const uploadId = uploadIdOf(r);
  // If-None-Match: * / If-Match (conditional writes): checked early, and again atomically at commit.
  await checkWriteConditions(r);
  // Its x-amz-checksum-* header (if any) is the object's checksum, checked at completion.
  const body = await readVerifiedBody(r, 4 * 1024 * 1024, true);
  const doc = parseXml(body, { maxBytes: 4 * 1024 * 1024 });
  if (localName(doc.name) !== 'CompleteMultipartUpload') throw new S3Error('MalformedXML');
  const parts = childElements(doc, 'Part').map((p) => {
    const n = childText(p, 'PartNumber') ?? '';
    if (!/^\d{1,5}$/.test(n.trim())) throw new S3Error('MalformedXML', 'PartNumber must be an integer');
    const checksums: ObjectChecksum[] = [];
    for (const alg of Object.values(CHECKSUM_HEADERS)) {
      const v = childText(p, `Checksum${alg}`);
      if (v !== undefined) checksums.push({ algorithm: alg, value: partChecksumValue(alg, v) });
    }
    return { partNumber: Number(n.trim()), etag: childText(p, 'ETag')?.trim(), checksums };
  });
  if (parts.length === 0) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  const upload = r.ctx.engine.getMultipartUpload(r.bucket, r.key, uploadId);
  const declared = upload.checksumAlgorithm;
  if (declared && upload.checksumType === 'COMPOSITE') {
    // The composite checksum is made of the parts' checksums: S3 wants the client to name each.
    const missing = parts.find((p) => !p.checksums.some((c) => c.algorithm === declared));
    if (missing) {
      throw new S3Error(
        'InvalidRequest',
        `The upload was created using a ${declared.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${missing.partNumber} in the request.`,
      );
    }
  }
  const info = await r.ctx.engine.completeMultipartUpload(r.bucket, r.key, uploadId, parts, {
    partBytesMin: r.ctx.partBytesMin,
    expectedChecksumType: checksumTypeHeader(r),
    expectedChecksum: expectedObjectChecksum(r, parts.length),
    expectedSize: mpObjectSize(r),
    condition: writeCondition(r),
  });
  sendXml(
    r,
    200,
    elementWithAttrs(
      'CompleteMultipartUploadResult',
      { xmlns: S3_XMLNS },
      element('Location', `/${r.bucket}/${awsUriEncode(r.key, true)}`),
      element('Bucket', r.bucket),
      element('Key', r.key),
      element('ETag', quoteEtag(info.etag)),
      objectChecksumElements(info),
    ),
    info.versionId !== '' ? { 'x-amz-version-id': info.versionId } : {},
  );
}

/** x-amz-mp-object-size: the object size the client expects at completion. */
function mpObjectSize(r: S3Request): number | undefined {
  const v = r.header('x-amz-mp-object-size');
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v.trim())) throw new S3Error('InvalidArgument', 'x-amz-mp-object-size must be a non-negative integer', { extra: { ArgumentName: 'x-amz-mp-object-size', ArgumentValue: v } });
  return Number(v.trim());
}

/** A part's checksum in a CompleteMultipartUpload body; a malformed one is refused like a bad header. */
function partChecksumValue(alg: ChecksumName, text: string): Buffer {
  try {
    return decodeChecksumValue(alg, text);
  } catch {
    throw new S3Error('InvalidRequest', `The Checksum${alg} of a part in the request is not a valid ${alg} value.`);
  }
}

/**
 * The object checksum the client sent with CompleteMultipartUpload (at most one x-amz-checksum-* header):
 * FULL_OBJECT as a plain value, COMPOSITE as `value-N` with N the number of parts.
 */
function expectedObjectChecksum(r: S3Request, partCount: number): ObjectChecksum | undefined {
  const sent = Object.keys(CHECKSUM_HEADERS).filter((h) => r.header(h) !== undefined);
  if (sent.length === 0) return undefined;
  if (sent.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const algorithm = CHECKSUM_HEADERS[sent[0]!]!;
  const text = (r.header(sent[0]!) as string).trim();
  const m = /^(.*)-(\d{1,5})$/.exec(text);
  if (m && Number(m[2]) !== partCount) {
    throw new S3Error('BadDigest', `The ${algorithm} you specified is of ${m[2]} parts; the request lists ${partCount}.`);
  }
  const value = decodeChecksumValue(algorithm, m ? m[1]! : text);
  return m ? { algorithm, value, type: 'COMPOSITE' } : { algorithm, value };
}

export async function abortMultipartUpload(r: S3Request): Promise<void> {
  await r.ctx.engine.abortMultipartUpload(r.bucket, r.key, uploadIdOf(r));
  sendEmpty(r, 204);
}

function intParam(r: S3Request, name: string, dflt: number, max: number): number {
  const v = r.query.get(name);
  if (v === undefined || v === '') return dflt;
  if (!/^\d{1,9}$/.test(v)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`, { extra: { ArgumentName: name, ArgumentValue: v } });
  return Math.min(Number(v), max);
}

export async function listParts(r: S3Request): Promise<void> {
  const uploadId = uploadIdOf(r);
  const maxParts = intParam(r, 'max-parts', 1000, 1000);
  const marker = intParam(r, 'part-number-marker', 0, 10000);
  const { upload, parts } = r.ctx.engine.listParts(r.bucket, r.key, uploadId);
  const after = parts.filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  sendXml(
    r,
    200,
    elementWithAttrs(
      'ListPartsResult',
      { xmlns: S3_XMLNS },
      element('Bucket', r.bucket),
      element('Key', r.key),
      element('UploadId', uploadId),
      element('Initiator', element('ID', r.ctx.ownerId), element('DisplayName', r.ctx.ownerName)),
      owner(r),
      element('StorageClass', 'STANDARD'),
      element('PartNumberMarker', marker),
      element('NextPartNumberMarker', page.length > 0 ? page[page.length - 1].partNumber : marker),
      element('MaxParts', maxParts),
      element('IsTruncated', truncated),
      upload.checksumAlgorithm ? element('ChecksumAlgorithm', upload.checksumAlgorithm) : null,
      upload.checksumType ? element('ChecksumType', upload.checksumType) : null,
      page.map((p) =>
        element(
          'Part',
          element('PartNumber', p.partNumber),
          element('LastModified', isoDate(p.lastModifiedMs)),
          element('ETag', quoteEtag(p.etag)),
          element('Size', p.size),
          shownPartChecksums(upload, p.checksums).map((c) => element(`Checksum${c.algorithm}`, c.value.toString('base64'))),
        ),
      ),
    ),
  );
}

export async function listMultipartUploads(r: S3Request): Promise<void> {
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') ?? '';
  const keyMarker = r.query.get('key-marker') ?? '';
  const uploadIdMarker = r.query.get('upload-id-marker') ?? '';
  const maxUploads = intParam(r, 'max-uploads', 1000, 1000);
  const encode = r.query.get('encoding-type') === 'url' ? (s: string) => awsUriEncode(s, true) : (s: string) => s;
  const all = r.ctx.engine.listMultipartUploads(r.bucket).filter((u) => {
    if (!u.key.startsWith(prefix)) return false;
    if (keyMarker === '') return true;
    const c = compareUtf8(u.key, keyMarker);
    return c > 0 || (c === 0 && uploadIdMarker !== '' && Number(u.uploadId) > Number(uploadIdMarker));
  });
  const uploads: typeof all = [];
  const prefixes: string[] = [];
  let truncated = false;
  for (const u of all) {
    let cp: string | undefined;
    if (delimiter !== '') {
      const at = u.key.indexOf(delimiter, prefix.length);
      if (at !== -1) cp = u.key.slice(0, at + delimiter.length);
    }
    if (cp !== undefined && prefixes[prefixes.length - 1] === cp) continue;
    if (uploads.length + prefixes.length >= maxUploads) {
      truncated = true;
      break;
    }
    if (cp !== undefined) prefixes.push(cp);
    else uploads.push(u);
  }
  const last = uploads[uploads.length - 1];
  sendXml(
    r,
    200,
    elementWithAttrs(
      'ListMultipartUploadsResult',
      { xmlns: S3_XMLNS },
      element('Bucket', r.bucket),
      element('KeyMarker', encode(keyMarker)),
      element('UploadIdMarker', uploadIdMarker),
      truncated && last ? element('NextKeyMarker', encode(last.key)) : null,
      truncated && last ? element('NextUploadIdMarker', last.uploadId) : null,
      element('Prefix', encode(prefix)),
      delimiter !== '' ? element('Delimiter', encode(delimiter)) : null,
      element('MaxUploads', maxUploads),
      element('IsTruncated', truncated),
      uploads.map((u) =>
        element(
          'Upload',
          element('Key', encode(u.key)),
          element('UploadId', u.uploadId),
          element('Initiator', element('ID', r.ctx.ownerId), element('DisplayName', r.ctx.ownerName)),
          owner(r),
          element('StorageClass', 'STANDARD'),
          element('Initiated', isoDate(u.initiatedMs)),
          u.checksumAlgorithm ? element('ChecksumAlgorithm', u.checksumAlgorithm) : null,
          u.checksumType ? element('ChecksumType', u.checksumType) : null,
        ),
      ),
      prefixes.map((p) => element('CommonPrefixes', element('Prefix', encode(p)))),
    ),
  );
}
