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
// trace-index.bin, little-endian (the ID prefixes as they are, so they sort as bytes):
//   0  "SKTI"   magic
//   4  u8       version (1)
//   5  u8×3     reserved, 0
//   8  u32      n, number of traces
//  12  u32      p, number of parts
//  16  (u32, u32)×p  per part: the ordinal of its first trace (0 for the first part,
//                 ascending) and its number of rows
//   …  8×n      trace ID prefixes: the first 8 bytes of each ID, ascending
//   …  u32×n    the row of each trace's first span in its part
//   …  u8×n     flags of each trace (TRACE_HAS_*; a set bit says some span has it)
// Traces are in block order (by ID, each part's after the previous part's). Fixed-width
// fields let a lookup binary-search the file as read, with nothing to decode first:
// reading a block's index is one read, whatever its size.

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
const PART_BYTES = 8;
const PREFIX_BYTES = 8;
/** Bytes per trace: its ID prefix, first row and flags. */
const TRACE_BYTES = PREFIX_BYTES + 4 + 1;

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
  private readonly view: DataView;
  private readonly n: number;
  private readonly p: number;
  private readonly prefixesAt: number;
  private readonly rowsAt: number;
  private readonly flagsAt: number;

  private constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.n = this.view.getUint32(8, true);
    this.p = this.view.getUint32(12, true);
    this.prefixesAt = HEADER_BYTES + PART_BYTES * this.p;
    this.rowsAt = this.prefixesAt + PREFIX_BYTES * this.n;
    this.flagsAt = this.rowsAt + 4 * this.n;
  }

  /**
   * The index of a block's traces, given in block order (by ID, each part's traces
   * after the previous part's). Undefined when the rows do not have the layout the
   * index describes (a trace in two parts, or its rows not contiguous in ID order):
   * such a block is read without an index.
   */
  static build(traces: readonly TraceRows[], partCount: number): TraceIndex | undefined {
    const n = traces.length;
    if (partCount < 1 || n < partCount) return undefined;
    const out = new Uint8Array(HEADER_BYTES + PART_BYTES * partCount + TRACE_BYTES * n);
    const view = new DataView(out.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint8(4, VERSION);
    view.setUint32(8, n, true);
    view.setUint32(12, partCount, true);
    const prefixesAt = HEADER_BYTES + PART_BYTES * partCount;
    const rowsAt = prefixesAt + PREFIX_BYTES * n;
    const flagsAt = rowsAt + 4 * n;
    let part = -1;
    let nextRow = 0;
    const closePart = () => {
      if (part >= 0) view.setUint32(HEADER_BYTES + PART_BYTES * part + 4, nextRow, true);
    };
    for (let i = 0; i < n; i++) {
      const t = traces[i]!;
      if (!TRACE_ID_RE.test(t.traceId) || (i > 0 && t.traceId <= traces[i - 1]!.traceId)) return undefined;
      if (t.part !== part) {
        // Parts in order, none without traces (it would have no first trace to name).
        if (t.part !== part + 1 || t.part >= partCount) return undefined;
        closePart();
        part = t.part;
        view.setUint32(HEADER_BYTES + PART_BYTES * part, i, true);
        nextRow = 0;
      }
      if (t.spans < 1 || t.firstRow !== nextRow || t.lastRow !== t.firstRow + t.spans - 1) return undefined;
      out.set(Buffer.from(t.traceId.slice(0, 2 * PREFIX_BYTES), 'hex'), prefixesAt + PREFIX_BYTES * i);
      view.setUint32(rowsAt + 4 * i, t.firstRow, true);
      out[flagsAt + i] = t.flags;
      nextRow += t.spans;
    }
    if (part !== partCount - 1) return undefined;
    closePart();
    return new TraceIndex(out);
  }

  /** An index as read from its file; throws naming what is wrong with a file it cannot use. */
  static parse(data: Uint8Array): TraceIndex {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.byteLength < HEADER_BYTES || view.getUint32(0, true) !== MAGIC) throw new Error('not a skein trace index (bad magic)');
    const version = view.getUint8(4);
    if (version !== VERSION) throw new Error(`unsupported trace index version ${version}`);
    const n = view.getUint32(8, true);
    const p = view.getUint32(12, true);
    const corrupt = (why: string) => new Error(`corrupt trace index (${why})`);
    if (p === 0 || n < p) throw corrupt('counts');
    if (data.byteLength !== HEADER_BYTES + PART_BYTES * p + TRACE_BYTES * n) throw corrupt('its size does not match its counts');
    for (let j = 0; j < p; j++) {
      const first = view.getUint32(HEADER_BYTES + PART_BYTES * j, true);
      const previous = j === 0 ? -1 : view.getUint32(HEADER_BYTES + PART_BYTES * (j - 1), true);
      if (j === 0 ? first !== 0 : first <= previous || first >= n) throw corrupt('part table');
    }
    return new TraceIndex(data);
  }

  get size(): number {
    return this.n;
  }

  /** Bytes the index holds in memory (what a cache of indexes counts): its file's. */
  get memoryBytes(): number {
    return this.bytes.byteLength;
  }

  /**
   * Where the trace (32 lowercase hex digits) may be: none when the block certainly
   * does not hold it; more than one only when traces share its first 8 bytes.
   */
  find(traceIdHex: string): TraceLocation[] {
    const h = parseInt(traceIdHex.slice(0, 8), 16);
    const l = parseInt(traceIdHex.slice(8, 16), 16);
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareAt(mid, h, l) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: TraceLocation[] = [];
    for (let i = lo; i < this.n && this.compareAt(i, h, l) === 0; i++) {
      const part = this.partOf(i);
      const firstRow = this.view.getUint32(this.rowsAt + 4 * i, true);
      const partEnd = part + 1 < this.p ? this.view.getUint32(HEADER_BYTES + PART_BYTES * (part + 1), true) : this.n;
      const nextRow = i + 1 < partEnd ? this.view.getUint32(this.rowsAt + 4 * (i + 1), true) : this.view.getUint32(HEADER_BYTES + PART_BYTES * part + 4, true);
      out.push({ part, firstRow, spans: nextRow - firstRow, flags: this.bytes[this.flagsAt + i]! });
    }
    return out;
  }

  serialize(): Uint8Array {
    return this.bytes;
  }

  /** The prefix of trace i compared with (h, l), the high and low 32 bits of another. */
  private compareAt(i: number, h: number, l: number): number {
    const at = this.prefixesAt + PREFIX_BYTES * i;
    const ih = this.view.getUint32(at, false);
    return ih !== h ? ih - h : this.view.getUint32(at + 4, false) - l;
  }

  private partOf(i: number): number {
    let lo = 0;
    let hi = this.p - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.view.getUint32(HEADER_BYTES + PART_BYTES * mid, true) <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

const TRACE_ID_RE = /^[0-9a-f]{32}$/;
