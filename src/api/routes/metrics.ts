// Tempo's TraceQL metrics routes: GET /api/metrics/query_range (a series of samples per
// by() group) and GET /api/metrics/query (one value per group over the whole range).
// Parameters are read in src/query/metrics/request.ts, each refusal a 400 naming it;
// limits of the `query:` section answer 400, 413, 422 or 429.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatDuration } from '../../config/units.js';
import type { QueryAdmission } from '../../query/admission.js';
import {
  metricsTimeout,
  MetricsLimitError,
  parseMetricsParams,
  queryInstantJson,
  queryRangeJson,
  runMetricsQuery,
  UnsupportedMetricsError,
} from '../../query/metrics/index.js';
import type { ApiContext } from '../context.js';
import { partialFields } from '../partial.js';
import { badRequest, clientGone, requireStore } from '../params.js';
import { namedTenants } from '../../auth/access.js';

interface MetricsQueryString {
  Querystring: Record<string, string | undefined>;
}

export function registerMetricsRoutes(app: FastifyInstance, ctx: ApiContext, queries: QueryAdmission): void {
  const handle = (instant: boolean) => async (req: FastifyRequest<MetricsQueryString>, reply: FastifyReply) => {
    const store = requireStore(ctx, reply);
    if (!store) return reply;
    const limits = ctx.config.query;
    const tenants = namedTenants(req);
    const own = ctx.overrides.strictest(tenants);
    const params = parseMetricsParams(req.query, BigInt(Date.now()) * 1_000_000n, instant);
    if ('error' in params) return badRequest(reply, params.error);
    if (own.max_search_duration > 0) {
      const spanMs = Number((params.endNs - params.startNs) / 1_000_000n);
      if (spanMs > own.max_search_duration) {
        return badRequest(reply, `invalid time range: ${formatDuration(spanMs)} between start and end exceeds ${own.named.max_search_duration}`);
      }
    }
    const deadlineMs = Date.now() + limits.timeout;
    const timeoutText = formatDuration(limits.timeout);
    const cancelled = clientGone(reply);
    try {
      const result = await queries.run(tenants, deadlineMs, () => metricsTimeout(timeoutText), () =>
        runMetricsQuery(store, {
          tenants,
          query: params.query,
          timeline: params.timeline,
          exemplars: params.exemplars,
          maxSeries: limits.max_metrics_series,
          deadlineMs,
          cancelled,
          maxBytesInspected: limits.max_bytes_inspected,
          limitText: { timeout: timeoutText, maxBytes: String(limits.max_bytes_inspected) },
        }),
        cancelled,
      );
      const body = instant
        ? queryInstantJson(result.series, result.stats)
        : queryRangeJson(result.series, result.stats, params.timeline, params.exemplars);
      return reply.type('application/json').send({ ...body, ...partialFields(result.stats.partial, 'metrics') });
    } catch (err) {
      if (err instanceof MetricsLimitError) return reply.code(err.status).type('text/plain').send(err.message);
      if (err instanceof UnsupportedMetricsError) return badRequest(reply, err.message);
      throw err;
    }
  };
  app.get<MetricsQueryString>('/api/metrics/query_range', { config: { access: 'read', tenants: 'several' } }, handle(false));
  app.get<MetricsQueryString>('/api/metrics/query', { config: { access: 'read', tenants: 'several' } }, handle(true));
}
