// Columns built in JS in the memory layout of DuckDB's vectors, written into a
// data chunk with a few bulk copies per column instead of one call into DuckDB
// per value (measured several times faster than the per-value appender API, and
// than handing DuckDB NDJSON to parse: docs/block-format.md, "How blocks are written").
//
// The layouts are DuckDB's C API ones (duckdb.h): fixed-width values back to back,
// a validity bit per row, LIST rows as (offset, length) pairs into a child vector,
// STRUCT fields as one child vector each, and VARCHAR/BLOB rows as 16-byte
// duckdb_string_t: a length, then the bytes inline when they fit in 12, else a
// 4-byte prefix and a pointer. For the pointers, the long strings of the rows
// written are copied into the target vector's own string heap in one piece and the
// pointers aimed into it, so they live exactly as long as DuckDB keeps the vector.
import { endianness } from 'node:os';
import duckdb from '@duckdb/node-bindings';
import { BIGINT, BLOB, BOOLEAN, DOUBLE, INTEGER, LIST, STRUCT, UBIGINT, UINTEGER, UTINYINT, VARCHAR, type DuckDBType } from '@duckdb/node-api';

export type Vector = duckdb.Vector;

/** A column of rows built in JS, written into DuckDB vectors a range of rows at a time. */
export interface ColumnData {
  readonly type: DuckDBType;
  /** Rows pushed so far. */
  readonly length: number;
  /** Writes rows [from, from + count) into `vector`, from its first row on. */
  writeTo(vector: Vector, from: number, count: number): void;
  /** Forgets every row; the memory is kept for the next ones, unless an exceptional batch grew it past the usual. */
  clear(): void;
}

if (endianness() !== 'LE') throw new Error('the column builders write little-endian vectors: this machine is big-endian');

const STRING_T_BYTES = 16;
const INLINE_BYTES = 12;
const INITIAL_ROWS = 1024;
/** Capacity kept by clear(): builders are reused chunk after chunk, and one huge chunk must not pin its memory. */
const KEEP_ROWS = 32 * 1024;
const KEEP_HEAP_BYTES = 1024 * 1024;
const TWO_32 = 2 ** 32;

/** Scratch memory for what is copied into a vector (the copy is made before anything reuses it). */
let scratch: Uint8Array<ArrayBuffer> = new Uint8Array(64 * 1024);
function scratchBytes(n: number): Uint8Array<ArrayBuffer> {
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Writes one validity bit per row of `valid` (1 byte per row) into the vector. */
function writeValidity(vector: Vector, valid: Uint8Array, from: number, count: number): void {
  const bytes = Math.ceil(count / 64) * 8;
  const bits = scratchBytes(bytes);
  bits.fill(0, 0, bytes);
  for (let i = 0; i < count; i++) if (valid[from + i] !== 0) bits[i >>> 3]! |= 1 << (i & 7);
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, bits.buffer, 0, bytes);
}

function grown<T extends { length: number; set(a: ArrayLike<number | bigint>): void }>(old: T, make: (n: number) => T, need: number): T {
  const next = make(Math.max(need, old.length * 2, INITIAL_ROWS));
  next.set(old as unknown as ArrayLike<number | bigint>);
  return next;
}

type NumberArray = Uint8Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Float64Array<ArrayBuffer>;
type NumberArrayType = 'u8' | 'i32' | 'u32' | 'f64' | 'bool';
const NUMBER_ARRAYS: Record<NumberArrayType, { make: (n: number) => NumberArray; bytes: number; type: DuckDBType }> = {
  u8: { make: (n) => new Uint8Array(n), bytes: 1, type: UTINYINT },
  bool: { make: (n) => new Uint8Array(n), bytes: 1, type: BOOLEAN },
  i32: { make: (n) => new Int32Array(n), bytes: 4, type: INTEGER },
  u32: { make: (n) => new Uint32Array(n), bytes: 4, type: UINTEGER },
  f64: { make: (n) => new Float64Array(n), bytes: 8, type: DOUBLE },
};

/** UTINYINT, BOOLEAN (0/1), INTEGER, UINTEGER or DOUBLE values; the caller checks ranges. */
export class NumberColumn implements ColumnData {
  readonly type: DuckDBType;
  length = 0;
  private data: NumberArray;
  private valid: Uint8Array | undefined;
  private readonly make: (n: number) => NumberArray;
  private readonly bytes: number;

  constructor(kind: NumberArrayType, nullable = false) {
    ({ make: this.make, bytes: this.bytes, type: this.type } = NUMBER_ARRAYS[kind]);
    this.data = this.make(INITIAL_ROWS);
    if (nullable) this.valid = new Uint8Array(INITIAL_ROWS);
  }

  push(v: number): void {
    const i = this.length;
    if (i === this.data.length) this.grow();
    this.data[i] = v;
    if (this.valid !== undefined) this.valid[i] = 1;
    this.length = i + 1;
  }

  pushNull(): void {
    const i = this.length;
    if (i === this.data.length) this.grow();
    this.data[i] = 0;
    this.valid![i] = 0;
    this.length = i + 1;
  }

  writeTo(vector: Vector, from: number, count: number): void {
    duckdb.copy_data_to_vector(vector, 0, this.data.buffer, this.data.byteOffset + from * this.bytes, count * this.bytes);
    if (this.valid !== undefined) writeValidity(vector, this.valid, from, count);
  }

  clear(): void {
    this.length = 0;
    if (this.data.length > KEEP_ROWS) {
      this.data = this.make(INITIAL_ROWS);
      if (this.valid !== undefined) this.valid = new Uint8Array(INITIAL_ROWS);
    }
  }

  private grow(): void {
    this.data = grown(this.data, this.make, this.length + 1);
    if (this.valid !== undefined) this.valid = grown(this.valid, (n) => new Uint8Array(n), this.length + 1);
  }
}

/** BIGINT or UBIGINT values; the caller checks ranges (typed arrays wrap silently). */
export class BigIntColumn implements ColumnData {
  readonly type: DuckDBType;
  length = 0;
  private data: BigInt64Array<ArrayBuffer> | BigUint64Array<ArrayBuffer>;
  /** `data` as (low, high) 32-bit words. */
  private words: Uint32Array<ArrayBuffer>;
  private valid: Uint8Array | undefined;

  constructor(
    private readonly unsigned: boolean,
    nullable = false,
  ) {
    this.type = unsigned ? UBIGINT : BIGINT;
    this.data = this.make(INITIAL_ROWS);
    this.words = new Uint32Array(this.data.buffer);
    if (nullable) this.valid = new Uint8Array(INITIAL_ROWS);
  }

  push(v: bigint): void {
    const i = this.length;
    if (i === this.data.length) this.grow();
    this.data[i] = v;
    if (this.valid !== undefined) this.valid[i] = 1;
    this.length = i + 1;
  }

  /** A value given as its low and high 32-bit words (copied from another 64-bit array: no BigInt made). */
  pushWords(low: number, high: number): void {
    const i = this.length;
    if (i === this.data.length) this.grow();
    this.words[i * 2] = low;
    this.words[i * 2 + 1] = high;
    if (this.valid !== undefined) this.valid[i] = 1;
    this.length = i + 1;
  }

  pushNull(): void {
    const i = this.length;
    if (i === this.data.length) this.grow();
    this.data[i] = 0n;
    this.valid![i] = 0;
    this.length = i + 1;
  }

  writeTo(vector: Vector, from: number, count: number): void {
    duckdb.copy_data_to_vector(vector, 0, this.data.buffer, this.data.byteOffset + from * 8, count * 8);
    if (this.valid !== undefined) writeValidity(vector, this.valid, from, count);
  }

  clear(): void {
    this.length = 0;
    if (this.data.length > KEEP_ROWS) {
      this.data = this.make(INITIAL_ROWS);
      this.words = new Uint32Array(this.data.buffer);
      if (this.valid !== undefined) this.valid = new Uint8Array(INITIAL_ROWS);
    }
  }

  private make(n: number): BigInt64Array<ArrayBuffer> | BigUint64Array<ArrayBuffer> {
    return this.unsigned ? new BigUint64Array(n) : new BigInt64Array(n);
  }

  private grow(): void {
    const next = this.make(Math.max(this.data.length * 2, INITIAL_ROWS));
    next.set(this.data as BigUint64Array);
    this.data = next;
    this.words = new Uint32Array(next.buffer);
    if (this.valid !== undefined) this.valid = grown(this.valid, (n) => new Uint8Array(n), this.length + 1);
  }
}

/**
 * VARCHAR or BLOB values as duckdb_string_t records. A long value's record holds
 * its offset in this column's heap until it is written; `pushCopy` repeats an
 * earlier row without encoding it again.
 */
export class StringColumn implements ColumnData {
  readonly type: DuckDBType;
  length = 0;
  private records: Uint8Array<ArrayBuffer> = new Uint8Array(INITIAL_ROWS * STRING_T_BYTES);
  /** The records as (length, prefix, offset low, offset high) words. */
  private words = new Uint32Array(this.records.buffer);
  private valid: Uint8Array | undefined;
  private heap = Buffer.allocUnsafe(64 * 1024);
  private heapUsed = 0;

  constructor(blob: boolean, nullable = false) {
    this.type = blob ? BLOB : VARCHAR;
    if (nullable) this.valid = new Uint8Array(INITIAL_ROWS);
  }

  push(s: string): void {
    const i = this.next();
    const n = s.length;
    const records = this.records;
    const at = i * STRING_T_BYTES;
    if (n <= INLINE_BYTES) {
      let k = 0;
      for (; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) break;
        records[at + 4 + k] = c;
      }
      if (k === n) {
        this.words[i * 4] = n;
        return;
      }
    }
    // Longer, or not ASCII: encode into the heap; what turns out to fit goes inline after all.
    if (this.heapUsed + n * 3 > this.heap.length) this.growHeap(n * 3);
    const heap = this.heap;
    const pos = this.heapUsed;
    let len = n;
    if (n <= 64) {
      for (let k = 0; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) {
          len = heap.write(s, pos, 'utf8');
          break;
        }
        heap[pos + k] = c;
      }
    } else {
      len = heap.write(s, pos, 'utf8');
    }
    this.finishFromHeap(i, pos, len);
  }

  pushBytes(b: Uint8Array): void {
    const i = this.next();
    const n = b.length;
    if (n <= INLINE_BYTES) {
      const at = i * STRING_T_BYTES + 4;
      for (let k = 0; k < n; k++) this.records[at + k] = b[k]!;
      this.words[i * 4] = n;
      return;
    }
    if (this.heapUsed + n > this.heap.length) this.growHeap(n);
    this.heap.set(b, this.heapUsed);
    this.finishFromHeap(i, this.heapUsed, n);
  }

  /** An 8-byte value given as two little-endian 32-bit words (span IDs, read once by the caller). */
  pushWords8(first: number, second: number): void {
    const i = this.next();
    const w = this.words;
    w[i * 4] = 8;
    w[i * 4 + 1] = first;
    w[i * 4 + 2] = second;
    w[i * 4 + 3] = 0;
  }

  pushNull(): void {
    const i = this.next();
    this.valid![i] = 0;
  }

  /** The value of an earlier row again. */
  pushCopy(row: number): void {
    const i = this.next();
    const w = this.words;
    w[i * 4] = w[row * 4]!;
    w[i * 4 + 1] = w[row * 4 + 1]!;
    w[i * 4 + 2] = w[row * 4 + 2]!;
    w[i * 4 + 3] = w[row * 4 + 3]!;
    if (this.valid !== undefined) this.valid[i] = this.valid[row]!;
  }

  writeTo(vector: Vector, from: number, count: number): void {
    const words = this.words;
    // The heap range holding the long values of these rows.
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (let r = from; r < from + count; r++) {
      const len = words[r * 4]!;
      if (len > INLINE_BYTES) {
        const off = words[r * 4 + 2]! + words[r * 4 + 3]! * TWO_32;
        if (off < lo) lo = off;
        if (off + len > hi) hi = off + len;
      }
    }
    const bytes = count * STRING_T_BYTES;
    const out = scratchBytes(bytes);
    out.set(this.records.subarray(from * STRING_T_BYTES, from * STRING_T_BYTES + bytes));
    if (hi > 0) {
      // Row 0's record is overwritten below: it only serves to put the bytes in the vector's heap.
      duckdb.vector_assign_string_element_len(vector, 0, this.heap.subarray(lo, hi));
      const head = duckdb.vector_get_data(vector, STRING_T_BYTES);
      const base = new DataView(head.buffer, head.byteOffset, STRING_T_BYTES);
      const start = base.getUint32(8, true) + base.getUint32(12, true) * TWO_32 - lo;
      const outWords = new Uint32Array(out.buffer, 0, count * 4);
      for (let k = 0; k < count; k++) {
        const len = outWords[k * 4]!;
        if (len > INLINE_BYTES) {
          const ptr = start + outWords[k * 4 + 2]! + outWords[k * 4 + 3]! * TWO_32;
          outWords[k * 4 + 2] = ptr >>> 0;
          outWords[k * 4 + 3] = Math.floor(ptr / TWO_32);
        }
      }
    }
    duckdb.copy_data_to_vector(vector, 0, out.buffer, 0, bytes);
    if (this.valid !== undefined) writeValidity(vector, this.valid, from, count);
  }

  clear(): void {
    if (this.records.length > KEEP_ROWS * STRING_T_BYTES) {
      this.records = new Uint8Array(INITIAL_ROWS * STRING_T_BYTES);
      this.words = new Uint32Array(this.records.buffer);
      if (this.valid !== undefined) this.valid = new Uint8Array(INITIAL_ROWS);
    } else {
      // Inline values are compared by all 16 bytes, so what follows a short value must be zeros again.
      this.records.fill(0, 0, this.length * STRING_T_BYTES);
    }
    if (this.heap.length > KEEP_HEAP_BYTES) this.heap = Buffer.allocUnsafe(64 * 1024);
    this.length = 0;
    this.heapUsed = 0;
  }

  private next(): number {
    const i = this.length;
    if ((i + 1) * STRING_T_BYTES > this.records.length) {
      const records = new Uint8Array(this.records.length * 2);
      records.set(this.records);
      this.records = records;
      this.words = new Uint32Array(records.buffer);
      if (this.valid !== undefined) this.valid = grown(this.valid, (n) => new Uint8Array(n), i + 1);
    }
    if (this.valid !== undefined) this.valid[i] = 1;
    this.length = i + 1;
    return i;
  }

  /** Completes row i from `len` bytes encoded at heap offset `pos`. */
  private finishFromHeap(i: number, pos: number, len: number): void {
    const at = i * STRING_T_BYTES;
    const records = this.records;
    const heap = this.heap;
    this.words[i * 4] = len;
    if (len <= INLINE_BYTES) {
      for (let k = 0; k < len; k++) records[at + 4 + k] = heap[pos + k]!;
      for (let k = len; k < INLINE_BYTES; k++) records[at + 4 + k] = 0;
      return;
    }
    records[at + 4] = heap[pos]!;
    records[at + 5] = heap[pos + 1]!;
    records[at + 6] = heap[pos + 2]!;
    records[at + 7] = heap[pos + 3]!;
    this.words[i * 4 + 2] = pos >>> 0;
    this.words[i * 4 + 3] = Math.floor(pos / TWO_32);
    this.heapUsed = pos + len;
  }

  private growHeap(need: number): void {
    const heap = Buffer.allocUnsafe(Math.max(this.heapUsed + need, this.heap.length * 2));
    this.heap.copy(heap, 0, 0, this.heapUsed);
    this.heap = heap;
  }
}

/** LIST rows: each an (offset, length) range of the child column's rows (ranges may be shared). */
export class ListColumn<C extends ColumnData> implements ColumnData {
  readonly type: DuckDBType;
  length = 0;
  private offsets = new Uint32Array(INITIAL_ROWS);
  private lengths = new Uint32Array(INITIAL_ROWS);

  constructor(readonly child: C) {
    this.type = LIST(child.type);
  }

  /** A row holding child rows [offset, offset + length). */
  push(offset: number, length: number): void {
    const i = this.length;
    if (i === this.offsets.length) {
      this.offsets = grown(this.offsets, (n) => new Uint32Array(n), i + 1);
      this.lengths = grown(this.lengths, (n) => new Uint32Array(n), i + 1);
    }
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.length = i + 1;
  }

  writeTo(vector: Vector, from: number, count: number): void {
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (let r = from; r < from + count; r++) {
      const len = this.lengths[r]!;
      if (len === 0) continue;
      const off = this.offsets[r]!;
      if (off < lo) lo = off;
      if (off + len > hi) hi = off + len;
    }
    if (hi === 0) lo = 0;
    const size = hi - lo;
    // list_entry_t: offset and length, both 64-bit.
    const entries = new Uint32Array(scratchBytes(count * 16).buffer, 0, count * 4);
    for (let k = 0; k < count; k++) {
      const len = this.lengths[from + k]!;
      entries[k * 4] = len === 0 ? 0 : this.offsets[from + k]! - lo;
      entries[k * 4 + 1] = 0;
      entries[k * 4 + 2] = len;
      entries[k * 4 + 3] = 0;
    }
    duckdb.list_vector_reserve(vector, size);
    duckdb.list_vector_set_size(vector, size);
    duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, count * 16);
    if (size > 0) this.child.writeTo(duckdb.list_vector_get_child(vector), lo, size);
  }

  clear(): void {
    this.length = 0;
    if (this.offsets.length > KEEP_ROWS) {
      this.offsets = new Uint32Array(INITIAL_ROWS);
      this.lengths = new Uint32Array(INITIAL_ROWS);
    }
    this.child.clear();
  }
}

/** STRUCT rows: one child column per field, every one pushed for every row. */
export class StructColumn implements ColumnData {
  readonly type: DuckDBType;

  constructor(private readonly fields: ReadonlyArray<readonly [name: string, column: ColumnData]>) {
    this.type = STRUCT(Object.fromEntries(fields.map(([name, c]) => [name, c.type])));
  }

  get length(): number {
    return this.fields[0]![1].length;
  }

  writeTo(vector: Vector, from: number, count: number): void {
    this.fields.forEach(([, c], i) => c.writeTo(duckdb.struct_vector_get_child(vector, i), from, count));
  }

  clear(): void {
    for (const [, c] of this.fields) c.clear();
  }
}

/** Rows a data chunk holds (DuckDB's vector size). */
export const CHUNK_ROWS = duckdb.vector_size();
