// The equivalence test's workload: a seeded, deterministic set of traces whose spans
// cover every span kind and status code, durations from 0 to past 2^53 ns, several
// instrumentation scopes, and span, resource, scope and event attributes of every
// type (string, int, double, bool, arrays, bytes, an empty value, missing). Some keys
// are a span attribute on some spans and only a resource attribute on others, so the
// unscoped `.key` has to choose. Every span carries a unique `span.seq`, which makes
// the set of spans a query selects observable through search, metrics and tag values.
import type { AnyValue, KeyValue, ResourceSpans, Span } from '../../../src/otlp/model.js';
import { mulberry32 } from '../../../bench/prng.js';

const MS = 1_000_000n;
const S = 1_000_000_000n;
const TWO_53 = 2n ** 53n;

/** A value as the reference evaluator reads it; `undefined` is a missing attribute. */
export type RefValue =
  | { t: 'string'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'double'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'array'; v: RefValue[] }
  /** Bytes and kvlists: present, but equal or ordered to nothing. */
  | { t: 'opaque' };

export interface RefSpan {
  seq: number;
  /** 16 lowercase hex digits, as the search response shows it. */
  spanId: string;
  traceIndex: number;
  name: string;
  kind: number;
  statusCode: number;
  statusMessage: string;
  durationNanos: bigint;
  scopeName: string;
  scopeVersion: string;
  scopeAttrs: ReadonlyMap<string, RefValue>;
  spanAttrs: ReadonlyMap<string, RefValue>;
  resourceAttrs: ReadonlyMap<string, RefValue>;
  events: ReadonlyArray<{ name: string; attrs: ReadonlyMap<string, RefValue> }>;
}

export interface Workload {
  spans: RefSpan[];
  /** OTLP batches holding the spans for which `pick` holds, grouped by resource and scope. */
  batches(pick?: (s: RefSpan) => boolean): ResourceSpans[];
  /** Unix seconds: every span starts strictly inside (startSec, endSec). */
  startSec: number;
  endSec: number;
}

// Attribute values written as OTLP AnyValues. A double is marked so that 7 and 7.0 stay apart.
type Plain = string | bigint | boolean | { double: number } | { bytes: number[] } | { array: Plain[] } | 'EMPTY';

function anyValue(p: Plain): AnyValue {
  if (p === 'EMPTY') return { type: 'empty' };
  if (typeof p === 'string') return { type: 'string', value: p };
  if (typeof p === 'bigint') return { type: 'int', value: p };
  if (typeof p === 'boolean') return { type: 'bool', value: p };
  if ('double' in p) return { type: 'double', value: p.double };
  if ('bytes' in p) return { type: 'bytes', value: Uint8Array.from(p.bytes) };
  return { type: 'array', value: p.array.map(anyValue) };
}

/** How the reference reads a value: an empty AnyValue is no value at all. */
function refValue(p: Plain): RefValue | undefined {
  if (p === 'EMPTY') return undefined;
  if (typeof p === 'string') return { t: 'string', v: p };
  if (typeof p === 'bigint') return { t: 'int', v: p };
  if (typeof p === 'boolean') return { t: 'bool', v: p };
  if ('double' in p) return { t: 'double', v: p.double };
  if ('bytes' in p) return { t: 'opaque' };
  return { t: 'array', v: p.array.map((x) => refValue(x)).filter((x): x is RefValue => x !== undefined) };
}

type Attrs = Array<[string, Plain]>;
const toKeyValues = (a: Attrs): KeyValue[] => a.map(([key, p]) => ({ key, value: anyValue(p) }));
function toRefMap(a: Attrs): Map<string, RefValue> {
  const m = new Map<string, RefValue>();
  for (const [k, p] of a) {
    const v = refValue(p);
    if (v !== undefined) m.set(k, v);
  }
  return m;
}

const SERVICES = ['frontend', 'cart', 'payment', 'db'];

/**
 * Two resources per service. `env`, `lvl`, `s` and `i` are also span attributes on some
 * spans (the unscoped `.key` takes the span's); `rint`, `rdbl`, `rbool`, `rarr` exist only here.
 */
const RESOURCES: Attrs[] = SERVICES.flatMap((svc, n): Attrs[] => [
  [
    ['service.name', svc],
    ['env', n % 2 === 0 ? 'prod' : 'staging'],
    ['lvl', BigInt(n + 1)],
    ['rint', BigInt(10 * n - 5)],
    ['rdbl', { double: n === 0 ? 0.25 : -1.5 * n }],
    ['rbool', n % 2 === 0],
    ['rarr', { array: n === 3 ? [] : ['eu', svc] }],
    ...(n === 1 ? ([['s', 'resource-s'], ['i', 7n]] as Attrs) : []),
  ],
  [
    ['service.name', svc],
    ...(n === 3 ? [] : ([['env', 'dev']] as Attrs)),
    ['rint', BigInt(n * n)],
    ...(n === 2 ? ([['s', 'beta'], ['i', -5n], ['lvl', 0n]] as Attrs) : []),
  ],
]);

const SCOPES: Array<{ name: string; version: string; attrs: Attrs }> = [
  { name: 'io.skein.http', version: '1.10.0', attrs: [['lib.s', 'http'], ['lib.i', 3n]] },
  { name: 'io.skein.db', version: '1.9', attrs: [['lib.s', 'db']] },
  { name: 'legacy', version: '2.0', attrs: [['lib.i', -1n]] },
  { name: '', version: '', attrs: [] },
];

const NAMES = ['GET /api/users', 'POST /api/orders', 'db.query', 'cache.get', 'Render', 'GET /health'];
const MESSAGES = ['', 'timeout', 'Timeout', 'card declined'];
const DURATIONS: bigint[] = [0n, 1n, 42n, 999n, 1000n, MS, 1500n * 1000n, 250n * MS, S, 1500n * MS, 60n * S, TWO_53, TWO_53 + 1n];
const STRINGS = ['alpha', 'beta', 'gamma', 'Alpha', '', 'alpha-2', 'zeta', '10', 'true', 'a b', 'b'];
const INTS: bigint[] = [-5n, 0n, 1n, 7n, 10n, 42n, 100n, TWO_53, TWO_53 + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const DOUBLES = [-2.5, 0, 0.25, 1.5, 7, 41.9, 42, 1e300, -0.5];
const EVENT_NAMES = ['exception', 'retry', 'cache.miss'];

export function buildWorkload(opts: { seed: number; traces: number; nowMs: number }): Workload {
  const rnd = mulberry32(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number): boolean => rnd() < p;
  // Whole minutes, half an hour back: far from both edges of the query range.
  const t0Sec = Math.floor(opts.nowMs / 60_000) * 60 - 1800;
  const t0 = BigInt(t0Sec) * S;

  interface Built {
    ref: RefSpan;
    span: Span;
    resource: number;
    scope: number;
  }
  const built: Built[] = [];
  let seq = 0;
  for (let t = 0; t < opts.traces; t++) {
    const traceId = new Uint8Array(16);
    traceId.set([0xe9, 0x01, 0x5e, 0xed]);
    traceId[14] = (t + 1) >> 8;
    traceId[15] = (t + 1) & 0xff;
    const traceStart = t0 + BigInt(t) * 5n * S;
    const count = 3 + Math.floor(rnd() * 9);
    const ids: Uint8Array[] = [];
    for (let j = 0; j < count; j++) {
      seq++;
      const spanId = new Uint8Array(8);
      spanId.set([0x5e, 0x9a]);
      spanId[6] = seq >> 8;
      spanId[7] = seq & 0xff;
      ids.push(spanId);
      const resource = Math.floor(rnd() * RESOURCES.length);
      const scope = Math.floor(rnd() * SCOPES.length);
      // Every kind and status code, in turn, so each is certain to occur.
      const kind = seq % 6;
      const statusCode = Math.floor(seq / 6) % 3;
      const statusMessage = statusCode === 0 ? (chance(0.1) ? 'unset but said' : '') : pick(MESSAGES);
      const durationNanos = seq <= DURATIONS.length ? DURATIONS[seq - 1]! : pick(DURATIONS.slice(0, -2));
      const attrs: Attrs = [['seq', BigInt(seq)]];
      if (chance(0.7)) attrs.push(['s', pick(STRINGS)]);
      if (chance(0.6)) attrs.push(['i', pick(INTS)]);
      // One NaN, so the test covers a double that orders with nothing.
      if (seq === 17) attrs.push(['d', { double: NaN }]);
      else if (chance(0.6)) attrs.push(['d', { double: pick(DOUBLES) }]);
      if (chance(0.5)) attrs.push(['b', chance(0.5)]);
      if (chance(0.3)) attrs.push(['sarr', { array: pick([[], ['alpha'], ['alpha', 'beta'], ['x', 'gamma', 'alpha-2']]) }]);
      if (chance(0.3)) attrs.push(['iarr', { array: pick([[1n, 2n, 3n], [7n], [-5n, 100n], []]) }]);
      // One key, a different type on different spans.
      if (chance(0.6)) attrs.push(['m', pick<Plain>(['7', 7n, { double: 7 }, true, 'alpha', { double: -2.5 }, 42n])]);
      if (chance(0.3)) attrs.push(['env', pick(['prod', 'canary', 'dev'])]);
      if (chance(0.3)) attrs.push(['lvl', pick([1n, 3n, 9n])]);
      if (chance(0.05)) attrs.push(['raw', { bytes: [1, 2, 3] }]);
      if (chance(0.08)) attrs.push(['e', 'EMPTY']);
      const events: Array<{ name: string; attrs: Attrs }> = [];
      const nEvents = chance(0.35) ? 1 + Math.floor(rnd() * 2) : 0;
      for (let k = 0; k < nEvents; k++) events.push({ name: pick(EVENT_NAMES), attrs: chance(0.5) ? [['code', pick([1n, 3n, 500n])]] : [] });
      const start = traceStart + BigInt(j) * 10n * MS;
      const span: Span = {
        traceId,
        spanId,
        traceState: '',
        parentSpanId: j === 0 ? new Uint8Array(0) : ids[Math.floor(rnd() * j)]!,
        flags: 0,
        name: pick(NAMES),
        kind: kind as Span['kind'],
        startTimeUnixNano: start,
        endTimeUnixNano: start + durationNanos,
        attributes: toKeyValues(attrs),
        droppedAttributesCount: 0,
        events: events.map((e, k) => ({ timeUnixNano: start + BigInt(k), name: e.name, attributes: toKeyValues(e.attrs), droppedAttributesCount: 0 })),
        droppedEventsCount: 0,
        links: [],
        droppedLinksCount: 0,
        status: { code: statusCode as Span['status']['code'], message: statusMessage },
      };
      const sc = SCOPES[scope]!;
      const ref: RefSpan = {
        seq,
        spanId: Buffer.from(spanId).toString('hex'),
        traceIndex: t,
        name: span.name,
        kind,
        statusCode,
        statusMessage,
        durationNanos,
        scopeName: sc.name,
        scopeVersion: sc.version,
        scopeAttrs: toRefMap(sc.attrs),
        spanAttrs: toRefMap(attrs),
        resourceAttrs: toRefMap(RESOURCES[resource]!),
        events: events.map((e) => ({ name: e.name, attrs: toRefMap(e.attrs) })),
      };
      built.push({ ref, span, resource, scope });
    }
  }

  return {
    spans: built.map((b) => b.ref),
    startSec: t0Sec - 600,
    endSec: t0Sec + opts.traces * 5 + 600,
    batches(p = () => true) {
      const out: ResourceSpans[] = [];
      for (let r = 0; r < RESOURCES.length; r++) {
        const scopeSpans = SCOPES.map((sc, n) => ({
          scope: { name: sc.name, version: sc.version, attributes: toKeyValues(sc.attrs), droppedAttributesCount: 0 },
          schemaUrl: '',
          spans: built.filter((b) => b.resource === r && b.scope === n && p(b.ref)).map((b) => b.span),
        })).filter((s) => s.spans.length > 0);
        if (scopeSpans.length > 0) out.push({ resource: { attributes: toKeyValues(RESOURCES[r]!), droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans });
      }
      return out;
    },
  };
}
