// The engine's side of TraceQL values: literals as values, arithmetic, grouping keys
// and how values are shown. What a value is and how two compare is the store's fetch
// layer's (store/fetch/values.ts), so conditions mean the same in both places.
import type { Static } from '../ast.js';
import { isNumeric, NIL, type Val } from '../../../store/fetch/values.js';

export { attributeValue, compare, existenceTest, fromAnyValue, spanAttributeValue, KIND_BY_CODE, NIL, STATUS_BY_CODE, toNumber, type CompareOp, type Val } from '../../../store/fetch/values.js';

export function fromStatic(s: Static): Val {
  switch (s.valueType) {
    case 'string':
      return { t: 'string', v: s.value };
    case 'int':
      return { t: 'int', v: s.value };
    case 'float':
      return { t: 'float', v: s.value };
    case 'bool':
      return { t: 'bool', v: s.value };
    case 'duration':
      return { t: 'duration', v: s.nanos };
    case 'status':
      return { t: 'status', v: s.value };
    case 'kind':
      return { t: 'kind', v: s.value };
    case 'nil':
      return NIL;
  }
}

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^';

/** Numbers only; nil otherwise. Integers stay integers except for `/` and `^`; a duration operand makes a duration. */
export function arith(op: ArithOp, a: Val, b: Val): Val {
  if (!isNumeric(a) || !isNumeric(b)) return NIL;
  const float = a.t === 'float' || b.t === 'float' || op === '/' || op === '^';
  if (float) {
    const x = Number(a.v);
    const y = Number(b.v);
    const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : op === '%' ? x % y : x ** y;
    return { t: 'float', v: r };
  }
  const x = a.v as bigint;
  const y = b.v as bigint;
  if ((op === '%') && y === 0n) return NIL;
  const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x % y;
  return { t: a.t === 'duration' || b.t === 'duration' ? 'duration' : 'int', v: r };
}


/** Grouping key for by(): equal values give equal keys. */
export function valKey(v: Val): string {
  switch (v.t) {
    case 'nil':
    case 'opaque':
      return v.t;
    case 'array':
      return `array:${v.v.map(valKey).join(',')}`;
    case 'int':
    case 'duration':
      return `num:${v.v}`;
    case 'float':
      return Number.isInteger(v.v) && Math.abs(v.v) < 2 ** 53 ? `num:${BigInt(v.v)}` : `num:${v.v}`;
    default:
      return `${v.t}:${String(v.v)}`;
  }
}

/** A value as an OTLP/JSON AnyValue (Tempo's search response attribute values). */
export function valToJson(v: Val): Record<string, unknown> | undefined {
  switch (v.t) {
    case 'string':
      return { stringValue: v.v };
    case 'int':
      return { intValue: v.v.toString() };
    case 'float':
      return { doubleValue: v.v };
    case 'bool':
      return { boolValue: v.v };
    case 'duration':
      return { stringValue: formatDuration(v.v) };
    case 'status':
    case 'kind':
      return { stringValue: v.v };
    case 'array':
      return { arrayValue: { values: v.v.map(valToJson).filter((x) => x !== undefined) } };
    default:
      return undefined;
  }
}

/** Go's time.Duration String(): `1.5s`, `250ms`, `1m30s`. */
export function formatDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const neg = nanos < 0n;
  let n = neg ? -nanos : nanos;
  let out: string;
  if (n < 1000n) out = `${n}ns`;
  else if (n < 1_000_000n) out = `${trim(Number(n) / 1e3)}µs`;
  else if (n < 1_000_000_000n) out = `${trim(Number(n) / 1e6)}ms`;
  else {
    const h = n / 3_600_000_000_000n;
    n -= h * 3_600_000_000_000n;
    const m = n / 60_000_000_000n;
    n -= m * 60_000_000_000n;
    const s = `${trim(Number(n) / 1e9)}s`;
    out = h > 0n ? `${h}h${m}m${s}` : m > 0n ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}
