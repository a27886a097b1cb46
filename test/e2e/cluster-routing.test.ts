// Three Skein processes in one cluster (static peers on loopback ports known in
// advance, one S3 bucket, the first instance as the compactor), fed by the
// OpenTelemetry SDK's OTLP/HTTP exporter:
//
// A. spans of many traces sent to one instance end up on the owner of each
//    trace (the ring's owner): each instance stores exactly its traces' spans,
//    and the receiving instance counts what it kept and forwarded to whom;
// B. the test: tail sampling decides a trace whose spans arrived at
//    three different instances once, on its owner, and the same way one
//    instance does with the same configuration (a reference process): error
//    traces kept whole, the others dropped;
// C. a request marked forwarded is kept by the instance it reaches, whatever
//    the ring says (no loops).
//
// Ownership is read from each instance's own metrics, never from queries,
// which answer from every peer once queries fan out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { SpanStatusCode, context, trace as otelTrace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { fromHex, toHex } from '../../src/otlp/model.js';
import { Ring } from '../../src/cluster/ring.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { reservePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/poll.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';

/** Errors kept, traces marked test.keep=yes kept (the routing test's), nothing else. */
const SAMPLING = `
processors:
  tail_sampling:
    decision_wait: 1s
    policies:
      - { name: errors, type: status_code, status_code: { status_codes: [ERROR] } }
      - { name: marked, type: string_attribute, string_attribute: { key: test.keep, values: ["yes"] } }
      - { name: rest, type: probabilistic, probabilistic: { sampling_percentage: 0 } }
pipeline:
  processors: [tail_sampling]
  exporters: [store]
`;
const PROCESSOR = 'tail_sampling';

interface Instance {
  skein: SkeinProcess;
  /** Its peer id: its OTLP gRPC address. */
  id: string;
}



async function metric(skein: SkeinProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await metricsText(skein), name, labels);
}

/** One OTLP/HTTP protobuf export through the SDK exporter; it must be acknowledged. */
async function exportTo(skein: SkeinProcess, spans: ReadableSpan[]): Promise<void> {
  const exporter = new OTLPTraceExporter({ url: `${skein.otlpHttpUrl}/v1/traces`, timeoutMillis: 10_000 });
  try {
    const code = await new Promise<ExportResultCode>((resolve) => exporter.export(spans, (r) => resolve(r.code)));
    assert.equal(code, ExportResultCode.SUCCESS, `export to ${skein.url} acknowledged`);
  } finally {
    await exporter.shutdown();
  }
}

/** Traces of three spans each (root, two children); `error` makes the second child fail; `keep` marks the root for the `marked` policy. */
function traces(n: number, opts: { error?: (i: number) => boolean; keep?: boolean; service?: string } = {}): ReadableSpan[][] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': opts.service ?? 'shop' }), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('skein-e2e-cluster');
  const ids: string[] = [];
  const start = Date.now() - 10_000;
  for (let i = 0; i < n; i++) {
    const root = tracer.startSpan(`GET /item/${i}`, { startTime: start + i, attributes: opts.keep ? { 'test.keep': 'yes' } : {} });
    const ctx = otelTrace.setSpan(context.active(), root);
    tracer.startSpan('SELECT item', { startTime: start + i + 1 }, ctx).end(start + i + 2);
    const pay = tracer.startSpan('POST /pay', { startTime: start + i + 3 }, ctx);
    if (opts.error?.(i)) pay.setStatus({ code: SpanStatusCode.ERROR, message: 'declined' });
    pay.end(start + i + 4);
    root.end(start + i + 5);
    ids.push(root.spanContext().traceId);
  }
  const byTrace = new Map(ids.map((id) => [id, [] as ReadableSpan[]]));
  for (const s of memory.getFinishedSpans()) byTrace.get(s.spanContext().traceId)!.push(s);
  return [...byTrace.values()];
}

const traceIdOf = (spans: readonly ReadableSpan[]) => spans[0]!.spanContext().traceId;

/** The span IDs an instance returns for a trace, sorted; undefined when it has none. */
async function storedSpanIds(skein: SkeinProcess, traceId: string): Promise<string[] | undefined> {
  const res = await fetch(`${skein.url}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, await res.clone().text());
  const batch = decodeOtlpJson(await res.text(), { ids: 'base64' });
  return batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => toHex(s.spanId)))).sort();
}

const spanIdsOf = (spans: readonly ReadableSpan[]) => spans.map((s) => s.spanContext().spanId).sort();

async function waitUntilAllDecided(skein: SkeinProcess): Promise<void> {
  await waitFor(`the sampler of ${skein.url} to decide every trace`, async () => (await metric(skein, 'skein_tail_sampling_buffered_traces', { processor: PROCESSOR })) === 0);
}

describe('a cluster of three routes spans by trace to their owner', () => {
  let s3: S3Server;
  let cluster: Instance[] = [];
  let reference: SkeinProcess;
  let ring: Ring;
  const ownerOf = (traceId: string): Instance => {
    const id = ring.owner(fromHex(traceId)!);
    return cluster.find((i) => i.id === id)!;
  };

  before(async () => {
    s3 = await startS3Server();
    const ports = await reservePorts(6);
    const addr = (i: number) => ({ grpc: `127.0.0.1:${ports[2 * i]!}`, http: `127.0.0.1:${ports[2 * i + 1]!}` });
    const peers = [0, 1, 2].map((i) => `    - { otlp_grpc: "${addr(i).grpc}", http: "${addr(i).http}" }`).join('\n');
    const config = `${SAMPLING}
storage:
${s3.storageYaml()}
cluster:
  compactor: "${addr(0).grpc}"
  peers:
${peers}
`;
    const started = await Promise.all(
      [0, 1, 2].map((i) => startSkein({ configYaml: config, env: { SKEIN_OTLP_GRPC_ADDR: addr(i).grpc, SKEIN_HTTP_ADDR: addr(i).http } })),
    );
    cluster = started.map((skein, i) => ({ skein, id: addr(i).grpc }));
    reference = await startSkein({ configYaml: SAMPLING });
    ring = new Ring(cluster.map((i) => i.id));
  });

  after(async () => {
    await Promise.all([...cluster.map((i) => i.skein.stop()), reference?.stop()]);
    await s3?.stop();
  });

  test('every instance sees the same three peers, shares of the ring and queues to the other two', async () => {
    for (const { skein, id } of cluster) {
      const res = await fetch(`${skein.url}/api/skein/cluster`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        self: { id: string };
        routing: boolean;
        peers: Array<{ id: string; self: boolean; ringShare: number; forwardQueue: { batches: number; capacity: number } | null }>;
      };
      assert.equal(body.self.id, id);
      assert.equal(body.routing, true);
      assert.deepEqual(body.peers.map((p) => p.id), cluster.map((i) => i.id).sort());
      assert.deepEqual(body.peers.filter((p) => p.self).map((p) => p.id), [id]);
      const shares = ring.shares();
      for (const p of body.peers) {
        assert.equal(p.ringShare, shares.get(p.id));
        assert.equal(p.forwardQueue === null, p.self, 'a queue to every other peer, none to itself');
        if (p.forwardQueue) assert.equal(p.forwardQueue.capacity, 10000);
      }
    }
    const plain = await fetch(`${reference.url}/api/skein/cluster`);
    assert.equal(plain.status, 404, 'an instance outside a cluster says so');
  });

  test('A: spans of many traces sent to one instance are stored by each trace\'s owner only', async () => {
    const sent = traces(120, { keep: true, service: 'routing' });
    const storedBefore = await Promise.all(cluster.map((i) => metric(i.skein, 'skein_spans_stored_total')));
    const routedBefore = await metricsText(cluster[0]!.skein);
    for (let i = 0; i < sent.length; i += 40) await exportTo(cluster[0]!.skein, sent.slice(i, i + 40).flat());

    const expected = new Map(cluster.map((i) => [i.id, 0]));
    for (const t of sent) expected.set(ownerOf(traceIdOf(t)).id, expected.get(ownerOf(traceIdOf(t)).id)! + t.length);
    for (const count of expected.values()) assert.ok(count > 0, 'every instance owns some of the traces');

    // The receiving instance kept its own share and forwarded the rest, counted by owner.
    const routed = await metricsText(cluster[0]!.skein);
    const delta = (decision: string, peer: string) =>
      metricValue(routed, 'skein_cluster_routed_spans_total', { decision, peer }) - metricValue(routedBefore, 'skein_cluster_routed_spans_total', { decision, peer });
    assert.equal(delta('owned', cluster[0]!.id), expected.get(cluster[0]!.id));
    assert.equal(delta('forwarded', cluster[1]!.id), expected.get(cluster[1]!.id));
    assert.equal(delta('forwarded', cluster[2]!.id), expected.get(cluster[2]!.id));

    // Each instance stores exactly the spans of the traces it owns (kept by the sampler after its wait).
    await Promise.all(
      cluster.map((inst, i) =>
        waitFor(`${inst.id} to store the spans of its traces`, async () => (await metric(inst.skein, 'skein_spans_stored_total')) - storedBefore[i]! === expected.get(inst.id)),
      ),
    );
    for (const [i, inst] of cluster.entries()) {
      const text = await metricsText(inst.skein);
      assert.equal(metricValue(text, 'skein_spans_stored_total') - storedBefore[i]!, expected.get(inst.id), `${inst.id} stores no more than its own`);
      // Forwarded spans are never routed again: the peers forwarded nothing.
      if (i > 0) assert.equal(metricValue(text, 'skein_cluster_routed_spans_total', { decision: 'forwarded' }), 0);
    }
    // Each trace whole on its owner.
    for (const t of sent.slice(0, 10)) assert.deepEqual(await storedSpanIds(ownerOf(traceIdOf(t)).skein, traceIdOf(t)), spanIdsOf(t));
    await waitFor('the forward queues to drain', async () => (await metric(cluster[0]!.skein, 'skein_exporter_queue_size')) === 0);
  });

  test('B: a trace whose spans arrived at three instances is sampled once, on its owner, as one instance samples it', async () => {
    // Half the traces fail in their third span; the rest have nothing a policy keeps.
    const sent = traces(30, { error: (i) => i % 2 === 0, service: 'sampling' });
    const before = await Promise.all(cluster.map(async (i) => metricsText(i.skein)));
    // Span k of every trace goes to instance k: each trace's spans arrive at all three.
    await Promise.all(cluster.map((inst, k) => exportTo(inst.skein, sent.map((t) => t[k]!))));
    await exportTo(reference, sent.flat());

    await Promise.all([...cluster.map((i) => waitUntilAllDecided(i.skein)), waitUntilAllDecided(reference)]);
    const expectedKept = sent.filter((t) => t.some((s) => s.status.code === SpanStatusCode.ERROR));
    assert.equal(expectedKept.length, 15);
    await waitFor('the reference to store the error traces whole', async () => {
      for (const t of expectedKept) if (JSON.stringify(await storedSpanIds(reference, traceIdOf(t))) !== JSON.stringify(spanIdsOf(t))) return false;
      return true;
    });
    await waitFor('each owner to store its error traces whole', async () => {
      for (const t of expectedKept) if (JSON.stringify(await storedSpanIds(ownerOf(traceIdOf(t)).skein, traceIdOf(t))) !== JSON.stringify(spanIdsOf(t))) return false;
      return true;
    });

    // Every trace was decided exactly once in the cluster, by its owner, with the reference's decision.
    for (const [k, inst] of cluster.entries()) {
      const text = await metricsText(inst.skein);
      const decided = (name: string) => metricValue(text, name, { processor: PROCESSOR }) - metricValue(before[k]!, name, { processor: PROCESSOR });
      const owned = sent.filter((t) => ownerOf(traceIdOf(t)) === inst);
      assert.equal(decided('skein_tail_sampling_traces_sampled_total'), owned.filter((t) => expectedKept.includes(t)).length, `${inst.id} kept its error traces`);
      assert.equal(decided('skein_tail_sampling_traces_dropped_total'), owned.filter((t) => !expectedKept.includes(t)).length, `${inst.id} dropped its other traces`);
    }
    for (const t of sent) {
      const kept = expectedKept.includes(t);
      const onReference = await storedSpanIds(reference, traceIdOf(t));
      const onOwner = await storedSpanIds(ownerOf(traceIdOf(t)).skein, traceIdOf(t));
      assert.deepEqual(onOwner, onReference, `trace ${traceIdOf(t)}: the cluster decided as one instance does`);
      assert.deepEqual(onOwner, kept ? spanIdsOf(t) : undefined);
    }
  });

  test('C: a request marked forwarded stays where it arrives, whatever the ring says', async () => {
    const target = cluster[1]!;
    const notOwned = traces(40, { keep: true, service: 'forwarded' }).filter((t) => ownerOf(traceIdOf(t)) !== target);
    assert.ok(notOwned.length > 0);
    const spans = notOwned.flat();
    const before = await Promise.all(cluster.map((i) => metricsText(i.skein)));

    const metadata = new Metadata();
    metadata.set('x-skein-forwarded', '1');
    const exporter = new GrpcExporter({ url: `http://${target.id}`, metadata });
    try {
      const code = await new Promise<ExportResultCode>((resolve) => exporter.export(spans, (r) => resolve(r.code)));
      assert.equal(code, ExportResultCode.SUCCESS);
    } finally {
      await exporter.shutdown();
    }
    // Acknowledged without routing: the router of the receiving instance saw none of it.
    const routed = (text: string) => metricValue(text, 'skein_cluster_routed_spans_total');
    assert.equal(routed(await metricsText(target.skein)), routed(before[1]!));

    await waitFor('the receiving instance to store every span', async () => (await metric(target.skein, 'skein_spans_stored_total')) - metricValue(before[1]!, 'skein_spans_stored_total') === spans.length);
    for (const [k, inst] of cluster.entries()) {
      if (inst === target) continue;
      const text = await metricsText(inst.skein);
      assert.equal(metricValue(text, 'skein_spans_stored_total'), metricValue(before[k]!, 'skein_spans_stored_total'), `${inst.id}, the ring's owner, got none of them`);
    }
  });

  test('no instance logged a warning or an error', () => {
    for (const { skein, id } of cluster) {
      const bad = skein.logs.filter((l) => l['level'] === 'warn' || l['level'] === 'error');
      assert.deepEqual(bad, [], `${id} logged problems`);
    }
  });
});
