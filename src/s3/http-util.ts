// Small helpers shared by the S3 operation handlers: the per-request context, date and ETag
// formatting, XML and error responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from '../engine/engine.js';
import type { AuthResult } from './sigv4.js';
import type { QueryPair } from './aws-uri.js';
import { renderXmlDocument, type XmlNode } from './xml.js';

export interface ServerContext {
  engine: Engine;
  region: string;
  /** Minimum size of every part but the last (S3: 5 MiB). */
  partBytesMin: number;
  /** Owner shown in listings. */
  ownerId: string;
  ownerName: string;
}

export interface S3Request {
  req: IncomingMessage;
  res: ServerResponse;
  ctx: ServerContext;
  requestId: string;
  method: string;
  /** Decoded bucket name ('' for the service root). */
  bucket: string;
  /** Decoded object key ('' when the request addresses a bucket). */
  key: string;
  query: Map<string, string>;
  rawQuery: readonly QueryPair[];
  auth: AuthResult;
  /** Lowercase header → first value. */
  header(name: string): string | undefined;
}

export function queryMap(pairs: readonly QueryPair[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of pairs) if (!m.has(k)) m.set(k, v);
  return m;
}

export function isoDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

// Objects written in the same second share their Last-Modified string: the last one is remembered.
let lastDateSecond = NaN;
let lastDateText = '';

export function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastDateSecond) {
    lastDateText = new Date(second * 1000).toUTCString();
    lastDateSecond = second;
  }
  return lastDateText;
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/**
 * Writes the status line and headers with the headers every response carries (x-amz-request-id,
 * x-amz-id-2, Server) in front. One flat array for node:http: no per-header setHeader bookkeeping.
 */
export function writeHead(res: ServerResponse, requestId: string, status: number, headers: Record<string, string> | readonly string[]): void {
  const flat = ['x-amz-request-id', requestId, 'x-amz-id-2', requestId, 'Server', 'sediment'];
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i++) flat.push(headers[i]!);
  } else {
    for (const name in headers) flat.push(name, (headers as Record<string, string>)[name]!);
  }
  res.writeHead(status, flat);
}

export function sendXml(r: S3Request, status: number, root: XmlNode, headers: Record<string, string> = {}): void {
  const body = Buffer.from(renderXmlDocument(root), 'utf8');
  writeHead(r.res, r.requestId, status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': String(body.length) });
  r.res.end(r.method === 'HEAD' ? undefined : body);
}

export function sendEmpty(r: S3Request, status: number, headers: Record<string, string> = {}): void {
  writeHead(r.res, r.requestId, status, { ...headers, 'Content-Length': '0' });
  r.res.end();
}

/** Reads a small request body (XML documents) into memory, refusing more than `maxBytes`. */
export async function readSmallBody(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const piece of source) {
    n += piece.length;
    if (n > maxBytes) return undefined;
    parts.push(Buffer.from(piece));
  }
  return Buffer.concat(parts);
}
