// Block row → StoredSpan: turns a DuckDB row object of a block back into the span
// it was written from (block-columns.ts writes them). The two are exact inverses:
// every field of the model, including 64-bit integers, non-finite doubles, empty
// strings and nested values.
import type { AnyValue, KeyValue, SpanKind, StatusCode, StoredSpan } from '../../otlp/model.js';
import { anyValueFromJson } from './any-value-json.js';
import { NEGATIVE_ZERO, ValueType } from './schema.js';

/** The columns decoding needs (everything but the derived ones: service_name and nested sets). */
export const SPAN_COLUMNS =
  'trace_id, span_id, parent_span_id, start_unix_nano, duration_nano, name, kind, status_code, status_message, trace_state, flags, ' +
  'attrs, dropped_attributes_count, events, dropped_events_count, links, dropped_links_count, ' +
  'resource_attrs, resource_dropped_attributes_count, resource_schema_url, ' +
  'scope_name, scope_version, scope_attrs, scope_dropped_attributes_count, scope_schema_url';

interface AttrRow {
  key: string;
  type: number;
  str: string | null;
  int: bigint | null;
  dbl: number | null;
  bool: boolean | null;
}

interface EventRow {
  time_unix_nano: bigint;
  name: string;
  attrs: AttrRow[] | null;
  dropped_attributes_count: number;
}

interface LinkRow {
  trace_id: string;
  span_id: Uint8Array;
  trace_state: string;
  attrs: AttrRow[] | null;
  dropped_attributes_count: number;
  flags: number;
}

/** A row of SPAN_COLUMNS as the engine returns it. */
export interface SpanRow {
  trace_id: string;
  span_id: Uint8Array;
  parent_span_id: Uint8Array;
  start_unix_nano: bigint;
  duration_nano: bigint;
  name: string;
  kind: number;
  status_code: number;
  status_message: string;
  trace_state: string;
  flags: number;
  attrs: AttrRow[] | null;
  dropped_attributes_count: number;
  events: EventRow[] | null;
  dropped_events_count: number;
  links: LinkRow[] | null;
  dropped_links_count: number;
  resource_attrs: AttrRow[] | null;
  resource_dropped_attributes_count: number;
  resource_schema_url: string;
  scope_name: string;
  scope_version: string;
  scope_attrs: AttrRow[] | null;
  scope_dropped_attributes_count: number;
  scope_schema_url: string;
}

export function rowToStoredSpan(r: SpanRow): StoredSpan {
  return {
    resource: { attributes: decodeAttrs(r.resource_attrs), droppedAttributesCount: r.resource_dropped_attributes_count },
    resourceSchemaUrl: r.resource_schema_url,
    scope: {
      name: r.scope_name,
      version: r.scope_version,
      attributes: decodeAttrs(r.scope_attrs),
      droppedAttributesCount: r.scope_dropped_attributes_count,
    },
    scopeSchemaUrl: r.scope_schema_url,
    span: {
      traceId: new Uint8Array(Buffer.from(r.trace_id, 'hex')),
      spanId: r.span_id,
      traceState: r.trace_state,
      parentSpanId: r.parent_span_id,
      flags: r.flags,
      name: r.name,
      kind: r.kind as SpanKind,
      startTimeUnixNano: r.start_unix_nano,
      endTimeUnixNano: r.start_unix_nano + r.duration_nano,
      attributes: decodeAttrs(r.attrs),
      droppedAttributesCount: r.dropped_attributes_count,
      events: (r.events ?? []).map((e) => ({
        timeUnixNano: e.time_unix_nano,
        name: e.name,
        attributes: decodeAttrs(e.attrs),
        droppedAttributesCount: e.dropped_attributes_count,
      })),
      droppedEventsCount: r.dropped_events_count,
      links: (r.links ?? []).map((l) => ({
        traceId: new Uint8Array(Buffer.from(l.trace_id, 'hex')),
        spanId: l.span_id,
        traceState: l.trace_state,
        attributes: decodeAttrs(l.attrs),
        droppedAttributesCount: l.dropped_attributes_count,
        flags: l.flags,
      })),
      droppedLinksCount: r.dropped_links_count,
      status: { code: r.status_code as StatusCode, message: r.status_message },
    },
  };
}

/** What reader.ts reads of a span for queries about a span's own fields alone. */
export const SLIM_SPAN_COLUMNS = 'trace_id, span_id, parent_span_id, start_unix_nano, duration_nano, name, kind, status_code, status_message, scope_name, scope_version';

export type SlimSpanRow = Pick<
  SpanRow,
  'trace_id' | 'span_id' | 'parent_span_id' | 'start_unix_nano' | 'duration_nano' | 'name' | 'kind' | 'status_code' | 'status_message' | 'scope_name' | 'scope_version'
>;

/** Resources of slim spans by service name: all a slim span's resource says, shared by its service's spans. */
const slimResources = new Map<string, StoredSpan['resource']>();

/** A span of SLIM_SPAN_COLUMNS, its resource's attributes its service.name alone; what was not read is empty. */
export function slimRowToStoredSpan(r: SlimSpanRow, serviceName: string): StoredSpan {
  let resource = slimResources.get(serviceName);
  if (resource === undefined) {
    resource = { attributes: [{ key: 'service.name', value: { type: 'string', value: serviceName } }], droppedAttributesCount: 0 };
    // Bounded: names come from data.
    if (slimResources.size >= 1024) slimResources.clear();
    slimResources.set(serviceName, resource);
  }
  return {
    resource,
    resourceSchemaUrl: '',
    scope: { name: r.scope_name, version: r.scope_version, attributes: [], droppedAttributesCount: 0 },
    scopeSchemaUrl: '',
    span: {
      traceId: new Uint8Array(Buffer.from(r.trace_id, 'hex')),
      spanId: r.span_id,
      traceState: '',
      parentSpanId: r.parent_span_id,
      flags: 0,
      name: r.name,
      kind: r.kind as SpanKind,
      startTimeUnixNano: r.start_unix_nano,
      endTimeUnixNano: r.start_unix_nano + r.duration_nano,
      attributes: [],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: r.status_code as StatusCode, message: r.status_message },
    },
  };
}

function decodeAttrs(attrs: AttrRow[] | null): KeyValue[] {
  return (attrs ?? []).map((a) => ({ key: a.key, value: decodeValue(a) }));
}

function decodeValue(a: AttrRow): AnyValue {
  switch (a.type) {
    case ValueType.STRING:
      return { type: 'string', value: a.str ?? '' };
    case ValueType.BOOL:
      return { type: 'bool', value: a.bool === true };
    case ValueType.INT:
      return { type: 'int', value: a.int ?? 0n };
    case ValueType.DOUBLE:
      if (a.dbl === 0 || a.dbl === null) return { type: 'double', value: a.str === NEGATIVE_ZERO ? -0 : 0 };
      return { type: 'double', value: a.dbl };
    case ValueType.BYTES:
      return { type: 'bytes', value: new Uint8Array(Buffer.from(a.str ?? '', 'base64')) };
    case ValueType.ARRAY:
    case ValueType.KVLIST:
      return anyValueFromJson(a.str ?? '{}');
    case ValueType.EMPTY:
      return { type: 'empty' };
    default:
      throw new Error(`attribute ${JSON.stringify(a.key)} has unknown value type ${a.type}`);
  }
}
