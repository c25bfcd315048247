// Small request bodies (XML documents of bucket and multi-object operations): read with a size limit,
// de-framed if aws-chunked, and checked against Content-MD5, the signed SHA-256 and x-amz-checksum-*.
import { prepareBody } from './request-body.js';
import { readSmallBody, type S3Request } from './http-util.js';
import { createHash } from 'node:crypto';
import { S3Error } from './s3-error.js';

/** `checksumHeadersAreObjects`: x-amz-checksum-* headers are about an object (CompleteMultipartUpload), not this body. */
export async function readVerifiedBody(r: S3Request, maxBytes: number, checksumHeadersAreObjects = false): Promise<Buffer> {
  if (r.header('content-length') === undefined && r.header('transfer-encoding') === undefined) return Buffer.alloc(0);
  const body = prepareBody(r, { defaultChecksum: false, headersAreObjects: checksumHeadersAreObjects });
  if (body.expectedSize !== undefined && body.expectedSize > maxBytes) throw new S3Error('MalformedXML', `the request body is larger than ${maxBytes} bytes`);
  const buf = await readSmallBody(body.source, maxBytes);
  if (buf === undefined) throw new S3Error('MalformedXML', `the request body is larger than ${maxBytes} bytes`);
  if (body.expectedSize !== undefined && buf.length !== body.expectedSize) throw new S3Error('IncompleteBody');
  if (body.expectedMd5 && !createHash('md5').update(buf).digest().equals(body.expectedMd5)) throw new S3Error('BadDigest');
  body.verify();
  return buf;
}
