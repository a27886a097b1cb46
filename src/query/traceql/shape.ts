// Shaping: the parser reads the query layer (pipelines, spanset operators, scalar
// filters, metrics math) into a loose tree that only knows operators and operands;
// this module turns that tree into the typed AST (Pipeline, PipelineExpr,
// ScalarPipelineFilter, MetricsQuery) and refuses what does not fit one of them.
// Doing it after parsing, on the whole tree, is what lets a misplaced construct
// (`{} | rate() + 5`) be reported at the operator that breaks it.
//
// The shaper walks a tree the parser has already bounded (MAX_TRACEQL_DEPTH), so it
// needs no depth check of its own.

import type {
  Aggregate,
  ArithOp,
  ComparisonOp,
  ConstExpr,
  MetricsAggregate,
  MetricsExpr,
  MetricsPipeline,
  MetricsQuery,
  NumericStatic,
  Pipeline,
  PipelineExpr,
  PipelineStage,
  Pos,
  RootExpr,
  ScalarExpr,
  ScalarPipelineExpr,
  ScalarPipelineFilter,
  SecondStage,
  SpansetExpr,
  SpansetFilter,
  SpansetOp,
  TopK,
} from './ast.js';
import { TraceQLError } from './errors.js';
import { at, positionOf } from './positions.js';

/** Structural spanset operators; `>` and `<` are comparisons too, told apart by their operands. */
export const STRUCTURAL = ['>', '<', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '!~', '&>', '&<', '&>>', '&<<', '&~'];
export const COMPARISONS = ['=', '!=', '<', '<=', '>', '>='];

// ---------- the loose query-layer tree ----------

/** What the parser builds for the query layer; field expressions inside it are already typed. */
export type Loose =
  | { k: 'filter'; node: SpansetFilter; pos: Pos }
  | { k: 'paren'; inner: Loose; pos: Pos }
  | { k: 'bin'; op: string; lhs: Loose; rhs: Loose; pos: Pos }
  | { k: 'pipe'; stages: Loose[]; pos: Pos }
  | { k: 'agg'; node: Aggregate; pos: Pos }
  | { k: 'stage'; node: PipelineStage; pos: Pos } // by(), select(), coalesce()
  | { k: 'metrics'; node: MetricsAggregate; pos: Pos }
  | { k: 'topk'; node: TopK; pos: Pos }
  | { k: 'num'; node: NumericStatic; pos: Pos };

/** The typed query of a parsed loose tree; throws TraceQLError (kind `parse`) at a misplaced construct. */
export function shapeQuery(n: Loose): RootExpr['query'] {
  return normalize(shapeRoot(n));
}

// ---------- shaping the loose tree into the typed AST ----------

/**
 * One metrics pipeline keeps all its second-stage functions itself, however it was
 * parenthesised: `({} | rate()) | topk(5)` and `{} | rate() | topk(5)` are the same query.
 */
function normalize(q: RootExpr['query']): RootExpr['query'] {
  if (q.type === 'metricsQuery' && q.expr.type === 'metricsPipeline' && q.secondStage.length > 0) {
    const p = positionOf(q.expr);
    const expr: MetricsPipeline = { ...q.expr, secondStage: [...q.expr.secondStage, ...q.secondStage] };
    return { type: 'metricsQuery', expr: p ? at(expr, p) : expr, secondStage: [] };
  }
  return q;
}

function fail(pos: Pos, detail: string): never {
  throw new TraceQLError('parse', pos.line, pos.col, detail);
}

function unparen(n: Loose): Loose {
  while (n.k === 'paren') n = n.inner;
  return n;
}

function containsMetrics(n: Loose): boolean {
  switch (n.k) {
    case 'metrics':
      return true;
    case 'paren':
      return containsMetrics(n.inner);
    case 'bin':
      return containsMetrics(n.lhs) || containsMetrics(n.rhs);
    case 'pipe':
      return n.stages.some(containsMetrics);
    default:
      return false;
  }
}

/** A parenthesised pipeline ending in an aggregate, or arithmetic over such. */
function isScalarPipeline(n: Loose): boolean {
  if (n.k === 'paren') {
    const inner = n.inner;
    if (inner.k === 'pipe') return unparen(inner.stages[inner.stages.length - 1]!).k === 'agg';
    return isScalarPipeline(inner);
  }
  return n.k === 'bin' && isArith(n.op) && (isScalarPipeline(n.lhs) || isScalarPipeline(n.rhs));
}

const isArith = (op: string): op is ArithOp => ['+', '-', '*', '/', '%', '^'].includes(op);
const isComparison = (op: string): op is ComparisonOp => COMPARISONS.includes(op);
const isSpansetOp = (op: string): op is SpansetOp => op === '&&' || op === '||' || STRUCTURAL.includes(op);

/** The first element of a chain like `rate() > 10 > 5` or `topk(5) > 10`. */
function headOf(n: Loose): Loose {
  while (n.k === 'bin' && isComparison(n.op)) n = n.lhs;
  return n;
}

function shapeRoot(n: Loose): RootExpr['query'] {
  if (n.k === 'pipe') {
    const first = n.stages[0]!;
    if (containsMetrics(first)) {
      // `({} | rate()) + ({} | rate()) | topk(5)`: a metrics expression, then second-stage functions.
      const q = shapeMetricsStage(first);
      for (const s of n.stages.slice(1)) q.secondStage.push(...shapeSecondStage(s));
      return q;
    }
    const mIdx = n.stages.findIndex((s) => headOf(s).k === 'metrics');
    if (mIdx > 0) {
      return { type: 'metricsQuery', expr: shapeUnwrappedMetrics(n.stages, mIdx), secondStage: [] };
    }
    const topk = n.stages.find((s) => headOf(s).k === 'topk');
    if (topk) fail(topk.pos, 'topk() and bottomk() must follow a metrics function such as rate()');
    return shapePipeline(n);
  }
  if (containsMetrics(n)) return shapeMetricsStage(n);
  if (n.k === 'bin' && isComparison(n.op) && (isScalarPipeline(n.lhs) || isScalarPipeline(n.rhs))) {
    return shapeScalarPipelineFilter(n);
  }
  if (isScalarPipeline(n)) {
    fail(n.pos, 'a scalar pipeline must be compared with a value, e.g. ({ … } | count()) > 3');
  }
  if (n.k === 'paren' || (n.k === 'bin' && isSpansetOp(n.op) && !isPlainSpansetExpr(n) && !isScalarComparison(n))) {
    return shapePipelineExpr(n);
  }
  return shapePipeline(n);
}

/** `>` and `<` are both comparisons and structural operators: numbers and aggregates make them comparisons. */
function isScalarComparison(n: Loose & { k: 'bin' }): boolean {
  const scalarish = (x: Loose): boolean => {
    const u = unparen(x);
    return u.k === 'agg' || u.k === 'num' || (u.k === 'bin' && isArith(u.op));
  };
  return isComparison(n.op) && (scalarish(n.lhs) || scalarish(n.rhs));
}

function isPlainSpansetExpr(n: Loose): boolean {
  if (n.k === 'filter') return true;
  if (n.k === 'paren') return isPlainSpansetExpr(n.inner);
  return n.k === 'bin' && isSpansetOp(n.op) && isPlainSpansetExpr(n.lhs) && isPlainSpansetExpr(n.rhs);
}

function shapePipelineExpr(n: Loose): PipelineExpr {
  if (n.k === 'bin' && isSpansetOp(n.op)) {
    if (isPlainSpansetExpr(n)) return shapePipeline(n);
    return at({ type: 'pipelineOperation', op: n.op, lhs: shapePipelineExpr(n.lhs), rhs: shapePipelineExpr(n.rhs) }, n.pos);
  }
  if (n.k === 'paren') return shapePipelineExpr(n.inner);
  return shapePipeline(n);
}

function shapePipeline(n: Loose): Pipeline {
  const stages = n.k === 'pipe' ? n.stages : [n];
  if (stages[0]!.k === 'stage' && stages[0]!.node.type === 'coalesce') {
    fail(stages[0]!.pos, 'a pipeline cannot start with coalesce()');
  }
  return at({ type: 'pipeline', stages: stages.map(shapeStage) }, n.pos);
}

function shapeStage(n: Loose): PipelineStage {
  switch (n.k) {
    case 'filter':
      return n.node;
    case 'stage':
      return n.node;
    case 'agg':
      fail(n.pos, `an aggregate must be compared with a value, e.g. ${n.node.fn}(${n.node.fn === 'count' ? '' : '…'}) > 3`);
    case 'metrics':
      fail(n.pos, `${n.node.fn}() must be the last function of a pipeline (followed only by topk/bottomk or a comparison)`);
    case 'topk':
      fail(n.pos, 'topk() and bottomk() must follow a metrics function such as rate()');
    case 'num':
      fail(n.pos, "expected a spanset filter '{ … }', an aggregate comparison, by(), select() or coalesce()");
    case 'pipe':
      fail(n.pos, 'a parenthesised pipeline cannot be a pipeline stage');
    case 'paren': {
      if (isPlainSpansetExpr(n)) return shapeSpansetExpr(n);
      const inner = unparen(n);
      if (inner.k === 'bin' && isComparison(inner.op) && !isPlainSpansetExpr(inner)) return shapeStage(inner);
      if (inner.k === 'pipe') fail(n.pos, 'a parenthesised pipeline cannot be a pipeline stage');
      return shapeStage(inner);
    }
    case 'bin': {
      if (containsMetrics(n)) {
        fail(n.pos, `'${n.op}' cannot be applied to a metrics function here; wrap the metrics pipeline in parentheses, e.g. ({ … } | rate()) ${n.op} 2`);
      }
      if (isPlainSpansetExpr(n)) return shapeSpansetExpr(n);
      if (isComparison(n.op) && (isPlainSpansetExpr(n.lhs) || isPlainSpansetExpr(n.rhs))) {
        if (isPlainSpansetExpr(n.lhs) && isPlainSpansetExpr(n.rhs)) {
          fail(n.pos, `'${n.op}' cannot combine spansets; use && || or a structural operator (> < >> << ~ and their ! and & forms)`);
        }
        fail(n.pos, `'${n.op}' cannot compare a spanset with a value; compare an aggregate instead, e.g. { … } | count() ${n.op} 3`);
      }
      if (isComparison(n.op)) return shapeScalarFilter(n);
      if (isSpansetOp(n.op)) {
        const bad = isPlainSpansetExpr(n.lhs) ? n.rhs : n.lhs;
        fail(bad.pos, `'${n.op}' joins spanset filters; this operand is not one`);
      }
      fail(n.pos, `'${n.op}' cannot be applied here: arithmetic is allowed inside '{ }' and between aggregates in a comparison`);
    }
  }
}

function shapeSpansetExpr(n: Loose): SpansetExpr {
  if (n.k === 'filter') return n.node;
  if (n.k === 'paren') return shapeSpansetExpr(n.inner);
  if (n.k === 'bin' && isSpansetOp(n.op)) {
    return at({ type: 'spansetOperation', op: n.op, lhs: shapeSpansetExpr(n.lhs), rhs: shapeSpansetExpr(n.rhs) }, n.pos);
  }
  fail(n.pos, "expected a spanset filter '{ … }'");
}

function shapeScalarFilter(n: Loose & { k: 'bin' }): PipelineStage {
  const op = n.op as ComparisonOp;
  const lhs = shapeScalarExpr(n.lhs);
  const rhs = shapeScalarExpr(n.rhs);
  const hasAgg = (e: ScalarExpr): boolean =>
    e.type === 'aggregate' || (e.type === 'scalarOperation' && (hasAgg(e.lhs) || hasAgg(e.rhs)));
  if (!hasAgg(lhs) && !hasAgg(rhs)) {
    fail(n.pos, `a comparison in a pipeline needs an aggregate such as count() or avg(duration) on one side`);
  }
  return at({ type: 'scalarFilter', op, lhs, rhs }, n.pos);
}

function shapeScalarExpr(n: Loose): ScalarExpr {
  switch (n.k) {
    case 'agg':
      return n.node;
    case 'num':
      return n.node;
    case 'paren':
      return shapeScalarExpr(n.inner);
    case 'bin':
      if (isArith(n.op)) {
        return at({ type: 'scalarOperation', op: n.op, lhs: shapeScalarExpr(n.lhs), rhs: shapeScalarExpr(n.rhs) }, n.pos);
      }
      fail(n.pos, `'${n.op}' cannot be used inside a scalar expression (aggregates and numbers with + - * / % ^)`);
    default:
      fail(n.pos, 'expected an aggregate (count(), avg(…), min(…), max(…), sum(…)) or a number');
  }
}

function shapeScalarPipelineFilter(n: Loose & { k: 'bin' }): ScalarPipelineFilter {
  const lhs = shapeScalarPipelineExpr(n.lhs, 'the left side of a comparison of scalar pipelines');
  const r = unparen(n.rhs);
  const rhs = r.k === 'num' ? r.node : shapeScalarPipelineExpr(n.rhs, 'a number or a parenthesised scalar pipeline');
  return at({ type: 'scalarPipelineFilter', op: n.op as ComparisonOp, lhs, rhs }, n.pos);
}

function shapeScalarPipelineExpr(n: Loose, role: string): ScalarPipelineExpr {
  if (n.k === 'paren') {
    const inner = n.inner;
    if (inner.k === 'pipe') {
      const last = unparen(inner.stages[inner.stages.length - 1]!);
      if (last.k !== 'agg') fail(last.pos, 'expected an aggregate at the end of a scalar pipeline');
      const pipeline = shapePipeline({ k: 'pipe', stages: inner.stages.slice(0, -1), pos: inner.pos });
      return at({ type: 'scalarPipeline', pipeline, aggregate: last.node }, n.pos);
    }
    return shapeScalarPipelineExpr(inner, role);
  }
  if (n.k === 'bin' && isArith(n.op)) {
    return at(
      { type: 'scalarPipelineOperation', op: n.op, lhs: shapeScalarPipelineExpr(n.lhs, role), rhs: shapeScalarPipelineExpr(n.rhs, role) },
      n.pos,
    );
  }
  fail(n.pos, `expected a parenthesised pipeline ending in an aggregate, e.g. ({ … } | count()), as ${role}`);
}

// ---------- metrics ----------

/** `{ … } | … | rate() by (…) > 3 | topk(5)`: stages before the metrics function, the function, then second stages. */
function shapeUnwrappedMetrics(stages: Loose[], mIdx: number): MetricsPipeline {
  const pipeline = shapePipeline({ k: 'pipe', stages: stages.slice(0, mIdx), pos: stages[0]!.pos });
  const m = stages[mIdx]!;
  const aggregate = (headOf(m) as Loose & { k: 'metrics' }).node;
  const secondStage = filtersOf(m);
  for (const s of stages.slice(mIdx + 1)) secondStage.push(...shapeSecondStage(s));
  return at({ type: 'metricsPipeline', pipeline, aggregate, secondStage }, stages[0]!.pos);
}

/** The comparisons chained after a head: `rate() > 1 < 5` gives [> 1, < 5]. */
function filtersOf(n: Loose): SecondStage[] {
  if (n.k === 'bin' && isComparison(n.op)) {
    return [...filtersOf(n.lhs), at({ type: 'metricsFilter', op: n.op, value: shapeConst(n.rhs, true) }, n.pos)];
  }
  return [];
}

function shapeSecondStage(n: Loose): SecondStage[] {
  const head = headOf(n);
  if (head.k !== 'topk') {
    if (head.k === 'metrics') fail(head.pos, 'only one metrics function is allowed in a pipeline; combine pipelines with ({ … } | rate()) + ({ … } | rate())');
    fail(head.pos, 'after a metrics function only topk(), bottomk() and comparisons may follow');
  }
  return [head.node, ...filtersOf(n)];
}

/** Constant arithmetic: `1 / 2`, `-3`; a duration only as the whole value of a comparison. */
function shapeConst(n: Loose, durationAllowed: boolean): ConstExpr {
  const inner = unparen(n);
  if (inner.k === 'num') {
    if (inner.node.valueType === 'duration' && !(durationAllowed && n.k !== 'paren')) {
      fail(inner.pos, 'durations cannot be used in arithmetic on metrics; compare with a plain duration or a number');
    }
    return inner.node;
  }
  if (inner.k === 'bin' && (inner.op === '+' || inner.op === '-' || inner.op === '*' || inner.op === '/')) {
    return at({ type: 'constOperation', op: inner.op, lhs: shapeConst(inner.lhs, false), rhs: shapeConst(inner.rhs, false) }, inner.pos);
  }
  if (inner.k === 'bin') fail(inner.pos, `'${inner.op}' is not allowed in a metrics comparison; use + - * /`);
  fail(inner.pos, 'expected a number');
}

/** A metrics query given as one expression: wrapped pipelines, math, and comparisons. */
function shapeMetricsStage(n: Loose): MetricsQuery {
  if (n.k === 'bin' && isComparison(n.op)) {
    const q = shapeMetricsStage(n.lhs);
    q.secondStage.push(at({ type: 'metricsFilter', op: n.op, value: shapeConst(n.rhs, true) }, n.pos));
    return q;
  }
  if (n.k === 'pipe') {
    // `(({} | rate()) | topk(3))` and the like: rare, but a pipe inside parentheses at the top.
    const r = shapeRoot(n);
    if (r.type !== 'metricsQuery') fail(n.pos, 'expected a metrics query');
    return r;
  }
  return { type: 'metricsQuery', expr: shapeMetricsExpr(n), secondStage: [] };
}

function shapeMetricsExpr(n: Loose): MetricsExpr {
  switch (n.k) {
    case 'num':
      if (n.node.valueType === 'duration') fail(n.pos, 'durations cannot be used in arithmetic on metrics');
      return n.node;
    case 'bin':
      if (n.op === '+' || n.op === '-' || n.op === '*' || n.op === '/') {
        return at({ type: 'metricsMath', op: n.op, lhs: shapeMetricsExpr(n.lhs), rhs: shapeMetricsExpr(n.rhs) }, n.pos);
      }
      if (isComparison(n.op)) {
        fail(n.pos, `a comparison inside metrics arithmetic must be wrapped with its pipeline, e.g. ({ … } | rate() ${n.op} 1) * 2`);
      }
      fail(n.pos, `'${n.op}' cannot combine metrics queries; use + - * /`);
    case 'paren': {
      const inner = n.inner;
      if (inner.k === 'pipe') {
        const mIdx = inner.stages.findIndex((s) => headOf(s).k === 'metrics');
        if (mIdx <= 0) {
          if (containsMetrics(inner)) {
            const q = shapeRoot(inner);
            if (q.type === 'metricsQuery') return wrapQuery(q, n.pos);
          }
          fail(n.pos, 'expected a metrics pipeline such as ({ … } | rate())');
        }
        return shapeUnwrappedMetrics(inner.stages, mIdx);
      }
      if (inner.k === 'bin' && isComparison(inner.op) && containsMetrics(inner)) {
        return wrapQuery(shapeMetricsStage(inner), n.pos);
      }
      return shapeMetricsExpr(inner);
    }
    case 'metrics':
      fail(n.pos, `${n.node.fn}() needs a spanset pipeline before it, e.g. { } | ${n.node.fn}(…)`);
    default:
      fail(n.pos, 'expected a parenthesised metrics pipeline such as ({ … } | rate()) or a number');
  }
}

/** A parenthesised metrics query used as an operand of math: its second stage travels with it. */
function wrapQuery(q: MetricsQuery, pos: Pos): MetricsExpr {
  if (q.secondStage.length === 0) return q.expr;
  if (q.expr.type === 'metricsPipeline') {
    return at({ ...q.expr, secondStage: [...q.expr.secondStage, ...q.secondStage] }, pos);
  }
  fail(pos, 'topk(), bottomk() and comparisons inside parentheses apply to a single metrics pipeline only');
}
