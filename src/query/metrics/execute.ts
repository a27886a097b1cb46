// TraceQL metrics over one tenant's head and blocks.
//
// Spans are counted where they start: a span belongs to the interval holding its start
// time, within (start, end] of the timeline. Two ways to get them:
//  - blocks, when the filter has an exact SQL form (sql.ts): one DuckDB aggregate over
//    the Parquet parts, grouped by interval, by() values and bucket;
//  - otherwise, and always for the head: whole traces are put together (head and blocks,
//    de-duplicated by span ID, as search does) and the filter runs in the evaluator
//    (evaluate.ts); each matching span is observed. Block traces are chosen by search's
//    pushed-down trace condition (pushdown.ts) and read in batches.
// A trace held both by the head and by a block (late spans, or a head whose block has
// just become visible) is always put together and evaluated whole, and left out of the
// SQL aggregate, so no span is counted twice and no cross-span condition is missed.
// Loops over traces pace themselves and enforce query.timeout (QueryBudget), and DuckDB
// queries are interrupted at the deadline.
import type { Store } from '../../store/store.js';
import type { DuckEngine, QueryContext } from '../../store/engine/duckdb.js';
import type { StoredSpan } from '../../otlp/model.js';
import { fileList } from '../../store/blocks/reader.js';
import { SPAN_COLUMNS, rowToStoredSpan, type SpanRow } from '../../store/blocks/row-codec.js';
import type { MetricsPipeline, MetricsQuery } from '../traceql/ast.js';
import { evaluateQuery, fieldValue } from '../traceql/engine/evaluate.js';
import { traceCondition } from '../search/pushdown.js';
import { buildTrace, type EvalSpan, type EvalTrace } from '../traceql/engine/trace.js';
import { toNumber, type Val } from '../traceql/engine/values.js';
import { applySecondStage, FirstStage, log2Exponent, MetricsLimitError, type Exemplar, type Series } from './series.js';
import { planSql, valFromStruct, type SqlPlan } from './sql.js';
import { intervalOf, type Timeline } from './timeline.js';
import { QueryBudget } from '../budget.js';

export interface MetricsRequest {
  tenant: string;
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
  /** false: evaluate block spans one by one even when the filter has an SQL form (tests compare both). */
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
}

export interface MetricsResult {
  series: Series[];
  stats: MetricsStats;
}

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
  const checkDeadline = (): void => budget.check();
  const addBytes = (n: number): void => {
    stats.inspectedBytes += n;
    if (req.maxBytesInspected > 0 && stats.inspectedBytes > req.maxBytesInspected) {
      throw new MetricsLimitError(413, `metrics query would inspect more than query.max_bytes_inspected=${req.limitText.maxBytes} bytes; narrow the time range or the query`);
    }
  };
  const observeTrace = (traceId: string, spans: readonly StoredSpan[]): void => {
    stats.inspectedTraces++;
    const trace = buildTrace(traceId, spans);
    const seen = new Set<EvalSpan>();
    for (const set of evaluateQuery(p.pipeline, trace, budget)) {
      for (const span of set.spans) {
        if (seen.has(span)) continue;
        seen.add(span);
        const interval = intervalOf(tl, span.start);
        if (interval < 0) continue;
        stats.inspectedSpans++;
        observeSpan(stage, span, trace, interval);
      }
    }
  };

  // The head, trace by trace (a trace may sit in the live head and a sealed one).
  const head = new Map<string, StoredSpan[]>();
  for await (const t of store.scanHead(req.tenant, { startUnixNano: tl.start + 1n, endUnixNano: tl.end }, budget)) {
    addBytes(t.bytes);
    const spans = head.get(t.traceId);
    if (spans) spans.push(...t.spans);
    else head.set(t.traceId, [...t.spans]);
  }
  checkDeadline();

  const range = { startUnixNano: tl.start + 1n, endUnixNano: tl.end + 1n };
  const fromBlocks = await store.blocks.withParts(req.tenant, range, async (parts, engine) => {
    stats.totalBlocks = new Set(parts.map((x) => x.path.replace(/[/\\][^/\\]*$/, ''))).size;
    if (parts.length === 0) return new Set<string>();
    const partBytes = parts.reduce((n, x) => n + x.bytes, 0);
    if (req.maxBytesInspected > 0 && partBytes > req.maxBytesInspected) {
      throw new MetricsLimitError(413, `metrics query would inspect ${partBytes} bytes of blocks, over query.max_bytes_inspected=${req.limitText.maxBytes}; narrow the time range`);
    }
    const files = fileList(parts.map((x) => x.path));
    const inRange = `start_unix_nano > ${tl.start} AND start_unix_nano <= ${tl.end}`;
    const headIds = [...head.keys()].join(',');
    const plan = req.sqlPushdown === false ? null : planSql(p.pipeline, p.aggregate);

    if (plan) {
      // Traces for the evaluator: those the head shares, and those with values SQL cannot judge.
      addBytes(partBytes);
      const shared: string[] = [];
      if (headIds !== '' || plan.oddRows !== null) {
        const conds: string[] = [];
        if (headIds !== '') conds.push(`trace_id IN (SELECT unnest(string_split(?, ',')))`);
        if (plan.oddRows !== null) conds.push(`(${inRange} AND (${plan.oddRows}))`);
        const rows = await engine.all<{ trace_id: string }>(
          `SELECT DISTINCT trace_id FROM read_parquet(${files}) WHERE ${conds.join(' OR ')}`,
          headIds !== '' ? [headIds] : [],
          budget,
        );
        shared.push(...rows.map((r) => r.trace_id));
      }
      checkDeadline();
      const ok = await aggregateInSql(engine, files, inRange, plan, shared, stage, req, stats, budget).then(
        () => true,
        // An expression DuckDB refuses (an RE2 regex the evaluator accepts, say) costs only
        // speed; an aggregate interrupted at the deadline is not retried.
        (err: unknown) => {
          if (err instanceof MetricsLimitError) throw err;
          checkDeadline();
          return false;
        },
      );
      if (ok) {
        stats.blockPath = 'sql';
        await readAndObserve(store, req.tenant, shared, head, observeTrace, budget);
        return new Set(shared);
      }
    }

    stats.blockPath = 'spans';
    addBytes(partBytes);
    const having = [`bool_or(${inRange})`];
    const cond = traceCondition(p.pipeline);
    const sql = (c: string | null): string =>
      `SELECT trace_id FROM read_parquet(${files}) GROUP BY trace_id HAVING ${[...having, ...(c === null ? [] : [c])].join(' AND ')}` +
      (headIds !== '' ? ` UNION SELECT DISTINCT trace_id FROM read_parquet(${files}) WHERE trace_id IN (SELECT unnest(string_split(?, ',')))` : '');
    const params = headIds !== '' ? [headIds] : [];
    const rows = await engine.all<{ trace_id: string }>(sql(cond), params, budget).catch(() => {
      checkDeadline();
      return engine.all<{ trace_id: string }>(sql(null), params, budget);
    });
    checkDeadline();
    const ids = rows.map((r) => r.trace_id);
    await readAndObserve(store, req.tenant, ids, head, observeTrace, budget);
    return new Set(ids);
  });

  for (const [traceId, spans] of head) {
    if (fromBlocks.has(traceId)) continue;
    await budget.pace(spans.length);
    observeTrace(traceId, spans);
  }
  checkDeadline();
  return stage;
}

/** Reads the traces' spans from every block (whatever their time), adds the head's, and evaluates each trace. */
async function readAndObserve(
  store: Store,
  tenant: string,
  traceIds: readonly string[],
  head: ReadonlyMap<string, StoredSpan[]>,
  observe: (traceId: string, spans: readonly StoredSpan[]) => void,
  budget: QueryBudget,
): Promise<void> {
  if (traceIds.length === 0) return;
  const sorted = [...traceIds].sort();
  await store.blocks.withParts(tenant, {}, async (parts, engine) => {
    const files = parts.length > 0 ? fileList(parts.map((x) => x.path)) : null;
    for (let i = 0; i < sorted.length; i += READ_BATCH_TRACES) {
      budget.check();
      const batch = sorted.slice(i, i + READ_BATCH_TRACES);
      const byTrace = new Map<string, StoredSpan[]>(batch.map((id) => [id, [...(head.get(id) ?? [])]]));
      if (files !== null) {
        // The range lets DuckDB skip row groups: parts are sorted by trace ID.
        const rows = await engine.all<SpanRow & Record<string, unknown>>(
          `SELECT ${SPAN_COLUMNS} FROM read_parquet(${files}) WHERE trace_id BETWEEN ? AND ? AND trace_id IN (SELECT unnest(string_split(?, ',')))`,
          [batch[0]!, batch[batch.length - 1]!, batch.join(',')],
          budget,
        );
        for (const r of rows) {
          await budget.pace();
          byTrace.get(r.trace_id)?.push(rowToStoredSpan(r));
        }
      }
      for (const [id, spans] of byTrace) {
        if (spans.length === 0) continue;
        await budget.pace(spans.length);
        observe(id, spans);
      }
    }
  });
}

async function aggregateInSql(
  engine: DuckEngine,
  files: string,
  inRange: string,
  plan: SqlPlan,
  exclude: readonly string[],
  stage: FirstStage,
  req: MetricsRequest,
  stats: MetricsStats,
  query: QueryContext,
): Promise<void> {
  const tl = req.timeline;
  const cols = [`((start_unix_nano - ${tl.start + 1n}) // ${tl.step})::BIGINT AS iv`, ...plan.by.map((b, i) => `${b} AS b${i}`)];
  if (plan.exponent !== null) cols.push(`${plan.exponent} AS bk`);
  const value = plan.value ?? 'NULL::DOUBLE';
  const aggs = ['count(*) AS n', `min(${value}) AS mn`, `max(${value}) AS mx`, `count(${value}) AS nv`];
  // Durations are whole nanoseconds: an exact integer sum, as the evaluator's (below 2^53).
  aggs.push(plan.value === 'duration_nano::DOUBLE' ? 'sum(duration_nano)::DOUBLE AS sm' : `sum(${value}) AS sm`);
  if (stage.keepExemplars) aggs.push(`min({'st': start_unix_nano, 't': trace_id, 's': lower(hex(span_id)), 'v': ${value}}) AS ex`);
  const where = [inRange];
  if (plan.where !== null) where.push(plan.where);
  if (plan.exponent !== null) where.push(`(${plan.exponent}) IS NOT NULL`);
  if (plan.oddRows !== null) where.push(`NOT (${plan.oddRows})`);
  const params: string[] = [];
  if (exclude.length > 0) {
    where.push(`trace_id NOT IN (SELECT unnest(string_split(?, ',')))`);
    params.push(exclude.join(','));
  }
  const groupBy = ['iv', ...plan.by.map((_, i) => `b${i}`), ...(plan.exponent !== null ? ['bk'] : [])];
  const sql = `SELECT ${[...cols, ...aggs].join(', ')} FROM read_parquet(${files}) WHERE ${where.join(' AND ')} GROUP BY ${groupBy.join(', ')}`;
  const rows = await engine.all(sql, params, query);
  for (const r of rows) {
    const count = Number(r['n'] as bigint);
    stats.inspectedSpans += count;
    const by = plan.by.map((_, i) => valFromStruct(r[`b${i}`] as Parameters<typeof valFromStruct>[0]));
    const ex = r['ex'] as { st: bigint; t: string; s: string; v: number | null } | undefined | null;
    const valued = Number(r['nv'] as bigint);
    stage.add(by, plan.exponent !== null ? Number(r['bk']) : undefined, Number(r['iv'] as bigint), {
      count,
      min: (r['mn'] as number | null) ?? NaN,
      max: (r['mx'] as number | null) ?? NaN,
      sum: (r['sm'] as number | null) ?? 0,
      valued,
      exemplar: ex ? exemplarOf(stage, ex.t, ex.s, ex.st, ex.v ?? undefined) : undefined,
    });
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
