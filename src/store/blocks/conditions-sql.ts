// Span conditions (store/fetch/request.ts) as DuckDB SQL over a block's span rows
// (docs/block-format.md): the one translation every query that reads blocks uses.
// Each condition means exactly what the engine's `compare` means (store/fetch/values.ts):
// nil compares false, values of kinds that do not compare are unequal *and* not `!=`,
// ints and durations compare as integers, anything with a float as doubles, strings
// byte-wise, regexes fully anchored (RE2 on both sides).
//
// Array attributes compare element by element, as in the engine (their OTLP/JSON text is
// read into elements). Two things SQL does not decide here: arrays nested in arrays, and
// several `event:name` conditions in one filter (the engine wants them all on one event).
// A compiled filter says so: `undecided` is true of the rows whose answer may be wrong
// (nested arrays), and `exact` is false when the whole filter may be (events). Over the
// other rows, `sql` is the answer.
//
// Reading an attribute list is most of what a condition costs (DuckDB decodes every
// element of every row), so a caller that knows which names a block's rows never have
// in a scope (its tag index) says so (`CompileOptions.absent`), and a lookup there is
// left out. And a regex with a literal prefix tests the prefix first.
import type { Condition, FetchField, SpanFilter, SpanIntrinsic } from '../fetch/request.js';
import type { Val } from '../fetch/values.js';
import { literalPrefix } from '../../regex/literal-prefix.js';
import { ATTRS_TYPE, sqlString } from './schema.js';

export interface CompileOptions {
  /** True when no row has an attribute of that name in that scope (so it is nil there). */
  absent?: ((scope: 'span' | 'resource' | 'instrumentation', name: string) => boolean) | undefined;
}

export interface CompiledFilter {
  /** A BOOLEAN, never NULL, over one span row. */
  sql: string;
  /** Rows `sql` may misjudge (array values of a referenced attribute), or null for none. */
  undecided: string | null;
  /** False when `sql` may misjudge rows `undecided` does not name. */
  exact: boolean;
  /**
   * True of every row that may meet the filter, as `sql OR undecided` is, but with each
   * condition's arrays allowed where it reads them, so each attribute is read once.
   */
  may: string;
  /** Whether it reads attribute or event lists (costly per row, unlike the scalar columns). */
  readsLists: boolean;
}

const STATUS_CODE: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_CODE: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const SQL_OP: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** The filter as SQL; `TRUE` for null (every span). */
export function compileSpanFilter(filter: SpanFilter | null, opts: CompileOptions = {}): CompiledFilter {
  if (filter === null) return { sql: 'TRUE', undecided: null, exact: true, may: 'TRUE', readsLists: false };
  const undecided = new Set<string>();
  let eventConditions = 0;
  const walk = (f: SpanFilter, condition: (c: Condition) => string): string => {
    if (f.type === 'condition') return condition(f.condition);
    if (f.args.length === 0) return f.type === 'and' ? 'TRUE' : 'FALSE';
    return `(${f.args.map((a) => walk(a, condition)).join(f.type === 'and' ? ' AND ' : ' OR ')})`;
  };
  const sql = walk(filter, (c) => {
    if (c.field.type === 'intrinsic' && c.field.name === 'event:name') eventConditions++;
    return conditionSql(c, undecided, opts);
  });
  // Each condition over arrays as "may hold": AND and OR of such supersets are supersets.
  const may = walk(filter, (c) => conditionSql(c, undefined, opts));
  return { sql, undecided: undecided.size > 0 ? [...undecided].join(' OR ') : null, exact: eventConditions <= 1, may, readsLists: LIST_READ.test(sql) };
}

/** True of every row that may meet the filter, `sql OR undecided` (for narrowing, never for answers). */
export function mayMatchSql(c: CompiledFilter): string {
  return c.may;
}

/**
 * One condition, never NULL. Array-valued attributes it looks at are added to `undecided`;
 * without `undecided`, the condition is true of them (it may hold there).
 */
export function conditionSql(c: Condition, undecided: Set<string> | undefined, opts: CompileOptions = {}): string {
  const { field, op, value } = c;
  if (field.type === 'intrinsic') return `coalesce(${intrinsicSql(field.name, op, value)}, FALSE)`;
  // resource.service.name has a column of its own (its string value).
  if (field.scope === 'resource' && field.name === 'service.name' && value.t === 'string' && op !== '=~' && op !== '!~') {
    return `coalesce(service_name ${SQL_OP[op]} ${sqlString(value.v)}, FALSE)`;
  }
  const element = elementList(field, opts);
  // Nil everywhere: every comparison with it is false, `!= nil` included.
  if (element === null) return 'FALSE';
  // The element is looked up once and tested in a lambda: DuckDB would look it up again for each mention.
  const test = (pred: string) => `coalesce(list_bool_or(list_transform(${element}, lambda x: ${pred})), FALSE)`;
  if (value.t === 'nil') return test(attributeSql('x', op, value));
  // An array compares element by element: some element holds; `!=` and `!~` hold when no element is `=` / `=~`.
  const someElement = (elementOp: string) => `coalesce(list_bool_or(list_transform(${arrayElements('x')}, lambda y: coalesce(${attributeSql('y', elementOp, value)}, FALSE))), FALSE)`;
  const array = op === '!=' ? `NOT ${someElement('=')}` : op === '!~' ? `NOT ${someElement('=~')}` : someElement(op);
  const exact = `CASE WHEN x.type = 5 THEN ${array} ELSE ${attributeSql('x', op, value)} END`;
  const nested = `(x.type = 5 AND strpos(substr(x.str, 16), '"arrayValue"') > 0)`;
  if (undecided === undefined) return test(`${nested} OR (${exact})`);
  undecided.add(test(nested));
  return test(exact);
}

/**
 * An array attribute's elements (kept as OTLP/JSON text: any-value-json.ts) as ATTRS structs. A
 * nested array or list keeps its type and no value: such rows are `undecided`.
 */
function arrayElements(l: string): string {
  const has = (field: string) => `json_exists(e, '$.${field}')`;
  return (
    `list_transform(CAST(json_extract((${l}).str, '$.arrayValue.values') AS JSON[]), lambda e: {` +
    `'type': (CASE WHEN ${has('stringValue')} THEN 1 WHEN ${has('boolValue')} THEN 2 WHEN ${has('intValue')} THEN 3 WHEN ${has('doubleValue')} THEN 4 ` +
    `WHEN ${has('arrayValue')} THEN 5 WHEN ${has('kvlistValue')} THEN 6 WHEN ${has('bytesValue')} THEN 7 ELSE 0 END)::UTINYINT, ` +
    `'str': e->>'$.stringValue', 'int': TRY_CAST(e->>'$.intValue' AS BIGINT), 'dbl': TRY_CAST(e->>'$.doubleValue' AS DOUBLE), ` +
    `'bool': TRY_CAST(e->>'$.boolValue' AS BOOLEAN)})`
  );
}

/** The element the engine picks as a list of at most one (empty when there is none), or null when `opts.absent` says none has it. */
function elementList(field: Extract<FetchField, { type: 'attribute' }>, opts: CompileOptions): string | null {
  const first = (scope: 'span' | 'resource' | 'instrumentation') =>
    opts.absent?.(scope, field.name) === true ? null : `list_filter(${LIST_OF[scope]}, lambda a: a.key = ${sqlString(field.name)})[1:1]`;
  if (field.scope !== 'none') return first(field.scope);
  const span = first('span');
  const resource = first('resource');
  if (span === null || resource === null) return span ?? resource;
  // The span's attribute, else the resource's (an empty value counts as absent).
  return `list_concat(list_filter(${span}, lambda x: coalesce(x.type, 0) <> 0), ${resource})[1:1]`;
}

/** The attribute element the engine picks (the first with the key), as a STRUCT of the attrs list, or NULL. */
export function attributeLookup(field: Extract<FetchField, { type: 'attribute' }>, opts: CompileOptions = {}): string {
  return lookup(field, opts) ?? `NULL::${ATTRS_TYPE.slice(0, -2)}`;
}

/** attributeLookup, or null when `opts.absent` says no row has the attribute in any scope it is read from. */
function lookup(field: Extract<FetchField, { type: 'attribute' }>, opts: CompileOptions): string | null {
  const first = (scope: 'span' | 'resource' | 'instrumentation') =>
    opts.absent?.(scope, field.name) === true ? null : `list_filter(${LIST_OF[scope]}, lambda a: a.key = ${sqlString(field.name)})[1]`;
  if (field.scope !== 'none') return first(field.scope);
  // The span's attribute, else the resource's (an empty value counts as absent).
  const span = first('span');
  const resource = first('resource');
  if (span === null || resource === null) return span ?? resource;
  return `CASE WHEN coalesce((${span}).type, 0) <> 0 THEN ${span} ELSE ${resource} END`;
}

const LIST_OF = { span: 'attrs', resource: 'resource_attrs', instrumentation: 'scope_attrs' } as const;
/** Lists are only ever read through these. */
const LIST_READ = /\blist_filter\(/;

function numberSql(v: Val): string | null {
  if (v.t === 'int' || v.t === 'duration') return `${v.v}`;
  if (v.t !== 'float' || Number.isNaN(v.v)) return null;
  if (v.v === Infinity) return `'inf'::DOUBLE`;
  if (v.v === -Infinity) return `'-inf'::DOUBLE`;
  return `${v.v}::DOUBLE`;
}

function stringSql(column: string, op: string, v: Val): string {
  if (v.t !== 'string') return 'FALSE';
  if (op === '=~') return regexSql(column, v.v);
  if (op === '!~') return `NOT ${regexSql(column, v.v)}`;
  return `${column} ${SQL_OP[op]} ${sqlString(v.v)}`;
}

/** A full match, its literal prefix tested first (DuckDB runs the regex only on rows the prefix keeps). */
function regexSql(column: string, pattern: string): string {
  const { prefix } = literalPrefix(pattern);
  const full = `regexp_full_match(${column}, ${sqlString(pattern)})`;
  return prefix === '' ? full : `(starts_with(${column}, ${sqlString(prefix)}) AND ${full})`;
}

/** An integer column against a number: as integers, unless the literal is a float. */
function integerSql(column: string, op: string, v: Val): string {
  const n = numberSql(v);
  if (n === null || !(op in SQL_OP)) return 'FALSE';
  return v.t === 'float' ? `${column}::DOUBLE ${SQL_OP[op]} ${n}` : `${column} ${SQL_OP[op]} ${n}`;
}

function intrinsicSql(name: SpanIntrinsic, op: string, v: Val): string {
  // Intrinsics always exist, but for event:name, which a span without events lacks:
  // `!= nil` holds where they exist, any other comparison with nil does not.
  if (v.t === 'nil') return op !== '!=' ? 'FALSE' : name === 'event:name' ? 'len(events) > 0' : 'TRUE';
  switch (name) {
    case 'name':
      return stringSql('name', op, v);
    case 'statusMessage':
      return stringSql('status_message', op, v);
    case 'instrumentation:name':
      return stringSql('scope_name', op, v);
    case 'instrumentation:version':
      return stringSql('scope_version', op, v);
    case 'event:name':
      return `len(list_filter(events, lambda ev: coalesce(${stringSql('ev.name', op, v)}, FALSE))) > 0`;
    case 'duration':
      return v.t === 'int' || v.t === 'duration' || v.t === 'float' ? integerSql('duration_nano', op, v) : 'FALSE';
    case 'status':
      return v.t === 'status' && (op === '=' || op === '!=') ? `status_code ${SQL_OP[op]} ${STATUS_CODE[v.v]}` : 'FALSE';
    case 'kind':
      return v.t === 'kind' && (op === '=' || op === '!=') ? `kind ${SQL_OP[op]} ${KIND_CODE[v.v]}` : 'FALSE';
  }
}

/** `l` is an ATTRS element (or NULL); its `type` is the OTLP AnyValue field number (schema.ts ValueType). */
function attributeSql(l: string, op: string, v: Val): string {
  if (v.t === 'nil') return op === '!=' ? `coalesce((${l}).type, 0) <> 0` : 'FALSE';
  if (v.t === 'string') return `(${l}).type = 1 AND ${stringSql(`(${l}).str`, op, v)}`;
  if (v.t === 'bool') return op === '=' || op === '!=' ? `(${l}).type = 2 AND (${l}).bool ${SQL_OP[op]} ${v.v}` : 'FALSE';
  if (v.t === 'int' || v.t === 'duration' || v.t === 'float') {
    const n = numberSql(v);
    if (n === null || !(op in SQL_OP)) return 'FALSE';
    return `(((${l}).type = 3 AND ${integerSql(`(${l}).int`, op, v)}) OR ((${l}).type = 4 AND NOT isnan((${l}).dbl) AND (${l}).dbl ${SQL_OP[op]} ${n}))`;
  }
  // Attributes never hold statuses or kinds: such comparisons are false, as in the engine.
  return 'FALSE';
}
