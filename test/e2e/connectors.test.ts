// The servicegraph and spanmetrics connectors, on by default, seen from
// outside: five services instrumented with the OpenTelemetry JS SDK (each its
// own tracer provider, resource and exporter, W3C trace context carried between
// them) send a known number of requests through a known topology to a running
// Skein, and /metrics, /api/skein/service-graph and /api/skein/operations report
// exactly those edges, counts, failures, connection types and latencies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { eventually } from '../helpers/poll.js';

/** Requests sent through the topology. */
const N = 8;
/** Payments requests whose server span fails, and those whose client span fails (a failed edge either way). */
const serverFails = (i: number) => i % 4 === 0;
const clientFails = (i: number) => i % 4 === 1;
const FAILED_PAYMENTS = Array.from({ length: N }, (_, i) => i).filter((i) => serverFails(i) || clientFails(i)).length;
const DEADLINE_MS = 60_000;

// Span durations in seconds, chosen away from every bucket bound of both
// connectors so each histogram has one known bucket where the counts land.
const D = {
  frontendServer: 1.0,
  frontendClient: 0.9,
  checkoutServer: 0.5,
  paymentsClient: 0.35,
  paymentsServer: 0.15,
  dbClient: 0.05,
  producer: 0.03,
  consumer: 0.12,
  fraudClient: 0.08,
};

const propagator = new W3CTraceContextPropagator();

interface Service {
  name: string;
  provider: BasicTracerProvider;
  tracer: Tracer;
  sent: InMemorySpanExporter;
}

let skein: SkeinProcess;
let services: Service[] = [];
/** Unix seconds just before the first span was sent, and just after the last one. */
let sentFrom = 0;
let sentTo = 0;
/** Every trace and span ID sent, in hex. */
const sentIds = new Set<string>();

function serviceOf(name: string, exporter: SpanExporter): Service {
  const sent = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name, 'deployment.environment': 'e2e' }),
    // A long delay: every span leaves in the one export forceFlush starts.
    spanProcessors: [new SimpleSpanProcessor(sent), new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, maxExportBatchSize: 10_000, maxQueueSize: 10_000 })],
  });
  const service = { name, provider, tracer: provider.getTracer('connectors-e2e', '1.0.0'), sent };
  services.push(service);
  return service;
}

/** What a client puts on the wire: the W3C traceparent of its span. */
function headersFor(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier;
}

/** What a server reads from the wire: the caller's context. */
function extracted(headers: Record<string, string>): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** Starts a span at `startMs` (epoch ms) that ends `seconds` later. */
function timed(tracer: Tracer, name: string, kind: SpanKind, parent: Context, startMs: number, attributes: Record<string, string> = {}): { span: Span; end: (seconds: number) => void } {
  const span = tracer.startSpan(name, { kind, startTime: startMs, attributes }, parent);
  return { span, end: (seconds) => span.end(startMs + seconds * 1000) };
}

/**
 * One request: user → frontend → checkout, and from checkout a gRPC call to
 * payments, a query to an uninstrumented PostgreSQL, an order on Kafka that
 * shipping consumes, and a call to an uninstrumented fraud-check service.
 */
function request(i: number, t0: number, s: Record<'frontend' | 'checkout' | 'payments' | 'shipping', Service>): void {
  const root = timed(s.frontend.tracer, 'GET /checkout', SpanKind.SERVER, ROOT_CONTEXT, t0, { 'http.request.method': 'GET', 'url.path': '/checkout' });
  root.span.setStatus({ code: SpanStatusCode.OK });
  const toCheckout = timed(s.frontend.tracer, 'POST /api/checkout', SpanKind.CLIENT, trace.setSpan(ROOT_CONTEXT, root.span), t0 + 10, {
    'http.request.method': 'POST',
    'server.address': 'checkout',
  });

  const checkout = timed(s.checkout.tracer, 'POST /api/checkout', SpanKind.SERVER, extracted(headersFor(toCheckout.span)), t0 + 20, { 'http.route': '/api/checkout' });
  const inCheckout = trace.setSpan(ROOT_CONTEXT, checkout.span);

  const toPayments = timed(s.checkout.tracer, 'payments.Payments/Charge', SpanKind.CLIENT, inCheckout, t0 + 30, { 'rpc.system': 'grpc', 'rpc.service': 'payments.Payments' });
  const payments = timed(s.payments.tracer, 'payments.Payments/Charge', SpanKind.SERVER, extracted(headersFor(toPayments.span)), t0 + 40, { 'rpc.system': 'grpc' });
  if (serverFails(i)) payments.span.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  if (clientFails(i)) toPayments.span.setStatus({ code: SpanStatusCode.ERROR, message: 'deadline exceeded' });
  payments.end(D.paymentsServer);
  toPayments.end(D.paymentsClient);

  // No db.name: the database is named by db.system once the span expires unpaired.
  timed(s.checkout.tracer, 'SELECT orders', SpanKind.CLIENT, inCheckout, t0 + 400, { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM orders WHERE id = $1' }).end(D.dbClient);

  const publish = timed(s.checkout.tracer, 'orders publish', SpanKind.PRODUCER, inCheckout, t0 + 460, { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' });
  const message = headersFor(publish.span);
  publish.end(D.producer);
  timed(s.shipping.tracer, 'orders process', SpanKind.CONSUMER, extracted(message), t0 + 500, { 'messaging.system': 'kafka' }).end(D.consumer);

  timed(s.checkout.tracer, 'POST /score', SpanKind.CLIENT, inCheckout, t0 + 420, { 'peer.service': 'fraud-check', 'http.request.method': 'POST' }).end(D.fraudClient);

  checkout.end(D.checkoutServer);
  toCheckout.end(D.frontendClient);
  root.end(D.frontendServer);
}

before(async () => {
  // Everything but the ttl at its defaults (the connectors are not named):
  // a generous ttl keeps a loaded CI machine from splitting a pair.
  skein = await startSkein({ configYaml: 'connectors:\n  servicegraph:\n    store:\n      ttl: 5s\n    store_expiration_loop: 500ms\n' });
  const s = {
    frontend: serviceOf('frontend', new GrpcExporter({ url: `http://${skein.grpcAddr}` })),
    checkout: serviceOf('checkout', new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` })),
    payments: serviceOf('payments', new JsonExporter({ url: `${skein.otlpHttpUrl}/v1/traces` })),
    shipping: serviceOf('shipping', new GrpcExporter({ url: `http://${skein.grpcAddr}` })),
  };
  sentFrom = Math.floor(Date.now() / 1000);
  const base = Date.now() - 5_000;
  for (let i = 0; i < N; i++) request(i, base + i * 10, s);
  for (const service of services) {
    for (const span of service.sent.getFinishedSpans()) {
      sentIds.add(span.spanContext().traceId);
      sentIds.add(span.spanContext().spanId);
    }
  }
  await Promise.all(services.map((svc) => svc.provider.forceFlush()));
  sentTo = Math.floor(Date.now() / 1000);
});

after(async () => {
  await Promise.all(services.map((svc) => svc.provider.shutdown()));
  await skein?.stop();
});

// --- Prometheus text ---

interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;

function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    assert.ok(m, `unparseable /metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL_RE)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(): Promise<{ text: string; samples: PromSample[] }> {
  const res = await fetch(`${skein.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, samples: parsePrometheus(text) };
}

/** The samples of one metric, keyed by the chosen labels (`|`-joined, an absent label as ''). */
function byLabels(samples: PromSample[], name: string, keys: string[], extra: (s: PromSample) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name || !extra(s)) continue;
    const key = keys.map((k) => s.labels[k] ?? '').join('|');
    assert.ok(!out.has(key), `${name} has two series for ${key}`);
    out.set(key, s.value);
  }
  return out;
}

// --- What the topology must produce ---

interface ExpectedEdge {
  client: string;
  server: string;
  connectionType: '' | 'messaging_system' | 'database' | 'virtual_node';
  failed: number;
  clientSeconds: number;
  serverSeconds: number;
}

const EDGES: ExpectedEdge[] = [
  // A virtual side takes the latency of the side that was seen.
  { client: 'checkout', server: 'fraud-check', connectionType: 'virtual_node', failed: 0, clientSeconds: D.fraudClient, serverSeconds: D.fraudClient },
  { client: 'checkout', server: 'payments', connectionType: '', failed: FAILED_PAYMENTS, clientSeconds: D.paymentsClient, serverSeconds: D.paymentsServer },
  { client: 'checkout', server: 'postgresql', connectionType: 'database', failed: 0, clientSeconds: D.dbClient, serverSeconds: D.dbClient },
  { client: 'checkout', server: 'shipping', connectionType: 'messaging_system', failed: 0, clientSeconds: D.producer, serverSeconds: D.consumer },
  { client: 'frontend', server: 'checkout', connectionType: '', failed: 0, clientSeconds: D.frontendClient, serverSeconds: D.checkoutServer },
  { client: 'user', server: 'frontend', connectionType: 'virtual_node', failed: 0, clientSeconds: D.frontendServer, serverSeconds: D.frontendServer },
];

interface ExpectedOperation {
  service: string;
  spanName: string;
  kind: 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  /** Calls per status code. */
  statuses: Partial<Record<'STATUS_CODE_UNSET' | 'STATUS_CODE_OK' | 'STATUS_CODE_ERROR', number>>;
  seconds: number;
}

const ERRORS_ON = (fails: (i: number) => boolean) => Array.from({ length: N }, (_, i) => i).filter(fails).length;

const OPERATIONS: ExpectedOperation[] = [
  { service: 'checkout', spanName: 'POST /api/checkout', kind: 'SERVER', statuses: { STATUS_CODE_UNSET: N }, seconds: D.checkoutServer },
  { service: 'checkout', spanName: 'POST /score', kind: 'CLIENT', statuses: { STATUS_CODE_UNSET: N }, seconds: D.fraudClient },
  { service: 'checkout', spanName: 'SELECT orders', kind: 'CLIENT', statuses: { STATUS_CODE_UNSET: N }, seconds: D.dbClient },
  { service: 'checkout', spanName: 'orders publish', kind: 'PRODUCER', statuses: { STATUS_CODE_UNSET: N }, seconds: D.producer },
  {
    service: 'checkout',
    spanName: 'payments.Payments/Charge',
    kind: 'CLIENT',
    statuses: { STATUS_CODE_UNSET: N - ERRORS_ON(clientFails), STATUS_CODE_ERROR: ERRORS_ON(clientFails) },
    seconds: D.paymentsClient,
  },
  { service: 'frontend', spanName: 'GET /checkout', kind: 'SERVER', statuses: { STATUS_CODE_OK: N }, seconds: D.frontendServer },
  { service: 'frontend', spanName: 'POST /api/checkout', kind: 'CLIENT', statuses: { STATUS_CODE_UNSET: N }, seconds: D.frontendClient },
  {
    service: 'payments',
    spanName: 'payments.Payments/Charge',
    kind: 'SERVER',
    statuses: { STATUS_CODE_UNSET: N - ERRORS_ON(serverFails), STATUS_CODE_ERROR: ERRORS_ON(serverFails) },
    seconds: D.paymentsServer,
  },
  { service: 'shipping', spanName: 'orders process', kind: 'CONSUMER', statuses: { STATUS_CODE_UNSET: N }, seconds: D.consumer },
];

const edgeKey = (e: { client: string; server: string; connectionType?: string; connection_type?: string }) =>
  `${e.client}|${e.server}|${e.connectionType ?? e.connection_type ?? ''}`;

/** The request counts the service graph must reach. */
const EXPECTED_REQUESTS = new Map(EDGES.map((e) => [edgeKey(e), N]));

/** Polls /metrics until the service graph has every expected edge at its final count (virtual edges wait for the ttl). */
async function settledScrape(): Promise<{ text: string; samples: PromSample[] }> {
  return eventually(
    async () => {
      const scraped = await scrape();
      const requests = byLabels(scraped.samples, 'traces_service_graph_request_total', ['client', 'server', 'connection_type']);
      return [...EXPECTED_REQUESTS].every(([key, n]) => (requests.get(key) ?? 0) >= n) ? { done: true, value: scraped } : { done: false, seen: [...requests] };
    },
    (seen) => `the service graph did not reach ${JSON.stringify([...EXPECTED_REQUESTS])} within ${DEADLINE_MS} ms; it has ${JSON.stringify(seen)}`,
    { timeoutMs: DEADLINE_MS },
  );
}

/** For a histogram whose every observation is `seconds`: N in each bucket at or above it, 0 below. */
function assertHistogram(samples: PromSample[], name: string, match: (labels: Record<string, string>) => boolean, count: number, seconds: number, what: string): void {
  const mine = samples.filter((s) => match(s.labels));
  const buckets = mine.filter((s) => s.name === `${name}_bucket`);
  assert.ok(buckets.length > 1, `${what}: ${name}_bucket has buckets`);
  for (const b of buckets) {
    const le = b.labels['le']!;
    const expected = le === '+Inf' || Number(le) >= seconds ? count : 0;
    assert.equal(b.value, expected, `${what}: ${name}_bucket{le="${le}"} for observations of ${seconds} s`);
  }
  assert.equal(mine.find((s) => s.name === `${name}_count`)?.value, count, `${what}: ${name}_count`);
  const sum = mine.find((s) => s.name === `${name}_sum`)?.value;
  assert.ok(sum !== undefined && Math.abs(sum - count * seconds) < count * 0.002, `${what}: ${name}_sum ${sum}, expected about ${count * seconds}`);
}

describe('servicegraph and spanmetrics connectors, end to end', () => {
  test('/metrics: service-graph edges with request, failed and latency figures under Tempo names', async () => {
    const { samples } = await settledScrape();
    const labels = ['client', 'server', 'connection_type'];
    const requests = byLabels(samples, 'traces_service_graph_request_total', labels);
    assert.deepEqual(Object.fromEntries(requests), Object.fromEntries(EXPECTED_REQUESTS), 'exactly the topology, every request counted once');
    const failed = byLabels(samples, 'traces_service_graph_request_failed_total', labels);
    assert.deepEqual(
      Object.fromEntries(failed),
      Object.fromEntries(EDGES.filter((e) => e.failed > 0).map((e) => [edgeKey(e), e.failed])),
      'a request failed when either side had status ERROR',
    );
    for (const e of EDGES) {
      const isEdge = (l: Record<string, string>) => l['client'] === e.client && l['server'] === e.server && (l['connection_type'] ?? '') === e.connectionType;
      assertHistogram(samples, 'traces_service_graph_request_server_seconds', isEdge, N, e.serverSeconds, `${e.client} → ${e.server}`);
      assertHistogram(samples, 'traces_service_graph_request_client_seconds', isEdge, N, e.clientSeconds, `${e.client} → ${e.server}`);
    }
    assert.deepEqual(
      samples.filter((s) => s.name === 'traces_service_graph_unpaired_spans_total' || s.name === 'traces_service_graph_dropped_spans_total'),
      [],
      'every half-edge was paired or stood for a named peer',
    );
  });

  test('/metrics: span metrics per service, span name, kind and status, with latency histograms', async () => {
    const { samples } = await settledScrape();
    const keys = ['service', 'span_name', 'span_kind', 'status_code'];
    const expected = new Map<string, number>();
    for (const op of OPERATIONS) {
      for (const [status, n] of Object.entries(op.statuses)) expected.set(`${op.service}|${op.spanName}|SPAN_KIND_${op.kind}|${status}`, n);
    }
    const calls = byLabels(samples, 'traces_spanmetrics_calls_total', keys);
    assert.deepEqual(Object.fromEntries(calls), Object.fromEntries(expected));
    for (const op of OPERATIONS) {
      for (const [status, n] of Object.entries(op.statuses)) {
        const match = (l: Record<string, string>) =>
          l['service'] === op.service && l['span_name'] === op.spanName && l['span_kind'] === `SPAN_KIND_${op.kind}` && l['status_code'] === status;
        assertHistogram(samples, 'traces_spanmetrics_latency', match, n, op.seconds, `${op.service} ${op.spanName} ${status}`);
      }
    }
  });

  test('/metrics: no trace or span ID is ever a label', async () => {
    const { samples } = await settledScrape();
    assert.ok(sentIds.size > 2 * N);
    for (const s of samples) {
      if (!s.name.startsWith('traces_')) continue;
      for (const [name, value] of Object.entries(s.labels)) {
        assert.doesNotMatch(name, /trace.?id|span.?id/i, `${s.name} has an ID label`);
        assert.ok(!sentIds.has(value.toLowerCase()), `${s.name}{${name}="${value}"} is a trace or span ID`);
      }
    }
  });

  test('GET /api/skein/service-graph: the same edges and nodes', async () => {
    await settledScrape();
    const res = await fetch(`${skein.url}/api/skein/service-graph`);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as {
      start: number;
      end: number;
      nodes: Array<{ name: string; virtual: boolean; requests: number; failed: number; p50Seconds: number | null; p99Seconds: number | null; ratePerSecond: number }>;
      edges: Array<{ client: string; server: string; connectionType: string; requests: number; failed: number; p50Seconds: number | null; p99Seconds: number | null; ratePerSecond: number }>;
    };
    assert.equal(body.end - body.start, 3600, 'the default range is the last hour');
    assert.ok(body.end >= sentTo);
    assert.deepEqual(
      body.edges.map((e) => ({ key: edgeKey(e), requests: e.requests, failed: e.failed })),
      EDGES.map((e) => ({ key: edgeKey(e), requests: N, failed: e.failed })),
    );
    for (const e of body.edges) {
      const want = EDGES.find((x) => edgeKey(x) === edgeKey(e))!;
      // The UI shows the server side's latency, as an estimate within 10 %.
      for (const q of [e.p50Seconds, e.p99Seconds]) {
        assert.ok(q !== null && Math.abs(q - want.serverSeconds) <= want.serverSeconds * 0.1 + 0.001, `${edgeKey(e)}: ${q} vs ${want.serverSeconds}`);
      }
      assert.ok(e.ratePerSecond > 0);
    }
    assert.deepEqual(
      body.nodes.map((n) => ({ name: n.name, virtual: n.virtual, requests: n.requests, failed: n.failed })),
      [
        { name: 'checkout', virtual: false, requests: N, failed: 0 },
        { name: 'fraud-check', virtual: true, requests: N, failed: 0 },
        { name: 'frontend', virtual: false, requests: N, failed: 0 },
        { name: 'payments', virtual: false, requests: N, failed: FAILED_PAYMENTS },
        { name: 'postgresql', virtual: true, requests: N, failed: 0 },
        { name: 'shipping', virtual: false, requests: N, failed: 0 },
        { name: 'user', virtual: true, requests: 0, failed: 0 },
      ],
    );
  });

  test('GET /api/skein/operations: every operation with its calls and errors', async () => {
    await settledScrape();
    const res = await fetch(`${skein.url}/api/skein/operations`);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as {
      start: number;
      end: number;
      operations: Array<{ service: string; spanName: string; spanKind: string; calls: number; errors: number; p50Seconds: number | null; p99Seconds: number | null; ratePerSecond: number }>;
    };
    assert.deepEqual(
      body.operations.map((o) => ({ service: o.service, spanName: o.spanName, spanKind: o.spanKind, calls: o.calls, errors: o.errors })),
      OPERATIONS.map((o) => ({ service: o.service, spanName: o.spanName, spanKind: `SPAN_KIND_${o.kind}`, calls: N, errors: o.statuses.STATUS_CODE_ERROR ?? 0 })),
    );
    for (const o of body.operations) {
      const want = OPERATIONS.find((x) => x.service === o.service && x.spanName === o.spanName)!;
      assert.ok(o.p50Seconds !== null && Math.abs(o.p50Seconds - want.seconds) <= want.seconds * 0.1 + 0.001, `${o.service} ${o.spanName}: p50 ${o.p50Seconds}`);
    }
  });

  test('start and end are honoured, echoed, and checked', async () => {
    await settledScrape();
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${skein.url}${path}`, { headers });
    const before = `start=${sentFrom - 600}&end=${sentFrom - 60}`;
    for (const path of [`/api/skein/service-graph?${before}`, `/api/skein/operations?${before}`]) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body['start'], sentFrom - 600, `${path}: start echoed`);
      assert.equal(body['end'], sentFrom - 60, `${path}: end echoed`);
      for (const list of ['nodes', 'edges', 'operations']) {
        if (list in body) assert.deepEqual(body[list], [], `${path}: nothing before the data was sent`);
      }
    }

    // A range that holds the data (the edges are counted when paired, which may be a ttl after sending).
    const around = `start=${sentFrom - 60}&end=${Math.floor(Date.now() / 1000)}`;
    const graph = (await (await get(`/api/skein/service-graph?${around}`)).json()) as { edges: Array<{ requests: number }> };
    assert.equal(graph.edges.length, EDGES.length);
    assert.ok(graph.edges.every((e) => e.requests === N));
    const ops = (await (await get(`/api/skein/operations?${around}`)).json()) as { operations: Array<{ calls: number }> };
    assert.equal(ops.operations.length, OPERATIONS.length);

    // Another tenant sent nothing.
    const other = (await (await get('/api/skein/service-graph', { 'x-scope-orgid': 'someone-else' })).json()) as { nodes: unknown[]; edges: unknown[] };
    assert.deepEqual([other.nodes, other.edges], [[], []]);

    for (const route of ['/api/skein/service-graph', '/api/skein/operations']) {
      const badStart = await get(`${route}?start=yesterday`);
      assert.equal(badStart.status, 400, `${route}?start=yesterday`);
      assert.match(await badStart.text(), /start "yesterday"/);
      const badEnd = await get(`${route}?end=-5`);
      assert.equal(badEnd.status, 400);
      assert.match(await badEnd.text(), /end "-5"/);
      const reversed = await get(`${route}?start=2000&end=1000`);
      assert.equal(reversed.status, 400);
      assert.match(await reversed.text(), /end \(1000\) is before start \(2000\)/);
      const badTenant = await get(route, { 'x-scope-orgid': 'a/b' });
      assert.equal(badTenant.status, 400);
    }
  });
});

describe('connectors turned off', () => {
  let off: SkeinProcess;
  before(async () => {
    off = await startSkein({ configYaml: 'pipeline:\n  connectors: []\n' });
  });
  after(async () => {
    await off?.stop();
  });

  test('the routes answer 404 saying which connector is missing, and /metrics has no connector series', async () => {
    for (const [route, connector] of [
      ['/api/skein/service-graph', 'servicegraph'],
      ['/api/skein/operations', 'spanmetrics'],
    ] as const) {
      const res = await fetch(`${off.url}${route}`);
      assert.equal(res.status, 404, route);
      const text = await res.text();
      assert.match(text, new RegExp(`the ${connector} connector is not in pipeline\\.connectors`), route);
    }
    const text = await (await fetch(`${off.url}/metrics`)).text();
    assert.deepEqual(
      parsePrometheus(text).filter((s) => s.name.startsWith('traces_')),
      [],
    );
  });
});
