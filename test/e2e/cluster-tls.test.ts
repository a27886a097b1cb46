// A cluster whose instances speak TLS to each other (cluster.tls): three Skein processes whose
// API and OTLP gRPC listeners want a client certificate from the test's CA, and which reach
// each other with cluster.tls's CA and client certificate. Spans sent to one instance are
// forwarded over TLS to each trace's owner, and every trace is read back whole from another
// instance, which asks its peers' heads over HTTPS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { httpsRequest } from '../helpers/tls-client.js';
import type { ReadyTls } from '../helpers/skein-process.js';
import { waitFor } from '../helpers/poll.js';
import { metricValue } from '../helpers/metrics-text.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';

let pki: TestPki;
let cluster: Cluster;
let client: ReadyTls;

before(async () => {
  pki = await createTestPki();
  client = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
  const listenerTls = { cert_file: pki.server.certFile, key_file: pki.server.keyFile, client_ca_file: pki.ca.certFile };
  cluster = await startCluster({
    tls: client,
    config: {
      server: { tls: listenerTls },
      receivers: { otlp: { protocols: { grpc: { tls: listenerTls } } } },
      cluster: { tls: { ca_file: pki.ca.certFile, cert_file: pki.client.certFile, key_file: pki.client.keyFile } },
    },
  });
});

after(async () => {
  await cluster?.close();
});

function traces(n: number): ReadableSpan[][] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('cluster-tls');
  for (let i = 0; i < n; i++) {
    const root = tracer.startSpan(`GET /secure/${i}`);
    root.end();
  }
  return memory.getFinishedSpans().map((s) => [s]);
}

async function get(url: string): Promise<{ status: number; body: string }> {
  return httpsRequest(url, client);
}

test('spans are forwarded over TLS to their owners, and queries reach the peers over HTTPS', async () => {
  const proc = (i: number) => cluster.proc(i);
  assert.deepEqual(proc(0).tls, ['http', 'otlpGrpc']);
  const sent = traces(60);
  const exporter = new GrpcExporter({
    url: `https://${proc(0).grpcAddr}`,
    credentials: credentials.createSsl(Buffer.from(client.ca), Buffer.from(client.key!), Buffer.from(client.cert!)),
  });
  try {
    const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(sent.flat(), resolve));
    assert.equal(result.code, ExportResultCode.SUCCESS, String(result.error?.message));
  } finally {
    await exporter.shutdown();
  }

  const metrics = async (i: number) => (await get(`${proc(i).url}/metrics`)).body;
  const forwarded = metricValue(await metrics(0), 'skein_cluster_routed_spans_total', { decision: 'forwarded' });
  assert.ok(forwarded > 0, 'some traces belong to the other instances');
  await waitFor('the forward queues to drain over TLS', async () => metricValue(await metrics(0), 'skein_exporter_queue_size') === 0);
  const m0 = await metrics(0);
  assert.equal(metricValue(m0, 'skein_exporter_sent_spans_total'), forwarded, 'every forwarded span was sent');
  assert.equal(metricValue(m0, 'skein_exporter_failed_spans_total'), 0);

  // Read from instance 1: the traces it does not own come from its peers' heads, over HTTPS.
  for (const t of sent) {
    const traceId = t[0]!.spanContext().traceId;
    await waitFor(`trace ${traceId} from instance 1`, async () => {
      const res = await get(`${proc(1).url}/api/traces/${traceId}`);
      if (res.status !== 200) return false;
      const spans = decodeOtlpJson(res.body, { ids: 'base64' }).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      return spans.length === t.length;
    });
  }
  assert.equal(metricValue(await metrics(1), 'skein_cluster_peer_query_failures_total'), 0, 'no peer query failed');
});
