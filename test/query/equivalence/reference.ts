// A brute-force reference for TraceQL span filters, written apart from src/query so
// that it can judge it: a condition, how it prints as TraceQL, whether TraceQL accepts
// it, and whether it holds for one span of the workload.
//
// The semantics (Tempo's, as Skein documents them):
// - a missing attribute compares false with everything; `x != nil` is the existence test;
// - values of kinds that do not compare (string with number, bool with string, status
//   with anything but a status, …) are neither equal nor unequal: `{ .x != 5 }` does not
//   match a string `.x`; a NaN double orders with nothing;
// - int, double and duration compare as numbers: two integers (ints, durations) exactly,
//   anything with a double as doubles;
// - strings compare lexicographically; `=~` and `!~` are RE2 regexes matched against the
//   whole value; both need a string on each side;
// - an array holds `op` when one of its elements does; `!=` and `!~` are the negations
//   of `=` and `=~` over the whole array;
// - the unscoped `.key` is the span's attribute when the span has it, else the resource's;
// - a filter over event fields holds when it holds for one event of the span, all its
//   event terms on that same event (a span without events is tested once, with none).
import type { RefSpan, RefValue } from './workload.js';

export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | '=~' | '!~';
export const OPS: readonly Op[] = ['=', '!=', '<', '<=', '>', '>=', '=~', '!~'];

export type IntrinsicName = 'name' | 'statusMessage' | 'status' | 'kind' | 'duration' | 'instrumentation:name' | 'instrumentation:version' | 'event:name';
export type Scope = 'span' | 'resource' | 'none' | 'instrumentation' | 'event';

export type Field = { type: 'intrinsic'; name: IntrinsicName } | { type: 'attribute'; scope: Scope; name: string };

export type Literal =
  | { t: 'string'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'float'; v: number; text: string }
  | { t: 'duration'; v: bigint; text: string }
  | { t: 'bool'; v: boolean }
  | { t: 'status'; v: 'unset' | 'ok' | 'error' }
  | { t: 'kind'; v: 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer' }
  | { t: 'nil' };

export type Condition =
  /** `field op literal`, or `literal op field` when flipped. */
  | { type: 'cmp'; field: Field; op: Op; lit: Literal; flipped?: boolean }
  | { type: 'and' | 'or'; lhs: Condition; rhs: Condition };

// ── printing ────────────────────────────────────────────────────────────────

export function printField(f: Field): string {
  if (f.type === 'intrinsic') return f.name;
  return f.scope === 'none' ? `.${f.name}` : `${f.scope}.${f.name}`;
}

export function printLiteral(l: Literal): string {
  switch (l.t) {
    case 'string':
      return JSON.stringify(l.v);
    case 'int':
      return l.v.toString();
    case 'float':
    case 'duration':
      return l.text;
    case 'bool':
    case 'status':
    case 'kind':
      return String(l.v);
    case 'nil':
      return 'nil';
  }
}

export function printCondition(c: Condition): string {
  if (c.type === 'cmp') {
    const f = printField(c.field);
    const l = printLiteral(c.lit);
    return c.flipped ? `${l} ${mirror(c.op)} ${f}` : `${f} ${c.op} ${l}`;
  }
  const side = (x: Condition): string => (x.type === 'cmp' ? printCondition(x) : `(${printCondition(x)})`);
  return `${side(c.lhs)} ${c.type === 'and' ? '&&' : '||'} ${side(c.rhs)}`;
}

/** The operator that says the same with its operands swapped. */
function mirror(op: Op): Op {
  return op === '<' ? '>' : op === '>' ? '<' : op === '<=' ? '>=' : op === '>=' ? '<=' : op;
}

// ── validity ────────────────────────────────────────────────────────────────

type StaticType = 'attribute' | 'string' | 'int' | 'float' | 'duration' | 'bool' | 'status' | 'kind' | 'nil';

const INTRINSIC_TYPE: Record<IntrinsicName, StaticType> = {
  name: 'string',
  statusMessage: 'string',
  'instrumentation:name': 'string',
  'instrumentation:version': 'string',
  'event:name': 'string',
  duration: 'duration',
  status: 'status',
  kind: 'kind',
};

const numeric = (t: StaticType): boolean => t === 'int' || t === 'float' || t === 'duration';
const ORDERED = new Set<Op>(['=', '!=', '<', '<=', '>', '>=']);
const opsOf = (t: StaticType): ReadonlySet<Op> =>
  t === 'attribute'
    ? new Set(OPS)
    : numeric(t)
      ? ORDERED
      : t === 'string'
        ? new Set(OPS)
        : new Set<Op>(['=', '!=']);

/**
 * Whether TraceQL runs the condition: the two sides' types must agree (an attribute agrees
 * with anything, numbers with numbers), the operator must apply to both, and `= nil` is
 * refused (for an intrinsic it never matches; for an attribute Tempo asks for `!(x != nil)`).
 */
export function isValid(c: Condition): boolean {
  if (c.type !== 'cmp') return isValid(c.lhs) && isValid(c.rhs);
  const ft: StaticType = c.field.type === 'intrinsic' ? INTRINSIC_TYPE[c.field.name] : 'attribute';
  const lt: StaticType = c.lit.t;
  if (lt === 'nil') return c.op === '!=';
  const agree = ft === 'attribute' || ft === lt || (numeric(ft) && numeric(lt));
  return agree && opsOf(ft).has(c.op) && opsOf(lt).has(c.op);
}

// ── evaluation ──────────────────────────────────────────────────────────────

type Value = RefValue | { t: 'duration'; v: bigint } | { t: 'status'; v: string } | { t: 'kind'; v: string };

const STATUS = ['unset', 'ok', 'error'];
const KIND = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

type Event = RefSpan['events'][number] | undefined;

function valueOf(f: Field, s: RefSpan, ev: Event): Value | undefined {
  if (f.type === 'intrinsic') {
    switch (f.name) {
      case 'name':
        return { t: 'string', v: s.name };
      case 'statusMessage':
        return { t: 'string', v: s.statusMessage };
      case 'instrumentation:name':
        return { t: 'string', v: s.scopeName };
      case 'instrumentation:version':
        return { t: 'string', v: s.scopeVersion };
      case 'event:name':
        return ev && { t: 'string', v: ev.name };
      case 'duration':
        return { t: 'duration', v: s.durationNanos };
      case 'status':
        return { t: 'status', v: STATUS[s.statusCode]! };
      case 'kind':
        return { t: 'kind', v: KIND[s.kind]! };
    }
  }
  switch (f.scope) {
    case 'span':
      return s.spanAttrs.get(f.name);
    case 'resource':
      return s.resourceAttrs.get(f.name);
    case 'none':
      return s.spanAttrs.get(f.name) ?? s.resourceAttrs.get(f.name);
    case 'instrumentation':
      return s.scopeAttrs.get(f.name);
    case 'event':
      return ev?.attrs.get(f.name);
  }
}

type Num = { int: bigint } | { dbl: number };

function asNumber(x: Value | Literal): Num | undefined {
  if (x.t === 'int' || x.t === 'duration') return { int: x.v };
  if (x.t === 'double' || x.t === 'float') return { dbl: x.v };
  return undefined;
}

/** -1, 0 or 1; undefined when the two do not order. */
function order(a: Value, b: Literal): number | undefined {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x && y) {
    if ('int' in x && 'int' in y) return x.int < y.int ? -1 : x.int > y.int ? 1 : 0;
    const p = 'int' in x ? Number(x.int) : x.dbl;
    const q = 'int' in y ? Number(y.int) : y.dbl;
    if (Number.isNaN(p) || Number.isNaN(q)) return undefined;
    return p < q ? -1 : p > q ? 1 : 0;
  }
  if (a.t === 'string' && b.t === 'string') return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  return undefined;
}

/** Whether `a` and `b` are of kinds that can be equal or unequal; then whether they are equal. */
function equality(a: Value, b: Literal): boolean | undefined {
  if ((a.t === 'bool' && b.t === 'bool') || (a.t === 'status' && b.t === 'status') || (a.t === 'kind' && b.t === 'kind')) return a.v === b.v;
  const o = order(a, b);
  return o === undefined ? undefined : o === 0;
}

/** RE2's whole-value match, for the plain patterns the corpus uses (JS reads them alike). */
function fullMatch(pattern: string, s: string): boolean {
  return new RegExp(`^(?:${pattern})$`, 'u').test(s);
}

export function compare(op: Op, a: Value | undefined, b: Literal): boolean {
  if (b.t === 'nil') return op === '!=' && a !== undefined;
  if (a === undefined) return false;
  if (a.t === 'array') {
    if (op === '!=') return !a.v.some((x) => compare('=', x, b));
    if (op === '!~') return !a.v.some((x) => compare('=~', x, b));
    return a.v.some((x) => compare(op, x, b));
  }
  switch (op) {
    case '=':
      return equality(a, b) === true;
    case '!=':
      return equality(a, b) === false;
    case '=~':
    case '!~':
      if (a.t !== 'string' || b.t !== 'string') return false;
      return fullMatch(b.v, a.v) === (op === '=~');
    default: {
      const o = order(a, b);
      if (o === undefined) return false;
      return op === '<' ? o < 0 : op === '<=' ? o <= 0 : op === '>' ? o > 0 : o >= 0;
    }
  }
}

function usesEvents(c: Condition): boolean {
  if (c.type !== 'cmp') return usesEvents(c.lhs) || usesEvents(c.rhs);
  return (c.field.type === 'intrinsic' && c.field.name === 'event:name') || (c.field.type === 'attribute' && c.field.scope === 'event');
}

function holds(c: Condition, s: RefSpan, ev: Event): boolean {
  if (c.type !== 'cmp') return c.type === 'and' ? holds(c.lhs, s, ev) && holds(c.rhs, s, ev) : holds(c.lhs, s, ev) || holds(c.rhs, s, ev);
  return compare(c.op, valueOf(c.field, s, ev), c.lit);
}

/** Whether the span matches `{ c }`. */
export function matches(c: Condition, s: RefSpan): boolean {
  const events: readonly Event[] = usesEvents(c) && s.events.length > 0 ? s.events : [undefined];
  return events.some((ev) => holds(c, s, ev));
}

/**
 * Whether tag values' `q` narrows by all of the condition: a conjunction of comparisons
 * on one span's own fields (Tempo's autocomplete leaves out `||`, and events are not a
 * span's own fields). Otherwise its answer may be a superset.
 */
export function tagValuesExact(c: Condition): boolean {
  if (c.type === 'or') return false;
  if (c.type === 'and') return tagValuesExact(c.lhs) && tagValuesExact(c.rhs);
  return !usesEvents(c);
}
