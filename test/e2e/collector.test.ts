// Collector mode end to end: `skein serve --target collector` in front of a
// second Skein (target all). The real OpenTelemetry SDK sends to the
// collector; everything is read back from the downstream's Tempo API. Covers
// forwarding over OTLP/gRPC and OTLP/HTTP, tail sampling in the collector, a
// downstream outage (the queue fills, the collector refuses with retryable
// codes, a collector crash in the middle, nothing acknowledged lost), and
// that a collector never opens the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { credentials, makeGenericClientConstructor, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { flattenBatch } from '../../src/otlp/assemble.js';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex, type ResourceSpans, type StoredSpan } from '../../src/otlp/model.js';
import { encodeTracesData } from '../../src/otlp/protobuf.js';
import { startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { expectedSpan } from '../helpers/sdk.js';
import { plainBatch, plainSpans } from '../helpers/compare.js';
import { postProtobuf, simpleTrace } from '../helpers/spans.js';
import { waitFor } from '../helpers/poll.js';
import { TRACE_EXPORT_PATH, passBytes, rawTraceService } from '../../src/otlp/grpc-service.js';
import { metricsText } from '../helpers/metrics-text.js';

/** The downstream's answer for a trace: its spans, or undefined while it has none. */
async function getTrace(skein: SkeinProcess, traceId: string, tenant?: string): Promise<ResourceSpans[] | undefined> {
  const res = await fetch(`${skein.url}/api/traces/${traceId}`, { headers: tenant ? { 'x-scope-orgid': tenant } : {} });
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, await res.clone().text());
  return decodeOtlpJson(await res.text(), { ids: 'base64' });
}

/** Polls the downstream until the trace holds exactly `expected` (forwarding is asynchronous). */
async function waitForTrace(skein: SkeinProcess, traceId: string, expected: Array<Record<string, unknown>>, tenant?: string): Promise<void> {
  let last: Array<Record<string, unknown>> = [];
  try {
    await waitFor(`trace ${traceId} downstream`, async () => {
      const got = await getTrace(skein, traceId, tenant);
      last = got ? plainBatch(got) : [];
      return last.length >= expected.length ? true : undefined;
    });
  } catch (err) {
    assert.fail(`${(err as Error).message}: got ${last.length} of ${expected.length} spans`);
  }
  assert.deepEqual(last, expected, `trace ${traceId} as the downstream returns it`);
}


/** The value of one series (exact label set as printed), or undefined when it is absent. */
function metric(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function hostPort(url: string): string {
  return new URL(url).host;
}

/** A collector config: the given `exporters:` block, all of it in the pipeline, optionally processors and more sections. */
function collectorYaml(exporters: string, opts: { processors?: string[]; extra?: string } = {}): string {
  const processors = opts.processors ? `  processors: [${opts.processors.join(', ')}]\n` : '';
  return `exporters:\n${exporters}\npipeline:\n  exporters: [${exporterNames(exporters).join(', ')}]\n${processors}${opts.extra ?? ''}`;
}

/** The top-level names of an indented `exporters:` block. */
function exporterNames(block: string): string[] {
  return [...block.matchAll(/^ {2}([a-z][\w/]*):/gm)].map((m) => m[1]!);
}

async function startCollector(configYaml: string, dataDir = tempDir()): Promise<SkeinProcess> {
  return startSkein({ configYaml, dataDir, args: ['--target', 'collector'] });
}

/** Fast retries so an outage test does not sit out the default 5 s backoff; never give up on a batch. */
const FAST_RETRY = '    retry_on_failure: {initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0}';

/**
 * A collector process never opens the store: no blocks or store WAL in its
 * data directory, and DuckDB's native library is not mapped into it.
 */
function assertNoStore(collector: SkeinProcess): void {
  const entries = readdirSync(collector.dataDir);
  assert.ok(!entries.includes('blocks'), `collector data dir holds ${entries.join(', ')}`);
  assert.ok(!entries.includes('wal'), `collector data dir holds ${entries.join(', ')}`);
  const maps = `/proc/${collector.child.pid}/maps`;
  if (existsSync(maps)) assert.ok(!/duckdb/i.test(readFileSync(maps, 'utf8')), 'DuckDB is loaded into the collector process');
}

/** Traces shaped like a service's: nested spans, attributes of every type, events, links, error status. */
function emitTraces(tracer: Tracer, count: number, attrs: Record<string, string> = {}): void {
  const linked = tracer.startSpan('linked-target');
  linked.end();
  for (let t = 0; t < count; t++) {
    const root = tracer.startSpan(`GET /orders/${t}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.5, cached: false, tags: ['a', 'b'], ...attrs },
    });
    const rootCtx = trace.setSpan(context.active(), root);
    const child = tracer.startSpan('orders.load', { kind: SpanKind.CLIENT, links: [{ context: linked.spanContext(), attributes: { why: 'retry' } }] }, rootCtx);
    child.addEvent('cache.miss', { key: `order:${t}` });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'db timed out' });
    const db = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(rootCtx, child));
    db.end();
    child.end();
    root.end();
  }
}

/** Runs `emit` through an SDK provider exporting with `exporter`; returns what the SDK exported, grouped by trace ID. */
async function sendWithSdk(exporter: SpanExporter, service: string, emit: (tracer: Tracer) => void): Promise<Map<string, StoredSpan[]>> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '2.0.1' }),
    spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(exporter, { maxExportBatchSize: 16, scheduledDelayMillis: 50 })],
  });
  emit(provider.getTracer('skein-collector-e2e', '0.1.0'));
  await provider.forceFlush();
  // Read before shutdown: shutting the in-memory exporter down empties it.
  const sent = memory.getFinishedSpans().map(expectedSpan);
  await provider.shutdown();
  const byTrace = new Map<string, StoredSpan[]>();
  for (const s of sent) {
    const id = toHex(s.span.traceId);
    byTrace.set(id, [...(byTrace.get(id) ?? []), s]);
  }
  return byTrace;
}

const TraceServiceClient = makeGenericClientConstructor(rawTraceService, 'TraceService');

/** One OTLP/gRPC Export, so the test sees the status code an SDK would act on. */
function exportGrpc(addr: string, batch: ResourceSpans[]): Promise<ServiceError | null> {
  const client = new TraceServiceClient(addr, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      TRACE_EXPORT_PATH,
      passBytes,
      passBytes,
      Buffer.from(encodeTracesData(batch)),
      new Metadata(),
      (err: ServiceError | null) => {
        client.close();
        resolve(err);
      },
    );
  });
}

describe('collector mode forwards to a downstream Skein', () => {
  let downstream: SkeinProcess;

  before(async () => {
    downstream = await startSkein();
  });

  after(async () => {
    await downstream.stop();
  });

  test('otlp (gRPC) exporter: every span the SDK sends arrives downstream with every field; the collector stores nothing itself', async () => {
    const collector = await startCollector(
      collectorYaml(`  otlp:
    endpoint: ${downstream.grpcAddr}
    tls: {insecure: true}
    sending_queue: {persistent: true, queue_size: 100}`),
    );
    try {
      const byTrace = await sendWithSdk(new GrpcExporter({ url: `http://${collector.grpcAddr}` }), 'orders-grpc', (t) => emitTraces(t, 12));
      assert.equal(byTrace.size, 13);
      let spans = 0;
      for (const [traceId, sent] of byTrace) {
        spans += sent.length;
        await waitForTrace(downstream, traceId, plainSpans(sent));
      }

      // The collector itself: no trace API, ready, exporter metrics that add up.
      const anyTrace = [...byTrace.keys()][0]!;
      const res = await fetch(`${collector.url}/api/traces/${anyTrace}`);
      assert.equal(res.status, 501);
      assert.match(await res.text(), /--target collector.*stores none/);
      assert.equal((await fetch(`${collector.url}/ready`)).status, 200);
      const text = await waitFor('sent-span count in the collector metrics', async () => {
        const m = await metricsText(collector);
        return metric(m, 'skein_exporter_sent_spans_total{exporter="otlp"}') === spans ? m : undefined;
      });
      assert.equal(metric(text, 'skein_exporter_queue_size{exporter="otlp"}'), 0);
      assert.equal(metric(text, 'skein_exporter_queue_capacity{exporter="otlp"}'), 100);
      assert.equal(metric(text, 'skein_exporter_enqueue_failed_spans_total{exporter="otlp"}') ?? 0, 0);
      assertNoStore(collector);
      assert.ok(existsSync(join(collector.dataDir, 'exporter-queue', 'otlp')), 'the persistent queue lives under the data dir');
    } finally {
      await collector.stop();
    }
  });

  test('otlphttp exporter (protobuf): every span arrives, under the tenant it was sent with', async () => {
    const collector = await startCollector(
      collectorYaml(`  otlphttp/skein:
    endpoint: ${downstream.otlpHttpUrl}
    encoding: proto`),
    );
    try {
      const tenant = 'team-http';
      const byTrace = await sendWithSdk(
        new ProtoExporter({ url: `${collector.otlpHttpUrl}/v1/traces`, headers: { 'X-Scope-OrgID': tenant } }),
        'orders-http',
        (t) => emitTraces(t, 6),
      );
      for (const [traceId, sent] of byTrace) {
        await waitForTrace(downstream, traceId, plainSpans(sent), tenant);
        // Filed under the sender's tenant, not the default one.
        assert.equal(await getTrace(downstream, traceId), undefined);
      }
      const m = await metricsText(collector);
      assert.ok((metric(m, 'skein_exporter_sent_spans_total{exporter="otlphttp/skein"}') ?? 0) > 0, 'exporter metrics carry the configured name');
      assertNoStore(collector);
    } finally {
      await collector.stop();
    }
  });

  test('tail sampling in the collector: sampled traces arrive whole, dropped ones never', async () => {
    const collector = await startCollector(
      collectorYaml(
        `  otlp:
    endpoint: ${downstream.grpcAddr}
    tls: {insecure: true}`,
        {
          processors: ['memory_limiter', 'redaction', 'tail_sampling'],
          extra: `processors:
  tail_sampling:
    decision_wait: 300ms
    policies:
      - name: no-synthetic
        type: drop
        drop:
          drop_sub_policy:
            - {name: synthetic, type: string_attribute, string_attribute: {key: synthetic, values: ['yes']}}
      - {name: everything, type: always_sample}
`,
        },
      ),
    );
    try {
      const exporter = () => new GrpcExporter({ url: `http://${collector.grpcAddr}` });
      const dropped = await sendWithSdk(exporter(), 'checks', (t) => {
        for (let i = 0; i < 4; i++) t.startSpan(`probe ${i}`, { attributes: { synthetic: 'yes' } }).end();
      });
      const kept = await sendWithSdk(exporter(), 'orders-sampled', (t) => emitTraces(t, 5));
      for (const [traceId, sent] of kept) await waitForTrace(downstream, traceId, plainSpans(sent));

      // Once every trace is decided and the exporter's queue is empty, nothing more is on its way.
      await waitFor('all traces decided and forwarded', async () => {
        const m = await metricsText(collector);
        const droppedCount = metric(m, 'skein_tail_sampling_traces_dropped_total{processor="tail_sampling",policy="no-synthetic"}');
        const sampledCount = metric(m, 'skein_tail_sampling_traces_sampled_total{processor="tail_sampling",policy="everything"}');
        const idle = metric(m, 'skein_exporter_queue_size{exporter="otlp"}') === 0;
        return droppedCount === dropped.size && sampledCount === kept.size && idle ? true : undefined;
      });
      for (const traceId of dropped.keys()) assert.equal(await getTrace(downstream, traceId), undefined, `dropped trace ${traceId} was forwarded`);
      assertNoStore(collector);
    } finally {
      await collector.stop();
    }
  });
});

describe('collector mode through a downstream outage', () => {
  test('the queue fills, the collector refuses with retryable codes, survives a crash, and delivers every acknowledged span once the downstream is back', async () => {
    const downDir = tempDir();
    let downstream = await startSkein({ dataDir: downDir });
    // The restarted downstream listens where the collector's exporter dials.
    const samePorts = {
      SKEIN_HTTP_ADDR: hostPort(downstream.url),
      SKEIN_OTLP_GRPC_ADDR: downstream.grpcAddr,
      SKEIN_OTLP_HTTP_ADDR: hostPort(downstream.otlpHttpUrl),
    };
    const QUEUE_SIZE = 4;
    const config = collectorYaml(`  otlp:
    endpoint: ${downstream.grpcAddr}
    tls: {insecure: true}
    sending_queue: {persistent: true, queue_size: ${QUEUE_SIZE}, num_consumers: 2}
${FAST_RETRY}`);
    const collectorDir = tempDir();
    let collector = await startCollector(config, collectorDir);
    /** Trace ID → span IDs of every batch the collector acknowledged. */
    const acked = new Map<string, Set<string>>();
    const send = async (): Promise<Response> => {
      const { traceId, batch } = simpleTrace(3);
      const res = await postProtobuf(collector.otlpHttpUrl, batch);
      if (res.status === 200) acked.set(toHex(traceId), new Set(flattenBatch(batch).map((s) => toHex(s.span.spanId))));
      return res;
    };
    try {
      // While the downstream is up, batches flow.
      for (let i = 0; i < 3; i++) assert.equal((await send()).status, 200);
      for (const traceId of acked.keys()) await waitFor(`trace ${traceId}`, () => getTrace(downstream, traceId));

      await downstream.stop();
      // Accepted into the queue until it is full; then refused, retryably.
      let refused: Response | undefined;
      for (let i = 0; i < QUEUE_SIZE * 3 && !refused; i++) {
        const res = await send();
        if (res.status !== 200) refused = res;
      }
      assert.ok(refused, 'the collector never refused although the downstream is down');
      assert.ok([429, 503].includes(refused.status), `refused with ${refused.status}, not a retryable code`);
      assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'a refusal says when to retry');
      assert.equal(acked.size, 3 + QUEUE_SIZE, 'the queue holds exactly queue_size batches');
      const grpcErr = await exportGrpc(collector.grpcAddr, simpleTrace(2).batch);
      assert.ok(grpcErr, 'gRPC export accepted while the queue is full');
      assert.ok([GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.UNAVAILABLE].includes(grpcErr.code), `gRPC refused with ${grpcErr.code}`);
      // RESOURCE_EXHAUSTED is retryable only with RetryInfo, carried in the status details.
      assert.ok(grpcErr.metadata.get('grpc-status-details-bin').length > 0, 'the gRPC refusal carries RetryInfo');
      const m = await metricsText(collector);
      assert.equal(metric(m, 'skein_exporter_queue_size{exporter="otlp"}'), QUEUE_SIZE);
      assert.ok((metric(m, 'skein_exporter_enqueue_failed_spans_total{exporter="otlp"}') ?? 0) > 0);
      assert.ok((metric(m, 'skein_exporter_retries_total{exporter="otlp"}') ?? 0) > 0);

      // The collector crashes with a full queue: the persistent queue keeps what it acknowledged.
      await collector.kill();
      collector = await startCollector(config, collectorDir);
      // "Done" records are written about once a second, so the three batches
      // delivered just before may be replayed too (at-least-once, as documented).
      const started = collector.logs.find((l) => l['msg'] === 'otlp exporter started');
      assert.ok(Number(started?.['queuedBatches']) >= QUEUE_SIZE, `the restarted collector replays the queued batches: ${JSON.stringify(started)}`);
      assert.notEqual((await send()).status, 200, 'still full after the restart');

      downstream = await startSkein({ dataDir: downDir, env: samePorts });
      for (const [traceId, spanIds] of acked) {
        const got = await waitFor(`acknowledged trace ${traceId} downstream`, async () => {
          const t = await getTrace(downstream, traceId);
          return t && flattenBatch(t).length >= spanIds.size ? t : undefined;
        });
        const gotIds = flattenBatch(got).map((s) => toHex(s.span.spanId));
        assert.deepEqual(new Set(gotIds), spanIds, `trace ${traceId}: spans lost or foreign`);
        assert.equal(gotIds.length, spanIds.size, `trace ${traceId}: a span is returned twice`);
      }
      await waitFor('the queue to drain', async () => (metric(await metricsText(collector), 'skein_exporter_queue_size{exporter="otlp"}') === 0 ? true : undefined));
      // Accepting again, and the new batch goes through.
      const before = acked.size;
      assert.equal((await send()).status, 200);
      assert.equal(acked.size, before + 1);
      const [lastId] = [...acked.keys()].slice(-1);
      await waitFor(`trace ${lastId} downstream`, () => getTrace(downstream, lastId!));
      assertNoStore(collector);
    } finally {
      await collector.stop();
      await downstream.stop();
    }
  });
});
