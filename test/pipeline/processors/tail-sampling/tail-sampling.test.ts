import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { toHex } from '../../../../src/otlp/model.js';
import { samplerWalDir } from '../../../../src/pipeline/processors/tail-sampling/persistence.js';
import { DEFAULT_HASH_SALT, hashTraceId, samplingThreshold } from '../../../../src/pipeline/processors/tail-sampling/policies/probabilistic.js';
import type { TailSamplingProcessor } from '../../../../src/pipeline/processors/tail-sampling/tail-sampling.js';
import { registry } from '../../../../src/telemetry/metrics.js';
import type { ResourceSpans } from '../../../../src/otlp/model.js';
import {
  CollectingConsumer,
  ManualClock,
  SEED_POLICIES,
  attr,
  generateTrace,
  generateWorkload,
  prng,
  requestsOf,
  startProcessor,
  waitFor,
  type GeneratedTrace,
} from './helpers.js';

const TENANT = 'single-tenant';

/** Sends the traces as services would, the clock moving 1 ms per request (so early traces fall due while later ones arrive). */
async function feed(processor: TailSamplingProcessor, clock: ManualClock, requests: ReadonlyArray<ResourceSpans[]>, tenant = TENANT): Promise<void> {
  for (const request of requests) {
    await processor.consume(tenant, request);
    clock.advance(1);
  }
}

/** Lets decision_wait pass, waits until nothing is left undecided, then shuts down (which waits for the hand-overs under way). */
async function drain(processor: TailSamplingProcessor, clock?: ManualClock, waitMs = 0): Promise<void> {
  clock?.advance(waitMs + 1);
  await waitFor('every trace to be decided', () => processor.stats().traces === 0, 20_000);
  await processor.shutdown();
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}

/** The seed policy's answer for a generated trace, computed independently of the processor. */
function seedKeeps(trace: GeneratedTrace, salt = DEFAULT_HASH_SALT): boolean {
  return trace.kind !== 'plain' || hashTraceId(salt, trace.traceId) <= samplingThreshold(10);
}

test('seed policy over 5000 traces: every error and slow trace kept complete, 10 % ± 2 % of the rest', { timeout: 120_000 }, async () => {
  const traces = generateWorkload(42, 5000);
  const name = 'tail_sampling/seed';
  const clock = new ManualClock();
  const { processor, next } = await startProcessor({ decision_wait: '200ms', policies: SEED_POLICIES }, { name, options: { clock: clock.now } });
  await feed(processor, clock, requestsOf(traces));
  await drain(processor, clock, 200);

  const received = next.spanIdsByTrace(TENANT);
  const complete = (t: GeneratedTrace) => {
    const ids = received.get(toHex(t.traceId));
    return ids !== undefined && ids.size === t.spans.length && t.spans.every((s) => ids.has(toHex(s.spanId)));
  };
  const errors = traces.filter((t) => t.kind === 'error');
  const slow = traces.filter((t) => t.kind === 'slow');
  const plain = traces.filter((t) => t.kind === 'plain');
  assert.equal(errors.length, 100);
  assert.equal(slow.length, 250);
  assert.deepEqual(errors.filter((t) => !complete(t)).map((t) => toHex(t.traceId)), [], 'every error trace kept whole');
  assert.deepEqual(slow.filter((t) => !complete(t)).map((t) => toHex(t.traceId)), [], 'every slow trace kept whole');

  const keptPlain = plain.filter((t) => received.has(toHex(t.traceId)));
  const share = keptPlain.length / plain.length;
  assert.ok(share >= 0.08 && share <= 0.12, `10 % ± 2 % of the rest, got ${(share * 100).toFixed(2)} %`);
  assert.ok(keptPlain.every(complete), 'kept traces are complete');
  // Exactly the traces the collector's hash would keep, and nothing else.
  assert.deepEqual(new Set(received.keys()), new Set(traces.filter((t) => seedKeeps(t)).map((t) => toHex(t.traceId))));
  assert.equal(next.spanCount, traces.filter((t) => seedKeeps(t)).length * 15, 'no span delivered twice');

  assert.equal(await metricValue('skein_tail_sampling_traces_sampled_total', { processor: name, policy: 'errors' }), 100);
  assert.equal(await metricValue('skein_tail_sampling_traces_sampled_total', { processor: name, policy: 'slow' }), 250);
  assert.equal(await metricValue('skein_tail_sampling_traces_sampled_total', { processor: name, policy: 'rest' }), keptPlain.length);
  assert.equal(await metricValue('skein_tail_sampling_traces_dropped_total', { processor: name, policy: 'none' }), plain.length - keptPlain.length);
});

test('two instances with the same salt keep the same traces; another salt keeps others', { timeout: 60_000 }, async () => {
  const traces = generateWorkload(7, 1500);
  const policies = (salt: string) => [
    ...SEED_POLICIES.slice(0, 2),
    { name: 'rest', type: 'probabilistic', probabilistic: { sampling_percentage: 30, hash_salt: salt } },
    { name: 'no-health', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'], invert_match: true } },
  ];
  const kept: Array<Set<string>> = [];
  for (const salt of ['layer-1', 'layer-1', 'layer-2']) {
    const clock = new ManualClock();
    const { processor, next } = await startProcessor({ decision_wait: '150ms', policies: policies(salt) }, { options: { clock: clock.now } });
    await feed(processor, clock, requestsOf(traces));
    await drain(processor, clock, 150);
    kept.push(new Set(next.spanIdsByTrace().keys()));
  }
  assert.ok(kept[0]!.size > 400, `a fair share is kept (${kept[0]!.size})`);
  assert.deepEqual(kept[1], kept[0]);
  assert.notDeepEqual(kept[2], kept[0]);
});

test('a restart decides as an uninterrupted run would: nothing lost, nothing twice', { timeout: 60_000 }, async () => {
  const traces = generateWorkload(11, 2000);
  const requests = requestsOf(traces);
  const half = Math.floor(requests.length / 2);
  const next = new CollectingConsumer();

  const clock = new ManualClock();
  // decision_wait 20 ms of the clock's 1 ms per request: most of the first half is decided before the restart.
  const first = await startProcessor({ decision_wait: '20ms', policies: SEED_POLICIES }, { next, options: { clock: clock.now } });
  await feed(first.processor, clock, requests.slice(0, half));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const waitingAtShutdown = first.processor.stats().traces;
  await first.processor.shutdown();
  assert.ok(waitingAtShutdown > 0, 'some traces were still waiting at shutdown');
  assert.ok(next.spanCount > 0, 'some were decided and delivered before it');

  const second = await startProcessor({ decision_wait: '20ms', policies: SEED_POLICIES }, { next, dataDir: first.dataDir, options: { clock: clock.now } });
  assert.equal(second.processor.stats().traces, waitingAtShutdown, 'exactly the waiting traces came back');
  await feed(second.processor, clock, requests.slice(half));
  await drain(second.processor, clock, 20);

  const received = next.spanIdsByTrace(TENANT);
  assert.deepEqual(new Set(received.keys()), new Set(traces.filter((t) => seedKeeps(t)).map((t) => toHex(t.traceId))));
  for (const t of traces.filter((t) => seedKeeps(t))) assert.equal(received.get(toHex(t.traceId))!.size, 15, `trace ${toHex(t.traceId)} is whole`);
  assert.equal(next.spanCount, traces.filter((t) => seedKeeps(t)).length * 15, 'no span delivered twice');
});

test('late spans follow the cached decision: forwarded at once if kept, dropped and counted if not', { timeout: 30_000 }, async () => {
  for (const cache of [{ sampled_cache_size: 100, non_sampled_cache_size: 100 }, { sampled_cache_size: 0, non_sampled_cache_size: 0 }]) {
    const name = `tail_sampling/late-${cache.sampled_cache_size}`;
    const { processor, next } = await startProcessor(
      {
        decision_wait: '100ms',
        decision_cache: cache,
        policies: [{ name: 'keep', type: 'string_attribute', string_attribute: { key: 'keep', values: ['yes'] } }],
      },
      { name },
    );
    const random = prng(5);
    const kept = generateTrace(random, 'plain', 1_000_000n, 3);
    kept.spans[0]!.attributes.push(attr('keep', { type: 'string', value: 'yes' }));
    const dropped = generateTrace(random, 'plain', 1_000_000n, 3);
    for (const t of [kept, dropped]) for (const batch of t.batches) await processor.consume(TENANT, batch);
    await waitFor('the decisions', () => processor.stats().traces === 0 && next.spanCount === 3);

    const lateKept = generateTrace(random, 'plain', 2_000_000n, 2);
    const lateDropped = generateTrace(random, 'plain', 2_000_000n, 2);
    for (const span of lateKept.spans) span.traceId = kept.traceId;
    for (const span of lateDropped.spans) span.traceId = dropped.traceId;
    await processor.consume(TENANT, [...lateKept.batches.flat(), ...lateDropped.batches.flat()]);
    // Forwarded before consume resolved, without waiting for another decision.
    assert.equal(next.spanCount, 5);
    assert.equal(processor.stats().traces, 0, 'late spans do not start new traces');
    assert.deepEqual([...next.spanIdsByTrace().keys()], [toHex(kept.traceId)]);
    assert.equal(await metricValue('skein_tail_sampling_late_spans_total', { processor: name, decision: 'sampled' }), 2);
    assert.equal(await metricValue('skein_tail_sampling_late_spans_total', { processor: name, decision: 'not_sampled' }), 2);
    await processor.shutdown();
  }
});

test('decisions survive a restart: late spans after it still follow them', { timeout: 120_000 }, async () => {
  const config = {
    decision_wait: '100ms',
    decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 },
    policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }],
  };
  const random = prng(9);
  const kept = generateTrace(random, 'error', 1_000_000n, 4);
  const dropped = generateTrace(random, 'plain', 1_000_000n, 4);
  const first = await startProcessor(config, { options: { rotateMs: 60_000 } });
  for (const t of [kept, dropped]) for (const batch of t.batches) await first.processor.consume(TENANT, batch);
  // A kept trace leaves the waiting set before its spans are handed over: wait for both.
  await waitFor('the decisions', () => first.processor.stats().traces === 0 && first.next.spanCount === 4);
  await drain(first.processor);
  assert.equal(first.next.spanCount, 4);

  const second = await startProcessor(config, { dataDir: first.dataDir });
  assert.equal(second.processor.stats().traces, 0, 'decided traces are not waiting again');
  const late = generateTrace(random, 'plain', 2_000_000n, 2);
  for (const span of late.spans) span.traceId = kept.traceId;
  const lateDrop = generateTrace(random, 'error', 2_000_000n, 2);
  for (const span of lateDrop.spans) span.traceId = dropped.traceId;
  await second.processor.consume(TENANT, [...late.batches.flat(), ...lateDrop.batches.flat()]);
  assert.equal(second.next.spanCount, 2, 'the late spans of the kept trace were forwarded at once');
  assert.equal(second.processor.stats().traces, 0, 'the late error spans of the dropped trace followed its decision');
  await second.processor.shutdown();
});

test('decisions survive a restart after their WAL segments are gone (the usual case in production)', { timeout: 120_000 }, async () => {
  const config = {
    decision_wait: '50ms',
    decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 },
    policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }],
  };
  const random = prng(10);
  const kept = generateTrace(random, 'error', 1_000_000n, 4);
  const dropped = generateTrace(random, 'plain', 1_000_000n, 4);
  const first = await startProcessor(config, { options: { rotateMs: 20 } });
  const walDir = samplerWalDir(first.dataDir, 'tail_sampling');
  const segments = () => readdirSync(walDir).filter((f) => f.endsWith('.wal'));
  for (const t of [kept, dropped]) for (const batch of t.batches) await first.processor.consume(TENANT, batch);
  await waitFor('the decisions', () => first.processor.stats().traces === 0 && first.next.spanCount === 4);
  // The segments holding the spans and the decision records go once rotated past.
  const decidedIn = segments();
  const filler = generateTrace(random, 'plain', 1_000_000n, 1);
  await first.processor.consume(TENANT, filler.batches.flat());
  await waitFor('the decided segments to be deleted', () => !segments().some((f) => decidedIn.includes(f)));
  await drain(first.processor);

  const second = await startProcessor(config, { dataDir: first.dataDir });
  const late = generateTrace(random, 'plain', 2_000_000n, 2);
  for (const span of late.spans) span.traceId = kept.traceId;
  const lateDrop = generateTrace(random, 'error', 2_000_000n, 2);
  for (const span of lateDrop.spans) span.traceId = dropped.traceId;
  await second.processor.consume(TENANT, [...late.batches.flat(), ...lateDrop.batches.flat()]);
  assert.equal(second.next.spanCount, 2, 'the late spans of the kept trace were forwarded at once');
  assert.equal(second.processor.stats().traces, 0, 'the late error spans of the dropped trace followed its decision');
  await second.processor.shutdown();
});

test('num_traces: beyond it the oldest trace is decided early; the rest wait, across a restart too', { timeout: 30_000 }, async () => {
  const name = 'tail_sampling/overflow';
  const random = prng(13);
  const traces = Array.from({ length: 25 }, (_, i) => generateTrace(random, 'plain', BigInt(i) * 1_000_000n));
  const first = await startProcessor({ decision_wait: '1h', num_traces: 10, policies: [{ name: 'all', type: 'always_sample' }] }, { name });
  for (const t of traces) await first.processor.consume(TENANT, t.batches.flat());
  assert.equal(first.processor.stats().traces, 10);
  await waitFor('the early decisions to be handed over', () => first.next.spanCount === 15 * 15);
  assert.deepEqual(new Set(first.next.spanIdsByTrace().keys()), new Set(traces.slice(0, 15).map((t) => toHex(t.traceId))), 'the oldest went first');
  assert.equal(await metricValue('skein_tail_sampling_traces_decided_early_total', { processor: name }), 15);
  await first.processor.shutdown();

  const second = await startProcessor({ decision_wait: '0ms', num_traces: 10, policies: [{ name: 'all', type: 'always_sample' }] }, { name, dataDir: first.dataDir });
  await drain(second.processor);
  assert.deepEqual(new Set(second.next.spanIdsByTrace().keys()), new Set(traces.slice(15).map((t) => toHex(t.traceId))));
  assert.equal(second.next.spanCount, 10 * 15);
});

test('tenants are kept apart, even with the same trace ID', { timeout: 30_000 }, async () => {
  const { processor, next } = await startProcessor({ decision_wait: '100ms', policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }] });
  const random = prng(17);
  const a = generateTrace(random, 'error', 1n, 5);
  const b = generateTrace(random, 'plain', 1n, 5);
  for (const span of b.spans) span.traceId = a.traceId;
  await processor.consume('tenant-a', a.batches.flat());
  await processor.consume('tenant-b', b.batches.flat());
  await drain(processor);
  assert.equal(next.spans('tenant-a').length, 5);
  assert.equal(next.spans('tenant-b').length, 0, "tenant-b's trace has no error");
});

test('a next stage that refuses: kept traces are retried until it accepts, meanwhile nothing is lost', { timeout: 30_000 }, async () => {
  const name = 'tail_sampling/refusing';
  const next = new CollectingConsumer();
  next.failWith = new Error('store is full');
  const { processor } = await startProcessor({ decision_wait: '50ms', policies: [{ name: 'all', type: 'always_sample' }] }, { name, next });
  const trace = generateTrace(prng(19), 'plain', 1n, 6);
  await processor.consume(TENANT, trace.batches.flat());
  await waitFor('a refused hand-over', () => processor.stats().traces === 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok((await metricValue('skein_tail_sampling_delivery_failures_total', { processor: name })) >= 1);
  assert.equal(next.spanCount, 0);
  next.failWith = undefined;
  await waitFor('the retry to succeed', () => next.spanCount === 6, 10_000);
  await processor.shutdown();
});

test('a kept trace the next stage refused until shutdown is delivered after the restart, not taken for done', { timeout: 30_000 }, async () => {
  const config = { decision_wait: '50ms', decision_cache: { sampled_cache_size: 10 }, policies: [{ name: 'all', type: 'always_sample' }] };
  const next = new CollectingConsumer();
  next.failWith = new Error('store is full');
  const first = await startProcessor(config, { name: 'tail_sampling/refused-at-shutdown', next });
  const trace = generateTrace(prng(21), 'plain', 1n, 6);
  await first.processor.consume(TENANT, trace.batches.flat());
  await waitFor('a refused hand-over', () => first.processor.stats().traces === 0);
  await first.processor.shutdown();
  assert.equal(next.spanCount, 0);

  const second = await startProcessor(config, { name: 'tail_sampling/refused-at-shutdown', dataDir: first.dataDir });
  await drain(second.processor);
  assert.equal(second.next.spanCount, 6);
});

test('WAL segments are deleted once their traces are decided', { timeout: 120_000 }, async () => {
  const { processor, next, dataDir } = await startProcessor(
    { decision_wait: '100ms', policies: SEED_POLICIES },
    { options: { rotateMs: 50 } },
  );
  const walDir = samplerWalDir(dataDir, 'tail_sampling');
  const traces = generateWorkload(23, 600);
  for (const [i, request] of requestsOf(traces, 5).entries()) {
    await processor.consume(TENANT, request);
    if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const segments = () => readdirSync(walDir).filter((f) => f.endsWith('.wal')).length;
  await waitFor('every trace decided and delivered', () => processor.stats().traces === 0 && next.spanCount === traces.filter((t) => seedKeeps(t)).length * 15);
  // The rotation after the last records closes the last epoch; then only the newest (empty) segment remains.
  await waitFor('decided segments to be deleted', () => segments() <= 1);
  await processor.shutdown();
});

test('consume before start or after shutdown is refused', async () => {
  const { processor } = await startProcessor({ policies: [{ name: 'all', type: 'always_sample' }] });
  await processor.shutdown();
  await assert.rejects(processor.consume(TENANT, generateTrace(prng(1), 'plain', 1n, 1).batches.flat()), /not running/);
});
