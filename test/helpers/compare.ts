// Turns spans into plain, comparable values (hex IDs, sorted by span ID) so a
// test can compare what it sent with what Skein returned, field by field.
import { toHex, type AnyValue, type KeyValue, type ResourceSpans, type StoredSpan } from '../../src/otlp/model.js';
import { flattenBatch } from '../../src/otlp/assemble.js';

export function plainValue(v: AnyValue): unknown {
  switch (v.type) {
    case 'bytes':
      return { bytes: Buffer.from(v.value).toString('hex') };
    case 'array':
      return v.value.map(plainValue);
    case 'kvlist':
      return plainAttributes(v.value);
    case 'empty':
      return null;
    case 'int':
      return { int: v.value.toString() };
    default:
      return v.value;
  }
}

export function plainAttributes(attrs: readonly KeyValue[]): Record<string, unknown> {
  return Object.fromEntries(attrs.map((kv) => [kv.key, plainValue(kv.value)]));
}

export function plainSpan(s: StoredSpan): Record<string, unknown> {
  const { span } = s;
  return {
    traceId: toHex(span.traceId),
    spanId: toHex(span.spanId),
    parentSpanId: toHex(span.parentSpanId),
    traceState: span.traceState,
    name: span.name,
    kind: span.kind,
    start: span.startTimeUnixNano.toString(),
    end: span.endTimeUnixNano.toString(),
    attributes: plainAttributes(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) => ({
      time: e.timeUnixNano.toString(),
      name: e.name,
      attributes: plainAttributes(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((l) => ({
      traceId: toHex(l.traceId),
      spanId: toHex(l.spanId),
      traceState: l.traceState,
      attributes: plainAttributes(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount,
    })),
    droppedLinksCount: span.droppedLinksCount,
    status: { code: span.status.code, message: span.status.message },
    resource: plainAttributes(s.resource.attributes),
    resourceSchemaUrl: s.resourceSchemaUrl,
    scope: { name: s.scope.name, version: s.scope.version, attributes: plainAttributes(s.scope.attributes) },
    scopeSchemaUrl: s.scopeSchemaUrl,
  };
}

export function plainSpans(spans: readonly StoredSpan[]): Array<Record<string, unknown>> {
  return spans.map(plainSpan).sort((a, b) => String(a['spanId']).localeCompare(String(b['spanId'])));
}

export function plainBatch(batch: readonly ResourceSpans[]): Array<Record<string, unknown>> {
  return plainSpans(flattenBatch(batch));
}
