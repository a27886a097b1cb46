// Metrics of the otlp exporters, shared by every configured instance (told
// apart by the `exporter` label, e.g. `otlp/tempo`): prom-client refuses a
// name registered twice. The queue gauges are read from the live exporters
// when scraped, so sending never touches them.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../../../telemetry/metrics.js';
import { collectorCounter, serveCompat } from '../../../telemetry/compat-metrics.js';

export interface QueueStats {
  size: number;
  capacity: number;
}

const queues = new Map<string, () => QueueStats>();

/** Makes an exporter's queue visible to the gauges; the returned function hides it again. */
export function reportQueue(exporter: string, stats: () => QueueStats): () => void {
  queues.set(exporter, stats);
  return () => {
    if (queues.get(exporter) === stats) queues.delete(exporter);
  };
}

function queueGauge(name: string, help: string, pick: (s: QueueStats) => number): Gauge<'exporter'> {
  return new Gauge({
    name,
    help,
    labelNames: ['exporter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [exporter, stats] of queues) this.set({ exporter }, pick(stats()));
    },
  });
}

/** Why spans were given up: `permanent` (the downstream refused the batch for good), `partial_success` (it refused some spans of it), `retries_exhausted`, `retry_disabled`, `shutdown` (the memory queue's leftovers at shutdown). */
export type FailureReason = 'permanent' | 'partial_success' | 'retries_exhausted' | 'retry_disabled' | 'shutdown';

export const exporterMetrics = {
  sentSpans: new Counter({
    name: 'skein_exporter_sent_spans_total',
    help: 'Spans the downstream accepted.',
    labelNames: ['exporter'],
    registers: [registry],
  }),
  failedSpans: new Counter({
    name: 'skein_exporter_failed_spans_total',
    help: 'Spans given up on, by reason: permanent, partial_success, retries_exhausted, retry_disabled, shutdown.',
    labelNames: ['exporter', 'reason'],
    registers: [registry],
  }),
  retries: new Counter({
    name: 'skein_exporter_retries_total',
    help: 'Attempts that failed retryably and were scheduled again.',
    labelNames: ['exporter'],
    registers: [registry],
  }),
  enqueueFailedSpans: new Counter({
    name: 'skein_exporter_enqueue_failed_spans_total',
    help: 'Spans refused because the sending queue was full (the sender was told to retry).',
    labelNames: ['exporter'],
    registers: [registry],
  }),
  queueSize: queueGauge('skein_exporter_queue_size', 'Batches the exporter holds: waiting in the sending queue or being sent.', (s) => s.size),
  queueCapacity: queueGauge('skein_exporter_queue_capacity', 'Most batches the sending queue holds (sending_queue.queue_size).', (s) => s.capacity),
};

// The collector's exporterhelper names, labelled by `exporter` alike.
const byExporter = { exporter: 'exporter' };
serveCompat({
  name: collectorCounter('otelcol_exporter_sent_spans'),
  help: "Spans the downstream accepted (skein_exporter_sent_spans_total under the collector's name).",
  from: { metric: exporterMetrics.sentSpans, labels: byExporter },
});
serveCompat({
  name: collectorCounter('otelcol_exporter_send_failed_spans'),
  help: "Spans given up on, whatever the reason (skein_exporter_failed_spans_total under the collector's name).",
  from: { metric: exporterMetrics.failedSpans, labels: byExporter },
});
serveCompat({
  name: collectorCounter('otelcol_exporter_enqueue_failed_spans'),
  help: "Spans refused because the sending queue was full (skein_exporter_enqueue_failed_spans_total under the collector's name).",
  from: { metric: exporterMetrics.enqueueFailedSpans, labels: byExporter },
});
serveCompat({
  name: 'otelcol_exporter_queue_size',
  help: "Batches the exporter holds (skein_exporter_queue_size under the collector's name).",
  from: { metric: exporterMetrics.queueSize, labels: byExporter },
});
serveCompat({
  name: 'otelcol_exporter_queue_capacity',
  help: "Most batches the sending queue holds (skein_exporter_queue_capacity under the collector's name).",
  from: { metric: exporterMetrics.queueCapacity, labels: byExporter },
});
