import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identifierDimensionProblem, sanitizeLabelName } from '../../../../src/pipeline/connectors/shared/labels.js';
import { attributeText } from '../../../../src/pipeline/connectors/shared/attributes.js';
import { attrs } from '../helpers.js';

test('attribute names become Prometheus label names', () => {
  assert.equal(sanitizeLabelName('http.route'), 'http_route');
  assert.equal(sanitizeLabelName('k8s.pod-name'), 'k8s_pod_name');
  assert.equal(sanitizeLabelName('1st'), '_1st');
  assert.equal(sanitizeLabelName('ok_name'), 'ok_name');
});

test('identifier-like dimension names are refused, ordinary ones pass', () => {
  for (const name of ['trace_id', 'TraceId', 'otel.trace.id', 'span_id', 'parent_span_id', 'session.id', 'app.session_id', 'http.request_id', 'x-request-id']) {
    assert.ok(identifierDimensionProblem(name), name);
  }
  for (const name of ['span.name', 'http.route', 'session.type', 'service.instance.id', 'db.name', 'user.tier']) {
    assert.equal(identifierDimensionProblem(name), undefined, name);
  }
});

test('attribute values of every type render as label text', () => {
  const a = attrs({ s: 'x', i: 42, d: 1.5, b: true });
  assert.deepEqual(['s', 'i', 'd', 'b', 'missing'].map((k) => attributeText(a, k)), ['x', '42', '1.5', 'true', undefined]);
  const list = [{ key: 'l', value: { type: 'array' as const, value: [{ type: 'string' as const, value: 'a' }, { type: 'int' as const, value: 1n }] } }];
  assert.equal(attributeText(list, 'l'), '["a","1"]');
});
