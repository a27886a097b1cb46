// Trace filters over encoded spans: never false for a trace the filter holds for (checked
// against the head matcher on the same spans), and false for traces that lack a key or a
// literal the filter needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue, StoredSpan } from '../../../src/otlp/model.js';
import { encodeResource, encodeScope, encodeSpan } from '../../../src/otlp/protobuf.js';
import type { Condition, TraceFilter } from '../../../src/store/fetch/request.js';
import { encodedTraceTest, type EncodedSpan } from '../../../src/store/head/byte-test.js';
import { traceMatches } from '../../../src/store/head/match.js';
import { newTraceId, span, str } from '../../helpers/spans.js';

const int = (key: string, value: number): KeyValue => ({ key, value: { type: 'int', value: BigInt(value) } });
const strings = (key: string, values: string[]): KeyValue => ({ key, value: { type: 'array', value: values.map((v) => ({ type: 'string' as const, value: v })) } });

function stored(name: string, attrs: KeyValue[], resource: KeyValue[]): StoredSpan {
  return {
    resource: { attributes: resource, droppedAttributesCount: 0 },
    resourceSchemaUrl: '',
    scope: { name: 'lib', version: '1', attributes: [], droppedAttributesCount: 0 },
    scopeSchemaUrl: '',
    span: span({ traceId: newTraceId(), name, attributes: attrs }),
  };
}

function encoded(spans: StoredSpan[]): EncodedSpan[] {
  return spans.map((s) => ({ span: encodeSpan(s.span), resource: encodeResource(s.resource), scope: encodeScope(s.scope) }));
}

const some = (c: Condition): TraceFilter => ({ type: 'some', filter: { type: 'condition', condition: c } });
const attr = (scope: 'span' | 'resource' | 'none', name: string, op: Condition['op'], value: Condition['value']): TraceFilter =>
  some({ field: { type: 'attribute', scope, name }, op, value });

const TRACES: StoredSpan[][] = [
  [stored('GET /a', [str('http.route', '/a')], [str('service.name', 'web')])],
  [stored('query', [str('db.namespace', 'payments')], [str('service.name', 'payment')])],
  [stored('query', [], [str('service.name', 'payment'), str('db.namespace', 'payroll')])],
  [stored('query', [str('db.namespace', 'orders')], [str('service.name', 'orders')]), stored('work', [int('retries', 7)], [str('service.name', 'worker')])],
  [stored('tagged', [strings('tags', ['x', 'pay-y'])], [str('service.name', 'web')])],
];

const FILTERS: Array<[string, TraceFilter]> = [
  ['span.http.route = "/a"', attr('span', 'http.route', '=', { t: 'string', v: '/a' })],
  ['.db.namespace =~ "pay.*"', attr('none', 'db.namespace', '=~', { t: 'string', v: 'pay.*' })],
  ['resource.db.namespace != nil', attr('resource', 'db.namespace', '!=', { t: 'nil' })],
  ['span.retries > 5', attr('span', 'retries', '>', { t: 'int', v: 5n })],
  ['span.tags = "pay-y"', attr('span', 'tags', '=', { t: 'string', v: 'pay-y' })],
  ['name = "query" && retries', { type: 'and', args: [some({ field: { type: 'intrinsic', name: 'name' }, op: '=', value: { t: 'string', v: 'query' } }), attr('span', 'retries', '!=', { t: 'nil' })] }],
];

test('a byte test is true of every trace the filter holds for, and rules out traces missing what it needs', () => {
  const want: Record<string, boolean[]> = {
    'span.http.route = "/a"': [true, false, false, false, false],
    '.db.namespace =~ "pay.*"': [false, true, true, false, false],
    'resource.db.namespace != nil': [false, false, true, false, false],
    'span.retries > 5': [false, false, false, true, false],
    'span.tags = "pay-y"': [false, false, false, false, true],
    'name = "query" && retries': [false, false, false, true, false],
  };
  for (const [text, filter] of FILTERS) {
    const t = encodedTraceTest(filter);
    assert.ok(t !== null, text);
    const got = TRACES.map((spans) => t(encoded(spans)));
    TRACES.forEach((spans, i) => {
      if (traceMatches(filter, spans)) assert.ok(got[i], `${text} holds for trace ${i} but its bytes say no`);
    });
    assert.deepEqual(got, want[text], text);
  }
});

test('conditions bytes cannot judge leave the filter to the summaries and the matcher', () => {
  assert.equal(encodedTraceTest(some({ field: { type: 'intrinsic', name: 'status' }, op: '=', value: { t: 'status', v: 'error' } })), null);
  assert.equal(encodedTraceTest(some({ field: { type: 'intrinsic', name: 'name' }, op: '!=', value: { t: 'string', v: 'x' } })), null);
  assert.equal(encodedTraceTest({ type: 'some', filter: null }), null);
});
