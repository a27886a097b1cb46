// The four tag routes against a running Skein fed by the OpenTelemetry SDK: the
// shapes Grafana and Perses read, q narrowing, double-URL-encoded names, limits,
// bad parameters, values read back from blocks after a restart, and `skein tags`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CLI_PATH, startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { waitFor } from '../helpers/poll.js';

const CONFIG = 'query:\n  max_tag_values: 25\n';
const ORDER_IDS = 30;

let skein: SkeinProcess;

async function send(service: string, emit: (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void, tenant?: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'prod' }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${skein.otlpHttpUrl}/v1/traces`, ...(tenant && { headers: { 'X-Scope-OrgID': tenant } }) })),
    ],
  });
  emit(provider.getTracer('shop-instrumentation', '3.1.0'));
  await provider.forceFlush();
  await provider.shutdown();
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; json: () => any }> {
  const res = await fetch(`${skein.url}${path}`, { headers });
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) };
}

async function ok(path: string): Promise<any> {
  const r = await get(path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return r.json();
}

const values = (answer: { tagValues: Array<{ value: string }> }) => answer.tagValues.map((v) => v.value);

before(async () => {
  skein = await startSkein({ configYaml: CONFIG });
  await send('cart', (tracer) => {
    const root = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, attributes: { 'http.route': '/cart', 'http.status_code': 200, 'foo bar': 'spaced' } });
    for (let i = 0; i < ORDER_IDS; i++) tracer.startSpan('load', { attributes: { 'order.id': `o-${String(i).padStart(2, '0')}` } }).end();
    root.end();
  });
  await send('payment', (tracer) => {
    const span = tracer.startSpan('charge', { kind: SpanKind.CLIENT, attributes: { 'http.route': '/pay', 'http.status_code': 402, 'payment.ratio': 0.5 } });
    span.addEvent('exception', { 'exception.type': 'CardError' });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    span.end();
  });
  await send('other-tenant-svc', (tracer) => tracer.startSpan('hidden', { attributes: { secret: 'x' } }).end(), 'tenant-b');
  // Ingest is acknowledged before the exporter returns; poll anyway for a generous margin.
  await waitFor('the services to be listed', async () => {
    const a = (await ok('/api/search/tag/service.name/values')) as { tagValues: string[] };
    return a.tagValues.includes('payment') && a.tagValues.includes('cart');
  });
});

after(async () => {
  await skein.stop();
});

describe('tag names', () => {
  test('v1 /api/search/tags: one sorted list of span and resource attribute names', async () => {
    const a = await ok('/api/search/tags');
    assert.deepEqual(Object.keys(a).sort(), ['metrics', 'tagNames']);
    for (const n of ['deployment.environment', 'foo bar', 'http.route', 'http.status_code', 'order.id', 'payment.ratio', 'service.name']) {
      assert.ok(a.tagNames.includes(n), n);
    }
    assert.deepEqual(a.tagNames, [...a.tagNames].sort());
    assert.ok(!a.tagNames.includes('secret'), 'another tenant\'s names stay out');
    assert.deepEqual((await ok('/api/search/tags?scope=resource')).tagNames, ['deployment.environment', 'service.name']);
    assert.ok((await ok('/api/search/tags?scope=intrinsic')).tagNames.includes('status'));
  });

  test('v2 /api/v2/search/tags: scopes, one scope, q narrowing, tenants', async () => {
    const a = await ok('/api/v2/search/tags');
    const byName = Object.fromEntries(a.scopes.map((s: { name: string; tags: string[] }) => [s.name, s.tags]));
    assert.deepEqual(Object.keys(byName), ['resource', 'span', 'event', 'intrinsic']);
    assert.deepEqual(byName['resource'], ['deployment.environment', 'service.name']);
    assert.deepEqual(byName['span'], ['foo bar', 'http.route', 'http.status_code', 'order.id', 'payment.ratio']);
    assert.deepEqual(byName['event'], ['exception.type']);
    for (const i of ['duration', 'kind', 'name', 'rootName', 'rootServiceName', 'status', 'statusMessage', 'traceDuration']) assert.ok(byName['intrinsic'].includes(i), i);

    assert.deepEqual((await ok('/api/v2/search/tags?scope=span')).scopes, [{ name: 'span', tags: byName['span'] }]);
    assert.deepEqual((await ok('/api/v2/search/tags?scope=link')).scopes, [{ name: 'link', tags: [] }]);
    const q = encodeURIComponent('{ resource.service.name = "payment" }');
    assert.deepEqual((await ok(`/api/v2/search/tags?scope=span&q=${q}`)).scopes[0].tags, ['http.route', 'http.status_code', 'payment.ratio']);
    const b = await get('/api/v2/search/tags?scope=span', { 'X-Scope-OrgID': 'tenant-b' });
    assert.deepEqual(b.json().scopes, [{ name: 'span', tags: ['secret'] }]);
  });
});

describe('tag values', () => {
  test('v1 /api/search/tag/{name}/values: strings of a bare attribute name', async () => {
    assert.deepEqual(await ok('/api/search/tag/service.name/values').then((a) => a.tagValues), ['cart', 'payment']);
    assert.deepEqual(await ok('/api/search/tag/http.route/values').then((a) => a.tagValues), ['/cart', '/pay']);
    // v1 lists strings only; the ints are for v2.
    assert.deepEqual(await ok('/api/search/tag/http.status_code/values').then((a) => a.tagValues), []);
  });

  test('v2 /api/v2/search/tag/{name}/values: typed values of TraceQL identifiers', async () => {
    const svc = await ok('/api/v2/search/tag/resource.service.name/values');
    assert.deepEqual(svc.tagValues, [
      { type: 'string', value: 'cart' },
      { type: 'string', value: 'payment' },
    ]);
    assert.ok(Number(svc.metrics.inspectedBytes) > 0);
    assert.deepEqual((await ok('/api/v2/search/tag/span.http.status_code/values')).tagValues, [
      { type: 'int', value: '200' },
      { type: 'int', value: '402' },
    ]);
    assert.deepEqual((await ok('/api/v2/search/tag/.payment.ratio/values')).tagValues, [{ type: 'float', value: '0.5' }]);
    assert.deepEqual((await ok('/api/v2/search/tag/status/values')).tagValues, [
      { type: 'keyword', value: 'error' },
      { type: 'keyword', value: 'unset' },
    ]);
    assert.deepEqual(values(await ok('/api/v2/search/tag/kind/values')), ['client', 'internal', 'server']);
    assert.deepEqual(values(await ok('/api/v2/search/tag/span:name/values')), ['GET /cart', 'charge', 'load']);
    assert.deepEqual(values(await ok('/api/v2/search/tag/rootServiceName/values')), ['cart', 'payment']);
    assert.deepEqual(values(await ok('/api/v2/search/tag/statusMessage/values')), ['card declined']);
    assert.deepEqual(values(await ok('/api/v2/search/tag/event:name/values')), ['exception']);
    assert.deepEqual(values(await ok('/api/v2/search/tag/instrumentation:name/values')), ['shop-instrumentation']);
    assert.deepEqual(values(await ok('/api/v2/search/tag/event.exception.type/values')), ['CardError']);
  });

  test('Grafana\'s double-URL-encoded names are decoded twice', async () => {
    const name = encodeURIComponent(encodeURIComponent('span.foo bar'));
    assert.equal(name, 'span.foo%2520bar');
    assert.deepEqual((await ok(`/api/v2/search/tag/${name}/values`)).tagValues, [{ type: 'string', value: 'spaced' }]);
    const quoted = encodeURIComponent(encodeURIComponent('span."foo bar"'));
    assert.deepEqual(values(await ok(`/api/v2/search/tag/${quoted}/values`)), ['spaced']);
    // Encoded once works too.
    assert.deepEqual(values(await ok(`/api/v2/search/tag/${encodeURIComponent('span.foo bar')}/values`)), ['spaced']);
  });

  test('q narrows values to spans it matches; an invalid q is ignored, as Tempo does', async () => {
    const q = (text: string) => `q=${encodeURIComponent(text)}`;
    assert.deepEqual(values(await ok(`/api/v2/search/tag/span.http.route/values?${q('{ resource.service.name = "cart" }')}`)), ['/cart']);
    assert.deepEqual(values(await ok(`/api/v2/search/tag/resource.service.name/values?${q('{ status = error }')}`)), ['payment']);
    assert.deepEqual(values(await ok(`/api/v2/search/tag/name/values?${q('{ span.http.status_code >= 400 && kind = client }')}`)), ['charge']);
    assert.deepEqual(values(await ok(`/api/v2/search/tag/span.http.route/values?${q('{ resource.service.name = ')}`)), ['/cart', '/pay']);
  });

  test('values are cut at query.max_tag_values or the caller\'s limit, and the answer says so', async () => {
    const all = await ok('/api/v2/search/tag/span.order.id/values');
    assert.equal(all.tagValues.length, 25);
    assert.equal(all.truncated, true);
    assert.deepEqual(all.tagValues[0], { type: 'string', value: 'o-00' });
    const five = await ok('/api/v2/search/tag/span.order.id/values?limit=5');
    assert.deepEqual(values(five), ['o-00', 'o-01', 'o-02', 'o-03', 'o-04']);
    assert.equal(five.truncated, true);
    assert.equal((await ok('/api/search/tag/order.id/values?limit=3')).tagValues.length, 3);
    // Under the limit there is no marker.
    assert.equal((await ok('/api/v2/search/tag/resource.service.name/values')).truncated, undefined);
    assert.equal((await ok('/api/v2/search/tag/span.order.id/values?limit=0')).tagValues.length, 25);
  });

  test('start and end keep to spans in the range', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.deepEqual(values(await ok(`/api/v2/search/tag/resource.service.name/values?start=${now - 3600}&end=${now + 60}`)), ['cart', 'payment']);
    assert.deepEqual(values(await ok(`/api/v2/search/tag/resource.service.name/values?start=${now - 7200}&end=${now - 3600}`)), []);
    assert.deepEqual((await ok(`/api/search/tags?start=${now + 3600}&end=${now + 7200}`)).tagNames, []);
  });
});

describe('bad parameters', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['/api/v2/search/tags?scope=bogus', 400, /^invalid scope "bogus": expected one of resource, span, event, link, instrumentation, intrinsic, all$/],
    ['/api/search/tags?scope=all', 400, /^invalid scope "all": expected one of resource, span, event, link, instrumentation, intrinsic$/],
    ['/api/search/tags?limit=abc', 400, /^invalid limit "abc": expected a non-negative integer/],
    ['/api/v2/search/tag/name/values?limit=-1', 400, /^invalid limit "-1"/],
    ['/api/v2/search/tags?start=yesterday', 400, /^invalid start "yesterday": expected unix epoch seconds$/],
    ['/api/search/tag/service.name/values?start=200&end=100', 400, /^invalid time range: end \(100\) is before start \(200\)$/],
    ['/api/v2/search/tag/service.name/values', 400, /^invalid tag name "service.name": expected a TraceQL identifier such as resource.service.name/],
    ['/api/v2/search/tag/foo/values', 400, /^invalid tag name "foo"/],
    ['/api/v2/search/tag/span.%25E0%25A4/values', 400, /^invalid tag name "span.%E0%A4": malformed percent-encoding$/],
  ];
  for (const [path, status, message] of cases) {
    test(`${path} → ${status}`, async () => {
      const r = await get(path);
      assert.equal(r.status, status, r.body);
      assert.match(r.body, message);
    });
  }
  test('a bad tenant header is refused', async () => {
    const r = await get('/api/v2/search/tags', { 'X-Scope-OrgID': '../etc' });
    assert.equal(r.status, 400);
  });
});

describe('after a restart, from blocks', () => {
  test('the same names and values come back, and `skein tags` prints them', async () => {
    const before_ = {
      tags: await ok('/api/v2/search/tags?scope=span'),
      svc: await ok('/api/v2/search/tag/resource.service.name/values'),
      narrowed: await ok(`/api/v2/search/tag/span.http.route/values?q=${encodeURIComponent('{ status = error }')}`),
    };
    await skein.stop();
    // Shutdown cuts the head into blocks; the new process reads them with DuckDB.
    skein = await startSkein({ configYaml: CONFIG, dataDir: skein.dataDir });
    const after_ = {
      tags: await ok('/api/v2/search/tags?scope=span'),
      svc: await ok('/api/v2/search/tag/resource.service.name/values'),
      narrowed: await ok(`/api/v2/search/tag/span.http.route/values?q=${encodeURIComponent('{ status = error }')}`),
    };
    assert.deepEqual(after_.tags.scopes, before_.tags.scopes);
    assert.deepEqual(after_.svc.tagValues, before_.svc.tagValues);
    assert.deepEqual(values(after_.narrowed), ['/pay']);
    assert.ok(after_.svc.metrics.totalBlocks >= 1);

    const run = promisify(execFile);
    const names = await run(process.execPath, [CLI_PATH, 'tags', '--server', skein.url]);
    assert.match(names.stdout, /^resource:\n {2}deployment\.environment\n {2}service\.name\nspan:\n {2}foo bar\n/);
    const span = await run(process.execPath, [CLI_PATH, 'tags', '--scope', 'span', '--server', skein.url]);
    assert.equal(span.stdout, 'foo bar\nhttp.route\nhttp.status_code\norder.id\npayment.ratio\n');
    const vals = await run(process.execPath, [CLI_PATH, 'tags', '--values', 'span.http.status_code', '--server', skein.url]);
    assert.equal(vals.stdout, '200\t(int)\n402\t(int)\n');
    const spaced = await run(process.execPath, [CLI_PATH, 'tags', '--values', 'span.foo bar', '-q', '{ resource.service.name = "cart" }', '--server', skein.url]);
    assert.equal(spaced.stdout, 'spaced\n');
    const other = await run(process.execPath, [CLI_PATH, 'tags', '--scope', 'span', '--tenant', 'tenant-b', '--server', skein.url]);
    assert.equal(other.stdout, 'secret\n');
    const bad = await run(process.execPath, [CLI_PATH, 'tags', '--scope', 'nope', '--server', skein.url]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 1);
    assert.match((bad as { stderr: string }).stderr, /answered 400: invalid scope "nope"/);
  });
});
