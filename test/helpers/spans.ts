// Spans built directly in Skein's model, for tests that need exact control of
// IDs, times and shapes (SDK-driven tests use the OpenTelemetry SDK instead).
import { randomBytes } from 'node:crypto';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { toHex, type KeyValue, type ResourceSpans, type Span, type StoredSpan } from '../../src/otlp/model.js';
import { decodeTracesData, encodeTracesData } from '../../src/otlp/protobuf.js';
import type { IsolationSource } from '../../src/store/blocks/isolate.js';

export function str(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

export function newTraceId(): Uint8Array {
  return randomBytes(16);
}

export function newSpanId(): Uint8Array {
  return randomBytes(8);
}

export interface SpanSpec {
  traceId: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  startUnixNano?: bigint;
  durationNano?: bigint;
  attributes?: KeyValue[];
}

export function span(spec: SpanSpec): Span {
  const start = spec.startUnixNano ?? BigInt(Date.now()) * 1_000_000n;
  return {
    traceId: spec.traceId,
    spanId: spec.spanId ?? newSpanId(),
    traceState: '',
    parentSpanId: spec.parentSpanId ?? new Uint8Array(0),
    flags: 0,
    name: spec.name ?? 'op',
    kind: 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + (spec.durationNano ?? 1_000_000n),
    attributes: spec.attributes ?? [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
  };
}

/** One resource (service) with one scope holding the given spans. */
export function batchOf(service: string, spans: Span[]): ResourceSpans[] {
  return [
    {
      resource: { attributes: [str('service.name', service)], droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'test', version: '1.0.0', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }],
    },
  ];
}

/** A trace of `n` spans: one root and n-1 children of it. */
export function simpleTrace(n: number, opts: { startUnixNano?: bigint; service?: string } = {}): { traceId: Uint8Array; batch: ResourceSpans[] } {
  const traceId = newTraceId();
  const root = span({ traceId, name: 'root', ...(opts.startUnixNano !== undefined && { startUnixNano: opts.startUnixNano }) });
  const spans = [root];
  for (let i = 1; i < n; i++) {
    spans.push(span({ traceId, parentSpanId: root.spanId, name: `child-${i}`, startUnixNano: root.startTimeUnixNano + BigInt(i) * 1000n }));
  }
  return { traceId, batch: batchOf(opts.service ?? 'test-service', spans) };
}

export async function postProtobuf(otlpHttpUrl: string, batch: ResourceSpans[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', ...headers },
    body: Buffer.from(encodeTracesData(batch)),
  });
}

/** The spans as Skein decodes them from protobuf, so as they read back: plain Uint8Array IDs, a lone surrogate as U+FFFD, enums normalised. */
export function asDecoded(spans: Span[]): Span[] {
  return decodeTracesData(encodeTracesData(batchOf('decoded', spans)))[0]!.scopeSpans[0]!.spans;
}

/**
 * A span the block schema cannot hold: its kind or status code is beyond the one-byte
 * column. Only in memory: decoding (requests, the WAL, the head) normalises both, so
 * nothing Skein receives can carry these any more.
 */
export function unwritable(s: Span, field: 'kind' | 'status'): Span {
  if (field === 'kind') s.kind = 300 as Span['kind'];
  else s.status = { code: 300 as Span['status']['code'], message: 'beyond the enum' };
  return s;
}

/**
 * The spans of a batch, exactly as given, as a head cut's span source (see
 * src/store/cut-block.ts): the way to hand the block writer rows no head can hold.
 */
export function spanSource(batch: ResourceSpans[]): IsolationSource {
  const byTrace = new Map<string, StoredSpan[]>();
  for (const s of flattenBatch(batch)) {
    const id = toHex(s.span.traceId);
    byTrace.set(id, [...(byTrace.get(id) ?? []), s]);
  }
  return { traceIds: [...byTrace.keys()].sort(), traces: (ids) => ids.map((traceId) => ({ traceId, spans: byTrace.get(traceId)! })) };
}
