// Perses' Tempo plugin (@perses-dev/tempo-plugin, from npm) as a real consumer of Skein's
// query API: its own HTTP client runs TraceQL search, trace by ID, tag names and tag values
// against a running Skein fed by the OpenTelemetry SDK, and what it parses out of our answers
// is what a Perses user sees in the trace table, the trace view and the TraceQL editor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { waitFor } from '../helpers/poll.js';

// The plugin's ESM build uses extensionless relative imports that Node cannot resolve, and its
// package index pulls in the React UI; its CommonJS client module needs only @perses-dev/core.
const perses = createRequire(import.meta.url)('@perses-dev/tempo-plugin/lib/cjs/model/tempo-client.js') as PersesTempoClient;

// The plugin's own .d.ts reach @types/react's global DOM stubs through @perses-dev/core, which
// break the typings of the Playwright tests; these copy its lib/model/api-types.d.ts for the
// fields read here.
interface QueryOptions {
  datasourceUrl: string;
}
interface Range {
  start?: number;
  end?: number;
  limit?: number;
}
interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}
interface SearchResponse {
  traces: Array<{
    traceID: string;
    rootServiceName: string;
    rootTraceName: string;
    startTimeUnixNano: string;
    durationMs?: number;
    spanSets?: Array<{ spans: Array<{ spanID: string }>; matched: number }>;
    serviceStats?: Record<string, { spanCount: number; errorCount?: number }>;
  }>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: string;
  status?: { code?: string; message?: string };
}
interface QueryResponse {
  batches: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
}
interface PersesTempoClient {
  search(params: Range & { q: string }, opts: QueryOptions): Promise<SearchResponse>;
  searchWithFallback(params: Range & { q: string }, opts: QueryOptions): Promise<SearchResponse>;
  query(params: { traceId: string }, opts: QueryOptions): Promise<QueryResponse>;
  searchTags(params: Range & { scope?: 'resource' | 'span' | 'intrinsic'; q?: string }, opts: QueryOptions): Promise<{ scopes: Array<{ name: string; tags: string[] }> }>;
  searchTagValues(params: Range & { tag: string; q?: string }, opts: QueryOptions): Promise<{ tagValues: Array<{ type: string; value?: string }> }>;
}

let skein: SkeinProcess;
let opts: QueryOptions;
/** The unix-seconds range Perses sends from its time picker. */
const range = { start: Math.floor(Date.now() / 1000) - 3600, end: Math.floor(Date.now() / 1000) + 3600 };

/** Trace IDs as the SDK made them (32 hex digits). */
let checkoutTraceId = '';
let paymentTraceId = '';
const spanIds = new Map<string, string>();

async function send(service: string, emit: (tracer: Tracer) => void): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'prod' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }))],
  });
  emit(provider.getTracer('shop', '1.0.0'));
  await provider.forceFlush();
  await provider.shutdown();
}

const base64ToHex = (s: string): string => Buffer.from(s, 'base64').toString('hex');
const serviceOf = (rs: { resource?: { attributes?: KeyValue[] } }): unknown =>
  rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value['stringValue'];

before(async () => {
  skein = await startSkein();
  opts = { datasourceUrl: skein.url };
  // One trace over two services (two SDK resources sharing a trace), and a failed payment.
  let call: ReturnType<Tracer['startSpan']> | undefined;
  await send('frontend', (tracer) => {
    const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.route': '/checkout', 'http.request.method': 'GET' } });
    const ctx = trace.setSpan(context.active(), root);
    const render = tracer.startSpan('render', {}, ctx);
    render.end();
    call = tracer.startSpan('POST /cart', { kind: SpanKind.CLIENT, attributes: { 'http.route': '/cart' } }, ctx);
    call.end();
    root.end();
    checkoutTraceId = root.spanContext().traceId;
    spanIds.set('GET /checkout', root.spanContext().spanId);
    spanIds.set('render', render.spanContext().spanId);
    spanIds.set('POST /cart', call.spanContext().spanId);
  });
  await send('cart', (tracer) => {
    // The cart service's server span continues from the frontend's client call.
    const ctx = trace.setSpan(context.active(), call!);
    const server = tracer.startSpan('POST /cart', { kind: SpanKind.SERVER, attributes: { 'http.route': '/cart' } }, ctx);
    tracer.startSpan('SELECT cart', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ctx, server)).end();
    server.end();
  });
  await send('payment', (tracer) => {
    const span = tracer.startSpan('charge', { kind: SpanKind.SERVER, attributes: { 'http.route': '/pay' } });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    span.end();
    paymentTraceId = span.spanContext().traceId;
  });
  await waitFor('all six spans to be searchable', async () => {
    const r = await perses.search({ q: '{ }', ...range }, opts);
    return r.traces.flatMap((t) => Object.values(t.serviceStats ?? {})).reduce((n, s) => n + s.spanCount, 0) === 6;
  });
});

after(async () => {
  await skein.stop();
});

describe('search (the trace table)', () => {
  test('a TraceQL query: trace ID, root service and name, start, duration and span counts per service', async () => {
    const res = await perses.searchWithFallback({ q: '{ resource.service.name = "cart" }', ...range, limit: 20 }, opts);
    assert.equal(res.traces.length, 1, JSON.stringify(res));
    const t = res.traces[0]!;
    // Search answers drop leading zeros from trace IDs, as Tempo does.
    assert.equal(t.traceID.padStart(32, '0'), checkoutTraceId);
    assert.equal(t.rootServiceName, 'frontend');
    assert.equal(t.rootTraceName, 'GET /checkout');
    assert.deepEqual(t.serviceStats, { frontend: { spanCount: 3 }, cart: { spanCount: 2 } });
    const startMs = parseInt(t.startTimeUnixNano) * 1e-6;
    assert.ok(startMs > (range.start - 1) * 1000 && startMs < range.end * 1000, `start ${t.startTimeUnixNano}`);
    assert.ok(t.durationMs === undefined || t.durationMs >= 0);
    // The matching spans Perses lists under a trace: the cart service's two.
    assert.deepEqual(t.spanSets?.map((ss) => [ss.matched, ss.spans.length]), [[2, 2]], JSON.stringify(t.spanSets));
  });

  test('errors are counted per service; no match is an empty table', async () => {
    const failed = await perses.searchWithFallback({ q: '{ status = error }', ...range }, opts);
    assert.deepEqual(
      failed.traces.map((t) => [t.traceID.padStart(32, '0'), t.rootServiceName, t.rootTraceName, t.serviceStats]),
      [[paymentTraceId, 'payment', 'charge', { payment: { spanCount: 1, errorCount: 1 } }]],
    );
    assert.deepEqual(await perses.searchWithFallback({ q: '{ resource.service.name = "nobody" }', ...range }, opts), { traces: [] });
  });

  test('both traces, most recent first, and a bad query surfaces our message to the user', async () => {
    const all = await perses.searchWithFallback({ q: '{ }', ...range }, opts);
    assert.deepEqual(all.traces.map((t) => t.traceID.padStart(32, '0')), [paymentTraceId, checkoutTraceId]);
    await assert.rejects(perses.search({ q: '{ span.http.route = }', ...range }, opts), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /^parse error at line 1, col \d+: /);
      return true;
    });
  });
});

describe('trace by ID (the trace view)', () => {
  test('all five spans under their services, IDs decodable to the SDK\'s', async () => {
    const res = await perses.query({ traceId: checkoutTraceId }, opts);
    assert.ok(Array.isArray(res.batches), `Perses reads the spans from "batches": ${JSON.stringify(res).slice(0, 200)}`);
    const byService = new Map<unknown, string[]>();
    for (const rs of res.batches) {
      const names = rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name));
      byService.set(serviceOf(rs), [...(byService.get(serviceOf(rs)) ?? []), ...names]);
    }
    assert.deepEqual(
      [...byService].map(([svc, names]) => [svc, names.sort()]).sort(),
      [
        ['cart', ['POST /cart', 'SELECT cart']],
        ['frontend', ['GET /checkout', 'POST /cart', 'render']],
      ],
    );
    const spans = res.batches.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    // Perses turns the base64 IDs of Tempo's JSON into hex for its span tree.
    for (const s of spans) assert.equal(base64ToHex(s.traceId), checkoutTraceId);
    const root = spans.find((s) => s.name === 'GET /checkout')!;
    assert.equal(base64ToHex(root.spanId), spanIds.get('GET /checkout'));
    assert.ok(!root.parentSpanId, 'the root has no parent');
    const render = spans.find((s) => s.name === 'render')!;
    assert.equal(base64ToHex(render.parentSpanId!), spanIds.get('GET /checkout'));
    const cartServer = spans.find((s) => s.name === 'POST /cart' && s.kind === 'SPAN_KIND_SERVER')!;
    assert.equal(base64ToHex(cartServer.parentSpanId!), spanIds.get('POST /cart'));
  });

  test('the failed payment carries its error status; an unknown ID is the "trace not found" the user reads', async () => {
    const res = await perses.query({ traceId: paymentTraceId }, opts);
    const [charge] = res.batches.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    assert.equal(charge?.name, 'charge');
    assert.deepEqual(charge?.status, { code: 'STATUS_CODE_ERROR', message: 'card declined' });
    await assert.rejects(perses.query({ traceId: '0123456789abcdef0123456789abcdef' }, opts), (err: Error & { status?: number }) => {
      assert.equal(err.status, 404);
      assert.equal(err.message, 'trace not found');
      return true;
    });
  });

  test('Perses\' own fallback for answers without serviceStats counts the same spans and errors from trace by ID', async () => {
    // Perses falls back to a trace-by-ID read per trace only when search gives no serviceStats
    // (older Tempo blocks). A pass-through proxy drops them from our answer to drive that path.
    const proxy = createServer(async (req, res) => {
      const upstream = await fetch(`${skein.url}${req.url}`);
      const body = await upstream.text();
      const json = req.url!.startsWith('/api/search') && upstream.ok ? (JSON.parse(body) as { traces: Array<Record<string, unknown>> }) : undefined;
      for (const t of json?.traces ?? []) delete t['serviceStats'];
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
      res.end(json ? JSON.stringify(json) : body);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const viaProxy = { datasourceUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
      const q = { q: '{ }', ...range };
      const stripped = await perses.search(q, viaProxy);
      assert.ok(stripped.traces.length === 2 && stripped.traces.every((t) => t.serviceStats === undefined));
      const computed = await perses.searchWithFallback(q, viaProxy);
      const direct = await perses.searchWithFallback(q, opts);
      assert.deepEqual(computed.traces, direct.traces);
      assert.deepEqual(
        computed.traces.map((t) => t.serviceStats),
        [{ payment: { spanCount: 1, errorCount: 1 } }, { frontend: { spanCount: 3 }, cart: { spanCount: 2 } }],
      );
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('tags (the TraceQL editor\'s autocomplete)', () => {
  test('tag names by scope', async () => {
    const all = await perses.searchTags({ ...range }, opts);
    const scopes = new Map(all.scopes.map((s) => [s.name, s.tags]));
    assert.ok(scopes.get('resource')?.includes('service.name'), JSON.stringify(all));
    assert.ok(scopes.get('resource')?.includes('deployment.environment'));
    for (const tag of ['http.route', 'http.request.method', 'db.system']) assert.ok(scopes.get('span')?.includes(tag), `${tag}: ${JSON.stringify(all)}`);
    assert.ok(!scopes.get('span')?.includes('service.name'), 'resource attributes stay in their scope');

    const resource = await perses.searchTags({ scope: 'resource', ...range }, opts);
    assert.deepEqual(resource.scopes.map((s) => s.name), ['resource']);
    assert.deepEqual(resource.scopes[0]!.tags.filter((t) => !t.startsWith('telemetry.')).sort(), ['deployment.environment', 'service.name']);
  });

  test('tag values, typed, and narrowed by the query being typed', async () => {
    const services = await perses.searchTagValues({ tag: 'resource.service.name', ...range }, opts);
    assert.deepEqual(
      services.tagValues.map((v) => [v.type, v.value]).sort(),
      [['string', 'cart'], ['string', 'frontend'], ['string', 'payment']],
    );
    const routes = await perses.searchTagValues({ tag: 'span.http.route', q: '{ resource.service.name = "frontend" }', ...range }, opts);
    assert.deepEqual(routes.tagValues.map((v) => v.value).sort(), ['/cart', '/checkout']);
    const statuses = await perses.searchTagValues({ tag: 'status', ...range }, opts);
    assert.ok(statuses.tagValues.some((v) => v.value === 'error'), JSON.stringify(statuses));
  });
});
