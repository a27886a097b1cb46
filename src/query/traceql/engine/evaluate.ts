// TraceQL over one trace, in JavaScript: the exact semantics, applied to the
// traces the store hands over (Store.fetch: those its SQL and head tests let through).
//
// A query's result for a trace is a list of spansets; the trace matches when the
// list is not empty. The first stage of a pipeline sees all the trace's spans as one
// spanset; each later stage maps spansets to spansets.
import type { SpanEvent, SpanLink } from '../../../otlp/model.js';
import { toHex } from '../../../otlp/model.js';
import type {
  Attribute,
  AttributeRef,
  FieldExpr,
  Pipeline,
  PipelineExpr,
  ScalarExpr,
  SpansetExpr,
  SpansetOp,
} from '../ast.js';
import { printField } from '../printer.js';
import type { EvalSpan, EvalTrace } from './trace.js';
import { arith, attributeValue, compare, existenceTest, fromStatic, spanAttributeValue, KIND_BY_CODE, NIL, STATUS_BY_CODE, toNumber, valKey, type Val } from './values.js';

export interface Spanset {
  spans: EvalSpan[];
  /** by() values and aggregate results, shown with the spanset. */
  attributes: Array<{ key: string; value: Val }>;
  /** select()ed fields, shown on each span. */
  selected: AttributeRef[];
}

interface Ctx {
  span: EvalSpan;
  trace: EvalTrace;
  event: SpanEvent | undefined;
  link: SpanLink | undefined;
}

/** What evaluation checks its deadline with (QueryBudget); `tick` counts steps and throws once it has passed. */
export interface EvalDeadline {
  tick(steps?: number): void;
}

const NO_DEADLINE: EvalDeadline = { tick() {} };
/**
 * The deadline of the evaluation under way. Evaluation is synchronous, so one at a time:
 * set for the duration of evaluateQuery rather than passed through every function.
 */
let deadline: EvalDeadline = NO_DEADLINE;

/** Counts steps towards the deadline's next check: one per span a filter visits, one per pair a structural operator compares. */
function tick(steps = 1): void {
  deadline.tick(steps);
}

export function evaluateQuery(q: PipelineExpr, trace: EvalTrace, within: EvalDeadline = NO_DEADLINE): Spanset[] {
  deadline = within;
  try {
    return evalPipelineExpr(q, trace).filter((s) => s.spans.length > 0);
  } finally {
    deadline = NO_DEADLINE;
  }
}

function evalPipelineExpr(e: PipelineExpr, trace: EvalTrace): Spanset[] {
  if (e.type === 'pipeline') return evalPipeline(e, trace);
  // Parenthesised pipelines joined by a spanset operator: each side's spans, as one set.
  const lhs = evalPipelineExpr(e.lhs, trace);
  const rhs = evalPipelineExpr(e.rhs, trace);
  const spans = combine(e.op, union(lhs.map((s) => s.spans)), union(rhs.map((s) => s.spans)));
  if (spans.length === 0) return [];
  return [{ spans, attributes: [], selected: [...lhs, ...rhs].flatMap((s) => s.selected) }];
}

function evalPipeline(p: Pipeline, trace: EvalTrace): Spanset[] {
  let sets: Spanset[] = [{ spans: trace.spans, attributes: [], selected: [] }];
  for (const stage of p.stages) {
    switch (stage.type) {
      case 'spansetFilter':
      case 'spansetOperation':
        sets = sets.map((s) => ({ ...s, spans: evalSpanset(stage, s.spans, trace) })).filter((s) => s.spans.length > 0);
        break;
      case 'scalarFilter':
        sets = sets.filter((s) => {
          const lhs = evalScalar(stage.lhs, s.spans, trace);
          const rhs = evalScalar(stage.rhs, s.spans, trace);
          const keep = compare(stage.op, lhs, rhs);
          if (keep && stage.lhs.type === 'aggregate') s.attributes = [...s.attributes, { key: printScalar(stage.lhs), value: lhs }];
          return keep;
        });
        break;
      case 'groupBy': {
        const key = `by(${printField(stage.expr)})`;
        sets = sets.flatMap((s) => {
          const groups = new Map<string, { value: Val; spans: EvalSpan[] }>();
          for (const span of s.spans) {
            const value = evalFieldAny(stage.expr, span, trace);
            const k = valKey(value);
            let g = groups.get(k);
            if (!g) groups.set(k, (g = { value, spans: [] }));
            g.spans.push(span);
          }
          return [...groups.values()].map((g) => ({
            spans: g.spans,
            attributes: g.value.t === 'nil' ? s.attributes : [...s.attributes, { key, value: g.value }],
            selected: s.selected,
          }));
        });
        break;
      }
      case 'select':
        sets = sets.map((s) => ({ ...s, selected: [...s.selected, ...stage.attrs] }));
        break;
      case 'coalesce':
        sets =
          sets.length === 0
            ? []
            : [{ spans: union(sets.map((s) => s.spans)), attributes: [], selected: sets.flatMap((s) => s.selected) }];
        break;
    }
  }
  return sets;
}

function printScalar(e: ScalarExpr): string {
  if (e.type === 'aggregate') return `${e.fn}(${e.expr ? printField(e.expr) : ''})`;
  return '';
}

function evalScalar(e: ScalarExpr, spans: readonly EvalSpan[], trace: EvalTrace): Val {
  switch (e.type) {
    case 'static':
      return fromStatic(e);
    case 'scalarOperation':
      return arith(e.op, evalScalar(e.lhs, spans, trace), evalScalar(e.rhs, spans, trace));
    case 'aggregate': {
      if (e.fn === 'count') return { t: 'int', v: BigInt(spans.length) };
      const values = spans.map((s) => evalFieldAny(e.expr!, s, trace)).filter((v) => toNumber(v) !== undefined);
      if (values.length === 0) return NIL;
      if (e.fn === 'min' || e.fn === 'max') {
        let best = values[0]!;
        for (const v of values) if (compare(e.fn === 'min' ? '<' : '>', v, best)) best = v;
        return best;
      }
      let sum: Val = values[0]!;
      for (const v of values.slice(1)) sum = arith('+', sum, v);
      if (e.fn === 'sum') return sum;
      const avg = toNumber(sum)! / values.length;
      return values.every((v) => v.t === 'duration') ? { t: 'duration', v: BigInt(Math.round(avg)) } : { t: 'float', v: avg };
    }
  }
}

// ── spanset expressions ──────────────────────────────────────────────────────

function evalSpanset(e: SpansetExpr, input: readonly EvalSpan[], trace: EvalTrace): EvalSpan[] {
  if (e.type === 'spansetFilter') {
    if (e.expr === null) return [...input];
    const expr = e.expr;
    return input.filter((s) => {
      tick();
      return matches(expr, s, trace);
    });
  }
  return combine(e.op, evalSpanset(e.lhs, input, trace), evalSpanset(e.rhs, input, trace));
}

/** `lhs op rhs` over two span lists: `&&` `||`, and the structural operators (which keep right-hand spans). */
function combine(op: SpansetOp, lhs: EvalSpan[], rhs: EvalSpan[]): EvalSpan[] {
  switch (op) {
    case '&&':
      return lhs.length > 0 && rhs.length > 0 ? union([lhs, rhs]) : [];
    case '||':
      return union([lhs, rhs]);
  }
  const negated = op.startsWith('!');
  const both = op.startsWith('&');
  const rel = (negated || both ? op.slice(1) : op) as '>' | '<' | '>>' | '<<' | '~';
  // Pairs of spans: a wide trace makes this the costliest step of all, so the deadline counts every pair.
  if (negated) {
    return rhs.filter((r) => {
      tick(lhs.length);
      return !lhs.some((l) => related(rel, l, r));
    });
  }
  const right = rhs.filter((r) => {
    tick(lhs.length);
    return lhs.some((l) => related(rel, l, r));
  });
  if (!both) return right;
  const left = lhs.filter((l) => {
    tick(right.length);
    return right.some((r) => related(rel, l, r));
  });
  return union([left, right]);
}

/** Whether r stands in `rel` to l: `>` r is l's child, `<` parent, `>>` descendant, `<<` ancestor, `~` sibling. */
function related(rel: '>' | '<' | '>>' | '<<' | '~', l: EvalSpan, r: EvalSpan): boolean {
  switch (rel) {
    case '>':
      return l.left > 0 && r.parent === l.left;
    case '<':
      return r.left > 0 && l.parent === r.left;
    case '>>':
      return l.left > 0 && l.left < r.left && r.right < l.right;
    case '<<':
      return r.left > 0 && r.left < l.left && l.right < r.right;
    case '~':
      return l !== r && l.parent !== 0 && l.parent === r.parent;
  }
}

/** Spans of the lists, each once, in trace order. */
function union(lists: readonly EvalSpan[][]): EvalSpan[] {
  if (lists.length === 1) return lists[0]!;
  const set = new Set<EvalSpan>();
  for (const l of lists) for (const s of l) set.add(s);
  return [...set].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
}

// ── field expressions ────────────────────────────────────────────────────────

const usesScopeCache = new WeakMap<FieldExpr, { event: boolean; link: boolean }>();

function usesScope(e: FieldExpr): { event: boolean; link: boolean } {
  let u = usesScopeCache.get(e);
  if (!u) {
    const found = { event: false, link: false };
    const walk = (x: FieldExpr): void => {
      if (x.type === 'attribute') {
        if (x.scope === 'event') found.event = true;
        if (x.scope === 'link') found.link = true;
      } else if (x.type === 'intrinsic') {
        if (x.name.startsWith('event:')) found.event = true;
        if (x.name.startsWith('link:')) found.link = true;
      } else if (x.type === 'binary') {
        walk(x.lhs);
        walk(x.rhs);
      } else if (x.type === 'unary') walk(x.expr);
    };
    walk(e);
    usesScopeCache.set(e, (u = found));
  }
  return u;
}

/**
 * A span matches when the condition holds for it; a condition on event (link) fields
 * holds when it holds for one of the span's events (links), all its terms on the same one.
 */
export function matches(e: FieldExpr, span: EvalSpan, trace: EvalTrace): boolean {
  const { event, link } = usesScope(e);
  const events: Array<SpanEvent | undefined> = event && span.stored.span.events.length > 0 ? span.stored.span.events : [undefined];
  const links: Array<SpanLink | undefined> = link && span.stored.span.links.length > 0 ? span.stored.span.links : [undefined];
  for (const ev of events) {
    for (const ln of links) {
      const v = evalField(e, { span, trace, event: ev, link: ln });
      if (v.t === 'bool' && v.v) return true;
    }
  }
  return false;
}

/** A field's value on a span; for event and link fields, the first event (link) that has one. */
function evalFieldAny(e: FieldExpr, span: EvalSpan, trace: EvalTrace): Val {
  const { event, link } = usesScope(e);
  const events: Array<SpanEvent | undefined> = event && span.stored.span.events.length > 0 ? span.stored.span.events : [undefined];
  const links: Array<SpanLink | undefined> = link && span.stored.span.links.length > 0 ? span.stored.span.links : [undefined];
  for (const ev of events) {
    for (const ln of links) {
      const v = evalField(e, { span, trace, event: ev, link: ln });
      if (v.t !== 'nil') return v;
    }
  }
  return NIL;
}

export function fieldValue(e: FieldExpr, span: EvalSpan, trace: EvalTrace): Val {
  return evalFieldAny(e, span, trace);
}

function evalField(e: FieldExpr, ctx: Ctx): Val {
  switch (e.type) {
    case 'static':
      return fromStatic(e);
    case 'attribute':
      return attribute(e, ctx);
    case 'intrinsic':
      return intrinsic(e.name, ctx);
    case 'unary': {
      const v = evalField(e.expr, ctx);
      if (e.op === '!') return v.t === 'bool' ? { t: 'bool', v: !v.v } : NIL;
      return arith('-', { t: 'int', v: 0n }, v);
    }
    case 'binary': {
      switch (e.op) {
        case '&&': {
          const l = evalField(e.lhs, ctx);
          if (!(l.t === 'bool' && l.v)) return { t: 'bool', v: false };
          const r = evalField(e.rhs, ctx);
          return { t: 'bool', v: r.t === 'bool' && r.v };
        }
        case '||': {
          const l = evalField(e.lhs, ctx);
          if (l.t === 'bool' && l.v) return l;
          const r = evalField(e.rhs, ctx);
          return { t: 'bool', v: r.t === 'bool' && r.v };
        }
        case '=':
        case '!=':
        case '<':
        case '<=':
        case '>':
        case '>=':
        case '=~':
        case '!~':
          // `x != nil` (the literal on either side) tests existence; any other nil compares false.
          if (isNilLiteral(e.rhs)) return { t: 'bool', v: existenceTest(e.op, evalField(e.lhs, ctx)) };
          if (isNilLiteral(e.lhs)) return { t: 'bool', v: existenceTest(e.op, evalField(e.rhs, ctx)) };
          return { t: 'bool', v: compare(e.op, evalField(e.lhs, ctx), evalField(e.rhs, ctx)) };
        default:
          return arith(e.op, evalField(e.lhs, ctx), evalField(e.rhs, ctx));
      }
    }
  }
}

function isNilLiteral(e: FieldExpr): boolean {
  return e.type === 'static' && e.valueType === 'nil';
}

function attribute(a: Attribute, ctx: Ctx): Val {
  switch (a.scope) {
    case 'event':
      return ctx.event ? attributeValue(ctx.event.attributes, a.name) : NIL;
    case 'link':
      return ctx.link ? attributeValue(ctx.link.attributes, a.name) : NIL;
    default:
      return spanAttributeValue(ctx.span.stored, a.scope, a.name);
  }
}

function intrinsic(name: string, ctx: Ctx): Val {
  const { span, trace } = ctx;
  const sp = span.stored.span;
  switch (name) {
    case 'duration':
      return { t: 'duration', v: span.duration };
    case 'name':
      return { t: 'string', v: sp.name };
    case 'status':
      return { t: 'status', v: STATUS_BY_CODE[sp.status.code] ?? 'unset' };
    case 'statusMessage':
      return { t: 'string', v: sp.status.message };
    case 'kind':
      return { t: 'kind', v: KIND_BY_CODE[sp.kind] ?? 'unspecified' };
    case 'childCount':
      return { t: 'int', v: BigInt(span.childCount) };
    case 'rootName':
      return trace.root ? { t: 'string', v: trace.root.stored.span.name } : NIL;
    case 'rootServiceName':
      return trace.root?.service !== undefined ? { t: 'string', v: trace.root.service } : NIL;
    case 'traceDuration':
      return { t: 'duration', v: trace.end - trace.start };
    case 'nestedSetLeft':
      return { t: 'int', v: BigInt(span.left) };
    case 'nestedSetRight':
      return { t: 'int', v: BigInt(span.right) };
    case 'nestedSetParent':
      return { t: 'int', v: BigInt(span.parent) };
    case 'trace:id':
      return { t: 'string', v: trace.traceId };
    case 'span:id':
      return { t: 'string', v: span.spanId };
    case 'span:parentID':
      return span.parentId === '' ? NIL : { t: 'string', v: span.parentId };
    case 'event:name':
      return ctx.event ? { t: 'string', v: ctx.event.name } : NIL;
    case 'event:timeSinceStart':
      return ctx.event ? { t: 'duration', v: ctx.event.timeUnixNano - span.start } : NIL;
    case 'link:traceID':
      return ctx.link ? { t: 'string', v: toHex(ctx.link.traceId) } : NIL;
    case 'link:spanID':
      return ctx.link ? { t: 'string', v: toHex(ctx.link.spanId) } : NIL;
    case 'instrumentation:name':
      return { t: 'string', v: span.stored.scope.name };
    case 'instrumentation:version':
      return { t: 'string', v: span.stored.scope.version };
    default:
      return NIL;
  }
}
