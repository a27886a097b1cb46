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
import { WireReader, WireType, WireWriter, delimitedSize, utf8Length } from './wire.js';
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
  const batch = readTracesData(r, r.length);
  if (!r.lossy) attachWireForm(batch, buf);
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

/** A ScopeSpans whose scope and spans are already encoded message bodies. */
export interface EncodedScopeSpans {
  scope: Uint8Array;
  schemaUrl: string;
  spans: readonly Uint8Array[];
}

/** A ResourceSpans whose resource and spans are already encoded message bodies. */
export interface EncodedResourceSpans {
  resource: Uint8Array;
  schemaUrl: string;
  scopeSpans: readonly EncodedScopeSpans[];
}

const RESOURCE_SPANS_TAG = (1 << 3) | WireType.LEN;
const RESOURCE_TAG = (1 << 3) | WireType.LEN;
const SCOPE_SPANS_TAG = (2 << 3) | WireType.LEN;
const SCOPE_TAG = (1 << 3) | WireType.LEN;
const SPAN_TAG = (2 << 3) | WireType.LEN;
const SCHEMA_URL_TAG = (3 << 3) | WireType.LEN;

/**
 * Frames already-encoded Resource, Scope and Span bodies into a TracesData
 * without decoding or re-encoding them. Given canonical bodies (what
 * encodeResource/encodeScope/encodeSpan produce), the output is byte for byte
 * what encodeTracesData gives for the decoded batch.
 */
export function encodeTracesDataFromParts(parts: readonly EncodedResourceSpans[]): Uint8Array {
  // Sizes in write order: for each ResourceSpans its body size, then for each
  // of its ScopeSpans the body size and then the schema URL's UTF-8 length,
  // then the resource's schema URL length.
  const sizes: number[] = [];
  let total = 0;
  for (const rs of parts) {
    const rsSlot = sizes.length;
    sizes.push(0);
    let rsSize = rs.resource.length > 0 ? delimitedSize(rs.resource.length) : 0;
    for (const ss of rs.scopeSpans) {
      const ssSlot = sizes.length;
      sizes.push(0);
      let ssSize = ss.scope.length > 0 ? delimitedSize(ss.scope.length) : 0;
      for (const span of ss.spans) ssSize += delimitedSize(span.length);
      const url = ss.schemaUrl.length > 0 ? utf8Length(ss.schemaUrl) : 0;
      sizes.push(url);
      if (url > 0) ssSize += delimitedSize(url);
      sizes[ssSlot] = ssSize;
      rsSize += delimitedSize(ssSize);
    }
    const url = rs.schemaUrl.length > 0 ? utf8Length(rs.schemaUrl) : 0;
    sizes.push(url);
    if (url > 0) rsSize += delimitedSize(url);
    sizes[rsSlot] = rsSize;
    total += delimitedSize(rsSize);
  }

  const w = new WireWriter(total);
  let i = 0;
  for (const rs of parts) {
    w.byte(RESOURCE_SPANS_TAG);
    w.varint(sizes[i++]!);
    if (rs.resource.length > 0) {
      w.byte(RESOURCE_TAG);
      w.varint(rs.resource.length);
      w.raw(rs.resource);
    }
    for (const ss of rs.scopeSpans) {
      w.byte(SCOPE_SPANS_TAG);
      w.varint(sizes[i++]!);
      if (ss.scope.length > 0) {
        w.byte(SCOPE_TAG);
        w.varint(ss.scope.length);
        w.raw(ss.scope);
      }
      for (const span of ss.spans) {
        w.byte(SPAN_TAG);
        w.varint(span.length);
        w.raw(span);
      }
      const url = sizes[i++]!;
      if (url > 0) {
        w.byte(SCHEMA_URL_TAG);
        w.varint(url);
        w.utf8(ss.schemaUrl, url);
      }
    }
    const url = sizes[i++]!;
    if (url > 0) {
      w.byte(SCHEMA_URL_TAG);
      w.varint(url);
      w.utf8(rs.schemaUrl, url);
    }
  }
  return w.buf;
}
