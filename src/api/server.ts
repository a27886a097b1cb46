// The query API server (Tempo-compatible routes, Skein's own, /metrics, /ready).
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../net/http-server.js';
import type { ServerTls } from '../net/server-tls.js';
import { Histogram } from 'prom-client';
import { LATENCY_BUCKETS, registry } from '../telemetry/metrics.js';
import { serveCompat, tempoRoute } from '../telemetry/compat-metrics.js';
import type { ApiContext } from './context.js';
import { registerStatusRoutes } from './routes/status.js';
import { registerTraceRoutes } from './routes/traces.js';
import { registerSkeinRoutes } from './routes/skein.js';
import { registerTagRoutes } from './routes/tags.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerUiRoutes } from './routes/ui.js';
import { registerIngestStatsRoutes } from './routes/ingest-stats.js';
import { registerTailRoutes } from './routes/tail.js';
import { registerClusterRoutes } from './routes/cluster-fetch.js';
import { registerClusterStatusRoutes } from './routes/cluster-status.js';
import { registerOidcLoginRoutes } from './routes/oidc-login.js';
import { QueryAdmission, QueryQueueFullError } from '../query/admission.js';
import { installAccessControl, type Access, type TenantScope } from '../auth/access.js';
import { SESSION_COOKIE } from '../auth/sessions.js';
import { installSecurityHeaders } from './security-headers.js';
import { registerSessionRoutes } from './routes/session.js';

const requestDuration = new Histogram({
  name: 'skein_http_request_duration_seconds',
  help: 'Query API latency by route and status code.',
  labelNames: ['route', 'method', 'status_code'],
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
// Tempo's name and route values (`api_traces_traceid`, `api_search`…), which its Reads dashboards select on.
serveCompat({
  name: 'tempo_request_duration_seconds',
  help: "Time of requests by route and status code: the query API's (skein_http_request_duration_seconds) and the receivers' (skein_receiver_request_duration_seconds), under Tempo's name and route values.",
  from: { metric: requestDuration, labels: { method: 'method', route: (l) => tempoRoute(String(l['route'])), status_code: 'status_code' } },
});

/** A route as the API's router holds it, with what it declared (auth/access.ts). */
export interface ApiRoute {
  method: string;
  url: string;
  access: Access | undefined;
  tenants: TenantScope | undefined;
}

/** The routes of each API server, in the order registered (tests start several in one process). */
const routeLists = new WeakMap<FastifyInstance, ApiRoute[]>();

/** Every route the API server's router holds, as registered: the isolation test calls each. */
export function apiRoutes(app: FastifyInstance): readonly ApiRoute[] {
  return routeLists.get(app) ?? [];
}

/** `tls`: HTTPS with these settings (server.tls); plain HTTP without. */
export function createApiServer(ctx: ApiContext, tls?: ServerTls): FastifyInstance {
  const app = createHttpServer(ctx.logger.child({ component: 'api' }), { bodyLimit: 1024 * 1024, tls });
  installSecurityHeaders(app, { tls: tls !== undefined });
  installAccessControl(app, {
    authenticator: ctx.auth.forListener('api'),
    metricsAccess: ctx.config.auth.metrics,
    logger: ctx.logger.child({ component: 'auth' }),
    listener: 'api',
    sessionCookie: SESSION_COOKIE,
  });
  const routes: ApiRoute[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, access: route.config?.access, tenants: route.config?.tenants });
  });

  app.addHook('onResponse', async (req, reply) => {
    requestDuration.observe(
      { route: req.routeOptions.url ?? 'unmatched', method: req.method, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (err instanceof QueryQueueFullError) reply.header('retry-after', String(err.retryAfterSeconds));
    if (status >= 500) ctx.logger.error({ err, url: req.url }, 'query API request failed');
    return reply.code(status).type('text/plain').send(status >= 500 ? `internal error: ${err.message}` : err.message);
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).type('text/plain').send(`no route for ${req.method} ${req.url.split('?')[0]}`));

  // Trace by ID is not admitted: it reads one trace (bounded by limits.max_bytes_per_trace),
  // and it is what a user opens from the answer of a search that was.
  const queries = new QueryAdmission({
    maxConcurrent: ctx.config.query.max_concurrent_queries,
    maxQueued: ctx.config.query.max_queued_queries,
    retryAfterSeconds: ctx.config.limits.retry_after_seconds,
    tenantLimit: (tenant) => {
      const own = ctx.overrides.limitsFor(tenant);
      return { max: own.max_concurrent_queries, named: own.named.max_concurrent_queries };
    },
  });
  registerStatusRoutes(app, ctx);
  registerTraceRoutes(app, ctx);
  registerSkeinRoutes(app, ctx);
  registerTagRoutes(app, ctx, queries);
  registerSearchRoutes(app, ctx, queries);
  registerMetricsRoutes(app, ctx, queries);
  registerIngestStatsRoutes(app, ctx);
  registerTailRoutes(app, ctx, queries);
  registerClusterRoutes(app, ctx);
  registerClusterStatusRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerOidcLoginRoutes(app, ctx);
  // An ingester serves no queries (requireStore answers 501 on their routes), so no UI either.
  if (ctx.target !== 'ingester') registerUiRoutes(app, ctx);
  return app;
}
