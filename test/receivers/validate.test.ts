import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBatch, type RejectReason, type SpanLimits } from '../../src/receivers/validate.js';
import { decodeTracesData } from '../../src/otlp/protobuf.js';
import { countSpans, type AnyValue, type KeyValue, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { defaultSpan, sdkExport } from '../otlp/fixtures.js';

const LIMITS: SpanLimits = { maxAttributeValueLength: 100, maxAttributesPerSpan: 4, maxEventsPerSpan: 2, maxSpanEndAheadMs: 0 };

const TRACE_ID = Uint8Array.from(Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'));

let nextSpanId = 1;
function span(overrides: Partial<Span> = {}): Span {
  const spanId = new Uint8Array(8);
  new DataView(spanId.buffer).setUint32(4, nextSpanId++);
  return { ...defaultSpan(), traceId: TRACE_ID, spanId, name: 'op', startTimeUnixNano: 1000n, endTimeUnixNano: 2000n, ...overrides };
}

function str(key: string, value: string): KeyValue {
  return { key, value: { type: 'string', value } };
}

function attrs(n: number): KeyValue[] {
  return Array.from({ length: n }, (_, i) => str(`k${i}`, 'v'));
}

function batchOf(spans: Span[], resourceAttributes: KeyValue[] = [str('service.name', 'checkout')]): ResourceSpans[] {
  return [
    {
      resource: { attributes: resourceAttributes, droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'lib', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans }],
    },
  ];
}

const hexOf = (s: Span): string => Buffer.from(s.spanId).toString('hex');

describe('validateBatch', () => {
  test('a valid batch is returned as it is, not copied', () => {
    const batch = decodeTracesData(sdkExport().protobuf);
    const result = validateBatch(batch, { maxAttributeValueLength: 65536, maxAttributesPerSpan: 128, maxEventsPerSpan: 128, maxSpanEndAheadMs: 0 });
    assert.equal(result.accepted, batch);
    assert.equal(result.acceptedSpans, countSpans(batch));
    assert.equal(result.rejectedSpans, 0);
    assert.equal(result.reasons.size, 0);
    assert.equal(result.errorMessage, '');
  });

  test('a span ending more than maxSpanEndAheadMs after now is refused, one ending exactly then is kept; 0 means no limit', () => {
    const now = 1_700_000_000_000;
    const limit = 24 * 3600 * 1000;
    const edge = BigInt(now + limit) * 1_000_000n;
    const atEdge = span({ startTimeUnixNano: edge - 10n, endTimeUnixNano: edge });
    const past = span({ startTimeUnixNano: edge - 10n, endTimeUnixNano: edge + 1n });
    const result = validateBatch(batchOf([atEdge, past]), { ...LIMITS, maxSpanEndAheadMs: limit }, now);
    assert.deepEqual(result.accepted[0]!.scopeSpans[0]!.spans, [atEdge]);
    assert.deepEqual([...result.reasons], [['end_in_future', 1]]);
    assert.match(result.errorMessage, new RegExp(`span ${hexOf(past)} .*: end time 2023-11-15T22:13:20\\.000Z is further in the future than limits\\.max_span_end_ahead=1d allows`));
    const farthest = span({ endTimeUnixNano: (1n << 64n) - 1n });
    assert.equal(validateBatch(batchOf([farthest]), LIMITS, now).rejectedSpans, 0);
  });

  test('values exactly at the limits are accepted', () => {
    const ok = span({
      attributes: [str('a', 'x'.repeat(100)), { key: 'b', value: { type: 'bytes', value: new Uint8Array(100) } }, str('c', 'é'.repeat(50)), str('d', '')],
      events: [{ timeUnixNano: 0n, name: 'e', attributes: attrs(4), droppedAttributesCount: 0 }, { timeUnixNano: 0n, name: 'f', attributes: [], droppedAttributesCount: 0 }],
      links: [{ traceId: TRACE_ID, spanId: new Uint8Array(8).fill(1), traceState: '', attributes: attrs(4), droppedAttributesCount: 0, flags: 0 }],
      startTimeUnixNano: 5n,
      endTimeUnixNano: 5n,
      parentSpanId: new Uint8Array(8),
    });
    const batch = batchOf([ok], attrs(4));
    assert.equal(validateBatch(batch, LIMITS).accepted, batch);
  });

  const cases: Array<[RejectReason, Partial<Span>, string]> = [
    ['invalid_trace_id', { traceId: TRACE_ID.subarray(0, 15) }, 'trace_id is 15 bytes, must be 16'],
    ['invalid_trace_id', { traceId: new Uint8Array(16) }, 'trace_id is all zeros'],
    ['invalid_trace_id', { traceId: new Uint8Array(0) }, 'trace_id is 0 bytes, must be 16'],
    ['invalid_span_id', { spanId: new Uint8Array(9).fill(7) }, 'span_id is 9 bytes, must be 8'],
    ['invalid_span_id', { spanId: new Uint8Array(8) }, 'span_id is all zeros'],
    ['invalid_parent_span_id', { parentSpanId: new Uint8Array(4).fill(1) }, 'parent_span_id is 4 bytes, must be 8 or empty'],
    ['end_before_start', { startTimeUnixNano: 2000n, endTimeUnixNano: 1999n }, 'end time is before start time'],
    ['attribute_value_too_long', { attributes: [str('http.request.body', 'x'.repeat(101))] }, 'attribute "http.request.body" value is 101 bytes, over the limit limits.max_attribute_value_length=100'],
    ['attribute_value_too_long', { attributes: [str('text', 'é'.repeat(51))] }, 'attribute "text" value is 102 bytes, over the limit limits.max_attribute_value_length=100'],
    ['attribute_value_too_long', { attributes: [{ key: 'blob', value: { type: 'bytes', value: new Uint8Array(101) } }] }, 'attribute "blob" value is 101 bytes, over the limit limits.max_attribute_value_length=100'],
    [
      'attribute_value_too_long',
      { attributes: [{ key: 'list', value: { type: 'array', value: [{ type: 'int', value: 1n }, { type: 'kvlist', value: [str('ok', 'x'), str('big', 'y'.repeat(200))] }] } }] },
      'attribute "list[1].big" value is 200 bytes, over the limit limits.max_attribute_value_length=100',
    ],
    ['too_many_attributes', { attributes: attrs(5) }, 'span has 5 attributes, over the limit limits.max_attributes_per_span=4'],
    [
      'too_many_attributes',
      { events: [{ timeUnixNano: 0n, name: 'exception', attributes: attrs(5), droppedAttributesCount: 0 }] },
      'event "exception" has 5 attributes, over the limit limits.max_attributes_per_span=4',
    ],
    [
      'attribute_value_too_long',
      { events: [{ timeUnixNano: 0n, name: 'exception', attributes: [str('exception.stacktrace', 's'.repeat(150))], droppedAttributesCount: 0 }] },
      'event "exception" attribute "exception.stacktrace" value is 150 bytes, over the limit limits.max_attribute_value_length=100',
    ],
    [
      'too_many_attributes',
      { links: [{ traceId: TRACE_ID, spanId: new Uint8Array(8).fill(0xab), traceState: '', attributes: attrs(6), droppedAttributesCount: 0, flags: 0 }] },
      'link to span abababababababab has 6 attributes, over the limit limits.max_attributes_per_span=4',
    ],
    [
      'too_many_events',
      { events: Array.from({ length: 3 }, () => ({ timeUnixNano: 0n, name: 'e', attributes: [], droppedAttributesCount: 0 })) },
      'span has 3 events, over the limit limits.max_events_per_span=2',
    ],
    [
      'too_many_links',
      { links: Array.from({ length: 3 }, () => ({ traceId: TRACE_ID, spanId: new Uint8Array(8).fill(1), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 })) },
      'span has 3 links, over the limit limits.max_events_per_span=2 (which also bounds links)',
    ],
  ];
  for (const [reason, overrides, problem] of cases) {
    test(`${reason}: ${problem}`, () => {
      const good = span();
      const bad = span(overrides);
      const batch = batchOf([good, bad]);
      const result = validateBatch(batch, LIMITS);
      assert.equal(result.rejectedSpans, 1);
      assert.equal(result.acceptedSpans, 1);
      assert.deepStrictEqual([...result.reasons], [[reason, 1]]);
      const traceHex = bad.traceId.length ? Buffer.from(bad.traceId).toString('hex') : '(empty)';
      assert.equal(result.errorMessage, `1 span rejected: span ${hexOf(bad)} of trace ${traceHex}: ${problem}`);
      assert.deepStrictEqual(result.accepted, batchOf([good]));
      assert.equal(batch[0]!.scopeSpans[0]!.spans.length, 2, 'the input is left alone');
    });
  }

  test('a resource breaking a limit rejects all its spans; other resources are kept', () => {
    const fine = batchOf([span(), span()])[0]!;
    const bloated = batchOf([span(), span(), span()], [str('service.name', 'cart'), ...attrs(4)])[0]!;
    const long = batchOf([span()], [str('blob', 'x'.repeat(101))])[0]!;
    const result = validateBatch([fine, bloated, long], LIMITS);
    assert.deepStrictEqual(result.accepted, [fine]);
    assert.equal(result.accepted[0], fine, 'untouched resources are kept as they are');
    assert.equal(result.acceptedSpans, 2);
    assert.equal(result.rejectedSpans, 4);
    assert.deepStrictEqual(Object.fromEntries(result.reasons), { too_many_attributes: 3, attribute_value_too_long: 1 });
    assert.equal(
      result.errorMessage,
      '4 spans rejected: all 3 spans of the resource with service.name "cart": resource has 5 attributes, over the limit limits.max_attributes_per_span=4; ' +
        '1 span of the resource without service.name: resource attribute "blob" value is 101 bytes, over the limit limits.max_attribute_value_length=100',
    );
  });

  test('a scope breaking a limit rejects its spans; scopes and resources left empty are dropped', () => {
    const batch = batchOf([span()]);
    const rs = batch[0]!;
    rs.scopeSpans.push({ scope: { name: 'noisy', version: '', attributes: attrs(9), droppedAttributesCount: 0 }, schemaUrl: '', spans: [span(), span()] });
    const onlyBad = batchOf([span({ endTimeUnixNano: 0n })])[0]!;
    const result = validateBatch([rs, onlyBad], LIMITS);
    assert.deepStrictEqual(result.accepted, [{ resource: rs.resource, schemaUrl: '', scopeSpans: [rs.scopeSpans[0]] }]);
    assert.equal(result.rejectedSpans, 3);
    assert.match(result.errorMessage, /^3 spans rejected: all 2 spans of scope "noisy": scope "noisy" has 9 attributes, over the limit limits\.max_attributes_per_span=4; span [0-9a-f]{16} of trace 4bf92f3577b34da6a3ce929d0e0e4736: end time is before start time$/);
  });

  test('at most five distinct problems are listed, then how many more spans', () => {
    const spans = [
      span({ traceId: new Uint8Array(3) }),
      span({ spanId: new Uint8Array(2) }),
      span({ parentSpanId: new Uint8Array(1) }),
      span({ endTimeUnixNano: 1n }),
      span({ endTimeUnixNano: 1n }),
      span({ endTimeUnixNano: 1n }),
      span({ attributes: attrs(10) }),
      span({ attributes: [str('k', 'v'.repeat(1000))] }),
      span(),
    ];
    const result = validateBatch(batchOf(spans), LIMITS);
    assert.equal(result.rejectedSpans, 8);
    assert.equal(result.acceptedSpans, 1);
    const [first, ...rest] = result.errorMessage.split('; ');
    assert.match(first!, /^8 spans rejected: span /);
    const examples = [first!.slice('8 spans rejected: '.length), ...rest];
    assert.equal(examples.length, 6);
    assert.equal(examples.at(-1), 'and 3 more', 'two repeats of "end before start" and the value-length problem are not listed');
    assert.deepStrictEqual(
      Object.fromEntries(result.reasons),
      { invalid_trace_id: 1, invalid_span_id: 1, invalid_parent_span_id: 1, end_before_start: 3, too_many_attributes: 1, attribute_value_too_long: 1 },
    );
  });

  test('the value-length check reaches into nested arrays and kvlists', () => {
    let deep: AnyValue = { type: 'string', value: 'z'.repeat(101) };
    for (let i = 0; i < 5; i++) deep = i % 2 ? { type: 'array', value: [{ type: 'bool', value: true }, deep] } : { type: 'kvlist', value: [{ key: `l${i}`, value: deep }] };
    const result = validateBatch(batchOf([span({ attributes: [{ key: 'root', value: deep }] })]), LIMITS);
    assert.match(result.errorMessage, /attribute "root\.l4\[1\]\.l2\[1\]\.l0" value is 101 bytes/);
  });
});
