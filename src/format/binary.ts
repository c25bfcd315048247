// Little-endian binary writer/reader used by every encoder in src/format (docs/FORMAT.md, preamble).
// u64 fields carry JavaScript numbers: values ≥ 2^53 are refused on read (corruption), never rounded.

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Growable writer; `finish()` returns a Buffer that owns exactly the written bytes. */
export class BinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 out of range: ${v}`);
    this.ensure(8);
    // Byte stores (a Uint8Array keeps the low 8 bits of each): a third faster than two writeUInt32LE
    // calls in the checkpoint encoder, where every row has five u64 fields.
    const lo = v >>> 0;
    const hi = (v - lo) / 0x1_0000_0000;
    const b = this.buf;
    let p = this.pos;
    b[p++] = lo;
    b[p++] = lo >>> 8;
    b[p++] = lo >>> 16;
    b[p++] = lo >>> 24;
    b[p++] = hi;
    b[p++] = hi >>> 8;
    b[p++] = hi >>> 16;
    b[p++] = hi >>> 24;
    this.pos = p;
    return this;
  }
  f64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  private str(s: string, lenBytes: 1 | 2 | 4): this {
    const max = lenBytes === 1 ? 0xff : lenBytes === 2 ? 0xffff : 0xffff_ffff;
    // One pass for the common short string: room for the worst case (3 bytes per UTF-16 unit), write,
    // then the length in front. A string too long for the field is refused before anything is written.
    if (s.length * 3 <= max) {
      this.ensure(lenBytes + s.length * 3);
      const len = s.length === 0 ? 0 : this.buf.write(s, this.pos + lenBytes, 'utf8');
      if (lenBytes === 1) this.buf[this.pos] = len;
      else if (lenBytes === 2) this.buf.writeUInt16LE(len, this.pos);
      else this.buf.writeUInt32LE(len, this.pos);
      this.pos += lenBytes + len;
      return this;
    }
    const len = Buffer.byteLength(s, 'utf8');
    if (len > max) throw new RangeError(`string of ${len} bytes too long for str${lenBytes * 8}`);
    if (lenBytes === 1) this.u8(len);
    else if (lenBytes === 2) this.u16(len);
    else this.u32(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
    return this;
  }
  str8(s: string): this {
    return this.str(s, 1);
  }
  str16(s: string): this {
    return this.str(s, 2);
  }
  str32(s: string): this {
    return this.str(s, 4);
  }
  /** Overwrites a u32 already written at `at` (used for length back-patching). */
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
  /** Starts over in the same memory: what `finish()` returned before is overwritten by later writes. */
  reset(): void {
    this.pos = 0;
  }
}

/** Bounds-checked reader over one buffer; every overrun is a FormatError, never a partial value. */
export class BinaryReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new FormatError(`truncated: need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    const v = hi * 0x1_0000_0000 + lo;
    if (v > MAX_SAFE) throw new FormatError(`u64 value above 2^53 at ${this.pos - 8}`);
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Moves past `n` bytes (checked like a read of them). */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  private strN(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
  str8(): string {
    return this.strN(this.u8());
  }
  str16(): string {
    return this.strN(this.u16());
  }
  str32(): string {
    return this.strN(this.u32());
  }
  expectEnd(what: string): void {
    if (this.pos !== this.end) throw new FormatError(`${what}: ${this.end - this.pos} trailing bytes`);
  }
}
