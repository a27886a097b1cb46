// Tag names and values over a real Store: the same answers from the head and from
// Parquet blocks, q narrowing, intrinsics, scopes, time ranges and limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyValue, ResourceSpans, Span } from '../../../src/otlp/model.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import { conditionsOf, parseTagTarget, tagNames, tagValues, type TagQuery, type TagScope, type TagTarget } from '../../../src/query/tags/index.js';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
let idSeq = 1;

const kv = (key: string, value: string | number | boolean | bigint, asDouble = false): KeyValue => ({
  key,
  value:
    typeof value === 'string'
      ? { type: 'string', value }
      : typeof value === 'boolean'
        ? { type: 'bool', value }
        : typeof value === 'bigint' || (!asDouble && Number.isInteger(value))
          ? { type: 'int', value: BigInt(value) }
          : { type: 'double', value: Number(value) },
});

function id(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let n = idSeq++;
  for (let i = bytes - 1; i >= 0 && n > 0; i--, n = Math.floor(n / 256)) out[i] = n % 256;
  return out;
}

interface SpanOpts {
  name: string;
  parent?: Span;
  kind?: 0 | 1 | 2 | 3 | 4 | 5;
  status?: 0 | 1 | 2;
  statusMessage?: string;
  startSec?: bigint;
  attrs?: KeyValue[];
  events?: Array<{ name: string; attrs: KeyValue[] }>;
  links?: KeyValue[][];
}

function mkSpan(traceId: Uint8Array, o: SpanOpts): Span {
  const start = T0 + (o.startSec ?? 0n) * S;
  return {
    traceId,
    spanId: id(8),
    traceState: '',
    parentSpanId: o.parent ? o.parent.spanId : new Uint8Array(0),
    flags: 0,
    name: o.name,
    kind: o.kind ?? 1,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 5_000_000n,
    attributes: o.attrs ?? [],
    droppedAttributesCount: 0,
    events: (o.events ?? []).map((e) => ({ timeUnixNano: start + 1n, name: e.name, attributes: e.attrs, droppedAttributesCount: 0 })),
    droppedEventsCount: 0,
    links: (o.links ?? []).map((attrs) => ({ traceId: id(16), spanId: id(8), traceState: '', attributes: attrs, droppedAttributesCount: 0, flags: 0 })),
    droppedLinksCount: 0,
    status: { code: o.status ?? 0, message: o.statusMessage ?? '' },
  };
}

function rs(service: string, spans: Span[], extra: KeyValue[] = [], scope = { name: 'lib', version: '1.0', attrs: [] as KeyValue[] }): ResourceSpans {
  return {
    resource: { attributes: [kv('service.name', service), ...extra], droppedAttributesCount: 0 },
    schemaUrl: '',
    scopeSpans: [{ scope: { name: scope.name, version: scope.version, attributes: scope.attrs, droppedAttributesCount: 0 }, schemaUrl: '', spans }],
  };
}

/** Three services, typed attributes, events, links, scope attributes; two traces an hour apart. */
function corpus(): ResourceSpans[][] {
  const t1 = id(16);
  const root = mkSpan(t1, { name: 'GET /cart', kind: 2, attrs: [kv('http.route', '/cart'), kv('http.status_code', 200), kv('sampled', true)] });
  const cartCall = mkSpan(t1, { name: 'cart.get', parent: root, kind: 3, attrs: [kv('rpc.system', 'grpc')] });
  const cartSrv = mkSpan(t1, {
    name: 'GetCart',
    parent: cartCall,
    kind: 2,
    attrs: [kv('http.route', '/api/cart'), kv('ratio', 0.25, true), kv('items', 3)],
    events: [{ name: 'cache.miss', attrs: [kv('cache.key', 'cart:42')] }],
  });
  const payCall = mkSpan(t1, {
    name: 'charge',
    parent: root,
    kind: 3,
    status: 2,
    statusMessage: 'card declined',
    attrs: [kv('http.route', '/api/pay'), kv('http.status_code', 402)],
    events: [{ name: 'exception', attrs: [kv('exception.type', 'CardError')] }],
    links: [[kv('link.reason', 'retry')]],
  });
  const t2 = id(16);
  const later = mkSpan(t2, { name: 'GET /health', kind: 2, startSec: 3600n, status: 1, attrs: [kv('http.route', '/health')] });
  return [
    [
      rs('frontend', [root, cartCall], [kv('deployment.environment', 'prod'), kv('host.cpus', 8)]),
      rs('cart', [cartSrv], [kv('deployment.environment', 'prod')], { name: 'cart-lib', version: '2.1', attrs: [kv('lib.lang', 'go')] }),
    ],
    [rs('payment', [payCall], [kv('deployment.environment', 'staging')])],
    [rs('frontend', [later], [kv('deployment.environment', 'prod')])],
  ];
}

const ALL_SCOPES: TagScope[] = ['resource', 'span', 'event', 'link', 'instrumentation', 'intrinsic'];

function q(over: Partial<TagQuery> = {}): TagQuery {
  return { conditions: [], limit: 1000, maxBytes: 1 << 20, ...over };
}

function target(text: string): TagTarget {
  const t = parseTagTarget(text);
  if ('error' in t) throw new Error(t.error);
  return t;
}

async function values(store: Store, name: string, over: Partial<TagQuery> = {}): Promise<string[]> {
  const r = await tagValues(store, TENANT, target(name), q(over));
  return r.values.map((v) => (v.type === 'string' ? v.value : `${v.type}:${v.value}`));
}

async function names(store: Store, over: Partial<TagQuery> = {}): Promise<Record<string, string[]>> {
  const r = await tagNames(store, TENANT, ALL_SCOPES, q(over));
  return Object.fromEntries(r.scopes.map((s) => [s.name, s.tags]));
}

const TENANT = 'single-tenant';
const NARROWING = [
  '{ resource.service.name = "frontend" && kind = server }',
  '{ resource.service.name = "cart" }',
  '{ status = error }',
  '{ status != unset }',
  '{ span.http.status_code >= 400 }',
  '{ .http.status_code < 400 }',
  '{ name =~ "GET.*" && kind = server }',
  '{ name !~ "GET.*" }',
  '{ .ratio > 0.2 && .items = 3 }',
  '{ span.sampled = true }',
  '{ span.rpc.system != nil }',
  '{ .deployment.environment = "prod" }',
  '{ duration > 1ms && statusMessage = "card declined" }',
  '{ instrumentation:name = "cart-lib" }',
  '{ instrumentation.lib.lang = "go" }',
  '{ resource.host.cpus > 4 }',
];
const VALUE_TARGETS = [
  'resource.service.name',
  'resource.deployment.environment',
  'resource.host.cpus',
  'span.http.route',
  'span.http.status_code',
  'span.ratio',
  'span.sampled',
  '.http.route',
  '.deployment.environment',
  'event.cache.key',
  'link.link.reason',
  'instrumentation.lib.lang',
  'name',
  'status',
  'kind',
  'statusMessage',
  'rootName',
  'rootServiceName',
  'event:name',
  'instrumentation:name',
  'instrumentation:version',
  'span:status',
  'duration',
];

/** Everything the endpoints can answer for the corpus, to compare head with blocks. */
async function snapshot(store: Store): Promise<unknown> {
  const out: Record<string, unknown> = { names: await names(store) };
  for (const t of VALUE_TARGETS) out[t] = await tagValues(store, TENANT, target(t), q()).then((r) => r.values);
  for (const query of NARROWING) {
    out[query] = await values(store, 'name', { conditions: conditionsOf(query) });
    out[`${query} names`] = await names(store, { conditions: conditionsOf(query) });
  }
  out['range'] = await values(store, 'span.http.route', { startUnixNano: T0 + 1800n * S });
  out['v1'] = await tagValues(store, TENANT, { type: 'legacy', name: 'name' }, q()).then((r) => r.values);
  return out;
}

describe('tag names and values', () => {
  let dir: string;
  let store: Store;
  let fromHead: unknown;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skein-tags-test-'));
    const config = loadConfig({ env: {}, overrides: [{ path: ['storage', 'path'], value: dir }] });
    store = await Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
    for (const batch of corpus()) await store.append(TENANT, batch);
    fromHead = await snapshot(store);
  });

  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('names per scope, sorted, with the intrinsics Grafana offers', async () => {
    const n = await names(store);
    assert.deepEqual(n['resource'], ['deployment.environment', 'host.cpus', 'service.name']);
    assert.deepEqual(n['span'], ['http.route', 'http.status_code', 'items', 'ratio', 'rpc.system', 'sampled']);
    assert.deepEqual(n['event'], ['cache.key', 'exception.type']);
    assert.deepEqual(n['link'], ['link.reason']);
    assert.deepEqual(n['instrumentation'], ['lib.lang']);
    for (const i of ['name', 'status', 'kind', 'duration', 'rootServiceName', 'span:name', 'trace:rootService']) assert.ok(n['intrinsic']!.includes(i), i);
  });

  test('typed attribute values: string, int, float, bool; unscoped is span and resource', async () => {
    assert.deepEqual(await values(store, 'span.http.route'), ['/api/cart', '/api/pay', '/cart', '/health']);
    assert.deepEqual(await values(store, 'span.http.status_code'), ['int:200', 'int:402']);
    assert.deepEqual(await values(store, 'span.ratio'), ['float:0.25']);
    assert.deepEqual(await values(store, 'span.sampled'), ['bool:true']);
    assert.deepEqual(await values(store, 'resource.host.cpus'), ['int:8']);
    assert.deepEqual(await values(store, '.deployment.environment'), ['prod', 'staging']);
    assert.deepEqual(await values(store, 'resource.http.route'), []);
    assert.deepEqual(await values(store, 'event.cache.key'), ['cart:42']);
    assert.deepEqual(await values(store, 'link.link.reason'), ['retry']);
    assert.deepEqual(await values(store, 'instrumentation.lib.lang'), ['go']);
  });

  test('intrinsic values: status and kind as keywords, names, root names, events, scopes', async () => {
    assert.deepEqual(await values(store, 'status'), ['keyword:error', 'keyword:ok', 'keyword:unset']);
    assert.deepEqual(await values(store, 'span:status'), ['keyword:error', 'keyword:ok', 'keyword:unset']);
    assert.deepEqual(await values(store, 'kind'), ['keyword:client', 'keyword:server']);
    assert.deepEqual(await values(store, 'name'), ['GET /cart', 'GET /health', 'GetCart', 'cart.get', 'charge']);
    assert.deepEqual(await values(store, 'rootName'), ['GET /cart', 'GET /health']);
    assert.deepEqual(await values(store, 'rootServiceName'), ['frontend']);
    assert.deepEqual(await values(store, 'statusMessage'), ['card declined']);
    assert.deepEqual(await values(store, 'event:name'), ['cache.miss', 'exception']);
    assert.deepEqual(await values(store, 'instrumentation:name'), ['cart-lib', 'lib']);
    assert.deepEqual(await values(store, 'duration'), []);
  });

  test('q narrows values and names to spans it matches; an invalid q or one with || does not narrow', async () => {
    const cart = conditionsOf('{ resource.service.name = "cart" }');
    assert.deepEqual(await values(store, 'span.http.route', { conditions: cart }), ['/api/cart']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ status = error }') }), ['charge']);
    assert.deepEqual(await values(store, 'resource.service.name', { conditions: conditionsOf('{ span.http.status_code >= 400 }') }), ['payment']);
    assert.deepEqual(await values(store, 'span.http.route', { conditions: conditionsOf('{ name =~ "GET.*" && kind = server }') }), ['/cart', '/health']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ .ratio > 0.2 && .items = 3 }') }), ['GetCart']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ span.sampled = true }') }), ['GET /cart']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ span.rpc.system != nil }') }), ['cart.get']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ duration > 1ms && statusMessage = "card declined" }') }), ['charge']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ instrumentation:name = "cart-lib" }') }), ['GetCart']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ resource.host.cpus > 4 }') }), ['GET /cart', 'cart.get']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ name !~ "GET.*" }') }), ['GetCart', 'cart.get', 'charge']);
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ .http.status_code < 400 }') }), ['GET /cart']);
    // regexes are anchored, as Tempo's
    assert.deepEqual(await values(store, 'name', { conditions: conditionsOf('{ name =~ "cart" }') }), []);
    const n = await names(store, { conditions: cart });
    assert.deepEqual(n['span'], ['http.route', 'items', 'ratio']);
    assert.deepEqual(n['event'], ['cache.key']);
    for (const ignored of ['{ resource.service.name = ', '{ .a = 1 || .b = 2 }', '{ status = error } >> { kind = client }']) {
      assert.deepEqual(conditionsOf(ignored), [], ignored);
    }
    assert.equal((await values(store, 'span.http.route', { conditions: conditionsOf('{ resource.service.name = ') })).length, 4);
  });

  test('start and end keep to spans that overlap the range', async () => {
    assert.deepEqual(await values(store, 'span.http.route', { startUnixNano: T0 + 1800n * S }), ['/health']);
    assert.deepEqual(await values(store, 'span.http.route', { endUnixNano: T0 + 1800n * S }), ['/api/cart', '/api/pay', '/cart']);
    assert.deepEqual(await values(store, 'span.http.route', { startUnixNano: T0 + 7200n * S }), []);
  });

  test('limits cut the answer in order and say so', async () => {
    const cut = await tagValues(store, TENANT, target('name'), q({ limit: 2 }));
    assert.deepEqual(cut.values.map((v) => v.value), ['GET /cart', 'GET /health']);
    assert.equal(cut.truncated, true);
    const exact = await tagValues(store, TENANT, target('name'), q({ limit: 5 }));
    assert.equal(exact.values.length, 5);
    assert.equal(exact.truncated, false);
    const bytes = await tagValues(store, TENANT, target('name'), q({ maxBytes: 'GET /cart'.length + 'GET /health'.length }));
    assert.deepEqual(bytes.values.map((v) => v.value), ['GET /cart', 'GET /health']);
    assert.equal(bytes.truncated, true);
    const n = await tagNames(store, TENANT, ['span'], q({ limit: 1 }));
    assert.deepEqual(n.scopes, [{ name: 'span', tags: ['http.route'] }]);
    assert.equal(n.truncated, true);
  });

  test('v1 values of a bare name are strings of span and resource attributes; name adds span names', async () => {
    const v = await tagValues(store, TENANT, { type: 'legacy', name: 'http.status_code' }, q());
    assert.deepEqual(v.values, []);
    const env = await tagValues(store, TENANT, { type: 'legacy', name: 'deployment.environment' }, q());
    assert.deepEqual(env.values, [
      { type: 'string', value: 'prod' },
      { type: 'string', value: 'staging' },
    ]);
  });

  test('blocks answer exactly as the head did, and a query spanning both merges them', async () => {
    await store.flush(TENANT);
    assert.ok(store.blocks.blocks(TENANT).length >= 1);
    const fromBlocks = await snapshot(store);
    assert.deepStrictEqual(fromBlocks, fromHead);
    const r = await tagValues(store, TENANT, target('span.http.route'), q());
    assert.ok(r.inspectedBytes > 0);
    assert.ok(r.totalBlocks >= 1);
    // A new span in the head joins the block's values.
    const t = id(16);
    await store.append(TENANT, [rs('frontend', [mkSpan(t, { name: 'GET /new', kind: 2, attrs: [kv('http.route', '/new')] })])]);
    assert.deepEqual(await values(store, 'span.http.route'), ['/api/cart', '/api/pay', '/cart', '/health', '/new']);
    // Limits hold across head and blocks together.
    const cut = await tagValues(store, TENANT, target('span.http.route'), q({ limit: 4 }));
    assert.equal(cut.values.length, 4);
    assert.equal(cut.truncated, true);
  });

  test('another tenant sees nothing', async () => {
    const r = await tagNames(store, 'someone-else', ['span', 'resource'], q());
    assert.deepEqual(r.scopes, [
      { name: 'span', tags: [] },
      { name: 'resource', tags: [] },
    ]);
  });
});

test('tag names on v2 are TraceQL identifiers', () => {
  assert.deepEqual(parseTagTarget('resource.service.name'), { type: 'attribute', scope: 'resource', name: 'service.name' });
  assert.deepEqual(parseTagTarget('span.http.route'), { type: 'attribute', scope: 'span', name: 'http.route' });
  assert.deepEqual(parseTagTarget('.foo'), { type: 'attribute', scope: 'none', name: 'foo' });
  assert.deepEqual(parseTagTarget('span.foo bar'), { type: 'attribute', scope: 'span', name: 'foo bar' });
  assert.deepEqual(parseTagTarget('span."a b"'), { type: 'attribute', scope: 'span', name: 'a b' });
  assert.deepEqual(parseTagTarget('event.exception.type'), { type: 'attribute', scope: 'event', name: 'exception.type' });
  assert.deepEqual(parseTagTarget('name'), { type: 'intrinsic', name: 'name' });
  assert.deepEqual(parseTagTarget('span:status'), { type: 'intrinsic', name: 'status' });
  assert.deepEqual(parseTagTarget('trace:rootService'), { type: 'intrinsic', name: 'rootServiceName' });
  for (const bad of ['', 'service.name', 'foo', 'span.', '{ }', 'name } || { .a', 'parent']) {
    const r = parseTagTarget(bad);
    assert.ok('error' in r, bad);
    assert.match(r.error, /^invalid tag name .*: expected a TraceQL identifier/);
  }
});
