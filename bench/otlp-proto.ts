// A minimal OTLP trace schema for protobufjs, written out here so the bench
// has a decoder that does not depend on the code under test: the labelled
// comparison in the decode-ceiling figure, and the checks on the workload's
// own bodies and on the server's trace responses.
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;

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
message KeyValue { string key = 1; AnyValue value = 2; }

message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}

message Status { string message = 2; int32 code = 3; }

message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
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
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
// ExportTraceServiceRequest, TracesData and Tempo's Trace share this layout.
message TracesData { repeated ResourceSpans resource_spans = 1; }
`;

/** protobufjs's view of a decoded message (camelCase field names, Long for 64-bit). */
export interface PbKeyValue {
  key: string;
  value?: { stringValue?: string; intValue?: unknown; boolValue?: boolean; doubleValue?: number };
}
export interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  name: string;
  kind: number;
  startTimeUnixNano: { toNumber(): number } | number;
  endTimeUnixNano: { toNumber(): number } | number;
  attributes: PbKeyValue[];
  events: Array<{ name: string; attributes: PbKeyValue[] }>;
  status?: { code: number; message: string };
}
export interface PbTracesData {
  resourceSpans: Array<{
    resource?: { attributes: PbKeyValue[] };
    scopeSpans: Array<{ scope?: { name: string }; spans: PbSpan[] }>;
  }>;
}

let tracesDataType: protobuf.Type | undefined;

function tracesData(): protobuf.Type {
  tracesDataType ??= protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('otlp.TracesData');
  return tracesDataType;
}

/** Decodes an ExportTraceServiceRequest / TracesData body with protobufjs. */
export function decodeWithProtobufjs(body: Uint8Array): PbTracesData {
  return tracesData().decode(body) as unknown as PbTracesData;
}

export function countPbSpans(data: PbTracesData): number {
  let n = 0;
  for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}
