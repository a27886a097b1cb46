// The span metrics' Prometheus series, in the names and labels of Tempo's
// metrics-generator, which Grafana's Tempo data source reads:
//   traces_spanmetrics_calls_total{service, span_name, span_kind, status_code, …}
//   traces_spanmetrics_latency{…}      (histogram: _bucket, _sum, _count; seconds)
//   traces_spanmetrics_size_total{…}   (bytes of the spans' protobuf encoding)
// `…` is the configured dimensions, sanitized to label syntax; `tenant` comes
// first when include_tenant_label is on; exclude_dimensions drops intrinsic ones.
import type { Logger } from '../../../telemetry/logger.js';
import { labelObject, sharedFamily, type SampleSource } from '../shared/families.js';
import { HistogramCells, type Sample } from '../shared/histogram.js';
import { sanitizeLabelName } from '../shared/labels.js';
import { SeriesTable, type Series } from '../shared/series-table.js';
import { INTRINSIC_DIMENSIONS, type SpanMetricsConfig } from './config.js';

export const METRIC = {
  callsTotal: 'traces_spanmetrics_calls_total',
  latency: 'traces_spanmetrics_latency',
  sizeTotal: 'traces_spanmetrics_size_total',
} as const;

export interface SpanSeries extends Series {
  calls: number;
  sizeBytes: number;
  latency: HistogramCells | undefined;
}

/** The label names of a configuration, in series order. */
export function spanMetricsLabelNames(config: SpanMetricsConfig): string[] {
  const excluded = new Set<string>(config.exclude_dimensions);
  return [
    ...(config.include_tenant_label ? ['tenant'] : []),
    ...Object.entries(INTRINSIC_DIMENSIONS)
      .filter(([name]) => !excluded.has(name))
      .map(([, label]) => label),
    ...config.dimensions.map((d) => sanitizeLabelName(d.name)),
  ];
}

/** The series table of one connector instance, published on the shared families. */
export function spanMetricsTable(config: SpanMetricsConfig, connector: string, logger: Logger): { table: SeriesTable<SpanSeries>; detach: () => void } {
  const buckets = config.histogram.disable ? undefined : config.histogram.explicit.buckets;
  const table = new SeriesTable<SpanSeries>({
    metric: METRIC.callsTotal,
    labelNames: spanMetricsLabelNames(config),
    keptLabels: config.include_tenant_label ? 1 : 0,
    maxLabelSets: config.max_label_sets,
    connector,
    logger,
    create: (labels, now) => ({ labels, lastSeen: now, calls: 0, sizeBytes: 0, latency: buckets && new HistogramCells(buckets) }),
  });

  const detachers: Array<() => void> = [];
  const publish = (name: string, help: string, type: 'counter' | 'histogram', samples: (s: SpanSeries, labels: Record<string, string>, out: Sample[]) => void) => {
    const source: SampleSource = {
      collect(out) {
        for (const series of table.values()) samples(series, labelObject(table.labelNames, series.labels), out);
      },
      reset: () => table.reset(),
    };
    detachers.push(sharedFamily(name, help, type).attach(source));
  };
  publish(METRIC.callsTotal, 'Spans seen, by service, span name, kind, status and dimensions.', 'counter', (s, labels, out) => {
    out.push({ labels, value: s.calls });
  });
  if (buckets) {
    publish(METRIC.latency, 'Span durations in seconds.', 'histogram', (s, labels, out) => {
      s.latency!.appendSamples(METRIC.latency, labels, out);
    });
  }
  if (config.size_metric) {
    publish(METRIC.sizeTotal, 'Bytes of the spans, as protobuf-encoded OTLP Span messages.', 'counter', (s, labels, out) => {
      out.push({ labels, value: s.sizeBytes });
    });
  }
  return { table, detach: () => detachers.splice(0).forEach((d) => d()) };
}
