// DeleteObjects (POST ?delete): up to 1000 keys (with VersionId, ETag: a conditional delete), Quiet mode, per-key errors in the
// result (AccessDenied for a locked version), x-amz-bypass-governance-retention for the whole request.
import { isS3Error } from './s3-error.js';
import { sendXml, type S3Request } from './http-util.js';
import { readVerifiedBody } from './small-body.js';
import { S3Error } from './s3-error.js';
import { toS3Error } from './errors.js';
import { bypassGovernance } from './ops-object-lock.js';
import { childElements, childText, element, elementWithAttrs, parseXml, S3_XMLNS, localName } from './xml.js';

export async function deleteObjects(r: S3Request): Promise<void> {
  if (r.header('content-md5') === undefined && !Object.keys(r.req.headers).some((h) => h.startsWith('x-amz-checksum-'))) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
  }
  const body = await readVerifiedBody(r, 2 * 1024 * 1024);
  const doc = parseXml(body, { maxBytes: 2 * 1024 * 1024 });
  if (localName(doc.name) !== 'Delete') throw new S3Error('MalformedXML');
  const quiet = (childText(doc, 'Quiet') ?? 'false').trim().toLowerCase() === 'true';
  const objects = childElements(doc, 'Object');
  if (objects.length === 0 || objects.length > 1000) throw new S3Error('MalformedXML', 'a Delete request names 1 to 1000 objects');
  r.ctx.engine.headBucket(r.bucket);
  const bypass = bypassGovernance(r);
  const targets = objects.map((o) => {
    const key = childText(o, 'Key');
    if (key === undefined) throw new S3Error('MalformedXML');
    // <ETag>: a conditional delete of that object, as If-Match on DeleteObject.
    return { key, versionId: childText(o, 'VersionId'), ifMatch: childText(o, 'ETag') };
  });
  // Concurrent deletes share fsyncs (group commit); results keep the request's order.
  const results = await Promise.all(
    targets.map(async ({ key, versionId, ifMatch }) => {
      const v = versionId !== undefined ? element('VersionId', versionId) : null;
      try {
        const res = await r.ctx.engine.deleteObject(r.bucket, key, { versionId, bypassGovernance: bypass, ifMatch });
        if (quiet) return null;
        // A delete that created a marker names the marker; one that removed a marker by its version id
        // names that version there too (S3's DeleteMarkerVersionId: "the version ID of the object version deleted").
        const marker = res.deleteMarker ? [element('DeleteMarker', true), element('DeleteMarkerVersionId', versionId ?? res.versionId ?? 'null')] : [];
        return element('Deleted', element('Key', key), v, ...marker);
      } catch (err) {
        const e = isS3Error(err) ? err : toS3Error(err);
        return element('Error', element('Key', key), v, element('Code', e.code), element('Message', e.message));
      }
    }),
  );
  sendXml(r, 200, elementWithAttrs('DeleteResult', { xmlns: S3_XMLNS }, ...results));
}
