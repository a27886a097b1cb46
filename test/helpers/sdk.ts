// The OpenTelemetry JS SDK as a real client, and what it sent, in Skein's model.
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { fromHex, type AnyValue, type KeyValue, type SpanKind, type StatusCode, type StoredSpan } from '../../src/otlp/model.js';

export function hrTimeToNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

function anyValue(v: AttributeValue | undefined): AnyValue {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: BigInt(v) } : { type: 'double', value: v };
  if (Array.isArray(v)) return { type: 'array', value: (v as Array<AttributeValue>).map((x) => anyValue(x ?? undefined)) };
  return { type: 'empty' };
}

export function attributes(attrs: Attributes): KeyValue[] {
  return Object.entries(attrs).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/** What the SDK exported for a span, as Skein should store and return it. */
export function expectedSpan(rs: ReadableSpan): StoredSpan {
  const ctx = rs.spanContext();
  return {
    resource: { attributes: attributes(rs.resource.attributes as Attributes), droppedAttributesCount: 0 },
    resourceSchemaUrl: rs.resource.schemaUrl ?? '',
    scope: { name: rs.instrumentationScope.name, version: rs.instrumentationScope.version ?? '', attributes: [], droppedAttributesCount: 0 },
    scopeSchemaUrl: rs.instrumentationScope.schemaUrl ?? '',
    span: {
      traceId: fromHex(ctx.traceId)!,
      spanId: fromHex(ctx.spanId)!,
      traceState: ctx.traceState?.serialize() ?? '',
      parentSpanId: rs.parentSpanContext ? fromHex(rs.parentSpanContext.spanId)! : new Uint8Array(0),
      flags: 0,
      name: rs.name,
      kind: (rs.kind + 1) as SpanKind,
      startTimeUnixNano: hrTimeToNanos(rs.startTime),
      endTimeUnixNano: hrTimeToNanos(rs.endTime),
      attributes: attributes(rs.attributes),
      droppedAttributesCount: rs.droppedAttributesCount,
      events: rs.events.map((e) => ({
        timeUnixNano: hrTimeToNanos(e.time),
        name: e.name,
        attributes: attributes(e.attributes ?? {}),
        droppedAttributesCount: e.droppedAttributesCount ?? 0,
      })),
      droppedEventsCount: rs.droppedEventsCount,
      links: rs.links.map((l) => ({
        traceId: fromHex(l.context.traceId)!,
        spanId: fromHex(l.context.spanId)!,
        traceState: l.context.traceState?.serialize() ?? '',
        attributes: attributes(l.attributes ?? {}),
        droppedAttributesCount: l.droppedAttributesCount ?? 0,
        flags: 0,
      })),
      droppedLinksCount: rs.droppedLinksCount,
      status: { code: rs.status.code as StatusCode, message: rs.status.message ?? '' },
    },
  };
}
