// The messages peers send each other for a query part (src/cluster/codec.ts): every fetch
// request type and StoredSpans survive the trip exactly (bigints, bytes, every value type),
// the answers too, and what is not a message is refused naming the field.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  decodeSpans,
  decodeTagged,
  encodeSpans,
  encodeTagged,
  readPeerFetch,
  readPeerTraceAnswer,
  readPeerTraceLookup,
  readStreamLine,
  readTagNamesResult,
  readTagValuesResult,
  type PeerFetch,
  type StreamLine,
} from '../../src/cluster/codec.js';
import { toHex, type StoredSpan } from '../../src/otlp/model.js';
import type { Condition, TraceFilter } from '../../src/store/fetch/request.js';
import { newSpanId as randomSpanId, newTraceId as randomTraceId } from '../helpers/spans.js';

// Plain Uint8Arrays, as decoding gives (the helpers' are Buffers, which compare unequal to them).
const newTraceId = (): Uint8Array => new Uint8Array(randomTraceId());
const newSpanId = (): Uint8Array => new Uint8Array(randomSpanId());

const roundTrip = (msg: PeerFetch): PeerFetch => readPeerFetch(decodeTagged(encodeTagged(msg)));

const service: Condition = { field: { type: 'attribute', scope: 'resource', name: 'service.name' }, op: '=', value: { t: 'string', v: 'api' } };
const slow: Condition = { field: { type: 'intrinsic', name: 'duration' }, op: '>', value: { t: 'duration', v: 1_500_000_000n } };
const big: Condition = { field: { type: 'attribute', scope: 'span', name: 'n' }, op: '>=', value: { t: 'int', v: -(2n ** 63n) } };
const values: Condition[] = [
  { field: { type: 'attribute', scope: 'none', name: 'f' }, op: '<', value: { t: 'float', v: 2.5 } },
  { field: { type: 'attribute', scope: 'instrumentation', name: 'b' }, op: '!=', value: { t: 'bool', v: false } },
  { field: { type: 'intrinsic', name: 'status' }, op: '=', value: { t: 'status', v: 'error' } },
  { field: { type: 'intrinsic', name: 'kind' }, op: '=', value: { t: 'kind', v: 'consumer' } },
  { field: { type: 'intrinsic', name: 'event:name' }, op: '=~', value: { t: 'string', v: 'ex.*' } },
  { field: { type: 'attribute', scope: 'span', name: 'arr' }, op: '=', value: { t: 'array', v: [{ t: 'int', v: 1n }, { t: 'string', v: 'x' }] } },
  { field: { type: 'attribute', scope: 'span', name: 'o' }, op: '!=', value: { t: 'opaque' } },
  { field: { type: 'attribute', scope: 'span', name: 'missing' }, op: '!=', value: { t: 'nil' } },
];
const filter: TraceFilter = {
  type: 'and',
  args: [
    { type: 'some', filter: { type: 'or', args: [{ type: 'condition', condition: service }, { type: 'condition', condition: big }] } },
    { type: 'aggregate', filter: { type: 'condition', condition: slow }, fn: 'avg', field: { type: 'intrinsic', name: 'duration' }, op: '>', value: { t: 'duration', v: 100n } },
    { type: 'aggregate', filter: null, fn: 'count', field: null, op: '>=', value: { t: 'int', v: 2n } },
    { type: 'some', filter: null },
  ],
};

describe('peer fetch requests', () => {
  test('a traces request, with every value type and both bounds, arrives as it was sent', () => {
    const msg: PeerFetch = {
      scope: 'recent',
      timeoutMs: 1234,
      request: {
        kind: 'traces',
        startUnixNano: 1_700_000_000_123_456_789n,
        endUnixNano: 1_800_000_000_000_000_001n,
        conditions: [service, slow, big, ...values],
        allConditions: false,
        filter,
        minTraceDurationNano: 0n,
        maxTraceDurationNano: 2n ** 62n,
        secondPass: 'attributes',
        limit: 20,
        order: 'most-recent-first',
        maxBytesInspected: 5_000_000_000,
      },
    };
    assert.deepEqual(roundTrip(msg), msg);
  });

  test('a traces request with open ends and no filter, in no order', () => {
    const msg: PeerFetch = {
      scope: 'head',
      timeoutMs: 1,
      request: { kind: 'traces', conditions: [], allConditions: true, filter: null, secondPass: 'all', limit: 256, order: 'none', maxBytesInspected: 0 },
    };
    const got = roundTrip(msg);
    assert.deepEqual(JSON.parse(JSON.stringify(got, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))), msg);
    assert.equal(got.request.kind, 'traces');
  });

  test('an aggregate request', () => {
    const msg: PeerFetch = {
      scope: 'head',
      timeoutMs: 60_000,
      request: {
        kind: 'aggregate',
        afterUnixNano: 1_700_000_000_000_000_000n,
        atOrBeforeUnixNano: 1_700_000_060_000_000_000n,
        stepNano: 15_000_000_000n,
        filter: { type: 'and', args: [{ type: 'condition', condition: service }, { type: 'condition', condition: slow }] },
        by: [{ type: 'attribute', scope: 'resource', name: 'service.name' }, { type: 'intrinsic', name: 'name' }],
        value: { type: 'intrinsic', name: 'duration' },
        buckets: true,
        exemplars: false,
        maxBytesInspected: 1,
      },
    };
    assert.deepEqual(roundTrip(msg), msg);
  });

  test('tag names and tag values requests, every kind of target', () => {
    const names: PeerFetch = {
      scope: 'recent',
      timeoutMs: 10,
      request: { kind: 'tag-names', startUnixNano: 5n, scopes: ['span', 'resource', 'event', 'link', 'instrumentation'], conditions: [service], limit: 100, maxBytes: 1024, maxBytesInspected: 0 },
    };
    assert.deepEqual(roundTrip(names), { ...names, request: { ...names.request, endUnixNano: undefined } });
    for (const target of [
      { type: 'attribute', scope: 'none', name: 'http.method' },
      { type: 'attribute', scope: 'event', name: 'exception.type' },
      { type: 'legacy', name: 'service.name' },
      { type: 'intrinsic', name: 'rootServiceName' },
    ] as const) {
      const msg: PeerFetch = {
        scope: 'recent',
        timeoutMs: 10,
        request: { kind: 'tag-values', startUnixNano: 1n, endUnixNano: 2n, target, conditions: [], limit: 5000, maxBytes: 1 << 20, maxBytesInspected: 0 },
      };
      assert.deepEqual(roundTrip(msg), msg);
    }
  });

  test('closures are not sent, and unknown fields are dropped', () => {
    const sent = {
      scope: 'recent',
      timeoutMs: 10,
      request: { kind: 'tag-names', scopes: ['span'], conditions: [], limit: 1, maxBytes: 1, maxBytesInspected: 0, overLimit: () => new Error('x'), extra: 'y' },
    };
    const got = readPeerFetch(decodeTagged(encodeTagged(sent)));
    assert.ok(!('overLimit' in got.request) && !('extra' in got.request));
  });

  test('what is not a request is refused, naming the field', () => {
    const base = { kind: 'traces', conditions: [], allConditions: false, filter: null, secondPass: 'all', limit: 1, order: 'none', maxBytesInspected: 0 };
    const refused = (body: unknown, field: RegExp) => assert.throws(() => readPeerFetch(decodeTagged(encodeTagged(body))), (e: unknown) => e instanceof CodecError && field.test(e.message));
    refused({ scope: 'all', timeoutMs: 1, request: base }, /^scope: expected one of head, recent/);
    refused({ scope: 'head', timeoutMs: 0, request: base }, /^timeoutMs/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, kind: 'spans' } }, /^request\.kind/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, limit: 1.5 } }, /^request\.limit/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, startUnixNano: 5 } }, /^request\.startUnixNano: expected a bigint/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, conditions: [{ ...service, op: '==' }] } }, /^request\.conditions\[0\]\.op/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, conditions: [{ ...service, value: { t: 'kind', v: 'sideways' } }] } }, /^request\.conditions\[0\]\.value\.v/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, conditions: [{ ...service, field: { type: 'intrinsic', name: 'traceDuration' } }] } }, /^request\.conditions\[0\]\.field\.name/);
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, conditions: [{ ...service, value: { t: 'string', v: 'x'.repeat(64 * 1024 + 1) } }] } }, /at most 65536/);
    // A filter nested past TraceQL's own depth limit.
    let deep: unknown = { type: 'condition', condition: service };
    for (let i = 0; i < 1100; i++) deep = { type: 'and', args: [deep] };
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, filter: { type: 'some', filter: deep } } }, /nested deeper than 1000/);
    // More objects than any query makes.
    refused({ scope: 'head', timeoutMs: 1, request: { ...base, conditions: Array.from({ length: 40_000 }, () => service) } }, /more than 100000 objects/);
  });

  test('malformed tags and text that is not JSON are refused', () => {
    assert.throws(() => decodeTagged('{"a": {"$n": "12x"}}'), /bigint tag/);
    assert.throws(() => decodeTagged('{"a": {"$n": 12}}'), /bigint tag/);
    assert.throws(() => decodeTagged('{"a": {"$b": "!!"}}'), /bytes tag/);
    assert.throws(() => decodeTagged('{"a": '), (e: unknown) => e instanceof CodecError && /not JSON/.test(e.message));
    // An object with a `$` key among others is data, not a tag.
    assert.deepEqual(decodeTagged('{"a": {"$n": "1", "b": 2}}'), { a: { $n: '1', b: 2 } });
  });
});

/** Spans in span-ID order: grouping them under resources and scopes orders them by start time, then span ID. */
const bySpanId = (spans: readonly StoredSpan[]): StoredSpan[] => [...spans].sort((a, b) => (toHex(a.span.spanId) < toHex(b.span.spanId) ? -1 : 1));

describe('spans and answers', () => {
  const traceId = newTraceId();
  const spanId = newSpanId();
  const spans: StoredSpan[] = [
    {
      resource: { attributes: [{ key: 'service.name', value: { type: 'string', value: 'api' } }], droppedAttributesCount: 1 },
      resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
      scope: { name: 'lib', version: '2.0', attributes: [{ key: 'scope.attr', value: { type: 'bool', value: true } }], droppedAttributesCount: 0 },
      scopeSchemaUrl: '',
      span: {
        traceId,
        spanId,
        traceState: 'k=v',
        parentSpanId: new Uint8Array(0),
        flags: 0x301,
        name: 'GET /x',
        kind: 2,
        startTimeUnixNano: 1_700_000_000_123_456_789n,
        endTimeUnixNano: 18_446_744_073_709_551_615n,
        attributes: [
          { key: 'int', value: { type: 'int', value: -(2n ** 63n) } },
          { key: 'double', value: { type: 'double', value: 0.1 } },
          { key: 'bytes', value: { type: 'bytes', value: new Uint8Array([0, 1, 254, 255]) } },
          { key: 'array', value: { type: 'array', value: [{ type: 'string', value: 'a' }, { type: 'int', value: 7n }] } },
          { key: 'kv', value: { type: 'kvlist', value: [{ key: 'inner', value: { type: 'empty' } }] } },
        ],
        droppedAttributesCount: 2,
        events: [{ timeUnixNano: 1_700_000_000_200_000_000n, name: 'exception', attributes: [{ key: 'exception.type', value: { type: 'string', value: 'E' } }], droppedAttributesCount: 0 }],
        droppedEventsCount: 3,
        links: [{ traceId: newTraceId(), spanId: newSpanId(), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 1 }],
        droppedLinksCount: 4,
        status: { code: 2, message: 'boom' },
      },
    },
  ];
  spans.push({ ...spans[0]!, span: { ...spans[0]!.span, spanId: newSpanId(), parentSpanId: spanId, name: 'child', attributes: [], events: [], links: [], droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0, status: { code: 0, message: '' } } });

  test('StoredSpans with bigints and bytes survive a stream line', () => {
    const line: StreamLine = { trace: { traceId: 'ab'.repeat(16), key: 1_700_000_000_123_456_789n, spans: encodeSpans(spans) } };
    const got = readStreamLine(decodeTagged(encodeTagged(line)));
    assert.ok('trace' in got);
    assert.equal(got.trace.key, line.trace.key);
    assert.equal(got.trace.traceId, line.trace.traceId);
    assert.deepEqual(bySpanId(decodeSpans(got.trace.spans)), bySpanId(spans));
  });

  test('the end and error lines', () => {
    const end: StreamLine = { end: { inspectedBytes: 2 ** 40, inspectedTraces: 3 } };
    assert.deepEqual(readStreamLine(decodeTagged(encodeTagged(end))), end);
    const over: StreamLine = { error: { message: 'too much', overLimit: { bytes: 99, planned: true } } };
    assert.deepEqual(readStreamLine(decodeTagged(encodeTagged(over))), over);
    const failed: StreamLine = { error: { message: 'disk on fire' } };
    assert.deepEqual(readStreamLine(decodeTagged(encodeTagged(failed))), failed);
    assert.throws(() => readStreamLine(decodeTagged('{"trace": {"traceId": "XYZ", "key": {"$n": "1"}, "spans": {"$b": ""}}}')), /trace\.traceId/);
  });

  test('trace by ID: the lookup and its answer', () => {
    const lookup = { scope: 'recent' as const, traceId: 'AB12', startUnixSec: 1_700_000_000, endUnixSec: 1_700_000_600 };
    assert.deepEqual(readPeerTraceLookup(decodeTagged(encodeTagged(lookup))), lookup);
    assert.throws(() => readPeerTraceLookup(decodeTagged(encodeTagged({ ...lookup, traceId: 'xyz' }))), /traceId/);
    const answer = readPeerTraceAnswer(decodeTagged(encodeTagged({ spans: encodeSpans(spans), inspectedBytes: 12 })));
    assert.equal(answer.inspectedBytes, 12);
    assert.deepEqual(bySpanId(decodeSpans(answer.spans)), bySpanId(spans));
  });

  test('tag answers', () => {
    const names = { scopes: [{ name: 'span' as const, tags: ['a', 'b'] }, { name: 'resource' as const, tags: [] }], truncated: true, inspectedBytes: 5, totalBlocks: 2 };
    assert.deepEqual(readTagNamesResult(decodeTagged(encodeTagged(names))), names);
    const values = { values: [{ type: 'string' as const, value: 'x' }, { type: 'keyword' as const, value: 'error' }], truncated: false, inspectedBytes: 0, totalBlocks: 0 };
    assert.deepEqual(readTagValuesResult(decodeTagged(encodeTagged(values))), values);
    assert.throws(() => readTagValuesResult(decodeTagged(encodeTagged({ ...values, values: [{ type: 'blob', value: 'x' }] }))), /values\[0\]\.type/);
  });
});
