// The OpenTelemetry JS SDK's Zipkin exporter sends traces to a running Skein
// with its Zipkin receiver turned on in the configuration; every span is read
// back through the Tempo API with the mapping the collector's zipkin receiver
// applies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { SpanKind as ApiSpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { SpanKind, StatusCode, toHex, type StoredSpan } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { hrTimeToNanos } from '../helpers/sdk.js';
import { plainAttributes } from '../helpers/compare.js';

const TENANT = 'zipkin-e2e';

let skein: SkeinProcess;
let spansUrl: string;

before(async () => {
  skein = await startSkein({
    configYaml: 'receivers:\n  zipkin:\n    enabled: true\n    endpoint: 127.0.0.1:0\n',
  });
  const ready = skein.logs.find((l) => l['msg'] === 'skein ready');
  assert.ok(ready?.['zipkin'], 'the ready line reports the Zipkin address');
  spansUrl = `http://${String(ready['zipkin'])}/api/v2/spans`;
});

after(async () => {
  await skein.stop();
});

/** The trace as the Tempo API returns it (v1 JSON), flattened to stored spans. */
async function readTrace(traceIdHex: string, tenant = TENANT): Promise<StoredSpan[]> {
  const res = await fetch(`${skein.url}/api/traces/${traceIdHex}`, { headers: { 'x-scope-orgid': tenant } });
  assert.equal(res.status, 200, `trace ${traceIdHex}: ${res.status} ${await res.clone().text()}`);
  return flattenBatch(decodeOtlpJson(await res.text(), { ids: 'base64' }));
}

/** A provider for one service that exports each ended span to the receiver and keeps a copy. */
function sdkFor(service: string): { provider: BasicTracerProvider; tracer: Tracer; sent: InMemorySpanExporter } {
  const sent = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'e2e', 'host.name': `${service}-host` }),
    spanProcessors: [
      new SimpleSpanProcessor(new ZipkinExporter({ url: spansUrl, headers: { 'X-Scope-OrgID': TENANT } })),
      new SimpleSpanProcessor(sent),
    ],
  });
  return { provider, tracer: provider.getTracer('e2e-tracer', '1.0.0'), sent };
}

/** OTLP kinds as the collector maps Zipkin's: an internal span has no Zipkin kind and comes back UNSPECIFIED. */
const KIND_AFTER_ZIPKIN: Record<ApiSpanKind, SpanKind> = {
  [ApiSpanKind.INTERNAL]: SpanKind.UNSPECIFIED,
  [ApiSpanKind.SERVER]: SpanKind.SERVER,
  [ApiSpanKind.CLIENT]: SpanKind.CLIENT,
  [ApiSpanKind.PRODUCER]: SpanKind.PRODUCER,
  [ApiSpanKind.CONSUMER]: SpanKind.CONSUMER,
};

/** Zipkin times are microseconds sent as JSON doubles, so nanoseconds survive only to within a microsecond. */
function assertCloseNanos(actual: bigint, expected: bigint, what: string): void {
  const diff = actual > expected ? actual - expected : expected - actual;
  assert.ok(diff <= 1000n, `${what}: ${actual} is ${diff} ns from ${expected}`);
}

describe('OpenTelemetry JS Zipkin exporter → Zipkin receiver → Tempo API', () => {
  test('every span comes back with its IDs, parent links, kinds, attributes, events, status and service', async () => {
    const checkout = sdkFor('checkout');
    const inventory = sdkFor('inventory');

    const root = checkout.tracer.startSpan('GET /cart', {
      kind: ApiSpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'feature.enabled': true },
    });
    const rootCtx = trace.setSpan(context.active(), root);
    const load = checkout.tracer.startSpan('cart.load', { kind: ApiSpanKind.CLIENT }, rootCtx);
    load.addEvent('cache.miss', { 'cache.key': 'cart:1' });
    load.setStatus({ code: SpanStatusCode.ERROR, message: 'db timed out' });
    // The callee is another service, in the same trace.
    const serve = inventory.tracer.startSpan('inventory.reserve', { kind: ApiSpanKind.SERVER }, trace.setSpan(context.active(), load));
    const compute = inventory.tracer.startSpan('compute', { kind: ApiSpanKind.INTERNAL }, trace.setSpan(context.active(), serve));
    compute.setStatus({ code: SpanStatusCode.OK });
    compute.end();
    serve.end();
    load.end();
    const publish = checkout.tracer.startSpan('cart.updated publish', { kind: ApiSpanKind.PRODUCER }, rootCtx);
    publish.end();
    const consume = inventory.tracer.startSpan('cart.updated process', { kind: ApiSpanKind.CONSUMER }, trace.setSpan(context.active(), publish));
    consume.end();
    root.end();
    await Promise.all([checkout.provider.forceFlush(), inventory.provider.forceFlush()]);

    const sent: ReadableSpan[] = [...checkout.sent.getFinishedSpans(), ...inventory.sent.getFinishedSpans()];
    assert.equal(sent.length, 6);
    const traceId = root.spanContext().traceId;
    const stored = new Map((await readTrace(traceId)).map((s) => [toHex(s.span.spanId), s]));
    assert.equal(stored.size, sent.length);

    for (const rs of sent) {
      const got = stored.get(rs.spanContext().spanId);
      assert.ok(got, `span ${rs.name} stored`);
      const { span } = got;
      assert.equal(toHex(span.traceId), traceId);
      assert.equal(toHex(span.parentSpanId), rs.parentSpanContext?.spanId ?? '', `${rs.name}: parent`);
      assert.equal(span.name, rs.name);
      assert.equal(span.kind, KIND_AFTER_ZIPKIN[rs.kind], `${rs.name}: kind`);
      assertCloseNanos(span.startTimeUnixNano, hrTimeToNanos(rs.startTime), `${rs.name}: start`);
      assertCloseNanos(span.endTimeUnixNano, hrTimeToNanos(rs.endTime), `${rs.name}: end`);
      // Zipkin tags are strings: so are the attributes that come back.
      assert.deepStrictEqual(plainAttributes(span.attributes), Object.fromEntries(Object.entries(rs.attributes).map(([k, v]) => [k, String(v)])));
      assert.deepStrictEqual(
        span.events.map((e) => e.name),
        rs.events.map((e) => e.name),
      );
      span.events.forEach((e, i) => assertCloseNanos(e.timeUnixNano, hrTimeToNanos(rs.events[i]!.time), `${rs.name}: event time`));
      const expectedStatus = { code: rs.status.code as StatusCode, message: rs.status.code === SpanStatusCode.ERROR ? (rs.status.message ?? '') : '' };
      assert.deepStrictEqual(span.status, expectedStatus, `${rs.name}: status`);
      // The exporter flattens the resource into tags; they go back to the resource.
      assert.deepStrictEqual(
        plainAttributes(got.resource.attributes),
        Object.fromEntries(Object.entries(rs.resource.attributes).map(([k, v]) => [k, String(v)])),
        `${rs.name}: resource`,
      );
    }

    const byName = new Map([...stored.values()].map((s) => [s.span.name, s]));
    assert.equal(plainAttributes(byName.get('GET /cart')!.resource.attributes)['service.name'], 'checkout');
    assert.equal(plainAttributes(byName.get('inventory.reserve')!.resource.attributes)['service.name'], 'inventory');
    assert.deepStrictEqual(byName.get('cart.load')!.span.status, { code: StatusCode.ERROR, message: 'db timed out' });
    assert.deepStrictEqual(byName.get('compute')!.span.status, { code: StatusCode.OK, message: '' });
    assert.deepStrictEqual(plainAttributes(byName.get('GET /cart')!.span.attributes), {
      'http.request.method': 'GET',
      'http.response.status_code': '200',
      'feature.enabled': 'true',
    });

    await Promise.all([checkout.provider.shutdown(), inventory.provider.shutdown()]);
  });

  test('a gzipped hand-written request: 64-bit trace ID, endpoints, and a shared client/server span pair kept as two spans', async () => {
    const traceId64 = 'a3ce929d0e0e4736';
    const now = Date.now() * 1000;
    const body = [
      {
        traceId: traceId64,
        id: '1111111111111111',
        kind: 'CLIENT',
        name: 'get /stock',
        timestamp: now,
        duration: 900,
        localEndpoint: { serviceName: 'web', ipv4: '10.0.0.1' },
        remoteEndpoint: { serviceName: 'stock', ipv4: '10.0.0.2', port: 8080 },
      },
      {
        traceId: traceId64,
        id: '1111111111111111',
        kind: 'SERVER',
        name: 'get /stock',
        timestamp: now + 100,
        duration: 700,
        shared: true,
        localEndpoint: { serviceName: 'stock', ipv4: '10.0.0.2', port: 8080 },
        annotations: [{ timestamp: now + 200, value: 'cache hit' }],
        tags: { 'http.path': '/stock', error: 'out of stock' },
      },
    ];
    const res = await fetch(spansUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-scope-orgid': TENANT },
      body: gzipSync(JSON.stringify(body)),
    });
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '');

    const spans = await readTrace(`0000000000000000${traceId64}`);
    assert.equal(spans.length, 2, 'the shared server span is not de-duplicated away');
    const client = spans.find((s) => s.span.kind === SpanKind.CLIENT)!;
    const server = spans.find((s) => s.span.kind === SpanKind.SERVER)!;
    assert.equal(toHex(client.span.spanId), '1111111111111111');
    assert.equal(toHex(server.span.parentSpanId), '1111111111111111');
    assert.deepStrictEqual(plainAttributes(client.span.attributes), {
      'network.local.address': '10.0.0.1',
      'service.peer.name': 'stock',
      'network.peer.address': '10.0.0.2',
      'network.peer.port': { int: '8080' },
    });
    assert.deepStrictEqual(plainAttributes(server.span.attributes), {
      'http.path': '/stock',
      'network.local.address': '10.0.0.2',
      'network.local.port': { int: '8080' },
    });
    assert.deepStrictEqual(server.span.status, { code: StatusCode.ERROR, message: 'out of stock' });
    assert.deepStrictEqual(
      server.span.events.map((e) => [e.name, e.timeUnixNano]),
      [['cache hit', BigInt(now + 200) * 1000n]],
    );
    assert.deepStrictEqual(plainAttributes(server.resource.attributes), { 'service.name': 'stock' });
  });
});
