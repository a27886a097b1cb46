// Decoders for the messages of opentelemetry/proto/trace/v1/trace.proto (and
// the common/resource messages it uses) into the span model. Field numbers:
//   TracesData / ExportTraceServiceRequest / tempopb.Trace: resource_spans = 1
//   ResourceSpans: resource = 1, scope_spans = 2, schema_url = 3
//   ScopeSpans: scope = 1, spans = 2, schema_url = 3
//   Span: trace_id = 1, span_id = 2, trace_state = 3, parent_span_id = 4,
//     name = 5, kind = 6, start_time_unix_nano = 7 (fixed64),
//     end_time_unix_nano = 8 (fixed64), attributes = 9,
//     dropped_attributes_count = 10, events = 11, dropped_events_count = 12,
//     links = 13, dropped_links_count = 14, status = 15, flags = 16 (fixed32)
//   Span.Event: time_unix_nano = 1 (fixed64), name = 2, attributes = 3, dropped_attributes_count = 4
//   Span.Link: trace_id = 1, span_id = 2, trace_state = 3, attributes = 4,
//     dropped_attributes_count = 5, flags = 6 (fixed32)
//   Status: message = 2, code = 3 (1 is reserved)
//   Resource: attributes = 1, dropped_attributes_count = 2
//   InstrumentationScope: name = 1, version = 2, attributes = 3, dropped_attributes_count = 4
//   KeyValue: key = 1, value = 2
//   AnyValue (oneof): string = 1, bool = 2, int = 3, double = 4 (fixed64),
//     array = 5 (ArrayValue.values = 1), kvlist = 6 (KeyValueList.values = 1), bytes = 7
// A message field that occurs twice is merged, as protobuf specifies.
//
// Each decoder loops over one message with a switch on the whole tag (field
// number and wire type): no closures or lookups per field on the hot path.
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  Resource,
  ResourceSpans,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  Status,
} from './model.js';
import { toSpanKind, toStatusCode } from './model.js';
import { MAX_VALUE_DEPTH, OtlpDecodeError, WireReader, WireType, messageSchema } from './wire.js';
import { T1_LEN, T2_LEN, T3_LEN, T4_LEN, T5_LEN, T6_LEN, T7_LEN, T9_LEN, T11_LEN, T13_LEN, T15_LEN, T1_I64, T4_I64, T7_I64, T8_I64, T6_I32, T16_I32, T2_VARINT, T3_VARINT, T4_VARINT, T5_VARINT, T6_VARINT, T10_VARINT, T12_VARINT, T14_VARINT } from './trace-tags.js';

const { VARINT, I64, LEN, I32 } = WireType;

const TRACES_DATA = messageSchema('TracesData', { 1: ['resource_spans', LEN] });
const RESOURCE_SPANS = messageSchema('ResourceSpans', {
  1: ['resource', LEN],
  2: ['scope_spans', LEN],
  3: ['schema_url', LEN],
});
const SCOPE_SPANS = messageSchema('ScopeSpans', { 1: ['scope', LEN], 2: ['spans', LEN], 3: ['schema_url', LEN] });
const SPAN = messageSchema('Span', {
  1: ['trace_id', LEN],
  2: ['span_id', LEN],
  3: ['trace_state', LEN],
  4: ['parent_span_id', LEN],
  5: ['name', LEN],
  6: ['kind', VARINT],
  7: ['start_time_unix_nano', I64],
  8: ['end_time_unix_nano', I64],
  9: ['attributes', LEN],
  10: ['dropped_attributes_count', VARINT],
  11: ['events', LEN],
  12: ['dropped_events_count', VARINT],
  13: ['links', LEN],
  14: ['dropped_links_count', VARINT],
  15: ['status', LEN],
  16: ['flags', I32],
});
const EVENT = messageSchema('Span.Event', {
  1: ['time_unix_nano', I64],
  2: ['name', LEN],
  3: ['attributes', LEN],
  4: ['dropped_attributes_count', VARINT],
});
const LINK = messageSchema('Span.Link', {
  1: ['trace_id', LEN],
  2: ['span_id', LEN],
  3: ['trace_state', LEN],
  4: ['attributes', LEN],
  5: ['dropped_attributes_count', VARINT],
  6: ['flags', I32],
});
const STATUS = messageSchema('Status', { 2: ['message', LEN], 3: ['code', VARINT] });
const RESOURCE = messageSchema('Resource', { 1: ['attributes', LEN], 2: ['dropped_attributes_count', VARINT] });
const SCOPE = messageSchema('InstrumentationScope', {
  1: ['name', LEN],
  2: ['version', LEN],
  3: ['attributes', LEN],
  4: ['dropped_attributes_count', VARINT],
});
const KEY_VALUE = messageSchema('KeyValue', { 1: ['key', LEN], 2: ['value', LEN] });
const ANY_VALUE = messageSchema('AnyValue', {
  1: ['string_value', LEN],
  2: ['bool_value', VARINT],
  3: ['int_value', VARINT],
  4: ['double_value', I64],
  5: ['array_value', LEN],
  6: ['kvlist_value', LEN],
  7: ['bytes_value', LEN],
});
const ARRAY_VALUE = messageSchema('ArrayValue', { 1: ['values', LEN] });
const KEY_VALUE_LIST = messageSchema('KeyValueList', { 1: ['values', LEN] });

/** Shared by every absent bytes field: a zero-length array cannot be mutated. */
const NO_BYTES: Uint8Array = new Uint8Array(0);
/** The statuses without a message, shared by code (frozen: redaction and the rest replace a span's status, never change it). */
const PLAIN_STATUSES: readonly Status[] = [0, 1, 2].map((code) => Object.freeze({ code: toStatusCode(code), message: '' }));

/** Reads repeated ResourceSpans = 1 (TracesData, ExportTraceServiceRequest, tempopb.Trace). */
export function readTracesData(r: WireReader, end: number): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  while (r.pos < end) {
    const tag = r.tag(end, TRACES_DATA);
    if (tag === T1_LEN) out.push(readResourceSpans(r, r.delimitedEnd(end, TRACES_DATA, 1)));
    else r.skip(tag, end, TRACES_DATA);
  }
  return out;
}

function readResourceSpans(r: WireReader, end: number): ResourceSpans {
  const resource: Resource = { attributes: [], droppedAttributesCount: 0 };
  const scopeSpans: ScopeSpans[] = [];
  let schemaUrl = '';
  let resources = 0;
  let resourceStart = 0;
  let resourceEnd = 0;
  while (r.pos < end) {
    const tag = r.tag(end, RESOURCE_SPANS);
    switch (tag) {
      case T1_LEN: {
        // Merged, as protobuf says, but the wire's layout then has two resources where the model has one.
        if (++resources > 1) r.lossy = true;
        resourceEnd = r.delimitedEnd(end, RESOURCE_SPANS, 1);
        resourceStart = r.pos;
        readResource(r, resourceEnd, resource);
        break;
      }
      case T2_LEN:
        scopeSpans.push(readScopeSpans(r, r.delimitedEnd(end, RESOURCE_SPANS, 2)));
        break;
      case T3_LEN:
        schemaUrl = r.string(end, RESOURCE_SPANS, 3);
        break;
      default:
        r.skip(tag, end, RESOURCE_SPANS);
    }
  }
  r.layout?.resources.push(resourceStart, resourceEnd);
  return { resource, schemaUrl, scopeSpans };
}

function readScopeSpans(r: WireReader, end: number): ScopeSpans {
  const scope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  const spans: Span[] = [];
  let schemaUrl = '';
  let scopes = 0;
  let scopeStart = 0;
  let scopeEnd = 0;
  while (r.pos < end) {
    const tag = r.tag(end, SCOPE_SPANS);
    switch (tag) {
      case T1_LEN:
        if (++scopes > 1) r.lossy = true;
        scopeEnd = r.delimitedEnd(end, SCOPE_SPANS, 1);
        scopeStart = r.pos;
        readScope(r, scopeEnd, scope);
        break;
      case T2_LEN: {
        const spanEnd = r.delimitedEnd(end, SCOPE_SPANS, 2);
        const spanStart = r.pos;
        spans.push(readSpan(r, spanEnd));
        r.layout?.spans.push(spanStart, spanEnd);
        break;
      }
      case T3_LEN:
        schemaUrl = r.string(end, SCOPE_SPANS, 3);
        break;
      default:
        r.skip(tag, end, SCOPE_SPANS);
    }
  }
  r.layout?.scopes.push(scopeStart, scopeEnd);
  return { scope, schemaUrl, spans };
}

/** Reads a Resource body, merging into `into`. */
export function readResource(r: WireReader, end: number, into: Resource): Resource {
  while (r.pos < end) {
    const tag = r.tag(end, RESOURCE);
    switch (tag) {
      case T1_LEN:
        into.attributes.push(readKeyValue(r, r.delimitedEnd(end, RESOURCE, 1), 0));
        break;
      case T2_VARINT:
        into.droppedAttributesCount = r.uint32(end, RESOURCE, 2);
        break;
      default:
        r.skip(tag, end, RESOURCE);
    }
  }
  return into;
}

/** Reads an InstrumentationScope body, merging into `into`. */
export function readScope(r: WireReader, end: number, into: InstrumentationScope): InstrumentationScope {
  while (r.pos < end) {
    const tag = r.tag(end, SCOPE);
    switch (tag) {
      case T1_LEN:
        into.name = r.string(end, SCOPE, 1);
        break;
      case T2_LEN:
        into.version = r.string(end, SCOPE, 2);
        break;
      case T3_LEN:
        into.attributes.push(readKeyValue(r, r.delimitedEnd(end, SCOPE, 3), 0));
        break;
      case T4_VARINT:
        into.droppedAttributesCount = r.uint32(end, SCOPE, 4);
        break;
      default:
        r.skip(tag, end, SCOPE);
    }
  }
  return into;
}

export function readSpan(r: WireReader, end: number): Span {
  let traceId = NO_BYTES;
  let spanId = NO_BYTES;
  let traceState = '';
  let parentSpanId = NO_BYTES;
  let flags = 0;
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  const events: SpanEvent[] = [];
  let droppedEventsCount = 0;
  const links: SpanLink[] = [];
  let droppedLinksCount = 0;
  let status = PLAIN_STATUSES[0]!;
  while (r.pos < end) {
    const tag = r.tag(end, SPAN);
    switch (tag) {
      case T1_LEN:
        traceId = r.id(end, SPAN, 1);
        break;
      case T2_LEN:
        spanId = r.id(end, SPAN, 2);
        break;
      case T3_LEN:
        traceState = r.string(end, SPAN, 3);
        break;
      case T4_LEN:
        parentSpanId = r.id(end, SPAN, 4);
        break;
      case T5_LEN:
        name = r.string(end, SPAN, 5);
        break;
      case T6_VARINT:
        kind = r.int32(end, SPAN, 6);
        // Normalised below: the bytes then say something the span does not.
        if (toSpanKind(kind) !== kind) r.lossy = true;
        break;
      case T7_I64:
        startTimeUnixNano = r.fixed64(end, SPAN, 7);
        break;
      case T8_I64:
        endTimeUnixNano = r.fixed64(end, SPAN, 8);
        break;
      case T9_LEN:
        attributes.push(readKeyValue(r, r.delimitedEnd(end, SPAN, 9), 0));
        break;
      case T10_VARINT:
        droppedAttributesCount = r.uint32(end, SPAN, 10);
        break;
      case T11_LEN:
        events.push(readEvent(r, r.delimitedEnd(end, SPAN, 11)));
        break;
      case T12_VARINT:
        droppedEventsCount = r.uint32(end, SPAN, 12);
        break;
      case T13_LEN:
        links.push(readLink(r, r.delimitedEnd(end, SPAN, 13)));
        break;
      case T14_VARINT:
        droppedLinksCount = r.uint32(end, SPAN, 14);
        break;
      case T15_LEN:
        status = readStatus(r, r.delimitedEnd(end, SPAN, 15), status);
        break;
      case T16_I32:
        flags = r.fixed32(end, SPAN, 16);
        break;
      default:
        r.skip(tag, end, SPAN);
    }
  }
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId,
    flags,
    name,
    kind: toSpanKind(kind),
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status,
  };
}

function readEvent(r: WireReader, end: number): SpanEvent {
  let timeUnixNano = 0n;
  let name = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < end) {
    const tag = r.tag(end, EVENT);
    switch (tag) {
      case T1_I64:
        timeUnixNano = r.fixed64(end, EVENT, 1);
        break;
      case T2_LEN:
        name = r.string(end, EVENT, 2);
        break;
      case T3_LEN:
        attributes.push(readKeyValue(r, r.delimitedEnd(end, EVENT, 3), 0));
        break;
      case T4_VARINT:
        droppedAttributesCount = r.uint32(end, EVENT, 4);
        break;
      default:
        r.skip(tag, end, EVENT);
    }
  }
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

function readLink(r: WireReader, end: number): SpanLink {
  let traceId = NO_BYTES;
  let spanId = NO_BYTES;
  let traceState = '';
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  while (r.pos < end) {
    const tag = r.tag(end, LINK);
    switch (tag) {
      case T1_LEN:
        traceId = r.id(end, LINK, 1);
        break;
      case T2_LEN:
        spanId = r.id(end, LINK, 2);
        break;
      case T3_LEN:
        traceState = r.string(end, LINK, 3);
        break;
      case T4_LEN:
        attributes.push(readKeyValue(r, r.delimitedEnd(end, LINK, 4), 0));
        break;
      case T5_VARINT:
        droppedAttributesCount = r.uint32(end, LINK, 5);
        break;
      case T6_I32:
        flags = r.fixed32(end, LINK, 6);
        break;
      default:
        r.skip(tag, end, LINK);
    }
  }
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

/** Reads a Status body over `prev` (a second status field merges into the first). */
function readStatus(r: WireReader, end: number, prev: Status): Status {
  let code = prev.code;
  let message = prev.message;
  while (r.pos < end) {
    const tag = r.tag(end, STATUS);
    switch (tag) {
      case T2_LEN:
        message = r.string(end, STATUS, 2);
        break;
      case T3_VARINT: {
        const n = r.int32(end, STATUS, 3);
        code = toStatusCode(n);
        if (code !== n) r.lossy = true;
        break;
      }
      default:
        r.skip(tag, end, STATUS);
    }
  }
  return message === '' ? PLAIN_STATUSES[code]! : { code, message };
}

/**
 * Reads a KeyValue body. A KeyValue whose bytes were decoded before is that one again
 * (see WireReader.knownKeyValue), when its value cannot change in place: a scalar, frozen
 * with it. Arrays, kvlists and bytes are decoded anew each time.
 */
function readKeyValue(r: WireReader, end: number, depth: number): KeyValue {
  const start = r.pos;
  const known = r.knownKeyValue(end);
  if (known !== undefined) return known;
  // Whether this KeyValue says more than it decodes to, apart from what came before it.
  const lossyBefore = r.lossy;
  r.lossy = false;
  let key = '';
  let value: AnyValue | undefined;
  while (r.pos < end) {
    const tag = r.tag(end, KEY_VALUE);
    switch (tag) {
      case T1_LEN:
        key = r.string(end, KEY_VALUE, 1);
        break;
      case T2_LEN:
        // A second value would merge into or replace the first, which the model then never shows.
        if (value !== undefined) r.lossy = true;
        value = readAnyValue(r, r.delimitedEnd(end, KEY_VALUE, 2), depth);
        break;
      default:
        r.skip(tag, end, KEY_VALUE);
    }
  }
  const kv: KeyValue = { key, value: value ?? { type: 'empty' } };
  const lossy = r.lossy;
  r.lossy = lossyBefore || lossy;
  if (lossy) return kv;
  switch (kv.value.type) {
    case 'array':
    case 'kvlist':
    case 'bytes':
      return kv;
    default:
      Object.freeze(kv.value);
      return r.rememberKeyValue(start, end, kv);
  }
}

function readAnyValue(r: WireReader, end: number, depth: number): AnyValue {
  let value: AnyValue | undefined;
  while (r.pos < end) {
    const tag = r.tag(end, ANY_VALUE);
    // A oneof set twice keeps only the last value.
    if (value !== undefined) r.lossy = true;
    switch (tag) {
      case T1_LEN:
        value = r.stringValue(end, ANY_VALUE, 1);
        break;
      case T2_VARINT:
        value = { type: 'bool', value: r.bool(end, ANY_VALUE, 2) };
        break;
      case T3_VARINT:
        value = { type: 'int', value: r.int64(end, ANY_VALUE, 3) };
        break;
      case T4_I64:
        value = { type: 'double', value: r.double(end, ANY_VALUE, 4) };
        break;
      case T5_LEN:
        checkDepth(r, depth);
        value = { type: 'array', value: readArrayValue(r, r.delimitedEnd(end, ANY_VALUE, 5), depth + 1) };
        break;
      case T6_LEN:
        checkDepth(r, depth);
        value = { type: 'kvlist', value: readKeyValueList(r, r.delimitedEnd(end, ANY_VALUE, 6), depth + 1) };
        break;
      case T7_LEN:
        value = { type: 'bytes', value: r.bytes(end, ANY_VALUE, 7) };
        break;
      default:
        r.skip(tag, end, ANY_VALUE);
    }
  }
  return value ?? { type: 'empty' };
}

function checkDepth(r: WireReader, depth: number): void {
  if (depth >= MAX_VALUE_DEPTH) {
    throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels at offset ${r.pos}`);
  }
}

function readArrayValue(r: WireReader, end: number, depth: number): AnyValue[] {
  const values: AnyValue[] = [];
  while (r.pos < end) {
    const tag = r.tag(end, ARRAY_VALUE);
    if (tag === T1_LEN) values.push(readAnyValue(r, r.delimitedEnd(end, ARRAY_VALUE, 1), depth));
    else r.skip(tag, end, ARRAY_VALUE);
  }
  return values;
}

function readKeyValueList(r: WireReader, end: number, depth: number): KeyValue[] {
  const values: KeyValue[] = [];
  while (r.pos < end) {
    const tag = r.tag(end, KEY_VALUE_LIST);
    if (tag === T1_LEN) values.push(readKeyValue(r, r.delimitedEnd(end, KEY_VALUE_LIST, 1), depth));
    else r.skip(tag, end, KEY_VALUE_LIST);
  }
  return values;
}
