/**
 * The protobuf wire format, as much of it as etcd's messages use: varints (int64, uint64, bool,
 * enums), length-delimited fields (bytes, strings, nested messages) and, for skipping unknown
 * fields, the fixed 32/64-bit types. Hand-written: it is a few dozen lines, where a proto loader
 * would be a dependency and a schema step (see the README's "Transport").
 *
 * 64-bit numbers: revisions, versions, counts and TTLs are JavaScript numbers (exact up to 2^53,
 * which etcd's counters never reach); IDs (leases, members, clusters) use all 64 bits and are
 * decimal strings.
 *
 * @module
 */

const EMPTY = Buffer.alloc(0);
const encoder = new TextEncoder();

/** An input that can be written as a bytes field. */
export type BytesLike = Uint8Array | string;

/** Appends protobuf fields to a growing buffer. Zero values are skipped, as proto3 does. */
export class Writer {
  #buf: Buffer;
  #len = 0;

  /**
   * An empty message.
   * @param size the first buffer's size in bytes; it grows as needed.
   */
  constructor(size = 64) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  /** Bytes written so far, without the gRPC frame's 5-byte prefix. */
  get length(): number {
    return this.#len;
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + extra));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  #varint(value: number): void {
    this.#ensure(10);
    let v = value;
    while (v > 127) {
      this.#buf[this.#len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#len++] = v;
  }

  #bigVarint(value: bigint): void {
    this.#ensure(10);
    let v = BigInt.asUintN(64, value);
    while (v > 127n) {
      this.#buf[this.#len++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.#buf[this.#len++] = Number(v);
  }

  #tag(field: number, wireType: number): void {
    this.#varint(field * 8 + wireType);
  }

  /** A non-negative whole number (int64/uint64/enum). */
  uint(field: number, value: number | undefined): this {
    if (!value) return this;
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`field ${field}: ${value} is not a uint`);
    this.#tag(field, 0);
    this.#varint(value);
    return this;
  }

  /** A 64-bit ID given as a decimal string (or a bigint). */
  id(field: number, value: string | bigint | undefined): this {
    if (value === undefined || value === '' || value === '0' || value === 0n) return this;
    this.#tag(field, 0);
    this.#bigVarint(typeof value === 'bigint' ? value : BigInt(value));
    return this;
  }

  /** Writes a bool field (nothing for `undefined` or `false`, the proto3 default). */
  bool(field: number, value: boolean | undefined): this {
    if (!value) return this;
    this.#tag(field, 0);
    this.#varint(1);
    return this;
  }

  /** Bytes; a string is written as its UTF-8. Empty values are skipped. */
  bytes(field: number, value: BytesLike | undefined): this {
    if (value === undefined || value.length === 0) return this;
    this.#tag(field, 2);
    if (typeof value === 'string') {
      const size = Buffer.byteLength(value);
      this.#varint(size);
      this.#ensure(size);
      this.#len += this.#buf.write(value, this.#len, 'utf8');
    } else {
      this.#varint(value.length);
      this.#ensure(value.length);
      this.#buf.set(value, this.#len);
      this.#len += value.length;
    }
    return this;
  }

  /** Bytes, written even when empty (a `oneof` member, where presence matters). */
  bytesAlways(field: number, value: BytesLike): this {
    if (value.length > 0) return this.bytes(field, value);
    this.#tag(field, 2);
    this.#varint(0);
    return this;
  }

  /** A whole number, written even when zero (a `oneof` member). */
  uintAlways(field: number, value: number): this {
    if (value !== 0) return this.uint(field, value);
    this.#tag(field, 0);
    this.#varint(0);
    return this;
  }

  /** A nested message, written even when empty (an empty message can carry meaning: a oneof). */
  message(field: number, write: (writer: Writer) => void): this {
    const inner = new Writer();
    write(inner);
    this.#tag(field, 2);
    this.#varint(inner.#len);
    this.#ensure(inner.#len);
    inner.#buf.copy(this.#buf, this.#len, 0, inner.#len);
    this.#len += inner.#len;
    return this;
  }

  /** The message as a gRPC frame: a 0 (not compressed) byte, the length (4 bytes), the message. */
  frame(): Buffer {
    const out = Buffer.allocUnsafe(5 + this.#len);
    out[0] = 0;
    out.writeUInt32BE(this.#len, 1);
    this.#buf.copy(out, 5, 0, this.#len);
    return out;
  }
}

/** Reads protobuf fields from a buffer, front to back. */
export class Reader {
  /** The message's bytes; `bytes()` returns views into it. */
  readonly buf: Buffer;
  /** The offset of the next byte to read; every read moves it, and `nested` sets it to a message's end. */
  pos: number;

  /** Reads `buf` from byte `start` on. */
  constructor(buf: Buffer, start = 0) {
    this.buf = buf;
    this.pos = start;
  }

  /** Reads a varint that fits in 53 bits; longer ones go through {@link bigVarint}. */
  varint(): number {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      const byte = buf[this.pos++];
      if (byte === undefined) throw new RangeError('truncated varint');
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
    // Eight bytes or more: a negative int64 or an ID past 2^49. Read it again, exactly.
    this.pos -= 7;
    return Number(BigInt.asIntN(64, this.bigVarint()));
  }

  /** Reads a varint as a bigint (for 64-bit ids and revisions). */
  bigVarint(): bigint {
    const buf = this.buf;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = buf[this.pos++];
      if (byte === undefined) throw new RangeError('truncated varint');
      value |= BigInt(byte & 127) << shift;
      if (byte < 128) return value;
      shift += 7n;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /**
   * An ID (uint64 or int64 read as unsigned): its exact decimal text. Read as two numbers, not
   * through {@link bigVarint}: every etcd answer's header carries the cluster and member IDs, random
   * 64-bit numbers, and a bigint per byte made most of the garbage of arming etcd v3 watches (about
   * 3 KB per watcher, S6 in bench/).
   */
  id(): string {
    const buf = this.buf;
    // Bits 0–27 from the first four bytes, bits 28–63 from the rest (at most 36 bits: exact).
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      const byte = buf[this.pos++];
      if (byte === undefined) throw new RangeError('truncated varint');
      const bits = byte & 127;
      if (i < 4) low += bits * 2 ** (7 * i);
      else if (i < 9) high += bits * 2 ** (7 * (i - 4));
      // The tenth byte holds bit 63 alone (what an int64 sets when negative: read as unsigned).
      else high += (bits & 1) * 2 ** 35;
      if (byte < 128) return decimal64(high, low);
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /** A field's tag: `field * 8 + wireType`, or -1 at `end`. */
  tag(end: number): number {
    return this.pos < end ? this.varint() : -1;
  }

  /** The length of a length-delimited field; the reader is then at its first byte. */
  length(): number {
    const size = this.varint();
    if (this.pos + size > this.buf.length) throw new RangeError('length-delimited field past the end');
    return size;
  }

  /** A bytes field, as a view into the buffer (no copy). */
  bytes(): Buffer {
    const size = this.length();
    if (size === 0) return EMPTY;
    const view = this.buf.subarray(this.pos, this.pos + size);
    this.pos += size;
    return view;
  }

  /** Reads a length-delimited field as UTF-8 text. */
  string(): string {
    const size = this.length();
    const text = this.buf.toString('utf8', this.pos, this.pos + size);
    this.pos += size;
    return text;
  }

  /** Skips a field of `wireType`. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        // The length first: `this.pos += this.length()` would add to the position before the length.
        const size = this.length();
        this.pos += size;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`unknown protobuf wire type ${wireType}`);
    }
  }
}

/** UTF-8 bytes of a key or value given as text. */
export function toBytes(value: BytesLike): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/**
 * The end of the range of every key starting with `prefix` (etcd's "prefix + 1"): the prefix with
 * its last byte below 0xff incremented and the rest dropped; `\0` (every key) when there is none.
 */
export function prefixEnd(prefix: BytesLike): Uint8Array {
  const bytes = Uint8Array.from(toBytes(prefix));
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i]!++;
      return bytes.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/**
 * The last two IDs past 2^53 and their text. Every etcd answer's header carries the cluster's and
 * the member's ID, random 64-bit numbers (past 2^53 all but once in 2,000): remembering them saves
 * two strings built per answer (about 0.4 KB per watcher armed, bench/heap-s6.mjs --allocations).
 */
const recentIds = { high: [-1, -1], low: [-1, -1], text: ['', ''] };

/** The decimal text of `high * 2^28 + low` (`high` < 2^36, `low` < 2^28), exactly. */
function decimal64(high: number, low: number): string {
  if (high < 2 ** 25) return String(high * 2 ** 28 + low);
  for (let slot = 0; slot < 2; slot++)
    if (recentIds.high[slot] === high && recentIds.low[slot] === low) return recentIds.text[slot]!;
  const text = longDecimal64(high, low);
  recentIds.high[1] = recentIds.high[0]!;
  recentIds.low[1] = recentIds.low[0]!;
  recentIds.text[1] = recentIds.text[0]!;
  recentIds.high[0] = high;
  recentIds.low[0] = low;
  recentIds.text[0] = text;
  return text;
}

/** {@link decimal64} past 2^53. */
function longDecimal64(high: number, low: number): string {
  // Past 2^53: long multiplication in base 10^7 limbs, 2^28 = 26 * 10^7 + 8,435,456.
  const base = 1e7;
  const high1 = Math.floor(high / base);
  const high0 = high % base;
  const digits0 = high0 * 8_435_456 + low;
  const digits1 = high1 * 8_435_456 + high0 * 26 + Math.floor(digits0 / base);
  const digits2 = high1 * 26 + Math.floor(digits1 / base);
  const limb = (value: number): string => String(value % base).padStart(7, '0');
  return `${digits2}${limb(digits1)}${limb(digits0)}`;
}
