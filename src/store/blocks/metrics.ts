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
  retentionDeleted: new Counter({
    name: 'skein_retention_deleted_blocks_total',
    help: 'Blocks deleted because all their spans were older than the retention period.',
    labelNames: ['tenant'],
    registers: [registry],
  }),
};
