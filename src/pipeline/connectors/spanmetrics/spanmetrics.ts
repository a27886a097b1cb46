// The `spanmetrics` connector: request, error and duration (RED) metrics from
// every span that passes the pipeline, after the collector's
// spanmetricsconnector and Tempo's span-metrics processor.
//
// It runs on every span, so the per-span work is one key string, one Map
// lookup, a few adds, and one more lookup for the UI aggregate. Per resource,
// not per span: service.name, dimensions found on the resource, the key prefix.
import type { ResourceSpans, Span } from '../../../otlp/model.js';
import { STATUS_CODE_NAMES, StatusCode, stringAttribute } from '../../../otlp/model.js';
import { spanMessageSize } from '../../../otlp/trace-encode.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { Connector } from '../../component.js';
import { attributeText } from '../shared/attributes.js';
import { durationSeconds } from '../shared/spans.js';
import type { SeriesTable } from '../shared/series-table.js';
import type { SpanMetricsConfig } from './config.js';
import { spanMetricsTable, type SpanSeries } from './metrics.js';
import { kindName, OperationWindow, type OperationStats } from './ui-window.js';

export interface SpanMetricsConnector extends Connector {
  /** Per-operation RED figures for [start, end) within ui_window_retention, all tenants unless one is named. */
  operations(start: Date, end: Date, tenant?: string): OperationStats[];
  /** Drops series not observed for metrics_expiration now (a timer does it every minute). */
  expire(): void;
  shutdown(): Promise<void>;
}

export interface SpanMetricsOptions {
  /** Clock in ms (tests); Date.now by default. */
  now?: () => number;
}

const SEP = '\0';
const STALE_SWEEP_MS = 60_000;

export function createSpanMetrics(config: SpanMetricsConfig, ctx: { name: string; logger: Logger }, options: SpanMetricsOptions = {}): SpanMetricsConnector {
  return new SpanMetrics(config, ctx, options.now ?? Date.now);
}

class SpanMetrics implements SpanMetricsConnector {
  private readonly table: SeriesTable<SpanSeries>;
  private readonly detach: () => void;
  private readonly window: OperationWindow;
  private readonly withTenant: boolean;
  private readonly withService: boolean;
  private readonly withSpanName: boolean;
  private readonly withSpanKind: boolean;
  private readonly withStatusCode: boolean;
  private readonly withLatency: boolean;
  private readonly withSize: boolean;
  private readonly dimensionNames: readonly string[];
  private readonly dimensionDefaults: ReadonlyArray<string>;
  /** Per batch, reused: each dimension's value on the current resource (undefined: look on the span). */
  private readonly resourceValues: Array<string | undefined>;
  /** Per span, reused: each dimension's value, kept for the labels of a new series. */
  private readonly spanValues: string[];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly config: SpanMetricsConfig,
    ctx: { name: string; logger: Logger },
    private readonly now: () => number,
  ) {
    const logger = ctx.logger.child({ connector: ctx.name });
    ({ table: this.table, detach: this.detach } = spanMetricsTable(config, ctx.name, logger));
    this.window = new OperationWindow(config.ui_window_resolution, config.ui_window_retention, config.max_label_sets);
    const excluded = new Set<string>(config.exclude_dimensions);
    this.withTenant = config.include_tenant_label;
    this.withService = !excluded.has('service.name');
    this.withSpanName = !excluded.has('span.name');
    this.withSpanKind = !excluded.has('span.kind');
    this.withStatusCode = !excluded.has('status.code');
    this.withLatency = !config.histogram.disable;
    this.withSize = config.size_metric;
    this.dimensionNames = config.dimensions.map((d) => d.name);
    this.dimensionDefaults = config.dimensions.map((d) => d.default ?? '');
    this.resourceValues = this.dimensionNames.map(() => undefined);
    this.spanValues = this.dimensionNames.map(() => '');
    this.timer = setInterval(() => this.expire(), STALE_SWEEP_MS);
    this.timer.unref();
  }

  observe(tenant: string, batch: readonly ResourceSpans[]): void {
    const now = this.now();
    const opBucket = this.window.bucketAt(now);
    const dims = this.dimensionNames;
    for (const rs of batch) {
      // Tempo counts spans of a resource without service.name under service="".
      const service = stringAttribute(rs.resource.attributes, 'service.name') ?? '';
      for (let i = 0; i < dims.length; i++) this.resourceValues[i] = attributeText(rs.resource.attributes, dims[i]!);
      const seriesPrefix = (this.withTenant ? tenant + SEP : '') + (this.withService ? service + SEP : '');
      const opPrefix = tenant + SEP + service + SEP;
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const seconds = durationSeconds(span);
          const failed = span.status.code === StatusCode.ERROR;
          this.window.record(opBucket, opPrefix, tenant, service, span.name, span.kind, failed, seconds);

          let key = seriesPrefix;
          if (this.withSpanName) key += span.name + SEP;
          if (this.withSpanKind) key += span.kind;
          if (this.withStatusCode) key += SEP + span.status.code;
          for (let i = 0; i < dims.length; i++) {
            const value = this.resourceValues[i] ?? attributeText(span.attributes, dims[i]!) ?? this.dimensionDefaults[i]!;
            this.spanValues[i] = value;
            key += SEP + value;
          }
          const series = this.table.get(key) ?? this.table.add(key, this.labelsOf(tenant, service, span), now);
          series.lastSeen = now;
          series.calls++;
          if (this.withLatency) series.latency!.observe(seconds);
          if (this.withSize) series.sizeBytes += spanMessageSize(span);
        }
      }
    }
  }

  operations(start: Date, end: Date, tenant?: string): OperationStats[] {
    return this.window.operations(start.getTime(), end.getTime(), this.now(), tenant);
  }

  expire(): void {
    if (this.config.metrics_expiration > 0) this.table.dropStale(this.now() - this.config.metrics_expiration);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.detach();
  }

  /** Label values of a new series (rare: once per label set), in spanMetricsLabelNames order. */
  private labelsOf(tenant: string, service: string, span: Span): string[] {
    const labels: string[] = [];
    if (this.withTenant) labels.push(tenant);
    if (this.withService) labels.push(service);
    if (this.withSpanName) labels.push(span.name);
    if (this.withSpanKind) labels.push(kindName(span.kind));
    if (this.withStatusCode) labels.push(STATUS_CODE_NAMES[span.status.code] ?? STATUS_CODE_NAMES[0]);
    labels.push(...this.spanValues);
    return labels;
  }
}
