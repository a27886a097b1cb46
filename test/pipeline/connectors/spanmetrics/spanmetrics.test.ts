import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spanMessageSize } from '../../../../src/otlp/trace-encode.js';
import { create, schema, spanMetricsFactory } from '../../../../src/pipeline/connectors/spanmetrics/index.js';
import { capturingLogger, FakeClock, Kind, resource, sampleObject, samples, span, Status, T0, traceId } from '../helpers.js';

const CALLS = 'traces_spanmetrics_calls_total';
const LATENCY = 'traces_spanmetrics_latency';
const SIZE = 'traces_spanmetrics_size_total';

function setup(t: TestContext, raw: Record<string, unknown> = {}, name = 'spanmetrics') {
  const clock = new FakeClock();
  const log = capturingLogger();
  const connector = create(schema.parse(raw), { name, logger: log.logger }, { now: clock.now });
  t.after(() => connector.shutdown());
  return { clock, connector, log };
}

const minute = (n: number) => new Date(T0 + n * 60_000);

// ---- configuration ----------------------------------------------------------

test('factory: the collector type name and defaults', () => {
  assert.equal(spanMetricsFactory.type, 'spanmetrics');
  const c = schema.parse(undefined);
  // Tempo's span-metrics buckets: ExponentialBuckets(0.002, 2, 14).
  assert.deepEqual(c.histogram, {
    disable: false,
    unit: 's',
    explicit: { buckets: [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384] },
  });
  assert.deepEqual(c.dimensions, []);
  assert.equal(c.size_metric, false, 'off: sizing each span costs more than the rest');
  assert.equal(c.max_label_sets, 10_000);
});

test('config: the collector syntax for dimensions and buckets; bare names as in Tempo', () => {
  const c = schema.parse({
    histogram: { explicit: { buckets: ['100us', '1ms', '250ms'] } },
    dimensions: [{ name: 'http.method', default: 'GET' }, { name: 'http.status_code' }, 'k8s.pod.name'],
    exclude_dimensions: ['status.code'],
  });
  assert.deepEqual(c.histogram.explicit.buckets, [0.0001, 0.001, 0.25]);
  assert.deepEqual(c.dimensions, [
    { name: 'http.method', default: 'GET' },
    { name: 'http.status_code' },
    { name: 'k8s.pod.name', default: undefined },
  ]);
});

test('config: identifier dimensions, reserved and clashing labels, and unit ms are refused', () => {
  const messages = (raw: unknown) => {
    const r = schema.safeParse(raw);
    assert.ok(!r.success, JSON.stringify(raw));
    return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.match(messages({ dimensions: [{ name: 'session.id' }] })[0]!, /^dimensions\.0: .*per-request identifier/);
  assert.match(messages({ dimensions: ['trace_id'] })[0]!, /per-request identifier/);
  assert.match(messages({ dimensions: ['span.name'] })[0]!, /label span_name, which is reserved/);
  assert.match(messages({ dimensions: ['tenant'] })[0]!, /reserved/);
  assert.match(messages({ dimensions: ['http.route', 'http_route'] })[0]!, /both become the label http_route/);
  assert.match(messages({ histogram: { unit: 'ms' } })[0]!, /seconds/);
  assert.match(messages({ namespace: 'span.metrics' })[0]!, /^namespace: not supported by Skein/);
  assert.ok(!schema.safeParse({ exclude_dimensions: ['http.method'] }).success);
});

// ---- metrics ----------------------------------------------------------------

test('calls and latency per service, span name, kind and status', async (t) => {
  const { connector } = setup(t);
  const trace = traceId();
  connector.observe('acme', [
    resource('checkout', [
      span({ trace, name: 'POST /cart', kind: Kind.SERVER, ms: 3 }),
      span({ trace, name: 'POST /cart', kind: Kind.SERVER, ms: 5 }),
      span({ trace, name: 'POST /cart', kind: Kind.SERVER, ms: 1_000, status: Status.ERROR }),
      span({ trace, name: 'SELECT', kind: Kind.CLIENT, ms: 1, status: Status.OK }),
    ]),
    resource('worker', [span({ trace, name: 'tick', kind: Kind.INTERNAL, ms: 20_000 })]),
  ]);
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{service="checkout",span_name="POST /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 2,
    'traces_spanmetrics_calls_total{service="checkout",span_name="POST /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"}': 1,
    'traces_spanmetrics_calls_total{service="checkout",span_name="SELECT",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_OK"}': 1,
    'traces_spanmetrics_calls_total{service="worker",span_name="tick",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET"}': 1,
  });
  const latency = await samples(LATENCY);
  const ok = 'service="checkout",span_name="POST /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"';
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${ok},le="0.002"}`), 0);
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${ok},le="0.004"}`), 1);
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${ok},le="0.008"}`), 2);
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${ok},le="16.384"}`), 2);
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${ok},le="+Inf"}`), 2);
  assert.equal(latency.get(`traces_spanmetrics_latency_sum{${ok}}`), 0.008);
  assert.equal(latency.get(`traces_spanmetrics_latency_count{${ok}}`), 2);
  const tick = 'service="worker",span_name="tick",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET"';
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${tick},le="16.384"}`), 0);
  assert.equal(latency.get(`traces_spanmetrics_latency_bucket{${tick},le="+Inf"}`), 1);
  // 14 buckets + +Inf + sum + count per series.
  assert.equal(latency.size, 4 * 17);
});

test('traces_spanmetrics_size_total counts the spans\' encoded bytes', async (t) => {
  const { connector } = setup(t, { size_metric: true });
  const spans = [
    span({ trace: traceId(), name: 'GET', kind: Kind.SERVER, attributes: { 'http.route': '/a', 'http.status_code': 200 } }),
    span({ trace: traceId(), name: 'GET', kind: Kind.SERVER }),
  ];
  connector.observe('acme', [resource('api', spans)]);
  const expected = spanMessageSize(spans[0]!) + spanMessageSize(spans[1]!);
  assert.ok(expected > 100);
  assert.deepEqual(await sampleObject(SIZE), {
    'traces_spanmetrics_size_total{service="api",span_name="GET",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': expected,
  });
});

test('dimensions: resource first, then span, then the default; names sanitized', async (t) => {
  const { connector } = setup(t, {
    dimensions: [{ name: 'http.method', default: 'GET' }, { name: 'deployment.environment' }, '1st-attr'],
  });
  const trace = traceId();
  connector.observe('acme', [
    resource('api', [span({ trace, name: 'op', kind: Kind.SERVER, attributes: { 'http.method': 'POST', 'deployment.environment': 'ignored', '1st-attr': 7 } })], {
      'deployment.environment': 'prod',
    }),
    resource('api', [span({ trace, name: 'op', kind: Kind.SERVER })]),
  ]);
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{service="api",span_name="op",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",http_method="POST",deployment_environment="prod",_1st_attr="7"}': 1,
    'traces_spanmetrics_calls_total{service="api",span_name="op",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",http_method="GET"}': 1,
  });
});

test('exclude_dimensions drops intrinsic labels; histogram.disable drops the latency histogram', async (t) => {
  const { connector } = setup(t, { exclude_dimensions: ['span.name', 'status.code'], histogram: { disable: true } });
  connector.observe('acme', [
    resource('api', [
      span({ trace: traceId(), name: 'a', kind: Kind.SERVER }),
      span({ trace: traceId(), name: 'b', kind: Kind.SERVER, status: Status.ERROR }),
      span({ trace: traceId(), name: 'c', kind: Kind.CLIENT }),
    ]),
  ]);
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{service="api",span_kind="SPAN_KIND_SERVER"}': 2,
    'traces_spanmetrics_calls_total{service="api",span_kind="SPAN_KIND_CLIENT"}': 1,
  });
  assert.deepEqual(await sampleObject(LATENCY), {});
  assert.deepEqual(await sampleObject(SIZE), {});
});

test('a resource without service.name counts under service=""; tenants only with include_tenant_label', async (t) => {
  const { connector } = setup(t, { include_tenant_label: true });
  connector.observe('acme', [resource(undefined, [span({ trace: traceId(), name: 'x', kind: Kind.SERVER })])]);
  connector.observe('globex', [resource('api', [span({ trace: traceId(), name: 'x', kind: Kind.SERVER })])]);
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{tenant="acme",span_name="x",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 1,
    'traces_spanmetrics_calls_total{tenant="globex",service="api",span_name="x",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 1,
  });
});

test('max_label_sets: new label sets fold into __overflow__ (tenant kept), logged once and counted', async (t) => {
  const { connector, log } = setup(t, { max_label_sets: 2, include_tenant_label: true }, 'spanmetrics/capped');
  const spans = ['/a', '/b', '/c', '/d', '/a', '/c'].map((name) => span({ trace: traceId(), name, kind: Kind.SERVER, ms: 1 }));
  connector.observe('acme', [resource('api', spans)]);
  connector.observe('globex', [resource('api', [span({ trace: traceId(), name: '/a', kind: Kind.SERVER })])]);
  const o = '__overflow__';
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{tenant="acme",service="api",span_name="/a",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 2,
    'traces_spanmetrics_calls_total{tenant="acme",service="api",span_name="/b",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 1,
    [`traces_spanmetrics_calls_total{tenant="acme",service="${o}",span_name="${o}",span_kind="${o}",status_code="${o}"}`]: 3,
    [`traces_spanmetrics_calls_total{tenant="globex",service="${o}",span_name="${o}",span_kind="${o}",status_code="${o}"}`]: 1,
  });
  assert.equal((await samples(LATENCY)).get(`traces_spanmetrics_latency_count{tenant="acme",service="${o}",span_name="${o}",span_kind="${o}",status_code="${o}"}`), 3);
  assert.deepEqual(await sampleObject('skein_connector_series_overflow_total'), {
    'skein_connector_series_overflow_total{connector="spanmetrics/capped"}': 4,
  });
  assert.equal(log.lines().filter((l) => l.level === 'warn').length, 1);
});

test('stale series are dropped after metrics_expiration, freeing their label-set budget', async (t) => {
  const { clock, connector } = setup(t, { metrics_expiration: '10m', max_label_sets: 1 });
  connector.observe('acme', [resource('api', [span({ trace: traceId(), name: 'old', kind: Kind.SERVER })])]);
  clock.advance(10 * 60_000 + 1);
  connector.expire();
  connector.observe('acme', [resource('api', [span({ trace: traceId(), name: 'new', kind: Kind.SERVER })])]);
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{service="api",span_name="new",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 1,
  });
});

test('a label set seen again after its series went stale is counted afresh and shown again', async (t) => {
  const { clock, connector } = setup(t, { metrics_expiration: '10m' });
  const observe = () => connector.observe('acme', [resource('api', [span({ trace: traceId(), name: 'GET /', kind: Kind.SERVER })])]);
  observe();
  observe();
  clock.advance(10 * 60_000 + 1);
  connector.expire();
  assert.deepEqual(await sampleObject(CALLS), {});
  observe();
  assert.deepEqual(await sampleObject(CALLS), {
    'traces_spanmetrics_calls_total{service="api",span_name="GET /",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"}': 1,
  });
});

// ---- UI aggregate -----------------------------------------------------------

test('operations(): calls, errors, rate and quantiles per service, span name and kind', (t) => {
  const { clock, connector } = setup(t);
  const spans = [];
  for (let i = 0; i < 50; i++) spans.push(span({ trace: traceId(), name: 'GET /item', kind: Kind.SERVER, ms: i < 49 ? 20 : 2_000, status: i < 5 ? Status.ERROR : Status.UNSET }));
  connector.observe('acme', [resource('api', spans), resource('api', [span({ trace: traceId(), name: 'GET /item', kind: Kind.CLIENT, ms: 5 })])]);
  connector.observe('globex', [resource('web', [span({ trace: traceId(), name: 'render', kind: Kind.INTERNAL })])]);
  clock.advance(60_000);

  const ops = connector.operations(minute(0), minute(1));
  assert.deepEqual(
    ops.map(({ p50Seconds, p99Seconds, ...rest }) => rest),
    [
      { service: 'api', spanName: 'GET /item', spanKind: 'SPAN_KIND_CLIENT', calls: 1, errors: 0, ratePerSecond: 1 / 60 },
      { service: 'api', spanName: 'GET /item', spanKind: 'SPAN_KIND_SERVER', calls: 50, errors: 5, ratePerSecond: 50 / 60 },
      { service: 'web', spanName: 'render', spanKind: 'SPAN_KIND_INTERNAL', calls: 1, errors: 0, ratePerSecond: 1 / 60 },
    ],
  );
  const server = ops[1]!;
  assert.ok(Math.abs(server.p50Seconds! - 0.02) <= 0.002, `p50 ${server.p50Seconds}`);
  assert.equal(server.p99Seconds, 2, 'the slowest span, exactly (clamped to the max seen)');
  assert.deepEqual(
    connector.operations(minute(0), minute(1), ['globex']).map((o) => o.service),
    ['web'],
  );
});
