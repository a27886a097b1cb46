// What of a TraceQL query the block engine can check: a trace-level condition in
// DuckDB SQL over the span rows of the blocks (GROUP BY trace_id … HAVING), which
// every matching trace satisfies. It may let through traces that do not match
// (the evaluator in evaluate.ts has the last word), never the reverse.
//
// A spanset filter `{ P }` needs some span where P holds: `bool_or(P)`. Inside P,
// what has no SQL form (arithmetic, `!`, trace-level intrinsics, event and link
// attributes) is replaced by TRUE on the side of an AND and makes a whole OR TRUE.
import type { Attribute, FieldExpr, Pipeline, PipelineExpr, SpansetExpr, Static } from '../traceql/ast.js';
import { sqlString } from '../../store/blocks/schema.js';

const STATUS_CODE: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_CODE: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

/** A trace-level SQL condition over the grouped spans of one trace, or null when nothing narrows. */
export function traceCondition(q: PipelineExpr): string | null {
  return pipelineExprCond(q);
}

/**
 * `traceCondition` with a row filter: `rows` is true of every span whose `bool_or(P)` the
 * condition may need (the OR of every such P). The condition only ever combines its
 * `bool_or` terms with AND and OR, so a trace meeting it has a span where `rows` holds,
 * and over the spans `rows` keeps each term has the same value as over all of them.
 */
export function traceConditionWithRows(q: PipelineExpr): { having: string; rows: string } | null {
  const leaves: string[] = [];
  collecting = leaves;
  let having: string | null;
  try {
    having = pipelineExprCond(q);
  } finally {
    collecting = undefined;
  }
  return having === null || leaves.length === 0 ? null : { having, rows: leaves.map((l) => `(${l})`).join(' OR ') };
}

let collecting: string[] | undefined;

function and(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return `(${a} AND ${b})`;
}

function or(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return null;
  return `(${a} OR ${b})`;
}

function pipelineExprCond(e: PipelineExpr): string | null {
  if (e.type === 'pipeline') return pipelineCond(e);
  const l = pipelineExprCond(e.lhs);
  const r = pipelineExprCond(e.rhs);
  return opCond(e.op, l, r);
}

function pipelineCond(p: Pipeline): string | null {
  let cond: string | null = null;
  for (const stage of p.stages) {
    if (stage.type === 'spansetFilter' || stage.type === 'spansetOperation') cond = and(cond, spansetCond(stage));
  }
  return cond;
}

function opCond(op: string, l: string | null, r: string | null): string | null {
  if (op === '||') return or(l, r);
  // Negations keep right-hand spans that have no such relative: the left side may be empty.
  if (op.startsWith('!')) return r;
  return and(l, r);
}

function spansetCond(e: SpansetExpr): string | null {
  if (e.type === 'spansetFilter') {
    if (e.expr === null) return null;
    const p = spanPredicate(e.expr);
    if (p !== null) collecting?.push(p);
    return p === null ? null : `bool_or(${p})`;
  }
  return opCond(e.op, spansetCond(e.lhs), spansetCond(e.rhs));
}

/** A span-row predicate implied by the field expression, or null (no narrowing). */
export function spanPredicate(e: FieldExpr): string | null {
  if (e.type !== 'binary') return null;
  switch (e.op) {
    case '&&':
      return and(spanPredicate(e.lhs), spanPredicate(e.rhs));
    case '||':
      return or(spanPredicate(e.lhs), spanPredicate(e.rhs));
    case '=':
    case '!=':
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '=~':
    case '!~':
      break;
    default:
      return null;
  }
  let op = e.op;
  let field = e.lhs;
  let value = e.rhs;
  if (field.type === 'static' && value.type !== 'static') {
    [field, value] = [value, field];
    const flipped: Record<string, typeof op> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
    op = flipped[op] ?? op;
    if (op === '=~' || op === '!~') return null;
  }
  if (value.type !== 'static') return null;
  if (field.type === 'intrinsic') return intrinsicPredicate(field.name, op, value);
  if (field.type === 'attribute') return attributePredicate(field, op, value);
  return null;
}

const SQL_OP: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

function stringPredicate(column: string, op: string, v: Static): string | null {
  if (v.valueType !== 'string') return null;
  if (op === '=~') return `regexp_full_match(${column}, ${sqlString(v.value)})`;
  if (op === '!~') return `NOT regexp_full_match(${column}, ${sqlString(v.value)})`;
  return `${column} ${SQL_OP[op]} ${sqlString(v.value)}`;
}

function numberLiteral(v: Static): string | null {
  if (v.valueType === 'int') return `${v.value}`;
  if (v.valueType === 'duration') return `${v.nanos}`;
  if (v.valueType === 'float') return Number.isFinite(v.value) ? `${v.value}::DOUBLE` : null;
  return null;
}

function intrinsicPredicate(name: string, op: string, v: Static): string | null {
  switch (name) {
    case 'name':
      return stringPredicate('name', op, v);
    case 'statusMessage':
      return stringPredicate('status_message', op, v);
    case 'status':
      return v.valueType === 'status' && (op === '=' || op === '!=') ? `status_code ${SQL_OP[op]} ${STATUS_CODE[v.value]}` : null;
    case 'kind':
      return v.valueType === 'kind' && (op === '=' || op === '!=') ? `kind ${SQL_OP[op]} ${KIND_CODE[v.value]}` : null;
    case 'duration': {
      const n = numberLiteral(v);
      return n !== null && op in SQL_OP ? `duration_nano ${SQL_OP[op]} ${n}` : null;
    }
    case 'instrumentation:name':
      return stringPredicate('scope_name', op, v);
    case 'instrumentation:version':
      return stringPredicate('scope_version', op, v);
    case 'event:name':
      return op === '=' || op === '=~' ? `len(list_filter(events, lambda ev: ${stringPredicate('ev.name', op, v)})) > 0` : null;
    default:
      return null;
  }
}

/** `len(list_filter(<column>, a -> …)) > 0` for each attribute list the scope reads. */
function attributePredicate(a: Attribute, op: string, v: Static): string | null {
  if (a.parent) return null;
  const columns =
    a.scope === 'span' ? ['attrs'] : a.scope === 'resource' ? ['resource_attrs'] : a.scope === 'none' ? ['attrs', 'resource_attrs'] : a.scope === 'instrumentation' ? ['scope_attrs'] : [];
  if (columns.length === 0) return null;
  // resource.service.name has a column of its own.
  if (a.scope === 'resource' && a.name === 'service.name' && v.valueType === 'string') return stringPredicate('service_name', op, v);
  const key = `a.key = ${sqlString(a.name)}`;
  let valueCond: string | null;
  if (v.valueType === 'nil') {
    valueCond = op === '!=' ? 'TRUE' : null;
  } else if (v.valueType === 'string') {
    valueCond = `(a.type = 1 AND ${stringPredicate('a.str', op, v)})`;
  } else if (v.valueType === 'bool') {
    valueCond = op === '=' || op === '!=' ? `(a.type = 2 AND a.bool ${SQL_OP[op]} ${v.value})` : null;
  } else {
    const n = numberLiteral(v);
    valueCond = n !== null && op in SQL_OP ? `((a.type = 3 AND a.int ${SQL_OP[op]} ${n}) OR (a.type = 4 AND a.dbl ${SQL_OP[op]} ${n}))` : null;
  }
  if (valueCond === null) return null;
  // Arrays (type 5) are compared element by element in the evaluator: any array under the key may match.
  const cond = `${key} AND (${valueCond} OR a.type = 5)`;
  return `(${columns.map((c) => `len(list_filter(${c}, lambda a: ${cond})) > 0`).join(' OR ')})`;
}

// ── The same condition over the head's span summaries ───────────────────────
//
// The head keeps, per span, its service, kind, status and duration (Head.traceSummaries),
// so the pushed-down condition is checked there without decoding a span. The same rules
// hold: a test may let through traces that do not match, never the reverse; what it
// cannot check is TRUE.

/** What a head summary knows of one span. */
export interface SpanFacts {
  service: string | undefined;
  kind: number;
  status: number;
  durationNano: number;
}

type SpanTest = (s: SpanFacts) => boolean;
/** Over the spans of one trace, given as `forEachSpan`; returns whether the trace may match. */
export type TraceTest = (anySpan: (test: SpanTest) => boolean) => boolean;

/** The trace-level test of `traceCondition` over span summaries, or null when nothing narrows. */
export function headTraceTest(q: PipelineExpr): TraceTest | null {
  return pipelineExprTest(q);
}

function andTest<T extends (x: never) => boolean>(a: T | null, b: T | null): T | null {
  if (a === null) return b;
  if (b === null) return a;
  return ((x: never) => a(x) && b(x)) as T;
}

function orTest<T extends (x: never) => boolean>(a: T | null, b: T | null): T | null {
  if (a === null || b === null) return null;
  return ((x: never) => a(x) || b(x)) as T;
}

function opTest(op: string, l: TraceTest | null, r: TraceTest | null): TraceTest | null {
  if (op === '||') return orTest(l, r);
  if (op.startsWith('!')) return r;
  return andTest(l, r);
}

function pipelineExprTest(e: PipelineExpr): TraceTest | null {
  if (e.type === 'pipeline') {
    let t: TraceTest | null = null;
    for (const stage of e.stages) {
      if (stage.type === 'spansetFilter' || stage.type === 'spansetOperation') t = andTest(t, spansetTest(stage));
    }
    return t;
  }
  return opTest(e.op, pipelineExprTest(e.lhs), pipelineExprTest(e.rhs));
}

function spansetTest(e: SpansetExpr): TraceTest | null {
  if (e.type === 'spansetFilter') {
    if (e.expr === null) return null;
    const p = spanTest(e.expr);
    return p === null ? null : (anySpan) => anySpan(p);
  }
  return opTest(e.op, spansetTest(e.lhs), spansetTest(e.rhs));
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function spanTest(e: FieldExpr): SpanTest | null {
  if (e.type !== 'binary') return null;
  if (e.op === '&&') return andTest(spanTest(e.lhs), spanTest(e.rhs));
  if (e.op === '||') return orTest(spanTest(e.lhs), spanTest(e.rhs));
  let op: string = e.op;
  let field = e.lhs;
  let value = e.rhs;
  if (field.type === 'static' && value.type !== 'static') {
    [field, value] = [value, field];
    const flipped: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
    op = flipped[op] ?? op;
  }
  if (value.type !== 'static') return null;
  const v = value;
  if (field.type === 'intrinsic') {
    if (field.name === 'status' && v.valueType === 'status' && (op === '=' || op === '!=')) {
      const code = STATUS_CODE[v.value]!;
      return op === '=' ? (s) => s.status === code : (s) => s.status !== code;
    }
    if (field.name === 'kind' && v.valueType === 'kind' && (op === '=' || op === '!=')) {
      const code = KIND_CODE[v.value]!;
      return op === '=' ? (s) => s.kind === code : (s) => s.kind !== code;
    }
    // Durations in a double are exact up to 2^53 ns (104 days); beyond that, no narrowing.
    if (field.name === 'duration' && v.valueType === 'duration' && COMPARE[op] && v.nanos <= MAX_EXACT && v.nanos >= -MAX_EXACT) {
      const cmp = COMPARE[op]!;
      const n = Number(v.nanos);
      return (s) => s.durationNano > Number.MAX_SAFE_INTEGER || cmp(s.durationNano, n);
    }
    return null;
  }
  if (field.type === 'attribute' && field.scope === 'resource' && field.name === 'service.name' && !field.parent && v.valueType === 'string' && (op === '=' || op === '!=')) {
    const name = v.value;
    // A resource without a string service.name is not judged here.
    return op === '=' ? (s) => s.service === undefined || s.service === name : (s) => s.service === undefined || s.service !== name;
  }
  return null;
}
