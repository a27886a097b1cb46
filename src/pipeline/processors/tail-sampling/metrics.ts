// Metrics of the tail_sampling processor, shared by every configured instance
// (told apart by the `processor` label, e.g. `tail_sampling/prod`): prom-client
// refuses a name registered twice. The buffer gauges are read from the live
// processors when scraped, so the hot path never touches them.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../../telemetry/metrics.js';
import { collectorCounter, serveCompat } from '../../../telemetry/compat-metrics.js';

export interface BufferStats {
  spans: number;
  traces: number;
  bytes: number;
}

const sources = new Map<string, () => BufferStats>();

/** Makes a processor's buffer visible to the gauges; the returned function hides it again. */
export function reportBuffer(processor: string, stats: () => BufferStats): () => void {
  sources.set(processor, stats);
  return () => {
    if (sources.get(processor) === stats) sources.delete(processor);
  };
}

function bufferGauge(name: string, help: string, pick: (s: BufferStats) => number): Gauge<'processor'> {
  return new Gauge({
    name,
    help,
    labelNames: ['processor'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [processor, stats] of sources) this.set({ processor }, pick(stats()));
    },
  });
}

export const tailSamplingMetrics = {
  tracesSampled: new Counter({
    name: 'skein_tail_sampling_traces_sampled_total',
    help: 'Traces kept, by the policy that decided it.',
    labelNames: ['processor', 'policy'],
    registers: [registry],
  }),
  tracesDropped: new Counter({
    name: 'skein_tail_sampling_traces_dropped_total',
    help: 'Traces not kept, by the policy that decided it (a drop or inverted-match policy), `none` when no policy matched.',
    labelNames: ['processor', 'policy'],
    registers: [registry],
  }),
  lateSpans: new Counter({
    name: 'skein_tail_sampling_late_spans_total',
    help: 'Spans of an already decided trace, by the decision they followed (sampled: forwarded, not_sampled: dropped).',
    labelNames: ['processor', 'decision'],
    registers: [registry],
  }),
  decidedEarly: new Counter({
    name: 'skein_tail_sampling_traces_decided_early_total',
    help: 'Traces decided before decision_wait because num_traces traces were waiting.',
    labelNames: ['processor'],
    registers: [registry],
  }),
  deliveryFailures: new Counter({
    name: 'skein_tail_sampling_delivery_failures_total',
    help: 'Hand-overs of sampled traces to the next stage that failed (retried; the spans stay in the WAL meanwhile).',
    labelNames: ['processor'],
    registers: [registry],
  }),
  decisionLatency: new Histogram({
    name: 'skein_tail_sampling_decision_latency_seconds',
    help: 'CPU time to evaluate all policies for one trace.',
    labelNames: ['processor'],
    buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025],
    registers: [registry],
  }),
  bufferedSpans: bufferGauge('skein_tail_sampling_buffered_spans', 'Spans waiting for their trace to be decided.', (s) => s.spans),
  bufferedTraces: bufferGauge('skein_tail_sampling_buffered_traces', 'Traces waiting for a decision.', (s) => s.traces),
  bufferedBytes: bufferGauge('skein_tail_sampling_buffered_bytes', 'Bytes of encoded spans, resources and scopes held for waiting traces.', (s) => s.bytes),
};

// The collector's tail_sampling processor counts each decided trace under its policy, with sampled="true" or "false".
serveCompat({
  name: collectorCounter('otelcol_processor_tail_sampling_count_traces_sampled'),
  help: "Traces decided, by the policy that decided and whether it kept them (skein_tail_sampling_traces_sampled_total and _dropped_total under the collector's name).",
  from: [
    { metric: tailSamplingMetrics.tracesSampled, labels: { policy: 'policy', sampled: () => 'true' } },
    { metric: tailSamplingMetrics.tracesDropped, labels: { policy: 'policy', sampled: () => 'false' } },
  ],
});
serveCompat({
  name: 'otelcol_processor_tail_sampling_sampling_traces_on_memory',
  help: "Traces waiting for a decision (skein_tail_sampling_buffered_traces under the collector's name).",
  from: { metric: tailSamplingMetrics.bufferedTraces },
});
