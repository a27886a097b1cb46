// Turns spans into plain, comparable values (hex IDs, sorted by span ID) so a
// test can compare what it sent with what Skein returned, field by field; and
// compares long sequences (block rows) saying where the first difference is.
import assert from 'node:assert/strict';
import { inspect, isDeepStrictEqual } from 'node:util';
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

/**
 * Asserts two sequences equal element for element (node's deep strict equality: NaN
 * equals NaN, -0 differs from 0), failing at the first element that differs and naming
 * the path of its first difference: a diff of 10,000 rows, or of one 1.5 MiB value, says nothing.
 */
export function assertSameSequence<T>(actual: readonly T[], expected: readonly T[], label: (item: T, index: number) => string): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (isDeepStrictEqual(a, e)) continue;
    const d = firstDifference(a, e, '');
    assert.fail(`element ${i} (${label(e, i)}) differs at ${d.path || '(the element)'}: ${brief(d.actual)}\n  expected ${brief(d.expected)}`);
  }
  assert.equal(actual.length, expected.length, `${actual.length} elements, expected ${expected.length}`);
}

/** The path to the first place two unequal values differ, and the values there. */
function firstDifference(a: unknown, e: unknown, path: string): { path: string; actual: unknown; expected: unknown } {
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !ArrayBuffer.isView(v);
  if (Array.isArray(a) && Array.isArray(e)) {
    for (let i = 0; i < Math.min(a.length, e.length); i++) if (!isDeepStrictEqual(a[i], e[i])) return firstDifference(a[i], e[i], `${path}[${i}]`);
    return { path: `${path}.length`, actual: a.length, expected: e.length };
  }
  if (plain(a) && plain(e) && !Array.isArray(a) && !Array.isArray(e)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(e)])) {
      if (!isDeepStrictEqual(a[k], e[k])) return firstDifference(a[k], e[k], path === '' ? k : `${path}.${k}`);
    }
  }
  return { path, actual: a, expected: e };
}

function brief(v: unknown): string {
  const text = inspect(v, { depth: 6, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 200 });
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}
