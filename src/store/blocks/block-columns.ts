// Block rows (schema.ts COLUMNS) for DuckDB to read: the spans of a part in block
// order (BlockRows), built into columns in DuckDB's vector layout
// (engine/vectors.ts) one data chunk at a time, when DuckDB's COPY asks for it
// (ChunkColumns). The builders are cleared and reused chunk after chunk, so a
// block write holds one chunk's worth of columns whatever the size of the block.
//
// Spans of a block share a handful of resources and scopes, so in a chunk a
// resource's attributes are built once and every span of it points its
// resource_attrs row at them (a LIST row is a range of child rows, and ranges may
// be shared), and its strings are repeated by copying their records.
import type { AnyValue, InstrumentationScope, KeyValue, Resource, SpanEvent, SpanLink, StoredSpan } from '../../otlp/model.js';
import { stringAttribute, toHex } from '../../otlp/model.js';
import type { NestedSet } from '../../otlp/nested-set.js';
import type { DuckDBType } from '@duckdb/node-api';
import type { RowSource } from '../engine/duckdb.js';
import { BigIntColumn, ListColumn, NumberColumn, StringColumn, StructColumn, type ColumnData, type Vector } from '../engine/vectors.js';
import type { TagIndex } from './tag-index.js';
import { anyValueToJson } from './any-value-json.js';
import { COLUMNS, NEGATIVE_ZERO, ValueType } from './schema.js';

/** What BlockRows keeps of each row, in 32-bit words (see W). */
const ROW_WORDS = 12;
/**
 * Word offsets in a row: 64-bit times (low word first; even offsets, as ROW_WORDS, so
 * they are 64-bit aligned), IDs (two words each, little-endian byte order), nested set
 * numbers, and which IDs are kept as words.
 */
const W = { START: 0, DURATION: 2, SPAN_ID: 4, PARENT_ID: 6, LEFT: 8, RIGHT: 9, PARENT: 10, IDS: 11 } as const;
/** W.IDS bits: an ID not of 8 bytes is read from the span again. */
const SPAN_ID_AS_BYTES = 1;
const PARENT_AS_BYTES = 2;

const MAX_U8 = 0xff;
const MAX_U32 = 0xffffffff;
const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;
const MAX_U64 = 2n ** 64n - 1n;

/** A value a column cannot hold; worded like DuckDB's cast errors, which the quarantine reports. */
function cannotCast(what: string, value: number | bigint, type: string): Error {
  return new Error(`Conversion Error: ${what} ${value} cannot be cast to ${type}: out of range`);
}

function u8(what: string, v: number): number {
  if (!(v >= 0 && v <= MAX_U8 && Number.isInteger(v))) throw cannotCast(what, v, 'UTINYINT');
  return v;
}

function u32(what: string, v: number): number {
  if (!(v >= 0 && v <= MAX_U32 && Number.isInteger(v))) throw cannotCast(what, v, 'UINTEGER');
  return v;
}

function u64(what: string, v: bigint): bigint {
  if (v < 0n || v > MAX_U64) throw cannotCast(what, v, 'UBIGINT');
  return v;
}

/** The ATTR struct's columns (key, type, str, int, dbl, bool) under one LIST column. */
class AttrColumns {
  readonly key = new StringColumn(false);
  readonly type = new NumberColumn('u8');
  readonly str = new StringColumn(false, true);
  readonly int = new BigIntColumn(false, true);
  readonly dbl = new NumberColumn('f64', true);
  readonly bool = new NumberColumn('bool', true);
  readonly list = new ListColumn(
    new StructColumn([
      ['key', this.key],
      ['type', this.type],
      ['str', this.str],
      ['int', this.int],
      ['dbl', this.dbl],
      ['bool', this.bool],
    ]),
  );

  /** Appends a row holding `attrs`. */
  push(attrs: readonly KeyValue[]): void {
    const start = this.key.length;
    for (let i = 0; i < attrs.length; i++) this.pushAttr(attrs[i]!);
    this.list.push(start, attrs.length);
  }

  /** Appends the attributes as child rows only; returns where they start. */
  pushChildren(attrs: readonly KeyValue[]): number {
    const start = this.key.length;
    for (let i = 0; i < attrs.length; i++) this.pushAttr(attrs[i]!);
    return start;
  }

  private pushAttr(kv: KeyValue): void {
    this.key.push(kv.key);
    const v: AnyValue = kv.value;
    switch (v.type) {
      case 'string':
        this.typed(ValueType.STRING);
        this.str.push(v.value);
        this.int.pushNull();
        this.dbl.pushNull();
        this.bool.pushNull();
        return;
      case 'int':
        if (v.value < MIN_I64 || v.value > MAX_I64) throw cannotCast(`attribute ${JSON.stringify(kv.key)}`, v.value, 'BIGINT');
        this.typed(ValueType.INT);
        this.str.pushNull();
        this.int.push(v.value);
        this.dbl.pushNull();
        this.bool.pushNull();
        return;
      case 'double':
        this.typed(ValueType.DOUBLE);
        if (Object.is(v.value, -0)) this.str.push(NEGATIVE_ZERO);
        else this.str.pushNull();
        this.int.pushNull();
        this.dbl.push(v.value);
        this.bool.pushNull();
        return;
      case 'bool':
        this.typed(ValueType.BOOL);
        this.str.pushNull();
        this.int.pushNull();
        this.dbl.pushNull();
        this.bool.push(v.value ? 1 : 0);
        return;
      case 'bytes':
        this.typed(ValueType.BYTES);
        this.str.push(Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64'));
        this.nullNumbers();
        return;
      case 'array':
        this.typed(ValueType.ARRAY);
        this.str.push(anyValueToJson(v));
        this.nullNumbers();
        return;
      case 'kvlist':
        this.typed(ValueType.KVLIST);
        this.str.push(anyValueToJson(v));
        this.nullNumbers();
        return;
      case 'empty':
        this.typed(ValueType.EMPTY);
        this.str.pushNull();
        this.nullNumbers();
        return;
    }
  }

  private typed(t: number): void {
    this.type.push(t);
  }

  private nullNumbers(): void {
    this.int.pushNull();
    this.dbl.pushNull();
    this.bool.pushNull();
  }
}

/** Where a resource's or scope's values are in the chunk. */
interface SharedUse {
  /** A row that has its string values, to copy them from. */
  row: number;
  attrsOffset: number;
  attrsLength: number;
}

/** Builders of one data chunk of block rows (exported for the benchmark's instruments). */
export class ChunkColumns {
  private readonly traceId = new StringColumn(false);
  private readonly spanId = new StringColumn(true);
  private readonly parentSpanId = new StringColumn(true);
  private readonly nestedLeft = new NumberColumn('i32');
  private readonly nestedRight = new NumberColumn('i32');
  private readonly nestedParent = new NumberColumn('i32');
  private readonly start = new BigIntColumn(true);
  private readonly duration = new BigIntColumn(true);
  private readonly serviceName = new StringColumn(false, true);
  private readonly name = new StringColumn(false);
  private readonly kind = new NumberColumn('u8');
  private readonly statusCode = new NumberColumn('u8');
  private readonly statusMessage = new StringColumn(false);
  private readonly traceState = new StringColumn(false);
  private readonly flags = new NumberColumn('u32');
  private readonly attrs = new AttrColumns();
  private readonly droppedAttributes = new NumberColumn('u32');
  private readonly eventTime = new BigIntColumn(true);
  private readonly eventName = new StringColumn(false);
  private readonly eventAttrs = new AttrColumns();
  private readonly eventDropped = new NumberColumn('u32');
  private readonly events = new ListColumn(
    new StructColumn([
      ['time_unix_nano', this.eventTime],
      ['name', this.eventName],
      ['attrs', this.eventAttrs.list],
      ['dropped_attributes_count', this.eventDropped],
    ]),
  );
  private readonly droppedEvents = new NumberColumn('u32');
  private readonly linkTraceId = new StringColumn(false);
  private readonly linkSpanId = new StringColumn(true);
  private readonly linkTraceState = new StringColumn(false);
  private readonly linkAttrs = new AttrColumns();
  private readonly linkDropped = new NumberColumn('u32');
  private readonly linkFlags = new NumberColumn('u32');
  private readonly links = new ListColumn(
    new StructColumn([
      ['trace_id', this.linkTraceId],
      ['span_id', this.linkSpanId],
      ['trace_state', this.linkTraceState],
      ['attrs', this.linkAttrs.list],
      ['dropped_attributes_count', this.linkDropped],
      ['flags', this.linkFlags],
    ]),
  );
  private readonly droppedLinks = new NumberColumn('u32');
  private readonly resourceAttrs = new AttrColumns();
  private readonly resourceDropped = new NumberColumn('u32');
  private readonly resourceSchemaUrl = new StringColumn(false);
  private readonly scopeName = new StringColumn(false);
  private readonly scopeVersion = new StringColumn(false);
  private readonly scopeAttrs = new AttrColumns();
  private readonly scopeDropped = new NumberColumn('u32');
  private readonly scopeSchemaUrl = new StringColumn(false);

  /** The columns in schema order, with their types (which are checked against COLUMNS). */
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: DuckDBType }>;
  private readonly data: readonly ColumnData[];
  rowCount = 0;

  private readonly resources = new Uses<Resource>();
  private readonly scopes = new Uses<InstrumentationScope>();
  /** The trace of the last row added, and a row holding its ID. */
  private trace = { id: '', row: -1 };

  constructor() {
    const data: ColumnData[] = [
      this.traceId,
      this.spanId,
      this.parentSpanId,
      this.nestedLeft,
      this.nestedRight,
      this.nestedParent,
      this.start,
      this.duration,
      this.serviceName,
      this.name,
      this.kind,
      this.statusCode,
      this.statusMessage,
      this.traceState,
      this.flags,
      this.attrs.list,
      this.droppedAttributes,
      this.events,
      this.droppedEvents,
      this.links,
      this.droppedLinks,
      this.resourceAttrs.list,
      this.resourceDropped,
      this.resourceSchemaUrl,
      this.scopeName,
      this.scopeVersion,
      this.scopeAttrs.list,
      this.scopeDropped,
      this.scopeSchemaUrl,
    ];
    this.data = data;
    this.columns = COLUMNS.map((c, i) => {
      const type = data[i]!.type;
      // The block format is defined by COLUMNS; a builder that drifts from it must not write a block.
      const built = type.toString().replaceAll('"', '');
      if (built !== c.type) throw new Error(`block column ${c.name}: built as ${built}, the format says ${c.type}`);
      return { name: c.name, type };
    });
  }

  /**
   * Appends row r of `rows`: span `s` of trace `traceId`, with the words BlockRows
   * keeps of it (IDs, start, duration and nested set numbers, at w[r * ROW_WORDS]).
   */
  add(traceId: string, s: StoredSpan, w: Int32Array, r: number): void {
    const row = this.rowCount;
    const sp = s.span;
    const t = this.trace;
    if (t.id === traceId) {
      this.traceId.pushCopy(t.row);
    } else {
      this.traceId.push(traceId);
      t.id = traceId;
      t.row = row;
    }
    const at = r * ROW_WORDS;
    const ids = w[at + W.IDS]!;
    if (ids & SPAN_ID_AS_BYTES) this.spanId.pushBytes(sp.spanId);
    else this.spanId.pushWords8(w[at + W.SPAN_ID]!, w[at + W.SPAN_ID + 1]!);
    if (ids & PARENT_AS_BYTES) this.parentSpanId.pushBytes(sp.parentSpanId);
    else this.parentSpanId.pushWords8(w[at + W.PARENT_ID]!, w[at + W.PARENT_ID + 1]!);
    this.nestedLeft.push(w[at + W.LEFT]!);
    this.nestedRight.push(w[at + W.RIGHT]!);
    this.nestedParent.push(w[at + W.PARENT]!);
    this.start.pushWords(w[at + W.START]!, w[at + W.START + 1]!);
    this.duration.pushWords(w[at + W.DURATION]!, w[at + W.DURATION + 1]!);
    this.name.push(sp.name);
    this.kind.push(u8('span kind', sp.kind));
    this.statusCode.push(u8('status code', sp.status.code));
    this.statusMessage.push(sp.status.message);
    this.traceState.push(sp.traceState);
    this.flags.push(u32('flags', sp.flags));
    this.attrs.push(sp.attributes);
    this.droppedAttributes.push(u32('dropped attributes count', sp.droppedAttributesCount));
    this.pushEvents(sp.events);
    this.droppedEvents.push(u32('dropped events count', sp.droppedEventsCount));
    this.pushLinks(sp.links);
    this.droppedLinks.push(u32('dropped links count', sp.droppedLinksCount));
    this.pushResource(s.resource, s.resourceSchemaUrl, row);
    this.pushScope(s.scope, s.scopeSchemaUrl, row);
    this.rowCount = row + 1;
  }

  /** Writes every row into a data chunk's vectors (`vector(i)` is column i's). */
  writeTo(vector: (column: number) => Vector): void {
    for (let i = 0; i < this.data.length; i++) this.data[i]!.writeTo(vector(i), 0, this.rowCount);
  }

  /** Forgets every row, for the next chunk. */
  clear(): void {
    for (const c of this.data) c.clear();
    this.rowCount = 0;
    this.resources.clear();
    this.scopes.clear();
    this.trace = { id: '', row: -1 };
  }

  private pushEvents(events: readonly SpanEvent[]): void {
    const start = this.eventTime.length;
    for (const e of events) {
      this.eventTime.push(u64('event time', e.timeUnixNano));
      this.eventName.push(e.name);
      this.eventAttrs.push(e.attributes);
      this.eventDropped.push(u32('event dropped attributes count', e.droppedAttributesCount));
    }
    this.events.push(start, events.length);
  }

  private pushLinks(links: readonly SpanLink[]): void {
    const start = this.linkTraceId.length;
    for (const l of links) {
      this.linkTraceId.push(toHex(l.traceId));
      this.linkSpanId.pushBytes(l.spanId);
      this.linkTraceState.push(l.traceState);
      this.linkAttrs.push(l.attributes);
      this.linkDropped.push(u32('link dropped attributes count', l.droppedAttributesCount));
      this.linkFlags.push(u32('link flags', l.flags));
    }
    this.links.push(start, links.length);
  }

  private pushResource(r: Resource, schemaUrl: string, row: number): void {
    let use = this.resources.get(r, schemaUrl);
    if (use !== undefined) {
      this.serviceName.pushCopy(use.row);
      this.resourceSchemaUrl.pushCopy(use.row);
    } else {
      const service = stringAttribute(r.attributes, 'service.name');
      if (service === undefined) this.serviceName.pushNull();
      else this.serviceName.push(service);
      this.resourceSchemaUrl.push(schemaUrl);
      use = { row, attrsOffset: this.resourceAttrs.pushChildren(r.attributes), attrsLength: r.attributes.length };
      this.resources.set(r, schemaUrl, use);
    }
    this.resourceAttrs.list.push(use.attrsOffset, use.attrsLength);
    this.resourceDropped.push(u32('resource dropped attributes count', r.droppedAttributesCount));
  }

  private pushScope(sc: InstrumentationScope, schemaUrl: string, row: number): void {
    let use = this.scopes.get(sc, schemaUrl);
    if (use !== undefined) {
      this.scopeName.pushCopy(use.row);
      this.scopeVersion.pushCopy(use.row);
      this.scopeSchemaUrl.pushCopy(use.row);
    } else {
      this.scopeName.push(sc.name);
      this.scopeVersion.push(sc.version);
      this.scopeSchemaUrl.push(schemaUrl);
      use = { row, attrsOffset: this.scopeAttrs.pushChildren(sc.attributes), attrsLength: sc.attributes.length };
      this.scopes.set(sc, schemaUrl, use);
    }
    this.scopeAttrs.list.push(use.attrsOffset, use.attrsLength);
    this.scopeDropped.push(u32('scope dropped attributes count', sc.droppedAttributesCount));
  }
}

/**
 * Resources or scopes (with their schema URL) used in the chunk, by identity: the
 * spans of a batch share one object per distinct resource and scope. A Map, not a
 * WeakMap: it is cleared with every chunk, and measured faster.
 */
class Uses<K extends object> {
  private readonly byKey = new Map<K, { schemaUrl: string; use: SharedUse; others?: Map<string, SharedUse> }>();

  get(key: K, schemaUrl: string): SharedUse | undefined {
    const e = this.byKey.get(key);
    if (e === undefined) return undefined;
    return e.schemaUrl === schemaUrl ? e.use : e.others?.get(schemaUrl);
  }

  set(key: K, schemaUrl: string, use: SharedUse): void {
    const e = this.byKey.get(key);
    if (e === undefined) this.byKey.set(key, { schemaUrl, use });
    else (e.others ??= new Map()).set(schemaUrl, use);
  }

  clear(): void {
    this.byKey.clear();
  }
}

/** The builders of the chunk being written: chunks are built and written one at a time, synchronously. */
let chunkColumns: ChunkColumns | undefined;

/**
 * One part's spans in block order, for DuckDB to read chunk by chunk. What was just
 * read of a span to put it in order (its IDs and times) is kept here as words, so
 * building its row later reads the span's other fields only. Each span goes into the
 * tag index as its row is built: its attributes are then in the CPU's caches once
 * instead of twice.
 */
export class BlockRows implements RowSource {
  readonly columns = (chunkColumns ??= new ChunkColumns()).columns;
  rowCount = 0;
  private spans: StoredSpan[] = [];
  private traceIds: string[] = [];
  private words = new Int32Array(1024 * ROW_WORDS);
  /** `words` as 64-bit values, for the times. */
  private times = new BigUint64Array(this.words.buffer);

  constructor(private readonly tags: TagIndex) {}

  /** Appends a span (rows come in block order); throws for times a UBIGINT cannot hold. */
  add(traceId: string, s: StoredSpan, nested: NestedSet): void {
    const r = this.rowCount;
    if ((r + 1) * ROW_WORDS > this.words.length) this.grow();
    const sp = s.span;
    const w = this.words;
    const at = r * ROW_WORDS;
    let ids = 0;
    if (!idWords(sp.spanId, w, at + W.SPAN_ID)) ids |= SPAN_ID_AS_BYTES;
    if (!idWords(sp.parentSpanId, w, at + W.PARENT_ID)) ids |= PARENT_AS_BYTES;
    w[at + W.IDS] = ids;
    const start = sp.startTimeUnixNano;
    const end = sp.endTimeUnixNano;
    this.times[(at + W.START) / 2] = u64('start time', start);
    this.times[(at + W.DURATION) / 2] = end > start ? u64('duration', end - start) : 0n;
    w[at + W.LEFT] = nested.left;
    w[at + W.RIGHT] = nested.right;
    w[at + W.PARENT] = nested.parent;
    this.spans.push(s);
    this.traceIds.push(traceId);
    this.rowCount = r + 1;
  }

  write(vector: (column: number) => Vector, from: number, count: number): void {
    const c = (chunkColumns ??= new ChunkColumns());
    try {
      for (let r = from; r < from + count; r++) {
        const s = this.spans[r]!;
        this.tags.addStoredSpan(s);
        c.add(this.traceIds[r]!, s, this.words, r);
      }
      c.writeTo(vector);
    } finally {
      c.clear();
    }
  }

  /** Forgets every row, for the next part. */
  clear(): void {
    this.spans = [];
    this.traceIds = [];
    this.rowCount = 0;
  }

  private grow(): void {
    const words = new Int32Array(this.words.length * 2);
    words.set(this.words);
    this.words = words;
    this.times = new BigUint64Array(words.buffer);
  }
}

/** Writes an 8-byte ID as two words at w[at] (its bytes in order, little-endian words); false for other lengths. */
function idWords(id: Uint8Array, w: Int32Array, at: number): boolean {
  if (id.length !== 8) return false;
  w[at] = id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24);
  w[at + 1] = id[4]! | (id[5]! << 8) | (id[6]! << 16) | (id[7]! << 24);
  return true;
}
