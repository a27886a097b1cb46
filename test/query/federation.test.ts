// Several tenants read as one (X-Scope-OrgID `a|b`) over a real Store: every span is written
// to its tenant, `fa` or `fb`, and again to `fab`, which holds them all. Asked of `fa|fb`, the
// metrics, searches, tag lookups and trace lookups must answer exactly what `fab` answers
// (quantiles and averages included), from the heads and from blocks. One trace has spans in
// both tenants: trace by ID gives all of them, and a search lists it once, with the matches of
// each part (each tenant's part is judged on its own, as in Tempo's federation, so searches are
// compared with the union's away from it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, type ResourceSpans, type Span } from '../../src/otlp/model.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { Store } from '../../src/store/store.js';
import { parseTraceQL, type PipelineExpr } from '../../src/query/traceql/index.js';
import { searchTraces } from '../../src/query/search/execute.js';
import { searchResponseJson } from '../../src/query/search/response.js';
import { parseMetricsParams, queryRangeJson, runMetricsQuery } from '../../src/query/metrics/index.js';
import { parseTagTarget, tagNames, tagValues, TAG_SCOPES, type TagQuery } from '../../src/query/tags/index.js';
import { findTraceById } from '../../src/query/trace-by-id.js';
import type { Tenants } from '../../src/store/fetch/request.js';
import { batchOf, str } from '../helpers/spans.js';

const MS = 1_000_000n;
const T0_SEC = 1_700_000_040;
const T0 = BigInt(T0_SEC) * 1_000_000_000n;
const BOTH = ['fa', 'fb'] as const;
const UNION = 'fab';

interface Spec {
  tenant: 'fa' | 'fb';
  trace: number;
  span: number;
  parent?: number;
  svc: string;
  name: string;
  /** ms after T0 */
  at: number;
  ms: number;
  error?: boolean;
  route?: string;
}

const SPECS: Spec[] = [
  { tenant: 'fa', trace: 1, span: 1, svc: 'shop', name: 'GET /cart', at: 1000, ms: 120, route: '/cart' },
  { tenant: 'fa', trace: 1, span: 2, parent: 1, svc: 'cart-db', name: 'SELECT', at: 1010, ms: 30 },
  { tenant: 'fa', trace: 2, span: 3, svc: 'shop', name: 'GET /pay', at: 14000, ms: 900, error: true, route: '/pay' },
  { tenant: 'fa', trace: 3, span: 4, svc: 'shop', name: 'GET /', at: 33000, ms: 8 },
  { tenant: 'fb', trace: 4, span: 5, svc: 'ledger', name: 'POST /entry', at: 5000, ms: 2000, route: '/entry' },
  { tenant: 'fb', trace: 4, span: 6, parent: 5, svc: 'ledger-db', name: 'INSERT', at: 5100, ms: 1500, error: true },
  { tenant: 'fb', trace: 5, span: 7, svc: 'ledger', name: 'GET /balance', at: 27000, ms: 45, route: '/balance' },
  { tenant: 'fb', trace: 6, span: 8, svc: 'ledger', name: 'GET /', at: 51000, ms: 3 },
  // Trace 7 crosses the tenants: its root in fa, a child in fb.
  { tenant: 'fa', trace: 7, span: 9, svc: 'gateway', name: 'POST /checkout', at: 40000, ms: 600, route: '/checkout' },
  { tenant: 'fb', trace: 7, span: 10, parent: 9, svc: 'billing', name: 'charge', at: 40100, ms: 400, error: true },
];

const idOf = (n: number, bytes: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  out[bytes - 1] = n;
  out[0] = 0xab;
  return out;
};

function spanOf(s: Spec): Span {
  const start = T0 + BigInt(s.at) * MS;
  return {
    traceId: idOf(s.trace, 16),
    spanId: idOf(s.span, 8),
    traceState: '',
    parentSpanId: s.parent === undefined ? new Uint8Array(0) : idOf(s.parent, 8),
    flags: 0,
    name: s.name,
    kind: 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(s.ms) * MS,
    attributes: s.route ? [str('http.route', s.route)] : [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: s.error ? 2 : 0, message: '' },
  };
}

const batchOfSpec = (s: Spec): ResourceSpans[] => batchOf(s.svc, [spanOf(s)]);

let dir: string;
let store: Store;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-federation-'));
  const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: dir }, { path: ['storage', 'retention'], value: '36500d' }] });
  store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
  for (const s of SPECS) {
    await store.append(s.tenant, batchOfSpec(s));
    await store.append(UNION, batchOfSpec(s));
  }
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function parse(text: string): PipelineExpr {
  const { ast } = parseTraceQL(text);
  if (ast.query.type === 'metricsQuery' || ast.query.type === 'scalarPipelineFilter') throw new Error(`not a search: ${text}`);
  return ast.query;
}

interface Range {
  startUnixNano?: bigint;
  endUnixNano?: bigint;
}

async function search(tenants: Tenants, text: string, limit: number, range: Range = {}): Promise<Array<Record<string, unknown>>> {
  const query = parse(text);
  const r = await searchTraces(store, { tenants, query, limit, ...range, deadlineMs: Date.now() + 60_000, maxBytesInspected: 0 }, { timeoutText: '60s', maxBytesText: '0' });
  return searchResponseJson(r.traces, r.metrics, query, 20)['traces'] as Array<Record<string, unknown>>;
}

/** What a search answer says of each trace, without its spansets (a trace in two tenants is matched in each part, as Tempo does). */
const summaries = (traces: Array<Record<string, unknown>>) =>
  traces.map(({ traceID, rootServiceName, rootTraceName, startTimeUnixNano, durationMs, serviceStats }) => ({ traceID, rootServiceName, rootTraceName, startTimeUnixNano, durationMs, serviceStats }));

async function metrics(tenants: Tenants, q: string, sql: boolean): Promise<unknown> {
  const params = parseMetricsParams({ q, start: String(T0_SEC), end: String(T0_SEC + 60), step: '10s' }, T0 + 3600n * 1_000_000_000n, false);
  if ('error' in params) throw new Error(params.error);
  const r = await runMetricsQuery(store, {
    tenants,
    query: params.query,
    timeline: params.timeline,
    exemplars: 0,
    maxSeries: 1000,
    deadlineMs: Date.now() + 60_000,
    maxBytesInspected: 0,
    limitText: { timeout: '60s', maxBytes: '0' },
    ...(sql ? {} : { sqlPushdown: false }),
  });
  return queryRangeJson(r.series, { ...r.stats, inspectedBytes: 0, inspectedTraces: 0, totalBlocks: 0 }, params.timeline, 0)['series'];
}

const tagQuery = (over: Partial<TagQuery> = {}): TagQuery => ({ conditions: [], limit: 1000, maxBytes: 1 << 20, ...over });

async function values(tenants: Tenants, name: string, over: Partial<TagQuery> = {}): Promise<unknown> {
  const target = parseTagTarget(name);
  if ('error' in target) throw new Error(target.error);
  const r = await tagValues(store, tenants, target, tagQuery(over));
  return { values: r.values, truncated: r.truncated };
}

const METRICS = [
  '{ } | count_over_time()',
  '{ } | rate() by (resource.service.name)',
  '{ status = error } | count_over_time() by (name)',
  '{ } | avg_over_time(duration)',
  '{ } | min_over_time(duration) by (span.http.route)',
  '{ } | max_over_time(duration)',
  '{ } | histogram_over_time(duration)',
  '{ } | quantile_over_time(duration, .5, .9, .99)',
  '{ } | quantile_over_time(duration, .5) by (resource.service.name)',
  '{ } | rate() by (name) | topk(2)',
];

const SEARCHES = ['{ }', '{ status = error }', '{ duration > 100ms }', '{ span.http.route =~ "/.*" }'];
/** Before and after the trace that crosses the tenants (40 s to 40.6 s after T0). */
const RANGES: Range[] = [{ endUnixNano: T0 + 40_000n * MS }, { startUnixNano: T0 + 41_000n * MS }];

function checks(where: string): void {
  for (const q of METRICS) {
    test(`${where}: ${q} over fa|fb is what it is over one tenant holding both`, async () => {
      for (const sql of [true, false]) assert.deepEqual(await metrics(BOTH, q, sql), await metrics(UNION, q, sql), `sql pushdown ${sql}`);
    });
  }

  test(`${where}: searches over fa|fb list the same traces, most recent first, cut to the same limit`, async () => {
    for (const q of SEARCHES) {
      for (const range of RANGES) {
        for (const limit of [1, 2, 3, 100]) {
          const label = `${q} limit ${limit} ${JSON.stringify(range, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`;
          assert.deepEqual(summaries(await search(BOTH, q, limit, range)), summaries(await search(UNION, q, limit, range)), label);
        }
      }
    }
  });

  test(`${where}: the trace with spans in both tenants is one search entry, with each part's matches`, async () => {
    const all = await search(BOTH, '{ }', 100);
    const id = toHex(idOf(7, 16)).replace(/^0+/, '');
    const entries = all.filter((t) => t['traceID'] === id);
    assert.equal(entries.length, 1);
    const spans = (entries[0]!['spanSets'] as Array<{ spans: Array<{ name: string }> }>).flatMap((s) => s.spans.map((x) => x.name)).sort();
    assert.deepEqual(spans, ['POST /checkout', 'charge']);
    assert.deepEqual(summaries(entries), summaries((await search(UNION, '{ }', 100)).filter((t) => t['traceID'] === id)));
    // A condition only fb's part meets finds the trace through that part.
    assert.deepEqual(
      (await search(BOTH, '{ resource.service.name = "billing" }', 100)).map((t) => t['traceID']),
      [id],
    );
  });

  test(`${where}: tag names and values over fa|fb are the union, within the same limits`, async () => {
    const names = async (t: Tenants, over: Partial<TagQuery> = {}) => {
      const r = await tagNames(store, t, TAG_SCOPES, tagQuery(over));
      return { scopes: r.scopes, truncated: r.truncated };
    };
    assert.deepEqual(await names(BOTH), await names(UNION));
    assert.deepEqual(await names(BOTH, { limit: 1 }), await names(UNION, { limit: 1 }));
    for (const name of ['resource.service.name', 'span.http.route', 'name', 'status']) {
      assert.deepEqual(await values(BOTH, name), await values(UNION, name), name);
      assert.deepEqual(await values(BOTH, name, { limit: 2 }), await values(UNION, name, { limit: 2 }), `${name} limit 2`);
    }
  });

  test(`${where}: trace by ID over fa|fb gives the spans of each tenant`, async () => {
    const lookup = async (t: Tenants, trace: number) => {
      const r = await findTraceById(store, t, toHex(idOf(trace, 16)), {}, 1 << 20);
      return r.result?.batch.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => `${toHex(s.spanId)} ${s.name}`))).sort();
    };
    for (const trace of [1, 4, 7]) assert.deepEqual(await lookup(BOTH, trace), await lookup(UNION, trace), `trace ${trace}`);
    assert.equal((await lookup(BOTH, 7))!.length, 2);
    assert.equal(await lookup('fa', 4), undefined, "fb's trace is not found in fa alone");
  });
}

describe('in the heads', () => checks('heads'));

describe('in blocks', () => {
  before(async () => {
    await store.flush();
  });
  checks('blocks');
});
