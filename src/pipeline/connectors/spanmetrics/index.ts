// The `spanmetrics` connector: the collector's type name, its config schema
// and the connector builder (metrics on Skein's registry, operations() for the
// UI's per-operation RED table).
import type { Logger } from '../../../telemetry/logger.js';
import { spanMetricsConfigSchema, type SpanMetricsConfig } from './config.js';
import { createSpanMetrics, type SpanMetricsConnector, type SpanMetricsOptions } from './spanmetrics.js';

export { spanMetricsConfigSchema, type SpanMetricsConfig } from './config.js';
export type { SpanMetricsConnector, SpanMetricsOptions } from './spanmetrics.js';
export type { OperationStats } from './ui-window.js';
export { METRIC as SPAN_METRICS_METRICS } from './metrics.js';

export const type = 'spanmetrics';
export const schema = spanMetricsConfigSchema;

export function create(config: SpanMetricsConfig, ctx: { name: string; logger: Logger }, options?: SpanMetricsOptions): SpanMetricsConnector {
  return createSpanMetrics(config, ctx, options);
}

export const spanMetricsFactory = { type, schema, create } as const;
