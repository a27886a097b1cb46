// Metrics of the batch processor, shared by every configured instance (told apart
// by the `processor` label, e.g. `batch/big`), and the collector's names for them,
// which its dashboards chart (batch sizes, and what sent each batch).
import { Counter, Histogram } from 'prom-client';
import { registry } from '../../../telemetry/metrics.js';
import { collectorCounter, serveCompat } from '../../../telemetry/compat-metrics.js';

/** Why a batch was sent: it was full, its timeout passed, or the processor was shutting down. */
export type BatchTrigger = 'size' | 'timeout' | 'shutdown';

export const batchMetrics = {
  sendSize: new Histogram({
    name: 'skein_batch_send_size',
    help: 'Spans in each batch sent on (each part, when send_batch_max_size splits a batch).',
    labelNames: ['processor'],
    // The collector's bounds, so its dashboards' heatmaps read the same.
    buckets: [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000],
    registers: [registry],
  }),
  sends: new Counter({
    name: 'skein_batch_sends_total',
    help: 'Batches sent on, by what sent them: size (send_batch_size reached), timeout, shutdown.',
    labelNames: ['processor', 'trigger'],
    registers: [registry],
  }),
};

const byProcessor = { processor: 'processor' };
serveCompat({
  name: 'otelcol_processor_batch_batch_send_size',
  help: "Spans in each batch sent (skein_batch_send_size under the collector's name).",
  from: { metric: batchMetrics.sendSize, labels: byProcessor },
});
serveCompat({
  name: collectorCounter('otelcol_processor_batch_batch_size_trigger_send'),
  help: "Batches sent because they were full (skein_batch_sends_total{trigger=\"size\"} under the collector's name).",
  from: { metric: batchMetrics.sends, labels: byProcessor, where: (l) => l['trigger'] === 'size' },
});
serveCompat({
  name: collectorCounter('otelcol_processor_batch_timeout_trigger_send'),
  help: "Batches sent because their timeout passed (skein_batch_sends_total{trigger=\"timeout\"} under the collector's name).",
  from: { metric: batchMetrics.sends, labels: byProcessor, where: (l) => l['trigger'] === 'timeout' },
});
