// The `q` of the tag endpoints: Grafana sends the query being typed so that
// autocomplete offers only names and values seen on spans it would match. As in
// Tempo, only the conjunctive comparisons of a lone spanset filter narrow; anything
// else (an invalid query, `||`, structural operators, arithmetic) is left out, which
// can only widen the answer, never hide a value a full query would find.
import type { AnyValue, KeyValue, StoredSpan } from '../../otlp/model.js';
import {
  parseTraceQL,
  TraceQLError,
  validateTraceQL,
  type FieldExpr,
  type Intrinsic,
  type Static,
} from '../traceql/index.js';
import { sqlString } from '../../store/blocks/schema.js';
import { compileRe2 } from '../../regex/re2.js';

export type ConditionOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~' | 'exists';

/** Intrinsics a condition can test on one span. */
export type ConditionIntrinsic = 'name' | 'status' | 'statusMessage' | 'kind' | 'duration' | 'instrumentation:name' | 'instrumentation:version';

export type ConditionField =
  | { type: 'attribute'; scope: 'span' | 'resource' | 'none' | 'instrumentation'; name: string }
  | { type: 'intrinsic'; name: ConditionIntrinsic };

export interface Condition {
  field: ConditionField;
  op: ConditionOp;
  /** Absent for `exists` (`x != nil`). */
  value?: Static;
}

const CONDITION_INTRINSICS = new Set<Intrinsic>(['name', 'status', 'statusMessage', 'kind', 'duration', 'instrumentation:name', 'instrumentation:version']);
const FLIPPED: Record<string, ConditionOp> = { '=': '=', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const STATUS_CODES = { unset: 0, ok: 1, error: 2 } as const;
const KIND_CODES = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/**
 * The conditions of `q` that narrow tag names and values; [] when q is absent, incomplete,
 * invalid or not narrowable. Throws TraceQLError when q is one Skein refuses to run (a
 * regex RE2 refuses, a query past the length or depth limit): the search being typed would
 * be refused too, and a regex narrows the blocks' side in DuckDB, which would fail on it.
 */
export function conditionsOf(q: string | undefined): Condition[] {
  if (q === undefined || q.trim() === '') return [];
  let root;
  try {
    root = parseTraceQL(q).ast;
    validateTraceQL(root);
  } catch (err) {
    if (err instanceof TraceQLError && (err.kind === 'regex' || err.kind === 'limit')) throw err;
    return [];
  }
  if (root.query.type !== 'pipeline') return [];
  const first = root.query.stages[0];
  // Later pipeline stages only drop spansets, so the first filter alone gives a superset.
  if (!first || first.type !== 'spansetFilter' || first.expr === null) return [];
  const conjuncts: FieldExpr[] = [];
  if (!flattenAnd(first.expr, conjuncts)) return [];
  return conjuncts.map(toCondition).filter((c): c is Condition => c !== undefined);
}

/** False when the expression has an `||` (Tempo drops such a filter from autocomplete). */
function flattenAnd(e: FieldExpr, out: FieldExpr[]): boolean {
  if (e.type === 'binary' && e.op === '&&') return flattenAnd(e.lhs, out) && flattenAnd(e.rhs, out);
  if (e.type === 'binary' && e.op === '||') return false;
  out.push(e);
  return true;
}

function toCondition(e: FieldExpr): Condition | undefined {
  if (e.type !== 'binary') return undefined;
  let field = fieldOf(e.lhs);
  let other = e.rhs;
  let op = e.op as string;
  if (!field) {
    field = fieldOf(e.rhs);
    other = e.lhs;
    if (!field || !(op in FLIPPED)) return undefined;
    op = FLIPPED[op]!;
  }
  if (other.type !== 'static') return undefined;
  if (other.valueType === 'nil') return op === '!=' ? { field, op: 'exists' } : undefined;
  if (!['=', '!=', '<', '<=', '>', '>=', '=~', '!~'].includes(op)) return undefined;
  if (other.valueType === 'float' && !Number.isFinite(other.value)) return undefined;
  if ((op === '=~' || op === '!~') && other.valueType !== 'string') return undefined;
  return { field, op: op as ConditionOp, value: other };
}

function fieldOf(e: FieldExpr): ConditionField | undefined {
  if (e.type === 'attribute' && !e.parent && (e.scope === 'span' || e.scope === 'resource' || e.scope === 'none' || e.scope === 'instrumentation')) {
    return { type: 'attribute', scope: e.scope, name: e.name };
  }
  if (e.type === 'intrinsic' && CONDITION_INTRINSICS.has(e.name)) return { type: 'intrinsic', name: e.name as ConditionIntrinsic };
  return undefined;
}

// ── evaluation over decoded spans (the head) ──────────────────────────────

export function matchesAll(conditions: readonly Condition[], s: StoredSpan): boolean {
  for (const c of conditions) if (!matches(c, s)) return false;
  return true;
}

function findAttr(attrs: readonly KeyValue[], key: string): AnyValue | undefined {
  for (const kv of attrs) if (kv.key === key) return kv.value;
  return undefined;
}

function attributeOf(field: Extract<ConditionField, { type: 'attribute' }>, s: StoredSpan): AnyValue | undefined {
  switch (field.scope) {
    case 'span':
      return findAttr(s.span.attributes, field.name);
    case 'resource':
      return findAttr(s.resource.attributes, field.name);
    case 'instrumentation':
      return findAttr(s.scope.attributes, field.name);
    case 'none':
      return findAttr(s.span.attributes, field.name) ?? findAttr(s.resource.attributes, field.name);
  }
}

function matches(c: Condition, s: StoredSpan): boolean {
  if (c.field.type === 'attribute') {
    const v = attributeOf(c.field, s);
    if (v === undefined) return false;
    if (c.op === 'exists') return true;
    switch (v.type) {
      case 'string':
        return compareString(c, v.value);
      case 'int':
        return compareNumber(c, Number(v.value));
      case 'double':
        return compareNumber(c, v.value);
      case 'bool':
        return c.value?.valueType === 'bool' && (c.op === '=' ? v.value === c.value.value : c.op === '!=' && v.value !== c.value.value);
      default:
        return false;
    }
  }
  if (c.op === 'exists') return true;
  const span = s.span;
  switch (c.field.name) {
    case 'name':
      return compareString(c, span.name);
    case 'statusMessage':
      return compareString(c, span.status.message);
    case 'instrumentation:name':
      return compareString(c, s.scope.name);
    case 'instrumentation:version':
      return compareString(c, s.scope.version);
    case 'duration':
      return compareNumber(c, Number(span.endTimeUnixNano - span.startTimeUnixNano));
    case 'status':
      return c.value?.valueType === 'status' && equality(c.op, span.status.code === STATUS_CODES[c.value.value]);
    case 'kind':
      return c.value?.valueType === 'kind' && equality(c.op, span.kind === KIND_CODES[c.value.value]);
  }
}

function equality(op: ConditionOp, equal: boolean): boolean {
  return op === '=' ? equal : op === '!=' ? !equal : false;
}

function compareString(c: Condition, actual: string): boolean {
  if (c.value?.valueType !== 'string') return false;
  const want = c.value.value;
  switch (c.op) {
    // TraceQL regexes are RE2 and fully anchored, as Tempo's; conditionsOf refused invalid ones.
    case '=~':
      return compileRe2(want).testWhole(actual);
    case '!~':
      return !compileRe2(want).testWhole(actual);
    default:
      return ordered(c.op, actual < want ? -1 : actual > want ? 1 : 0);
  }
}

function numericValue(s: Static | undefined): number | undefined {
  if (s?.valueType === 'int') return Number(s.value);
  if (s?.valueType === 'float') return s.value;
  if (s?.valueType === 'duration') return Number(s.nanos);
  return undefined;
}

function compareNumber(c: Condition, actual: number): boolean {
  const want = numericValue(c.value);
  if (want === undefined || Number.isNaN(actual)) return false;
  return ordered(c.op, actual < want ? -1 : actual > want ? 1 : 0);
}

function ordered(op: ConditionOp, cmp: number): boolean {
  switch (op) {
    case '=':
      return cmp === 0;
    case '!=':
      return cmp !== 0;
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    default:
      return false;
  }
}

// ── the same conditions as SQL over a block's columns (docs/block-format.md) ──

const SQL_OPS: Partial<Record<ConditionOp, string>> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** A SQL boolean over one span row; `TRUE` for no conditions. */
export function conditionsSql(conditions: readonly Condition[]): string {
  if (conditions.length === 0) return 'TRUE';
  return conditions.map((c) => `(${conditionSql(c)})`).join(' AND ');
}

function conditionSql(c: Condition): string {
  if (c.field.type === 'attribute') {
    const key = sqlString(c.field.name);
    const pred = c.op === 'exists' ? 'TRUE' : attrPredicateSql(c);
    const has = (list: string, p: string) => `len(list_filter(${list}, lambda a: a.key = ${key} AND ${p})) > 0`;
    switch (c.field.scope) {
      case 'span':
        return has('attrs', pred);
      case 'resource':
        return has('resource_attrs', pred);
      case 'instrumentation':
        return has('scope_attrs', pred);
      case 'none':
        // The span's attribute when it has one, else the resource's (as over the head).
        return `CASE WHEN ${has('attrs', 'TRUE')} THEN ${has('attrs', pred)} ELSE ${has('resource_attrs', pred)} END`;
    }
  }
  if (c.op === 'exists') return 'TRUE';
  switch (c.field.name) {
    case 'name':
      return stringSql(c, 'name');
    case 'statusMessage':
      return stringSql(c, 'status_message');
    case 'instrumentation:name':
      return stringSql(c, 'scope_name');
    case 'instrumentation:version':
      return stringSql(c, 'scope_version');
    case 'duration': {
      const n = numericSql(c.value);
      const op = SQL_OPS[c.op];
      return n === undefined || op === undefined ? 'FALSE' : `duration_nano::DOUBLE ${op} ${n}`;
    }
    case 'status':
      if (c.value?.valueType !== 'status' || (c.op !== '=' && c.op !== '!=')) return 'FALSE';
      return `status_code ${SQL_OPS[c.op]} ${STATUS_CODES[c.value.value]}`;
    case 'kind':
      if (c.value?.valueType !== 'kind' || (c.op !== '=' && c.op !== '!=')) return 'FALSE';
      return `kind ${SQL_OPS[c.op]} ${KIND_CODES[c.value.value]}`;
  }
}

function stringSql(c: Condition, column: string): string {
  if (c.value?.valueType !== 'string') return 'FALSE';
  const want = sqlString(c.value.value);
  if (c.op === '=~') return `regexp_full_match(${column}, ${want})`;
  if (c.op === '!~') return `NOT regexp_full_match(${column}, ${want})`;
  const op = SQL_OPS[c.op];
  return op === undefined ? 'FALSE' : `${column} ${op} ${want}`;
}

function numericSql(s: Static | undefined): string | undefined {
  const n = numericValue(s);
  return n === undefined ? undefined : `${n}::DOUBLE`;
}

/** A predicate on the lambda's `a` (an ATTR struct), typed as over the head. */
function attrPredicateSql(c: Condition): string {
  const v = c.value;
  if (v?.valueType === 'string') return `a.type = 1 AND ${stringSql(c, 'a.str')}`;
  if (v?.valueType === 'bool') {
    if (c.op !== '=' && c.op !== '!=') return 'FALSE';
    return `a.type = 2 AND a.bool ${SQL_OPS[c.op]} ${v.value ? 'TRUE' : 'FALSE'}`;
  }
  const n = numericSql(v);
  const op = SQL_OPS[c.op];
  if (n === undefined || op === undefined) return 'FALSE';
  return `((a.type = 3 AND a.int::DOUBLE ${op} ${n}) OR (a.type = 4 AND NOT isnan(a.dbl) AND a.dbl ${op} ${n}))`;
}
