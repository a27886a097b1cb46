// protobufjs as an independent reference decoder/encoder: the OTLP trace
// messages (and the response messages Skein writes) as .proto text, and the
// shape protobufjs' toObject gives for a batch of Skein's model.
import protobuf from 'protobufjs';
import type { AnyValue, KeyValue, ResourceSpans, Span } from '../../src/otlp/model.js';

// Field numbers as in opentelemetry-proto (trace/v1/trace.proto, common/v1,
// resource/v1, collector/trace/v1), googleapis (google/rpc/status.proto,
// error_details.proto), protobuf's well-known types, and grafana/tempo
// (pkg/tempopb/tempo.proto). Packages are left out: they do not reach the wire.
const PROTO = `
syntax = "proto3";

message TracesData { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  reserved 1;
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}

message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}

message RpcStatus {
  int32 code = 1;
  string message = 2;
  repeated Any details = 3;
}
message Any {
  string type_url = 1;
  bytes value = 2;
}
message RetryInfo { Duration retry_delay = 1; }
message Duration {
  int64 seconds = 1;
  int32 nanos = 2;
}

message TraceByIDResponse {
  TracesData trace = 1;
  TraceByIDMetrics metrics = 2;
  enum Status {
    COMPLETE = 0;
    PARTIAL = 1;
  }
  Status status = 3;
  string message = 4;
}
message TraceByIDMetrics { uint64 inspectedBytes = 1; }
`;

const root = protobuf.parse(PROTO).root;

export const reference = {
  TracesData: root.lookupType('TracesData'),
  Span: root.lookupType('Span'),
  ExportTraceServiceResponse: root.lookupType('ExportTraceServiceResponse'),
  RpcStatus: root.lookupType('RpcStatus'),
  RetryInfo: root.lookupType('RetryInfo'),
  TraceByIDResponse: root.lookupType('TraceByIDResponse'),
};

/** What protobufjs decodes into, as plain objects: 64-bit integers as strings, bytes as base64, enums as numbers. */
export const TO_OBJECT: protobuf.IConversionOptions = { longs: String, bytes: String, enums: Number, defaults: false };

export function decodeWithReference(type: protobuf.Type, buf: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(buf), TO_OBJECT);
}

// ---- the expected toObject shape of Skein's model ----------------------------

type Obj = Record<string, unknown>;

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function setIf(o: Obj, key: string, value: unknown, present: boolean): void {
  if (present) o[key] = value;
}

function anyValue(v: AnyValue): Obj {
  switch (v.type) {
    case 'string':
      return { stringValue: v.value };
    case 'bool':
      return { boolValue: v.value };
    case 'int':
      return { intValue: v.value.toString() };
    case 'double':
      return { doubleValue: v.value };
    case 'bytes':
      return { bytesValue: b64(v.value) };
    case 'array':
      return { arrayValue: v.value.length ? { values: v.value.map(anyValue) } : {} };
    case 'kvlist':
      return { kvlistValue: v.value.length ? { values: v.value.map(keyValue) } : {} };
    case 'empty':
      return {};
  }
}

function keyValue(kv: KeyValue): Obj {
  const o: Obj = {};
  setIf(o, 'key', kv.key, kv.key !== '');
  // An empty AnyValue is an absent value field on the wire.
  setIf(o, 'value', anyValue(kv.value), kv.value.type !== 'empty');
  return o;
}

function attributes(o: Obj, attrs: readonly KeyValue[]): void {
  setIf(o, 'attributes', attrs.map(keyValue), attrs.length > 0);
}

function span(s: Span): Obj {
  const o: Obj = {};
  setIf(o, 'traceId', b64(s.traceId), s.traceId.length > 0);
  setIf(o, 'spanId', b64(s.spanId), s.spanId.length > 0);
  setIf(o, 'traceState', s.traceState, s.traceState !== '');
  setIf(o, 'parentSpanId', b64(s.parentSpanId), s.parentSpanId.length > 0);
  setIf(o, 'flags', s.flags, s.flags !== 0);
  setIf(o, 'name', s.name, s.name !== '');
  setIf(o, 'kind', s.kind, s.kind !== 0);
  setIf(o, 'startTimeUnixNano', s.startTimeUnixNano.toString(), s.startTimeUnixNano !== 0n);
  setIf(o, 'endTimeUnixNano', s.endTimeUnixNano.toString(), s.endTimeUnixNano !== 0n);
  attributes(o, s.attributes);
  setIf(o, 'droppedAttributesCount', s.droppedAttributesCount, s.droppedAttributesCount !== 0);
  setIf(
    o,
    'events',
    s.events.map((e) => {
      const eo: Obj = {};
      setIf(eo, 'timeUnixNano', e.timeUnixNano.toString(), e.timeUnixNano !== 0n);
      setIf(eo, 'name', e.name, e.name !== '');
      attributes(eo, e.attributes);
      setIf(eo, 'droppedAttributesCount', e.droppedAttributesCount, e.droppedAttributesCount !== 0);
      return eo;
    }),
    s.events.length > 0,
  );
  setIf(o, 'droppedEventsCount', s.droppedEventsCount, s.droppedEventsCount !== 0);
  setIf(
    o,
    'links',
    s.links.map((l) => {
      const lo: Obj = {};
      setIf(lo, 'traceId', b64(l.traceId), l.traceId.length > 0);
      setIf(lo, 'spanId', b64(l.spanId), l.spanId.length > 0);
      setIf(lo, 'traceState', l.traceState, l.traceState !== '');
      attributes(lo, l.attributes);
      setIf(lo, 'droppedAttributesCount', l.droppedAttributesCount, l.droppedAttributesCount !== 0);
      setIf(lo, 'flags', l.flags, l.flags !== 0);
      return lo;
    }),
    s.links.length > 0,
  );
  setIf(o, 'droppedLinksCount', s.droppedLinksCount, s.droppedLinksCount !== 0);
  const status: Obj = {};
  setIf(status, 'message', s.status.message, s.status.message !== '');
  setIf(status, 'code', s.status.code, s.status.code !== 0);
  setIf(o, 'status', status, Object.keys(status).length > 0);
  return o;
}

/** The object protobufjs should decode a TracesData of this batch into. */
export function referenceObject(batch: readonly ResourceSpans[]): Obj {
  const resourceSpans = batch.map((rs) => {
    const o: Obj = {};
    const resource: Obj = {};
    attributes(resource, rs.resource.attributes);
    setIf(resource, 'droppedAttributesCount', rs.resource.droppedAttributesCount, rs.resource.droppedAttributesCount !== 0);
    setIf(o, 'resource', resource, Object.keys(resource).length > 0);
    setIf(
      o,
      'scopeSpans',
      rs.scopeSpans.map((ss) => {
        const so: Obj = {};
        const scope: Obj = {};
        setIf(scope, 'name', ss.scope.name, ss.scope.name !== '');
        setIf(scope, 'version', ss.scope.version, ss.scope.version !== '');
        attributes(scope, ss.scope.attributes);
        setIf(scope, 'droppedAttributesCount', ss.scope.droppedAttributesCount, ss.scope.droppedAttributesCount !== 0);
        setIf(so, 'scope', scope, Object.keys(scope).length > 0);
        setIf(so, 'spans', ss.spans.map(span), ss.spans.length > 0);
        setIf(so, 'schemaUrl', ss.schemaUrl, ss.schemaUrl !== '');
        return so;
      }),
      rs.scopeSpans.length > 0,
    );
    setIf(o, 'schemaUrl', rs.schemaUrl, rs.schemaUrl !== '');
    return o;
  });
  return resourceSpans.length > 0 ? { resourceSpans } : {};
}
