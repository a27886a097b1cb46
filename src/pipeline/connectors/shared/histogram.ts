// A Prometheus classic histogram for one series: per-bucket counts kept
// non-cumulative (one increment per observation) and made cumulative only when
// scraped, which happens far less often than spans arrive.

/** Tempo's service-graph default: prometheus.ExponentialBuckets(0.1, 2, 8), in seconds. */
export const SERVICE_GRAPH_BUCKETS: readonly number[] = exponentialBuckets(0.1, 2, 8);
/** Tempo's span-metrics default: prometheus.ExponentialBuckets(0.002, 2, 14), in seconds. */
export const SPAN_METRICS_BUCKETS: readonly number[] = exponentialBuckets(0.002, 2, 14);

export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(b);
  return out;
}

export class HistogramCells {
  /** counts[i] observations in (bounds[i-1], bounds[i]]; the last cell is (last bound, +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** `_bucket`, `_sum` and `_count` samples in the exposition format prom-client's registry prints. */
  appendSamples(name: string, labels: Record<string, string>, out: Sample[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count });
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}

/** One line of a metric family as prom-client's registry reads it. */
export interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}
