// A deliberately independent little-endian reader for golden tests: it follows the grammar of
// docs/FORMAT.md directly instead of reusing src/format's BinaryReader, so a bug shared by an encoder
// and its decoder cannot hide behind a round trip.
export class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  /** u64 as a number; throws if it is not below 2^53 (FORMAT.md preamble). */
  u64(): number {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`u64 ${v} at ${this.pos - 8} is not below 2^53`);
    return Number(v);
  }
  u64big(): bigint {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error(`need ${n} bytes at ${this.pos}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  str8(): string {
    return this.bytes(this.u8()).toString('utf8');
  }
  str16(): string {
    return this.bytes(this.u16()).toString('utf8');
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}
