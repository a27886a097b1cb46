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
import type { Condition, FetchField, SpanFilter, SpanIntrinsic } from '../fetch/request.js';
import type { Val } from '../fetch/values.js';
import { sqlString } from './schema.js';

export interface CompiledFilter {
  /** A BOOLEAN, never NULL, over one span row. */
  sql: string;
  /** Rows `sql` may misjudge (array values of a referenced attribute), or null for none. */
  undecided: string | null;
  /** False when `sql` may misjudge rows `undecided` does not name. */
  exact: boolean;
}

const STATUS_CODE: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_CODE: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const SQL_OP: Record<string, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** The filter as SQL; `TRUE` for null (every span). */
export function compileSpanFilter(filter: SpanFilter | null): CompiledFilter {
  if (filter === null) return { sql: 'TRUE', undecided: null, exact: true };
  const undecided = new Set<string>();
  let eventConditions = 0;
  const walk = (f: SpanFilter): string => {
    if (f.type === 'condition') {
      if (f.condition.field.type === 'intrinsic' && f.condition.field.name === 'event:name') eventConditions++;
      return conditionSql(f.condition, undecided);
    }
    if (f.args.length === 0) return f.type === 'and' ? 'TRUE' : 'FALSE';
    return `(${f.args.map(walk).join(f.type === 'and' ? ' AND ' : ' OR ')})`;
  };
  const sql = walk(filter);
  return { sql, undecided: undecided.size > 0 ? [...undecided].join(' OR ') : null, exact: eventConditions <= 1 };
}

/** `sql OR undecided`: true of every row that may meet the filter (for narrowing, never for answers). */
export function mayMatchSql(c: CompiledFilter): string {
  return c.undecided === null ? c.sql : `(${c.sql} OR ${c.undecided})`;
}

/** One condition, never NULL. Array-valued attributes it looks at are added to `undecided`. */
export function conditionSql(c: Condition, undecided: Set<string>): string {
  const { field, op, value } = c;
  if (field.type === 'intrinsic') return `coalesce(${intrinsicSql(field.name, op, value)}, FALSE)`;
  // resource.service.name has a column of its own (its string value).
  if (field.scope === 'resource' && field.name === 'service.name' && value.t === 'string' && op !== '=~' && op !== '!~') {
    return `coalesce(service_name ${SQL_OP[op]} ${sqlString(value.v)}, FALSE)`;
  }
  const l = attributeLookup(field);
  if (value.t === 'nil') return `coalesce(${attributeSql(l, op, value)}, FALSE)`;
  undecided.add(`coalesce((${l}).type = 5 AND strpos(substr((${l}).str, 16), '"arrayValue"') > 0, FALSE)`);
  // An array compares element by element: some element holds; `!=` and `!~` hold when no element is `=` / `=~`.
  const someElement = (elementOp: string) => `len(list_filter(${arrayElements(l)}, lambda x: coalesce(${attributeSql('x', elementOp, value)}, FALSE))) > 0`;
  const array = op === '!=' ? `NOT ${someElement('=')}` : op === '!~' ? `NOT ${someElement('=~')}` : someElement(op);
  return `coalesce(CASE WHEN (${l}).type = 5 THEN ${array} ELSE ${attributeSql(l, op, value)} END, FALSE)`;
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

/** The attribute element the engine picks (the first with the key), as a STRUCT of the attrs list, or NULL. */
export function attributeLookup(field: Extract<FetchField, { type: 'attribute' }>): string {
  const first = (column: string) => `list_filter(${column}, lambda a: a.key = ${sqlString(field.name)})[1]`;
  switch (field.scope) {
    case 'span':
      return first('attrs');
    case 'resource':
      return first('resource_attrs');
    case 'instrumentation':
      return first('scope_attrs');
    case 'none': {
      // The span's attribute, else the resource's (an empty value counts as absent).
      const span = first('attrs');
      return `CASE WHEN coalesce((${span}).type, 0) <> 0 THEN ${span} ELSE ${first('resource_attrs')} END`;
    }
  }
}

function numberSql(v: Val): string | null {
  if (v.t === 'int' || v.t === 'duration') return `${v.v}`;
  if (v.t !== 'float' || Number.isNaN(v.v)) return null;
  if (v.v === Infinity) return `'inf'::DOUBLE`;
  if (v.v === -Infinity) return `'-inf'::DOUBLE`;
  return `${v.v}::DOUBLE`;
}

function stringSql(column: string, op: string, v: Val): string {
  if (v.t !== 'string') return 'FALSE';
  if (op === '=~') return `regexp_full_match(${column}, ${sqlString(v.v)})`;
  if (op === '!~') return `NOT regexp_full_match(${column}, ${sqlString(v.v)})`;
  return `${column} ${SQL_OP[op]} ${sqlString(v.v)}`;
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
