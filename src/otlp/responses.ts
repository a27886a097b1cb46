// The small response messages around spans: OTLP's export response, gRPC's
// google.rpc.Status (with RetryInfo), and Tempo's TraceByIDResponse.
import type { ResourceSpans } from './model.js';
import { readTracesData } from './trace-decode.js';
import { OtlpDecodeError, WireReader, WireType, WireWriter, delimitedSize, int64Size, messageSchema, utf8Length, varintSize } from './wire.js';

const { VARINT, LEN } = WireType;

/**
 * opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse:
 *   partial_success = 1 (ExportTracePartialSuccess: rejected_spans = 1 int64, error_message = 2 string).
 * Without `partial` the message is empty, which tells the client everything was accepted.
 */
export function encodeExportTraceServiceResponse(partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array {
  if (!partial) return new Uint8Array(0);
  const rejected = BigInt(Math.trunc(partial.rejectedSpans));
  const messageBytes = utf8Length(partial.errorMessage);
  const inner = (rejected !== 0n ? 1 + int64Size(rejected) : 0) + (messageBytes > 0 ? delimitedSize(messageBytes) : 0);
  const w = new WireWriter(delimitedSize(inner));
  w.byte((1 << 3) | LEN);
  w.varint(inner);
  if (rejected !== 0n) {
    w.byte((1 << 3) | VARINT);
    w.int64(rejected);
  }
  if (messageBytes > 0) writeString(w, 2, partial.errorMessage, messageBytes);
  return w.buf;
}

/** google.rpc.Status: code = 1 (int32), message = 2, details = 3 (repeated google.protobuf.Any). */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  return rpcStatus(code, message, undefined);
}

/**
 * google.rpc.Status carrying one google.rpc.RetryInfo detail (retry_delay = 1,
 * a google.protobuf.Duration: seconds = 1 int64, nanos = 2 int32), packed in a
 * google.protobuf.Any (type_url = 1, value = 2). OTLP clients treat
 * RESOURCE_EXHAUSTED as retryable only when this detail is present.
 */
export function encodeRetryableStatus(code: number, message: string, retryAfterSeconds: number): Uint8Array {
  const seconds = Math.max(0, Math.floor(retryAfterSeconds));
  const nanos = Math.max(0, Math.round((retryAfterSeconds - seconds) * 1e9));
  const durationSize = (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
  const retryInfoSize = delimitedSize(durationSize);
  const d = new WireWriter(retryInfoSize);
  d.byte((1 << 3) | LEN);
  d.varint(durationSize);
  if (seconds !== 0) {
    d.byte((1 << 3) | VARINT);
    d.varint(seconds);
  }
  if (nanos !== 0) {
    d.byte((2 << 3) | VARINT);
    d.varint(nanos);
  }
  return rpcStatus(code, message, { typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: d.buf });
}

function rpcStatus(code: number, message: string, detail: { typeUrl: string; value: Uint8Array } | undefined): Uint8Array {
  const codeSize = code !== 0 ? 1 + (code < 0 ? 10 : varintSize(code)) : 0;
  const messageBytes = utf8Length(message);
  let size = codeSize + (messageBytes > 0 ? delimitedSize(messageBytes) : 0);
  let anySize = 0;
  let typeUrlBytes = 0;
  if (detail) {
    typeUrlBytes = utf8Length(detail.typeUrl);
    anySize = delimitedSize(typeUrlBytes) + delimitedSize(detail.value.length);
    size += delimitedSize(anySize);
  }
  const w = new WireWriter(size);
  if (code !== 0) {
    w.byte((1 << 3) | VARINT);
    if (code < 0) w.int64(BigInt(code));
    else w.varint(code);
  }
  if (messageBytes > 0) writeString(w, 2, message, messageBytes);
  if (detail) {
    w.byte((3 << 3) | LEN);
    w.varint(anySize);
    writeString(w, 1, detail.typeUrl, typeUrlBytes);
    w.byte((2 << 3) | LEN);
    w.varint(detail.value.length);
    w.raw(detail.value);
  }
  return w.buf;
}

function writeString(w: WireWriter, field: number, s: string, n: number): void {
  w.byte((field << 3) | LEN);
  w.varint(n);
  w.utf8(s, n);
}

/**
 * Grafana Tempo's tempopb.TraceByIDResponse, the /api/v2/traces/{id} protobuf
 * body. Checked against grafana/tempo pkg/tempopb/tempo.proto and its
 * generated tempo.pb.go:
 *   message TraceByIDResponse {
 *     Trace trace = 1;                 // Trace { repeated ResourceSpans resourceSpans = 1; }
 *                                      //   (named `batches` in older Tempo; same wire format
 *                                      //   as OTLP TracesData, so an encoded TracesData is
 *                                      //   embedded as it is)
 *     TraceByIDMetrics metrics = 2;    // TraceByIDMetrics { uint64 inspectedBytes = 1; }
 *     Status status = 3;               // enum TraceByIDResponse.Status { COMPLETE = 0; PARTIAL = 1; }
 *     string message = 4;
 *   }
 * `trace` and `metrics` are always written: Grafana dereferences the trace
 * without a nil check, and Tempo always fills in metrics.
 */
export interface TraceByIdResponse {
  /** An encoded TracesData, embedded as the Trace message. */
  trace: Uint8Array;
  inspectedBytes: number;
  partial: boolean;
  message: string;
}

export function encodeTraceByIdResponse(r: TraceByIdResponse): Uint8Array {
  const inspected = Math.max(0, Math.trunc(r.inspectedBytes));
  const metricsSize = inspected !== 0 ? 1 + varintSize(inspected) : 0;
  const messageBytes = utf8Length(r.message);
  const size =
    delimitedSize(r.trace.length) + delimitedSize(metricsSize) + (r.partial ? 2 : 0) + (messageBytes > 0 ? delimitedSize(messageBytes) : 0);
  const w = new WireWriter(size);
  w.byte((1 << 3) | LEN);
  w.varint(r.trace.length);
  w.raw(r.trace);
  w.byte((2 << 3) | LEN);
  w.varint(metricsSize);
  if (inspected !== 0) {
    w.byte((1 << 3) | VARINT);
    w.varint(inspected);
  }
  if (r.partial) {
    w.byte((3 << 3) | VARINT);
    w.byte(1);
  }
  if (messageBytes > 0) writeString(w, 4, r.message, messageBytes);
  return w.buf;
}

const TRACE_BY_ID_RESPONSE = messageSchema('TraceByIDResponse', {
  1: ['trace', LEN],
  2: ['metrics', LEN],
  3: ['status', VARINT],
  4: ['message', LEN],
});
const TRACE_BY_ID_METRICS = messageSchema('TraceByIDMetrics', { 1: ['inspectedBytes', VARINT] });

export interface DecodedTraceByIdResponse {
  trace: ResourceSpans[];
  inspectedBytes: number;
  partial: boolean;
  message: string;
}

/** Decodes a tempopb.TraceByIDResponse (what Grafana reads from /api/v2/traces). */
export function decodeTraceByIdResponse(buf: Uint8Array): DecodedTraceByIdResponse {
  const r = new WireReader(buf);
  const end = r.length;
  const out: DecodedTraceByIdResponse = { trace: [], inspectedBytes: 0, partial: false, message: '' };
  while (r.pos < end) {
    const tag = r.tag(end, TRACE_BY_ID_RESPONSE);
    switch (tag) {
      case (1 << 3) | LEN:
        // A repeated occurrence merges: its ResourceSpans are appended.
        for (const rs of readTracesData(r, r.delimitedEnd(end, TRACE_BY_ID_RESPONSE, 1))) out.trace.push(rs);
        break;
      case (2 << 3) | LEN: {
        const metricsEnd = r.delimitedEnd(end, TRACE_BY_ID_RESPONSE, 2);
        while (r.pos < metricsEnd) {
          const t = r.tag(metricsEnd, TRACE_BY_ID_METRICS);
          if (t === ((1 << 3) | VARINT)) out.inspectedBytes = r.uint64Number(metricsEnd, TRACE_BY_ID_METRICS, 1);
          else r.skip(t, metricsEnd, TRACE_BY_ID_METRICS);
        }
        break;
      }
      case (3 << 3) | VARINT: {
        const status = r.int32(end, TRACE_BY_ID_RESPONSE, 3);
        if (status !== 0 && status !== 1) throw new OtlpDecodeError(`unknown TraceByIDResponse.status ${status}`);
        out.partial = status === 1;
        break;
      }
      case (4 << 3) | LEN:
        out.message = r.string(end, TRACE_BY_ID_RESPONSE, 4);
        break;
      default:
        r.skip(tag, end, TRACE_BY_ID_RESPONSE);
    }
  }
  return out;
}
