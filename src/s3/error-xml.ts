// The S3 error response body:
//   <?xml version="1.0" encoding="UTF-8"?>
//   <Error><Code/><Message/>[extra fields…]<Resource/><RequestId/></Error>
// in the order S3 writes it (extra fields such as Region, StringToSign or HeadersNotSigned come after
// Message). Contract: every value is escaped; an extra field whose name is not a valid XML name, or that
// collides with a standard field, is an invariant violation (they come from code, not from clients).
// The S3Error classes live in s3-error.ts and are re-exported here for convenience.

import { assert } from '../util/errors.js';
import { S3Error } from './s3-error.js';
import { element, renderXmlDocument, type XmlNode } from './xml.js';

export { S3Error, S3AuthError, S3_ERROR_DEFAULTS, isS3Error } from './s3-error.js';
export type { S3ErrorCode, S3ErrorOptions } from './s3-error.js';

const STANDARD_FIELDS = new Set(['Code', 'Message', 'Resource', 'RequestId', 'HostId']);

export interface ErrorBodyFields {
  code: string;
  message: string;
  /** The bucket or object path the request addressed, e.g. `/bucket/key`; omitted when undefined. */
  resource?: string;
  requestId: string;
  /** Extra fields, rendered in insertion order between Message and Resource. */
  extra?: Readonly<Record<string, string>>;
}

export function errorXmlNode(fields: ErrorBodyFields): XmlNode {
  const extras: XmlNode[] = [];
  for (const [name, value] of Object.entries(fields.extra ?? {})) {
    assert(!STANDARD_FIELDS.has(name), `extra error field ${name} collides with a standard field`);
    extras.push(element(name, value));
  }
  return element(
    'Error',
    element('Code', fields.code),
    element('Message', fields.message),
    extras,
    fields.resource === undefined ? null : element('Resource', fields.resource),
    element('RequestId', fields.requestId),
  );
}

/** Renders an error body from raw fields. */
export function renderErrorXml(fields: ErrorBodyFields): string {
  return renderXmlDocument(errorXmlNode(fields));
}

/** Renders the body for an S3Error; the HTTP status to send is `err.httpStatus`. */
export function renderS3ErrorXml(err: S3Error, context: { resource?: string; requestId: string }): string {
  return renderErrorXml({
    code: err.code,
    message: err.message,
    resource: context.resource,
    requestId: context.requestId,
    extra: err.extra,
  });
}
