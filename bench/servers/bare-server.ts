// The HTTP ceiling of the S3 bench: a node:http server that speaks just enough S3 for the load
// generator and does no work of its own. PUT drains the body and remembers only the key, its size and
// its x-amz-meta-loadgen data spec; GET answers from memory with the deterministic bytes for the key
// (src/loadgen/data.ts), so the client's byte verification passes. No authentication, no ETag, no disk.
// `corrupt` flips one byte of every GET body (the test that verification catches wrong bytes).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { objectBody, objectPieces, parseDataSpec, PIECE_BYTES_MAX, type DataSpec } from '../../src/loadgen/data.js';

export interface BareServerOptions {
  corrupt?: boolean;
}

interface Stored {
  size: number;
  spec: DataSpec;
}

function reply(res: ServerResponse, status: number, body = '', type = 'application/xml'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function notFound(res: ServerResponse, key: string): void {
  reply(res, 404, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Key>${key}</Key></Error>`);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function sendObject(res: ServerResponse, key: string, o: Stored, corrupt: boolean): Promise<void> {
  res.writeHead(200, ['Content-Type', 'application/octet-stream', 'Content-Length', String(o.size)]);
  if (o.size <= PIECE_BYTES_MAX && !corrupt) {
    res.end(objectBody(o.spec, key, o.size));
    return;
  }
  let at = 0;
  const flipAt = Math.floor(o.size / 2);
  for (let piece of objectPieces(o.spec, key, o.size)) {
    if (corrupt && flipAt >= at && flipAt < at + piece.length) {
      piece = Buffer.from(piece);
      piece[flipAt - at] ^= 0x01;
    }
    at += piece.length;
    if (!res.write(piece)) {
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
      if (res.destroyed) return;
    }
  }
  res.end();
}

function list(res: ServerResponse, objects: Map<string, Stored>, bucket: string, q: URLSearchParams): void {
  const prefix = `${bucket}/${q.get('prefix') ?? ''}`;
  const after = q.get('continuation-token') ?? q.get('start-after') ?? '';
  const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000));
  const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k.slice(bucket.length + 1) > after).sort();
  const page = keys.slice(0, maxKeys).map((k) => k.slice(bucket.length + 1));
  const truncated = keys.length > maxKeys;
  const body =
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${escapeXml(bucket)}</Name><KeyCount>${page.length}</KeyCount>` +
    `<IsTruncated>${truncated}</IsTruncated>` +
    (truncated ? `<NextContinuationToken>${escapeXml(page[page.length - 1]!)}</NextContinuationToken>` : '') +
    page.map((k) => `<Contents><Key>${escapeXml(k)}</Key><Size>${objects.get(`${bucket}/${k}`)!.size}</Size></Contents>`).join('') +
    '</ListBucketResult>';
  reply(res, 200, body);
}

/** Splits `/bucket/key?query` without a URL object (this server must cost as little as possible per request). */
function splitTarget(target: string): { path: string; bucket: string; key: string; query: string } {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target.slice(1) : target.slice(1, q);
  const path = rawPath.includes('%') ? decodeURIComponent(rawPath) : rawPath;
  const slash = path.indexOf('/');
  return { path, bucket: slash < 0 ? path : path.slice(0, slash), key: slash < 0 ? '' : path.slice(slash + 1), query: q < 0 ? '' : target.slice(q + 1) };
}

const EMPTY_OK = ['Content-Length', '0'];

export function createBareServer(opts: BareServerOptions = {}): Server {
  const objects = new Map<string, Stored>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const { path, bucket, key, query } = splitTarget(req.url ?? '/');
    if (req.method === 'PUT') {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => {
        if (key !== '') {
          const spec = parseDataSpec(String(req.headers['x-amz-meta-loadgen'] ?? '')) ?? { kind: 'zero', seed: 0 };
          objects.set(path, { size, spec });
        }
        res.writeHead(200, EMPTY_OK).end();
      });
      return;
    }
    req.resume();
    if (req.method === 'GET' && key === '') return list(res, objects, bucket, new URLSearchParams(query));
    const o = objects.get(path);
    if (req.method === 'DELETE') {
      objects.delete(path);
      res.writeHead(204).end();
      return;
    }
    if (!o) return notFound(res, key);
    if (req.method === 'HEAD') {
      res.writeHead(200, ['Content-Length', String(o.size)]).end();
      return;
    }
    if (req.method === 'GET') {
      sendObject(res, key, o, opts.corrupt ?? false).catch(() => res.destroy());
      return;
    }
    reply(res, 405);
  };
  return createServer({ keepAliveTimeout: 60_000 }, handle);
}
