// The OpenTelemetry JS SDK's three OTLP exporters send traces to a running
// Skein; every span comes back through both trace-by-ID APIs, in JSON and in
// protobuf, with every field intact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { decodeTraceByIdResponse, decodeTracesData } from '../../src/otlp/protobuf.js';
import type { ResourceSpans } from '../../src/otlp/model.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { expectedSpan } from '../helpers/sdk.js';
import { plainBatch, plainSpans } from '../helpers/compare.js';

let skein: SkeinProcess;

before(async () => {
  skein = await startSkein();
});

after(async () => {
  await skein.stop();
});

/** Three traces exercising every field: attribute types, events, links, status, kinds, nesting. */
function emitTraces(tracer: Tracer): void {
  const linked = tracer.startSpan('linked-target');
  linked.end();
  for (let t = 0; t < 3; t++) {
    const root = tracer.startSpan(`GET /api/cart/${t}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'http.duration_ratio': 0.25,
        'feature.enabled': true,
        'cart.items': ['a', 'b', 'c'],
        'cart.quantities': [1, 2, 3],
        'empty.string': '',
      },
    });
    const rootCtx = trace.setSpan(context.active(), root);
    const child = tracer.startSpan(
      'cart.load',
      { kind: SpanKind.CLIENT, links: [{ context: linked.spanContext(), attributes: { 'link.reason': 'retry-of' } }] },
      rootCtx,
    );
    child.addEvent('cache.miss', { 'cache.key': `cart:${t}`, 'cache.size': 12 });
    child.addEvent('exception', { 'exception.type': 'TimeoutError', 'exception.message': 'db timed out' });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'db timed out' });
    const grandchild = tracer.startSpan('SELECT carts', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(rootCtx, child));
    grandchild.setStatus({ code: SpanStatusCode.OK });
    grandchild.end();
    child.end();
    root.end();
  }
}

async function fetchTrace(path: string, protobuf: boolean): Promise<ResourceSpans[]> {
  const res = await fetch(`${skein.url}${path}`, { headers: protobuf ? { accept: 'application/protobuf' } : {} });
  assert.equal(res.status, 200, `${path}: ${res.status} ${protobuf ? '' : await res.clone().text()}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (!protobuf) {
    const json = JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;
    const traceJson = path.startsWith('/api/v2/') ? json['trace'] : json;
    assert.equal(json['status'], undefined, 'a complete trace has no PARTIAL status');
    return decodeOtlpJson(JSON.stringify(traceJson), { ids: 'base64' });
  }
  if (path.startsWith('/api/v2/')) {
    const decoded = decodeTraceByIdResponse(body);
    assert.equal(decoded.partial, false);
    return decoded.trace;
  }
  return decodeTracesData(body);
}

const exporters: Array<[string, () => SpanExporter]> = [
  ['OTLP/gRPC', () => new GrpcExporter({ url: `http://${skein.grpcAddr}` })],
  ['OTLP/HTTP protobuf', () => new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` })],
  ['OTLP/HTTP JSON', () => new JsonExporter({ url: `${skein.otlpHttpUrl}/v1/traces` })],
];

describe('OpenTelemetry SDK exporters round-trip through Skein', () => {
  for (const [name, makeExporter] of exporters) {
    test(`${name}: every span comes back with every field, v1 and v2, JSON and protobuf`, async () => {
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({
          'service.name': `checkout-${name}`,
          'service.version': '1.4.2',
          'deployment.environment': 'test',
          'host.cores': 2,
        }),
        spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(makeExporter())],
      });
      emitTraces(provider.getTracer('skein-e2e', '0.0.1'));
      await provider.forceFlush();
      // Read before shutdown: shutting the in-memory exporter down empties it.
      const sent = memory.getFinishedSpans().map(expectedSpan);
      await provider.shutdown();

      const traceIds = [...new Set(sent.map((s) => Buffer.from(s.span.traceId).toString('hex')))];
      assert.equal(traceIds.length, 4);
      for (const traceId of traceIds) {
        const expected = plainSpans(sent.filter((s) => Buffer.from(s.span.traceId).toString('hex') === traceId));
        for (const path of [`/api/traces/${traceId}`, `/api/v2/traces/${traceId}`]) {
          for (const protobuf of [false, true]) {
            const got = plainBatch(await fetchTrace(path, protobuf));
            assert.deepEqual(got, expected, `${path} (${protobuf ? 'protobuf' : 'JSON'})`);
          }
        }
      }
    });
  }
});
