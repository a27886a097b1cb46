// What a metrics query asks the store for (store/fetch/request.ts). When the first stage
// is a single spanset filter with an exact span filter, and by() and the measured
// attribute are fields of one span, the store runs it itself (`aggregate`): its answer
// is final, so the filter must mean exactly what the engine means (spanFilterOf's
// `exact`). Anything else (structural operators, trace intrinsics, several stages) asks
// for the traces that may match (`traces`, in no order) and runs the pipeline over each.
import type { FetchAggregateRequest, FetchField, FetchTracesRequest } from '../../store/fetch/request.js';
import type { AttributeRef, MetricsAggregate, Pipeline } from '../traceql/ast.js';
import { conditionsOf, fetchFieldOf, spanFilterOf, traceFilterOf } from '../traceql/fetch-request.js';
import type { Timeline } from './timeline.js';

/** The part of an aggregate request the query decides: what is counted, grouped and measured. */
export type AggregatePlan = Pick<FetchAggregateRequest, 'filter' | 'by' | 'value' | 'buckets'>;

/** The first stage as a store aggregate, or null when the store cannot run it exactly. */
export function planAggregate(pipeline: Pipeline, agg: MetricsAggregate): AggregatePlan | null {
  if (agg.fn === 'compare') return null;
  const stage = pipeline.stages[0];
  if (pipeline.stages.length !== 1 || stage?.type !== 'spansetFilter') return null;
  const filter = stage.expr === null ? null : spanFilterOf(stage.expr, 'exact');
  if (stage.expr !== null && filter === null) return null;
  const by: FetchField[] = [];
  for (const a of agg.by) {
    const f = spanField(a);
    if (f === undefined) return null;
    by.push(f);
  }
  const value = agg.attr === null ? null : spanField(agg.attr);
  if (value === undefined) return null;
  return { filter, by, value, buckets: agg.fn === 'histogram_over_time' || agg.fn === 'quantile_over_time' };
}

/** A field with one value per span (event:name has one per event). */
function spanField(a: AttributeRef): FetchField | undefined {
  const f = fetchFieldOf(a);
  return f?.type === 'intrinsic' && f.name === 'event:name' ? undefined : f;
}

type Query<R> = Omit<R, 'pacer' | 'maxBytesInspected' | 'overLimit'>;

/** The aggregate over the timeline's spans (those starting in (start, end]). */
export function aggregateRequest(plan: AggregatePlan, tl: Timeline, exemplars: boolean): Query<FetchAggregateRequest> {
  return { kind: 'aggregate', afterUnixNano: tl.start, atOrBeforeUnixNano: tl.end, stepNano: tl.step, ...plan, exemplars };
}

/** Traces that may hold a span the pipeline selects, starting in (start, end]. */
export function tracesRequest(pipeline: Pipeline, tl: Timeline, batch: number): Query<FetchTracesRequest> {
  const filter = traceFilterOf(pipeline);
  return {
    kind: 'traces',
    startUnixNano: tl.start + 1n,
    endUnixNano: tl.end + 1n,
    ...conditionsOf(filter),
    filter,
    // by() and the measured attribute may name any attribute.
    secondPass: 'all',
    limit: batch,
    order: 'none',
  };
}
