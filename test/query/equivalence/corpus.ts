// The equivalence test's conditions: every operator against every intrinsic a single
// span has and against attributes of every type in every scope, each with literals
// of its own type and of others; `!= nil` on each field; a few conditions written
// literal-first; a few that TraceQL refuses; and `&&` / `||` combinations. The same
// list on every run.
import { OPS, isValid, printCondition, type Condition, type Field, type Literal, type Op } from './reference.js';

const TWO_53 = 2n ** 53n;

const str = (v: string): Literal => ({ t: 'string', v });
const int = (v: bigint): Literal => ({ t: 'int', v });
const float = (text: string): Literal => ({ t: 'float', v: Number(text), text });
const dur = (text: string, v: bigint): Literal => ({ t: 'duration', v, text });
const bool = (v: boolean): Literal => ({ t: 'bool', v });

/** Literals a field is compared with: its own type first (`home`), then others (`cross`), and the regexes for `=~` / `!~`. */
interface Family {
  home: Literal[];
  cross: Literal[];
  regex: string[];
}

const STRING_CROSS = [int(10n), float('7.0'), bool(true), { t: 'status', v: 'error' } as Literal];
const NUMBER_CROSS = [str('7'), str('alpha'), bool(true), dur('42ns', 42n)];

const FAMILIES: Record<string, Family> = {
  string: {
    home: [str('alpha'), str('beta'), str(''), str('b'), str('Alpha'), str('10'), str('zzz')],
    cross: STRING_CROSS,
    regex: ['alpha.*', 'a|beta', '[a-z]+', '.*a', 'alph', ''],
  },
  env: {
    home: [str('prod'), str('dev'), str('canary'), str('q'), str('staging')],
    cross: [int(3n), bool(false), { t: 'kind', v: 'server' }],
    regex: ['pro.*', 'dev|staging', 'prod|canary|dev'],
  },
  int: {
    home: [int(7n), int(0n), int(-5n), int(42n), int(TWO_53), int(TWO_53 + 1n), int(9223372036854775807n), float('41.5'), float('7.0'), float('-2.5')],
    cross: [...NUMBER_CROSS, dur('1s', 1_000_000_000n)],
    regex: ['7', '.*'],
  },
  lvl: {
    home: [int(3n), int(1n), int(0n), float('2.5'), int(9n)],
    cross: [str('3'), bool(true)],
    regex: ['3'],
  },
  double: {
    home: [float('-2.5'), float('0.25'), float('7.0'), int(7n), int(0n), float('41.95'), float('1.5'), int(42n), float('-0.5')],
    cross: [...NUMBER_CROSS, dur('1ns', 1n)],
    regex: ['7', '.*'],
  },
  bool: {
    home: [bool(true), bool(false)],
    cross: [str('true'), int(1n), float('1.0')],
    regex: ['true'],
  },
  mixed: {
    home: [str('7'), int(7n), float('7.0'), bool(true), str('alpha'), float('-2.5'), int(42n)],
    cross: [{ t: 'status', v: 'ok' }],
    regex: ['7', 'alpha|7', '.*'],
  },
  stringArray: {
    home: [str('alpha'), str('beta'), str('gamma'), str('x'), str('b')],
    cross: [int(1n), bool(true)],
    regex: ['alpha.*', 'x|beta', '.*'],
  },
  intArray: {
    home: [int(7n), int(1n), int(3n), int(-5n), int(100n), float('2.5')],
    cross: [str('7'), bool(false)],
    regex: ['7', '.*'],
  },
  opaque: {
    home: [str('abc'), int(1n)],
    cross: [bool(true)],
    regex: ['.*'],
  },
  missing: {
    home: [str('alpha'), int(0n), float('0.0')],
    cross: [bool(false)],
    regex: ['.*'],
  },
  name: {
    home: [str('db.query'), str('GET /api/users'), str('Render'), str('GET'), str('cache.get'), str('a')],
    cross: [],
    regex: ['GET .*', '.*query', 'db[.].*|cache[.].*', 'Render', 'GET'],
  },
  statusMessage: {
    home: [str(''), str('timeout'), str('Timeout'), str('card declined'), str('m')],
    cross: [],
    regex: ['[Tt]imeout', '.*', 'card.*', ''],
  },
  scopeName: {
    home: [str('io.skein.http'), str(''), str('legacy'), str('io.skein.db'), str('j')],
    cross: [],
    regex: ['io[.]skein[.].*', 'legacy|', '.+'],
  },
  scopeVersion: {
    home: [str('1.10.0'), str('1.9'), str(''), str('2.0'), str('1.5')],
    cross: [],
    regex: ['1[.].*', '2[.]0|', '[0-9.]+'],
  },
  duration: {
    home: [
      dur('0ns', 0n),
      dur('1ms', 1_000_000n),
      dur('1.5ms', 1_500_000n),
      dur('1us', 1000n),
      dur('42ns', 42n),
      dur('1s', 1_000_000_000n),
      dur('9007199254740992ns', TWO_53),
      dur('9007199254740993ns', TWO_53 + 1n),
      int(1000n),
      float('999.5'),
      dur('250ms', 250_000_000n),
    ],
    cross: [str('1s'), bool(true)],
    regex: ['1s'],
  },
  status: {
    home: [{ t: 'status', v: 'error' }, { t: 'status', v: 'ok' }, { t: 'status', v: 'unset' }],
    cross: [int(2n), str('error'), { t: 'kind', v: 'server' }],
    regex: ['error'],
  },
  kind: {
    home: (['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const).map((v): Literal => ({ t: 'kind', v })),
    cross: [int(2n), str('server'), { t: 'status', v: 'ok' }],
    regex: ['server'],
  },
  eventName: {
    home: [str('exception'), str('retry'), str('cache.miss'), str('f')],
    cross: [int(1n)],
    regex: ['retry|exception', 'cache[.].*', '.*'],
  },
  eventCode: {
    home: [int(3n), int(500n), int(1n), float('2.5')],
    cross: [str('3')],
    regex: ['3'],
  },
};

const attr = (scope: 'span' | 'resource' | 'none' | 'instrumentation' | 'event', name: string): Field => ({ type: 'attribute', scope, name });
const intrinsic = (name: Extract<Field, { type: 'intrinsic' }>['name']): Field => ({ type: 'intrinsic', name });

/** Operators a field is swept with (each with one literal, plus `!= nil`): all of them where the type is the point, fewer where the scope is. */
const ALL = OPS;
const SOME: readonly Op[] = ['=', '!=', '<', '>=', '=~', '!~'];
const FEW: readonly Op[] = ['=', '!=', '<', '!~'];

/** Each field, the literals it meets, its operators, and whether it also meets literals of other types. */
const FIELDS: Array<{ field: Field; fam: string; ops: readonly Op[]; cross?: boolean }> = [
  { field: intrinsic('name'), fam: 'name', ops: ALL },
  { field: intrinsic('statusMessage'), fam: 'statusMessage', ops: SOME },
  { field: intrinsic('status'), fam: 'status', ops: ALL },
  { field: intrinsic('kind'), fam: 'kind', ops: ALL },
  { field: intrinsic('duration'), fam: 'duration', ops: ALL },
  { field: intrinsic('instrumentation:name'), fam: 'scopeName', ops: SOME },
  { field: intrinsic('instrumentation:version'), fam: 'scopeVersion', ops: SOME },
  { field: intrinsic('event:name'), fam: 'eventName', ops: SOME },
  // Every type, as a span attribute.
  { field: attr('span', 's'), fam: 'string', ops: ALL, cross: true },
  { field: attr('span', 'i'), fam: 'int', ops: ALL, cross: true },
  { field: attr('span', 'd'), fam: 'double', ops: ALL, cross: true },
  { field: attr('span', 'b'), fam: 'bool', ops: FEW, cross: true },
  { field: attr('span', 'sarr'), fam: 'stringArray', ops: ALL, cross: true },
  { field: attr('span', 'iarr'), fam: 'intArray', ops: SOME, cross: true },
  { field: attr('span', 'm'), fam: 'mixed', ops: ALL, cross: true },
  { field: attr('span', 'raw'), fam: 'opaque', ops: FEW },
  { field: attr('span', 'e'), fam: 'missing', ops: FEW },
  // The other scopes, over the types they hold.
  { field: attr('resource', 'service.name'), fam: 'string', ops: SOME },
  { field: attr('resource', 'env'), fam: 'env', ops: FEW },
  { field: attr('resource', 'lvl'), fam: 'lvl', ops: FEW },
  { field: attr('resource', 'rdbl'), fam: 'double', ops: SOME, cross: true },
  { field: attr('resource', 'rbool'), fam: 'bool', ops: FEW, cross: true },
  { field: attr('resource', 'rarr'), fam: 'stringArray', ops: SOME },
  { field: attr('none', 'env'), fam: 'env', ops: SOME, cross: true },
  { field: attr('none', 'i'), fam: 'int', ops: SOME },
  { field: attr('none', 's'), fam: 'string', ops: FEW },
  { field: attr('none', 'rint'), fam: 'int', ops: FEW },
  { field: attr('none', 'nope'), fam: 'missing', ops: FEW },
  { field: attr('instrumentation', 'lib.s'), fam: 'string', ops: SOME },
  { field: attr('instrumentation', 'lib.i'), fam: 'int', ops: FEW },
  { field: attr('event', 'code'), fam: 'eventCode', ops: SOME },
];

const applies = (op: Op, l: Literal): boolean => op === '=' || op === '!=' || (l.t !== 'bool' && l.t !== 'status' && l.t !== 'kind');

/** One comparison per operator, its literal taken in turn from the field's own type; `!= nil`; and, with `cross`, `=` and `!=` against other types. */
function sweep(spec: (typeof FIELDS)[number], n: number): Condition[] {
  const fam = FAMILIES[spec.fam]!;
  const out: Condition[] = [];
  spec.ops.forEach((op, k) => {
    const pool = op === '=~' || op === '!~' ? fam.regex.map(str) : fam.home.filter((l) => applies(op, l));
    // The first literal, from the turn on, that makes a condition TraceQL accepts.
    for (let j = 0; j < pool.length; j++) {
      const c: Condition = { type: 'cmp', field: spec.field, op, lit: pool[(n + k + j) % pool.length]! };
      if (isValid(c)) {
        out.push(c);
        break;
      }
    }
  });
  if (spec.cross) {
    const cross = fam.cross;
    out.push({ type: 'cmp', field: spec.field, op: '=', lit: cross[n % cross.length]! });
    out.push({ type: 'cmp', field: spec.field, op: '!=', lit: cross[(n + 1) % cross.length]! });
  }
  out.push({ type: 'cmp', field: spec.field, op: '!=', lit: { t: 'nil' } });
  return out;
}

const cmp = (field: Field, op: Op, lit: Literal): Extract<Condition, { type: 'cmp' }> => ({ type: 'cmp', field, op, lit });

/** Comparisons where implementations are known to part: exactness past 2^53, NaN, int against double, arrays, empty values, scope precedence, anchoring. */
function edges(): Condition[] {
  const d = intrinsic('duration');
  const i = attr('span', 'i');
  return [
    cmp(d, '=', dur('9007199254740992ns', TWO_53)),
    cmp(d, '!=', dur('9007199254740993ns', TWO_53 + 1n)),
    cmp(d, '>', dur('9007199254740992ns', TWO_53)),
    cmp(d, '<=', dur('9007199254740992ns', TWO_53)),
    cmp(d, '>=', dur('1ms', 1_000_000n)),
    cmp(d, '<', int(1000n)),
    cmp(d, '>', float('41.5')),
    cmp(i, '=', int(TWO_53)),
    cmp(i, '!=', int(TWO_53 + 1n)),
    cmp(i, '<', int(TWO_53 + 1n)),
    cmp(i, '>=', int(9223372036854775807n)),
    cmp(i, '=', float('9007199254740992.0')),
    cmp(i, '>', dur('1s', 1_000_000_000n)),
    cmp(attr('none', 'i'), '=', int(TWO_53)),
    cmp(attr('span', 'd'), '!=', int(7n)),
    cmp(attr('span', 'd'), '=', int(7n)),
    cmp(attr('span', 'd'), '<', float('0.0')),
    cmp(attr('span', 'm'), '=', int(7n)),
    cmp(attr('span', 'm'), '=', str('7')),
    cmp(attr('span', 'm'), '!=', float('7.0')),
    cmp(attr('span', 'm'), '>', str('7')),
    cmp(attr('span', 'e'), '=', str('')),
    cmp(attr('span', 'sarr'), '!=', str('alpha')),
    cmp(attr('span', 'sarr'), '!~', str('alpha.*')),
    cmp(attr('span', 'iarr'), '!=', str('7')),
    cmp(attr('resource', 'rarr'), '!=', str('eu')),
    cmp(attr('none', 'env'), '=', str('prod')),
    cmp(attr('none', 'lvl'), '>=', int(3n)),
    cmp(attr('none', 's'), '=', str('beta')),
    cmp(intrinsic('name'), '=~', str('GET')),
    cmp(attr('span', 's'), '=~', str('a|beta')),
    cmp(intrinsic('statusMessage'), '=', str('')),
    cmp(intrinsic('instrumentation:name'), '=', str('')),
    cmp(intrinsic('instrumentation:version'), '<', str('1.5')),
    // Every status and kind, not only the ones the sweep's turn picks.
    ...(['unset', 'ok', 'error'] as const).map((v) => cmp(intrinsic('status'), '=', { t: 'status', v })),
    ...(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const).map((v) => cmp(intrinsic('kind'), '=', { t: 'kind', v })),
    cmp(intrinsic('kind'), '!=', { t: 'kind', v: 'unspecified' }),
  ];
}

/** Conditions TraceQL refuses: search and metrics must answer 400 (tag values, as autocomplete, ignore a bad q). */
function refusals(): Condition[] {
  return [
    cmp(intrinsic('name'), '=', int(5n)),
    cmp(intrinsic('duration'), '=', str('1s')),
    cmp(intrinsic('status'), '=', int(2n)),
    cmp(intrinsic('status'), '<', { t: 'status', v: 'error' }),
    cmp(intrinsic('kind'), '=', { t: 'status', v: 'ok' }),
    cmp(attr('span', 'b'), '<', bool(true)),
    cmp(attr('span', 'i'), '=~', int(7n)),
    cmp(attr('span', 's'), '=', { t: 'nil' }),
    cmp(intrinsic('name'), '=', { t: 'nil' }),
    cmp(attr('span', 's'), '<', { t: 'nil' }),
  ];
}

/** Comparisons written literal-first (`7 < span.i`), `!=` among them. */
function flipped(): Condition[] {
  return [
    { ...cmp(attr('span', 'i'), '<', int(7n)), flipped: true },
    { ...cmp(attr('span', 'd'), '>=', float('0.25')), flipped: true },
    { ...cmp(attr('resource', 's'), '!=', str('zzz')), flipped: true },
    { ...cmp(attr('none', 'i'), '!=', int(TWO_53)), flipped: true },
    { ...cmp(intrinsic('duration'), '>', dur('1ms', 1_000_000n)), flipped: true },
    { ...cmp(intrinsic('name'), '<=', str('Render')), flipped: true },
    { ...cmp(intrinsic('status'), '=', { t: 'status', v: 'error' }), flipped: true },
    { ...cmp(attr('span', 'iarr'), '>=', int(-5n)), flipped: true },
  ];
}

/** `&&` and `||` of comparisons of the sweep, chosen by a fixed stride so the pairs vary in fields and types. */
function combinations(leaves: readonly Condition[]): Condition[] {
  const out: Condition[] = [];
  const n = leaves.length;
  for (let k = 0; k < 10; k++) {
    out.push({ type: k % 2 === 0 ? 'and' : 'or', lhs: leaves[(k * 37) % n]!, rhs: leaves[(k * 53 + 11) % n]! });
  }
  out.push({ type: 'and', lhs: { type: 'or', lhs: leaves[5]!, rhs: leaves[77 % n]! }, rhs: leaves[130 % n]! });
  out.push({ type: 'and', lhs: leaves[40 % n]!, rhs: { type: 'and', lhs: leaves[95 % n]!, rhs: leaves[160 % n]! } });
  // Event terms must hold on one and the same event; an event term with a span term.
  const ev = (name: string): Condition => cmp(intrinsic('event:name'), '=', str(name));
  out.push({ type: 'and', lhs: ev('retry'), rhs: cmp(attr('event', 'code'), '=', int(3n)) });
  out.push({ type: 'and', lhs: ev('exception'), rhs: cmp(attr('event', 'code'), '>', int(1n)) });
  out.push({ type: 'or', lhs: ev('cache.miss'), rhs: cmp(attr('span', 'b'), '=', bool(true)) });
  out.push({ type: 'and', lhs: ev('retry'), rhs: cmp(intrinsic('status'), '=', { t: 'status', v: 'error' }) });
  return out;
}

export function buildCorpus(): Condition[] {
  const swept = FIELDS.flatMap((spec, n) => sweep(spec, n));
  const all = [...swept, ...edges(), ...flipped(), ...refusals(), ...combinations(swept)];
  // Each condition once: an edge the sweep happened to pick is not asked twice.
  return [...new Map(all.map((c) => [printCondition(c), c])).values()];
}
