// A request a cluster peer forwarded (x-skein-forwarded: 1, as gRPC metadata
// or an HTTP header) goes to the Ingester's ownedConsumer, past the router; any
// other request, and every request to an Ingester without one, to consumer.
// Real receivers, fed by the OpenTelemetry SDK's gRPC exporter and by fetch.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, type Server as GrpcServer } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { Ingester } from '../../src/receivers/ingest.js';
import { closeGrpc, createOtlpGrpcReceiver, listenGrpc } from '../../src/receivers/otlp-grpc.js';
import { createOtlpHttpReceiver } from '../../src/receivers/otlp-http.js';
import { listenHttp } from '../../src/net/http-server.js';
import type { TracesConsumer } from '../../src/pipeline/consumer.js';
import type { ResourceSpans } from '../../src/otlp/model.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { OPEN_AUTHENTICATOR } from '../../src/auth/index.js';

const LIMITS = {
  maxAttributeValueLength: 1024,
  maxAttributesPerSpan: 64,
  maxEventsPerSpan: 64,
  maxSpanEndAheadMs: 0,
  maxRequestBytes: 1024 * 1024,
  retryAfterSeconds: 1,
};

function recorder(): TracesConsumer & { got: Array<{ tenant: string; batch: ResourceSpans[] }> } {
  const got: Array<{ tenant: string; batch: ResourceSpans[] }> = [];
  return { got, consume: async (tenant, batch) => void got.push({ tenant, batch }) };
}

function sdkSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer('forwarded-test').startSpan('op').end();
  return memory.getFinishedSpans();
}

async function sendGrpc(address: string, headers: Record<string, string>): Promise<void> {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const exporter = new GrpcExporter({ url: `http://${address}`, metadata });
  try {
    const code = await new Promise<ExportResultCode>((resolve) => exporter.export(sdkSpans(), (r) => resolve(r.code)));
    assert.equal(code, ExportResultCode.SUCCESS);
  } finally {
    await exporter.shutdown();
  }
}

describe('forwarded requests', () => {
  const routed = recorder();
  const owned = recorder();
  const ingester = new Ingester({ consumer: routed, ownedConsumer: owned, limits: LIMITS, logger: silentLogger });
  let grpc: GrpcServer;
  let grpcAddress: string;
  let http: FastifyInstance;
  let httpUrl: string;

  before(async () => {
    grpc = createOtlpGrpcReceiver({ ingester, logger: silentLogger, authenticator: OPEN_AUTHENTICATOR });
    grpcAddress = `127.0.0.1:${await listenGrpc(grpc, '127.0.0.1:0')}`;
    http = createOtlpHttpReceiver({ ingester, logger: silentLogger, authenticator: OPEN_AUTHENTICATOR });
    httpUrl = `http://${await listenHttp(http, '127.0.0.1:0')}`;
  });

  after(async () => {
    await closeGrpc(grpc, 1000);
    await http.close();
  });

  beforeEach(() => {
    routed.got.length = 0;
    owned.got.length = 0;
  });

  test('gRPC: marked, to ownedConsumer with its tenant; unmarked or marked otherwise, to consumer', async () => {
    await sendGrpc(grpcAddress, { 'x-skein-forwarded': '1', 'x-scope-orgid': 'acme' });
    assert.deepEqual([routed.got.length, owned.got.map((g) => g.tenant)], [0, ['acme']]);
    await sendGrpc(grpcAddress, {});
    await sendGrpc(grpcAddress, { 'x-skein-forwarded': 'yes' });
    assert.deepEqual([routed.got.length, owned.got.length], [2, 1]);
  });

  test('HTTP: the same', async () => {
    const res = await postProtobuf(httpUrl, simpleTrace(2).batch, { 'x-skein-forwarded': '1' });
    assert.equal(res.status, 200);
    assert.deepEqual([routed.got.length, owned.got.length], [0, 1]);
    assert.equal((await postProtobuf(httpUrl, simpleTrace(2).batch)).status, 200);
    assert.deepEqual([routed.got.length, owned.got.length], [1, 1]);
  });

  test('an Ingester without ownedConsumer (no cluster) takes a marked request like any other', async () => {
    const only = recorder();
    const plain = new Ingester({ consumer: only, limits: LIMITS, logger: silentLogger });
    const outcome = await plain.ingest('acme', 'grpc', () => simpleTrace(1).batch, { bytes: 100, forwarded: true });
    assert.equal(outcome.kind, 'accepted');
    assert.equal(only.got.length, 1);
  });
});
