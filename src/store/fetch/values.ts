// Typed span values and TraceQL's comparison of them: one definition for the query
// engine (which evaluates whole traces) and the store (which matches conditions on
// the head's spans and compiles them to SQL for the blocks), so both agree.
// A missing attribute is `nil`, and every comparison with nil is false (only
// `!= nil` with a nil literal, an existence test, looks at it: existenceTest). Values of kinds that do not compare
// (string with number, status with kind, …) are simply unequal and unordered:
// `{ .x != 5 }` does not match a string `.x`.
import type { AnyValue, KeyValue, StoredSpan } from '../../otlp/model.js';
import { compileRe2, Re2SyntaxError, type Re2Pattern } from '../../regex/re2.js';
import type { KindValue, StatusValue } from './span-enums.js';

export type { KindValue, StatusValue };

export type Val =
  | { t: 'string'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'float'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'duration'; v: bigint }
  | { t: 'status'; v: StatusValue }
  | { t: 'kind'; v: KindValue }
  /** An array attribute: comparisons hold when they hold for an element. */
  | { t: 'array'; v: Val[] }
  /** Bytes and kvlist attributes: they exist, but compare with nothing. */
  | { t: 'opaque' }
  | { t: 'nil' };

export const NIL: Val = { t: 'nil' };

export const STATUS_BY_CODE: readonly StatusValue[] = ['unset', 'ok', 'error'];
export const KIND_BY_CODE: readonly KindValue[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export function fromAnyValue(a: AnyValue): Val {
  switch (a.type) {
    case 'string':
      return { t: 'string', v: a.value };
    case 'int':
      return { t: 'int', v: a.value };
    case 'double':
      return { t: 'float', v: a.value };
    case 'bool':
      return { t: 'bool', v: a.value };
    case 'array':
      return { t: 'array', v: a.value.map(fromAnyValue) };
    case 'bytes':
    case 'kvlist':
      return { t: 'opaque' };
    case 'empty':
      return NIL;
  }
}

export function isNumeric(v: Val): v is Extract<Val, { t: 'int' | 'float' | 'duration' }> {
  return v.t === 'int' || v.t === 'float' || v.t === 'duration';
}

/** -1, 0, 1, or undefined when the two do not compare. */
function order(a: Val, b: Val): number | undefined {
  if (isNumeric(a) && isNumeric(b)) {
    if (a.t !== 'float' && b.t !== 'float') return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
    const x = Number(a.v);
    const y = Number(b.v);
    if (Number.isNaN(x) || Number.isNaN(y)) return undefined;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.t === 'string' && b.t === 'string') return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  return undefined;
}

function equal(a: Val, b: Val): boolean {
  if (a.t === 'bool' && b.t === 'bool') return a.v === b.v;
  if ((a.t === 'status' && b.t === 'status') || (a.t === 'kind' && b.t === 'kind')) return a.v === b.v;
  return order(a, b) === 0;
}

function regexOf(pattern: string): Re2Pattern | undefined {
  try {
    return compileRe2(pattern);
  } catch (err) {
    if (err instanceof Re2SyntaxError) return undefined;
    throw err;
  }
}

/** `field != nil` with the nil literal `b` (either way round in the query): whether `a` exists. `= nil` never holds. */
export function existenceTest(op: CompareOp, a: Val): boolean {
  return op === '!=' && a.t !== 'nil';
}

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~';

export function compare(op: CompareOp, a: Val, b: Val): boolean {
  // Existence (`x != nil`) is tested where the literal is known (isExistenceTest): a missing value here compares false, `!=` too.
  if (a.t === 'nil' || b.t === 'nil') return false;
  if (a.t === 'array') return op === '!=' || op === '!~' ? !compare(op === '!=' ? '=' : '=~', a, b) : a.v.some((x) => compare(op, x, b));
  if (b.t === 'array') return op === '!=' || op === '!~' ? !compare(op === '!=' ? '=' : '=~', a, b) : b.v.some((x) => compare(op, a, x));
  switch (op) {
    case '=':
      return equal(a, b);
    case '!=': {
      // Unequal only when the two are of comparable kinds.
      const comparable = order(a, b) !== undefined || (a.t === b.t && (a.t === 'bool' || a.t === 'status' || a.t === 'kind'));
      return comparable && !equal(a, b);
    }
    case '=~':
    case '!~': {
      if (a.t !== 'string' || b.t !== 'string') return false;
      // Tempo's regexes are RE2 and fully anchored (DuckDB's regexp_full_match over blocks).
      // Validation refuses a bad literal; a pattern read from a span that RE2 refuses matches nothing.
      const re = regexOf(b.v);
      if (re === undefined) return false;
      const hit = re.testWhole(a.v);
      return op === '=~' ? hit : !hit;
    }
    default: {
      const o = order(a, b);
      if (o === undefined) return false;
      return op === '<' ? o < 0 : op === '<=' ? o <= 0 : op === '>' ? o > 0 : o >= 0;
    }
  }
}

export function toNumber(v: Val): number | undefined {
  return isNumeric(v) ? Number(v.v) : undefined;
}

/** The value of the first attribute with the key (the one TraceQL reads), nil when there is none. */
export function attributeValue(attrs: readonly KeyValue[], key: string): Val {
  for (const kv of attrs) if (kv.key === key) return fromAnyValue(kv.value);
  return NIL;
}

/** A span's attribute by scope; unscoped (`none`) is the span's, else the resource's. */
export function spanAttributeValue(s: StoredSpan, scope: 'span' | 'resource' | 'none' | 'instrumentation', key: string): Val {
  switch (scope) {
    case 'span':
      return attributeValue(s.span.attributes, key);
    case 'resource':
      return attributeValue(s.resource.attributes, key);
    case 'instrumentation':
      return attributeValue(s.scope.attributes, key);
    case 'none': {
      const v = attributeValue(s.span.attributes, key);
      return v.t !== 'nil' ? v : attributeValue(s.resource.attributes, key);
    }
  }
}
