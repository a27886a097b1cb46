// OTLP/JSON codec (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// the proto3 JSON mapping of trace.proto, except that trace and span IDs are
// hex strings rather than base64. The same shapes with base64 IDs and enum
// names are what Grafana Tempo's HTTP API returns (Go jsonpb with its
// defaults), so both forms are read and written here.
import {
  SPAN_KIND_NAMES,
  STATUS_CODE_NAMES,
  toHex,
  toSpanKind,
  toStatusCode,
  type AnyValue,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type ResourceSpans,
  type ScopeSpans,
  type Span,
  type SpanEvent,
  type SpanLink,
  type Status,
} from './model.js';
import { MAX_VALUE_DEPTH, OtlpDecodeError } from './wire.js';

/** How trace and span IDs are written: hex for OTLP/JSON, base64 for Tempo's API (plain proto3 JSON). */
export type JsonIdEncoding = 'hex' | 'base64';

export interface OtlpJsonDecodeOptions {
  /** Default 'hex' (OTLP/JSON). */
  ids?: JsonIdEncoding;
}

export interface OtlpJsonEncodeOptions {
  /**
   * 'hex': OTLP/JSON, what /v1/traces accepts (enums as integers, as the OTLP
   * spec requires). 'base64': Tempo's API output (enums as names).
   */
  ids: JsonIdEncoding;
}

// ---- decoding ----------------------------------------------------------------

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest / TracesData (or a Tempo
 * trace, whose top-level list older Tempo versions call `batches`). Field
 * names may be lowerCamelCase or the proto's snake_case; missing or null
 * fields take their defaults; enums may be numbers or names; 64-bit integers
 * may be strings or numbers. Throws OtlpDecodeError naming the JSON path.
 */
export function decodeOtlpJson(body: string | Uint8Array, opts: OtlpJsonDecodeOptions = {}): ResourceSpans[] {
  return new JsonDecoder(opts.ids ?? 'hex').tracesData(parseJsonBody(body));
}

/** A request body as JSON (UTF-8, a leading byte-order mark ignored); OtlpDecodeError when it is not JSON. */
export function parseJsonBody(body: string | Uint8Array): unknown {
  let text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`);
  }
}

type JsonObject = Record<string, unknown>;

const UINT_RE = /^\d+$/;
const INT_RE = /^-?\d+$/;
const NUMBER_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const SPAN_KIND_BY_NAME = new Map<string, number>(SPAN_KIND_NAMES.map((name, i) => [name, i]));
const STATUS_CODE_BY_NAME = new Map<string, number>(STATUS_CODE_NAMES.map((name, i) => [name, i]));

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A short, quoted rendering of an offending string for an error message. */
function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its lowerCamelCase or snake_case name; null counts as absent. */
function field(o: JsonObject, camel: string, snake: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  const w = o[snake];
  return w === null ? undefined : w;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function hexToBytes(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(s.charCodeAt(2 * i));
    const lo = hexDigit(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Standard or URL-safe base64, padded or not (as proto3 JSON allows). */
function base64ToBytes(s: string): Uint8Array | undefined {
  if (!BASE64_RE.test(s)) return undefined;
  const unpadded = s.replace(/=+$/, '').length;
  if (unpadded % 4 === 1 || (s.length !== unpadded && s.length % 4 !== 0)) return undefined;
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/**
 * Walks the parsed JSON. `path` holds the keys and indices leading to the
 * value being read, so an error can name it; building path strings only on
 * error keeps the walk cheap.
 */
class JsonDecoder {
  private readonly path: Array<string | number> = [];

  constructor(private readonly ids: JsonIdEncoding) {}

  tracesData(root: unknown): ResourceSpans[] {
    if (!isObject(root)) throw this.error(undefined, `expected an object, got ${typeName(root)}`);
    const key = root['resourceSpans'] != null ? 'resourceSpans' : root['resource_spans'] != null ? 'resource_spans' : 'batches';
    const list = this.array(root, key, key);
    const out: ResourceSpans[] = [];
    if (!list) return out;
    this.path.push('resourceSpans');
    for (let i = 0; i < list.length; i++) {
      this.path.push(i);
      out.push(this.resourceSpans(list[i]));
      this.path.pop();
    }
    this.path.pop();
    return out;
  }

  private resourceSpans(v: unknown): ResourceSpans {
    const o = this.object(v);
    const resource: Resource = { attributes: [], droppedAttributesCount: 0 };
    const r = this.child(o, 'resource', 'resource');
    if (r) {
      this.path.push('resource');
      resource.attributes = this.attributes(r);
      resource.droppedAttributesCount = this.uint32(r, 'droppedAttributesCount', 'dropped_attributes_count');
      this.path.pop();
    }
    const scopeSpans: ScopeSpans[] = [];
    const list = this.array(o, 'scopeSpans', 'scope_spans');
    if (list) {
      this.path.push('scopeSpans');
      for (let i = 0; i < list.length; i++) {
        this.path.push(i);
        scopeSpans.push(this.scopeSpans(list[i]));
        this.path.pop();
      }
      this.path.pop();
    }
    return { resource, schemaUrl: this.string(o, 'schemaUrl', 'schema_url'), scopeSpans };
  }

  private scopeSpans(v: unknown): ScopeSpans {
    const o = this.object(v);
    const scope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
    const s = this.child(o, 'scope', 'scope');
    if (s) {
      this.path.push('scope');
      scope.name = this.string(s, 'name', 'name');
      scope.version = this.string(s, 'version', 'version');
      scope.attributes = this.attributes(s);
      scope.droppedAttributesCount = this.uint32(s, 'droppedAttributesCount', 'dropped_attributes_count');
      this.path.pop();
    }
    const spans: Span[] = [];
    const list = this.array(o, 'spans', 'spans');
    if (list) {
      this.path.push('spans');
      for (let i = 0; i < list.length; i++) {
        this.path.push(i);
        spans.push(this.span(list[i]));
        this.path.pop();
      }
      this.path.pop();
    }
    return { scope, schemaUrl: this.string(o, 'schemaUrl', 'schema_url'), spans };
  }

  private span(v: unknown): Span {
    const o = this.object(v);
    const events: SpanEvent[] = [];
    const eventList = this.array(o, 'events', 'events');
    if (eventList) {
      this.path.push('events');
      for (let i = 0; i < eventList.length; i++) {
        this.path.push(i);
        events.push(this.event(eventList[i]));
        this.path.pop();
      }
      this.path.pop();
    }
    const links: SpanLink[] = [];
    const linkList = this.array(o, 'links', 'links');
    if (linkList) {
      this.path.push('links');
      for (let i = 0; i < linkList.length; i++) {
        this.path.push(i);
        links.push(this.link(linkList[i]));
        this.path.pop();
      }
      this.path.pop();
    }
    const status: Status = { code: 0, message: '' };
    const s = this.child(o, 'status', 'status');
    if (s) {
      this.path.push('status');
      status.message = this.string(s, 'message', 'message');
      status.code = toStatusCode(this.enumValue(s, 'code', 'code', STATUS_CODE_BY_NAME));
      this.path.pop();
    }
    return {
      traceId: this.id(o, 'traceId', 'trace_id'),
      spanId: this.id(o, 'spanId', 'span_id'),
      traceState: this.string(o, 'traceState', 'trace_state'),
      parentSpanId: this.id(o, 'parentSpanId', 'parent_span_id'),
      flags: this.uint32(o, 'flags', 'flags'),
      name: this.string(o, 'name', 'name'),
      kind: toSpanKind(this.enumValue(o, 'kind', 'kind', SPAN_KIND_BY_NAME)),
      startTimeUnixNano: this.uint64(o, 'startTimeUnixNano', 'start_time_unix_nano'),
      endTimeUnixNano: this.uint64(o, 'endTimeUnixNano', 'end_time_unix_nano'),
      attributes: this.attributes(o),
      droppedAttributesCount: this.uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
      events,
      droppedEventsCount: this.uint32(o, 'droppedEventsCount', 'dropped_events_count'),
      links,
      droppedLinksCount: this.uint32(o, 'droppedLinksCount', 'dropped_links_count'),
      status,
    };
  }

  private event(v: unknown): SpanEvent {
    const o = this.object(v);
    return {
      timeUnixNano: this.uint64(o, 'timeUnixNano', 'time_unix_nano'),
      name: this.string(o, 'name', 'name'),
      attributes: this.attributes(o),
      droppedAttributesCount: this.uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
    };
  }

  private link(v: unknown): SpanLink {
    const o = this.object(v);
    return {
      traceId: this.id(o, 'traceId', 'trace_id'),
      spanId: this.id(o, 'spanId', 'span_id'),
      traceState: this.string(o, 'traceState', 'trace_state'),
      attributes: this.attributes(o),
      droppedAttributesCount: this.uint32(o, 'droppedAttributesCount', 'dropped_attributes_count'),
      flags: this.uint32(o, 'flags', 'flags'),
    };
  }

  private attributes(o: JsonObject): KeyValue[] {
    return this.keyValues(o, 'attributes', 'attributes', 0);
  }

  private keyValues(o: JsonObject, camel: string, snake: string, depth: number): KeyValue[] {
    const out: KeyValue[] = [];
    const list = this.array(o, camel, snake);
    if (!list) return out;
    this.path.push(camel);
    for (let i = 0; i < list.length; i++) {
      this.path.push(i);
      const kv = this.object(list[i]);
      const value = field(kv, 'value', 'value');
      let decoded: AnyValue = { type: 'empty' };
      if (value !== undefined) {
        this.path.push('value');
        decoded = this.anyValue(value, depth);
        this.path.pop();
      }
      out.push({ key: this.string(kv, 'key', 'key'), value: decoded });
      this.path.pop();
    }
    this.path.pop();
    return out;
  }

  private anyValue(v: unknown, depth: number): AnyValue {
    const o = this.object(v);
    let x = field(o, 'stringValue', 'string_value');
    if (x !== undefined) return { type: 'string', value: this.string(o, 'stringValue', 'string_value') };
    x = field(o, 'boolValue', 'bool_value');
    if (x !== undefined) {
      if (typeof x !== 'boolean') throw this.error('boolValue', `expected true or false, got ${typeName(x)}`);
      return { type: 'bool', value: x };
    }
    x = field(o, 'intValue', 'int_value');
    if (x !== undefined) return { type: 'int', value: this.int64(x, 'intValue') };
    x = field(o, 'doubleValue', 'double_value');
    if (x !== undefined) return { type: 'double', value: this.double(x, 'doubleValue') };
    x = field(o, 'bytesValue', 'bytes_value');
    if (x !== undefined) return { type: 'bytes', value: this.bytes(x, 'bytesValue', 'base64') };
    x = field(o, 'arrayValue', 'array_value');
    if (x !== undefined) {
      this.checkDepth(depth);
      this.path.push('arrayValue');
      const arr = this.object(x);
      const values: AnyValue[] = [];
      const list = this.array(arr, 'values', 'values');
      if (list) {
        this.path.push('values');
        for (let i = 0; i < list.length; i++) {
          this.path.push(i);
          values.push(this.anyValue(list[i], depth + 1));
          this.path.pop();
        }
        this.path.pop();
      }
      this.path.pop();
      return { type: 'array', value: values };
    }
    x = field(o, 'kvlistValue', 'kvlist_value');
    if (x !== undefined) {
      this.checkDepth(depth);
      this.path.push('kvlistValue');
      const values = this.keyValues(this.object(x), 'values', 'values', depth + 1);
      this.path.pop();
      return { type: 'kvlist', value: values };
    }
    return { type: 'empty' };
  }

  private checkDepth(depth: number): void {
    if (depth >= MAX_VALUE_DEPTH) throw this.error(undefined, `AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`);
  }

  // ---- scalars: each reads o[camel] (or o[snake]) and names `camel` on error ----

  private object(v: unknown): JsonObject {
    if (!isObject(v)) throw this.error(undefined, `expected an object, got ${typeName(v)}`);
    return v;
  }

  private child(o: JsonObject, camel: string, snake: string): JsonObject | undefined {
    const v = field(o, camel, snake);
    if (v === undefined) return undefined;
    if (!isObject(v)) throw this.error(camel, `expected an object, got ${typeName(v)}`);
    return v;
  }

  private array(o: JsonObject, camel: string, snake: string): unknown[] | undefined {
    const v = field(o, camel, snake);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw this.error(camel, `expected an array, got ${typeName(v)}`);
    return v;
  }

  private string(o: JsonObject, camel: string, snake: string): string {
    const v = field(o, camel, snake);
    if (v === undefined) return '';
    if (typeof v !== 'string') throw this.error(camel, `expected a string, got ${typeName(v)}`);
    return v;
  }

  private id(o: JsonObject, camel: string, snake: string): Uint8Array {
    const v = field(o, camel, snake);
    if (v === undefined) return new Uint8Array(0);
    return this.bytes(v, camel, this.ids);
  }

  private bytes(v: unknown, key: string, encoding: JsonIdEncoding): Uint8Array {
    const what = encoding === 'hex' ? 'a hex string' : 'a base64 string';
    if (typeof v !== 'string') throw this.error(key, `expected ${what}, got ${typeName(v)}`);
    const bytes = encoding === 'hex' ? hexToBytes(v) : base64ToBytes(v);
    if (!bytes) throw this.error(key, `expected ${what}, got ${quote(v)}`);
    return bytes;
  }

  private uint32(o: JsonObject, camel: string, snake: string): number {
    const v = field(o, camel, snake);
    if (v === undefined) return 0;
    const n = typeof v === 'string' && UINT_RE.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw this.error(camel, `expected an unsigned 32-bit integer, got ${typeof v === 'string' ? quote(v) : typeName(v)}`);
    }
    return n;
  }

  private enumValue(o: JsonObject, camel: string, snake: string, names: ReadonlyMap<string, number>): number {
    const v = field(o, camel, snake);
    if (v === undefined) return 0;
    if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return v;
    if (typeof v === 'string') {
      const n = names.get(v);
      if (n !== undefined) return n;
      throw this.error(camel, `unknown enum name ${quote(v)}; expected one of ${[...names.keys()].join(', ')} or its number`);
    }
    throw this.error(camel, `expected an enum name or integer, got ${typeName(v)}`);
  }

  private uint64(o: JsonObject, camel: string, snake: string): bigint {
    const v = field(o, camel, snake);
    if (v === undefined) return 0n;
    let n: bigint | undefined;
    if (typeof v === 'string' && UINT_RE.test(v)) n = BigInt(v);
    else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) n = BigInt(v);
    if (n === undefined || n > UINT64_MAX) {
      throw this.error(camel, `expected an unsigned 64-bit integer (a decimal string or a number), got ${typeof v === 'string' ? quote(v) : typeName(v)}`);
    }
    return n;
  }

  private int64(v: unknown, key: string): bigint {
    let n: bigint | undefined;
    if (typeof v === 'string' && INT_RE.test(v)) n = BigInt(v);
    else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
    if (n === undefined || n < INT64_MIN || n > INT64_MAX) {
      throw this.error(key, `expected a 64-bit integer (a decimal string or a number), got ${typeof v === 'string' ? quote(v) : typeName(v)}`);
    }
    return n;
  }

  private double(v: unknown, key: string): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (NUMBER_RE.test(v)) return Number(v);
    }
    throw this.error(key, `expected a number, got ${typeof v === 'string' ? quote(v) : typeName(v)}`);
  }

  private error(key: string | undefined, message: string): OtlpDecodeError {
    let where = '';
    for (const part of this.path) where += typeof part === 'number' ? `[${part}]` : where ? `.${part}` : part;
    if (key !== undefined) where += where ? `.${key}` : key;
    return new OtlpDecodeError(`${where || '(root)'}: ${message}`);
  }
}

// ---- encoding ------------------------------------------------------------------

/**
 * The batch as a plain object ready for JSON.stringify: lowerCamelCase names,
 * default and empty fields omitted, 64-bit integers as decimal strings, bytes
 * as base64. IDs and enums as `opts.ids` describes.
 */
export function encodeOtlpJson(batch: readonly ResourceSpans[], opts: OtlpJsonEncodeOptions): { resourceSpans: unknown[] } {
  const enc = new JsonEncoder(opts.ids);
  return { resourceSpans: batch.map((rs) => enc.resourceSpans(rs)) };
}

class JsonEncoder {
  private readonly enumNames: boolean;

  constructor(private readonly ids: JsonIdEncoding) {
    this.enumNames = ids === 'base64';
  }

  resourceSpans(rs: ResourceSpans): JsonObject {
    const o: JsonObject = {};
    const resource = this.resource(rs.resource);
    if (resource) o['resource'] = resource;
    if (rs.scopeSpans.length > 0) o['scopeSpans'] = rs.scopeSpans.map((ss) => this.scopeSpans(ss));
    if (rs.schemaUrl) o['schemaUrl'] = rs.schemaUrl;
    return o;
  }

  private resource(r: Resource): JsonObject | undefined {
    if (r.attributes.length === 0 && r.droppedAttributesCount === 0) return undefined;
    const o: JsonObject = {};
    if (r.attributes.length > 0) o['attributes'] = this.attributes(r.attributes);
    if (r.droppedAttributesCount) o['droppedAttributesCount'] = r.droppedAttributesCount;
    return o;
  }

  private scopeSpans(ss: ScopeSpans): JsonObject {
    const o: JsonObject = {};
    const scope = this.scope(ss.scope);
    if (scope) o['scope'] = scope;
    if (ss.spans.length > 0) o['spans'] = ss.spans.map((s) => this.span(s));
    if (ss.schemaUrl) o['schemaUrl'] = ss.schemaUrl;
    return o;
  }

  private scope(s: InstrumentationScope): JsonObject | undefined {
    if (!s.name && !s.version && s.attributes.length === 0 && s.droppedAttributesCount === 0) return undefined;
    const o: JsonObject = {};
    if (s.name) o['name'] = s.name;
    if (s.version) o['version'] = s.version;
    if (s.attributes.length > 0) o['attributes'] = this.attributes(s.attributes);
    if (s.droppedAttributesCount) o['droppedAttributesCount'] = s.droppedAttributesCount;
    return o;
  }

  private span(s: Span): JsonObject {
    // Keys in trace.proto's declaration order (flags is declared after parent_span_id).
    const o: JsonObject = {};
    if (s.traceId.length > 0) o['traceId'] = this.id(s.traceId);
    if (s.spanId.length > 0) o['spanId'] = this.id(s.spanId);
    if (s.traceState) o['traceState'] = s.traceState;
    if (s.parentSpanId.length > 0) o['parentSpanId'] = this.id(s.parentSpanId);
    if (s.flags) o['flags'] = s.flags;
    if (s.name) o['name'] = s.name;
    if (s.kind) o['kind'] = this.enumNames ? (SPAN_KIND_NAMES[s.kind] ?? s.kind) : s.kind;
    if (s.startTimeUnixNano) o['startTimeUnixNano'] = s.startTimeUnixNano.toString();
    if (s.endTimeUnixNano) o['endTimeUnixNano'] = s.endTimeUnixNano.toString();
    if (s.attributes.length > 0) o['attributes'] = this.attributes(s.attributes);
    if (s.droppedAttributesCount) o['droppedAttributesCount'] = s.droppedAttributesCount;
    if (s.events.length > 0) o['events'] = s.events.map((e) => this.event(e));
    if (s.droppedEventsCount) o['droppedEventsCount'] = s.droppedEventsCount;
    if (s.links.length > 0) o['links'] = s.links.map((l) => this.link(l));
    if (s.droppedLinksCount) o['droppedLinksCount'] = s.droppedLinksCount;
    if (s.status.code || s.status.message) {
      const status: JsonObject = {};
      if (s.status.message) status['message'] = s.status.message;
      if (s.status.code) status['code'] = this.enumNames ? (STATUS_CODE_NAMES[s.status.code] ?? s.status.code) : s.status.code;
      o['status'] = status;
    }
    return o;
  }

  private event(e: SpanEvent): JsonObject {
    const o: JsonObject = {};
    if (e.timeUnixNano) o['timeUnixNano'] = e.timeUnixNano.toString();
    if (e.name) o['name'] = e.name;
    if (e.attributes.length > 0) o['attributes'] = this.attributes(e.attributes);
    if (e.droppedAttributesCount) o['droppedAttributesCount'] = e.droppedAttributesCount;
    return o;
  }

  private link(l: SpanLink): JsonObject {
    const o: JsonObject = {};
    if (l.traceId.length > 0) o['traceId'] = this.id(l.traceId);
    if (l.spanId.length > 0) o['spanId'] = this.id(l.spanId);
    if (l.traceState) o['traceState'] = l.traceState;
    if (l.attributes.length > 0) o['attributes'] = this.attributes(l.attributes);
    if (l.droppedAttributesCount) o['droppedAttributesCount'] = l.droppedAttributesCount;
    if (l.flags) o['flags'] = l.flags;
    return o;
  }

  private attributes(attrs: readonly KeyValue[]): JsonObject[] {
    return attrs.map((kv) => {
      const o: JsonObject = {};
      if (kv.key) o['key'] = kv.key;
      o['value'] = this.anyValue(kv.value);
      return o;
    });
  }

  /** A set oneof is written even when it holds a default value, as jsonpb does. */
  private anyValue(v: AnyValue): JsonObject {
    switch (v.type) {
      case 'string':
        return { stringValue: v.value };
      case 'bool':
        return { boolValue: v.value };
      case 'int':
        return { intValue: v.value.toString() };
      case 'double':
        return { doubleValue: jsonDouble(v.value) };
      case 'bytes':
        return { bytesValue: base64(v.value) };
      case 'array':
        return { arrayValue: v.value.length > 0 ? { values: v.value.map((x) => this.anyValue(x)) } : {} };
      case 'kvlist':
        return { kvlistValue: v.value.length > 0 ? { values: this.attributes(v.value) } : {} };
      case 'empty':
        return {};
    }
  }

  private id(bytes: Uint8Array): string {
    return this.ids === 'hex' ? toHex(bytes) : base64(bytes);
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** proto3 JSON writes non-finite doubles as strings; -0 too, since JSON has no -0 number. */
function jsonDouble(v: number): number | string {
  if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}
