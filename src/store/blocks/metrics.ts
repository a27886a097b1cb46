// Metrics of blocks, compaction and retention (declared once per process).
import { Counter, Gauge, Histogram } from 'prom-client';
import { JOB_BUCKETS, registry } from '../../telemetry/metrics.js';

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
