// TraceQL metrics over one tenant's spans, or several tenants' together (Tempo's `a|b`: the
// first stage adds every tenant's spans up, so quantiles and averages are exact), read
// through Store.fetch (fetch.ts says which mode). Spans are counted where they start: a
// span belongs to the interval holding its start time, within (start, end] of the timeline.
// The store either aggregates the blocks itself (rows, added as they are) and hands back
// the traces it could not count exactly (the head's, and those with values SQL cannot
// judge), or hands back every trace that may match; either way each trace given runs
// through the evaluator (evaluate.ts) and each span it selects is observed.
// Loops over traces pace themselves and enforce query.timeout (QueryBudget), and the
// store's DuckDB queries are interrupted at the deadline.
import type { Store } from '../../store/store.js';
import type { FetchedTraces, FetchLimits, PartialAnswer, Tenants } from '../../store/fetch/request.js';
import type { StoredSpan } from '../../otlp/model.js';
import type { MetricsPipeline, MetricsQuery } from '../traceql/ast.js';
import { evaluateQuery, fieldValue } from '../traceql/engine/evaluate.js';
import { buildTrace, type EvalSpan, type EvalTrace } from '../traceql/engine/trace.js';
import { toNumber, type Val } from '../traceql/engine/values.js';
import { applySecondStage, FirstStage, log2Exponent, MetricsLimitError, type Exemplar, type Series } from './series.js';
import { aggregateRequest, planAggregate, tracesRequest } from './fetch.js';
import { intervalOf, type Timeline } from './timeline.js';
import { QueryBudget } from '../budget.js';

export interface MetricsRequest {
  tenants: Tenants;
  query: MetricsQuery;
  timeline: Timeline;
  /** Most exemplars returned; 0 for none. */
  exemplars: number;
  /** Most first-stage series (0 = no limit). */
  maxSeries: number;
  /** Date.now() after which the query gives up. */
  deadlineMs: number;
  /** Aborts when the client has gone away: the query stops. */
  cancelled?: AbortSignal | undefined;
  /** 0 = no limit. */
  maxBytesInspected: number;
  /** false: evaluate every span in the engine even when the store could aggregate them (tests compare both). */
  sqlPushdown?: boolean;
  limitText: { timeout: string; maxBytes: string };
}

export interface MetricsStats {
  inspectedTraces: number;
  inspectedSpans: number;
  inspectedBytes: number;
  totalBlocks: number;
  /** How the block part ran: `sql` (one aggregate), `spans` (evaluator) or `none` (no blocks). */
  blockPath: 'sql' | 'spans' | 'none';
  /** Set when some cluster peers did not answer: spans they hold are not counted. */
  partial?: PartialAnswer | undefined;
}

export interface MetricsResult {
  series: Series[];
  stats: MetricsStats;
}

/** Traces the store reads at a time for the evaluator. */
const READ_BATCH_TRACES = 256;

/** A metrics query this executor does not run, refused with 400 naming the construct. */
export class UnsupportedMetricsError extends Error {}

export async function runMetricsQuery(store: Store, req: MetricsRequest): Promise<MetricsResult> {
  const { expr } = req.query;
  if (expr.type !== 'metricsPipeline') {
    throw new UnsupportedMetricsError('unsupported TraceQL: arithmetic between metrics queries is not supported yet; run each pipeline as its own query');
  }
  if (expr.aggregate.fn === 'compare') throw new UnsupportedMetricsError('unsupported TraceQL: compare() is not supported yet');
  const stats: MetricsStats = { inspectedTraces: 0, inspectedSpans: 0, inspectedBytes: 0, totalBlocks: 0, blockPath: 'none' };
  const budget = new QueryBudget(req.deadlineMs, () => metricsTimeout(req.limitText.timeout), req.cancelled);
  const stage = await budget.run(() => firstStage(store, req, expr, stats, budget));
  const series = applySecondStage(applySecondStage(stage.series(), expr.secondStage, req.timeline.intervals), req.query.secondStage, req.timeline.intervals);
  return { series, stats };
}

/** The answer to a metrics query that outlasted query.timeout (also while it waited for admission). */
export function metricsTimeout(timeoutText: string): MetricsLimitError {
  return new MetricsLimitError(429, `metrics query exceeded query.timeout=${timeoutText}; narrow the time range or the query`);
}

async function firstStage(store: Store, req: MetricsRequest, p: MetricsPipeline, stats: MetricsStats, budget: QueryBudget): Promise<FirstStage> {
  const tl = req.timeline;
  const stage = new FirstStage(p.aggregate, tl, req.maxSeries, req.exemplars > 0);
  const limits: FetchLimits = {
    pacer: budget,
    maxBytesInspected: req.maxBytesInspected,
    overLimit: (bytes) =>
      new MetricsLimitError(413, `metrics query would inspect ${bytes} bytes or more, over query.max_bytes_inspected=${req.limitText.maxBytes}; narrow the time range or the query`),
  };
  const plan = req.sqlPushdown === false ? null : planAggregate(p.pipeline, p.aggregate);
  let traces: FetchedTraces;
  if (plan !== null) {
    const aggregated = await store.fetch(req.tenants, { ...aggregateRequest(plan, tl, stage.keepExemplars), ...limits });
    for (const row of aggregated.rows) {
      stats.inspectedSpans += row.count;
      const ex = row.exemplar;
      stage.add(row.by, row.bucket, row.interval, {
        count: row.count,
        min: row.min,
        max: row.max,
        sum: row.sum,
        valued: row.valued,
        exemplar: ex ? exemplarOf(stage, ex.traceId, ex.spanId, ex.start, ex.value) : undefined,
      });
    }
    stats.blockPath = aggregated.blockPath;
    traces = aggregated.traces;
  } else {
    traces = store.fetch(req.tenants, { ...tracesRequest(p.pipeline, tl, READ_BATCH_TRACES), ...limits });
  }

  for await (const t of traces) {
    await budget.pace(t.spans.length);
    observeTrace(stage, p, t.traceId, t.spans, stats, budget);
  }
  budget.check();
  stats.inspectedBytes = traces.stats.inspectedBytes;
  stats.totalBlocks = traces.stats.totalBlocks;
  if (traces.stats.partial) stats.partial = traces.stats.partial;
  if (plan === null) stats.blockPath = stats.totalBlocks > 0 ? 'spans' : 'none';
  return stage;
}

/** Runs the pipeline over one trace and observes each span it selects that starts in the range, once. */
function observeTrace(stage: FirstStage, p: MetricsPipeline, traceId: string, spans: readonly StoredSpan[], stats: MetricsStats, budget: QueryBudget): void {
  stats.inspectedTraces++;
  const trace = buildTrace(traceId, spans);
  const seen = new Set<EvalSpan>();
  for (const set of evaluateQuery(p.pipeline, trace, budget)) {
    for (const span of set.spans) {
      if (seen.has(span)) continue;
      seen.add(span);
      const interval = intervalOf(stage.timeline, span.start);
      if (interval < 0) continue;
      stats.inspectedSpans++;
      observeSpan(stage, span, trace, interval);
    }
  }
}

function exemplarOf(stage: FirstStage, traceId: string, spanId: string, start: bigint, value: number | undefined): Exemplar {
  const counting = stage.agg.attr === null || stage.agg.fn === 'histogram_over_time';
  return { traceId, spanId, start, value: counting || value === undefined ? NaN : stage.scaleSeconds ? value / 1e9 : value };
}

function observeSpan(stage: FirstStage, span: EvalSpan, trace: EvalTrace, interval: number): void {
  const agg = stage.agg;
  const by: Val[] = agg.by.map((a) => fieldValue(a, span, trace));
  let value: number | undefined;
  let integral = false;
  if (agg.attr !== null) {
    const v = fieldValue(agg.attr, span, trace);
    const n = toNumber(v);
    value = n === undefined || Number.isNaN(n) ? undefined : n;
    integral = v.t === 'int' || v.t === 'duration';
  }
  let exponent: number | undefined;
  if (stage.bucketed) {
    exponent = value !== undefined && integral ? log2Exponent(value) : undefined;
    if (exponent === undefined) return;
  } else if (agg.attr !== null && value === undefined) {
    // *_over_time skips spans without a numeric value.
    return;
  }
  stage.add(by, exponent, interval, {
    count: 1,
    min: value ?? NaN,
    max: value ?? NaN,
    sum: value ?? 0,
    valued: value === undefined ? 0 : 1,
    exemplar: stage.keepExemplars ? exemplarOf(stage, trace.traceId, span.spanId, span.start, value) : undefined,
  });
}
