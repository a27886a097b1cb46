// Where things are inside an encoded TracesData: each ResourceSpans' resource,
// each ScopeSpans' scope, and each span, in order, as byte ranges. Lets tail
// sampling's buffer and the store's head keep spans as the bytes they were
// written to a WAL in, without decoding or re-encoding them. Only the framing is read; a message absent
// from the encoding (an empty resource or scope) is reported as empty.

/** TracesData.resource_spans, ResourceSpans.scope_spans and ScopeSpans.spans are all field 1 or 2, length-delimited. */
const FIELD_RESOURCE = 1; // ResourceSpans.resource
const FIELD_SCOPE_SPANS = 2; // ResourceSpans.scope_spans
const FIELD_SCOPE = 1; // ScopeSpans.scope
const FIELD_SPANS = 2; // ScopeSpans.spans

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

export interface LayoutVisitor {
  /** At the start of each ResourceSpans: its encoded Resource. */
  resource(bytes: Uint8Array): void;
  /** At the start of each ScopeSpans: its encoded InstrumentationScope. */
  scope(bytes: Uint8Array): void;
  /** Each Span message: `offset` and `length` of its body within the TracesData. */
  span(offset: number, length: number): void;
}

const EMPTY = new Uint8Array(0);

class Cursor {
  pos: number;
  /** Of the field field() read last: its number, wire type, and the end of its value when length-delimited (else -1). */
  fieldNo = 0;
  wire = 0;
  valueEnd = -1;

  constructor(
    readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated TracesData');
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new Error('malformed varint in TracesData');
  }

  /** Reads a field header into fieldNo, wire and valueEnd (fields, not a tuple: this runs once per span and field). */
  field(end: number): void {
    const tag = this.varint();
    const wire = tag & 7;
    this.fieldNo = Math.floor(tag / 8);
    this.wire = wire;
    this.valueEnd = -1;
    if (wire === WIRE_LEN) {
      const length = this.varint();
      const valueEnd = this.pos + length;
      if (valueEnd > end) throw new Error('truncated TracesData');
      this.valueEnd = valueEnd;
      return;
    }
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new Error(`unexpected wire type ${wire} in TracesData`);
  }
}

/** The value of the first length-delimited `field` in the message [start, end), or empty. */
function findField(buf: Uint8Array, start: number, end: number, wanted: number): Uint8Array {
  const c = new Cursor(buf, start);
  while (c.pos < end) {
    c.field(end);
    if (c.wire !== WIRE_LEN) continue;
    if (c.fieldNo === wanted) return buf.subarray(c.pos, c.valueEnd);
    c.pos = c.valueEnd;
  }
  return EMPTY;
}

export function walkTracesData(buf: Uint8Array, visit: LayoutVisitor): void {
  const top = new Cursor(buf, 0);
  while (top.pos < buf.length) {
    top.field(buf.length);
    if (top.wire !== WIRE_LEN) continue;
    const rsEnd = top.valueEnd;
    const rsStart = top.pos;
    visit.resource(findField(buf, rsStart, rsEnd, FIELD_RESOURCE));
    const rs = new Cursor(buf, rsStart);
    while (rs.pos < rsEnd) {
      rs.field(rsEnd);
      if (rs.wire !== WIRE_LEN) continue;
      const ssEnd = rs.valueEnd;
      if (rs.fieldNo === FIELD_SCOPE_SPANS) {
        const ssStart = rs.pos;
        visit.scope(findField(buf, ssStart, ssEnd, FIELD_SCOPE));
        const ss = new Cursor(buf, ssStart);
        while (ss.pos < ssEnd) {
          ss.field(ssEnd);
          if (ss.wire !== WIRE_LEN) continue;
          const spanEnd = ss.valueEnd;
          if (ss.fieldNo === FIELD_SPANS) visit.span(ss.pos, spanEnd - ss.pos);
          ss.pos = spanEnd;
        }
      }
      rs.pos = ssEnd;
    }
    top.pos = rsEnd;
  }
}
