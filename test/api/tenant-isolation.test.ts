// Nothing leaks across tenants: Skein runs with bearer tokens, tenants `tenant-alpha` and
// `tenant-beta` each send their own traces through the OpenTelemetry SDK (every name of
// alpha's holds "alpha"), and then every route the query API's router holds, enumerated
// from the running server itself, is called with beta's token: no answer may show anything
// of alpha's (a name, a tenant ID, a trace ID). A route this test does not know how to call
// fails it, so a new route cannot be added without saying what it shows whom. Also: every
// non-public route refuses a missing credential (401) and a tenant the credential does not
// allow (403), and `a|b` federation merges answers for a token allowing both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startSkein, type RunningSkein } from '../../src/skein.js';
import { parseYamlText, validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { PEER_CONTENT_TYPE, PEER_FETCH_PATH, PEER_TRACE_PATH } from '../../src/cluster/codec.js';
import { waitFor } from '../helpers/poll.js';

const ALPHA = 'tenant-alpha';
const BETA = 'tenant-beta';
const TOKENS = {
  alpha: 'tok-a-0123456789abcdef',
  alpha2: 'tok-a2-0123456789abcdef',
  beta: 'tok-b-0123456789abcdef',
  betaAdmin: 'tok-b-admin-0123456789abcdef',
  betaOnlyReader: 'tok-b-reader-0123456789abcdef',
  both: 'tok-ab-0123456789abcdef',
};

const CONFIG = `
server: { http_listen_address: 127.0.0.1:0 }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
auth:
  bearer_tokens:
    - { token: ${TOKENS.alpha}, name: token-a, tenant: ${ALPHA}, rights: [write, read] }
    - { token: ${TOKENS.alpha2}, name: token-a2, tenant: ${ALPHA}, rights: [read] }
    - { token: ${TOKENS.beta}, name: token-b, tenant: ${BETA}, rights: [write, read] }
    - { token: ${TOKENS.betaAdmin}, name: token-b-admin, tenant: ${BETA}, rights: [admin] }
    - { token: ${TOKENS.betaOnlyReader}, name: token-b-reader, tenant: ${BETA}, rights: [read] }
    - { token: ${TOKENS.both}, name: token-ab, tenants: [${ALPHA}, ${BETA}], rights: [read] }
# spanmetrics labels its series with the tenant; servicegraph's are left unlabelled (mixed).
connectors:
  spanmetrics: { include_tenant_label: true }
ui:
  live_tail: { poll_interval: 200ms }
`;

/** One tracer provider per service, exporting with a tenant's token, as an instrumented service would. */
class TenantSdk {
  private readonly providers = new Map<string, BasicTracerProvider>();
  constructor(
    private readonly otlpHttpUrl: string,
    private readonly token: string,
  ) {}

  tracer(service: string): Tracer {
    let p = this.providers.get(service);
    if (!p) {
      const exporter = new OTLPTraceExporter({ url: `${this.otlpHttpUrl}/v1/traces`, headers: { authorization: `Bearer ${this.token}` } });
      p = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 50 })] });
      this.providers.set(service, p);
    }
    return p.getTracer('isolation-test', '1.0.0');
  }

  async flush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.shutdown()));
  }
}

/** A client → server call between two services of one tenant (a service-graph edge), with a tenant-specific attribute. */
function emitCall(sdk: TenantSdk, prefix: string, startMs: number): string {
  const root = sdk.tracer(`${prefix}-storefront`).startSpan(`${prefix}-op-checkout`, {
    kind: SpanKind.CLIENT,
    startTime: startMs,
    attributes: { [`${prefix}_only_key`]: `${prefix}-value`, 'http.route': `/${prefix}/checkout` },
  });
  const server = sdk
    .tracer(`${prefix}-inventory`)
    .startSpan(`${prefix}-op-reserve`, { kind: SpanKind.SERVER, startTime: startMs + 5, attributes: { [`${prefix}_only_key`]: `${prefix}-reserved` } }, trace.setSpan(context.active(), root));
  server.setStatus({ code: SpanStatusCode.ERROR, message: `${prefix}-out-of-stock` });
  server.end(startMs + 30);
  root.end(startMs + 40);
  return root.spanContext().traceId;
}

interface Answer {
  status: number;
  text: string;
}

interface Request {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
}

let skein: RunningSkein;
let dataDir: string;
let api: string;
let alphaSdk: TenantSdk;
let betaSdk: TenantSdk;
/** Trace IDs of alpha's own traces (hex), and of the trace with spans in both tenants. */
const alphaTraces: string[] = [];
const betaTraces: string[] = [];
let crossTrace: string;
let betaSpans = 0;

async function call(req: Request, token: string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${api}${req.path}`, {
    method: req.method,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...(req.contentType && { 'content-type': req.contentType }), ...headers },
    ...(req.body !== undefined && { body: req.body }),
  });
  // A live tail answers 200 with a stream that never ends by itself: it is not read here.
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, text: '' };
  }
  return { status: res.status, text: await res.text() };
}

/** Everything of alpha's a beta caller must never see: names (all hold "alpha"), its tenant ID and its trace IDs in every form an answer uses. */
function leaksOfAlpha(text: string): string[] {
  const found: string[] = [];
  if (/alpha/i.test(text)) found.push(`"alpha" at …${text.slice(Math.max(0, text.search(/alpha/i) - 80), text.search(/alpha/i) + 80)}…`);
  for (const id of alphaTraces) {
    for (const form of [id, id.replace(/^0+/, ''), Buffer.from(id, 'hex').toString('base64')]) if (text.includes(form)) found.push(`trace ID ${form}`);
  }
  return found;
}

function assertNoLeak(route: string, answers: readonly Answer[]): void {
  for (const a of answers) {
    const leaks = leaksOfAlpha(a.text);
    assert.deepEqual(leaks, [], `${route} showed tenant alpha's data to tenant beta (status ${a.status})`);
  }
}

const nowSec = (): number => Math.floor(Date.now() / 1000);
const q = (s: string): string => encodeURIComponent(s);

/** An SSE stream's events until `until` holds of them; then it is closed. */
async function readTail(path: string, token: string, until: (events: Array<{ event: string; data: string }>) => boolean): Promise<Answer> {
  const abort = new AbortController();
  const res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  if (!res.ok || !res.body) return { status: res.status, text: await res.text() };
  const events: Array<{ event: string; data: string }> = [];
  let raw = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      raw += decoder.decode(chunk, { stream: true });
      events.length = 0;
      for (const block of raw.split('\n\n').slice(0, -1)) {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        events.push({ event, data });
      }
      if (until(events)) break;
    }
  } finally {
    abort.abort();
  }
  return { status: res.status, text: raw };
}

/** An open live tail of alpha's, whose `id` beta tries to end. */
interface OpenTail {
  id: string;
  ended: Promise<void>;
  close(): void;
}

async function openAlphaTail(id: string): Promise<OpenTail> {
  const abort = new AbortController();
  const res = await fetch(`${api}/api/skein/tail?id=${id}`, { headers: { authorization: `Bearer ${TOKENS.alpha}` }, signal: abort.signal });
  assert.equal(res.status, 200);
  const ended = (async () => {
    try {
      for await (const _chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        // read until the server ends it
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  return { id, ended, close: () => abort.abort() };
}

interface RouteSpec {
  /** The route called as anyone might call it, for the 401 and 403 checks. */
  request: Request;
  /** Calls it as tenant beta (asserting the statuses expected) and gives every answer, each checked for alpha's data. */
  asBeta(): Promise<Answer[]>;
}

const expectStatus = (a: Answer, statuses: number[], what: string): Answer => {
  assert.ok(statuses.includes(a.status), `${what}: status ${a.status} (expected ${statuses.join(' or ')}): ${a.text.slice(0, 300)}`);
  return a;
};

/** A GET with beta's token that must answer `status`. */
function betaGet(path: string, status = 200, token = TOKENS.beta): RouteSpec {
  return {
    request: { method: 'GET', path },
    asBeta: async () => [expectStatus(await call({ method: 'GET', path }, token), [status], `GET ${path}`)],
  };
}

/** How to call each route the router holds, by `METHOD url` as registered. */
function routeSpecs(): Record<string, RouteSpec> {
  const start = nowSec() - 3600;
  const end = nowSec() + 60;
  const range = `start=${start}&end=${end}`;
  const alphaTrace = alphaTraces[0]!;
  const peerBody = (kind: string): Request => ({ method: 'POST', path: kind, body: '{}', contentType: PEER_CONTENT_TYPE });
  return {
    'GET /ready': betaGet('/ready'),
    'GET /api/echo': betaGet('/api/echo'),
    'GET /api/status/buildinfo': betaGet('/api/status/buildinfo'),
    'GET /api/skein/ui-config': betaGet('/api/skein/ui-config'),
    // The web UI's sign-in: beta's token buys a session that answers as beta, and names beta's tenant only.
    'POST /api/skein/session': {
      request: { method: 'POST', path: '/api/skein/session', body: JSON.stringify({ token: TOKENS.beta }), contentType: 'application/json' },
      asBeta: async () => {
        const req: Request = { method: 'POST', path: '/api/skein/session', body: JSON.stringify({ token: TOKENS.beta }), contentType: 'application/json' };
        return [expectStatus(await call(req, undefined), [200, 204], 'sign-in')];
      },
    },
    'DELETE /api/skein/session': {
      request: { method: 'DELETE', path: '/api/skein/session' },
      asBeta: async () => [expectStatus(await call({ method: 'DELETE', path: '/api/skein/session' }, TOKENS.beta, { 'x-skein-ui': '1' }), [200, 204], 'sign-out')],
    },
    // OIDC sign-in: off here (no auth.oidc.client_id), so both answer 404 and name nothing of anyone's.
    'GET /api/skein/auth/oidc/login': betaGet('/api/skein/auth/oidc/login', 404),
    'GET /api/skein/auth/oidc/callback': betaGet('/api/skein/auth/oidc/callback', 404),
    'GET /api/skein/whoami': {
      request: { method: 'GET', path: '/api/skein/whoami' },
      asBeta: async () => {
        const a = expectStatus(await call({ method: 'GET', path: '/api/skein/whoami' }, TOKENS.beta), [200], 'whoami');
        assert.deepEqual((JSON.parse(a.text) as { tenants: unknown }).tenants, [BETA]);
        return [a];
      },
    },
    'GET /': betaGet('/'),
    'GET /*': betaGet('/search'),
    'GET /metrics': {
      request: { method: 'GET', path: '/metrics' },
      asBeta: async () => {
        const a = expectStatus(await call({ method: 'GET', path: '/metrics' }, TOKENS.beta), [200], 'metrics');
        assert.match(a.text, new RegExp(`^skein_spans_stored_total\\{tenant="${BETA}"\\} ${betaSpans}$`, 'm'), "beta's own per-tenant series");
        assert.match(a.text, new RegExp(`^traces_spanmetrics_calls_total\\{tenant="${BETA}",service="beta-storefront"`, 'm'), "the tenant-labelled connector's series of beta");
        assert.doesNotMatch(a.text, /^traces_service_graph_request_total\{/m, "the unlabelled connector's series mix tenants: none shown");
        assert.match(a.text, /^process_resident_memory_bytes /m, 'series of no tenant');
        return [a];
      },
    },
    'GET /api/traces/:traceId': {
      request: { method: 'GET', path: `/api/traces/${alphaTrace}` },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: `/api/traces/${alphaTrace}` }, TOKENS.beta), [404], "alpha's trace, v1"),
        expectStatus(await call({ method: 'GET', path: `/api/traces/${crossTrace}` }, TOKENS.beta), [200], "beta's part of the shared trace, v1"),
      ],
    },
    'GET /api/v2/traces/:traceId': {
      request: { method: 'GET', path: `/api/v2/traces/${alphaTrace}` },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: `/api/v2/traces/${alphaTrace}` }, TOKENS.beta), [404], "alpha's trace, v2"),
        expectStatus(await call({ method: 'GET', path: `/api/v2/traces/${crossTrace}` }, TOKENS.beta), [200], "beta's part of the shared trace, v2"),
        expectStatus(await call({ method: 'GET', path: `/api/v2/traces/${crossTrace}` }, TOKENS.beta, { accept: 'application/protobuf' }), [200], 'v2 protobuf'),
      ],
    },
    'GET /api/search': {
      request: { method: 'GET', path: `/api/search?${range}` },
      asBeta: async () => {
        const answers = [
          await call({ method: 'GET', path: `/api/search?${range}&limit=100` }, TOKENS.beta),
          await call({ method: 'GET', path: `/api/search?q=${q('{ }')}&${range}&limit=100&spss=100` }, TOKENS.beta),
          await call({ method: 'GET', path: `/api/search?q=${q('{ .alpha_only_key != nil }')}&${range}` }, TOKENS.beta),
          await call({ method: 'GET', path: `/api/search?tags=${q('service.name=alpha-storefront')}&${range}` }, TOKENS.beta),
        ];
        for (const a of answers) expectStatus(a, [200], 'search');
        const ids = (JSON.parse(answers[1]!.text) as { traces: Array<{ traceID: string }> }).traces.map((t) => t.traceID);
        for (const id of betaTraces) assert.ok(ids.includes(id.replace(/^0+/, '')), `beta's own trace ${id} is found`);
        return answers;
      },
    },
    'GET /api/search/tags': {
      request: { method: 'GET', path: '/api/search/tags' },
      asBeta: async () => {
        const a = expectStatus(await call({ method: 'GET', path: '/api/search/tags' }, TOKENS.beta), [200], 'tags v1');
        assert.match(a.text, /beta_only_key/);
        return [a, expectStatus(await call({ method: 'GET', path: '/api/search/tags?scope=span' }, TOKENS.beta), [200], 'tags v1 span')];
      },
    },
    'GET /api/v2/search/tags': {
      request: { method: 'GET', path: '/api/v2/search/tags' },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: '/api/v2/search/tags' }, TOKENS.beta), [200], 'tags v2'),
        expectStatus(await call({ method: 'GET', path: `/api/v2/search/tags?q=${q('{ resource.service.name = "alpha-storefront" }')}` }, TOKENS.beta), [200], 'tags v2 q'),
      ],
    },
    'GET /api/search/tag/:name/values': {
      request: { method: 'GET', path: '/api/search/tag/service.name/values' },
      asBeta: async () => {
        const services = expectStatus(await call({ method: 'GET', path: '/api/search/tag/service.name/values' }, TOKENS.beta), [200], 'values v1');
        assert.match(services.text, /beta-storefront/);
        return [
          services,
          expectStatus(await call({ method: 'GET', path: '/api/search/tag/alpha_only_key/values' }, TOKENS.beta), [200], "values v1 of alpha's key"),
          expectStatus(await call({ method: 'GET', path: '/api/search/tag/name/values' }, TOKENS.beta), [200], 'values v1 name'),
        ];
      },
    },
    'GET /api/v2/search/tag/:name/values': {
      request: { method: 'GET', path: '/api/v2/search/tag/resource.service.name/values' },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: '/api/v2/search/tag/resource.service.name/values' }, TOKENS.beta), [200], 'values v2'),
        expectStatus(await call({ method: 'GET', path: '/api/v2/search/tag/span.alpha_only_key/values' }, TOKENS.beta), [200], "values v2 of alpha's key"),
        expectStatus(await call({ method: 'GET', path: '/api/v2/search/tag/name/values' }, TOKENS.beta), [200], 'values v2 name'),
        expectStatus(await call({ method: 'GET', path: '/api/v2/search/tag/statusMessage/values' }, TOKENS.beta), [200], 'values v2 statusMessage'),
      ],
    },
    'GET /api/metrics/query_range': {
      request: { method: 'GET', path: `/api/metrics/query_range?q=${q('{ } | rate()')}&${range}` },
      asBeta: async () => {
        const by = await call({ method: 'GET', path: `/api/metrics/query_range?q=${q('{ } | count_over_time() by (resource.service.name, name)')}&${range}&step=60s` }, TOKENS.beta);
        expectStatus(by, [200], 'query_range');
        assert.match(by.text, /beta-storefront/);
        const exemplars = await call({ method: 'GET', path: `/api/metrics/query_range?q=${q('{ } | quantile_over_time(duration, .9) by (span.http.route)')}&${range}&step=60s&exemplars=100` }, TOKENS.beta);
        return [by, expectStatus(exemplars, [200], 'query_range exemplars')];
      },
    },
    'GET /api/metrics/query': {
      request: { method: 'GET', path: `/api/metrics/query?q=${q('{ } | rate()')}&${range}` },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: `/api/metrics/query?q=${q('{ } | count_over_time() by (resource.service.name)')}&${range}` }, TOKENS.beta), [200], 'query'),
      ],
    },
    'GET /api/skein/service-graph': betaGet('/api/skein/service-graph'),
    'GET /api/skein/operations': {
      request: { method: 'GET', path: '/api/skein/operations' },
      asBeta: async () => {
        const a = expectStatus(await call({ method: 'GET', path: '/api/skein/operations' }, TOKENS.beta), [200], 'operations');
        assert.match(a.text, /beta-op-checkout/);
        return [a];
      },
    },
    'GET /api/skein/ingest-stats': {
      request: { method: 'GET', path: '/api/skein/ingest-stats' },
      asBeta: async () => {
        const a = expectStatus(await call({ method: 'GET', path: '/api/skein/ingest-stats' }, TOKENS.beta), [200], 'ingest-stats');
        const stats = JSON.parse(a.text) as { spans: { stored: number } };
        assert.equal(stats.spans.stored, betaSpans, "beta's spans stored, and none of alpha's");
        return [a];
      },
    },
    'GET /api/skein/quarantine': {
      request: { method: 'GET', path: '/api/skein/quarantine' },
      asBeta: async () => {
        const a = expectStatus(await call({ method: 'GET', path: '/api/skein/quarantine' }, TOKENS.beta), [200], 'quarantine');
        assert.equal((JSON.parse(a.text) as { tenant: string }).tenant, BETA);
        return [a];
      },
    },
    'GET /api/skein/tail': {
      request: { method: 'GET', path: '/api/skein/tail' },
      asBeta: async () => {
        // Beta tails everything; alpha's next trace is sent first, beta's after it: beta sees its own and never alpha's.
        let sent = false;
        let nextBeta: string | undefined;
        const seen = readTail(`/api/skein/tail?q=${q('{ }')}`, TOKENS.beta, (events) => {
          if (events.some((e) => e.event === 'ready') && !sent) {
            sent = true;
            void (async () => {
              alphaTraces.push(emitCall(alphaSdk, 'alpha', Date.now()));
              await alphaSdk.flush();
              nextBeta = emitCall(betaSdk, 'beta', Date.now());
              betaSpans += 2;
              await betaSdk.flush();
            })();
          }
          return nextBeta !== undefined && events.some((e) => e.event === 'trace' && e.data.includes(nextBeta!.replace(/^0+/, '')));
        });
        return [expectStatus(await seen, [200], 'tail')];
      },
    },
    'DELETE /api/skein/tail/:id': {
      request: { method: 'DELETE', path: '/api/skein/tail/zzzz-tail-0123456789' },
      asBeta: async () => {
        const tail = await openAlphaTail('tail-of-a-0123456789');
        try {
          const byBeta = expectStatus(await call({ method: 'DELETE', path: `/api/skein/tail/${tail.id}` }, TOKENS.beta), [404], "beta ends alpha's tail");
          // The same tenant with another credential does not own it either.
          expectStatus(await call({ method: 'DELETE', path: `/api/skein/tail/${tail.id}` }, TOKENS.alpha2), [404], "another of alpha's credentials ends the tail");
          expectStatus(await call({ method: 'DELETE', path: `/api/skein/tail/${tail.id}` }, TOKENS.alpha), [204], 'its owner ends it');
          await tail.ended;
          return [byBeta];
        } finally {
          tail.close();
        }
      },
    },
    'GET /flush': {
      request: { method: 'GET', path: '/flush' },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: '/flush' }, TOKENS.beta), [403], 'flush without admin'),
        expectStatus(await call({ method: 'GET', path: '/flush' }, TOKENS.betaAdmin), [204], "beta's admin flushes beta"),
      ],
    },
    'POST /flush': {
      request: { method: 'POST', path: '/flush' },
      asBeta: async () => [expectStatus(await call({ method: 'POST', path: '/flush' }, TOKENS.betaAdmin), [204], "beta's admin flushes beta")],
    },
    'GET /api/skein/cluster': {
      request: { method: 'GET', path: '/api/skein/cluster' },
      asBeta: async () => [
        expectStatus(await call({ method: 'GET', path: '/api/skein/cluster' }, TOKENS.beta), [403], 'cluster status without admin'),
        expectStatus(await call({ method: 'GET', path: '/api/skein/cluster' }, TOKENS.betaAdmin), [404], 'cluster status (no cluster)'),
      ],
    },
    [`POST ${PEER_FETCH_PATH}`]: {
      request: peerBody(PEER_FETCH_PATH),
      asBeta: async () => [expectStatus(await call(peerBody(PEER_FETCH_PATH), TOKENS.beta, { 'x-scope-orgid': BETA }), [403], 'peer fetch')],
    },
    [`POST ${PEER_TRACE_PATH}`]: {
      request: peerBody(PEER_TRACE_PATH),
      asBeta: async () => [expectStatus(await call(peerBody(PEER_TRACE_PATH), TOKENS.beta, { 'x-scope-orgid': BETA }), [403], 'peer trace')],
    },
  };
}

/** The routes as the running API server's router holds them; HEAD is the GET's own handler. */
function routes(): Array<{ key: string; access: string | undefined }> {
  return skein
    .apiRoutes()
    .filter((r) => r.method !== 'HEAD')
    .map((r) => ({ key: `${r.method} ${r.url}`, access: r.access }));
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'skein-isolation-'));
  const config = validateConfig({ ...(parseYamlText(CONFIG) as object), storage: { path: dataDir } });
  skein = await startSkein(config, silentLogger, 'all');
  api = `http://${skein.addresses.http}`;
  alphaSdk = new TenantSdk(`http://${skein.addresses.otlpHttp}`, TOKENS.alpha);
  betaSdk = new TenantSdk(`http://${skein.addresses.otlpHttp}`, TOKENS.beta);
  const t0 = Date.now() - 5000;
  for (let i = 0; i < 2; i++) {
    alphaTraces.push(emitCall(alphaSdk, 'alpha', t0 + i * 100));
    betaTraces.push(emitCall(betaSdk, 'beta', t0 + i * 100 + 50));
    betaSpans += 2;
  }
  // A trace crossing the tenants: alpha's gateway calls beta's ledger with the same trace ID.
  const gateway: Span = alphaSdk.tracer('alpha-gateway').startSpan('alpha-op-route', { kind: SpanKind.CLIENT, startTime: t0 + 500 });
  const ledger = betaSdk.tracer('beta-ledger').startSpan('beta-op-post', { kind: SpanKind.SERVER, startTime: t0 + 510 }, trace.setSpan(context.active(), gateway));
  ledger.end(t0 + 550);
  gateway.end(t0 + 560);
  betaSpans += 1;
  crossTrace = gateway.spanContext().traceId;
  await Promise.all([alphaSdk.flush(), betaSdk.flush()]);
  // Alpha's data is there to leak: its own token sees it everywhere this test looks.
  const seesAlpha = async (path: string) => (await call({ method: 'GET', path }, TOKENS.alpha)).text.includes('alpha');
  await waitFor("alpha's traces are searchable", async () => {
    const res = await call({ method: 'GET', path: `/api/search?q=${q('{ }')}&limit=100` }, TOKENS.both, { 'x-scope-orgid': `${ALPHA}|${BETA}` });
    return res.status === 200 && [...alphaTraces, ...betaTraces, crossTrace].every((id) => res.text.includes(id.replace(/^0+/, '')));
  });
  await waitFor("alpha's service graph edge", () => seesAlpha('/api/skein/service-graph'));
  await waitFor("alpha's operations", () => seesAlpha('/api/skein/operations'));
  await waitFor("alpha's series on /metrics", () => seesAlpha('/metrics'));
});

after(async () => {
  await alphaSdk?.shutdown();
  await betaSdk?.shutdown();
  await skein?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('tenant isolation on every route of the query API', () => {
  test('the router holds the routes this test knows; each answers tenant beta without anything of tenant alpha', async () => {
    const specs = routeSpecs();
    const found = routes();
    assert.ok(found.length > 20, `the router listed only ${found.length} routes`);
    const unknown = found.filter((r) => !(r.key in specs)).map((r) => r.key);
    assert.deepEqual(
      unknown,
      [],
      `routes the tenant-isolation test does not know how to call: add each to routeSpecs() in test/api/tenant-isolation.test.ts, saying what tenant beta may see of it`,
    );
    for (const { key } of found) assertNoLeak(key, await specs[key]!.asBeta());
  });

  test('every route but the public ones refuses a request without a credential: 401 with a challenge', async () => {
    const specs = routeSpecs();
    for (const { key, access } of routes()) {
      if (access === 'public') continue;
      const res = await fetch(`${api}${specs[key]!.request.path}`, {
        method: specs[key]!.request.method,
        ...(specs[key]!.request.body !== undefined && { body: specs[key]!.request.body, headers: { 'content-type': specs[key]!.request.contentType! } }),
      });
      assert.equal(res.status, 401, `${key} without a credential`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, `${key} names the scheme`);
      assertNoLeak(key, [{ status: res.status, text: await res.text() }]);
    }
  });

  test("every route but the public ones refuses beta's credential naming tenant alpha: 403", async () => {
    const specs = routeSpecs();
    for (const { key, access } of routes()) {
      // A signed-in route (whoami) acts for no tenant: it answers who the credential is, whatever the header.
      if (access === 'public' || access === 'signed-in') continue;
      const token = access === 'admin' ? TOKENS.betaAdmin : TOKENS.beta;
      const a = await call(specs[key]!.request, token, { 'x-scope-orgid': ALPHA });
      assert.equal(a.status, 403, `${key} with X-Scope-OrgID: ${ALPHA}: ${a.text}`);
      const both = await call(specs[key]!.request, token, { 'x-scope-orgid': `${BETA}|${ALPHA}` });
      assert.ok([400, 403].includes(both.status), `${key} with X-Scope-OrgID: ${BETA}|${ALPHA}: ${both.status} ${both.text}`);
    }
  });
});

describe('federation: X-Scope-OrgID a|b', () => {
  const federated = { 'x-scope-orgid': `${ALPHA}|${BETA}` };

  test('a token allowing both tenants reads them together: trace by ID, search, tags, metrics', async () => {
    const both = (path: string) => call({ method: 'GET', path }, TOKENS.both, federated);
    const cross = JSON.parse((await both(`/api/v2/traces/${crossTrace}`)).text) as { trace: { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string }> }> }> } };
    const names = cross.trace.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))).sort();
    assert.deepEqual(names, ['alpha-op-route', 'beta-op-post'], "the shared trace's spans of both tenants");
    const alone = await call({ method: 'GET', path: `/api/v2/traces/${crossTrace}` }, TOKENS.both, { 'x-scope-orgid': BETA });
    assert.doesNotMatch(alone.text, /alpha/, "naming beta alone gives beta's part only");

    const search = JSON.parse((await both(`/api/search?q=${q('{ }')}&limit=100`)).text) as { traces: Array<{ traceID: string }> };
    const ids = search.traces.map((t) => t.traceID);
    for (const id of [...alphaTraces, ...betaTraces, crossTrace]) assert.ok(ids.includes(id.replace(/^0+/, '')), `search lists ${id}`);
    assert.equal(ids.filter((id) => id === crossTrace.replace(/^0+/, '')).length, 1, 'the shared trace once');

    const tags = JSON.parse((await both('/api/search/tags')).text) as { tagNames: string[] };
    for (const key of ['alpha_only_key', 'beta_only_key']) assert.ok(tags.tagNames.includes(key), `tag ${key}`);
    const values = JSON.parse((await both('/api/v2/search/tag/resource.service.name/values')).text) as { tagValues: Array<{ value: string }> };
    for (const svc of ['alpha-storefront', 'beta-storefront', 'alpha-gateway', 'beta-ledger']) assert.ok(values.tagValues.some((v) => v.value === svc), `value ${svc}`);

    const metricsPath = `/api/metrics/query?q=${q('{ } | count_over_time()')}&start=${nowSec() - 3600}&end=${nowSec() + 60}`;
    const count = async (headers: Record<string, string>) => {
      const body = JSON.parse((await call({ method: 'GET', path: metricsPath }, TOKENS.both, headers)).text) as { series: Array<{ value?: number }> };
      return body.series.reduce((n, s) => n + (s.value ?? 0), 0);
    };
    const [a, b, ab] = [await count({ 'x-scope-orgid': ALPHA }), await count({ 'x-scope-orgid': BETA }), await count(federated)];
    assert.ok(a > 0 && b > 0, `each tenant counts spans (${a}, ${b})`);
    assert.equal(ab, a + b, 'a|b counts the spans of both');
  });

  test('a token allowing only one of them is refused: 403', async () => {
    for (const path of [`/api/traces/${crossTrace}`, '/api/search', '/api/search/tags', `/api/metrics/query?q=${q('{ } | rate()')}`]) {
      const res = await call({ method: 'GET', path }, TOKENS.betaOnlyReader, federated);
      assert.equal(res.status, 403, path);
      assert.match(res.text, /does not allow tenant "tenant-alpha"/);
    }
  });
});
