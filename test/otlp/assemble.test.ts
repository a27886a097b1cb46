import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dedupeSpans, flattenBatch, groupSpans, spanSizeBytes } from '../../src/otlp/assemble.js';
import { decodeTracesData, encodeSpan, encodeTracesData } from '../../src/otlp/protobuf.js';
import { decodeOtlpJson, encodeOtlpJson } from '../../src/otlp/json.js';
import { toHex, type ResourceSpans, type Span, type StoredSpan } from '../../src/otlp/model.js';
import { defaultSpan, kitchenSinkBatch, sdkExport, spansOf } from './fixtures.js';

/** The batch with each ScopeSpans' spans in groupSpans' order, and empty scopes and resources dropped. */
function normalized(batch: readonly ResourceSpans[]): ResourceSpans[] {
  return batch
    .map((rs) => ({
      ...rs,
      scopeSpans: rs.scopeSpans
        .filter((ss) => ss.spans.length > 0)
        .map((ss) => ({
          ...ss,
          spans: [...ss.spans].sort((a, b) =>
            a.startTimeUnixNano !== b.startTimeUnixNano ? (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1) : toHex(a.spanId).localeCompare(toHex(b.spanId)),
          ),
        })),
    }))
    .filter((rs) => rs.scopeSpans.length > 0);
}

function span(id: number, start: bigint): Span {
  return { ...defaultSpan(), traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(id), name: `s${id}`, startTimeUnixNano: start, endTimeUnixNano: start + 1n };
}

describe('flattenBatch and groupSpans', () => {
  test('groupSpans(flattenBatch(b)) rebuilds b (spans sorted, empty groups gone)', () => {
    for (const batch of [decodeTracesData(sdkExport().protobuf), kitchenSinkBatch()]) {
      const flat = flattenBatch(batch);
      assert.equal(flat.length, spansOf(batch).length);
      assert.deepStrictEqual(groupSpans(flat), normalized(batch));
    }
  });

  test('flattenBatch pairs every span with its resource, scope and schema URLs', () => {
    const batch = kitchenSinkBatch();
    const first = flattenBatch(batch)[0]!;
    assert.equal(first.resource, batch[0]!.resource);
    assert.equal(first.resourceSchemaUrl, 'https://opentelemetry.io/schemas/1.26.0');
    assert.equal(first.scope, batch[0]!.scopeSpans[0]!.scope);
    assert.equal(first.scopeSchemaUrl, 'https://opentelemetry.io/schemas/1.21.0');
    assert.equal(first.span, batch[0]!.scopeSpans[0]!.spans[0]);
  });

  test('resources and scopes are grouped by value, across separately decoded copies', () => {
    const batch = decodeTracesData(sdkExport().protobuf);
    const bytes = encodeTracesData(batch);
    // Three independent decodes (protobuf twice, JSON once): equal values, distinct objects.
    const a = flattenBatch(decodeTracesData(bytes));
    const b = flattenBatch(decodeTracesData(bytes));
    const c = flattenBatch(decodeOtlpJson(JSON.stringify(encodeOtlpJson(batch, { ids: 'hex' }))));
    assert.notEqual(a[0]!.resource, b[0]!.resource);
    const grouped = groupSpans([...a, ...b, ...c]);
    assert.equal(grouped.length, batch.length, 'one ResourceSpans per distinct resource');
    assert.deepStrictEqual(
      grouped.map((rs) => rs.scopeSpans.length),
      batch.map((rs) => rs.scopeSpans.length),
    );
    assert.equal(spansOf(grouped).length, 3 * spansOf(batch).length);
  });

  test('a different schema URL or attribute value makes a separate group; groups keep first-appearance order', () => {
    const resource = { attributes: [{ key: 'service.name', value: { type: 'string' as const, value: 'a' } }], droppedAttributesCount: 0 };
    const scope = { name: 'lib', version: '1', attributes: [], droppedAttributesCount: 0 };
    const stored = (r: StoredSpan['resource'], url: string, s: StoredSpan['scope'], scopeUrl: string, sp: Span): StoredSpan => ({
      resource: r,
      resourceSchemaUrl: url,
      scope: s,
      scopeSchemaUrl: scopeUrl,
      span: sp,
    });
    const other = { ...resource, attributes: [{ key: 'service.name', value: { type: 'string' as const, value: 'b' } }] };
    const spans = [
      stored(other, '', scope, '', span(1, 10n)),
      stored(resource, 'https://x/1', scope, '', span(2, 10n)),
      stored({ ...resource }, '', scope, '', span(3, 10n)),
      stored(resource, '', { ...scope, version: '2' }, '', span(4, 10n)),
      stored(resource, '', scope, 'https://y', span(5, 10n)),
      stored(other, '', { ...scope }, '', span(6, 5n)),
    ];
    const grouped = groupSpans(spans);
    assert.deepStrictEqual(
      grouped.map((rs) => [rs.schemaUrl, rs.resource.attributes[0]!.value, rs.scopeSpans.map((ss) => [ss.scope.version, ss.schemaUrl, ss.spans.map((s) => s.name)])]),
      [
        ['', { type: 'string', value: 'b' }, [['1', '', ['s6', 's1']]]],
        ['https://x/1', { type: 'string', value: 'a' }, [['1', '', ['s2']]]],
        ['', { type: 'string', value: 'a' }, [['1', '', ['s3']], ['2', '', ['s4']], ['1', 'https://y', ['s5']]]],
      ],
    );
  });

  test('spans are sorted by start time, ties by span ID', () => {
    const base = flattenBatch(decodeTracesData(sdkExport().protobuf))[0]!;
    const spans = [span(9, 30n), span(3, 10n), span(7, 10n), span(1, 20n), span(2, 10n)].map((sp) => ({ ...base, span: sp }));
    assert.deepStrictEqual(spansOf(groupSpans(spans)).map((s) => s.name), ['s2', 's3', 's7', 's1', 's9']);
  });
});

describe('dedupeSpans', () => {
  test('keeps the first of each span ID, comparing IDs by bytes', () => {
    const base = flattenBatch(decodeTracesData(sdkExport().protobuf))[0]!;
    const first = { ...base, span: span(1, 10n) };
    const copy = { ...base, span: { ...span(1, 99n), spanId: new Uint8Array(8).fill(1) } };
    const other = { ...base, span: span(2, 10n) };
    assert.deepStrictEqual(dedupeSpans([first, other, copy, other]), [first, other]);
    assert.equal(dedupeSpans([first, other, copy])[0], first);
  });
});

describe('spanSizeBytes', () => {
  test('is the encoded size of the span message', () => {
    for (const s of flattenBatch([...kitchenSinkBatch(), ...decodeTracesData(sdkExport().protobuf)])) {
      assert.equal(spanSizeBytes(s), encodeSpan(s.span).length);
    }
  });
});
