// The names Tempo's and the collector's dashboards and alerts query (test/fixtures/metric-names),
// against what a real Skein serves on /metrics after real traffic: the OpenTelemetry SDK's
// exporters over gRPC and HTTP, a request with an invalid span, a tail-sampling and batching
// pipeline forwarding to a second Skein, a flush and a trace lookup. The served names are
// compared with explicit lists, so a name lost and a name added both show, and the values
// with the skein_* figures they are views of. docs/metrics.md must account for every name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpanKind, trace, context, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, span } from '../helpers/spans.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';
import { waitFor } from '../helpers/poll.js';
import { Counter, Histogram } from 'prom-client';
import { decodeExportResponse } from '../../src/pipeline/exporters/otlp/responses.js';
import { SKEIN_VERSION } from '../../src/version.js';
import { collectorCounter, serveCompat, tempoRoute } from '../../src/telemetry/compat-metrics.js';
import { registry } from '../../src/telemetry/metrics.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TENANT = 'single-tenant';

function fixture(file: string): string[] {
  return readFileSync(`${ROOT}test/fixtures/metric-names/${file}`, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The metric families a scrape declares (`# TYPE name type`). */
function families(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) /.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

const SERVED_FROM_TEMPO_MIXIN = [
  'tempo_build_info',
  'tempo_discarded_spans_total',
  'tempo_distributor_bytes_received_total',
  'tempo_distributor_spans_received_total',
  'tempo_ingester_blocks_flushed_total',
  'tempo_ingester_bytes_received_total',
  'tempo_ingester_failed_flushes_total',
  'tempo_ingester_flush_duration_seconds',
  'tempo_ingester_live_traces',
  'tempo_ingester_traces_created_total',
  'tempo_receiver_accepted_spans',
  'tempo_receiver_refused_spans',
  'tempo_request_duration_seconds',
  'tempodb_blocklist_length',
  'tempodb_blocklist_poll_duration_seconds',
  'tempodb_blocklist_poll_errors_total',
  'tempodb_blocklist_tenant_index_age_seconds',
  'tempodb_compaction_blocks_total',
  'tempodb_compaction_bytes_written_total',
  'tempodb_compaction_objects_combined_total',
  'tempodb_compaction_objects_written_total',
  'tempodb_retention_deleted_total',
];

const SERVED_FROM_COLLECTOR = [
  'otelcol_exporter_enqueue_failed_spans',
  'otelcol_exporter_enqueue_failed_spans_total',
  'otelcol_exporter_queue_capacity',
  'otelcol_exporter_queue_size',
  'otelcol_exporter_send_failed_spans',
  'otelcol_exporter_send_failed_spans_total',
  'otelcol_exporter_sent_spans',
  'otelcol_exporter_sent_spans_total',
  'otelcol_process_cpu_seconds',
  'otelcol_process_cpu_seconds_total',
  'otelcol_process_memory_rss',
  'otelcol_process_runtime_heap_alloc_bytes',
  'otelcol_process_uptime',
  'otelcol_processor_batch_batch_send_size',
  'otelcol_processor_batch_batch_size_trigger_send',
  'otelcol_processor_batch_timeout_trigger_send',
  'otelcol_receiver_accepted_spans',
  'otelcol_receiver_accepted_spans_total',
  'otelcol_receiver_refused_spans',
  'otelcol_receiver_refused_spans_total',
];

/** Served beside the above though no dashboard of the fixtures queries them (the other spelling, tail sampling). */
const SERVED_BEYOND_FIXTURES = [
  'otelcol_processor_batch_batch_size_trigger_send_total',
  'otelcol_processor_batch_timeout_trigger_send_total',
  'otelcol_processor_tail_sampling_count_traces_sampled',
  'otelcol_processor_tail_sampling_count_traces_sampled_total',
  'otelcol_processor_tail_sampling_sampling_traces_on_memory',
];

/** Traces shaped like a service's: a server span with two nested client spans each. */
function emitTraces(tracer: Tracer, count: number): void {
  for (let t = 0; t < count; t++) {
    const root = tracer.startSpan(`GET /orders/${t}`, { kind: SpanKind.SERVER });
    const ctx = trace.setSpan(context.active(), root);
    const child = tracer.startSpan('orders.load', { kind: SpanKind.CLIENT }, ctx);
    tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT }, trace.setSpan(ctx, child)).end();
    child.end();
    root.end();
  }
}

/** Sends `count` traces through an SDK provider exporting with `exporter`; returns the trace IDs and how many spans it exported. */
async function sendWithSdk(exporter: SpanExporter, count: number): Promise<{ traceIds: Set<string>; spans: number }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders' }),
    spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(exporter, { maxExportBatchSize: 8, scheduledDelayMillis: 20 })],
  });
  emitTraces(provider.getTracer('compat-metrics-test'), count);
  await provider.forceFlush();
  const sent = memory.getFinishedSpans();
  await provider.shutdown();
  return { traceIds: new Set(sent.map((s) => s.spanContext().traceId)), spans: sent.length };
}

describe('Tempo and collector metric names on /metrics', () => {
  let downstream: SkeinProcess;
  let skein: SkeinProcess;
  let text: string;
  let sdkSpans = 0;
  let sdkTraces = 0;
  let traceId = '';

  before(async () => {
    downstream = await startSkein();
    skein = await startSkein({
      configYaml: `pipeline:
  processors: [batch, tail_sampling]
  exporters: [store, otlp/down]
processors:
  batch: {timeout: 20ms}
  tail_sampling:
    decision_wait: 200ms
    policies:
      - {name: everything, type: always_sample}
exporters:
  otlp/down:
    endpoint: ${downstream.grpcAddr}
    tls: {insecure: true}
`,
    });
    const grpc = await sendWithSdk(new GrpcExporter({ url: `http://${skein.grpcAddr}` }), 4);
    const http = await sendWithSdk(new ProtoExporter({ url: `${skein.otlpHttpUrl}/v1/traces` }), 3);
    sdkSpans = grpc.spans + http.spans;
    sdkTraces = grpc.traceIds.size + http.traceIds.size;
    traceId = [...grpc.traceIds][0]!;

    // A span that ends before it starts is refused; the valid one beside it is taken.
    const id = newTraceId();
    const valid = span({ traceId: id });
    const invalid = { ...span({ traceId: id }), endTimeUnixNano: valid.startTimeUnixNano - 1n };
    const res = await postProtobuf(skein.otlpHttpUrl, batchOf('orders', [valid, invalid]));
    assert.equal(res.status, 200);
    assert.equal(decodeExportResponse(new Uint8Array(await res.arrayBuffer()))?.rejectedSpans, 1);

    // Every trace decided, stored and forwarded; then cut into a block and looked up once.
    await waitFor('every span sampled, stored and forwarded', async () => {
      const m = await metricsText(skein);
      const stored = metricValue(m, 'skein_spans_stored_total');
      return stored === sdkSpans + 1 && metricValue(m, 'skein_exporter_sent_spans_total') === stored && metricValue(m, 'skein_exporter_queue_size') === 0;
    });
    assert.equal((await fetch(`${skein.url}/flush`, { method: 'POST' })).status, 204);
    assert.equal((await fetch(`${skein.url}/api/traces/${traceId}`)).status, 200);
    text = await metricsText(skein);
  });

  after(async () => {
    await skein?.stop();
    await downstream?.stop();
  });

  test('of the Tempo mixin\'s names, Skein serves exactly these', () => {
    const served = families(text);
    assert.deepEqual(fixture('tempo-mixin.txt').filter((n) => served.has(n)), SERVED_FROM_TEMPO_MIXIN);
  });

  test("of the collector's documented and charted names, Skein serves exactly these", () => {
    const served = families(text);
    assert.deepEqual(fixture('otel-collector.txt').filter((n) => served.has(n)), SERVED_FROM_COLLECTOR);
  });

  test('no other tempo_*, tempodb_* or otelcol_* name is served', () => {
    const ours = [...families(text)].filter((n) => /^(tempo|tempodb|otelcol)_/.test(n)).sort();
    assert.deepEqual(ours, [...SERVED_FROM_TEMPO_MIXIN, ...SERVED_FROM_COLLECTOR, ...SERVED_BEYOND_FIXTURES].sort());
  });

  test('receiver and distributor counts agree with skein_receiver_*, with the collector\'s receiver and transport labels', () => {
    const v = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels);
    const accepted = v('skein_receiver_accepted_spans_total');
    assert.equal(accepted, sdkSpans + 1);
    for (const name of ['otelcol_receiver_accepted_spans', 'otelcol_receiver_accepted_spans_total', 'tempo_receiver_accepted_spans']) {
      assert.equal(v(name), accepted, name);
      assert.equal(v(name, { receiver: 'otlp', transport: 'grpc' }), v('skein_receiver_accepted_spans_total', { transport: 'grpc' }), `${name} over grpc`);
      assert.equal(v(name, { receiver: 'otlp', transport: 'http' }), v('skein_receiver_accepted_spans_total', { transport: 'http_protobuf' }), `${name} over http`);
    }
    for (const name of ['otelcol_receiver_refused_spans', 'otelcol_receiver_refused_spans_total', 'tempo_receiver_refused_spans']) {
      assert.equal(v(name, { receiver: 'otlp', transport: 'http' }), 1, name);
    }
    assert.equal(v('tempo_discarded_spans_total', { tenant: TENANT, reason: 'end_before_start' }), 1);
    assert.equal(v('tempo_discarded_spans_total'), v('skein_discarded_spans_total'));

    // The distributor counts what came within the rate, the refused span too.
    assert.equal(v('tempo_distributor_spans_received_total', { tenant: TENANT }), sdkSpans + 2);
    assert.equal(v('tempo_distributor_spans_received_total'), v('skein_receiver_received_spans_total'));
    assert.ok(v('tempo_distributor_bytes_received_total', { tenant: TENANT }) > 0);
    assert.equal(v('tempo_distributor_bytes_received_total'), v('skein_receiver_received_bytes_total'));
  });

  test("ingester and tempodb figures agree with the store's", () => {
    const v = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels);
    assert.equal(v('tempo_ingester_bytes_received_total', { tenant: TENANT }), v('skein_stored_bytes_total', { tenant: TENANT }));
    assert.ok(v('tempo_ingester_bytes_received_total') > 0);
    // Every trace started in the head once at least (again, should a cut have come between its spans).
    assert.ok(v('tempo_ingester_traces_created_total', { tenant: TENANT }) >= sdkTraces + 1);
    assert.equal(v('tempo_ingester_traces_created_total'), v('skein_head_traces_created_total'));
    assert.equal(v('tempo_ingester_live_traces', { tenant: TENANT }), 0, 'the flush emptied the head');
    assert.equal(v('tempo_ingester_live_traces'), v('skein_head_traces'));
    assert.ok(v('tempo_ingester_blocks_flushed_total') >= 1);
    assert.equal(v('tempo_ingester_blocks_flushed_total'), v('skein_block_write_duration_seconds_count', { reason: 'flush' }));
    assert.equal(v('tempo_ingester_flush_duration_seconds_count'), v('skein_flush_duration_seconds_count'));
    assert.equal(v('tempo_ingester_failed_flushes_total'), 0);
    assert.match(text, /^tempo_ingester_failed_flushes_total 0$/m, 'an unlabelled counter shows 0 before its first increment');
    assert.equal(v('tempodb_blocklist_length', { tenant: TENANT }), v('skein_blocks', { tenant: TENANT }));
    assert.ok(v('tempodb_blocklist_length', { tenant: TENANT }) >= 1);
    assert.equal(v('tempodb_blocklist_poll_errors_total'), v('skein_blocklist_poll_failures_total'));
    assert.equal(v('tempodb_retention_deleted_total'), v('skein_retention_deleted_blocks_total'));
  });

  test("the query API's and the receivers' request times under Tempo's name and route values", () => {
    const labels = { method: 'GET', route: 'api_traces_traceid', status_code: '200' };
    assert.equal(metricValue(text, 'tempo_request_duration_seconds_count', labels), 1);
    assert.equal(
      metricValue(text, 'tempo_request_duration_seconds_count', labels),
      metricValue(text, 'skein_http_request_duration_seconds_count', { ...labels, route: '/api/traces/:traceId' }),
    );
    assert.equal(
      metricValue(text, 'tempo_request_duration_seconds_bucket', { ...labels, le: '+Inf' }),
      metricValue(text, 'tempo_request_duration_seconds_count', labels),
    );
    // The receivers' requests, under the route Tempo's gateway gives OTLP/gRPC exports.
    const grpcExports = { method: 'gRPC', route: 'opentelemetry_proto_collector_trace_v1_traceservice_export', status_code: 'success' };
    assert.ok(metricValue(text, 'tempo_request_duration_seconds_count', grpcExports) >= 1);
    assert.equal(
      metricValue(text, 'tempo_request_duration_seconds_count', grpcExports),
      metricValue(text, 'skein_receiver_request_duration_seconds_count', { transport: 'grpc', outcome: 'accepted' }),
    );
    const httpExports = { method: 'POST', route: 'v1_traces', status_code: '200' };
    assert.ok(metricValue(text, 'tempo_request_duration_seconds_count', httpExports) >= 2);
    assert.equal(
      metricValue(text, 'tempo_request_duration_seconds_count', httpExports),
      metricValue(text, 'skein_receiver_request_duration_seconds_count', { transport: 'http_protobuf', outcome: 'accepted' }),
    );
    assert.equal(metricValue(text, 'tempo_build_info', { version: SKEIN_VERSION }), 1);
  });

  test("exporter, tail-sampling and batch figures agree with Skein's, labelled by component as the collector labels them", () => {
    const v = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels);
    const sent = v('skein_exporter_sent_spans_total', { exporter: 'otlp/down' });
    assert.equal(sent, sdkSpans + 1);
    assert.equal(v('otelcol_exporter_sent_spans', { exporter: 'otlp/down' }), sent);
    assert.equal(v('otelcol_exporter_sent_spans_total', { exporter: 'otlp/down' }), sent);
    assert.equal(v('otelcol_exporter_send_failed_spans'), v('skein_exporter_failed_spans_total'));
    assert.equal(v('otelcol_exporter_enqueue_failed_spans'), v('skein_exporter_enqueue_failed_spans_total'));
    assert.equal(v('otelcol_exporter_queue_size', { exporter: 'otlp/down' }), v('skein_exporter_queue_size', { exporter: 'otlp/down' }));
    assert.equal(v('otelcol_exporter_queue_capacity', { exporter: 'otlp/down' }), v('skein_exporter_queue_capacity', { exporter: 'otlp/down' }));
    assert.ok(v('otelcol_exporter_queue_capacity', { exporter: 'otlp/down' }) > 0);

    const sampled = { policy: 'everything', sampled: 'true' };
    assert.equal(v('otelcol_processor_tail_sampling_count_traces_sampled', sampled), sdkTraces + 1);
    assert.equal(v('otelcol_processor_tail_sampling_count_traces_sampled', sampled), v('skein_tail_sampling_traces_sampled_total', { policy: 'everything' }));
    assert.equal(v('otelcol_processor_tail_sampling_sampling_traces_on_memory'), v('skein_tail_sampling_buffered_traces'));

    assert.ok(v('otelcol_processor_batch_batch_send_size_count', { processor: 'batch' }) >= 1);
    assert.equal(v('otelcol_processor_batch_batch_send_size_count', { processor: 'batch' }), v('skein_batch_send_size_count', { processor: 'batch' }));
    assert.equal(v('otelcol_processor_batch_batch_send_size_sum', { processor: 'batch' }), sdkSpans + 1);
    assert.equal(v('otelcol_processor_batch_timeout_trigger_send', { processor: 'batch' }), v('skein_batch_sends_total', { processor: 'batch', trigger: 'timeout' }));
    assert.equal(v('otelcol_processor_batch_batch_size_trigger_send', { processor: 'batch' }), v('skein_batch_sends_total', { processor: 'batch', trigger: 'size' }));

    assert.ok(v('otelcol_process_memory_rss') > 0);
    assert.ok(v('otelcol_process_uptime') > 0);
    assert.ok(v('otelcol_process_cpu_seconds') > 0);
    assert.ok(v('otelcol_process_runtime_heap_alloc_bytes') > 0);
  });

  test('docs/metrics.md accounts for every name of the fixtures, served or not', () => {
    const doc = readFileSync(`${ROOT}docs/metrics.md`, 'utf8');
    const missing = [...fixture('tempo-mixin.txt'), ...fixture('otel-collector.txt'), ...SERVED_BEYOND_FIXTURES].filter((n) => !doc.includes(`\`${n}\``));
    assert.deepEqual(missing, []);
  });
});

describe('serveCompat: a view of an instrument, relabelled', () => {
  test("Tempo's route values: runs of other characters become _, trimmed, lower-cased", () => {
    assert.equal(tempoRoute('/api/traces/:traceId'), 'api_traces_traceid');
    assert.equal(tempoRoute('/api/v2/search/tag/:tagName/values'), 'api_v2_search_tag_tagname_values');
    assert.equal(tempoRoute('/api/search'), 'api_search');
    assert.equal(tempoRoute('/'), 'root');
  });

  test('a histogram keeps its buckets; series that lose their distinguishing label are added up bucket by bucket', async () => {
    const source = new Histogram({ name: 'compat_test_source_seconds', help: 'h', labelNames: ['route', 'tenant'], buckets: [0.1, 1], registers: [] });
    source.observe({ route: '/a', tenant: 'x' }, 0.05);
    source.observe({ route: '/a', tenant: 'y' }, 0.5);
    source.observe({ route: '/b', tenant: 'x' }, 5);
    serveCompat({ name: 'compat_test_view_seconds', help: 'view', from: { metric: source, labels: { route: (l) => tempoRoute(String(l['route'])) } } });
    const text = await registry.getSingleMetricAsString('compat_test_view_seconds');
    assert.equal(
      text,
      [
        '# HELP compat_test_view_seconds view',
        '# TYPE compat_test_view_seconds histogram',
        'compat_test_view_seconds_bucket{route="a",le="0.1"} 1',
        'compat_test_view_seconds_bucket{route="a",le="1"} 2',
        'compat_test_view_seconds_bucket{route="a",le="+Inf"} 2',
        'compat_test_view_seconds_sum{route="a"} 0.55',
        'compat_test_view_seconds_count{route="a"} 2',
        'compat_test_view_seconds_bucket{route="b",le="0.1"} 0',
        'compat_test_view_seconds_bucket{route="b",le="1"} 0',
        'compat_test_view_seconds_bucket{route="b",le="+Inf"} 1',
        'compat_test_view_seconds_sum{route="b"} 5',
        'compat_test_view_seconds_count{route="b"} 1',
      ].join('\n'),
    );
  });

  test("several instruments into one family with constant labels, under both of the collector's spellings; an unlabelled counter starts at 0", async () => {
    const kept = new Counter({ name: 'compat_test_kept_total', help: 'k', labelNames: ['policy', 'processor'], registers: [] });
    const dropped = new Counter({ name: 'compat_test_dropped_total', help: 'd', labelNames: ['policy', 'processor'], registers: [] });
    kept.inc({ policy: 'all', processor: 'p1' }, 2);
    kept.inc({ policy: 'all', processor: 'p2' }, 3);
    dropped.inc({ policy: 'none', processor: 'p1' });
    serveCompat({
      name: collectorCounter('compat_test_traces'),
      help: 'view',
      from: [
        { metric: kept, labels: { policy: 'policy', sampled: () => 'true' } },
        { metric: dropped, labels: { policy: 'policy', sampled: () => 'false' }, where: (l) => l['processor'] === 'p1' },
      ],
    });
    for (const name of ['compat_test_traces', 'compat_test_traces_total']) {
      const text = await registry.getSingleMetricAsString(name);
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
      assert.match(text, new RegExp(`^${name}\\{policy="all",sampled="true"\\} 5$`, 'm'));
      assert.match(text, new RegExp(`^${name}\\{policy="none",sampled="false"\\} 1$`, 'm'));
    }
    // A name served already gains the sources a second component declares; a family keeps one type.
    const more = new Counter({ name: 'compat_test_more_total', help: 'm', labelNames: ['policy'], registers: [] });
    more.inc({ policy: 'late' }, 4);
    serveCompat({ name: 'compat_test_traces', help: 'view', from: { metric: more, labels: { policy: 'policy', sampled: () => 'true' } } });
    assert.match(await registry.getSingleMetricAsString('compat_test_traces'), /^compat_test_traces\{policy="late",sampled="true"\} 4$/m);
    assert.doesNotMatch(await registry.getSingleMetricAsString('compat_test_traces_total'), /late/);
    assert.throws(() => serveCompat({ name: 'compat_test_traces', help: 'view', type: 'gauge', from: { read: () => 1 } }), /compat_test_traces is a counter; a gauge cannot join it/);
    const idle = new Counter({ name: 'compat_test_idle_total', help: 'i', labelNames: ['tenant'], registers: [] });
    serveCompat({ name: 'compat_test_idle_view_total', help: 'view', from: { metric: idle } });
    assert.match(await registry.getSingleMetricAsString('compat_test_idle_view_total'), /^compat_test_idle_view_total 0$/m);
  });
});
