// Metrics of the store's write path (the WAL and blocks declare their own), and the
// names Tempo's ingester gives the same figures.
import { Counter, Gauge, Histogram } from 'prom-client';
import { JOB_BUCKETS, registry } from '../telemetry/metrics.js';
import { serveCompat } from '../telemetry/compat-metrics.js';

export const storeMetrics = {
  spansStored: new Counter({
    name: 'skein_spans_stored_total',
    help: 'Spans durable in the WAL and visible to queries.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  bytesStored: new Counter({
    name: 'skein_stored_bytes_total',
    help: 'Bytes of the WAL records holding the spans of skein_spans_stored_total (encoded TracesData).',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  appendsBySource: new Counter({
    name: 'skein_store_appends_total',
    help: "Batches appended to the WAL and head, by where their bytes came from: the request as received ('request'), or encoded again ('encoded': JSON and Zipkin requests, batches a stage changed or rebuilt).",
    labelNames: ['source'],
    registers: [registry],
  }),
  headSpans: new Gauge({
    name: 'skein_head_spans',
    help: 'Spans held in memory, not yet in a block.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  tracesCreated: new Counter({
    name: 'skein_head_traces_created_total',
    help: 'Traces that started in the head (a trace whose spans arrive after a cut starts again in the new head).',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  headTraces: new Gauge({
    name: 'skein_head_traces',
    help: 'Traces with spans held in memory, not yet in a block.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  headBytes: new Gauge({
    name: 'skein_head_bytes',
    help: 'Encoded bytes of spans held in memory, not yet in a block.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  flushDuration: new Histogram({
    name: 'skein_flush_duration_seconds',
    help: 'Time to cut the head into a durable block, by trigger.',
    labelNames: ['reason'],
    buckets: JOB_BUCKETS,
    registers: [registry],
  }),
  quarantinedSpans: new Counter({
    name: 'skein_store_quarantined_spans_total',
    help: 'Spans a head cut could not write to any block, moved to the quarantine directory (GET /api/skein/quarantine lists them).',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  flushFailures: new Counter({
    name: 'skein_flush_failures_total',
    help: 'Head cuts that failed and will be retried.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  diskFree: new Gauge({
    name: 'skein_data_disk_free_bytes',
    help: "Bytes free to Skein on the data directory's filesystem (storage.path), as of the last disk watermark check (local backend).",
    registers: [registry],
  }),
  diskSize: new Gauge({
    name: 'skein_data_disk_size_bytes',
    help: "Bytes of the data directory's filesystem usable by Skein: used plus free, as df counts them.",
    registers: [registry],
  }),
};

// What Tempo's ingesters receive is what Skein's WAL and head take: the spans past the receivers' and the head's checks.
serveCompat({
  name: 'tempo_ingester_bytes_received_total',
  help: "Bytes of spans taken into the WAL and head per tenant (skein_stored_bytes_total under Tempo's ingester name).",
  from: { metric: storeMetrics.bytesStored, labels: { tenant: 'tenant' } },
});
serveCompat({
  name: 'tempo_ingester_traces_created_total',
  help: "Traces that started in the head per tenant (skein_head_traces_created_total under Tempo's ingester name).",
  from: { metric: storeMetrics.tracesCreated, labels: { tenant: 'tenant' } },
});
serveCompat({
  name: 'tempo_ingester_live_traces',
  help: "Traces held in memory, not yet in a block, per tenant (skein_head_traces under Tempo's ingester name).",
  from: { metric: storeMetrics.headTraces, labels: { tenant: 'tenant' } },
});
serveCompat({
  name: 'tempo_ingester_failed_flushes_total',
  help: "Head cuts that failed and will be retried (skein_flush_failures_total under Tempo's ingester name).",
  from: { metric: storeMetrics.flushFailures },
});
serveCompat({
  name: 'tempo_ingester_flush_duration_seconds',
  help: "Time to cut the head into a durable block (skein_flush_duration_seconds under Tempo's ingester name).",
  from: { metric: storeMetrics.flushDuration },
});
