// GET /api/skein/ingest-stats: Skein's own ingest figures for the UI's panels,
// read from the same prom-client registry /metrics exposes, so the UI needs no
// Prometheus. Counters are totals since the process started (summed over their
// labels); the UI turns them into rates by polling.
import type { FastifyInstance } from 'fastify';
import { registry } from '../../telemetry/metrics.js';
import type { ApiContext } from '../context.js';
import { openTailCount } from './tail.js';
import type { IngestStats } from '../../pipeline/connectors/shared/ui-shapes.js';

export type { IngestStats } from '../../pipeline/connectors/shared/ui-shapes.js';

/** The sum of a metric's values over all its label sets; 0 when no component registered it. */
async function total(name: string, where?: (labels: Record<string, string | number>) => boolean): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  // get() runs the metric's collect(), which the live-read gauges (queues, buffers) rely on.
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    // Histograms also list buckets; only plain samples are summed here.
    if ('metricName' in v && v.metricName !== undefined && v.metricName !== name) continue;
    if (where && !where(v.labels as Record<string, string | number>)) continue;
    sum += v.value;
  }
  return sum;
}

export async function readIngestStats(ctx: ApiContext, app: FastifyInstance): Promise<IngestStats> {
  const [received, refused, stored, requestsRefused, mlRefused, mlRefusing, sampled, dropped, bufTraces, bufSpans, qSize, qCap, sent, failed, headSpans, headBytes, wal, blockBytes, blocks] =
    await Promise.all([
      total('skein_receiver_accepted_spans_total'),
      total('skein_receiver_refused_spans_total'),
      total('skein_spans_stored_total'),
      total('skein_receiver_refused_requests_total'),
      total('skein_memory_limiter_refused_batches_total'),
      total('skein_memory_limiter_refusing'),
      total('skein_tail_sampling_traces_sampled_total'),
      total('skein_tail_sampling_traces_dropped_total'),
      total('skein_tail_sampling_buffered_traces'),
      total('skein_tail_sampling_buffered_spans'),
      total('skein_exporter_queue_size'),
      total('skein_exporter_queue_capacity'),
      total('skein_exporter_sent_spans_total'),
      total('skein_exporter_failed_spans_total'),
      total('skein_head_spans'),
      total('skein_head_bytes'),
      total('skein_wal_disk_bytes'),
      total('skein_block_bytes'),
      total('skein_blocks'),
    ]);
  // --target store leaves tail sampling to the collector in front of it.
  const tailSamplingOn = ctx.target !== 'store' && ctx.config.pipeline.processors.some((p) => p === 'tail_sampling' || p.startsWith('tail_sampling/'));
  return {
    timeMs: Date.now(),
    spans: { received, refused, stored },
    requestsRefused,
    memoryLimiter: { refusedBatches: mlRefused, refusing: mlRefusing > 0 },
    tailSampling: { enabled: tailSamplingOn, tracesSampled: sampled, tracesDropped: dropped, bufferedTraces: bufTraces, bufferedSpans: bufSpans },
    exporterQueue: { size: qSize, capacity: qCap, sentSpans: sent, failedSpans: failed },
    head: { spans: headSpans, bytes: headBytes },
    disk: { walBytes: wal, blockBytes, blocks },
    process: { rssBytes: process.memoryUsage.rss() },
    liveTails: { open: openTailCount(app), max: ctx.config.ui.live_tail.max_clients },
  };
}

export function registerIngestStatsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/skein/ingest-stats', { config: { access: 'read', tenants: 'any' } }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return readIngestStats(ctx, app);
  });
}
