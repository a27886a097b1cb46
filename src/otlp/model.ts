// The span model shared by every component. It mirrors OTLP's trace messages
// (opentelemetry/proto/trace/v1/trace.proto) so that decoding and encoding are
// one-to-one, but uses plain JS types: IDs are bytes, 64-bit times are bigint.

export type AnyValue =
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: bigint }
  | { type: 'double'; value: number }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'array'; value: AnyValue[] }
  | { type: 'kvlist'; value: KeyValue[] }
  | { type: 'empty' };

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

/** OTLP Span.SpanKind numbers. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];
export const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;

/** OTLP Status.StatusCode numbers. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];
export const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

// A number outside an enum (proto3 lets an int32 enum field carry any value) is
// read as the enum's zero, as the OpenTelemetry Collector's translators do: the
// block columns are one byte wide, and the query language can only name the
// defined values. The original number is not kept as an attribute: no
// specification gives it a meaning a user could search for, and an extra
// attribute would count against limits.max_attributes_per_span for a value that
// only says the sender is broken.

/** `n` as a SpanKind: SPAN_KIND_UNSPECIFIED when it is not one. */
export function toSpanKind(n: number): SpanKind {
  return n >= 0 && n < SPAN_KIND_NAMES.length ? (n as SpanKind) : SpanKind.UNSPECIFIED;
}

/** `n` as a StatusCode: STATUS_CODE_UNSET when it is not one. */
export function toStatusCode(n: number): StatusCode {
  return n >= 0 && n < STATUS_CODE_NAMES.length ? (n as StatusCode) : StatusCode.UNSET;
}

export interface Status {
  code: StatusCode;
  message: string;
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface Span {
  /** 16 bytes once validated. */
  traceId: Uint8Array;
  /** 8 bytes once validated. */
  spanId: Uint8Array;
  traceState: string;
  /** Empty for a root span, else 8 bytes. */
  parentSpanId: Uint8Array;
  flags: number;
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: Status;
}

export interface ScopeSpans {
  scope: InstrumentationScope;
  schemaUrl: string;
  spans: Span[];
}

export interface ResourceSpans {
  resource: Resource;
  schemaUrl: string;
  scopeSpans: ScopeSpans[];
}

/**
 * One span with the resource and scope it was reported under: the unit the
 * storage engine keeps (one Parquet row per StoredSpan).
 */
export interface StoredSpan {
  resource: Resource;
  resourceSchemaUrl: string;
  scope: InstrumentationScope;
  scopeSchemaUrl: string;
  span: Span;
}

/** All the spans of one trace that a source holds, in no particular order. */
export interface TraceSpans {
  /** Lowercase hex, 32 characters. */
  traceId: string;
  spans: StoredSpan[];
}

export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

export function emptyScope(): InstrumentationScope {
  return { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
}

export const TRACE_ID_BYTES = 16;
export const SPAN_ID_BYTES = 8;

/** Lowercase hex of an ID (what every API edge and the block files use). */
/** Byte-for-byte equality of two IDs (no hex strings made to compare them). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Bytes of a hex ID, or undefined when the text is not hex of even length. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !HEX_RE.test(hex)) return undefined;
  return Buffer.from(hex, 'hex');
}

/** Value of a string attribute, if present (e.g. `service.name` of a resource). */
export function stringAttribute(attrs: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attrs) {
    if (kv.key === key && kv.value.type === 'string') return kv.value.value;
  }
  return undefined;
}

/** Count of spans in an OTLP batch. */
export function countSpans(batch: readonly ResourceSpans[]): number {
  let n = 0;
  for (const rs of batch) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

/**
 * The batch with only the spans `keep` says yes to (called with each span's index in batch
 * order), under the same resource and scope objects; scopes and resources left empty go.
 */
export function filterSpans(batch: readonly ResourceSpans[], keep: (index: number) => boolean): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  let i = 0;
  for (const rs of batch) {
    const scopeSpans: ScopeSpans[] = [];
    for (const ss of rs.scopeSpans) {
      const spans = ss.spans.filter(() => keep(i++));
      if (spans.length > 0) scopeSpans.push({ scope: ss.scope, schemaUrl: ss.schemaUrl, spans });
    }
    if (scopeSpans.length > 0) out.push({ resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans });
  }
  return out;
}
