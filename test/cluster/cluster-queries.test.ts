// Two instances of a cluster answering queries together (issue 11's read path). A runs in
// this process: its store asks its peers through PeerQueries (a fixed Membership, as
// membership.ts would give). B is a real Skein (the CLI, a child process) whose spans sit
// in its head; the two share their blocks directory, as instances share a bucket (B's
// blocks/ is a link to A's), and A lists B's blocks when the test polls its block list.
//
// A finds B's head trace by ID, by TraceQL and tag search, among tag names and values, and
// counts it in a TraceQL metric; after B cuts its head into a block, nothing counts twice,
// before A has listed that block and after. With B killed (SIGKILL) or hanging, A still
// answers, marked `"status": "PARTIAL"`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/server.js';
import type { ApiContext } from '../../src/api/context.js';
import type { Membership, Peer } from '../../src/cluster/peer.js';
import { PeerQueries } from '../../src/cluster/peer-queries.js';
import { loadConfig } from '../../src/config/load.js';
import { Overrides } from '../../src/config/overrides.js';
import { listenHttp } from '../../src/net/http-server.js';
import { toHex } from '../../src/otlp/model.js';
import { LocalBackend } from '../../src/store/backend/local.js';
import { Store } from '../../src/store/store.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { batchOf, newTraceId, postProtobuf, span, str } from '../helpers/spans.js';
import { OPEN_AUTH } from '../../src/auth/index.js';

const S = 1_000_000_000n;
/** A minute ago: inside the metrics API's default range (the last hour) and the search's (all time). */
const NOW = BigInt(Date.now()) * 1_000_000n - 60n * S;
// Generous for the peer that answers (tests run side by side); the hanging one waits it out once.
const PEER_TIMEOUT = '3s';

let dir: string;
let b: SkeinProcess;
let a: { ctx: ApiContext; app: FastifyInstance; url: string; remote: PeerQueries };
/** A's view of the cluster, changed by the tests (B replaced by a hanging peer). */
let peers: Peer[];

const config = () =>
  loadConfig({
    env: {},
    overrides: [
      { path: ['storage', 'path'], value: join(dir, 'a') },
      { path: ['cluster', 'peer_query_timeout'], value: PEER_TIMEOUT },
    ],
  });

async function openA(remote: PeerQueries): Promise<Store> {
  const c = config();
  const backend = new LocalBackend(join(dir, 'a', 'blocks'), { shared: true });
  return Store.open({ storage: c.storage, limits: c.limits, logger: silentLogger, remote, backend });
}

async function get(path: string, params: Record<string, string> = {}): Promise<{ status: number; text: string; json: () => Record<string, unknown> }> {
  const res = await fetch(`${a.url}${path}${Object.keys(params).length > 0 ? `?${new URLSearchParams(params)}` : ''}`);
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** B's trace: three spans in service only-b, one with the attribute b.attr. */
const tb = newTraceId();
const TB = toHex(tb);
/** A trace only ever in B's head, sent just before B is killed. */
const tb2 = newTraceId();
const TB2 = toHex(tb2);

function bTrace(traceId: Uint8Array, offset: bigint) {
  const root = span({ traceId, name: 'b-root', startUnixNano: NOW + offset, durationNano: S, attributes: [str('b.attr', 'x')] });
  return batchOf('only-b', [
    root,
    span({ traceId, parentSpanId: root.spanId, name: 'b-child-1', startUnixNano: NOW + offset + 1000n }),
    span({ traceId, parentSpanId: root.spanId, name: 'b-child-2', startUnixNano: NOW + offset + 2000n }),
  ]);
}

const searchFor = (q: string) => get('/api/search', { q });
const ids = (body: Record<string, unknown>) => (body['traces'] as Array<{ traceID: string }>).map((t) => t.traceID.padStart(32, '0'));
const spanCount = (body: Record<string, unknown>) =>
  ((body['trace'] as { resourceSpans?: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> }).resourceSpans ?? []).reduce(
    (n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0),
    0,
  );

/** count_over_time() of B's spans over the last hour (an instant query: one value). */
async function countOnlyB(): Promise<{ count: number; body: Record<string, unknown> }> {
  const res = await get('/api/metrics/query', { q: '{ resource.service.name = "only-b" } | count_over_time()' });
  assert.equal(res.status, 200, res.text);
  const body = res.json();
  const series = body['series'] as Array<{ value?: number }>;
  return { count: series.reduce((n, s) => n + (s.value ?? 0), 0), body };
}

async function tagValues(name: string): Promise<{ values: string[]; body: Record<string, unknown> }> {
  const res = await get(`/api/v2/search/tag/${name}/values`);
  assert.equal(res.status, 200, res.text);
  const body = res.json();
  return { values: (body['tagValues'] as Array<{ value: string }>).map((v) => v.value), body };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skein-cluster-queries-'));
  await mkdir(join(dir, 'a', 'blocks'), { recursive: true });
  await mkdir(join(dir, 'b'), { recursive: true });
  await symlink(join(dir, 'a', 'blocks'), join(dir, 'b', 'blocks'), 'dir');
  b = await startSkein({ dataDir: join(dir, 'b') });

  const self: Peer = { id: 'a:4317', otlpGrpc: 'a:4317', http: 'unused' };
  peers = [self, { id: 'b:4317', otlpGrpc: 'b:4317', http: new URL(b.url).host }];
  const membership: Membership = { self, peers: () => peers, onChange: () => () => undefined };
  const remote = new PeerQueries({ membership, timeoutMs: config().cluster.peer_query_timeout, peerToken: '', logger: silentLogger });
  const ctx: ApiContext = { config: config(), logger: silentLogger, target: 'all', auth: OPEN_AUTH, overrides: new Overrides(config()), store: undefined, ready: true, serviceGraph: undefined, spanMetrics: undefined };
  ctx.store = await openA(remote);
  const app = createApiServer(ctx);
  a = { ctx, app, url: `http://${await listenHttp(app, '127.0.0.1:0')}`, remote };

  // A holds a trace of its own in its head; B's is only in B's head.
  await ctx.store.append('single-tenant', batchOf('svc-a', [span({ traceId: newTraceId(), name: 'a-op', startUnixNano: NOW })]));
  assert.equal((await postProtobuf(b.otlpHttpUrl, bTrace(tb, 0n))).status, 200);
});

after(async () => {
  await a?.app.close();
  await a?.ctx.store?.close();
  a?.remote.close();
  await b?.kill();
  await rm(dir, { recursive: true, force: true });
});

describe('a peer’s head through another instance', () => {
  test('trace by ID finds the spans only the peer holds', async () => {
    const res = await get(`/api/v2/traces/${TB}`);
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(spanCount(body), 3);
    assert.equal(body['status'], undefined, 'a complete answer carries no status');
  });

  test('TraceQL and tag search find it, and the local trace alongside', async () => {
    const traceql = await searchFor('{ resource.service.name = "only-b" }');
    assert.equal(traceql.status, 200, traceql.text);
    assert.deepEqual(ids(traceql.json()), [TB]);
    assert.equal(traceql.json()['status'], undefined);
    const tags = await get('/api/search', { tags: 'service.name=only-b' });
    assert.deepEqual(ids(tags.json()), [TB]);
    const everything = await searchFor('{ }');
    assert.equal(ids(everything.json()).length, 2);
  });

  test('tag names and values include the peer’s', async () => {
    const { values, body } = await tagValues('resource.service.name');
    assert.deepEqual(values, ['only-b', 'svc-a']);
    assert.equal(body['status'], undefined);
    const names = await get('/api/v2/search/tags', { scope: 'span' });
    const scopes = names.json()['scopes'] as Array<{ name: string; tags: string[] }>;
    assert.ok(scopes.find((s) => s.name === 'span')?.tags.includes('b.attr'), names.text);
  });

  test('a TraceQL metric counts the peer’s head spans once', async () => {
    const { count, body } = await countOnlyB();
    assert.equal(count, 3);
    assert.equal(body['status'], undefined);
  });
});

describe('after the peer cuts its head into a block', () => {
  before(async () => {
    const res = await fetch(`${b.url}/flush`, { method: 'POST' });
    assert.equal(res.status, 204);
  });

  test('before this instance lists the block: found through the peer’s recent blocks, and never counted twice', async () => {
    const byId = await get(`/api/v2/traces/${TB}`);
    assert.equal(spanCount(byId.json()), 3);
    assert.deepEqual(ids((await searchFor('{ resource.service.name = "only-b" }')).json()), [TB]);
    assert.ok((await tagValues('resource.service.name')).values.includes('only-b'));
    // An aggregate asks peers for their heads only (their blocks are aggregated from the
    // bucket, here): B's head is empty, and A has not listed B's block yet. Until it does
    // (one block-list poll) these spans are not counted at all; never twice.
    assert.equal((await countOnlyB()).count, 0);
  });

  test('once this instance has listed it: every answer holds the trace once', async () => {
    // A's block-list poll (its timer's work, done here when the test needs it).
    await a.ctx.store!.pollBlocks();
    assert.equal((await countOnlyB()).count, 3);
    assert.deepEqual(ids((await searchFor('{ resource.service.name = "only-b" }')).json()), [TB]);
    const byId = await get(`/api/v2/traces/${TB}`);
    assert.equal(spanCount(byId.json()), 3, 'spans from this instance’s block and the peer’s recent one, each once');
    assert.deepEqual((await tagValues('resource.service.name')).values, ['only-b', 'svc-a']);
  });
});

describe('a peer that is gone or hangs', () => {
  before(async () => {
    assert.equal((await postProtobuf(b.otlpHttpUrl, bTrace(tb2, 10n * S))).status, 200);
    await b.kill();
  });

  test('killed (SIGKILL): every answer is given, marked partial, naming the peer', async () => {
    const search = await searchFor('{ resource.service.name = "only-b" }');
    assert.equal(search.status, 200, search.text);
    const body = search.json();
    assert.deepEqual(ids(body), [TB], 'what this instance holds is still found');
    assert.equal(body['status'], 'PARTIAL');
    assert.match(String(body['message']), /b:4317/);

    const byId = await get(`/api/v2/traces/${TB}`);
    assert.equal(byId.status, 200, byId.text);
    assert.equal(spanCount(byId.json()), 3);
    assert.equal(byId.json()['status'], 'PARTIAL');
    const gone = await get(`/api/v2/traces/${TB2}`);
    assert.equal(gone.status, 404);
    assert.match(gone.text, /trace not found; partial answer: .*b:4317/);

    const values = await tagValues('resource.service.name');
    assert.deepEqual(values.values, ['only-b', 'svc-a']);
    assert.equal(values.body['status'], 'PARTIAL');

    const metric = await countOnlyB();
    assert.equal(metric.count, 3);
    assert.equal(metric.body['status'], 'PARTIAL');

    const prometheus = await (await fetch(`${a.url}/metrics`)).text();
    for (const api of ['search', 'trace', 'tags', 'metrics']) {
      assert.match(prometheus, new RegExp(`skein_query_partial_answers_total\\{api="${api}"\\} [1-9]`));
    }
  });

  test('hanging past cluster.peer_query_timeout: the answer is partial, not late', async () => {
    const sockets = new Set<Socket>();
    const hanging: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const port = (hanging.address() as { port: number }).port;
    peers = [peers[0]!, { id: 'hang:4317', otlpGrpc: 'hang:4317', http: `127.0.0.1:${port}` }];
    try {
      const search = await searchFor('{ resource.service.name = "only-b" }');
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(ids(search.json()), [TB]);
      assert.equal(search.json()['status'], 'PARTIAL');
      assert.match(String(search.json()['message']), /hang:4317 did not answer within cluster\.peer_query_timeout=3s/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
