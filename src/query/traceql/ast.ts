// The typed AST of a TraceQL query, covering what Tempo 2.x/3.x parses.
// Nodes carry no source positions so that two parses of equivalent text
// compare equal with deepStrictEqual; positions live in a side table
// (`positionOf` in parser.ts) for error reporting.

export interface Pos {
  line: number;
  col: number;
}

// ---------- field expressions: what goes inside `{ }`, aggregates and by() ----------

import type { KindValue, StatusValue } from '../../store/fetch/span-enums.js';

export type { KindValue, StatusValue };

export type Static =
  | { type: 'static'; valueType: 'string'; value: string }
  // int64 and nanoseconds as bigint: attribute ints are bigint in the OTLP model and
  // durations beyond 2^53 ns (104 days) would lose precision as numbers.
  | { type: 'static'; valueType: 'int'; value: bigint }
  | { type: 'static'; valueType: 'float'; value: number }
  | { type: 'static'; valueType: 'bool'; value: boolean }
  | { type: 'static'; valueType: 'nil' }
  | { type: 'static'; valueType: 'duration'; nanos: bigint }
  | { type: 'static'; valueType: 'status'; value: StatusValue }
  | { type: 'static'; valueType: 'kind'; value: KindValue };

export type NumericStatic = Extract<Static, { valueType: 'int' | 'float' | 'duration' }>;

/** `none` is the unscoped `.attr` (span attribute, else resource attribute). */
export type AttributeScope = 'none' | 'span' | 'resource' | 'event' | 'link' | 'instrumentation';

export interface Attribute {
  type: 'attribute';
  scope: AttributeScope;
  /** `parent.` prefix: parses, but is refused as unsupported (as in Tempo). */
  parent: boolean;
  name: string;
}

/**
 * Intrinsics by canonical name. The colon-scoped spellings that mean the same thing
 * (`span:duration`, `trace:rootService`, …) parse to these names.
 */
export type Intrinsic =
  | 'duration'
  | 'name'
  | 'status'
  | 'statusMessage'
  | 'kind'
  | 'childCount'
  | 'parent'
  | 'rootName'
  | 'rootServiceName'
  | 'traceDuration'
  | 'nestedSetLeft'
  | 'nestedSetRight'
  | 'nestedSetParent'
  | 'trace:id'
  | 'span:id'
  | 'span:parentID'
  | 'event:name'
  | 'event:timeSinceStart'
  | 'link:traceID'
  | 'link:spanID'
  | 'instrumentation:name'
  | 'instrumentation:version';

export interface IntrinsicField {
  type: 'intrinsic';
  name: Intrinsic;
}

export type FieldBinaryOp =
  | '&&'
  | '||'
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '=~'
  | '!~'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^';

/**
 * `x != nil` means "x exists", `x = nil` "x is absent"; `nil = nil` and `nil != nil`
 * are folded to `false` at parse time, as Tempo does.
 */
export interface FieldBinary {
  type: 'binary';
  op: FieldBinaryOp;
  lhs: FieldExpr;
  rhs: FieldExpr;
}

/** `-` on a numeric literal is folded into the literal; this node is `-expr` or `!expr` otherwise. */
export interface FieldUnary {
  type: 'unary';
  op: '-' | '!';
  expr: FieldExpr;
}

export type FieldExpr = Static | Attribute | IntrinsicField | FieldBinary | FieldUnary;
export type AttributeRef = Attribute | IntrinsicField;

// ---------- spanset pipelines ----------

/**
 * Structural operators return the right-hand spans: `>` child, `<` parent, `>>` descendant,
 * `<<` ancestor, `~` sibling; `!x` negations keep right-hand spans with no such relative;
 * `&x` unions return both sides' matching spans.
 */
export type SpansetOp =
  | '&&'
  | '||'
  | '>'
  | '<'
  | '>>'
  | '<<'
  | '~'
  | '!>'
  | '!<'
  | '!>>'
  | '!<<'
  | '!~'
  | '&>'
  | '&<'
  | '&>>'
  | '&<<'
  | '&~';

/** `{}` has a null expression (matches every span). */
export interface SpansetFilter {
  type: 'spansetFilter';
  expr: FieldExpr | null;
}

export interface SpansetOperation {
  type: 'spansetOperation';
  op: SpansetOp;
  lhs: SpansetExpr;
  rhs: SpansetExpr;
}

export type SpansetExpr = SpansetFilter | SpansetOperation;

export type AggregateFn = 'count' | 'avg' | 'min' | 'max' | 'sum';

export interface Aggregate {
  type: 'aggregate';
  fn: AggregateFn;
  /** null only for count() */
  expr: FieldExpr | null;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^';
export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface ScalarOperation {
  type: 'scalarOperation';
  op: ArithOp;
  lhs: ScalarExpr;
  rhs: ScalarExpr;
}

export type ScalarExpr = Aggregate | NumericStatic | ScalarOperation;

/** `| count() > 3`, `| avg(duration) >= 20ms`: keeps spansets whose aggregate passes. */
export interface ScalarFilter {
  type: 'scalarFilter';
  op: ComparisonOp;
  lhs: ScalarExpr;
  rhs: ScalarExpr;
}

export interface GroupBy {
  type: 'groupBy';
  expr: FieldExpr;
}

export interface Select {
  type: 'select';
  attrs: AttributeRef[];
}

export interface Coalesce {
  type: 'coalesce';
}

export type PipelineStage = SpansetExpr | ScalarFilter | GroupBy | Select | Coalesce;

export interface Pipeline {
  type: 'pipeline';
  stages: PipelineStage[];
}

/** Parenthesised pipelines joined by spanset operators: `({a} | count() > 1) >> ({b})`. */
export interface PipelineOperation {
  type: 'pipelineOperation';
  op: SpansetOp;
  lhs: PipelineExpr;
  rhs: PipelineExpr;
}

export type PipelineExpr = Pipeline | PipelineOperation;

// ---------- scalar pipeline expressions: `({a} | count()) > ({b} | count())` ----------

export interface ScalarPipeline {
  type: 'scalarPipeline';
  pipeline: Pipeline;
  aggregate: Aggregate;
}

export interface ScalarPipelineOperation {
  type: 'scalarPipelineOperation';
  op: ArithOp;
  lhs: ScalarPipelineExpr;
  rhs: ScalarPipelineExpr;
}

export type ScalarPipelineExpr = ScalarPipeline | ScalarPipelineOperation;

export interface ScalarPipelineFilter {
  type: 'scalarPipelineFilter';
  op: ComparisonOp;
  lhs: ScalarPipelineExpr;
  rhs: ScalarPipelineExpr | NumericStatic;
}

// ---------- metrics ----------

export type MetricsFn =
  | 'rate'
  | 'count_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'avg_over_time'
  | 'sum_over_time'
  | 'quantile_over_time'
  | 'histogram_over_time'
  | 'compare';

export interface MetricsAggregate {
  type: 'metricsAggregate';
  fn: MetricsFn;
  /** the measured attribute: null for rate, count_over_time and compare */
  attr: AttributeRef | null;
  /** quantile_over_time only */
  quantiles: number[] | null;
  /** `by (…)`; empty when absent */
  by: AttributeRef[];
  /** compare() only: selection filter, top-N values, and the optional selection window in unix seconds (0 = none) */
  compare: { filter: SpansetFilter; topN: bigint; start: bigint; end: bigint } | null;
}

/** Constant arithmetic in metrics filters and math: numbers only (durations only as a lone filter value). */
export interface ConstOperation {
  type: 'constOperation';
  op: '+' | '-' | '*' | '/';
  lhs: ConstExpr;
  rhs: ConstExpr;
}

export type ConstExpr = NumericStatic | ConstOperation;

export interface TopK {
  type: 'topk' | 'bottomk';
  limit: bigint;
}

/** `> 10` after a metrics function, topk/bottomk or a math expression: drops samples that fail it. */
export interface MetricsFilter {
  type: 'metricsFilter';
  op: ComparisonOp;
  value: ConstExpr;
}

export type SecondStage = TopK | MetricsFilter;

/** One metrics pipeline. Inside math it is parenthesised and may carry its own second stage. */
export interface MetricsPipeline {
  type: 'metricsPipeline';
  pipeline: Pipeline;
  aggregate: MetricsAggregate;
  secondStage: SecondStage[];
}

export interface MetricsMath {
  type: 'metricsMath';
  op: '+' | '-' | '*' | '/';
  lhs: MetricsExpr;
  rhs: MetricsExpr;
}

export type MetricsExpr = MetricsPipeline | MetricsMath | ConstExpr;

export interface MetricsQuery {
  type: 'metricsQuery';
  expr: MetricsExpr;
  /** second stage applied to the whole expression */
  secondStage: SecondStage[];
}

// ---------- root ----------

export interface Hint {
  name: string;
  value: Static;
}

export type Query = PipelineExpr | ScalarPipelineFilter | MetricsQuery;

export interface RootExpr {
  type: 'root';
  query: Query;
  hints: Hint[];
}

export function isMetricsQuery(root: RootExpr): boolean {
  return root.query.type === 'metricsQuery';
}
