// A cluster with authentication on (docs/security.md#clusters): peers present auth.peer_token
// to each other, so spans a client sends to one instance reach their trace's owner in the
// client's tenant, and every instance answers for every trace (it asks its peers for their
// heads with the same token). A client is never a peer: its x-skein-forwarded mark is
// ignored (its spans are routed like any others) and the peers' internal routes refuse it.
//
// Two real Skein processes on one S3-protocol bucket (test/helpers/cluster.ts). Ownership
// is read from the receiving instance's own metrics, never from queries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace as otelTrace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Ring } from '../../src/cluster/ring.js';
import { fromHex } from '../../src/otlp/model.js';
import { PEER_CONTENT_TYPE, PEER_FETCH_PATH } from '../../src/cluster/codec.js';
import { startCluster, type Cluster, type ClusterInstance } from '../helpers/cluster.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';
import { waitFor } from '../helpers/poll.js';

const WRITER = 'tok-a-writer-0123456789';
const PEER_TOKEN = 'peer-token-of-this-cluster-0123';
const ROUTED = 'skein_cluster_routed_spans_total';

/** `n` traces of two spans each, made by the SDK's tracer, grouped by trace. */
function traces(n: number): ReadableSpan[][] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'cluster-auth' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('cluster-auth');
  for (let i = 0; i < n; i++) {
    const root = tracer.startSpan(`GET /item/${i}`);
    tracer.startSpan('SELECT item', {}, otelTrace.setSpan(context.active(), root)).end();
    root.end();
  }
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of memory.getFinishedSpans()) byTrace.set(s.spanContext().traceId, [...(byTrace.get(s.spanContext().traceId) ?? []), s]);
  return [...byTrace.values()];
}

async function exportTo(inst: ClusterInstance, spans: ReadableSpan[], headers: Record<string, string>): Promise<void> {
  const exporter = new OTLPTraceExporter({ url: `${inst.otlpHttpUrl}/v1/traces`, headers, timeoutMillis: 10_000 });
  try {
    const r = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
    assert.equal(r.code, ExportResultCode.SUCCESS, r.error?.message);
  } finally {
    await exporter.shutdown();
  }
}

/** The number of spans an instance returns for a trace of tenant `a` (0 when it has none). */
async function spansFound(inst: ClusterInstance, traceId: string): Promise<number> {
  const res = await fetch(`${inst.url}/api/traces/${traceId}`, { headers: { authorization: `Bearer ${WRITER}`, 'x-scope-orgid': 'a' } });
  if (res.status === 404) return 0;
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { batches?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }> };
  return (body.batches ?? []).flatMap((b) => b.scopeSpans ?? []).reduce((n, ss) => n + (ss.spans?.length ?? 0), 0);
}

const traceIdOf = (spans: readonly ReadableSpan[]) => spans[0]!.spanContext().traceId;

describe('a cluster with authentication on', () => {
  let cluster: Cluster;
  let ring: Ring;
  const owner = (spans: readonly ReadableSpan[]) => ring.owner(fromHex(traceIdOf(spans))!);

  before(async () => {
    cluster = await startCluster({
      size: 2,
      config: {
        auth: {
          bearer_tokens: [{ token: WRITER, tenant: 'a', rights: ['write', 'read'] }],
          peer_token: PEER_TOKEN,
          // The test reads the routing counters without a credential.
          metrics: 'open',
        },
      },
    });
    ring = new Ring(cluster.instances.map((i) => i.grpcAddr));
  });

  after(async () => {
    await cluster?.close();
  });

  test("spans sent to one instance reach their owner in the client's tenant, and every instance finds every trace", async () => {
    const [first, second] = cluster.instances as [ClusterInstance, ClusterInstance];
    const sent = traces(40);
    const theirs = sent.filter((t) => owner(t) === second.grpcAddr);
    assert.ok(theirs.length > 0 && theirs.length < sent.length, 'both instances own some of the traces');
    const before = await metricsText(first);
    await exportTo(first, sent.flat(), { authorization: `Bearer ${WRITER}` });
    const routed = await metricsText(first);
    assert.equal(
      metricValue(routed, ROUTED, { decision: 'forwarded', peer: second.grpcAddr }) - metricValue(before, ROUTED, { decision: 'forwarded', peer: second.grpcAddr }),
      theirs.flat().length,
      'the second instance\'s share was forwarded to it',
    );
    for (const t of sent) {
      for (const inst of cluster.instances) {
        await waitFor(`${inst.url} to return trace ${traceIdOf(t)} of tenant a`, async () => (await spansFound(inst, traceIdOf(t))) === t.length);
      }
    }
  });

  test('a client marking its spans x-skein-forwarded is not believed: they are routed to their owner all the same', async () => {
    const [first, second] = cluster.instances as [ClusterInstance, ClusterInstance];
    const theirs = traces(40).filter((t) => owner(t) === second.grpcAddr);
    const before = await metricsText(first);
    await exportTo(first, theirs.flat(), { authorization: `Bearer ${WRITER}`, 'x-skein-forwarded': '1' });
    const after = await metricsText(first);
    const delta = (decision: string, peer: string) => metricValue(after, ROUTED, { decision, peer }) - metricValue(before, ROUTED, { decision, peer });
    // Believed, the mark would have kept the spans here, past the router: nothing counted.
    assert.equal(delta('forwarded', second.grpcAddr), theirs.flat().length);
    assert.equal(delta('owned', first.grpcAddr), 0);
    for (const t of theirs) await waitFor(`the owner to have trace ${traceIdOf(t)}`, async () => (await spansFound(second, traceIdOf(t))) === t.length);
  });

  test("the peers' internal routes refuse a client's credential and answer the peer token", async () => {
    const inst = cluster.instances[0]!;
    const ask = (authorization: string) =>
      fetch(`${inst.url}${PEER_FETCH_PATH}`, { method: 'POST', headers: { authorization, 'x-scope-orgid': 'a', 'content-type': PEER_CONTENT_TYPE }, body: '{}' });
    const client = await ask(`Bearer ${WRITER}`);
    assert.equal(client.status, 403);
    assert.equal(await client.text(), 'this route answers cluster peers only');
    assert.equal((await ask('Bearer not-the-peer-token-0123456')).status, 401);
    // The peer token passes the check (its malformed body is the route's own 400).
    assert.equal((await ask(`Bearer ${PEER_TOKEN}`)).status, 400);
  });
});
