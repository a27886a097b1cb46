// TraceQL metrics (/api/metrics/query_range, /api/metrics/query): see docs/traceql.md.
export { metricsTimeout, runMetricsQuery, UnsupportedMetricsError, type MetricsRequest, type MetricsResult, type MetricsStats } from './execute.js';
export { MetricsLimitError, type Series, type Label } from './series.js';
export { parseMetricsParams, parseTimestamp, parseStep, MAX_INTERVALS, DEFAULT_EXEMPLARS, type MetricsParams } from './request.js';
export { queryRangeJson, queryInstantJson } from './response.js';
export { defaultStep, rangeTimeline, instantTimeline, intervalOf, timestampMsOf, type Timeline } from './timeline.js';
