// The block part of a metrics query as one DuckDB aggregate over the Parquet parts,
// when the whole filter has an exact SQL form: a single spanset filter `{ P }` whose
// conditions read the span alone (no structural operators, no trace-level intrinsics,
// no aggregates), with by() labels and the measured attribute readable from columns.
// Unlike search's pushdown (pushdown.ts), which may let through more traces than match
// because the evaluator decides afterwards, this SQL is the answer, so every
// translation here must agree with the evaluator (evaluate.ts, values.ts) exactly.
// Rows whose referenced attributes hold arrays, maps or bytes (which the evaluator
// compares element by element) are left to the evaluator: see `oddRows`.
import type { AttributeRef, FieldExpr, MetricsAggregate, Pipeline, Static } from '../traceql/ast.js';
import { sqlString } from '../../store/blocks/schema.js';
import type { Val } from '../traceql/engine/values.js';
import { KIND_BY_CODE, STATUS_BY_CODE } from '../traceql/engine/values.js';

const STATUS_CODE: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_CODE: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const SQL_OP: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** Type codes of a by() value column beyond the attribute types of schema.ts (1 string … 7 bytes). */
const T_STATUS = 100;
const T_KIND = 101;
const T_DURATION = 102;

export interface SqlPlan {
  /** Span-row condition of the filter (null: every span). */
  where: string | null;
  /** One expression per by() attribute, each a STRUCT(type, str, int, dbl, bool) or NULL. */
  by: string[];
  /** The measured value as DOUBLE (nanoseconds for duration), NULL when the span has none. */
  value: string | null;
  /** The log2 bucket exponent (histogram and quantile), NULL to drop the span. */
  exponent: string | null;
  /** Rows the SQL cannot judge exactly (array, map or bytes values in a referenced attribute). */
  oddRows: string | null;
}

class NotPushable extends Error {}

/** The exact SQL form of a metrics pipeline over blocks, or null when it has none. */
export function planSql(pipeline: Pipeline, agg: MetricsAggregate): SqlPlan | null {
  if (agg.fn === 'compare') return null;
  const filter = pipeline.stages[0];
  if (pipeline.stages.length !== 1 || filter?.type !== 'spansetFilter') return null;
  const referenced: string[] = [];
  try {
    const where = filter.expr === null ? null : predicate(filter.expr, referenced);
    const by = agg.by.map((a) => valueStruct(a, referenced));
    let value: string | null = null;
    let exponent: string | null = null;
    if (agg.attr !== null) {
      const v = numericValue(agg.attr, referenced);
      if (agg.fn === 'histogram_over_time' || agg.fn === 'quantile_over_time') {
        // Tempo buckets integers and durations; floats have no bucket and drop the span.
        exponent = `CASE WHEN ${v.integral} AND ${v.expr} >= 2 THEN ceil(log2(${v.expr}))::INTEGER END`;
      } else value = v.expr;
    }
    const odd = [...new Set(referenced)].map((lookup) => `coalesce((${lookup}).type IN (5, 6, 7), FALSE)`);
    return { where, by, value, exponent, oddRows: odd.length > 0 ? odd.join(' OR ') : null };
  } catch (err) {
    if (err instanceof NotPushable) return null;
    throw err;
  }
}

function lookupIn(column: string, name: string): string {
  return `list_filter(${column}, lambda a: a.key = ${sqlString(name)})[1]`;
}

/** The attribute's value element (a STRUCT of the attrs list) as the evaluator picks it. */
function attributeLookup(a: AttributeRef, referenced: string[]): string {
  if (a.type !== 'attribute' || a.parent) throw new NotPushable();
  let expr: string;
  switch (a.scope) {
    case 'span':
      expr = lookupIn('attrs', a.name);
      break;
    case 'resource':
      expr = lookupIn('resource_attrs', a.name);
      break;
    case 'instrumentation':
      expr = lookupIn('scope_attrs', a.name);
      break;
    case 'none': {
      // The span's attribute, else the resource's (an empty value counts as absent).
      const span = lookupIn('attrs', a.name);
      expr = `CASE WHEN coalesce((${span}).type, 0) <> 0 THEN ${span} ELSE ${lookupIn('resource_attrs', a.name)} END`;
      break;
    }
    default:
      throw new NotPushable();
  }
  referenced.push(expr);
  return expr;
}

function struct(type: number, str: string, int: string): string {
  return `{'type': ${type}::UTINYINT, 'str': ${str}::VARCHAR, 'int': ${int}::BIGINT, 'dbl': NULL::DOUBLE, 'bool': NULL::BOOLEAN}`;
}

function valueStruct(a: AttributeRef, referenced: string[]): string {
  if (a.type === 'attribute') {
    const l = attributeLookup(a, referenced);
    return `{'type': (${l}).type, 'str': (${l}).str, 'int': (${l}).int, 'dbl': (${l}).dbl, 'bool': (${l}).bool}`;
  }
  switch (a.name) {
    case 'name':
      return struct(1, 'name', 'NULL');
    case 'statusMessage':
      return struct(1, 'status_message', 'NULL');
    case 'instrumentation:name':
      return struct(1, 'scope_name', 'NULL');
    case 'instrumentation:version':
      return struct(1, 'scope_version', 'NULL');
    case 'status':
      return struct(T_STATUS, 'NULL', 'status_code');
    case 'kind':
      return struct(T_KIND, 'NULL', 'kind');
    case 'duration':
      return struct(T_DURATION, 'NULL', 'duration_nano');
    default:
      throw new NotPushable();
  }
}

/** A by() value column back in the evaluator's terms. */
export function valFromStruct(s: { type: number | null; str: string | null; int: bigint | null; dbl: number | null; bool: boolean | null } | null): Val {
  if (s === null || s.type === null) return { t: 'nil' };
  switch (s.type) {
    case 1:
      return { t: 'string', v: s.str ?? '' };
    case 2:
      return { t: 'bool', v: s.bool ?? false };
    case 3:
      return { t: 'int', v: s.int ?? 0n };
    case 4:
      return { t: 'float', v: s.dbl ?? 0 };
    case T_STATUS:
      return { t: 'status', v: STATUS_BY_CODE[Number(s.int)] ?? 'unset' };
    case T_KIND:
      return { t: 'kind', v: KIND_BY_CODE[Number(s.int)] ?? 'unspecified' };
    case T_DURATION:
      return { t: 'duration', v: s.int ?? 0n };
    default:
      return { t: 'nil' };
  }
}

function numericValue(a: AttributeRef, referenced: string[]): { expr: string; integral: string } {
  if (a.type === 'intrinsic') {
    if (a.name === 'duration') return { expr: 'duration_nano::DOUBLE', integral: 'TRUE' };
    throw new NotPushable();
  }
  const l = attributeLookup(a, referenced);
  return {
    expr: `CASE WHEN (${l}).type = 3 THEN (${l}).int::DOUBLE WHEN (${l}).type = 4 AND NOT isnan((${l}).dbl) THEN (${l}).dbl END`,
    integral: `(${l}).type = 3`,
  };
}

// ── the filter ──────────────────────────────────────────────────────────────

function predicate(e: FieldExpr, referenced: string[]): string {
  if (e.type !== 'binary') throw new NotPushable();
  if (e.op === '&&' || e.op === '||') {
    return `(${predicate(e.lhs, referenced)} ${e.op === '&&' ? 'AND' : 'OR'} ${predicate(e.rhs, referenced)})`;
  }
  let op: string = e.op;
  let field = e.lhs;
  let value = e.rhs;
  if (field.type === 'static' && value.type !== 'static') {
    if (op === '=~' || op === '!~') throw new NotPushable();
    [field, value] = [value, field];
    op = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[op] ?? op;
  }
  if (value.type !== 'static' || (field.type !== 'attribute' && field.type !== 'intrinsic')) throw new NotPushable();
  return `coalesce(${field.type === 'intrinsic' ? intrinsicCondition(field.name, op, value) : attributeCondition(attributeLookup(field, referenced), op, value)}, FALSE)`;
}

function stringCondition(column: string, op: string, v: Static): string {
  if (v.valueType !== 'string') throw new NotPushable();
  if (op === '=~') return `regexp_full_match(${column}, ${sqlString(v.value)})`;
  if (op === '!~') return `NOT regexp_full_match(${column}, ${sqlString(v.value)})`;
  if (!(op in SQL_OP)) throw new NotPushable();
  return `${column} ${SQL_OP[op]} ${sqlString(v.value)}`;
}

function numberLiteral(v: Static): string {
  if (v.valueType === 'int') return `${v.value}`;
  if (v.valueType === 'duration') return `${v.nanos}`;
  if (v.valueType === 'float' && Number.isFinite(v.value)) return `${v.value}::DOUBLE`;
  throw new NotPushable();
}

function intrinsicCondition(name: string, op: string, v: Static): string {
  switch (name) {
    case 'name':
      return stringCondition('name', op, v);
    case 'statusMessage':
      return stringCondition('status_message', op, v);
    case 'instrumentation:name':
      return stringCondition('scope_name', op, v);
    case 'instrumentation:version':
      return stringCondition('scope_version', op, v);
    case 'status':
      if (v.valueType !== 'status' || (op !== '=' && op !== '!=')) throw new NotPushable();
      return `status_code ${SQL_OP[op]} ${STATUS_CODE[v.value]}`;
    case 'kind':
      if (v.valueType !== 'kind' || (op !== '=' && op !== '!=')) throw new NotPushable();
      return `kind ${SQL_OP[op]} ${KIND_CODE[v.value]}`;
    case 'duration':
      if (!(op in SQL_OP)) throw new NotPushable();
      return `duration_nano ${SQL_OP[op]} ${numberLiteral(v)}`;
    default:
      throw new NotPushable();
  }
}

function attributeCondition(l: string, op: string, v: Static): string {
  if (v.valueType === 'nil') {
    if (op !== '!=') throw new NotPushable();
    return `coalesce((${l}).type, 0) <> 0`;
  }
  if (v.valueType === 'string') return `(${l}).type = 1 AND ${stringCondition(`(${l}).str`, op, v)}`;
  if (v.valueType === 'bool') {
    if (op !== '=' && op !== '!=') return 'FALSE';
    return `(${l}).type = 2 AND (${l}).bool ${SQL_OP[op]} ${v.value}`;
  }
  if (v.valueType === 'int' || v.valueType === 'float' || v.valueType === 'duration') {
    if (!(op in SQL_OP)) throw new NotPushable();
    const n = numberLiteral(v);
    return `((${l}).type = 3 AND (${l}).int ${SQL_OP[op]} ${n}) OR ((${l}).type = 4 AND NOT isnan((${l}).dbl) AND (${l}).dbl ${SQL_OP[op]} ${n})`;
  }
  // Attributes never hold statuses or kinds: such comparisons are false, as in the evaluator.
  return 'FALSE';
}
