// The equivalence test's reference evaluator, held to the semantics it stands for on
// hand-made spans: when it is wrong, every API looks wrong, so it gets its own checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValid, matches, printCondition, type Condition, type Field, type Literal, type Op } from './reference.js';
import type { RefSpan, RefValue } from './workload.js';

const TWO_53 = 2n ** 53n;

function span(over: Partial<RefSpan> = {}): RefSpan {
  return {
    seq: 1,
    spanId: '0000000000000001',
    traceIndex: 0,
    name: 'alpha',
    kind: 2,
    statusCode: 2,
    statusMessage: '',
    durationNanos: TWO_53 + 1n,
    scopeName: '',
    scopeVersion: '1.10.0',
    scopeAttrs: new Map(),
    spanAttrs: new Map(),
    resourceAttrs: new Map(),
    events: [],
    ...over,
  };
}

const attrs = (o: Record<string, RefValue>): Map<string, RefValue> => new Map(Object.entries(o));
const s = (v: string): RefValue => ({ t: 'string', v });
const i = (v: bigint): RefValue => ({ t: 'int', v });
const d = (v: number): RefValue => ({ t: 'double', v });
const f = (scope: 'span' | 'resource' | 'none' | 'event', name: string): Field => ({ type: 'attribute', scope, name });
const c = (field: Field, op: Op, lit: Literal): Condition => ({ type: 'cmp', field, op, lit });
const str = (v: string): Literal => ({ t: 'string', v });
const int = (v: bigint): Literal => ({ t: 'int', v });
const flt = (text: string): Literal => ({ t: 'float', v: Number(text), text });
const NIL: Literal = { t: 'nil' };

function check(sp: RefSpan, cases: Array<[Condition, boolean]>): void {
  for (const [cond, want] of cases) assert.equal(matches(cond, sp), want, printCondition(cond));
}

test('missing attributes and mismatched types compare false, `!=` included; `!= nil` tests existence', () => {
  const sp = span({ spanAttrs: attrs({ x: s('5') }) });
  check(sp, [
    [c(f('span', 'y'), '=', int(5n)), false],
    [c(f('span', 'y'), '!=', int(5n)), false],
    [c(f('span', 'y'), '<', int(5n)), false],
    [c(f('span', 'y'), '!~', str('.*')), false],
    [c(f('span', 'y'), '!=', NIL), false],
    [c(f('span', 'x'), '!=', NIL), true],
    [c(f('span', 'x'), '!=', int(5n)), false],
    [c(f('span', 'x'), '=', int(5n)), false],
    [c(f('span', 'x'), '!=', str('6')), true],
    [c(f('span', 'x'), '!=', { t: 'status', v: 'error' }), false],
  ]);
});

test('numbers: integers exactly, a double involved as doubles, NaN ordered with nothing', () => {
  const sp = span({ spanAttrs: attrs({ big: i(TWO_53 + 1n), seven: d(7), nan: d(NaN) }) });
  check(sp, [
    [c(f('span', 'big'), '=', int(TWO_53)), false],
    [c(f('span', 'big'), '>', int(TWO_53)), true],
    [c(f('span', 'big'), '=', flt('9007199254740992.0')), true],
    [c(f('span', 'seven'), '=', int(7n)), true],
    [c(f('span', 'seven'), '<', { t: 'duration', v: 8n, text: '8ns' }), true],
    [c(f('span', 'nan'), '!=', int(7n)), false],
    [c(f('span', 'nan'), '=', flt('1.5')), false],
    [c({ type: 'intrinsic', name: 'duration' }, '>', { t: 'duration', v: TWO_53, text: '9007199254740992ns' }), true],
  ]);
});

test('arrays hold an operator when an element does; `!=` and `!~` negate `=` and `=~` over the array', () => {
  const sp = span({ spanAttrs: attrs({ arr: { t: 'array', v: [s('alpha'), s('beta')] }, none: { t: 'array', v: [] } }) });
  check(sp, [
    [c(f('span', 'arr'), '=', str('beta')), true],
    [c(f('span', 'arr'), '!=', str('beta')), false],
    [c(f('span', 'arr'), '!=', str('gamma')), true],
    [c(f('span', 'arr'), '!=', int(1n)), true],
    [c(f('span', 'arr'), '<', str('b')), true],
    [c(f('span', 'arr'), '=~', str('be.*')), true],
    [c(f('span', 'arr'), '!~', str('be.*')), false],
    [c(f('span', 'none'), '=', str('alpha')), false],
    [c(f('span', 'none'), '!=', str('alpha')), true],
    [c(f('span', 'none'), '!=', NIL), true],
  ]);
});

test('regexes match the whole value; strings order by code unit', () => {
  const sp = span({ spanAttrs: attrs({ x: s('alpha'), y: s('abeta') }) });
  check(sp, [
    [c(f('span', 'x'), '=~', str('alph')), false],
    [c(f('span', 'x'), '=~', str('a|beta')), false],
    [c(f('span', 'y'), '=~', str('a|beta')), false],
    [c(f('span', 'x'), '!~', str('a.*')), false],
    [c(f('span', 'x'), '>', str('Alpha')), true],
    [c({ type: 'intrinsic', name: 'instrumentation:version' }, '<', str('1.9')), true],
  ]);
});

test('the unscoped attribute is the span\'s when it has one, else the resource\'s', () => {
  const both = span({ spanAttrs: attrs({ env: s('canary') }), resourceAttrs: attrs({ env: s('prod') }) });
  const resourceOnly = span({ resourceAttrs: attrs({ env: s('prod') }) });
  check(both, [
    [c(f('none', 'env'), '=', str('prod')), false],
    [c(f('none', 'env'), '=', str('canary')), true],
    [c(f('resource', 'env'), '=', str('prod')), true],
  ]);
  check(resourceOnly, [[c(f('none', 'env'), '=', str('prod')), true], [c(f('span', 'env'), '!=', NIL), false]]);
});

test('event terms hold on one and the same event', () => {
  const sp = span({ events: [{ name: 'retry', attrs: attrs({ code: i(1n) }) }, { name: 'exception', attrs: attrs({ code: i(3n) }) }] });
  const ev = (name: string): Condition => c({ type: 'intrinsic', name: 'event:name' }, '=', str(name));
  check(sp, [
    [{ type: 'and', lhs: ev('retry'), rhs: c(f('event', 'code'), '=', int(1n)) }, true],
    [{ type: 'and', lhs: ev('retry'), rhs: c(f('event', 'code'), '=', int(3n)) }, false],
    [{ type: 'or', lhs: ev('nothing'), rhs: c({ type: 'intrinsic', name: 'status' }, '=', { t: 'status', v: 'error' }) }, true],
  ]);
  check(span(), [[c({ type: 'intrinsic', name: 'event:name' }, '!=', NIL), false]]);
});

test('TraceQL refuses mismatched intrinsics, operators a literal type lacks, and `= nil`', () => {
  const name: Field = { type: 'intrinsic', name: 'name' };
  const dur: Field = { type: 'intrinsic', name: 'duration' };
  assert.equal(isValid(c(name, '=', int(5n))), false);
  assert.equal(isValid(c(dur, '<', flt('1.5'))), true);
  assert.equal(isValid(c(dur, '=~', str('1s'))), false);
  assert.equal(isValid(c(f('span', 'x'), '<', { t: 'bool', v: true })), false);
  assert.equal(isValid(c(f('span', 'x'), '=', { t: 'status', v: 'ok' })), true);
  assert.equal(isValid(c(f('span', 'x'), '=', NIL)), false);
  assert.equal(isValid(c(name, '!=', NIL)), true);
});
