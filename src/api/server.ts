// The query API server (Tempo-compatible routes, Skein's own, /metrics, /ready).
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../net/http-server.js';
import { Histogram } from 'prom-client';
import { LATENCY_BUCKETS, registry } from '../telemetry/metrics.js';
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
import { installAccessControl } from '../auth/access.js';
import { SESSION_COOKIE } from '../auth/sessions.js';

const requestDuration = new Histogram({
  name: 'skein_http_request_duration_seconds',
  help: 'Query API latency by route and status code.',
  labelNames: ['route', 'method', 'status_code'],
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export function createApiServer(ctx: ApiContext): FastifyInstance {
  const app = createHttpServer(ctx.logger.child({ component: 'api' }), { bodyLimit: 1024 * 1024 });
  installAccessControl(app, {
    authenticator: ctx.auth.forListener('api'),
    metricsAccess: ctx.config.auth.metrics,
    logger: ctx.logger.child({ component: 'auth' }),
    listener: 'api',
    sessionCookie: SESSION_COOKIE,
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
  registerOidcLoginRoutes(app, ctx);
  // An ingester serves no queries (requireStore answers 501 on their routes), so no UI either.
  if (ctx.target !== 'ingester') registerUiRoutes(app, ctx);
  return app;
}
