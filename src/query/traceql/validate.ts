// Semantic checks on a parsed query, in two passes: first everything that makes the
// query meaningless (`invalid`), then what is valid TraceQL but not run (`unsupported`),
// so a query with both problems is reported as invalid, as Tempo does.

import type {
  Aggregate,
  AttributeRef,
  ComparisonOp,
  FieldExpr,
  Intrinsic,
  MetricsAggregate,
  MetricsExpr,
  Pipeline,
  PipelineExpr,
  PipelineStage,
  Pos,
  RootExpr,
  ScalarExpr,
  ScalarPipelineExpr,
  SecondStage,
  SpansetExpr,
} from './ast.js';
import { TraceQLError, type TraceQLErrorKind } from './errors.js';
import { positionOf } from './positions.js';
import { printAttributeRef, printField } from './printer.js';
import { re2Problem } from '../../regex/re2.js';

/** The static type of an expression; `attribute` is only known per span at query time. */
export type ValueType = 'attribute' | 'int' | 'float' | 'duration' | 'string' | 'bool' | 'nil' | 'status' | 'kind';

export const INTRINSIC_TYPES: Record<Intrinsic, ValueType> = {
  duration: 'duration',
  name: 'string',
  status: 'status',
  statusMessage: 'string',
  kind: 'kind',
  childCount: 'int',
  // no static type: it is refused as unsupported before its type matters
  parent: 'attribute',
  rootName: 'string',
  rootServiceName: 'string',
  traceDuration: 'duration',
  nestedSetLeft: 'int',
  nestedSetRight: 'int',
  nestedSetParent: 'int',
  'trace:id': 'string',
  'span:id': 'string',
  'span:parentID': 'string',
  'event:name': 'string',
  'event:timeSinceStart': 'duration',
  'link:traceID': 'string',
  'link:spanID': 'string',
  'instrumentation:name': 'string',
  'instrumentation:version': 'string',
};

const isNumeric = (t: ValueType): boolean => t === 'int' || t === 'float' || t === 'duration';

const VALID_OPS: Record<Exclude<ValueType, 'attribute'>, ReadonlySet<string>> = {
  bool: new Set(['&&', '||', '=', '!=']),
  int: new Set(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=']),
  float: new Set(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=']),
  duration: new Set(['+', '-', '*', '/', '%', '^', '=', '!=', '<', '<=', '>', '>=']),
  // Ordering of strings is lexicographic, as in Tempo.
  string: new Set(['=', '!=', '=~', '!~', '<', '<=', '>', '>=']),
  nil: new Set(['=', '!=']),
  status: new Set(['=', '!=']),
  kind: new Set(['=', '!=']),
};

function matching(a: ValueType, b: ValueType): boolean {
  return a === 'attribute' || b === 'attribute' || a === b || (isNumeric(a) && isNumeric(b)) || a === 'nil' || b === 'nil';
}

function opValidFor(op: string, t: ValueType): boolean {
  return t === 'attribute' || VALID_OPS[t].has(op);
}

export function impliedType(e: FieldExpr): ValueType {
  switch (e.type) {
    case 'static':
      return e.valueType;
    case 'attribute':
      return 'attribute';
    case 'intrinsic':
      return INTRINSIC_TYPES[e.name];
    case 'unary':
      return e.op === '!' ? 'bool' : impliedType(e.expr);
    case 'binary': {
      if (['&&', '||', '=', '!=', '<', '<=', '>', '>=', '=~', '!~'].includes(e.op)) return 'bool';
      // The left side's type once: asking twice per level made `1 + 1 + … + 1` exponential.
      const lhs = impliedType(e.lhs);
      return lhs === 'attribute' ? impliedType(e.rhs) : lhs;
    }
  }
}

function scalarType(e: ScalarExpr): ValueType {
  switch (e.type) {
    case 'aggregate':
      return e.fn === 'count' ? 'int' : e.expr ? impliedType(e.expr) : 'int';
    case 'static':
      return e.valueType;
    case 'scalarOperation': {
      const lhs = scalarType(e.lhs);
      return lhs === 'attribute' ? scalarType(e.rhs) : lhs;
    }
  }
}

export function referencesSpan(e: FieldExpr): boolean {
  switch (e.type) {
    case 'attribute':
    case 'intrinsic':
      return true;
    case 'static':
      return false;
    case 'unary':
      return referencesSpan(e.expr);
    case 'binary':
      return referencesSpan(e.lhs) || referencesSpan(e.rhs);
  }
}

/** Throws TraceQLError (kind `invalid`, `regex` or `unsupported`) for the first problem found. */
export function validateTraceQL(root: RootExpr): void {
  new Checker('invalid').root(root);
  new Checker('unsupported').root(root);
}

class Checker {
  constructor(private readonly pass: TraceQLErrorKind) {}

  private invalid(node: object, detail: string): void {
    if (this.pass === 'invalid') this.throwAt(node, 'invalid', detail);
  }

  private unsupported(node: object, detail: string): void {
    if (this.pass === 'unsupported') this.throwAt(node, 'unsupported', detail);
  }

  private throwAt(node: object, kind: TraceQLErrorKind, detail: string): never {
    const p: Pos = positionOf(node) ?? { line: 1, col: 1 };
    throw new TraceQLError(kind, p.line, p.col, detail);
  }

  root(r: RootExpr): void {
    const q = r.query;
    switch (q.type) {
      case 'pipeline':
      case 'pipelineOperation':
        this.pipelineExpr(q);
        break;
      case 'scalarPipelineFilter':
        this.scalarPipelineExpr(q.lhs);
        if (q.rhs.type !== 'static') this.scalarPipelineExpr(q.rhs);
        this.unsupported(q, 'comparing the results of separate pipelines is not supported');
        break;
      case 'metricsQuery': {
        this.metricsExpr(q.expr);
        this.secondStage(q.secondStage);
        const compare = findCompare(q.expr);
        if (compare && (q.secondStage.length > 0 || q.expr.type !== 'metricsPipeline' || q.expr.secondStage.length > 0)) {
          this.invalid(compare, 'compare() cannot be combined with topk(), bottomk(), comparisons or arithmetic');
        }
        break;
      }
    }
  }

  private pipelineExpr(e: PipelineExpr): void {
    if (e.type === 'pipeline') return this.pipeline(e);
    this.pipelineExpr(e.lhs);
    this.pipelineExpr(e.rhs);
  }

  private pipeline(p: Pipeline): void {
    for (const s of p.stages) this.stage(s);
  }

  private stage(s: PipelineStage): void {
    switch (s.type) {
      case 'spansetFilter':
      case 'spansetOperation':
        return this.spansetExpr(s);
      case 'scalarFilter': {
        this.scalarExpr(s.lhs);
        this.scalarExpr(s.rhs);
        this.checkOperands(s, s.op, scalarType(s.lhs), scalarType(s.rhs));
        if (s.lhs.type !== 'aggregate' || hasAggregate(s.rhs)) {
          this.unsupported(s, 'only an aggregate compared with a constant is supported, e.g. avg(duration) > 1s');
        }
        return;
      }
      case 'groupBy':
        if (!referencesSpan(s.expr)) {
          this.invalid(s, `by() must refer to an attribute or intrinsic of the span: by(${printField(s.expr)})`);
        }
        return this.field(s.expr);
      case 'select':
        for (const a of s.attrs) this.field(a);
        return;
      case 'coalesce':
        return;
    }
  }

  private spansetExpr(e: SpansetExpr): void {
    if (e.type === 'spansetOperation') {
      this.spansetExpr(e.lhs);
      this.spansetExpr(e.rhs);
      return;
    }
    if (e.expr === null) return;
    this.field(e.expr);
    const t = impliedType(e.expr);
    if (t !== 'bool' && t !== 'attribute') {
      this.invalid(e, `a spanset filter must be a condition, but { ${printField(e.expr)} } is of type ${t}`);
    }
  }

  private scalarExpr(e: ScalarExpr): void {
    switch (e.type) {
      case 'aggregate':
        return this.aggregate(e);
      case 'static':
        return;
      case 'scalarOperation':
        this.scalarExpr(e.lhs);
        this.scalarExpr(e.rhs);
        this.checkOperands(e, e.op, scalarType(e.lhs), scalarType(e.rhs));
    }
  }

  private aggregate(a: Aggregate): void {
    if (a.expr === null) return;
    this.field(a.expr);
    const t = impliedType(a.expr);
    const text = `${a.fn}(${printField(a.expr)})`;
    if (t !== 'attribute' && !isNumeric(t)) this.invalid(a, `${text}: aggregates need a number, but the argument is of type ${t}`);
    if (!referencesSpan(a.expr)) this.invalid(a, `${text}: the argument must refer to an attribute or intrinsic of the span`);
  }

  private scalarPipelineExpr(e: ScalarPipelineExpr): void {
    if (e.type === 'scalarPipeline') {
      this.pipeline(e.pipeline);
      this.aggregate(e.aggregate);
      return;
    }
    this.scalarPipelineExpr(e.lhs);
    this.scalarPipelineExpr(e.rhs);
  }

  private checkOperands(node: object, op: string, lt: ValueType, rt: ValueType): void {
    if (!matching(lt, rt)) this.invalid(node, `'${op}' needs operands of the same type, got ${lt} and ${rt}`);
    else if (!opValidFor(op, lt) || !opValidFor(op, rt)) {
      const bad = opValidFor(op, lt) ? rt : lt;
      this.invalid(node, `'${op}' cannot be applied to ${bad}`);
    }
  }

  private field(e: FieldExpr): void {
    switch (e.type) {
      case 'static':
        return;
      case 'attribute':
        if (e.parent) this.unsupported(e, `the parent scope is not supported: ${printAttributeRef(e)}`);
        return;
      case 'intrinsic':
        if (e.name === 'parent') this.unsupported(e, 'the parent intrinsic is not supported');
        return;
      case 'unary': {
        this.field(e.expr);
        const t = impliedType(e.expr);
        if (t === 'attribute') return;
        if (e.op === '-' && !isNumeric(t)) this.invalid(e, `'-' needs a number, got ${t}: ${printField(e)}`);
        if (e.op === '!' && t !== 'bool') this.invalid(e, `'!' needs a boolean, got ${t}: ${printField(e)}`);
        return;
      }
      case 'binary': {
        this.field(e.lhs);
        this.field(e.rhs);
        const lt = impliedType(e.lhs);
        const rt = impliedType(e.rhs);
        if (!matching(lt, rt)) {
          this.invalid(e, `'${e.op}' needs operands of the same type, got ${lt} and ${rt}: ${printField(e)}`);
        } else if (!opValidFor(e.op, lt) || !opValidFor(e.op, rt)) {
          this.invalid(e, `'${e.op}' cannot be applied to ${opValidFor(e.op, lt) ? rt : lt}: ${printField(e)}`);
        }
        if (e.op === '=' && (lt === 'nil' || rt === 'nil')) this.nilEquality(e, lt === 'nil' ? e.rhs : e.lhs);
        if ((e.op === '=~' || e.op === '!~') && e.rhs.type === 'static' && e.rhs.valueType === 'string') {
          const problem = re2Problem(e.rhs.value);
          if (problem && this.pass === 'invalid') this.throwAt(e.rhs, 'regex', `invalid regular expression ${JSON.stringify(e.rhs.value)}: ${problem}`);
        }
        return;
      }
    }
  }

  private nilEquality(node: object, other: FieldExpr): void {
    if (other.type === 'intrinsic') {
      this.invalid(node, `intrinsic ${other.name} is never nil, so '= nil' never matches`);
    } else if (other.type === 'attribute' && other.scope === 'resource' && other.name === 'service.name' && !other.parent) {
      this.invalid(node, "resource.service.name is always set, so '= nil' never matches");
    } else if (other.type === 'attribute') {
      this.unsupported(node, `'= nil' is not supported; write !(${printAttributeRef(other)} != nil)`);
    }
  }

  private metricsExpr(e: MetricsExpr): void {
    switch (e.type) {
      case 'metricsPipeline':
        this.pipeline(e.pipeline);
        this.metricsAggregate(e.aggregate);
        this.secondStage(e.secondStage);
        return;
      case 'metricsMath':
        this.metricsExpr(e.lhs);
        this.metricsExpr(e.rhs);
        return;
      default:
        return;
    }
  }

  private metricsAggregate(a: MetricsAggregate): void {
    if (a.attr) {
      this.field(a.attr);
      const t = attrType(a.attr);
      if (t !== 'attribute' && !isNumeric(t)) {
        this.invalid(a, `${a.fn}() needs a numeric attribute, but ${printAttributeRef(a.attr)} is of type ${t}`);
      }
    }
    for (const q of a.quantiles ?? []) {
      if (!(q >= 0 && q <= 1)) this.invalid(a, `quantile ${q} is outside [0, 1]`);
    }
    for (const b of a.by) this.field(b);
    if (a.compare) {
      this.spansetExpr(a.compare.filter);
      if (a.compare.topN <= 0n) this.invalid(a, 'compare() needs a top-N greater than 0');
    }
  }

  private secondStage(stages: SecondStage[]): void {
    for (const s of stages) {
      if ((s.type === 'topk' || s.type === 'bottomk') && s.limit <= 0n) {
        this.invalid(s, `${s.type}() needs a limit greater than 0`);
      }
    }
  }
}

function hasAggregate(e: ScalarExpr): boolean {
  return e.type === 'aggregate' || (e.type === 'scalarOperation' && (hasAggregate(e.lhs) || hasAggregate(e.rhs)));
}

function attrType(a: AttributeRef): ValueType {
  return a.type === 'intrinsic' ? INTRINSIC_TYPES[a.name] : 'attribute';
}

function findCompare(e: MetricsExpr): MetricsAggregate | null {
  if (e.type === 'metricsPipeline') return e.aggregate.fn === 'compare' ? e.aggregate : null;
  if (e.type === 'metricsMath') return findCompare(e.lhs) ?? findCompare(e.rhs);
  return null;
}

export type { ComparisonOp };
