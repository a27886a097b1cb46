// TraceQL metrics over a real Store: a fixed corpus of spans with known start times,
// durations, services and attributes, and for each query the exact series Tempo's rules
// give (right-closed intervals reported at their right edge, an extra interval in front
// of an aligned range, rate = count / step seconds, log2 buckets in seconds). Every query
// runs with the spans in the head, in a block through the SQL aggregate, in a block
// through the evaluator, and split between head and block: the numbers must not change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyValue, ResourceSpans, Span } from '../../../src/otlp/model.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import {
  defaultStep,
  parseMetricsParams,
  queryInstantJson,
  queryRangeJson,
  runMetricsQuery,
  type MetricsResult,
} from '../../../src/query/metrics/index.js';
import { promLabels } from '../../../src/query/metrics/series.js';
import { planAggregate } from '../../../src/query/metrics/fetch.js';

const MS = 1_000_000n;
const S = 1_000_000_000n;
/** A multiple of 60 s, so a 10 s step aligns on it. */
const T0_SEC = 1_700_000_040;
const T0 = BigInt(T0_SEC) * S;
const TENANT = 'metrics';

type Attr = string | number | string[] | { double: number };
const kv = (key: string, v: Attr): KeyValue => ({
  key,
  value:
    typeof v === 'string'
      ? { type: 'string', value: v }
      : typeof v === 'number'
        ? { type: 'int', value: BigInt(v) }
        : Array.isArray(v)
          ? { type: 'array', value: v.map((x) => ({ type: 'string' as const, value: x })) }
          : { type: 'double', value: v.double },
});

interface SpanSpec {
  id: string;
  svc: string;
  name: string;
  /** ms after T0 */
  at: number;
  ms: number;
  status?: 0 | 1 | 2;
  attrs?: Record<string, Attr>;
  parent?: string;
}

// Intervals of the 10 s range query from T0 to T0+60s: i = (T0-10s+10s·i, T0+10s·i], i = 0…6.
const SPANS: SpanSpec[] = [
  { id: 'f1', svc: 'frontend', name: 'health', at: 0, ms: 8 }, // i0 (exactly on T0)
  { id: 'a1', svc: 'frontend', name: 'GET /', at: 1000, ms: 100, attrs: { 'http.status_code': 200 } }, // i1
  { id: 'a2', svc: 'cart', name: 'cart.get', at: 5000, ms: 20, attrs: { 'http.status_code': 200, items: 3 }, parent: 'a1' }, // i1
  { id: 'b1', svc: 'frontend', name: 'GET /', at: 2000, ms: 300, status: 2, attrs: { 'http.status_code': 500 } }, // i1
  { id: 'b2', svc: 'payment', name: 'charge', at: 12000, ms: 1500, status: 2, attrs: { amount: { double: 10.5 } }, parent: 'b1' }, // i2
  { id: 'c1', svc: 'frontend', name: 'GET /', at: 15000, ms: 50, attrs: { 'http.status_code': 200 } }, // i2
  { id: 'c2', svc: 'cart', name: 'cart.get', at: 20000, ms: 40, attrs: { items: 5 }, parent: 'c1' }, // i2 (exactly on its right edge)
  { id: 'd1', svc: 'payment', name: 'charge', at: 35000, ms: 700, status: 1, attrs: { amount: 20 } }, // i4
  { id: 'e1', svc: 'frontend', name: 'GET /', at: 59500, ms: 2000, attrs: { 'http.status_code': 200, tags: ['x', 'y'] } }, // i6
  { id: 'g1', svc: 'cart', name: 'cart.get', at: -15000, ms: 10 }, // before the range
  { id: 'h1', svc: 'cart', name: 'cart.get', at: 61000, ms: 10 }, // after it
];

function bytesOf(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(Buffer.from(label.padEnd(n, '\0').slice(0, n)));
  return out;
}
const traceOf = (s: SpanSpec): string => (s.parent ? SPANS.find((p) => p.id === s.parent)!.id : s.id);

function batches(pick: (s: SpanSpec, i: number) => boolean = () => true): ResourceSpans[] {
  return SPANS.filter(pick).map((s) => {
    const start = T0 + BigInt(s.at) * MS;
    const span: Span = {
      traceId: bytesOf(`trace-${traceOf(s)}`, 16),
      spanId: bytesOf(`sp-${s.id}`, 8),
      traceState: '',
      parentSpanId: s.parent ? bytesOf(`sp-${s.parent}`, 8) : new Uint8Array(0),
      flags: 0,
      name: s.name,
      kind: 2,
      startTimeUnixNano: start,
      endTimeUnixNano: start + BigInt(s.ms) * MS,
      attributes: Object.entries(s.attrs ?? {}).map(([k, v]) => kv(k, v)),
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code: s.status ?? 0, message: '' },
    };
    return {
      resource: { attributes: [kv('service.name', s.svc)], droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeSpans: [{ scope: { name: 'lib', version: '1', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', spans: [span] }],
    };
  });
}

async function openStore(path: string): Promise<Store> {
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: path }, { path: ['storage', 'retention'], value: '36500d' }] });
  return Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
}

type Values = Record<string, Array<number | null>>;

interface Run {
  result: MetricsResult;
  values: Values;
}

async function run(
  store: Store,
  q: string,
  opts: { start?: string; end?: string; step?: string; instant?: boolean; sql?: boolean; maxSeries?: number; exemplars?: number } = {},
): Promise<Run> {
  const params = parseMetricsParams(
    { q, start: opts.start ?? String(T0_SEC), end: opts.end ?? String(T0_SEC + 60), step: opts.step ?? '10s' },
    T0 + 3600n * S,
    opts.instant ?? false,
  );
  if ('error' in params) throw new Error(params.error);
  const result = await runMetricsQuery(store, {
    tenants: TENANT,
    query: params.query,
    timeline: params.timeline,
    exemplars: opts.exemplars ?? 0,
    maxSeries: opts.maxSeries ?? 1000,
    deadlineMs: Date.now() + 60_000,
    maxBytesInspected: 0,
    limitText: { timeout: '60s', maxBytes: '0' },
    ...(opts.sql === false ? { sqlPushdown: false } : {}),
  });
  const values: Values = {};
  for (const s of result.series) {
    const vals = [...s.values].map((v) => (Number.isNaN(v) ? null : v));
    if (vals.every((v) => v === null)) continue;
    values[promLabels(s.labels)] = vals;
  }
  return { result, values };
}

const _ = null;
const b = (nanos: number): number => nanos / 1e9;

/** query → expected series (promLabels → one value per interval, null = no sample). */
const CASES: Array<[string, Values]> = [
  ['{ } | count_over_time()', { '{__name__="count_over_time"}': [1, 3, 3, 0, 1, 0, 1] }],
  ['{ } | rate()', { '{__name__="rate"}': [0.1, 0.30000000000000004, 0.30000000000000004, 0, 0.1, 0, 0.1] }],
  [
    '{ } | count_over_time() by (resource.service.name)',
    {
      '{resource.service.name="cart"}': [0, 1, 1, 0, 0, 0, 0],
      '{resource.service.name="frontend"}': [1, 2, 1, 0, 0, 0, 1],
      '{resource.service.name="payment"}': [0, 0, 1, 0, 1, 0, 0],
    },
  ],
  ['{ status = error } | count_over_time()', { '{__name__="count_over_time"}': [0, 1, 1, 0, 0, 0, 0] }],
  [
    '{ .http.status_code >= 500 || status = error } | count_over_time() by (resource.service.name, name)',
    { '{name="GET /", resource.service.name="frontend"}': [0, 1, 0, 0, 0, 0, 0], '{name="charge", resource.service.name="payment"}': [0, 0, 1, 0, 0, 0, 0] },
  ],
  ['{ resource.service.name = "frontend" } | min_over_time(duration)', { '{__name__="min_over_time"}': [0.008, 0.1, 0.05, _, _, _, 2] }],
  ['{ resource.service.name = "frontend" } | max_over_time(duration)', { '{__name__="max_over_time"}': [0.008, 0.3, 0.05, _, _, _, 2] }],
  ['{ resource.service.name = "frontend" } | sum_over_time(duration)', { '{__name__="sum_over_time"}': [0.008, 0.4, 0.05, _, _, _, 2] }],
  ['{ resource.service.name = "frontend" } | avg_over_time(duration)', { '{__name__="avg_over_time"}': [0.008, 0.2, 0.05, _, _, _, 2] }],
  ['{ } | avg_over_time(span.amount)', { '{__name__="avg_over_time"}': [_, _, 10.5, _, 20, _, _] }],
  ['{ } | sum_over_time(.items) by (resource.service.name)', { '{resource.service.name="cart"}': [_, 3, 5, _, _, _, _] }],
  [
    '{ } | count_over_time() by (span.http.status_code)',
    {
      '{span.http.status_code="200"}': [0, 2, 1, 0, 0, 0, 1],
      '{span.http.status_code="500"}': [0, 1, 0, 0, 0, 0, 0],
      '{span.http.status_code="<nil>"}': [1, 0, 2, 0, 1, 0, 0],
    },
  ],
  [
    '{ } | histogram_over_time(duration)',
    {
      [`{__bucket="${b(2 ** 23)}"}`]: [1, 0, 0, 0, 0, 0, 0],
      [`{__bucket="${b(2 ** 25)}"}`]: [0, 1, 0, 0, 0, 0, 0],
      [`{__bucket="${b(2 ** 27)}"}`]: [0, 1, 0, 0, 0, 0, 0],
      [`{__bucket="${b(2 ** 29)}"}`]: [0, 1, 0, 0, 0, 0, 0],
      [`{__bucket="${b(2 ** 26)}"}`]: [0, 0, 2, 0, 0, 0, 0],
      [`{__bucket="${b(2 ** 30)}"}`]: [0, 0, 0, 0, 1, 0, 0],
      [`{__bucket="${b(2 ** 31)}"}`]: [0, 0, 1, 0, 0, 0, 1],
    },
  ],
  [
    '{ } | quantile_over_time(duration, .5, .9)',
    {
      '{p="0.5"}': [b(2 ** 23), b(2 ** 27), b(2 ** 26), 0, b(2 ** 30), 0, b(2 ** 31)],
      '{p="0.9"}': [b(2 ** 23), b(2 ** 29), b(2 ** 31), 0, b(2 ** 30), 0, b(2 ** 31)],
    },
  ],
  // i2 holds one bucket of two spans: p25 is the first sample, half-way into the bucket (log2 scale).
  ['{ name != "charge" } | quantile_over_time(duration, .25)', { '{p="0.25"}': [b(2 ** 23), b(2 ** 25), b(2 ** 26) / Math.SQRT2, 0, 0, 0, b(2 ** 31)] }],
  ['{ } | quantile_over_time(duration, .9) by (resource.service.name)', {
    '{p="0.9", resource.service.name="cart"}': [0, b(2 ** 25), b(2 ** 26), 0, 0, 0, 0],
    '{p="0.9", resource.service.name="frontend"}': [b(2 ** 23), b(2 ** 29), b(2 ** 26), 0, 0, 0, b(2 ** 31)],
    '{p="0.9", resource.service.name="payment"}': [0, 0, b(2 ** 31), 0, b(2 ** 30), 0, 0],
  }],
  [
    '{ } | count_over_time() by (resource.service.name) | topk(1)',
    {
      '{resource.service.name="cart"}': [_, _, 1, 0, _, 0, _],
      '{resource.service.name="frontend"}': [1, 2, _, _, _, _, 1],
      '{resource.service.name="payment"}': [_, _, _, _, 1, _, _],
    },
  ],
  [
    '{ } | count_over_time() by (resource.service.name) | bottomk(1)',
    { '{resource.service.name="cart"}': [0, _, 1, 0, 0, 0, 0], '{resource.service.name="payment"}': [_, 0, _, _, _, _, _] },
  ],
  ['{ } | count_over_time() > 1', { '{__name__="count_over_time"}': [_, 3, 3, _, _, _, _] }],
  // Not pushable: structural, and an array attribute (compared element by element).
  ['{ resource.service.name = "frontend" } > { } | count_over_time()', { '{__name__="count_over_time"}': [0, 1, 2, 0, 0, 0, 0] }],
  ['{ span.tags = "x" } | count_over_time()', { '{__name__="count_over_time"}': [0, 0, 0, 0, 0, 0, 1] }],
  ['{ span.tags != nil || name = "charge" } | count_over_time()', { '{__name__="count_over_time"}': [0, 0, 1, 0, 1, 0, 1] }],
];

let dir: string;
const stores: Record<'head' | 'blocks' | 'split', Store> = {} as never;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-metrics-'));
  stores.head = await openStore(join(dir, 'head'));
  await stores.head.append(TENANT, batches());
  stores.blocks = await openStore(join(dir, 'blocks'));
  await stores.blocks.append(TENANT, batches());
  await stores.blocks.flush(TENANT);
  // Half the spans (even a trace's parent and child apart) in a block, the rest in the head.
  stores.split = await openStore(join(dir, 'split'));
  await stores.split.append(TENANT, batches((_s, i) => i % 2 === 0));
  await stores.split.flush(TENANT);
  await stores.split.append(TENANT, batches((_s, i) => i % 2 === 1));
});

after(async () => {
  for (const s of Object.values(stores)) await s?.close();
  await rm(dir, { recursive: true, force: true });
});

function near(actual: Values, expected: Values): boolean {
  const keys = Object.keys(expected).sort();
  if (JSON.stringify(Object.keys(actual).sort()) !== JSON.stringify(keys)) return false;
  return keys.every((k) => expected[k]!.every((v, i) => (v === null ? actual[k]![i] === null : actual[k]![i] !== null && Math.abs(actual[k]![i]! - v) <= 1e-12 * Math.max(1, Math.abs(v)))));
}

describe('TraceQL metrics over a fixed corpus', () => {
  test('the blocks hold the corpus; a filter with an exact SQL form is planned, the others are not', () => {
    assert.equal(stores.blocks.blocks.blocks(TENANT).length, 1);
    assert.equal(stores.split.blocks.blocks(TENANT).length, 1);
    const plan = (q: string) => {
      const p = parseMetricsParams({ q }, T0, false);
      if ('error' in p || p.query.expr.type !== 'metricsPipeline') throw new Error('not a pipeline');
      return planAggregate(p.query.expr.pipeline, p.query.expr.aggregate);
    };
    assert.ok(plan('{ resource.service.name = "frontend" && duration > 10ms } | rate() by (span.http.status_code)'));
    assert.ok(plan('{ } | quantile_over_time(duration, .9) by (name)'));
    assert.equal(plan('{ resource.service.name = "frontend" } > { } | rate()'), null);
    assert.equal(plan('{ rootName = "x" } | rate()'), null);
  });

  for (const where of ['head', 'blocks', 'split'] as const) {
    test(`spans in ${where === 'split' ? 'a block and the head' : `the ${where}`}: every query gives the exact series`, async () => {
      const failures: string[] = [];
      for (const [q, expected] of CASES) {
        const { values } = await run(stores[where], q);
        if (!near(values, expected)) failures.push(`${q}\n  got      ${JSON.stringify(values)}\n  expected ${JSON.stringify(expected)}`);
      }
      assert.deepEqual(failures, []);
    });
  }

  test('blocks: the SQL aggregate and the span-by-span evaluator give the same numbers', async () => {
    let sqlRuns = 0;
    for (const [q] of CASES) {
      const viaSql = await run(stores.blocks, q);
      const viaSpans = await run(stores.blocks, q, { sql: false });
      assert.equal(viaSpans.result.stats.blockPath, 'spans');
      if (viaSql.result.stats.blockPath === 'sql') sqlRuns++;
      assert.deepEqual(viaSql.values, viaSpans.values, q);
    }
    // All but the structural query have an exact SQL form (a refused SQL would fall back silently).
    assert.equal(sqlRuns, CASES.length - 1);
  });

  test('blocks: the SQL aggregate and the evaluator pick the same exemplars, with the same values', async () => {
    // Series come in the order their first span was seen, which differs between the paths.
    const exemplars = (r: Run) =>
      Object.fromEntries(r.result.series.map((s) => [promLabels(s.labels), s.exemplars.map((e) => ({ ...e, start: String(e.start) }))]));
    for (const q of [
      '{ } | count_over_time() by (resource.service.name)',
      '{ resource.service.name = "frontend" } | avg_over_time(duration)',
      '{ } | max_over_time(span.amount)',
      '{ } | histogram_over_time(duration)',
      '{ name != "charge" } | quantile_over_time(duration, .25, .9)',
    ]) {
      const viaSql = await run(stores.blocks, q, { exemplars: 100 });
      const viaSpans = await run(stores.blocks, q, { exemplars: 100, sql: false });
      assert.equal(viaSql.result.stats.blockPath, 'sql', q);
      assert.ok(viaSql.result.series.some((s) => s.exemplars.length > 0), q);
      assert.deepEqual(exemplars(viaSql), exemplars(viaSpans), q);
    }
  });

  test('step alignment: start and end round out to the step, with one interval in front; samples sit at interval ends', async () => {
    const { result, values } = await run(stores.blocks, '{ } | count_over_time()', { start: String(T0_SEC + 3), end: String(T0_SEC + 57) });
    assert.deepEqual(values, { '{__name__="count_over_time"}': [1, 3, 3, 0, 1, 0, 1] });
    const body = queryRangeJson(result.series, result.stats, parseTimeline(T0_SEC + 3, T0_SEC + 57, '10s'), 0) as { series: Array<{ samples: Array<{ timestampMs: string; value?: number }> }> };
    assert.deepEqual(
      body.series[0]!.samples.map((s) => [Number(s.timestampMs) / 1000 - T0_SEC, s.value ?? 0]),
      [[0, 1], [10, 3], [20, 3], [30, 0], [40, 1], [50, 0], [60, 1]],
    );
    // A 15 s step: (T0-15, T0], (T0, T0+15], (T0+15, T0+30], …; a span at T0+15s closes the second.
    const r15 = await run(stores.head, '{ } | count_over_time()', { step: '15s' });
    assert.deepEqual(r15.values, { '{__name__="count_over_time"}': [1, 5, 1, 1, 1] });
    assert.equal(defaultStep(0n, 3600n * S), 15n * S);
    assert.equal(defaultStep(0n, 600n * S), 2n * S);
    assert.equal(defaultStep(0n, 60n * S), S);
    assert.equal(defaultStep(0n, 7n * 86400n * S), 2520n * S);
  });

  test('instant query: one value per series over (start, end]', async () => {
    for (const where of ['head', 'blocks', 'split'] as const) {
      const { result } = await run(stores[where], '{ } | count_over_time() by (resource.service.name)', { instant: true });
      assert.deepEqual(queryInstantJson(result.series, result.stats)['series'], [
        { labels: [{ key: 'resource.service.name', value: { stringValue: 'cart' } }], promLabels: '{resource.service.name="cart"}', value: 2 },
        { labels: [{ key: 'resource.service.name', value: { stringValue: 'frontend' } }], promLabels: '{resource.service.name="frontend"}', value: 4 },
        { labels: [{ key: 'resource.service.name', value: { stringValue: 'payment' } }], promLabels: '{resource.service.name="payment"}', value: 2 },
      ]);
      const rate = await run(stores[where], '{ } | rate()', { instant: true });
      assert.deepEqual(rate.values, { '{__name__="rate"}': [8 / 60] });
    }
  });

  test('too many series: refused with 422 naming query.max_metrics_series', async () => {
    await assert.rejects(run(stores.blocks, '{ } | count_over_time() by (span:id)', { maxSeries: 5 }), (err: Error & { status?: number }) => {
      assert.equal(err.status, 422);
      assert.match(err.message, /more than query\.max_metrics_series=5 series/);
      return true;
    });
    await assert.rejects(run(stores.head, '{ } | histogram_over_time(duration)', { maxSeries: 3 }), /max_metrics_series=3/);
  });
});

function parseTimeline(start: number, end: number, step: string) {
  const p = parseMetricsParams({ q: '{} | rate()', start: String(start), end: String(end), step }, T0, false);
  if ('error' in p) throw new Error(p.error);
  return p.timeline;
}
