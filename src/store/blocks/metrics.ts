// Metrics of blocks, compaction and retention (declared once per process), and the
// names tempodb gives the same figures.
import { Counter, Gauge, Histogram } from 'prom-client';
import { JOB_BUCKETS, registry } from '../../telemetry/metrics.js';
import { serveCompat } from '../../telemetry/compat-metrics.js';

export const blockMetrics = {
  blocks: new Gauge({
    name: 'skein_blocks',
    help: 'Blocks on disk (visible: meta.json written).',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  bytes: new Gauge({
    name: 'skein_block_bytes',
    help: 'Bytes of blocks on disk (data, bloom filter and metadata).',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  spans: new Gauge({
    name: 'skein_block_spans',
    help: 'Spans stored in blocks (a span repeated across blocks until compaction counts once per block).',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  writeDuration: new Histogram({
    name: 'skein_block_write_duration_seconds',
    help: 'Time to write a block until it is durable and visible, by reason.',
    labelNames: ['tenant', 'reason'],
    buckets: JOB_BUCKETS,
    registers: [registry],
  }),
  compactionDuration: new Histogram({
    name: 'skein_compaction_duration_seconds',
    help: 'Time of one compaction: merging the inputs, writing the output, deleting the inputs.',
    labelNames: ['tenant'],
    buckets: JOB_BUCKETS,
    registers: [registry],
  }),
  compactions: new Counter({
    name: 'skein_compactions_total',
    help: 'Compactions completed.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
  // Of each completed compaction, by `level`: the highest compaction level among its inputs (tempodb's label).
  compactedBlocks: new Counter({
    name: 'skein_compaction_input_blocks_total',
    help: 'Blocks merged into larger ones by compaction, by the highest level among the inputs.',
    labelNames: ['tenant', 'level'],
    registers: [registry],
  }),
  compactionBytesWritten: new Counter({
    name: 'skein_compaction_bytes_written_total',
    help: 'Bytes of the blocks compaction wrote, by the highest level among the inputs.',
    labelNames: ['tenant', 'level'],
    registers: [registry],
  }),
  compactionTracesWritten: new Counter({
    name: 'skein_compaction_traces_written_total',
    help: 'Traces in the blocks compaction wrote, by the highest level among the inputs.',
    labelNames: ['tenant', 'level'],
    registers: [registry],
  }),
  compactionTracesCombined: new Counter({
    name: 'skein_compaction_traces_combined_total',
    help: 'Traces found in more than one input block and merged into one by compaction (input traces minus output traces).',
    labelNames: ['tenant', 'level'],
    registers: [registry],
  }),
  pollDuration: new Histogram({
    name: 'skein_blocklist_poll_duration_seconds',
    help: 'Time of one block list poll over every tenant (storage.blocklist_poll_interval).',
    buckets: JOB_BUCKETS,
    registers: [registry],
  }),
  pollFailures: new Counter({
    name: 'skein_blocklist_poll_failures_total',
    help: 'Block list polls that failed for a tenant (or for the list of tenants), and blocks a poll could not load; the next poll retries.',
    registers: [registry],
  }),
  indexAge: new Gauge({
    name: 'skein_blocklist_index_age_seconds',
    help: "Age of the tenant's block index when it was last read or written (a shared backend); beyond three poll intervals it is not used.",
    labelNames: ['tenant'],
    registers: [registry],
  }),
  compactor: new Gauge({
    name: 'skein_compactor',
    help: 'Whether this instance runs compaction and retention now (1) or not (0): one instance of a cluster does (cluster.compactor).',
    registers: [registry],
  }),
  retentionDeleted: new Counter({
    name: 'skein_retention_deleted_blocks_total',
    help: "Blocks retention deleted, by reason: 'age' (every span older than the retention period), 'size' (the tenant's blocks over storage.max_bytes), 'disk' (the data disk past storage.disk.high_watermark).",
    labelNames: ['tenant', 'reason'],
    registers: [registry],
  }),
  retentionDeletedBytes: new Counter({
    name: 'skein_retention_deleted_bytes_total',
    help: 'Bytes of the blocks retention deleted, by reason (as skein_retention_deleted_blocks_total).',
    labelNames: ['tenant', 'reason'],
    registers: [registry],
  }),
};

serveCompat({
  name: 'tempodb_blocklist_length',
  help: "Blocks on disk per tenant (skein_blocks under tempodb's name).",
  from: { metric: blockMetrics.blocks, labels: { tenant: 'tenant' } },
});
serveCompat({
  name: 'tempodb_blocklist_poll_duration_seconds',
  help: "Time of one block list poll (skein_blocklist_poll_duration_seconds under tempodb's name).",
  from: { metric: blockMetrics.pollDuration },
});
serveCompat({
  name: 'tempodb_blocklist_poll_errors_total',
  help: "Block list polls that failed (skein_blocklist_poll_failures_total under tempodb's name).",
  from: { metric: blockMetrics.pollFailures },
});
serveCompat({
  name: 'tempodb_blocklist_tenant_index_age_seconds',
  help: "Age of the tenant's block index on a shared backend (skein_blocklist_index_age_seconds under tempodb's name).",
  from: { metric: blockMetrics.indexAge, labels: { tenant: 'tenant' } },
});
serveCompat({
  name: 'tempodb_retention_deleted_total',
  help: "Blocks deleted by retention (skein_retention_deleted_blocks_total under tempodb's name).",
  from: { metric: blockMetrics.retentionDeleted },
});
serveCompat({
  name: 'tempo_ingester_blocks_flushed_total',
  help: "Blocks cut from the head and written (skein_block_write_duration_seconds_count{reason=\"flush\"} under Tempo's ingester name).",
  from: { metric: blockMetrics.writeDuration, count: true, where: (l) => l['reason'] === 'flush' },
});
serveCompat({
  name: 'tempodb_compaction_blocks_total',
  help: "Blocks merged by compaction, by level (skein_compaction_input_blocks_total under tempodb's name).",
  from: { metric: blockMetrics.compactedBlocks, labels: { level: 'level' } },
});
serveCompat({
  name: 'tempodb_compaction_bytes_written_total',
  help: "Bytes compaction wrote, by level (skein_compaction_bytes_written_total under tempodb's name).",
  from: { metric: blockMetrics.compactionBytesWritten, labels: { level: 'level' } },
});
serveCompat({
  name: 'tempodb_compaction_objects_written_total',
  help: "Traces compaction wrote, by level (skein_compaction_traces_written_total under tempodb's name: its objects are traces).",
  from: { metric: blockMetrics.compactionTracesWritten, labels: { level: 'level' } },
});
serveCompat({
  name: 'tempodb_compaction_objects_combined_total',
  help: "Traces merged from several input blocks, by level (skein_compaction_traces_combined_total under tempodb's name).",
  from: { metric: blockMetrics.compactionTracesCombined, labels: { level: 'level' } },
});
