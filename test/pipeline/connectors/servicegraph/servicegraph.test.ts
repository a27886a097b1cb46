import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { create, schema, serviceGraphFactory, type ServiceGraphConnector } from '../../../../src/pipeline/connectors/servicegraph/index.js';
import { registry } from '../../../../src/telemetry/metrics.js';
import { call, capturingLogger, FakeClock, Kind, resource, sampleObject, samples, span, spanId, Status, T0, traceId } from '../helpers.js';

const TOTAL = 'traces_service_graph_request_total';
const FAILED = 'traces_service_graph_request_failed_total';
const SERVER_SECONDS = 'traces_service_graph_request_server_seconds';
const CLIENT_SECONDS = 'traces_service_graph_request_client_seconds';
const UNPAIRED = 'traces_service_graph_unpaired_spans_total';
const DROPPED = 'traces_service_graph_dropped_spans_total';

function setup(t: TestContext, raw: Record<string, unknown> = {}, name = 'servicegraph') {
  const clock = new FakeClock();
  const log = capturingLogger();
  const connector = create(schema.parse(raw), { name, logger: log.logger }, { now: clock.now });
  t.after(() => connector.shutdown());
  return { clock, connector, log };
}

/** Moves past store.ttl (default 2 s) and sweeps, as the store_expiration_loop timer would. */
function expireAll(clock: FakeClock, connector: ServiceGraphConnector, ms = 2_001): void {
  clock.advance(ms);
  connector.expire();
}

const minute = (n: number) => new Date(T0 + n * 60_000);

// ---- configuration ----------------------------------------------------------

test('factory: the collector type name and defaults', () => {
  assert.equal(serviceGraphFactory.type, 'servicegraph');
  const c = schema.parse(null);
  assert.deepEqual(c.store, { ttl: 2_000, max_items: 1_000 });
  assert.deepEqual(c.virtual_node_peer_attributes, ['peer.service', 'db.name', 'db.system']);
  assert.deepEqual(c.database_name_attributes, ['db.name']);
  // Tempo's service-graph buckets: ExponentialBuckets(0.1, 2, 8).
  assert.deepEqual(c.latency_histogram_buckets, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]);
  assert.equal(c.include_tenant_label, false);
  assert.equal(c.max_label_sets, 10_000);
  assert.equal(c.ui_window_retention, 3_600_000);
  assert.equal(c.store_expiration_loop, 2_000);
});

test('config: collector syntax parses (durations, buckets, dimensions)', () => {
  const c = schema.parse({
    latency_histogram_buckets: ['10ms', '1s', '2s'],
    dimensions: ['k8s.namespace.name'],
    store: { ttl: '1s', max_items: 10 },
    virtual_node_peer_attributes: ['peer.service', 'server.address'],
  });
  assert.deepEqual(c.latency_histogram_buckets, [0.01, 1, 2]);
  assert.deepEqual(c.store, { ttl: 1_000, max_items: 10 });
});

test('config: identifier dimensions are refused with the reason', () => {
  for (const dim of ['trace_id', 'span_id', 'session.id', 'sessionId', 'http.request_id', 'parent_span_id']) {
    const result = schema.safeParse({ dimensions: ['http.route', dim] });
    assert.ok(!result.success, dim);
    const issue = result.error.issues[0]!;
    assert.deepEqual(issue.path, ['dimensions', 1]);
    assert.match(issue.message, /per-request identifier/);
  }
  assert.ok(schema.safeParse({ dimensions: ['span.name', 'http.route', 'session.type'] }).success);
});

test('config: unsupported collector keys name the reason, unknown keys are refused', () => {
  const unsupported = schema.safeParse({ metrics_flush_interval: '15s' });
  assert.ok(!unsupported.success);
  assert.deepEqual(unsupported.error.issues[0]!.path, ['metrics_flush_interval']);
  assert.match(unsupported.error.issues[0]!.message, /not supported by Skein/);
  assert.ok(!schema.safeParse({ stor: { ttl: '1s' } }).success);
  assert.ok(!schema.safeParse({ latency_histogram_buckets: ['1s', '500ms'] }).success, 'buckets must increase');
  assert.ok(!schema.safeParse({ dimensions: ['a.b', 'a_b'] }).success, 'two dimensions, one label');
});

// ---- pairing ----------------------------------------------------------------

test('client and server spans of several services pair into edges, in either arrival order', async (t) => {
  const { connector } = setup(t);
  const a = call('frontend', 'checkout');
  const b = call('frontend', 'checkout');
  const c = call('checkout', 'payment');
  connector.observe('acme', [a.client, c.server]);
  connector.observe('acme', [b.server, b.client]);
  assert.equal(connector.pendingHalfEdges, 2);
  connector.observe('acme', [a.server, c.client]);
  assert.equal(connector.pendingHalfEdges, 0);

  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="frontend",server="checkout"}': 2,
    'traces_service_graph_request_total{client="checkout",server="payment"}': 1,
  });
  assert.deepEqual(await sampleObject(FAILED), {});
  const server = await samples(SERVER_SECONDS);
  assert.equal(server.get('traces_service_graph_request_server_seconds_count{client="frontend",server="checkout"}'), 2);
  assert.equal(server.get('traces_service_graph_request_server_seconds_sum{client="frontend",server="checkout"}'), 0.02);
  assert.equal(server.get('traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="0.1"}'), 2);
  assert.equal(server.get('traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="12.8"}'), 2);
  assert.equal(server.get('traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="+Inf"}'), 2);
  const client = await samples(CLIENT_SECONDS);
  assert.equal(client.get('traces_service_graph_request_client_seconds_sum{client="frontend",server="checkout"}'), 0.024);
});

test('an error on either side fails the request', async (t) => {
  const { connector } = setup(t);
  const clientError = call('web', 'api', { clientStatus: Status.ERROR });
  const serverError = call('web', 'api', { serverStatus: Status.ERROR });
  const both = call('web', 'api', { clientStatus: Status.ERROR, serverStatus: Status.ERROR });
  const fine = call('web', 'api', { clientStatus: Status.OK });
  for (const c of [clientError, serverError, both, fine]) connector.observe('acme', [c.client, c.server]);
  assert.deepEqual(await sampleObject(TOTAL), { 'traces_service_graph_request_total{client="web",server="api"}': 4 });
  assert.deepEqual(await sampleObject(FAILED), { 'traces_service_graph_request_failed_total{client="web",server="api"}': 3 });
});

test('producer and consumer pair as messaging_system', async (t) => {
  const { connector } = setup(t);
  const m = call('orders', 'billing', { kinds: 'messaging' });
  connector.observe('acme', [m.server]);
  connector.observe('acme', [m.client]);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="orders",server="billing",connection_type="messaging_system"}': 1,
  });
});

test('a client span with db.name is a complete database edge at once', async (t) => {
  const { connector } = setup(t);
  const trace = traceId();
  connector.observe('acme', [
    resource('checkout', [span({ trace, kind: Kind.CLIENT, ms: 4, attributes: { 'db.system': 'postgresql', 'db.name': 'orders' } })]),
  ]);
  assert.equal(connector.pendingHalfEdges, 0);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="checkout",server="orders",connection_type="database"}': 1,
  });
  // No server span: the server side is measured by the client's span.
  const server = await samples(SERVER_SECONDS);
  assert.equal(server.get('traces_service_graph_request_server_seconds_sum{client="checkout",server="orders",connection_type="database"}'), 0.004);
});

test('an expired client span with db.system only becomes a database virtual node', async (t) => {
  const { clock, connector } = setup(t);
  connector.observe('acme', [
    resource('checkout', [span({ trace: traceId(), kind: Kind.CLIENT, ms: 3, attributes: { 'db.system': 'redis' } })]),
    resource('checkout', [span({ trace: traceId(), kind: Kind.CLIENT, attributes: { 'db.system': 'postgresql', 'peer.service': 'pg-main' } })]),
  ]);
  assert.equal(connector.pendingHalfEdges, 2);
  clock.advance(1_999);
  connector.expire();
  assert.equal(connector.pendingHalfEdges, 2, 'not before store.ttl');
  expireAll(clock, connector, 1);
  assert.equal(connector.pendingHalfEdges, 0);
  assert.deepEqual(await sampleObject(TOTAL), {
    // peer.service comes first in virtual_node_peer_attributes.
    'traces_service_graph_request_total{client="checkout",server="redis",connection_type="database"}': 1,
    'traces_service_graph_request_total{client="checkout",server="pg-main",connection_type="database"}': 1,
  });
  assert.deepEqual(await sampleObject(UNPAIRED), {});
});

test('an expired client span with a peer attribute calls a virtual node; one without is unpaired', async (t) => {
  const { clock, connector } = setup(t, { virtual_node_peer_attributes: ['peer.service', 'server.address'] });
  connector.observe('acme', [
    resource('checkout', [
      span({ trace: traceId(), kind: Kind.CLIENT, status: Status.ERROR, attributes: { 'server.address': 'api.stripe.com' } }),
      span({ trace: traceId(), kind: Kind.CLIENT, attributes: { 'http.method': 'GET' } }),
    ]),
  ]);
  expireAll(clock, connector);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="checkout",server="api.stripe.com",connection_type="virtual_node"}': 1,
  });
  assert.deepEqual(await sampleObject(FAILED), {
    'traces_service_graph_request_failed_total{client="checkout",server="api.stripe.com",connection_type="virtual_node"}': 1,
  });
  assert.deepEqual(await sampleObject(UNPAIRED), { 'traces_service_graph_unpaired_spans_total{client="checkout"}': 1 });
});

test('an expired root server span was called by user; a non-root one is unpaired', async (t) => {
  const { clock, connector } = setup(t);
  connector.observe('acme', [
    resource('frontend', [span({ trace: traceId(), kind: Kind.SERVER, ms: 30 })]),
    resource('api', [span({ trace: traceId(), parent: spanId(), kind: Kind.SERVER })]),
  ]);
  expireAll(clock, connector);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="user",server="frontend",connection_type="virtual_node"}': 1,
  });
  assert.deepEqual(await sampleObject(UNPAIRED), { 'traces_service_graph_unpaired_spans_total{server="api"}': 1 });
  const client = await samples(CLIENT_SECONDS);
  assert.equal(client.get('traces_service_graph_request_client_seconds_sum{client="user",server="frontend",connection_type="virtual_node"}'), 0.03);
});

test('a server span arriving after its client expired does not pair', async (t) => {
  const { clock, connector } = setup(t);
  const late = call('web', 'api');
  connector.observe('acme', [late.client]);
  expireAll(clock, connector);
  connector.observe('acme', [late.server]);
  expireAll(clock, connector);
  assert.deepEqual(await sampleObject(TOTAL), {});
  assert.deepEqual(await sampleObject(UNPAIRED), {
    'traces_service_graph_unpaired_spans_total{client="web"}': 1,
    'traces_service_graph_unpaired_spans_total{server="api"}': 1,
  });
});

test('max_items: a full store drops new spans until its oldest half-edge has expired', async (t) => {
  const { clock, connector } = setup(t, { store: { ttl: '1s', max_items: 2 } });
  const calls = [call('a', 'b'), call('a', 'c'), call('a', 'd'), call('a', 'e')];
  connector.observe('acme', [calls[0]!.client, calls[1]!.client, calls[2]!.client]);
  assert.equal(connector.pendingHalfEdges, 2);
  assert.deepEqual(await sampleObject(DROPPED), { 'traces_service_graph_dropped_spans_total{client="a"}': 1 });
  // The dropped client's server arrives: its half-edge cannot be stored either.
  connector.observe('acme', [calls[2]!.server]);
  assert.deepEqual(await sampleObject(DROPPED), {
    'traces_service_graph_dropped_spans_total{client="a"}': 1,
    'traces_service_graph_dropped_spans_total{server="d"}': 1,
  });
  // Pairs still complete while full.
  connector.observe('acme', [calls[0]!.server]);
  assert.equal(connector.pendingHalfEdges, 1);
  connector.observe('acme', [calls[3]!.client]);
  assert.equal(connector.pendingHalfEdges, 2);

  // Once the oldest has expired, a new span evicts it (counted as unpaired) instead of being dropped.
  clock.advance(1_001);
  connector.observe('acme', [call('x', 'y').client]);
  assert.equal(connector.pendingHalfEdges, 2);
  assert.deepEqual(await sampleObject(UNPAIRED), { 'traces_service_graph_unpaired_spans_total{client="a"}': 1 });
  assert.deepEqual(await sampleObject(TOTAL), { 'traces_service_graph_request_total{client="a",server="b"}': 1 });
});

test('spans of a resource without service.name are ignored', async (t) => {
  const { connector } = setup(t);
  const c = call('web', 'api');
  connector.observe('acme', [resource(undefined, c.client.scopeSpans[0]!.spans), c.server]);
  assert.equal(connector.pendingHalfEdges, 1);
  assert.deepEqual(await sampleObject(TOTAL), {});
});

// ---- labels -----------------------------------------------------------------

test('dimensions become client_ and server_ labels, resource attributes first', async (t) => {
  const { connector } = setup(t, { dimensions: ['deployment.environment', 'http.method'] });
  const trace = traceId();
  const clientId = spanId();
  connector.observe('acme', [
    resource('web', [span({ trace, id: clientId, kind: Kind.CLIENT, attributes: { 'http.method': 'POST', 'deployment.environment': 'ignored' } })], {
      'deployment.environment': 'prod',
    }),
    resource('api', [span({ trace, parent: clientId, kind: Kind.SERVER, attributes: { 'http.method': 'POST' } })]),
  ]);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="web",server="api",client_deployment_environment="prod",client_http_method="POST",server_http_method="POST"}': 1,
  });
});

test('virtual_node_extra_label marks which side is virtual', async (t) => {
  const { clock, connector } = setup(t, { virtual_node_extra_label: true });
  const c = call('web', 'api');
  connector.observe('acme', [c.client, c.server, resource('web', [span({ trace: traceId(), kind: Kind.CLIENT, attributes: { 'peer.service': 'cdn' } })])]);
  expireAll(clock, connector);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="web",server="api"}': 1,
    'traces_service_graph_request_total{client="web",server="cdn",connection_type="virtual_node",virtual_node="server"}': 1,
  });
});

test('tenants share series unless include_tenant_label is on', async (t) => {
  const shared = setup(t);
  for (const tenant of ['acme', 'globex']) {
    const c = call('web', 'api');
    shared.connector.observe(tenant, [c.client, c.server]);
  }
  assert.deepEqual(await sampleObject(TOTAL), { 'traces_service_graph_request_total{client="web",server="api"}': 2 });
  await shared.connector.shutdown();

  const labelled = setup(t, { include_tenant_label: true });
  for (const tenant of ['acme', 'globex', 'globex']) {
    const c = call('web', 'api');
    labelled.connector.observe(tenant, [c.client, c.server]);
  }
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{tenant="acme",client="web",server="api"}': 1,
    'traces_service_graph_request_total{tenant="globex",client="web",server="api"}': 2,
  });
});

test('the same trace and span IDs in two tenants do not pair across them', async (t) => {
  const { connector } = setup(t, { include_tenant_label: true });
  const c = call('web', 'api');
  connector.observe('acme', [c.client]);
  connector.observe('globex', [c.server]);
  assert.equal(connector.pendingHalfEdges, 2);
  assert.deepEqual(await sampleObject(TOTAL), {});
});

test('max_label_sets folds new edges into one __overflow__ series, logged once and counted', async (t) => {
  const { connector, log } = setup(t, { max_label_sets: 2 }, 'servicegraph/capped');
  for (const server of ['a', 'b', 'c', 'd', 'c', 'a']) {
    const c = call('web', server, { serverStatus: server === 'd' ? Status.ERROR : Status.UNSET });
    connector.observe('acme', [c.client, c.server]);
  }
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="web",server="a"}': 2,
    'traces_service_graph_request_total{client="web",server="b"}': 1,
    'traces_service_graph_request_total{client="__overflow__",server="__overflow__",connection_type="__overflow__"}': 3,
  });
  assert.deepEqual(await sampleObject(FAILED), {
    'traces_service_graph_request_failed_total{client="__overflow__",server="__overflow__",connection_type="__overflow__"}': 1,
  });
  assert.deepEqual(await sampleObject('skein_connector_series_overflow_total'), {
    'skein_connector_series_overflow_total{connector="servicegraph/capped"}': 3,
  });
  const warnings = log.lines().filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.connector, 'servicegraph/capped');
  assert.match(String(warnings[0]!.msg), /max_label_sets/);
});

test('series not observed for metrics_expiration are dropped', async (t) => {
  const { clock, connector } = setup(t, { metrics_expiration: '5m' });
  const old = call('web', 'old');
  connector.observe('acme', [old.client, old.server]);
  clock.advance(4 * 60_000);
  const fresh = call('web', 'fresh');
  connector.observe('acme', [fresh.client, fresh.server]);
  clock.advance(60_001);
  connector.expire();
  assert.deepEqual(await sampleObject(TOTAL), { 'traces_service_graph_request_total{client="web",server="fresh"}': 1 });
});

test('two instances publish on one family; shutdown takes an instance off the registry', async (t) => {
  const one = setup(t, {}, 'servicegraph');
  const two = setup(t, { dimensions: ['region'] }, 'servicegraph/two');
  const a = call('web', 'api');
  one.connector.observe('acme', [a.client, a.server]);
  const b = call('web', 'api');
  two.connector.observe('acme', [b.client, b.server]);
  assert.deepEqual(await sampleObject(TOTAL), {
    'traces_service_graph_request_total{client="web",server="api"}': 2,
  });
  await two.connector.shutdown();
  assert.deepEqual(await sampleObject(TOTAL), { 'traces_service_graph_request_total{client="web",server="api"}': 1 });
  registry.getSingleMetric(TOTAL)!.reset();
  assert.deepEqual(await sampleObject(TOTAL), {});
});

test('the /metrics text carries the families with HELP and TYPE', async (t) => {
  const { connector } = setup(t);
  const c = call('web', 'api');
  connector.observe('acme', [c.client, c.server]);
  const text = await registry.metrics();
  assert.match(text, /^# TYPE traces_service_graph_request_total counter$/m);
  assert.match(text, /^# HELP traces_service_graph_request_server_seconds .+$/m);
  assert.match(text, /^# TYPE traces_service_graph_request_server_seconds histogram$/m);
  assert.match(text, /^traces_service_graph_request_server_seconds_bucket\{client="web",server="api",le="0\.1"\} 1$/m);
  assert.match(text, /^traces_service_graph_request_client_seconds_count\{client="web",server="api"\} 1$/m);
});

// ---- UI aggregate -----------------------------------------------------------

test('edges(): counts, failures, rate and latency quantiles over a range', (t) => {
  const { clock, connector } = setup(t);
  clock.advance(30_000);
  for (let i = 0; i < 100; i++) {
    const c = call('web', 'api', { serverMs: i < 98 ? 10 : 900, serverStatus: i % 10 === 0 ? Status.ERROR : Status.UNSET });
    connector.observe('acme', [c.client, c.server]);
  }
  const db = resource('api', [span({ trace: traceId(), kind: Kind.CLIENT, ms: 2, attributes: { 'db.name': 'users' } })]);
  connector.observe('globex', [db]);
  clock.advance(90_000); // now = T0 + 2 min

  const edges = connector.edges(minute(0), minute(2));
  assert.deepEqual(
    edges.map(({ p50Seconds, p99Seconds, ...rest }) => rest),
    [
      { client: 'api', server: 'users', connectionType: 'database', requests: 1, failed: 0, ratePerSecond: 1 / 120 },
      { client: 'web', server: 'api', connectionType: '', requests: 100, failed: 10, ratePerSecond: 100 / 120 },
    ],
  );
  const web = edges[1]!;
  assert.ok(Math.abs(web.p50Seconds! - 0.01) <= 0.001, `p50 ${web.p50Seconds}`);
  assert.ok(Math.abs(web.p99Seconds! - 0.9) <= 0.09, `p99 ${web.p99Seconds}`);
  assert.equal(edges[0]!.p50Seconds, 0.002);

  assert.deepEqual(
    connector.edges(minute(0), minute(2), ['globex']).map((e) => e.server),
    ['users'],
  );
  assert.deepEqual(connector.edges(minute(1), minute(2)), [], 'the minute after the traffic');
  assert.deepEqual(JSON.parse(JSON.stringify(edges)), edges, 'JSON-ready');
});

test('nodes(): services with the requests they handled; virtual nodes marked', (t) => {
  const { clock, connector } = setup(t);
  for (let i = 0; i < 3; i++) {
    const c = call('web', 'api', { serverStatus: i === 0 ? Status.ERROR : Status.UNSET });
    connector.observe('acme', [c.client, c.server]);
  }
  connector.observe('acme', [
    resource('web', [span({ trace: traceId(), kind: Kind.SERVER })]),
    resource('api', [span({ trace: traceId(), kind: Kind.CLIENT, attributes: { 'db.name': 'users' } })]),
  ]);
  expireAll(clock, connector);
  const nodes = connector.nodes(minute(0), minute(1));
  assert.deepEqual(
    nodes.map((n) => [n.name, n.virtual, n.requests, n.failed]),
    [
      ['api', false, 3, 1],
      ['user', true, 0, 0],
      ['users', true, 1, 0],
      ['web', false, 1, 0],
    ],
  );
  assert.equal(nodes.find((n) => n.name === 'user')!.p50Seconds, null);
});

test('the UI window forgets buckets older than ui_window_retention', (t) => {
  const { clock, connector } = setup(t, { ui_window_retention: '10m', ui_window_resolution: '1m' });
  const first = call('web', 'api');
  connector.observe('acme', [first.client, first.server]);
  clock.advance(5 * 60_000);
  const second = call('web', 'api');
  connector.observe('acme', [second.client, second.server]);
  assert.equal(connector.edges(minute(0), minute(6))[0]!.requests, 2);
  clock.advance(6 * 60_000); // T0 + 11 min: minute 0 is out of the 10-minute ring
  assert.equal(connector.edges(minute(0), minute(11))[0]!.requests, 1);
  // A write into a reused slot starts it afresh.
  const third = call('web', 'api');
  connector.observe('acme', [third.client, third.server]);
  assert.equal(connector.edges(minute(0), minute(12))[0]!.requests, 2);
});
