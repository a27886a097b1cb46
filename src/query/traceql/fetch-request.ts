// TraceQL as the store's fetch conditions (store/fetch/request.ts), built once from the
// AST for search, metrics and tag autocomplete alike.
//
// A comparison of a span-level field with a literal becomes a Condition. What has no
// condition form (arithmetic, `!`, trace-level intrinsics, parent., event and link
// attributes, a field against a field) is handled by the mode asked for:
//  - `narrow`: replaced by "may hold" (dropped from an AND, making a whole OR unknown),
//    so the filter lets through every span that may match; the engine decides after;
//  - `exact`: no filter at all (null), and the caller evaluates in the engine.
// A per-trace aggregate right after the first spanset filter (`{ f } | avg(duration) >
// 100ms`) becomes an aggregate filter when f has an exact form.
import type { FieldExpr, Pipeline, PipelineExpr, ScalarFilter, SpansetExpr, SpansetFilter } from './ast.js';
import type { Condition, FetchField, SpanFilter, SpanIntrinsic, TraceFilter } from '../../store/fetch/request.js';
import { fromStatic } from './engine/values.js';

const SPAN_INTRINSICS = new Set<string>(['name', 'status', 'statusMessage', 'kind', 'duration', 'instrumentation:name', 'instrumentation:version', 'event:name']);
const FLIPPED: Record<string, string> = { '=': '=', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>=', '=~', '!~']);

/** The field as the store knows it, or undefined when it is not a field of one span. */
export function fetchFieldOf(e: FieldExpr): FetchField | undefined {
  if (e.type === 'intrinsic' && SPAN_INTRINSICS.has(e.name)) return { type: 'intrinsic', name: e.name as SpanIntrinsic };
  if (e.type === 'attribute' && !e.parent && (e.scope === 'span' || e.scope === 'resource' || e.scope === 'none' || e.scope === 'instrumentation')) {
    return { type: 'attribute', scope: e.scope, name: e.name };
  }
  return undefined;
}

/** `field op literal` (either way round) as a condition, or undefined. */
export function conditionOf(e: FieldExpr): Condition | undefined {
  if (e.type !== 'binary' || !COMPARISONS.has(e.op)) return undefined;
  let field = fetchFieldOf(e.lhs);
  let literal = e.rhs;
  let op: string = e.op;
  if (field === undefined) {
    // `5 < duration` is `duration > 5`; a regex needs the field on the left.
    if (!(op in FLIPPED)) return undefined;
    field = fetchFieldOf(e.rhs);
    literal = e.lhs;
    op = FLIPPED[op]!;
  }
  if (field === undefined || literal.type !== 'static') return undefined;
  return { field, op: op as Condition['op'], value: fromStatic(literal) };
}

/** The span filter of a field expression; null when nothing narrows (`narrow`) or it has no exact form (`exact`). */
export function spanFilterOf(e: FieldExpr, mode: 'narrow' | 'exact'): SpanFilter | null {
  const f = filterOf(e, mode);
  return f === UNKNOWN ? null : f;
}

const UNKNOWN = Symbol('unknown');

function filterOf(e: FieldExpr, mode: 'narrow' | 'exact'): SpanFilter | typeof UNKNOWN {
  if (e.type === 'binary' && (e.op === '&&' || e.op === '||')) {
    const l = filterOf(e.lhs, mode);
    const r = filterOf(e.rhs, mode);
    if (e.op === '&&') {
      if (l === UNKNOWN) return mode === 'narrow' ? r : UNKNOWN;
      if (r === UNKNOWN) return mode === 'narrow' ? l : UNKNOWN;
      return { type: 'and', args: [l, r] };
    }
    if (l === UNKNOWN || r === UNKNOWN) return UNKNOWN;
    return { type: 'or', args: [l, r] };
  }
  const c = conditionOf(e);
  return c === undefined ? UNKNOWN : { type: 'condition', condition: c };
}

/** A trace-level filter every trace the query matches meets (null: no narrowing). */
export function traceFilterOf(q: PipelineExpr): TraceFilter | null {
  if (q.type === 'pipeline') return pipelineFilter(q);
  return combine(q.op, traceFilterOf(q.lhs), traceFilterOf(q.rhs));
}

function pipelineFilter(p: Pipeline): TraceFilter | null {
  // Later stages only drop spans and spansets: every spanset filter must find its span.
  let f: TraceFilter | null = null;
  const first = p.stages[0];
  for (const [i, stage] of p.stages.entries()) {
    if (stage.type === 'spansetFilter' || stage.type === 'spansetOperation') f = and(f, spansetFilter(stage));
    // Right after the first filter, the spanset is exactly its spans, one per trace.
    if (i === 1 && stage.type === 'scalarFilter' && first?.type === 'spansetFilter') f = and(f, aggregateFilter(first, stage));
  }
  return f;
}

/** `{ f } | fn(field) op literal` as an aggregate filter over f's spans, or null (f has no exact form, or it is not that shape). */
function aggregateFilter(first: SpansetFilter, s: ScalarFilter): TraceFilter | null {
  const filter = first.expr === null ? null : spanFilterOf(first.expr, 'exact');
  if (first.expr !== null && filter === null) return null;
  let agg = s.lhs;
  let literal = s.rhs;
  let op: string = s.op;
  if (agg.type !== 'aggregate') {
    [agg, literal] = [literal, agg];
    op = FLIPPED[op]!;
  }
  if (agg.type !== 'aggregate' || literal.type !== 'static') return null;
  const field = agg.expr === null ? null : fetchFieldOf(agg.expr);
  if (field === undefined) return null;
  return { type: 'aggregate', filter, fn: agg.fn, field, op: op as Condition['op'], value: fromStatic(literal) };
}

function spansetFilter(e: SpansetExpr): TraceFilter | null {
  if (e.type === 'spansetFilter') {
    const span = e.expr === null ? null : spanFilterOf(e.expr, 'narrow');
    return span === null ? null : { type: 'some', filter: span };
  }
  return combine(e.op, spansetFilter(e.lhs), spansetFilter(e.rhs));
}

function combine(op: string, l: TraceFilter | null, r: TraceFilter | null): TraceFilter | null {
  if (op === '||') return l === null || r === null ? null : { type: 'or', args: [l, r] };
  // Negated structural operators keep right-hand spans that have no such relative: the left may be empty.
  if (op.startsWith('!')) return r;
  // `&&` and the structural operators need a span for each side.
  return and(l, r);
}

function and(l: TraceFilter | null, r: TraceFilter | null): TraceFilter | null {
  if (l === null) return r;
  if (r === null) return l;
  return { type: 'and', args: [l, r] };
}

/** Every condition of the filter, and whether one span must meet them all (Tempo's AllConditions). */
export function conditionsOf(f: TraceFilter | null): { conditions: Condition[]; allConditions: boolean } {
  const conditions: Condition[] = [];
  const collect = (s: SpanFilter): void => {
    if (s.type === 'condition') conditions.push(s.condition);
    else s.args.forEach(collect);
  };
  const walk = (t: TraceFilter): void => {
    if (t.type === 'some' || t.type === 'aggregate') {
      if (t.filter !== null) collect(t.filter);
    } else t.args.forEach(walk);
  };
  if (f !== null) walk(f);
  return { conditions, allConditions: f !== null && f.type === 'some' && f.filter !== null && conjunctive(f.filter) };
}

function conjunctive(s: SpanFilter): boolean {
  return s.type === 'condition' || (s.type === 'and' && s.args.every(conjunctive));
}
