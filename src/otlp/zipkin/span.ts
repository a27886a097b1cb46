// Zipkin v2 spans as read off the wire, before they become OTLP. JSON and
// protobuf both parse into this shape, so the translation is written once and
// both encodings map alike.

export type ZipkinKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';

export interface ZipkinEndpoint {
  /** '' when absent. */
  serviceName: string;
  /** Textual address, '' when absent. */
  ipv4: string;
  ipv6: string;
  /** 0 when absent. */
  port: number;
}

export interface ZipkinAnnotation {
  timeUnixNano: bigint;
  value: string;
}

export interface ZipkinSpan {
  /** 16 bytes: a 64-bit trace ID is left-padded with zeros, as OTLP trace IDs are 128-bit. */
  traceId: Uint8Array;
  /** 8 bytes. */
  id: Uint8Array;
  /** Empty for a root span, else 8 bytes. */
  parentId: Uint8Array;
  name: string;
  /** Absent (or unknown) for local spans. */
  kind: ZipkinKind | undefined;
  /** Undefined when the span has no timestamp (Zipkin allows it; 0 means the same). */
  startUnixNano: bigint | undefined;
  durationNano: bigint;
  localEndpoint: ZipkinEndpoint | undefined;
  remoteEndpoint: ZipkinEndpoint | undefined;
  annotations: ZipkinAnnotation[];
  /** In the order received; a repeated key keeps its last value. */
  tags: Map<string, string>;
  debug: boolean;
  /** The span ID is shared with the caller's client span (B3 single-span RPCs). */
  shared: boolean;
}

export const ZIPKIN_KINDS: ReadonlySet<string> = new Set<ZipkinKind>(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']);
