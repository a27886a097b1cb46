// The `spanmetrics` connector: request, error and duration (RED) metrics from
// every span that passes the pipeline, after the collector's
// spanmetricsconnector and Tempo's span-metrics processor.
//
// It runs on every span, and what it allocates per span costs more than its
// arithmetic: young garbage makes the collector copy the requests still in
// flight sooner. So the common case builds no string per span. Per resource:
// service.name, the dimensions found on the resource, and a series cache keyed
// by them; per span: a Map lookup by span name, an array slot by kind and
// status, a few adds, and the same for the UI aggregate. The label-set string
// is built only for a span the cache cannot answer (a new label set, one
// folded into __overflow__, or dimensions read span by span).
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
  /** Per-operation RED figures for [start, end) within ui_window_retention, of the tenants named (all when none is). */
  operations(start: Date, end: Date, tenants?: readonly string[]): OperationStats[];
  /** Drops series not observed for metrics_expiration now (a timer does it every minute). */
  expire(): void;
  shutdown(): Promise<void>;
}

export interface SpanMetricsOptions {
  /** Clock in ms (tests); Date.now by default. */
  now?: () => number;
  /** Checks a span name before it labels a series or an operation, when no redaction processor did. */
  spanName?: (name: string) => string;
}

const SEP = '\0';
const STALE_SWEEP_MS = 60_000;
/** Cache slots per span name: kind (0–5) × status code (0–2); other values take the string path. */
const KINDS = 6;
const CODES = 3;

/** Series by span name, then by kind × status code. */
type SeriesBySpan = Map<string, Array<SpanSeries | undefined>>;

export function createSpanMetrics(config: SpanMetricsConfig, ctx: { name: string; logger: Logger }, options: SpanMetricsOptions = {}): SpanMetricsConnector {
  return new SpanMetrics(config, ctx, options.now ?? Date.now, options.spanName);
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
  /**
   * Series of the table by the per-resource part of their key (tenant, service,
   * dimension values), then per span. Holds only series of their own label
   * set, never more than the table; cleared when the table drops a series.
   */
  private readonly cache = new Map<string, SeriesBySpan>();
  private cacheVersion = 0;

  constructor(
    private readonly config: SpanMetricsConfig,
    ctx: { name: string; logger: Logger },
    private readonly now: () => number,
    private readonly checkName: ((name: string) => string) | undefined,
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
    const window = this.window;
    const opBucket = window.bucketAt(now);
    const dims = this.dimensionNames;
    if (this.table.version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = this.table.version;
    }
    for (const rs of batch) {
      // Tempo counts spans of a resource without service.name under service="".
      const service = stringAttribute(rs.resource.attributes, 'service.name') ?? '';
      let onResource = true;
      for (let i = 0; i < dims.length; i++) {
        const value = attributeText(rs.resource.attributes, dims[i]!);
        this.resourceValues[i] = value;
        if (value === undefined) onResource = false;
      }
      const seriesPrefix = (this.withTenant ? tenant + SEP : '') + (this.withService ? service + SEP : '');
      const opPrefix = tenant + SEP + service + SEP;
      const operations = window.operationsOf(opBucket, opPrefix);
      // With every dimension on the resource, a span's series depends on its name, kind and status only.
      const cacheKey = onResource ? this.cacheKeyOf(seriesPrefix) : undefined;
      let cached = cacheKey === undefined ? undefined : this.cache.get(cacheKey);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const seconds = durationSeconds(span);
          const failed = span.status.code === StatusCode.ERROR;
          const spanName = this.checkName === undefined ? span.name : this.checkName(span.name);
          window.record(opBucket, operations, opPrefix, tenant, service, spanName, span.kind, failed, seconds);

          let series: SpanSeries | undefined;
          let slot = -1;
          if (cacheKey !== undefined) {
            const kind = this.withSpanKind ? span.kind : 0;
            const code = this.withStatusCode ? span.status.code : 0;
            if (kind >= 0 && kind < KINDS && code >= 0 && code < CODES) {
              slot = kind * CODES + code;
              series = cached?.get(this.withSpanName ? spanName : '')?.[slot];
            }
          }
          if (series === undefined) {
            const key = this.keyOf(seriesPrefix, span, spanName);
            series = this.table.get(key) ?? this.table.add(key, this.labelsOf(tenant, service, span, spanName), now);
            if (slot >= 0 && this.table.holds(key, series)) {
              if (cached === undefined) this.cache.set(cacheKey!, (cached = new Map()));
              const name = this.withSpanName ? spanName : '';
              let slots = cached.get(name);
              if (slots === undefined) cached.set(name, (slots = new Array<SpanSeries | undefined>(KINDS * CODES)));
              slots[slot] = series;
            }
          }
          series.lastSeen = now;
          series.calls++;
          if (this.withLatency) series.latency!.observe(seconds);
          if (this.withSize) series.sizeBytes += spanMessageSize(span);
        }
      }
    }
  }

  operations(start: Date, end: Date, tenants?: readonly string[]): OperationStats[] {
    return this.window.operations(start.getTime(), end.getTime(), this.now(), tenants);
  }

  expire(): void {
    if (this.config.metrics_expiration > 0) this.table.dropStale(this.now() - this.config.metrics_expiration);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    this.detach();
  }

  /** The series' key in the table; fills spanValues with the span's dimension values. */
  private keyOf(seriesPrefix: string, span: Span, spanName: string): string {
    const dims = this.dimensionNames;
    let key = seriesPrefix;
    if (this.withSpanName) key += spanName + SEP;
    if (this.withSpanKind) key += span.kind;
    if (this.withStatusCode) key += SEP + span.status.code;
    for (let i = 0; i < dims.length; i++) {
      const value = this.resourceValues[i] ?? attributeText(span.attributes, dims[i]!) ?? this.dimensionDefaults[i]!;
      this.spanValues[i] = value;
      key += SEP + value;
    }
    return key;
  }

  /** The cache key of one resource: its series prefix and dimension values. */
  private cacheKeyOf(seriesPrefix: string): string {
    let key = seriesPrefix;
    for (let i = 0; i < this.resourceValues.length; i++) key += SEP + this.resourceValues[i]!;
    return key;
  }

  /** Label values of a new series (rare: once per label set), in spanMetricsLabelNames order. */
  private labelsOf(tenant: string, service: string, span: Span, spanName: string): string[] {
    const labels: string[] = [];
    if (this.withTenant) labels.push(tenant);
    if (this.withService) labels.push(service);
    if (this.withSpanName) labels.push(spanName);
    if (this.withSpanKind) labels.push(kindName(span.kind));
    if (this.withStatusCode) labels.push(STATUS_CODE_NAMES[span.status.code] ?? STATUS_CODE_NAMES[0]);
    labels.push(...this.spanValues);
    return labels;
  }
}
