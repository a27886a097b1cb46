// protobufjs over the test suite's reference schema, so the bench has a
// decoder that does not depend on the code under test: the labelled
// comparison in the decode-ceiling figure, and the checks on the workload's
// own bodies and on the server's trace responses.
import { reference } from '../test/otlp/reference-proto.js';

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

/** Decodes an ExportTraceServiceRequest / TracesData body with protobufjs. */
export function decodeWithProtobufjs(body: Uint8Array): PbTracesData {
  return reference.TracesData.decode(body) as unknown as PbTracesData;
}

export function countPbSpans(data: PbTracesData): number {
  let n = 0;
  for (const rs of data.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}
