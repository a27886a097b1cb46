// Protocol Buffers wire format: a bounds-checked reader and the sizing and
// writing primitives the encoders share. Every way a byte string can be
// malformed surfaces as an OtlpDecodeError naming the message, the field and
// the offset, so a client learns what was wrong with what it sent.
import type { KeyValue } from './model.js';
import type { WireLayout } from './wire-form.js';

/** The request body is not a well-formed OTLP message (protobuf or JSON). */
export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32', 'invalid', 'invalid'];

/**
 * AnyValue arrays and kvlists may nest; past this depth a message is refused
 * rather than risking the stack on a hostile body (a level costs 4 bytes).
 */
export const MAX_VALUE_DEPTH = 100;

/**
 * Buffer's native UTF-8 decoder without the argument handling of
 * Buffer#toString, which costs more than the decoding for the short strings
 * (attribute keys and values) that dominate spans. Undocumented, so it is
 * looked up rather than assumed.
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, start: number, end: number) => string }).utf8Slice;

function decodeUtf8(text: Buffer, start: number, end: number): string {
  return utf8Slice ? utf8Slice.call(text, start, end) : text.toString('utf8', start, end);
}

/** A 32-bit hash of buf[start, end) (`view` is a DataView of buf): FNV-1a four bytes at a time, then mixed. */
function hashRange(buf: Uint8Array, view: DataView, start: number, end: number): number {
  // From an int32 start, so the loop stays on integers.
  let h = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) h = Math.imul(h ^ view.getInt32(i, true), 0x01000193);
  for (; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

/**
 * Values decoded from short byte ranges, found again by those bytes. Spans repeat
 * the same few attribute keys, names and values request after request: met again,
 * a value is found by its bytes and what was decoded the first time serves again.
 * That spares the decoding and the young garbage, and a Map or Set keyed by the
 * value then finds it by identity, its hash already computed. Direct-mapped: a
 * slot holds the last value whose bytes hash to it, so the cache never grows and
 * a unique value only evicts. Values are shared, so they must never change.
 */
class ByteCache<T> {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Byte length of each slot's value; 0 for an empty slot (empty ranges are never cached). */
  private readonly lengths: Uint8Array;
  readonly values: Array<T | undefined>;

  constructor(
    private readonly bits: number,
    readonly maxBytes: number,
  ) {
    this.bytes = new Uint8Array((1 << bits) * maxBytes);
    this.view = new DataView(this.bytes.buffer);
    this.lengths = new Uint8Array(1 << bits);
    this.values = new Array<T | undefined>(1 << bits).fill(undefined);
  }

  /**
   * The slot of buf[start, end) (1 to maxBytes bytes; `view` is a DataView of buf): the
   * slot itself when it holds those bytes, else its bitwise complement (store() fills it).
   */
  find(buf: Uint8Array, view: DataView, start: number, end: number): number {
    const n = end - start;
    const slot = hashRange(buf, view, start, end) >>> (32 - this.bits);
    if (this.lengths[slot] !== n) return ~slot;
    const at = slot * this.maxBytes;
    let k = 0;
    while (k + 4 <= n && this.view.getInt32(at + k, true) === view.getInt32(start + k, true)) k += 4;
    if (k + 4 <= n) return ~slot;
    while (k < n && this.bytes[at + k] === buf[start + k]) k++;
    return k === n ? slot : ~slot;
  }

  /** Makes `slot` hold `value`, decoded from buf[start, end). */
  store(slot: number, buf: Uint8Array, start: number, end: number, value: T): T {
    const at = slot * this.maxBytes;
    for (let k = 0; k < end - start; k++) this.bytes[at + k] = buf[start + k]!;
    this.lengths[slot] = end - start;
    this.values[slot] = value;
    return value;
  }
}

/** Short strings (keys, names, values); a string attribute value met again is the same frozen AnyValue too. */
const strings = new ByteCache<string>(12, 64);
/** The string of each slot of `strings` as a string AnyValue, made when first asked for. */
const stringValues = new Array<StringValue | undefined>(1 << 12).fill(undefined);
/** Whole KeyValue messages (see WireReader.knownKeyValue). */
const keyValues = new ByteCache<KeyValue>(12, 96);

export interface StringValue {
  readonly type: 'string';
  readonly value: string;
}

/**
 * IDs (trace, span and parent span IDs, links' IDs) are copied into slabs of
 * this size shared by the IDs of one message tree: one allocation per slab
 * rather than a buffer and its array per ID. A slab lives while any of its IDs does.
 */
const ID_SLAB_BYTES = 2048;
/** Longer "IDs" (malformed ones, refused by validation) are copied out alone. */
const MAX_SLAB_ID_BYTES = 32;
/** Message trees smaller than this (a span or two) copy their IDs out one by one: a slab and a table would cost more. */
const SMALL_TREE_BYTES = 4096;
/** A reader's table of the IDs it read has a slot per 64 bytes of message, up to 2048 (a request of 512 spans holds about 600 distinct IDs). */
function idTableBits(bytes: number): number {
  return Math.min(11, 32 - Math.clz32(bytes >>> 6));
}
const NO_ID = new Uint8Array(0);

/** A message's known fields, indexed by field number: [proto name, wire type]. */
export interface MessageSchema {
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [name: string, wireType: number] | undefined>;
}

export function messageSchema(name: string, fields: Record<number, readonly [string, number]>): MessageSchema {
  const table: Array<readonly [string, number] | undefined> = [];
  for (const [num, field] of Object.entries(fields)) table[Number(num)] = field;
  return { name, fields: table };
}

function fieldLabel(msg: MessageSchema, field: number): string {
  const known = msg.fields[field];
  return known ? `field ${field} (${known[0]}) of ${msg.name}` : `field ${field} of ${msg.name}`;
}

/**
 * Reads one protobuf message tree. Every read takes `end`, the end offset of
 * the message being read, so nothing reads past its enclosing message.
 */
export class WireReader {
  /** A plain Uint8Array view (not a Buffer) so that `slice` copies yield plain Uint8Arrays. */
  readonly buf: Uint8Array;
  pos = 0;
  /**
   * Set when the bytes say something the decoded model does not: a field skipped
   * (unknown, or known but unread) or a value that a later one replaced. Such
   * bytes must not stand in for the decoded batch (see wire-form.ts).
   */
  lossy = false;
  /** When set, the trace decoder records in it where each resource, scope and span message lies. */
  layout: WireLayout | undefined = undefined;
  /** Bits 32-63 of the last varint read. */
  private hi = 0;
  /** Where id() copies IDs to; the first is allocated with the first ID. */
  private idSlab = NO_ID;
  private idSlabUsed = 0;
  /** The IDs read so far, by a hash of their bytes (direct-mapped), made with the first; a hash's slot is its top bits. */
  private ids: Uint8Array[] | undefined;
  private idShift = 0;
  private view: DataView | undefined;
  private readonly text: Buffer;

  constructor(input: Uint8Array) {
    this.buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.text = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }

  get length(): number {
    return this.buf.length;
  }

  /** Reads a field tag; the caller has checked that pos < end. */
  tag(end: number, msg: MessageSchema): number {
    const start = this.pos;
    const b = this.buf[start]!;
    let tag: number;
    if (b < 0x80) {
      this.pos = start + 1;
      tag = b;
    } else {
      tag = this.varint(end, msg, -1);
      if (this.hi !== 0) throw new OtlpDecodeError(`invalid tag in ${msg.name} at offset ${start}: field number too large`);
    }
    if (tag >>> 3 === 0) throw new OtlpDecodeError(`invalid field number 0 in ${msg.name} at offset ${start}`);
    return tag;
  }

  /**
   * Reads a varint and returns its low 32 bits, unsigned; bits 32-63 are left
   * in `hi`. uint32, enum and count fields keep only the low bits, as proto3 does.
   */
  varint(end: number, msg: MessageSchema, field: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        this.hi = 0;
        return b;
      }
    }
    const start = pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw this.truncatedVarint(msg, field, start, end);
      const b = buf[pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi = bits >>> 4;
      } else if (i < 9) hi |= bits << (7 * i - 32);
      else if (b > 1) break;
      else hi |= bits << 31;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    const what = field < 0 ? `tag in ${msg.name}` : fieldLabel(msg, field);
    throw new OtlpDecodeError(`bad varint: ${what} at offset ${start} does not fit in 64 bits`);
  }

  uint32(end: number, msg: MessageSchema, field: number): number {
    return this.varint(end, msg, field);
  }

  /** An int32 field (negative values arrive as 10-byte varints). */
  int32(end: number, msg: MessageSchema, field: number): number {
    return this.varint(end, msg, field) | 0;
  }

  /** A uint64 varint as a number (exact below 2^53). */
  uint64Number(end: number, msg: MessageSchema, field: number): number {
    const lo = this.varint(end, msg, field);
    return this.hi * 4294967296 + lo;
  }

  bool(end: number, msg: MessageSchema, field: number): boolean {
    return (this.varint(end, msg, field) | this.hi) !== 0;
  }

  int64(end: number, msg: MessageSchema, field: number): bigint {
    const lo = this.varint(end, msg, field);
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    // Small negatives: sign-extended, so the high word is all ones.
    if (hi === 0xffffffff && lo >= 0x80000000) return BigInt(lo - 4294967296);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  fixed32(end: number, msg: MessageSchema, field: number): number {
    this.need(4, end, msg, field);
    const buf = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
  }

  fixed64(end: number, msg: MessageSchema, field: number): bigint {
    this.need(8, end, msg, field);
    const p = this.pos;
    this.pos = p + 8;
    return this.dataView().getBigUint64(p, true);
  }

  double(end: number, msg: MessageSchema, field: number): number {
    this.need(8, end, msg, field);
    const p = this.pos;
    this.pos = p + 8;
    return this.dataView().getFloat64(p, true);
  }

  /** Reads a length prefix and returns the end offset of the field's bytes. */
  delimitedEnd(end: number, msg: MessageSchema, field: number): number {
    const start = this.pos;
    const len = this.varint(end, msg, field);
    const left = end - this.pos;
    if (this.hi !== 0 || len > left) {
      const declared = this.hi * 4294967296 + len;
      throw new OtlpDecodeError(
        `length past end: ${fieldLabel(msg, field)} declares ${declared} bytes at offset ${start}, ${left} left`,
      );
    }
    return this.pos + len;
  }

  /** A bytes field, copied out so it does not pin the request buffer. */
  bytes(end: number, msg: MessageSchema, field: number): Uint8Array {
    const e = this.delimitedEnd(end, msg, field);
    const s = this.pos;
    this.pos = e;
    return this.buf.slice(s, e);
  }

  string(end: number, msg: MessageSchema, field: number): string {
    const e = this.delimitedEnd(end, msg, field);
    const s = this.pos;
    this.pos = e;
    if (s === e) return '';
    if (e - s > strings.maxBytes) return decodeUtf8(this.text, s, e);
    return strings.values[this.stringSlot(s, e)]!;
  }

  /** The slot of `strings` holding the string of buf[s, e), decoded into it if it was not there. */
  private stringSlot(s: number, e: number): number {
    const slot = strings.find(this.buf, this.dataView(), s, e);
    if (slot >= 0) return slot;
    strings.store(~slot, this.buf, s, e, decodeUtf8(this.text, s, e));
    stringValues[~slot] = undefined;
    return ~slot;
  }

  /** A string field as a string AnyValue: shared and frozen when the string is short enough to be cached. */
  stringValue(end: number, msg: MessageSchema, field: number): StringValue {
    const e = this.delimitedEnd(end, msg, field);
    const s = this.pos;
    this.pos = e;
    if (s === e || e - s > strings.maxBytes) return { type: 'string', value: s === e ? '' : decodeUtf8(this.text, s, e) };
    const slot = this.stringSlot(s, e);
    return (stringValues[slot] ??= Object.freeze({ type: 'string', value: strings.values[slot]! }));
  }

  /**
   * The KeyValue decoded before from the same bytes as buf[pos, end) (a whole
   * KeyValue message), with pos moved to end; undefined when there is none.
   */
  knownKeyValue(end: number): KeyValue | undefined {
    const s = this.pos;
    if (end - s > keyValues.maxBytes || end === s) return undefined;
    const slot = keyValues.find(this.buf, this.dataView(), s, end);
    if (slot < 0) return undefined;
    this.pos = end;
    return keyValues.values[slot];
  }

  /** Remembers `kv`, just decoded from buf[start, end), for knownKeyValue: frozen, as it may now be shared. */
  rememberKeyValue(start: number, end: number, kv: KeyValue): KeyValue {
    if (end - start > keyValues.maxBytes || end === start) return kv;
    const slot = keyValues.find(this.buf, this.dataView(), start, end);
    return keyValues.store(slot < 0 ? ~slot : slot, this.buf, start, end, Object.freeze(kv));
  }

  /**
   * An ID field: a view of a slab shared with the message tree's other IDs (see
   * ID_SLAB_BYTES). An ID met again in the same tree (the trace ID of each of a
   * trace's spans, a parent's span ID in its children) is the same view.
   */
  id(end: number, msg: MessageSchema, field: number): Uint8Array {
    const e = this.delimitedEnd(end, msg, field);
    const s = this.pos;
    this.pos = e;
    const n = e - s;
    if (n === 0) return NO_ID;
    const buf = this.buf;
    // A small tree (a span decoded alone, for a head lookup) copies its few IDs out one by one.
    if (n > MAX_SLAB_ID_BYTES || buf.length < SMALL_TREE_BYTES) return buf.slice(s, e);
    let ids = this.ids;
    if (ids === undefined) {
      const bits = idTableBits(buf.length);
      ids = this.ids = new Array<Uint8Array>(1 << bits).fill(NO_ID);
      this.idShift = 32 - bits;
    }
    const slot = hashRange(buf, this.dataView(), s, e) >>> this.idShift;
    const known = ids[slot]!;
    if (known.length === n) {
      let k = 0;
      while (k < n && known[k] === buf[s + k]) k++;
      if (k === n) return known;
    }
    let slab = this.idSlab;
    let at = this.idSlabUsed;
    if (at + n > slab.length) {
      slab = this.idSlab = new Uint8Array(ID_SLAB_BYTES);
      at = 0;
    }
    for (let k = 0; k < n; k++) slab[at + k] = buf[s + k]!;
    this.idSlabUsed = at + n;
    const id = new Uint8Array(slab.buffer, at, n);
    ids[slot] = id;
    return id;
  }

  /** Skips an unknown field; a known field with the wrong wire type is an error. */
  skip(tag: number, end: number, msg: MessageSchema): void {
    this.lossy = true;
    const field = tag >>> 3;
    const wireType = tag & 7;
    const known = msg.fields[field];
    // The tag was just read: report the offset where it starts.
    const at = this.pos - varintSize(tag);
    if (known !== undefined && known[1] !== wireType) {
      throw new OtlpDecodeError(
        `wire type ${known[1]} expected for ${msg.name}.${known[0]}, got ${wireType} (${WIRE_TYPE_NAMES[wireType]}) at offset ${at}`,
      );
    }
    switch (wireType) {
      case WireType.VARINT:
        this.varint(end, msg, field);
        return;
      case WireType.I64:
        this.need(8, end, msg, field);
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.delimitedEnd(end, msg, field);
        return;
      case WireType.I32:
        this.need(4, end, msg, field);
        this.pos += 4;
        return;
      case WireType.SGROUP:
      case WireType.EGROUP:
        throw new OtlpDecodeError(`unsupported wire type ${wireType} (group) for field ${field} of ${msg.name} at offset ${at}`);
      default:
        throw new OtlpDecodeError(`invalid wire type ${wireType} for field ${field} of ${msg.name} at offset ${at}`);
    }
  }

  private need(n: number, end: number, msg: MessageSchema, field: number): void {
    const left = end - this.pos;
    if (left < n) {
      throw new OtlpDecodeError(`truncated message: ${fieldLabel(msg, field)} needs ${n} bytes at offset ${this.pos}, ${left} left`);
    }
  }

  private truncatedVarint(msg: MessageSchema, field: number, start: number, end: number): OtlpDecodeError {
    const what = field < 0 ? `tag in ${msg.name}` : `varint of ${fieldLabel(msg, field)}`;
    return new OtlpDecodeError(`truncated message: ${what} at offset ${start} runs past the end (${end - start} bytes left)`);
  }

  private dataView(): DataView {
    return (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }
}

// ---- encoding primitives -------------------------------------------------

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  // Beyond 35 bits (only int64 values): count 7-bit groups.
  let n = 5;
  for (let x = Math.floor(v / 0x800000000); x > 0; x = Math.floor(x / 128)) n++;
  return n;
}

/** Size of a length-delimited field of `n` bytes with a one-byte tag. */
export function delimitedSize(n: number): number {
  return 1 + varintSize(n) + n;
}

const TWO_32 = 4294967296n;

/** Size of an int64 varint (negative values take all 10 bytes). */
export function int64Size(v: bigint): number {
  if (v < 0n) return 10;
  if (v < TWO_32) return varintSize(Number(v));
  const bits = 64 - Math.clz32(Number(v >> 32n));
  return Math.ceil(bits / 7);
}

/**
 * UTF-8 length of a string as Buffer would write it (a lone surrogate becomes
 * U+FFFD, 3 bytes). Counted in JS for short strings, where the native call
 * costs more than the loop.
 */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > 16) return Buffer.byteLength(s, 'utf8');
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // the pair is 2 units and 4 bytes
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Buffer's native writers without Buffer#write's argument handling (see utf8Slice). */
const nativeWrite = Buffer.prototype as unknown as {
  utf8Write?: (this: Buffer, s: string, offset: number, length: number) => number;
};
const utf8Write = nativeWrite.utf8Write;

/** Writes into one buffer allocated at the exact size computed beforehand. */
export class WireWriter {
  readonly buf: Uint8Array;
  pos = 0;
  private readonly view: DataView;
  /** A Buffer view for the native UTF-8 encoder, made when first needed. */
  private text: Buffer | undefined;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  int64(v: bigint): void {
    if (v >= 0n && v <= 0x1fffffffffffffn) {
      this.varint(Number(v));
      return;
    }
    const u = BigInt.asUintN(64, v);
    let lo = Number(u & 0xffffffffn);
    let hi = Number(u >> 32n);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  fixed32(v: number): void {
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v & 0xff;
    buf[p + 1] = (v >>> 8) & 0xff;
    buf[p + 2] = (v >>> 16) & 0xff;
    buf[p + 3] = (v >>> 24) & 0xff;
    this.pos = p + 4;
  }

  fixed64(v: bigint): void {
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n <= 16) {
      // IDs: a loop beats the call into TypedArray#set.
      const buf = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) buf[p + i] = bytes[i]!;
    } else this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  /** Writes a string whose UTF-8 length `n` the size pass measured. */
  utf8(s: string, n: number): void {
    if (n === s.length && n <= 64) {
      // ASCII: copying in JS beats the call into the native encoder.
      const buf = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
    } else {
      const text = (this.text ??= Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
      if (utf8Write) utf8Write.call(text, s, this.pos, n);
      else text.write(s, this.pos, n, 'utf8');
    }
    this.pos += n;
  }
}
