// The trace index of a block (trace-index.bin): where each trace's rows are (its part
// and row range) and which of the list columns its spans use. Trace-by-ID reads it
// before DuckDB: a trace the index does not hold costs no query at all (the bloom
// filter lets about 1% of absent IDs through, and for each of those DuckDB would
// decode a whole row group), and a trace without events, links or scope attributes
// is read without those columns. DuckDB's cost for a lookup grows with the columns it
// decodes, list columns most: skipping the events of the ~97% of traces that have
// none, and the columns a trace leaves empty, saved about a fifth of a lookup's CPU
// (docs/block-format.md).
//
// Built when a block is published, from its Parquet parts (head cuts and compactions
// alike), so it always describes exactly the rows written. It holds the first 8 bytes
// of each ID rather than all 16: two traces of a block sharing them (about one block
// in 10^10 at a million traces) are both read, and the query's exact trace_id filter
// keeps only the one asked for.
//
// trace-index.bin, little-endian:
//   0  "SKTI"   magic
//   4  u8       version (1)
//   5  u8×3     reserved, 0
//   8  u32      n, number of traces
//  12  u32      p, number of parts
//  16  u32×p    the ordinal of each part's first trace (0 for the first part, ascending)
//   …  8×n      trace ID prefixes: the first 8 bytes of each ID, ascending
//   …  u8×n     flags of each trace (TRACE_HAS_*; a set bit says some span has it)
//   …  varint×n spans of each trace (unsigned LEB128)
// Traces are in block order (by ID), so a trace's first row in its part is the sum of
// the spans of the traces before it in that part.

/** A span of the trace has events. */
export const TRACE_HAS_EVENTS = 1;
/** A span of the trace has links. */
export const TRACE_HAS_LINKS = 2;
/** A span of the trace has a scope with attributes. */
export const TRACE_HAS_SCOPE_ATTRS = 4;
/** A span of the trace has a status message or a trace state. */
export const TRACE_HAS_STATUS_MESSAGE_OR_STATE = 8;
/** A span of the trace counts dropped attributes, events or links. */
export const TRACE_HAS_DROPPED = 16;

const MAGIC = 0x4954_4b53; // "SKTI" read as a little-endian u32
const VERSION = 1;
const HEADER_BYTES = 16;
const PREFIX_BYTES = 8;

/** One trace of a block as its Parquet parts hold it (reader.ts readTraceRows). */
export interface TraceRows {
  traceId: string;
  /** Index of the part (meta.parts) holding its rows. */
  part: number;
  /** Its first and last row in the part (0-based). */
  firstRow: number;
  lastRow: number;
  spans: number;
  flags: number;
}

/** Where one trace is: its part, its rows [firstRow, firstRow + spans), and what its spans use. */
export interface TraceLocation {
  part: number;
  firstRow: number;
  spans: number;
  flags: number;
}

export class TraceIndex {
  private constructor(
    /** High and low 32 bits of each ID prefix, ascending. */
    private readonly hi: Uint32Array,
    private readonly lo: Uint32Array,
    private readonly flags: Uint8Array,
    private readonly spans: Uint32Array,
    private readonly firstRows: Uint32Array,
    /** Ordinal of each part's first trace. */
    private readonly partStarts: Uint32Array,
  ) {}

  /**
   * The index of a block's traces, given in block order (by ID, each part's traces
   * after the previous part's). Undefined when the rows do not have the layout the
   * index describes (a trace in two parts, or its rows not contiguous in ID order):
   * such a block is read without an index.
   */
  static build(traces: readonly TraceRows[], partCount: number): TraceIndex | undefined {
    const n = traces.length;
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const flags = new Uint8Array(n);
    const spans = new Uint32Array(n);
    const firstRows = new Uint32Array(n);
    const partStarts = new Uint32Array(partCount);
    let part = -1;
    let nextRow = 0;
    for (let i = 0; i < n; i++) {
      const t = traces[i]!;
      if (!/^[0-9a-f]{32}$/.test(t.traceId) || (i > 0 && t.traceId <= traces[i - 1]!.traceId)) return undefined;
      if (t.part !== part) {
        if (t.part < part || t.part >= partCount) return undefined;
        // A part without traces would have no first trace to name.
        if (t.part !== part + 1) return undefined;
        part = t.part;
        partStarts[part] = i;
        nextRow = 0;
      }
      if (t.spans < 1 || t.firstRow !== nextRow || t.lastRow !== t.firstRow + t.spans - 1) return undefined;
      hi[i] = parseInt(t.traceId.slice(0, 8), 16);
      lo[i] = parseInt(t.traceId.slice(8, 16), 16);
      flags[i] = t.flags;
      spans[i] = t.spans;
      firstRows[i] = t.firstRow;
      nextRow += t.spans;
    }
    if (part !== partCount - 1) return undefined;
    return new TraceIndex(hi, lo, flags, spans, firstRows, partStarts);
  }

  static parse(data: Uint8Array): TraceIndex {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) throw new Error('not a skein trace index (bad magic)');
    const version = view.getUint8(4);
    if (version !== VERSION) throw new Error(`unsupported trace index version ${version}`);
    const n = view.getUint32(8, true);
    const p = view.getUint32(12, true);
    const corrupt = (why: string) => new Error(`corrupt trace index (${why})`);
    let at = HEADER_BYTES;
    if (p === 0 || data.byteLength < at + 4 * p + (PREFIX_BYTES + 2) * n) throw corrupt('shorter than its counts');
    const partStarts = new Uint32Array(p);
    for (let j = 0; j < p; j++, at += 4) {
      partStarts[j] = view.getUint32(at, true);
      if (j === 0 ? partStarts[j] !== 0 : partStarts[j]! <= partStarts[j - 1]! || partStarts[j]! >= n) throw corrupt('part table');
    }
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    for (let i = 0; i < n; i++, at += PREFIX_BYTES) {
      hi[i] = view.getUint32(at, false);
      lo[i] = view.getUint32(at + 4, false);
      if (i > 0 && compare(hi[i]!, lo[i]!, hi[i - 1]!, lo[i - 1]!) < 0) throw corrupt('IDs out of order');
    }
    const flags = data.slice(at, at + n);
    at += n;
    const spans = new Uint32Array(n);
    const firstRows = new Uint32Array(n);
    let part = 0;
    let nextRow = 0;
    for (let i = 0; i < n; i++) {
      let value = 0;
      for (let shift = 0; ; shift += 7) {
        if (at >= data.byteLength || shift > 28) throw corrupt('span counts');
        const byte = data[at++]!;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) break;
      }
      if (value < 1 || value > 0xffff_ffff) throw corrupt('span counts');
      if (part + 1 < p && partStarts[part + 1] === i) {
        part++;
        nextRow = 0;
      }
      spans[i] = value;
      firstRows[i] = nextRow;
      nextRow += value;
    }
    if (at !== data.byteLength) throw corrupt('trailing bytes');
    return new TraceIndex(hi, lo, flags, spans, firstRows, partStarts);
  }

  get size(): number {
    return this.hi.length;
  }

  /** Bytes the parsed index holds in memory (what a cache of indexes counts). */
  get memoryBytes(): number {
    return this.hi.byteLength * 4 + this.flags.byteLength + this.partStarts.byteLength;
  }

  /**
   * Where the trace (32 lowercase hex digits) may be: none when the block certainly
   * does not hold it; more than one only when traces share its first 8 bytes.
   */
  find(traceIdHex: string): TraceLocation[] {
    const h = parseInt(traceIdHex.slice(0, 8), 16);
    const l = parseInt(traceIdHex.slice(8, 16), 16);
    let lo = 0;
    let hi = this.hi.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.hi[mid]!, this.lo[mid]!, h, l) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: TraceLocation[] = [];
    for (let i = lo; i < this.hi.length && this.hi[i] === h && this.lo[i] === l; i++) {
      out.push({ part: this.partOf(i), firstRow: this.firstRows[i]!, spans: this.spans[i]!, flags: this.flags[i]! });
    }
    return out;
  }

  serialize(): Uint8Array {
    const n = this.hi.length;
    const p = this.partStarts.length;
    let varintBytes = 0;
    for (const s of this.spans) varintBytes += varintSize(s);
    const out = new Uint8Array(HEADER_BYTES + 4 * p + (PREFIX_BYTES + 1) * n + varintBytes);
    const view = new DataView(out.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint8(4, VERSION);
    view.setUint32(8, n, true);
    view.setUint32(12, p, true);
    let at = HEADER_BYTES;
    for (const start of this.partStarts) {
      view.setUint32(at, start, true);
      at += 4;
    }
    for (let i = 0; i < n; i++, at += PREFIX_BYTES) {
      view.setUint32(at, this.hi[i]!, false);
      view.setUint32(at + 4, this.lo[i]!, false);
    }
    out.set(this.flags, at);
    at += n;
    for (let s of this.spans) {
      while (s >= 0x80) {
        out[at++] = (s & 0x7f) | 0x80;
        s = Math.floor(s / 128);
      }
      out[at++] = s;
    }
    return out;
  }

  private partOf(i: number): number {
    let lo = 0;
    let hi = this.partStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.partStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function compare(h1: number, l1: number, h2: number, l2: number): number {
  return h1 !== h2 ? h1 - h2 : l1 - l2;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}
