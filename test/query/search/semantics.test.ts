// TraceQL semantics over a real Store: a fixed corpus of traces with known shapes and,
// for each query, the exact traces (and, where it matters, spans) it matches. Every
// query runs with the spans in the head, split between blocks and the head, in blocks
// (one trace's spans spread over two blocks), and after compaction merged the blocks;
// the answers must not change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyValue, ResourceSpans, Span } from '../../../src/otlp/model.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/telemetry/logger.js';
import { Store } from '../../../src/store/store.js';
import { parseTraceQL, validateTraceQL, type PipelineExpr } from '../../../src/query/traceql/index.js';
import { searchTraces, type SearchRequest } from '../../../src/query/search/execute.js';
import { tagsToQuery } from '../../../src/query/search/tags.js';
import { traceFilterOf } from '../../../src/query/traceql/fetch-request.js';
import { traceConditionSql } from '../../../src/store/blocks/trace-sql.js';

const traceCondition = (q: PipelineExpr): string | null => traceConditionSql(traceFilterOf(q)).having;

const MS = 1_000_000n;
const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;
const TENANT = 'semantics';
let idSeq = 1;

type Attr = string | number | boolean | bigint | string[] | { double: number };

const kv = (key: string, v: Attr): KeyValue => ({
  key,
  value:
    typeof v === 'string'
      ? { type: 'string', value: v }
      : typeof v === 'boolean'
        ? { type: 'bool', value: v }
        : typeof v === 'bigint'
          ? { type: 'int', value: v }
          : typeof v === 'number'
            ? Number.isInteger(v)
              ? { type: 'int', value: BigInt(v) }
              : { type: 'double', value: v }
            : Array.isArray(v)
              ? { type: 'array', value: v.map((s) => ({ type: 'string' as const, value: s })) }
              : { type: 'double', value: v.double },
});
const attrs = (o: Record<string, Attr> = {}): KeyValue[] => Object.entries(o).map(([k, v]) => kv(k, v));

function id(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let n = idSeq++;
  for (let i = bytes - 1; i >= 0 && n > 0; i--, n = Math.floor(n / 256)) out[i] = n % 256;
  return out;
}

/** One span of a trace spec; children start `at` ms after the trace start. */
interface N {
  name: string;
  svc: string;
  at?: number;
  ms: number;
  kind?: 0 | 1 | 2 | 3 | 4 | 5;
  status?: 0 | 1 | 2;
  msg?: string;
  attrs?: Record<string, Attr>;
  events?: Array<{ name: string; atMs?: number; attrs?: Record<string, Attr> }>;
  links?: Array<Record<string, Attr>>;
  scope?: string;
  children?: N[];
}

/** Resource attributes beyond service.name, per service. */
const RESOURCES: Record<string, Record<string, Attr>> = {
  frontend: { 'deployment.environment': 'prod', 'host.cpus': 8, tier: 'silver' },
  cart: { 'deployment.environment': 'prod' },
  payment: { 'deployment.environment': 'staging', region: 'eu' },
  db: {},
  auth: { 'deployment.environment': 'prod' },
  queue: { 'deployment.environment': 'prod' },
  worker: { tier: 'silver' },
  chain: {},
};

interface Built {
  label: string;
  traceId: Uint8Array;
  /** [service, scope, span] for each span, in the spec's depth-first order. */
  spans: Array<{ svc: string; scope: string; span: Span }>;
}

function build(label: string, startSec: number, root: N, opts: { orphanParent?: boolean } = {}): Built {
  const traceId = id(16);
  const t0 = T0 + BigInt(startSec) * S;
  const out: Built = { label, traceId, spans: [] };
  const walk = (n: N, parent: Uint8Array): void => {
    const start = t0 + BigInt(n.at ?? 0) * MS;
    const span: Span = {
      traceId,
      spanId: id(8),
      traceState: '',
      parentSpanId: parent,
      flags: 0,
      name: n.name,
      kind: n.kind ?? 1,
      startTimeUnixNano: start,
      endTimeUnixNano: start + BigInt(n.ms) * MS,
      attributes: attrs(n.attrs),
      droppedAttributesCount: 0,
      events: (n.events ?? []).map((e) => ({ timeUnixNano: start + BigInt(e.atMs ?? 0) * MS, name: e.name, attributes: attrs(e.attrs), droppedAttributesCount: 0 })),
      droppedEventsCount: 0,
      links: (n.links ?? []).map((l) => ({ traceId: LINK_TARGET, spanId: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x2a]), traceState: '', attributes: attrs(l), droppedAttributesCount: 0, flags: 0 })),
      droppedLinksCount: 0,
      status: { code: n.status ?? 0, message: n.msg ?? '' },
    };
    out.spans.push({ svc: n.svc, scope: n.scope ?? 'lib', span });
    for (const c of n.children ?? []) walk(c, span.spanId);
  };
  walk(root, opts.orphanParent ? id(8) : new Uint8Array(0));
  return out;
}

const LINK_TARGET = new Uint8Array(16).fill(0xab);

/**
 * The corpus. Labels say what each trace is; start times are 10 s apart so that
 * "most recent" has one right order: C1 is the oldest, H the newest.
 */
const TRACES: Built[] = [
  build('C1', 0, {
    name: 'GET /checkout', svc: 'frontend', kind: 2, ms: 800, attrs: { 'http.method': 'GET', 'http.status_code': 500, tier: 'gold' },
    children: [
      { name: 'cart.get', svc: 'frontend', kind: 3, at: 10, ms: 120, children: [
        { name: 'cart.get', svc: 'cart', kind: 2, at: 20, ms: 100, attrs: { 'http.status_code': 200, items: 3 } },
      ] },
      { name: 'payment.charge', svc: 'payment', kind: 2, at: 150, ms: 500, status: 2, msg: 'card declined',
        attrs: { amount: { double: 99.5 }, retry: true, 'http.status_code': 402 },
        events: [{ name: 'exception', atMs: 300, attrs: { 'exception.type': 'CardError', 'exception.escaped': false } }],
        children: [{ name: 'db.query', svc: 'db', kind: 3, at: 200, ms: 50, attrs: { 'db.system': 'postgres', 'db.rows': 12 } }] },
    ],
  }),
  build('H2', 10, {
    name: 'GET /home', svc: 'frontend', kind: 2, ms: 30, attrs: { 'http.method': 'GET', 'http.status_code': 200 },
    children: [{ name: 'cart.get', svc: 'cart', kind: 2, at: 5, ms: 10, attrs: { 'http.status_code': 200, items: 0 } }],
  }),
  build('L3', 20, {
    name: 'POST /login', svc: 'frontend', kind: 2, ms: 1200, status: 1, attrs: { 'http.method': 'POST', 'http.status_code': 200 },
    children: [{ name: 'auth.check', svc: 'auth', kind: 1, at: 50, ms: 1100, attrs: { 'user.id': 'u-42' },
      children: [{ name: 'db.query', svc: 'db', kind: 3, at: 100, ms: 900, status: 2, msg: 'timeout', attrs: { 'db.system': 'mysql', 'db.rows': 0 } }] }],
  }),
  build('Q4', 30, {
    name: 'consume order', svc: 'queue', kind: 5, ms: 200, links: [{ 'link.kind': 'follows' }],
    children: [{ name: 'payment.refund', svc: 'payment', kind: 1, at: 20, ms: 150, attrs: { amount: 20 } }],
  }),
  build('C5', 40, {
    name: 'GET /checkout', svc: 'frontend', kind: 2, ms: 700, attrs: { 'http.method': 'GET', 'http.status_code': 503 },
    children: [
      { name: 'payment.charge', svc: 'payment', kind: 2, at: 10, ms: 400, attrs: { amount: { double: 12.25 }, retry: false } },
      { name: 'cart.get', svc: 'cart', kind: 2, at: 20, ms: 5, status: 2, msg: 'unavailable', attrs: { 'http.status_code': 503, items: 1 } },
    ],
  }),
  build('W6', 50, {
    name: 'batch job', svc: 'worker', kind: 4, ms: 2000, attrs: { tier: 'gold', 'job.id': 7 }, scope: 'custom-instr',
    children: [{ name: 'batch step', svc: 'worker', kind: 1, at: 100, ms: 300, scope: 'custom-instr' }],
  }),
  build('D7', 60, {
    name: 'a', svc: 'chain', ms: 40, attrs: { depth: 0 },
    children: [{ name: 'b', svc: 'chain', at: 1, ms: 30, attrs: { depth: 1 },
      children: [{ name: 'c', svc: 'chain', at: 2, ms: 20, attrs: { depth: 2 },
        children: [{ name: 'd', svc: 'chain', at: 3, ms: 10, attrs: { depth: 3, labels: ['x', 'y'] } }] }] }],
  }),
  build('O8', 70, {
    name: 'orphan', svc: 'worker', ms: 15, attrs: { tier: 'bronze' },
    children: [{ name: 'orphan child', svc: 'worker', at: 1, ms: 5 }],
  }, { orphanParent: true }),
  build('H9', 80, { name: 'healthz', svc: 'frontend', kind: 2, ms: 1, scope: 'health-instr', attrs: { ratio: { double: 0.5 } } }),
];

/** Instrumentation scope versions by scope name. */
const SCOPE_VERSION: Record<string, string> = { lib: '1.0', 'custom-instr': '2.0', 'health-instr': '0.1' };

function batchesOf(traces: readonly Built[], pick: (i: number) => boolean = () => true): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  for (const t of traces) {
    t.spans.forEach(({ svc, scope, span }, i) => {
      if (!pick(i)) return;
      out.push({
        resource: { attributes: [kv('service.name', svc), ...attrs(RESOURCES[svc])], droppedAttributesCount: 0 },
        schemaUrl: '',
        scopeSpans: [{ scope: { name: scope, version: SCOPE_VERSION[scope]!, attributes: attrs(scope === 'custom-instr' ? { 'lib.lang': 'go' } : {}), droppedAttributesCount: 0 }, schemaUrl: '', spans: [span] }],
      });
    });
  }
  return out;
}

const LABEL = new Map(TRACES.map((t) => [Buffer.from(t.traceId).toString('hex'), t.label]));
/** Every label, newest first. */
const ALL = [...TRACES].reverse().map((t) => t.label);

/**
 * Each case: a query and what it matches, newest trace first. With a record, the
 * matched span names of each trace (sorted) are checked too.
 */
type Expect = string[] | Record<string, string[]>;
const CASES: Array<[string, Expect]> = [
  // intrinsics
  ['{}', ALL],
  ['{ true }', ALL],
  ['{ false }', []],
  ['{ name = "payment.charge" }', { C5: ['payment.charge'], C1: ['payment.charge'] }],
  ['{ span:name = "cart.get" }', { C5: ['cart.get'], H2: ['cart.get'], C1: ['cart.get', 'cart.get'] }],
  ['{ name != "a" && resource.service.name = "chain" }', { D7: ['b', 'c', 'd'] }],
  ['{ name =~ "GET .*" }', ['C5', 'H2', 'C1']],
  ['{ name =~ "check" }', []],
  ['{ name =~ "(?i)get /HOME" }', ['H2']],
  ['{ name !~ ".*e.*" && resource.service.name = "chain" }', { D7: ['a', 'b', 'c', 'd'] }],
  ['{ name > "orphan" }', { O8: ['orphan child'], C5: ['payment.charge'], Q4: ['payment.refund'], C1: ['payment.charge'] }],
  ['{ status = error }', { C5: ['cart.get'], L3: ['db.query'], C1: ['payment.charge'] }],
  ['{ span:status = ok }', ['L3']],
  ['{ status = unset && resource.service.name = "db" }', ['C1']],
  ['{ status != unset && kind = server }', ['C5', 'L3', 'C1']],
  ['{ statusMessage = "timeout" }', ['L3']],
  ['{ span:statusMessage =~ "card.*" }', ['C1']],
  ['{ kind = server }', ['H9', 'C5', 'L3', 'H2', 'C1']],
  ['{ kind = client }', { L3: ['db.query'], C1: ['cart.get', 'db.query'] }],
  ['{ kind = consumer }', ['Q4']],
  ['{ kind = producer }', ['W6']],
  ['{ kind = internal && resource.service.name = "auth" }', ['L3']],
  ['{ kind = unspecified }', []],
  ['{ kind != server && kind != internal && kind != client }', ['W6', 'Q4']],
  ['{ duration > 1s }', { W6: ['batch job'], L3: ['POST /login', 'auth.check'] }],
  ['{ span:duration >= 500ms && span:duration <= 800ms }', { C5: ['GET /checkout'], C1: ['GET /checkout', 'payment.charge'] }],
  ['{ duration < 2ms }', ['H9']],
  ['{ duration = 1100ms }', ['L3']],
  ['{ duration > 0.9s }', ['W6', 'L3']],
  ['{ traceDuration > 1s }', ['W6', 'L3']],
  ['{ trace:duration < 50ms && name = "healthz" }', ['H9']],
  ['{ rootName = "GET /checkout" }', ['C5', 'C1']],
  ['{ trace:rootName = "GET /checkout" && status = error }', { C5: ['cart.get'], C1: ['payment.charge'] }],
  ['{ rootServiceName = "queue" }', ['Q4']],
  ['{ trace:rootService = "frontend" && resource.service.name = "db" }', ['L3', 'C1']],
  ['{ rootServiceName = "worker" }', ['W6']],
  ['{ childCount = 2 }', { C5: ['GET /checkout'], C1: ['GET /checkout'] }],
  ['{ span:childCount > 0 && resource.service.name = "chain" }', { D7: ['a', 'b', 'c'] }],
  ['{ nestedSetParent = -1 && name = "orphan" }', []],
  ['{ nestedSetLeft = 0 }', { O8: ['orphan', 'orphan child'] }],
  ['{ span:parentID != "x" }', ['O8', 'D7', 'W6', 'C5', 'Q4', 'L3', 'H2', 'C1']],
  ['{ event:name = "exception" }', { C1: ['payment.charge'] }],
  ['{ event.exception.type = "CardError" }', ['C1']],
  ['{ event.exception.escaped = false && event:name = "exception" }', ['C1']],
  ['{ event:timeSinceStart > 100ms }', ['C1']],
  ['{ event:timeSinceStart > 400ms }', []],
  ['{ link.link.kind = "follows" }', { Q4: ['consume order'] }],
  ['{ link:traceID = "abababababababababababababababab" }', ['Q4']],
  ['{ link:spanID = "000000000000002a" }', ['Q4']],
  ['{ instrumentation:name = "custom-instr" }', { W6: ['batch job', 'batch step'] }],
  ['{ instrumentation:version = "0.1" }', ['H9']],
  ['{ instrumentation.lib.lang = "go" }', ['W6']],
  // attributes: scopes, types, unscoped lookup order
  ['{ resource.service.name = "payment" }', { C5: ['payment.charge'], Q4: ['payment.refund'], C1: ['payment.charge'] }],
  ['{ resource.service.name =~ "pay.*|auth" }', ['C5', 'Q4', 'L3', 'C1']],
  ['{ resource.service.name != "frontend" && kind = server }', { C5: ['cart.get', 'payment.charge'], H2: ['cart.get'], C1: ['cart.get', 'payment.charge'] }],
  ['{ .service.name = "queue" }', ['Q4']],
  ['{ resource.deployment.environment = "staging" }', ['C5', 'Q4', 'C1']],
  ['{ resource.region = "eu" && status = error }', ['C1']],
  ['{ resource.host.cpus = 8 && name = "healthz" }', ['H9']],
  ['{ resource.host.cpus >= 8.0 && name = "healthz" }', ['H9']],
  ['{ span.http.status_code = 200 }', { L3: ['POST /login'], H2: ['GET /home', 'cart.get'], C1: ['cart.get'] }],
  ['{ span.http.status_code >= 500 }', { C5: ['GET /checkout', 'cart.get'], C1: ['GET /checkout'] }],
  ['{ span.http.status_code = "200" }', []],
  ['{ .http.status_code > 400 && .http.status_code < 500 }', ['C1']],
  ['{ span.http.method = "POST" }', ['L3']],
  ['{ span.amount > 50 }', ['C1']],
  ['{ span.amount > 10 }', { C5: ['payment.charge'], Q4: ['payment.refund'], C1: ['payment.charge'] }],
  ['{ span.amount = 20 }', ['Q4']],
  ['{ span.amount = 12.25 }', ['C5']],
  ['{ span.retry = true }', ['C1']],
  ['{ span.retry = false }', ['C5']],
  ['{ span.retry != true }', ['C5']],
  ['{ span.items = 0 }', ['H2']],
  ['{ span.ratio < 1 }', ['H9']],
  ['{ span.labels = "y" }', { D7: ['d'] }],
  ['{ span.labels =~ "x|z" }', ['D7']],
  ['{ span.user.id = "u-42" }', ['L3']],
  ['{ span.user.id != nil }', ['L3']],
  ['{ span.db.system != nil }', { L3: ['db.query'], C1: ['db.query'] }],
  ['{ span.db.system != "postgres" }', ['L3']],
  ['{ .tier = "gold" }', { W6: ['batch job'], C1: ['GET /checkout'] }],
  ['{ .tier = "silver" }', { H9: ['healthz'], O8: ['orphan child'], W6: ['batch step'], C5: ['GET /checkout'], L3: ['POST /login'], H2: ['GET /home'], C1: ['cart.get'] }],
  ['{ resource.tier = "silver" && span.tier = "gold" }', ['W6', 'C1']],
  ['{ span.tier = "silver" }', []],
  ['{ .missing = "x" }', []],
  ['{ .missing != "x" }', []],
  ['{ span."db.rows" = 12 }', ['C1']],
  // arithmetic
  ['{ span.db.rows * 2 = 24 }', ['C1']],
  ['{ span.db.rows + 1 > 5 }', ['C1']],
  ['{ span.depth * 10 + 5 = 25 }', { D7: ['c'] }],
  ['{ span.depth % 2 = 1 }', { D7: ['b', 'd'] }],
  ['{ span.depth ^ 2 = 9 }', { D7: ['d'] }],
  ['{ span.depth / 2 = 1.5 }', { D7: ['d'] }],
  ['{ duration - 100ms > 1s }', { W6: ['batch job'], L3: ['POST /login'] }],
  ['{ -span.depth = -2 }', { D7: ['c'] }],
  ['{ !(span.depth > 0) && resource.service.name = "chain" }', { D7: ['a'] }],
  ['{ span.depth > 1 || name = "a" }', { D7: ['a', 'c', 'd'] }],
  // spanset operators
  ['{ resource.service.name = "cart" } && { status = error }', { C5: ['cart.get'], C1: ['cart.get', 'payment.charge'] }],
  ['{ name = "auth.check" } || { name = "payment.refund" }', ['Q4', 'L3']],
  ['{ name = "nothing" } || { name = "healthz" }', ['H9']],
  ['{ name = "nothing" } && { name = "healthz" }', []],
  // structural
  ['{ name = "GET /checkout" } > { resource.service.name = "payment" }', { C5: ['payment.charge'], C1: ['payment.charge'] }],
  ['{ resource.service.name = "frontend" } > { resource.service.name = "cart" }', { C5: ['cart.get'], H2: ['cart.get'], C1: ['cart.get'] }],
  ['{ resource.service.name = "frontend" } >> { status = error }', { C5: ['cart.get'], L3: ['db.query'], C1: ['payment.charge'] }],
  ['{ kind = server } >> { resource.service.name = "db" }', { L3: ['db.query'], C1: ['db.query'] }],
  ['{ name = "a" } >> { name = "d" }', ['D7']],
  ['{ name = "a" } > { name = "d" }', []],
  ['{ resource.service.name = "db" } < { kind = server }', { C1: ['payment.charge'] }],
  ['{ resource.service.name = "db" } << { kind = server }', { L3: ['POST /login'], C1: ['GET /checkout', 'payment.charge'] }],
  ['{ name = "d" } << { }', { D7: ['a', 'b', 'c'] }],
  ['{ name = "cart.get" } ~ { name = "payment.charge" }', { C5: ['payment.charge'], C1: ['payment.charge'] }],
  ['{ name = "b" } ~ { }', []],
  ['{ name = "orphan child" } < { }', []],
  ['{ kind = server } !> { resource.service.name = "db" }', { L3: ['db.query'] }],
  ['{ name = "GET /checkout" } !> { resource.service.name = "payment" }', { Q4: ['payment.refund'] }],
  ['{ name = "a" } !>> { resource.service.name = "chain" }', { D7: ['a'] }],
  ['{ status = error } !< { kind = server }', { H9: ['healthz'], C5: ['cart.get', 'payment.charge'], L3: ['POST /login'], H2: ['GET /home', 'cart.get'], C1: ['cart.get', 'payment.charge'] }],
  ['{ name = "d" } !<< { resource.service.name = "chain" }', { D7: ['d'] }],
  ['{ name = "payment.charge" } !~ { resource.service.name = "cart" && kind = server }', { H2: ['cart.get'], C1: ['cart.get'] }],
  ['{ name = "GET /checkout" } &> { resource.service.name = "payment" }', { C5: ['GET /checkout', 'payment.charge'], C1: ['GET /checkout', 'payment.charge'] }],
  ['{ name = "b" } &>> { name = "d" }', { D7: ['b', 'd'] }],
  ['{ name = "d" } &< { }', { D7: ['c', 'd'] }],
  ['{ name = "c" } &<< { name = "a" }', { D7: ['a', 'c'] }],
  ['{ name = "cart.get" && kind = server } &~ { name = "payment.charge" }', { C5: ['cart.get', 'payment.charge'] }],
  ['{ name = "a" } > { name = "b" } > { name = "c" }', { D7: ['c'] }],
  // pipelines
  ['{ resource.service.name = "payment" } | count() > 0', ['C5', 'Q4', 'C1']],
  ['{ } | count() > 3', ['D7', 'C1']],
  ['{ } | count() = 3', ['C5', 'L3']],
  ['{ kind = server } | count() >= 2', ['C5', 'H2', 'C1']],
  ['{ } | avg(duration) > 500ms', ['W6', 'L3']],
  ['{ } | max(duration) >= 2s', ['W6']],
  ['{ } | min(duration) < 5ms', ['H9']],
  ['{ } | sum(span.depth) = 6', ['D7']],
  ['{ } | sum(span.amount) > 100', []],
  ['{ } | avg(span.db.rows) = 12', ['C1']],
  ['{ } | max(span.http.status_code) = 503', ['C5']],
  ['{ } | count() > 1 + 2', ['D7', 'C1']],
  ['{ kind = server } | by(resource.service.name) | count() > 1', []],
  ['{ status = error } | by(resource.service.name)', ['C5', 'L3', 'C1']],
  ['{ } | by(resource.service.name) | count() = 4', { D7: ['a', 'b', 'c', 'd'] }],
  // spans without the attribute form a group of their own, as in Tempo
  ['{ } | by(span.http.method) | count() = 1', ['H9', 'C5', 'L3', 'H2', 'C1']],
  ['{ resource.service.name = "frontend" } | { kind = client }', { C1: ['cart.get'] }],
  ['{ } | { name = "db.query" } | { status = error }', ['L3']],
  ['{ } | select(span.http.method, resource.region)', ALL],
  ['{ name = "db.query" } | coalesce()', ['L3', 'C1']],
  ['({ name = "a" } | count() = 1) && ({ name = "d" })', { D7: ['a', 'd'] }],
  ['({ kind = server } | count() > 1) >> ({ status = error })', { C5: ['cart.get'], C1: ['payment.charge'] }],
  ['{ status = error } with (most_recent=true)', ['C5', 'L3', 'C1']],
];

const matchedTraces = (e: Expect): string[] => (Array.isArray(e) ? e : Object.keys(e));

function request(query: PipelineExpr, over: Partial<SearchRequest> = {}): SearchRequest {
  return { tenants: TENANT, query, limit: 100, deadlineMs: Date.now() + 60_000, maxBytesInspected: 0, ...over };
}

function parse(text: string): PipelineExpr {
  const { ast } = parseTraceQL(text);
  validateTraceQL(ast);
  assert.notEqual(ast.query.type, 'metricsQuery');
  return ast.query as PipelineExpr;
}

async function run(store: Store, text: string): Promise<{ traces: string[]; spans: Record<string, string[]> }> {
  const result = await searchTraces(store, request(parse(text)), { timeoutText: '60s', maxBytesText: '0' });
  const traces = result.traces.map((t) => LABEL.get(t.trace.traceId) ?? t.trace.traceId);
  const spans: Record<string, string[]> = {};
  for (const t of result.traces) {
    const names = [...new Set(t.spansets.flatMap((s) => s.spans))].map((s) => s.stored.span.name).sort();
    spans[LABEL.get(t.trace.traceId)!] = names;
  }
  return { traces, spans };
}

async function answers(store: Store): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [text] of CASES) out[text] = await run(store, text);
  return out;
}

/** The queries whose answers differ, each with both answers (empty when all agree). */
function differences(got: Record<string, unknown>, want: Record<string, unknown>): string[] {
  return Object.keys(want)
    .filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]))
    .map((k) => `${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`);
}

function check(text: string, expect: Expect, got: { traces: string[]; spans: Record<string, string[]> }): void {
  assert.deepEqual(got.traces, matchedTraces(expect), `traces of ${text}`);
  if (!Array.isArray(expect)) {
    for (const [label, names] of Object.entries(expect)) {
      if (names.length > 0) assert.deepEqual(got.spans[label], [...names].sort(), `spans of ${text} in ${label}`);
    }
  }
}

let dir: string;
let headStore: Store;
let blockStore: Store;

async function openStore(path: string): Promise<Store> {
  const config = loadConfig({
    env: {},
    overrides: [
      { path: ['storage', 'path'], value: path },
      { path: ['storage', 'retention'], value: '36500d' },
      { path: ['storage', 'compaction', 'min_input_blocks'], value: 2 },
    ],
  });
  return Store.open({ storage: config.storage, limits: config.limits, logger: silentLogger });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-search-semantics-'));
  headStore = await openStore(join(dir, 'head'));
  await headStore.append(TENANT, batchesOf(TRACES));
  blockStore = await openStore(join(dir, 'blocks'));
});

after(async () => {
  await headStore?.close();
  await blockStore?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('TraceQL search semantics', () => {
  test(`the corpus has ${CASES.length} queries, each parsed and pushed down to SQL or left to the evaluator`, () => {
    assert.ok(CASES.length >= 80);
    for (const [text] of CASES) traceCondition(parse(text));
  });

  let fromHead: Record<string, unknown>;
  test('spans in the head: every query matches exactly the expected traces and spans, newest first', async () => {
    fromHead = await answers(headStore);
    const failures: string[] = [];
    for (const [text, expect] of CASES) {
      try {
        check(text, expect, fromHead[text] as { traces: string[]; spans: Record<string, string[]> });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('spans split between a block and the head (even within one trace): the same answers', async () => {
    // Even-numbered spans of every trace go to a block first, the rest stay in the head.
    await blockStore.append(TENANT, batchesOf(TRACES, (i) => i % 2 === 0));
    await blockStore.flush(TENANT);
    await blockStore.append(TENANT, batchesOf(TRACES, (i) => i % 2 === 1));
    assert.deepEqual(differences(await answers(blockStore), fromHead), []);
  });

  test('spans in two blocks (traces spread over both): the same answers', async () => {
    await blockStore.flush(TENANT);
    assert.equal(blockStore.blocks.blocks(TENANT).length, 2);
    assert.deepEqual(differences(await answers(blockStore), fromHead), []);
  });

  test('after compaction merged the blocks: the same answers', async () => {
    await blockStore.runMaintenance();
    assert.equal(blockStore.blocks.blocks(TENANT).length, 1);
    assert.deepEqual(differences(await answers(blockStore), fromHead), []);
  });

  test('the SQL pushed down to the blocks runs, and keeps every trace the query matches', async () => {
    const narrowed: string[] = [];
    await blockStore.blocks.withParts(TENANT, {}, async (parts, engine) => {
      const files = `[${parts.map((p) => `'${p.path}'`).join(', ')}]`;
      for (const [text, expect] of CASES) {
        const cond = traceCondition(parse(text));
        const rows = await engine.all<{ trace_id: string }>(
          `SELECT trace_id FROM read_parquet(${files}) GROUP BY trace_id${cond === null ? '' : ` HAVING ${cond}`}`,
        );
        const candidates = new Set(rows.map((r) => LABEL.get(r.trace_id)));
        for (const label of matchedTraces(expect)) assert.ok(candidates.has(label), `${text}: the pushdown drops ${label}`);
        if (candidates.size < TRACES.length) narrowed.push(text);
      }
    });
    // Most queries narrow in SQL; the rest are left to the evaluator (arithmetic, trace-level intrinsics, …).
    assert.ok(narrowed.length >= 100, `only ${narrowed.length} queries narrowed in SQL`);
    assert.ok(narrowed.includes('{ resource.service.name = "payment" }'));
    assert.ok(narrowed.includes('{ span.labels = "y" }'));
    assert.ok(narrowed.includes('{ name =~ "(?i)get /HOME" }'));
  });

  test('duplicated spans (the same batch written twice, in head and block) count once', async () => {
    await blockStore.append(TENANT, batchesOf(TRACES.filter((t) => t.label === 'C1')));
    const got = await run(blockStore, '{ } | count() = 5');
    assert.deepEqual(got.traces, ['C1']);
  });

  test('limit keeps the most recent matches; time range and trace duration bounds narrow', async () => {
    const q = parse('{ kind = server }');
    const top2 = await searchTraces(blockStore, request(q, { limit: 2 }), { timeoutText: '60s', maxBytesText: '0' });
    assert.deepEqual(top2.traces.map((t) => LABEL.get(t.trace.traceId)), ['H9', 'C5']);
    const ranged = await searchTraces(
      blockStore,
      request(q, { startUnixNano: T0 + 10n * S, endUnixNano: T0 + 41n * S }),
      { timeoutText: '60s', maxBytesText: '0' },
    );
    assert.deepEqual(ranged.traces.map((t) => LABEL.get(t.trace.traceId)), ['C5', 'L3', 'H2']);
    const long = await searchTraces(blockStore, request(q, { minDurationNano: 700n * MS, maxDurationNano: 1200n * MS }), {
      timeoutText: '60s',
      maxBytesText: '0',
    });
    assert.deepEqual(long.traces.map((t) => LABEL.get(t.trace.traceId)), ['C5', 'L3', 'C1']);
  });

  test('legacy tags: case-insensitive substring of span or resource attributes, intrinsics by their Tempo names', async () => {
    const cases: Array<[string, string[]]> = [
      ['service.name=PAY', ['C5', 'Q4', 'C1']],
      ['db.system=SQL', ['L3']],
      ['http.status_code=503', ['C5']],
      ['name=checkout status.code=error', ['C5', 'C1']],
      ['root.service.name=queue', ['Q4']],
      ['error=true region=eu', ['C5', 'C1']],
      ['user.id="U-4"', ['L3']],
      ['retry=true', ['C1']],
    ];
    for (const [tags, want] of cases) {
      const query = tagsToQuery(tags);
      assert.ok(!('error' in query), tags);
      const got = await searchTraces(blockStore, request(query), { timeoutText: '60s', maxBytesText: '0' });
      assert.deepEqual(got.traces.map((t) => LABEL.get(t.trace.traceId)), want, tags);
    }
    assert.deepEqual(tagsToQuery('a="unterminated'), { error: 'invalid tags "a=\\"unterminated": unterminated quoted value for a' });
  });
});
