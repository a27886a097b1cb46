// Tail sampling in a running Skein, configured by examples/skein.production.yaml
// (errors and traces over 500 ms always, 10 % of the rest), fed by the
// OpenTelemetry SDK's OTLP/HTTP protobuf exporter:
//
// - a reference instance keeps every error and slow trace whole and 10 % ± 2 %
//   of the rest, and says so on /metrics;
// - late spans follow their trace's decision;
// - an instance stopped and restarted, and one SIGKILLed while clients send,
//   keep exactly the same traces as the reference (same hash_salt), with every
//   acknowledged span of a kept trace; decisions made before a restart still
//   hold for late spans after it.
//
// decision_wait is shortened for the test; outcomes are polled with generous
// deadlines, never timed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { ExportResultCode } from '@opentelemetry/core';
import { SpanKind, SpanStatusCode, context, trace as otelTrace, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { decodeOtlpJson } from '../../src/otlp/json.js';
import { toHex } from '../../src/otlp/model.js';
import { CLI_PATH, startSkein, tempDir, type SkeinProcess } from '../helpers/skein-process.js';
import { expectedSpan } from '../helpers/sdk.js';
import { plainBatch, plainSpans } from '../helpers/compare.js';
import { waitFor } from '../helpers/poll.js';
import { inParallel } from '../helpers/parallel.js';
import { metricsText, metricValue } from '../helpers/metrics-text.js';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'skein.production.yaml');
const PROCESSOR = 'tail_sampling';

// The workload. The rest are kept with probability p = 0.1, independently per
// (random) trace ID, so the kept fraction of n = 4000 has standard deviation
// sqrt(p(1-p)/n) = 0.47 %: ±2 % is 4.2 standard deviations, a spurious failure
// about once in 40 000 runs.
const REST_TRACES = 4000;
const ERROR_TRACES = 100;
const SLOW_TRACES = 100;
const REST_PERCENT = 10;
const TOLERANCE_PERCENT = 2;
/** Traces per export request: a trace is always sent whole, in one request. */
const TRACES_PER_REQUEST = 50;

type Kind = 'error' | 'slow' | 'rest';
interface SentTrace {
  id: string;
  kind: Kind;
  spans: ReadableSpan[];
}

/** The production example with decision_wait shortened; everything else (policies, hash_salt, pipeline) as shipped. */
function productionConfig(decisionWait: string): string {
  const config = parse(readFileSync(EXAMPLE, 'utf8')) as { processors: Record<string, Record<string, unknown>> };
  config.processors[PROCESSOR]!['decision_wait'] = decisionWait;
  return stringify(config);
}

/** Three spans per trace; error traces fail in a child, slow ones have a child over 500 ms, the rest are quick and fine. */
function generateWorkload(): SentTrace[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop', 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('skein-e2e-tail-sampling', '1.0.0');
  const kinds: Kind[] = [
    ...Array<Kind>(REST_TRACES).fill('rest'),
    ...Array<Kind>(ERROR_TRACES).fill('error'),
    ...Array<Kind>(SLOW_TRACES).fill('slow'),
  ];
  // Interleaved, so that every request mixes the kinds.
  const ordered = interleave(kinds);
  const baseMs = Date.now() - 60_000;
  const traces: SentTrace[] = [];
  ordered.forEach((kind, i) => {
    const start = baseMs + i;
    const root = tracer.startSpan(`GET /cart/${i}`, { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.route': '/cart/:id' } });
    const ctx = otelTrace.setSpan(context.active(), root);
    const db = tracer.startSpan('SELECT cart', { kind: SpanKind.CLIENT, startTime: start + 2, attributes: { 'db.system': 'postgresql' } }, ctx);
    const pay = tracer.startSpan('POST /payment', { kind: SpanKind.CLIENT, startTime: start + 20 }, ctx);
    if (kind === 'error') pay.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    else pay.setStatus({ code: SpanStatusCode.OK });
    db.end(start + 12);
    // A slow trace: one span over 500 ms (and 500 + i % 1000 ms, so many lengths occur).
    const payEnd = kind === 'slow' ? start + 20 + 501 + (i % 1000) : start + 20 + 30 + (i % 100);
    pay.end(payEnd);
    root.end(payEnd + 1);
    traces.push({ id: root.spanContext().traceId, kind, spans: [] });
  });
  const byId = new Map(traces.map((t) => [t.id, t]));
  for (const span of memory.getFinishedSpans()) byId.get(span.spanContext().traceId)!.spans.push(span);
  return traces;
}

/** Spreads the few error and slow traces evenly among the rest. */
function interleave(kinds: Kind[]): Kind[] {
  const rest = kinds.filter((k) => k === 'rest');
  const special = kinds.filter((k) => k !== 'rest');
  const out: Kind[] = [];
  const every = Math.floor(rest.length / special.length);
  for (let i = 0; i < rest.length; i++) {
    if (i % every === 0 && special.length > 0) out.push(special.shift()!);
    out.push(rest[i]!);
  }
  out.push(...special);
  return out;
}

/** One OTLP/HTTP protobuf export through the SDK exporter; true when the server acknowledged it. */
async function exportSpans(exporter: OTLPTraceExporter, spans: ReadableSpan[]): Promise<boolean> {
  return new Promise((resolve) => exporter.export(spans, (result) => resolve(result.code === ExportResultCode.SUCCESS)));
}

function exporterFor(skein: SkeinProcess): OTLPTraceExporter {
  return new OTLPTraceExporter({ url: `${skein.otlpHttpUrl}/v1/traces`, timeoutMillis: 5000 });
}

/** Sends traces in requests of TRACES_PER_REQUEST; every request must be acknowledged. */
async function sendAll(skein: SkeinProcess, traces: readonly SentTrace[]): Promise<void> {
  const exporter = exporterFor(skein);
  try {
    for (let i = 0; i < traces.length; i += TRACES_PER_REQUEST) {
      const chunk = traces.slice(i, i + TRACES_PER_REQUEST);
      assert.ok(await exportSpans(exporter, chunk.flatMap((t) => t.spans)), `request ${i / TRACES_PER_REQUEST} was not acknowledged`);
    }
  } finally {
    await exporter.shutdown();
  }
}

/** The span IDs the server returns for a trace, or undefined when it has none. */
async function storedSpanIds(skein: SkeinProcess, traceId: string): Promise<string[] | undefined> {
  const res = await fetch(`${skein.url}/api/traces/${traceId}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, `/api/traces/${traceId}: ${await res.clone().text()}`);
  const batch = decodeOtlpJson(await res.text(), { ids: 'base64' });
  return batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => toHex(s.spanId)))).sort();
}


/** Which traces the server has, with their span IDs. */
async function storedTraces(skein: SkeinProcess, ids: readonly string[]): Promise<Map<string, string[]>> {
  const found = await inParallel(ids, (id) => storedSpanIds(skein, id));
  const out = new Map<string, string[]>();
  ids.forEach((id, i) => {
    if (found[i]) out.set(id, found[i]!);
  });
  return out;
}

function spanIdsOf(t: SentTrace): string[] {
  return t.spans.map((s) => s.spanContext().spanId).sort();
}



/** Waits until the sampler holds nothing: every trace it has received is decided. */
async function waitUntilAllDecided(skein: SkeinProcess): Promise<void> {
  await waitFor('the sampler to decide every trace', async () => {
    const text = await metricsText(skein);
    return metricValue(text, 'skein_tail_sampling_buffered_traces', { processor: PROCESSOR }) === 0 ? true : undefined;
  });
}

/** Polls until every trace in `kept` is stored with all of its spans (a kept trace reaches the store shortly after its decision). */
async function waitUntilStoredWhole(skein: SkeinProcess, kept: readonly SentTrace[]): Promise<void> {
  let missing = [...kept];
  await waitFor(`${kept.length} kept traces to be stored whole`, async () => {
    const stored = await storedTraces(skein, missing.map((t) => t.id));
    missing = missing.filter((t) => JSON.stringify(stored.get(t.id)) !== JSON.stringify(spanIdsOf(t)));
    return missing.length === 0 ? true : undefined;
  });
}

/** A span of an existing trace, made after the fact (a straggler from a batched client). */
function lateSpanFor(tracer: Tracer, t: SentTrace): ReadableSpan {
  const root = t.spans.find((s) => s.parentSpanContext === undefined)!;
  const late = tracer.startSpan('late.audit', { startTime: root.startTime }, otelTrace.setSpanContext(context.active(), root.spanContext()));
  late.end(root.endTime);
  return late as unknown as ReadableSpan;
}

function replayedTraces(skein: SkeinProcess): number {
  const line = skein.logs.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('tail_sampling: replayed its WAL'));
  assert.ok(line, 'the sampler logs its replay');
  return Number(line['traces']);
}

const workload = generateWorkload();
const byId = new Map(workload.map((t) => [t.id, t]));
/** The reference instance's decisions: trace ID → kept. */
const reference = new Map<string, boolean>();

describe('tail sampling, configured by examples/skein.production.yaml', () => {
  let skein: SkeinProcess;

  before(async () => {
    skein = await startSkein({ configYaml: productionConfig('2s') });
  });

  after(async () => {
    await skein?.stop();
  });

  test('the example is a valid configuration and carries the seed policy', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI_PATH, 'config', 'check', EXAMPLE], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /valid/);
    const config = parse(readFileSync(EXAMPLE, 'utf8')) as {
      processors: Record<string, { policies: Array<Record<string, unknown>> }>;
      pipeline: { processors: string[] };
    };
    assert.deepEqual(config.pipeline.processors, ['memory_limiter', 'redaction', 'tail_sampling', 'batch']);
    assert.deepEqual(
      config.processors[PROCESSOR]!.policies.map(({ name, type, ...settings }) => ({ name, type, settings })),
      [
        { name: 'errors', type: 'status_code', settings: { status_code: { status_codes: ['ERROR'] } } },
        { name: 'slow', type: 'latency', settings: { latency: { threshold_ms: 500 } } },
        { name: 'rest', type: 'probabilistic', settings: { probabilistic: { sampling_percentage: 10, hash_salt: 'skein-production' } } },
      ],
    );
  });

  test('errors and slow traces are kept whole, 10 % ± 2 % of the rest, and /metrics says so', async () => {
    await sendAll(skein, workload);
    await waitUntilAllDecided(skein);
    const mustKeep = workload.filter((t) => t.kind !== 'rest');
    await waitUntilStoredWhole(skein, mustKeep);

    // Every error and slow trace, exactly as the SDK sent it.
    for (const t of mustKeep) {
      const res = await fetch(`${skein.url}/api/traces/${t.id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(plainBatch(decodeOtlpJson(await res.text(), { ids: 'base64' })), plainSpans(t.spans.map(expectedSpan)), `${t.kind} trace ${t.id}`);
    }

    // Every decision is made; the kept traces are the metric's count once all are stored.
    const text = await metricsText(skein);
    const sampledTotal = metricValue(text, 'skein_tail_sampling_traces_sampled_total', { processor: PROCESSOR });
    const droppedTotal = metricValue(text, 'skein_tail_sampling_traces_dropped_total', { processor: PROCESSOR });
    assert.equal(sampledTotal + droppedTotal, workload.length, 'every trace decided once');
    const stored = await waitFor('every sampled trace to be stored', async () => {
      const s = await storedTraces(skein, workload.map((t) => t.id));
      return s.size === sampledTotal ? s : undefined;
    });
    for (const [id, spanIds] of stored) assert.deepEqual(spanIds, spanIdsOf(byId.get(id)!), `kept trace ${id} is whole`);
    for (const t of workload) reference.set(t.id, stored.has(t.id));

    const rest = workload.filter((t) => t.kind === 'rest');
    const keptRest = rest.filter((t) => reference.get(t.id)).length;
    const percent = (100 * keptRest) / rest.length;
    assert.ok(Math.abs(percent - REST_PERCENT) <= TOLERANCE_PERCENT, `kept ${percent.toFixed(2)} % of the rest (${keptRest} of ${rest.length})`);

    // The first policy voting "sample" is credited: errors, then slow, then rest; nothing matched the dropped.
    const metric = (name: string, policy: string) => metricValue(text, name, { processor: PROCESSOR, policy });
    assert.equal(metric('skein_tail_sampling_traces_sampled_total', 'errors'), ERROR_TRACES);
    assert.equal(metric('skein_tail_sampling_traces_sampled_total', 'slow'), SLOW_TRACES);
    assert.equal(metric('skein_tail_sampling_traces_sampled_total', 'rest'), keptRest);
    assert.equal(metric('skein_tail_sampling_traces_dropped_total', 'none'), rest.length - keptRest);
    for (const gauge of ['skein_tail_sampling_buffered_spans', 'skein_tail_sampling_buffered_traces', 'skein_tail_sampling_buffered_bytes']) {
      assert.match(text, new RegExp(`^${gauge}\\{processor="${PROCESSOR}"\\} 0$`, 'm'), `${gauge} is exported and empty once all is decided`);
    }
    assert.match(text, /^skein_tail_sampling_decision_latency_seconds_count\{processor="tail_sampling"\} \d+$/m);
    // The connectors sit before tail_sampling: span metrics count every span, not only those of kept traces.
    assert.equal(metricValue(text, 'traces_spanmetrics_calls_total'), workload.length * 3);
  });

  test('late spans follow their trace\'s decision: added to kept traces, dropped for the others', async () => {
    assert.equal(reference.size, workload.length, 'needs the decisions of the test before');
    const kept = workload.filter((t) => reference.get(t.id)).slice(0, 40);
    const dropped = workload.filter((t) => !reference.get(t.id)).slice(0, 40);
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop' }) });
    const tracer = provider.getTracer('skein-e2e-late');
    const keptLate = kept.map((t) => lateSpanFor(tracer, t));
    const droppedLate = dropped.map((t) => lateSpanFor(tracer, t));
    const before = await metricsText(skein);
    const exporter = exporterFor(skein);
    assert.ok(await exportSpans(exporter, [...keptLate, ...droppedLate]));
    await exporter.shutdown();

    const after = await metricsText(skein);
    const late = (text: string, decision: string) => metricValue(text, 'skein_tail_sampling_late_spans_total', { processor: PROCESSOR, decision });
    assert.equal(late(after, 'sampled') - late(before, 'sampled'), kept.length);
    assert.equal(late(after, 'not_sampled') - late(before, 'not_sampled'), dropped.length);
    await waitFor('late spans of kept traces to be stored', async () => {
      const stored = await storedTraces(skein, kept.map((t) => t.id));
      return kept.every((t, i) => stored.get(t.id)?.includes(keptLate[i]!.spanContext().spanId)) ? true : undefined;
    });
    const storedDropped = await storedTraces(skein, dropped.map((t) => t.id));
    assert.equal(storedDropped.size, 0, 'a late span does not bring a dropped trace back');
    // Not buffered as a new trace either: nothing waits for a decision.
    assert.equal(metricValue(after, 'skein_tail_sampling_buffered_traces', { processor: PROCESSOR }), 0);
  });
});

describe('decisions survive restarts and agree across instances with the same hash_salt', () => {
  // Longer than the reference's: the traces sent just before the stop or the
  // kill must still be waiting then, which is what these tests are about.
  const WAIT = '4s';

  test('stopped and restarted, an instance keeps exactly the reference\'s traces, and late spans still follow decisions made before the stop', async () => {
    assert.equal(reference.size, workload.length, 'needs the reference decisions');
    const dataDir = tempDir();
    const config = productionConfig(WAIT);
    const traces = workload.slice(0, 2400);
    const early = traces.slice(0, 400);
    const waiting = traces.slice(400, 1200);
    const afterRestart = traces.slice(1200);
    let skein = await startSkein({ configYaml: config, dataDir });
    try {
      // The early traces are decided (their kept ones stored) before the stop; the next ones are still waiting at it.
      await sendAll(skein, early);
      await waitUntilAllDecided(skein);
      await waitUntilStoredWhole(skein, early.filter((t) => t.kind !== 'rest'));
      // As in production, where decision_wait is long past for most decided traces: the
      // sampler's WAL has let go of their spans and of the records of their decisions.
      const walDir = join(dataDir, 'sampler', PROCESSOR);
      const segments = () => readdirSync(walDir).filter((f) => f.endsWith('.wal'));
      const withDecisions = segments();
      await waitFor('the decided WAL segments to be deleted', async () => (segments().some((f) => withDecisions.includes(f)) ? undefined : true));
      await sendAll(skein, waiting);
      // Waiting traces show on the buffer gauges (three spans each, held as encoded bytes).
      const buffered = await metricsText(skein);
      const gauge = (name: string) => metricValue(buffered, `skein_tail_sampling_buffered_${name}`, { processor: PROCESSOR });
      assert.ok(gauge('traces') > 0, 'traces wait for their decision');
      assert.equal(gauge('spans'), 3 * gauge('traces'));
      assert.ok(gauge('bytes') > 0);
      assert.equal(await skein.stop(), 0);
      skein = await startSkein({ configYaml: config, dataDir });
      assert.ok(replayedTraces(skein) > 0, 'some traces were still waiting at the stop');

      // Late spans of traces decided before the stop follow those decisions:
      // an error or slow trace gets its late span, a dropped one does not.
      const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'shop' }) });
      const tracer = provider.getTracer('skein-e2e-late');
      const kept = [...early.filter((t) => t.kind !== 'rest').slice(0, 10), ...early.filter((t) => t.kind === 'rest' && reference.get(t.id)).slice(0, 5)];
      const dropped = early.filter((t) => !reference.get(t.id)).slice(0, 15);
      const keptLate = kept.map((t) => lateSpanFor(tracer, t));
      const exporter = exporterFor(skein);
      assert.ok(await exportSpans(exporter, [...keptLate, ...dropped.map((t) => lateSpanFor(tracer, t))]));
      await exporter.shutdown();
      const text = await metricsText(skein);
      const late = (decision: string) => metricValue(text, 'skein_tail_sampling_late_spans_total', { processor: PROCESSOR, decision });
      assert.equal(late('sampled'), kept.length, 'late spans of kept traces forwarded (the decisions were remembered across the restart)');
      assert.equal(late('not_sampled'), dropped.length, 'late spans of dropped traces dropped');
      await waitFor('late spans of kept traces to be stored', async () => {
        const got = await storedTraces(skein, kept.map((t) => t.id));
        return kept.every((t, i) => got.get(t.id)?.includes(keptLate[i]!.spanContext().spanId)) ? true : undefined;
      });

      await sendAll(skein, afterRestart);
      await waitUntilAllDecided(skein);
      const expectedKept = traces.filter((t) => reference.get(t.id));
      const lateIds = new Map(kept.map((t, i) => [t.id, keptLate[i]!.spanContext().spanId]));
      await waitUntilStoredWhole(skein, expectedKept.filter((t) => !lateIds.has(t.id)));
      const stored = await storedTraces(skein, traces.map((t) => t.id));
      assert.deepEqual([...stored.keys()].sort(), expectedKept.map((t) => t.id).sort(), 'the same traces as the reference');
      for (const t of expectedKept) {
        const lateId = lateIds.get(t.id);
        assert.deepEqual(stored.get(t.id), [...spanIdsOf(t), ...(lateId ? [lateId] : [])].sort(), `kept trace ${t.id} is whole`);
      }
    } finally {
      await skein.stop();
    }
  });

  test('SIGKILLed while clients send: buffered traces are decided after restart, no acknowledged span of a kept trace is lost', async () => {
    assert.equal(reference.size, workload.length, 'needs the reference decisions');
    const dataDir = tempDir();
    const config = productionConfig(WAIT);
    const traces = workload.slice(0, 1500);
    const requests: SentTrace[][] = [];
    const perRequest = 10;
    for (let i = 0; i < traces.length; i += perRequest) requests.push(traces.slice(i, i + perRequest));
    let skein = await startSkein({ configYaml: config, dataDir });
    const acked = new Set<number>();
    let next = 0;
    let killed: Promise<void> | undefined;
    const client = async () => {
      const exporter = exporterFor(skein);
      while (killed === undefined && next < requests.length) {
        const i = next++;
        if (!(await exportSpans(exporter, requests[i]!.flatMap((t) => t.spans)))) break; // the server is gone
        acked.add(i);
        // Killed right here, while the other clients' requests are under way.
        if (acked.size === Math.floor(requests.length / 2)) killed = skein.kill();
      }
      await exporter.shutdown();
    };
    await Promise.all([client(), client(), client()]);
    assert.ok(killed, 'half of the requests were acknowledged before the kill');
    await killed;
    assert.ok(acked.size < requests.length, 'killed mid-stream');

    skein = await startSkein({ configYaml: config, dataDir });
    try {
      assert.ok(replayedTraces(skein) > 0, 'some acknowledged traces were waiting at the kill');
      // What was acknowledged before the kill is decided from the WAL alone.
      const ackedTraces = [...acked].flatMap((i) => requests[i]!);
      await waitUntilAllDecided(skein);
      const expectedKept = ackedTraces.filter((t) => reference.get(t.id));
      await waitUntilStoredWhole(skein, expectedKept);
      const stored = await storedTraces(skein, ackedTraces.map((t) => t.id));
      assert.deepEqual([...stored.keys()].sort(), expectedKept.map((t) => t.id).sort(), 'the acknowledged traces the reference kept, and only those');

      // The clients resend what was never acknowledged; then the instance agrees with the reference on everything.
      await sendAll(skein, requests.filter((_, i) => !acked.has(i)).flat());
      await waitUntilAllDecided(skein);
      const allKept = traces.filter((t) => reference.get(t.id));
      await waitUntilStoredWhole(skein, allKept);
      const all = await storedTraces(skein, traces.map((t) => t.id));
      assert.deepEqual([...all.keys()].sort(), allKept.map((t) => t.id).sort());
    } finally {
      await skein.stop();
    }
  });
});
