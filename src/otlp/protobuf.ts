// OTLP protobuf codec: the entry points the receivers, the store and the query
// API use. Hand-written wire code (see wire.ts, trace-decode.ts,
// trace-encode.ts) rather than protobufjs, which would yield Long objects and
// its own classes and need a second pass to become the span model.
import { emptyResource, emptyScope, type InstrumentationScope, type Resource, type ResourceSpans, type Span } from './model.js';
import { readResource, readScope, readSpan, readTracesData } from './trace-decode.js';
import {
  encodeResourceMessage,
  encodeScopeMessage,
  encodeSpanMessage,
  encodeTracesDataMessage,
} from './trace-encode.js';
import { WireReader } from './wire.js';
import { attachWireForm } from './wire-form.js';

export { OtlpDecodeError } from './wire.js';
export {
  decodeTraceByIdResponse,
  encodeExportTraceServiceResponse,
  encodeRetryableStatus,
  encodeRpcStatus,
  encodeTraceByIdResponse,
  type DecodedTraceByIdResponse,
  type TraceByIdResponse,
} from './responses.js';

/**
 * Decodes an ExportTraceServiceRequest, a TracesData or a tempopb.Trace: all
 * three are `repeated ResourceSpans = 1` on the wire. Throws OtlpDecodeError
 * (and nothing else) on malformed input.
 */
export function decodeTracesData(buf: Uint8Array): ResourceSpans[] {
  const r = new WireReader(buf);
  return readTracesData(r, r.length);
}

/**
 * decodeTracesData for a receiver: when the bytes say nothing the decoded
 * batch does not, they are kept beside it (wire-form.ts) for the stages that
 * would otherwise encode it again. The bytes are referenced, not copied: the
 * caller must not reuse them.
 */
export function decodeTracesDataKeepingWire(buf: Uint8Array): ResourceSpans[] {
  const r = new WireReader(buf);
  const layout = { resources: [], scopes: [], spans: [] };
  r.layout = layout;
  const batch = readTracesData(r, r.length);
  if (!r.lossy) attachWireForm(batch, buf, layout);
  return batch;
}

/** Canonical proto3 encoding of a TracesData (equally an ExportTraceServiceRequest). */
export function encodeTracesData(batch: readonly ResourceSpans[]): Uint8Array {
  return encodeTracesDataMessage(batch);
}

/** Encodes one Span message body. */
export function encodeSpan(span: Span): Uint8Array {
  return encodeSpanMessage(span);
}

/** Decodes one Span message body (as encodeSpan produces). */
export function decodeSpan(buf: Uint8Array): Span {
  const r = new WireReader(buf);
  return readSpan(r, r.length);
}

export function encodeResource(resource: Resource): Uint8Array {
  return encodeResourceMessage(resource);
}

export function decodeResource(buf: Uint8Array): Resource {
  const r = new WireReader(buf);
  return readResource(r, r.length, emptyResource());
}

export function encodeScope(scope: InstrumentationScope): Uint8Array {
  return encodeScopeMessage(scope);
}

export function decodeScope(buf: Uint8Array): InstrumentationScope {
  const r = new WireReader(buf);
  return readScope(r, r.length, emptyScope());
}
