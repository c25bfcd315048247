// keyedHmacSha256 (s3/sigv4-crypto.ts) builds HMAC-SHA256 from two one-shot SHA-256s over a key's cached
// padded blocks, reusing one message buffer per key: it must give createHmac's bytes for every key length,
// every message length (a shorter message after a longer one too) and any UTF-8.
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacOneShotActive, keyedHmacSha256, signatureHex, signatureMatches } from '../src/s3/sigv4-crypto.js';

const reference = (key: Uint8Array, msg: string): Buffer => createHmac('sha256', key).update(msg, 'utf8').digest();

describe('keyedHmacSha256', () => {
  it('takes the one-shot path on this Node (crypto.hash with a Buffer result: Node 20.12 and later)', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect(hmacOneShotActive).toBe(major > 20 || (major === 20 && minor >= 12));
  });

  it('gives RFC 4231 test cases 1 and 2', () => {
    expect(keyedHmacSha256(Buffer.alloc(20, 0x0b), 'Hi There').toString('hex')).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(keyedHmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('equals createHmac for keys of 0 to 100 bytes and messages of 0 to 1,500 characters, one key reused', () => {
    for (const keyLen of [0, 1, 31, 32, 33, 63, 64, 65, 100]) {
      const key = randomBytes(keyLen);
      // Lengths up and down, so a message shorter than the one before reuses the key's buffer.
      for (const len of [0, 1, 55, 56, 63, 64, 119, 120, 200, 700, 3, 1500, 64, 0, 511, 512, 513]) {
        const msg = 'x'.repeat(len);
        expect(keyedHmacSha256(key, msg).equals(reference(key, msg)), `key ${keyLen} B, message ${len}`).toBe(true);
      }
    }
  });

  it('hashes the UTF-8 bytes of the message, multibyte characters included', () => {
    const key = randomBytes(32);
    for (const msg of ['é', 'AWS4-HMAC-SHA256\n20261128T000000Z\n20261128/eu-west-1/s3/aws4_request\n' + 'ab'.repeat(32), '😀'.repeat(300), 'ü'.repeat(600) + 'a']) {
      expect(keyedHmacSha256(key, msg).equals(reference(key, msg))).toBe(true);
    }
  });

  it('returns a buffer of the caller: a later call does not change it', () => {
    const key = randomBytes(32);
    const first = keyedHmacSha256(key, 'one');
    const copy = Buffer.from(first);
    keyedHmacSha256(key, 'two');
    expect(first.equals(copy)).toBe(true);
  });

  it('backs the signature check and the hex signature', () => {
    const key = randomBytes(32);
    const toSign = 'AWS4-HMAC-SHA256\n20261128T000000Z\nscope\n' + 'cd'.repeat(32);
    const hex = reference(key, toSign).toString('hex');
    expect(signatureHex(key, toSign)).toBe(hex);
    expect(signatureMatches(key, toSign, hex)).toBe(true);
    expect(signatureMatches(key, toSign, (hex[0] === 'a' ? 'b' : 'a') + hex.slice(1))).toBe(false);
    expect(signatureMatches(key, toSign + ' ', hex)).toBe(false);
  });
});
