// What buffering costs: bytes of memory per waiting span and CPU per span for
// consume + decide with the seed policy, on realistic traces (15 spans of 12
// attributes over 2-3 services). Reported as test diagnostics; the bounds only
// catch regressions of an order of magnitude (the machine running the tests
// may be shared).
//
// The workload reuses 500 generated traces with fresh IDs each round, so the
// measurement holds the processor's memory, not the test's garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeSpan, encodeTracesData } from '../../../../src/otlp/protobuf.js';
import type { ResourceSpans } from '../../../../src/otlp/model.js';
import type { TracesConsumer } from '../../../../src/pipeline/consumer.js';
import { TailSamplingProcessor } from '../../../../src/pipeline/processors/tail-sampling/tail-sampling.js';
import { silentLogger } from '../../../../src/telemetry/logger.js';
import { ManualClock, SEED_POLICIES, generateTrace, parseConfig, prng, requestsOf, tempDir, waitFor, type GeneratedTrace, type TraceKind } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function kindOf(i: number): TraceKind {
  return i % 50 === 7 ? 'error' : i % 20 === 3 ? 'slow' : 'plain';
}

/** 500 traces sent as SDKs would (100 traces per request), and a way to give them fresh IDs. */
function reusableWorkload(seed: number) {
  const random = prng(seed);
  const traces: GeneratedTrace[] = Array.from({ length: 500 }, (_, i) => generateTrace(random, kindOf(i), BigInt(Date.now()) * 1_000_000n));
  const fill = (id: Uint8Array) => {
    for (let i = 0; i < id.length; i++) id[i] = Math.floor(random() * 256);
  };
  return {
    traces,
    requests: requestsOf(traces, 100),
    spans: traces.length * 15,
    refresh: () => {
      for (const t of traces) {
        fill(t.traceId);
        for (const span of t.spans) fill(span.spanId);
      }
    },
  };
}

/** The next stage of a benchmark: counts, keeps nothing. */
class CountingConsumer implements TracesConsumer {
  spans = 0;
  async consume(_tenant: string, batch: ResourceSpans[]): Promise<void> {
    for (const rs of batch) for (const ss of rs.scopeSpans) this.spans += ss.spans.length;
  }
}

async function processor(raw: Record<string, unknown>, next: TracesConsumer, clock: ManualClock, tickMs: number) {
  const p = new TailSamplingProcessor(parseConfig(raw), next, { name: 'tail_sampling/footprint', logger: silentLogger, dataDir: tempDir() }, { clock: clock.now, tickMs, rotateMs: 200 });
  await p.start();
  return p;
}

test('memory per buffered span (200 000 spans waiting)', { timeout: 300_000 }, async (t) => {
  const clock = new ManualClock();
  const p = await processor({ decision_wait: '1h', num_traces: 100_000, policies: SEED_POLICIES }, new CountingConsumer(), clock, 3_600_000);
  const work = reusableWorkload(1);
  const encoded = work.traces.flatMap((tr) => tr.spans).reduce((sum, span) => sum + encodeSpan(span).length, 0) / work.spans;
  for (let round = 0; round < 4; round++) {
    work.refresh();
    for (const request of work.requests) await p.consume('single-tenant', request);
  }
  gc();
  gc();
  const before = process.memoryUsage();
  const spansBefore = p.stats().spans;
  while (p.stats().spans - spansBefore < 200_000) {
    work.refresh();
    for (const request of work.requests) await p.consume('single-tenant', request);
  }
  gc();
  gc();
  const after = process.memoryUsage();
  const spans = p.stats().spans - spansBefore;
  const per = (key: 'rss' | 'heapUsed' | 'arrayBuffers') => (after[key] - before[key]) / spans;
  const held = p.stats().bytes / p.stats().spans;
  t.diagnostic(
    `per buffered span: RSS ${per('rss').toFixed(0)} B, JS heap ${per('heapUsed').toFixed(0)} B, array buffers ${per('arrayBuffers').toFixed(0)} B; ` +
      `held (encoded spans in their requests + index) ${held.toFixed(0)} B; a span alone encodes to ${encoded.toFixed(0)} B`,
  );
  assert.ok(per('heapUsed') < 100, 'the waiting spans are bytes, not object graphs');
  assert.ok(held < encoded + 50, 'little beyond the encoded spans themselves is held');
  assert.ok(per('rss') < encoded + 400, 'RSS stays near the encoded size');
  await p.shutdown();
});

test('CPU per span of consume + decide, seed policy', { timeout: 300_000 }, async (t) => {
  const clock = new ManualClock();
  const next = new CountingConsumer();
  const p = await processor({ decision_wait: '1s', policies: SEED_POLICIES }, next, clock, 5);
  const work = reusableWorkload(2);
  const run = async (rounds: number) => {
    const started = process.cpuUsage();
    let consumeMicros = 0;
    for (let round = 0; round < rounds; round++) {
      work.refresh();
      const c = process.cpuUsage();
      for (const request of work.requests) {
        await p.consume('single-tenant', request);
        clock.advance(2);
      }
      const d = process.cpuUsage(c);
      consumeMicros += d.user + d.system;
    }
    clock.advance(2_000);
    await waitFor('the decisions', () => p.stats().traces === 0, 60_000);
    const total = process.cpuUsage(started);
    return { total: (total.user + total.system) / (rounds * work.spans), consume: consumeMicros / (rounds * work.spans) };
  };
  await run(5); // warm up
  const { total, consume } = await run(20);
  // The part that is the OTLP encoder's: each waiting span is encoded once, for the WAL and the buffer.
  for (let i = 0; i < 5; i++) for (const request of work.requests) encodeTracesData(request);
  const c = process.cpuUsage();
  for (let i = 0; i < 20; i++) for (const request of work.requests) encodeTracesData(request);
  const encodeCost = process.cpuUsage(c);
  const encode = (encodeCost.user + encodeCost.system) / (20 * work.spans);
  t.diagnostic(
    `CPU per span: ${total.toFixed(2)} µs for consume (WAL included) + decide + hand-over of kept traces; ` +
      `${consume.toFixed(2)} µs of it in consume(), of which ${encode.toFixed(2)} µs is encodeTracesData`,
  );
  assert.ok(total < 50, 'no order-of-magnitude regression');
  assert.ok(next.spans > 0);
  await p.shutdown();
});
