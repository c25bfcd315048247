// The server's bound on open connections (S3ServerOptions.connectionsMax): one more is closed as it
// arrives, the open ones keep working, and a slot freed is usable again at once.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedRequest } from './helpers/s3-raw.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';

let h: S3Harness;
beforeAll(async () => {
  h = await startHarness({ connectionsMax: 2 });
});
afterAll(async () => {
  await h?.close();
});

/** A connection on which a health probe was answered (so the server has surely counted it), kept open. */
async function openConnection(): Promise<Socket> {
  const s = connect(h.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.write('GET /_sediment/health HTTP/1.1\r\nHost: x\r\n\r\n');
    s.once('data', (b: Buffer) => (b.toString().startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(b.toString()))));
  });
  return s;
}

/** What a new connection gets: an answer to a health probe, or closed without one. */
async function probe(): Promise<'answered' | 'closed'> {
  const s = connect(h.port, '127.0.0.1');
  return new Promise((resolve) => {
    s.on('error', () => undefined);
    s.write('GET /_sediment/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', () => undefined);
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString()));
    s.on('close', () => resolve(got.startsWith('HTTP/1.1 200') ? 'answered' : 'closed'));
  });
}

describe('connectionsMax', () => {
  it('closes a connection past the bound; the open ones keep working; a freed slot is usable', async () => {
    const a = await openConnection();
    const b = await openConnection();
    expect(await probe()).toBe('closed');
    // The two open connections still carry requests.
    for (const s of [a, b]) {
      const answered = new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())));
      s.write('GET /_sediment/health HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    }
    a.destroy();
    await new Promise((r) => setTimeout(r, 50)); // the server sees the close
    expect(await probe()).toBe('answered');
    b.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await signedRequest({ method: 'PUT', path: '/after-bound', port: h.port, agent: false })).status).toBe(200);
  });
});
