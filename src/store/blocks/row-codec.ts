// StoredSpan ⇄ block row. Writing produces staged NDJSON rows (the shape
// read_json expects, see schema.ts); reading turns a DuckDB row object back
// into a StoredSpan. The two are exact inverses: every field of the model,
// including 64-bit integers, non-finite doubles, empty strings and nested values.
import type { AnyValue, InstrumentationScope, KeyValue, Resource, SpanEvent, SpanKind, SpanLink, StatusCode, StoredSpan } from '../../otlp/model.js';
import { stringAttribute, toHex } from '../../otlp/model.js';
import { anyValueFromJson, anyValueToJson, doubleToJson } from './any-value-json.js';
import type { NestedSet } from '../../otlp/nested-set.js';
import { RESOURCE_REF, SCOPE_REF, ValueType } from './schema.js';

/**
 * Builds staged rows: one NDJSON line per span, naming its resource and scope by a
 * small integer, and one line per distinct resource and scope. A block holds a
 * handful of resources and scopes and ~100k spans, so this halves what is staged
 * and parsed. Spans of one batch share their resource and scope objects, so each
 * object is encoded once.
 */
export class StagedRowEncoder {
  private readonly resourceRefs = new Map<string, number>();
  private readonly scopeRefs = new Map<string, number>();
  private readonly resourceRefByObject = new WeakMap<Resource, Map<string, number>>();
  private readonly scopeRefByObject = new WeakMap<InstrumentationScope, Map<string, number>>();
  private resourceLines: string[] = [];
  private scopeLines: string[] = [];

  encode(traceId: string, s: StoredSpan, nested: NestedSet, spanIdHex: string, parentSpanIdHex: string): string {
    const sp = s.span;
    const duration = sp.endTimeUnixNano > sp.startTimeUnixNano ? sp.endTimeUnixNano - sp.startTimeUnixNano : 0n;
    return (
      `{"trace_id":"${traceId}","span_id":"${spanIdHex}","parent_span_id":"${parentSpanIdHex}",` +
      `"nested_set_left":${nested.left},"nested_set_right":${nested.right},"nested_set_parent":${nested.parent},` +
      `"start_unix_nano":${sp.startTimeUnixNano},"duration_nano":${duration},` +
      `"name":${JSON.stringify(sp.name)},"kind":${sp.kind},"status_code":${sp.status.code},"status_message":${JSON.stringify(sp.status.message)},` +
      `"trace_state":${JSON.stringify(sp.traceState)},"flags":${sp.flags},` +
      `"attrs":${attrsJson(sp.attributes)},"dropped_attributes_count":${sp.droppedAttributesCount},` +
      `"events":${eventsJson(sp.events)},"dropped_events_count":${sp.droppedEventsCount},` +
      `"links":${linksJson(sp.links)},"dropped_links_count":${sp.droppedLinksCount},` +
      `"${RESOURCE_REF}":${this.resourceRef(s.resource, s.resourceSchemaUrl)},"${SCOPE_REF}":${this.scopeRef(s.scope, s.scopeSchemaUrl)}}\n`
    );
  }

  /** NDJSON of every resource referenced so far. */
  resourcesNdjson(): string {
    return this.resourceLines.join('');
  }

  /** NDJSON of every scope referenced so far. */
  scopesNdjson(): string {
    return this.scopeLines.join('');
  }

  private resourceRef(r: Resource, schemaUrl: string): number {
    let bySchema = this.resourceRefByObject.get(r);
    const known = bySchema?.get(schemaUrl);
    if (known !== undefined) return known;
    const service = stringAttribute(r.attributes, 'service.name');
    const body =
      `"service_name":${service === undefined ? 'null' : JSON.stringify(service)},"resource_attrs":${attrsJson(r.attributes)},` +
      `"resource_dropped_attributes_count":${r.droppedAttributesCount},"resource_schema_url":${JSON.stringify(schemaUrl)}`;
    let ref = this.resourceRefs.get(body);
    if (ref === undefined) {
      ref = this.resourceRefs.size;
      this.resourceRefs.set(body, ref);
      this.resourceLines.push(`{"${RESOURCE_REF}":${ref},${body}}\n`);
    }
    if (!bySchema) this.resourceRefByObject.set(r, (bySchema = new Map()));
    bySchema.set(schemaUrl, ref);
    return ref;
  }

  private scopeRef(sc: InstrumentationScope, schemaUrl: string): number {
    let bySchema = this.scopeRefByObject.get(sc);
    const known = bySchema?.get(schemaUrl);
    if (known !== undefined) return known;
    const body =
      `"scope_name":${JSON.stringify(sc.name)},"scope_version":${JSON.stringify(sc.version)},"scope_attrs":${attrsJson(sc.attributes)},` +
      `"scope_dropped_attributes_count":${sc.droppedAttributesCount},"scope_schema_url":${JSON.stringify(schemaUrl)}`;
    let ref = this.scopeRefs.get(body);
    if (ref === undefined) {
      ref = this.scopeRefs.size;
      this.scopeRefs.set(body, ref);
      this.scopeLines.push(`{"${SCOPE_REF}":${ref},${body}}\n`);
    }
    if (!bySchema) this.scopeRefByObject.set(sc, (bySchema = new Map()));
    bySchema.set(schemaUrl, ref);
    return ref;
  }
}

/** `str` of a double attribute that is -0 (see attrJson). */
const NEGATIVE_ZERO = '-0';

function attrsJson(attrs: readonly KeyValue[]): string {
  if (attrs.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < attrs.length; i++) {
    if (i > 0) out += ',';
    out += attrJson(attrs[i]!);
  }
  return `${out}]`;
}

function attrJson(kv: KeyValue): string {
  const key = JSON.stringify(kv.key);
  const v = kv.value;
  switch (v.type) {
    case 'string':
      return `{"key":${key},"type":${ValueType.STRING},"str":${JSON.stringify(v.value)}}`;
    case 'bool':
      return `{"key":${key},"type":${ValueType.BOOL},"bool":${v.value}}`;
    case 'int':
      return `{"key":${key},"type":${ValueType.INT},"int":${v.value}}`;
    case 'double':
      // Parquet's dictionary encoding takes -0 and 0 for one value (whichever a block met first), so
      // the sign of a zero is also said in `str`.
      return Object.is(v.value, -0)
        ? `{"key":${key},"type":${ValueType.DOUBLE},"dbl":"-0","str":"${NEGATIVE_ZERO}"}`
        : `{"key":${key},"type":${ValueType.DOUBLE},"dbl":${doubleToJson(v.value)}}`;
    case 'bytes':
      return `{"key":${key},"type":${ValueType.BYTES},"str":"${Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength).toString('base64')}"}`;
    case 'array':
      return `{"key":${key},"type":${ValueType.ARRAY},"str":${JSON.stringify(anyValueToJson(v))}}`;
    case 'kvlist':
      return `{"key":${key},"type":${ValueType.KVLIST},"str":${JSON.stringify(anyValueToJson(v))}}`;
    case 'empty':
      return `{"key":${key},"type":${ValueType.EMPTY}}`;
  }
}

function eventsJson(events: readonly SpanEvent[]): string {
  if (events.length === 0) return '[]';
  return `[${events
    .map(
      (e) =>
        `{"time_unix_nano":${e.timeUnixNano},"name":${JSON.stringify(e.name)},"attrs":${attrsJson(e.attributes)},"dropped_attributes_count":${e.droppedAttributesCount}}`,
    )
    .join(',')}]`;
}

function linksJson(links: readonly SpanLink[]): string {
  if (links.length === 0) return '[]';
  return `[${links
    .map(
      (l) =>
        `{"trace_id":"${toHex(l.traceId)}","span_id":"${toHex(l.spanId)}","trace_state":${JSON.stringify(l.traceState)},` +
        `"attrs":${attrsJson(l.attributes)},"dropped_attributes_count":${l.droppedAttributesCount},"flags":${l.flags}}`,
    )
    .join(',')}]`;
}

// ── Reading ────────────────────────────────────────────────────────────────

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
