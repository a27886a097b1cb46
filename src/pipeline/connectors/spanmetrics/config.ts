// Configuration of the `spanmetrics` connector, in the OpenTelemetry
// Collector's YAML syntax, producing the metrics Tempo's metrics-generator
// names (traces_spanmetrics_*) with Tempo's buckets, plus Skein's keys for
// tenants, cardinality and the UI aggregate. docs/metrics-generator.md is the
// user-facing version.
//
// ```yaml
// connectors:
//   spanmetrics:
//     histogram:
//       disable: false
//       unit: s                      # the only unit: traces_spanmetrics_latency is in seconds
//       explicit:
//         buckets: [2ms, 4ms, 8ms, …, 16384ms]  # Tempo's: 2 ms doubling 14 times
//     dimensions:                    # attribute names (resource first, then span) → sanitized labels
//       - name: http.method
//         default: GET               # used when the attribute is missing; else the label is empty
//       - name: http.route
//     exclude_dimensions: []         # of service.name, span.name, span.kind, status.code
//     # --- Skein's extensions ---
//     size_metric: false             # traces_spanmetrics_size_total (Tempo's span-metrics-size; see below)
//     include_tenant_label: false
//     max_label_sets: 10000
//     metrics_expiration: 15m        # the collector's key; its default is 0 (never), Tempo's 15m
//     ui_window_retention: 1h
//     ui_window_resolution: 1m
// ```
import { z } from 'zod';
import { bucketList, checkUiWindow, connectorSchema, skeinConnectorKeys } from '../shared/config.js';
import { SPAN_METRICS_BUCKETS } from '../shared/histogram.js';
import { identifierDimensionProblem, sanitizeLabelName } from '../shared/labels.js';

/** The collector's names of the built-in dimensions, and the label Tempo gives each. */
export const INTRINSIC_DIMENSIONS = {
  'service.name': 'service',
  'span.name': 'span_name',
  'span.kind': 'span_kind',
  'status.code': 'status_code',
} as const;
export type IntrinsicDimension = keyof typeof INTRINSIC_DIMENSIONS;

/** Labels a dimension may not take: the intrinsic ones, Skein's tenant, the histogram's le, the scrape target's. */
const RESERVED_LABELS = new Set<string>([...Object.values(INTRINSIC_DIMENSIONS), 'tenant', 'le', 'job', 'instance']);

const dimension = z.union([
  // Tempo's syntax: a bare attribute name.
  z.string().transform((name) => ({ name, default: undefined as string | undefined })),
  z.strictObject({ name: z.string(), default: z.string().optional() }),
]);

const options = z
  .strictObject({
    histogram: z
      .strictObject({
        disable: z.boolean().default(false),
        unit: z.literal('s', { error: 'traces_spanmetrics_latency is in seconds (Tempo\'s metric): unit must be "s"' }).default('s'),
        explicit: z.strictObject({ buckets: bucketList.default(() => [...SPAN_METRICS_BUCKETS]) }).default({ buckets: [...SPAN_METRICS_BUCKETS] }),
      })
      .default({ disable: false, unit: 's', explicit: { buckets: [...SPAN_METRICS_BUCKETS] } }),
    dimensions: z.array(dimension).default(() => []),
    exclude_dimensions: z.array(z.enum(Object.keys(INTRINSIC_DIMENSIONS) as [IntrinsicDimension, ...IntrinsicDimension[]])).default(() => []),
    // Tempo has it on; off here because sizing every span's protobuf encoding
    // costs more than the rest of the connector together (about 0.7 µs a span)
    // and Grafana's panels do not read it.
    size_metric: z.boolean().default(false),
    ...skeinConnectorKeys,
  })
  .superRefine((c, ctx) => {
    checkUiWindow(c, ctx);
    const labels = new Map<string, string>();
    c.dimensions.forEach((d, i) => {
      const path = ['dimensions', i];
      if (d.name === '') {
        ctx.addIssue({ code: 'custom', path, message: 'dimension names must not be empty' });
        return;
      }
      const problem = identifierDimensionProblem(d.name);
      if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
      const label = sanitizeLabelName(d.name);
      if (RESERVED_LABELS.has(label)) {
        ctx.addIssue({ code: 'custom', path, message: `${JSON.stringify(d.name)} would be the label ${label}, which is reserved` });
      }
      const clash = labels.get(label);
      if (clash !== undefined) {
        ctx.addIssue({ code: 'custom', path, message: `${JSON.stringify(d.name)} and ${JSON.stringify(clash)} both become the label ${label}` });
      }
      labels.set(label, d.name);
    });
  });

export type SpanMetricsConfig = z.output<typeof options>;

const UNSUPPORTED = {
  aggregation_temporality: 'Prometheus counters are cumulative',
  metrics_flush_interval: "Skein's metrics are scraped from /metrics, there is nothing to flush",
  namespace: "metric names are Tempo's traces_spanmetrics_*, which Grafana reads",
  exemplars: 'no exemplars yet',
  events: 'no event metrics',
  calls_dimensions: 'calls and latency share one label set',
  dimensions_cache_size: 'use max_label_sets',
  aggregation_cardinality_limit: 'use max_label_sets',
  resource_metrics_key_attributes: 'series are keyed by their labels only',
  resource_metrics_cache_size: 'series are keyed by their labels only',
  metric_timestamp_cache_size: 'Prometheus counters are cumulative',
  include_instrumentation_scope: 'no scope dimensions',
};

/** The connector's schema; an empty `spanmetrics:` entry (YAML null) means all defaults. */
export const spanMetricsConfigSchema = connectorSchema(options, UNSUPPORTED);
