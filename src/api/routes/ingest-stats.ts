// GET /api/skein/ingest-stats: Skein's own ingest figures for the UI's panels,
// read from the same prom-client registry /metrics exposes, so the UI needs no
// Prometheus. Counters are totals since the process started (summed over their
// labels); the UI turns them into rates by polling. A caller restricted to some
// tenants (X-Scope-OrgID, or its credential's) sees the figures kept per tenant for
// those only, and the instance's own (receivers, queues, the process) whole, as
// /metrics shows them to it (tenant-metrics.ts).
import type { FastifyInstance } from 'fastify';
import { registry } from '../../telemetry/metrics.js';
import { seriesOfTenants } from '../tenant-metrics.js';
import type { ApiContext } from '../context.js';
import { openTailCount } from './tail.js';
import type { IngestStats } from '../../pipeline/connectors/shared/ui-shapes.js';

export type { IngestStats } from '../../pipeline/connectors/shared/ui-shapes.js';

/** The sum of a metric's values over its label sets (the tenants' only, but for `*`); 0 when no component registered it. */
async function total(name: string, tenants: readonly string[] | '*'): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  // get() runs the metric's collect(), which the live-read gauges (queues, buffers) rely on.
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    // Histograms also list buckets; only plain samples are summed here.
    if ('metricName' in v && v.metricName !== undefined && v.metricName !== name) continue;
    if (tenants !== '*' && !seriesOfTenants(v.labels, tenants, false)) continue;
    sum += v.value;
  }
  return sum;
}

export async function readIngestStats(ctx: ApiContext, app: FastifyInstance, tenants: readonly string[] | '*'): Promise<IngestStats> {
  const sum = (name: string): Promise<number> => total(name, tenants);
  const [received, refused, stored, requestsRefused, mlRefused, mlRefusing, sampled, dropped, bufTraces, bufSpans, qSize, qCap, sent, failed, headSpans, headBytes, wal, blockBytes, blocks] =
    await Promise.all([
      sum('skein_receiver_accepted_spans_total'),
      sum('skein_receiver_refused_spans_total'),
      sum('skein_spans_stored_total'),
      sum('skein_receiver_refused_requests_total'),
      sum('skein_memory_limiter_refused_batches_total'),
      sum('skein_memory_limiter_refusing'),
      sum('skein_tail_sampling_traces_sampled_total'),
      sum('skein_tail_sampling_traces_dropped_total'),
      sum('skein_tail_sampling_buffered_traces'),
      sum('skein_tail_sampling_buffered_spans'),
      sum('skein_exporter_queue_size'),
      sum('skein_exporter_queue_capacity'),
      sum('skein_exporter_sent_spans_total'),
      sum('skein_exporter_failed_spans_total'),
      sum('skein_head_spans'),
      sum('skein_head_bytes'),
      sum('skein_wal_disk_bytes'),
      sum('skein_block_bytes'),
      sum('skein_blocks'),
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
  app.get('/api/skein/ingest-stats', { config: { access: 'read', tenants: 'any' } }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return readIngestStats(ctx, app, req.tenants);
  });
}
