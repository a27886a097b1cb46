// auth.peer_token on the receivers: a peer presenting it may write for any tenant its
// X-Scope-OrgID names, and its x-skein-forwarded mark is believed (the batch goes to the
// owned share, past the router); a client's credential never makes the mark count, however
// it sets it. Real receivers, fed by the OpenTelemetry SDK's gRPC exporter and by fetch.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, type Server as GrpcServer } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { createAuth } from '../../src/auth/index.js';
import type { Auth } from '../../src/auth/authenticator.js';
import { validateConfig } from '../../src/config/load.js';
import { Ingester } from '../../src/receivers/ingest.js';
import { closeGrpc, createOtlpGrpcReceiver, listenGrpc } from '../../src/receivers/otlp-grpc.js';
import { createOtlpHttpReceiver } from '../../src/receivers/otlp-http.js';
import { listenHttp } from '../../src/net/http-server.js';
import type { TracesConsumer } from '../../src/pipeline/consumer.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';

const PEER_TOKEN = 'peer-token-shared-by-the-cluster';
const CLIENT_TOKEN = 'client-token-of-tenant-a';
const LIMITS = { maxAttributeValueLength: 1024, maxAttributesPerSpan: 64, maxEventsPerSpan: 64, maxSpanEndAheadMs: 0, maxRequestBytes: 1024 * 1024, retryAfterSeconds: 1 };

function recorder(): TracesConsumer & { tenants: string[] } {
  const tenants: string[] = [];
  return { tenants, consume: async (tenant) => void tenants.push(tenant) };
}

function sdkSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer('peer-token-test').startSpan('op').end();
  return memory.getFinishedSpans();
}

/** One export through the SDK's gRPC exporter; its result code (and gRPC status, when refused). */
async function sendGrpc(address: string, headers: Record<string, string>): Promise<{ ok: boolean; code?: number }> {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const exporter = new GrpcExporter({ url: `http://${address}`, metadata });
  try {
    const r = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(sdkSpans(), resolve));
    return { ok: r.code === ExportResultCode.SUCCESS, ...(r.error && { code: (r.error as Error & { code?: number }).code }) };
  } finally {
    await exporter.shutdown();
  }
}

describe('peer_token on the receivers', () => {
  const routed = recorder();
  const owned = recorder();
  const ingester = new Ingester({ consumer: routed, ownedConsumer: owned, limits: LIMITS, logger: silentLogger });
  let auth: Auth;
  let grpc: GrpcServer;
  let grpcAddress: string;
  let http: FastifyInstance;
  let httpUrl: string;

  before(async () => {
    const config = validateConfig({ auth: { bearer_tokens: [{ token: CLIENT_TOKEN, tenant: 'a', rights: ['write'] }], peer_token: PEER_TOKEN } });
    auth = await createAuth(config, silentLogger);
    grpc = createOtlpGrpcReceiver({ ingester, logger: silentLogger, authenticator: auth.forListener('otlp_grpc') });
    grpcAddress = `127.0.0.1:${await listenGrpc(grpc, '127.0.0.1:0')}`;
    http = createOtlpHttpReceiver({ ingester, logger: silentLogger, authenticator: auth.forListener('otlp_http') });
    httpUrl = `http://${await listenHttp(http, '127.0.0.1:0')}`;
  });

  after(async () => {
    await closeGrpc(grpc, 1000);
    await http.close();
    await auth.close();
  });

  beforeEach(() => {
    routed.tenants.length = 0;
    owned.tenants.length = 0;
  });

  test('gRPC: a client marking its request forwarded is routed like any other, in its own tenant', async () => {
    assert.deepEqual(await sendGrpc(grpcAddress, { authorization: `Bearer ${CLIENT_TOKEN}`, 'x-skein-forwarded': '1' }), { ok: true });
    assert.deepEqual([routed.tenants, owned.tenants], [['a'], []]);
  });

  test('gRPC: the peer token makes the mark count, for the tenant the peer names', async () => {
    assert.deepEqual(await sendGrpc(grpcAddress, { authorization: `Bearer ${PEER_TOKEN}`, 'x-skein-forwarded': '1', 'x-scope-orgid': 'b' }), { ok: true });
    assert.deepEqual(await sendGrpc(grpcAddress, { authorization: `Bearer ${PEER_TOKEN}`, 'x-scope-orgid': 'c' }), { ok: true });
    assert.deepEqual([owned.tenants, routed.tenants], [['b'], ['c']]);
  });

  test('gRPC: a token that is almost the peer token is refused (UNAUTHENTICATED)', async () => {
    assert.deepEqual(await sendGrpc(grpcAddress, { authorization: `Bearer ${PEER_TOKEN}x`, 'x-skein-forwarded': '1' }), { ok: false, code: 16 });
    assert.deepEqual([routed.tenants, owned.tenants], [[], []]);
  });

  test('HTTP: the same', async () => {
    const client = await postProtobuf(httpUrl, simpleTrace(1).batch, { authorization: `Bearer ${CLIENT_TOKEN}`, 'x-skein-forwarded': '1' });
    assert.equal(client.status, 200, await client.text());
    const otherTenant = await postProtobuf(httpUrl, simpleTrace(1).batch, { authorization: `Bearer ${CLIENT_TOKEN}`, 'x-skein-forwarded': '1', 'x-scope-orgid': 'b' });
    assert.equal(otherTenant.status, 403);
    const peer = await postProtobuf(httpUrl, simpleTrace(1).batch, { authorization: `Bearer ${PEER_TOKEN}`, 'x-skein-forwarded': '1', 'x-scope-orgid': 'b' });
    assert.equal(peer.status, 200, await peer.text());
    assert.deepEqual([routed.tenants, owned.tenants], [['a'], ['b']]);
  });
});
