// Tempo's GET /api/search: TraceQL (`q`) or legacy `tags`, the most recent matching
// traces first. Parameters are checked here, each refusal a 400 naming it; the
// search itself is src/query/search/.
import type { FastifyInstance } from 'fastify';
import { formatDuration } from '../../config/units.js';
import { parseDuration, parseTraceQL, TraceQLError, validateTraceQL, type PipelineExpr } from '../../query/traceql/index.js';
import { QueryLimitError, searchTimeout, searchTraces } from '../../query/search/execute.js';
import type { QueryAdmission } from '../../query/admission.js';
import { searchResponseJson } from '../../query/search/response.js';
import { tagsToQuery } from '../../query/search/tags.js';
import type { ApiContext } from '../context.js';
import { partialFields } from '../partial.js';
import { badRequest, clientGone, parseUnixSecondsRange, requireStore } from '../params.js';
import { namedTenants } from '../../auth/access.js';

interface SearchQuery {
  Querystring: Record<string, string | undefined>;
}

const POSITIVE_INT_RE = /^\d+$/;

export function registerSearchRoutes(app: FastifyInstance, ctx: ApiContext, queries: QueryAdmission): void {
  app.get<SearchQuery>('/api/search', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const store = requireStore(ctx, reply);
    if (!store) return reply;
    const q = req.query;
    const limits = ctx.config.query;
    const tenants = namedTenants(req);
    const own = ctx.overrides.strictest(tenants);

    const text = q['q'];
    const tags = q['tags'];
    if (text !== undefined && text !== '' && tags !== undefined && tags !== '') {
      return badRequest(reply, "invalid request: can't specify tags and q in the same query");
    }
    let query: PipelineExpr;
    if (text !== undefined && text.trim() !== '') {
      try {
        const { ast } = parseTraceQL(text);
        validateTraceQL(ast);
        if (ast.query.type === 'metricsQuery') {
          return badRequest(reply, 'invalid TraceQL query: a metrics query (rate(), count_over_time(), …) is served by /api/metrics/query_range, not /api/search');
        }
        if (ast.query.type === 'scalarPipelineFilter') {
          return badRequest(reply, 'unsupported TraceQL: comparing the results of separate pipelines is not supported');
        }
        query = ast.query;
      } catch (err) {
        if (err instanceof TraceQLError) return badRequest(reply, err.message);
        throw err;
      }
    } else {
      const fromTags = tagsToQuery(tags ?? '');
      if ('error' in fromTags) return badRequest(reply, fromTags.error);
      query = fromTags;
    }

    const minDuration = durationParam(q['minDuration'], 'minDuration');
    if (typeof minDuration === 'string') return badRequest(reply, minDuration);
    const maxDuration = durationParam(q['maxDuration'], 'maxDuration');
    if (typeof maxDuration === 'string') return badRequest(reply, maxDuration);
    if (minDuration !== undefined && maxDuration !== undefined && maxDuration < minDuration) {
      return badRequest(reply, 'invalid maxDuration: must be greater than minDuration');
    }

    const limit = countParam(q['limit'], 'limit', limits.default_limit, limits.max_limit, `query.max_limit=${limits.max_limit}`);
    if (typeof limit === 'string') return badRequest(reply, limit);
    const spss = countParam(q['spss'], 'spss', Math.min(limits.default_spss, own.max_spans_per_span_set), own.max_spans_per_span_set, own.named.max_spans_per_span_set);
    if (typeof spss === 'string') return badRequest(reply, spss);

    const range = parseUnixSecondsRange(q, reply);
    if (!range) return reply;
    if (own.max_search_duration > 0 && range.startUnixSec !== undefined && range.endUnixSec !== undefined) {
      const spanMs = (range.endUnixSec - range.startUnixSec) * 1000;
      if (spanMs > own.max_search_duration) {
        return badRequest(reply, `invalid time range: ${formatDuration(spanMs)} between start and end exceeds ${own.named.max_search_duration}`);
      }
    }

    const deadlineMs = Date.now() + limits.timeout;
    const timeoutText = formatDuration(limits.timeout);
    const cancelled = clientGone(reply);
    try {
      const result = await queries.run(tenants, deadlineMs, () => searchTimeout(timeoutText), () =>
        searchTraces(
          store,
          {
            tenants,
            query,
            startUnixNano: range.startUnixSec !== undefined ? BigInt(range.startUnixSec) * 1_000_000_000n : undefined,
            // `end` is a whole second: spans starting anywhere in it are in range.
            endUnixNano: range.endUnixSec !== undefined ? BigInt(range.endUnixSec + 1) * 1_000_000_000n : undefined,
            minDurationNano: minDuration,
            maxDurationNano: maxDuration,
            limit,
            deadlineMs,
            cancelled,
            maxBytesInspected: limits.max_bytes_inspected,
          },
          { timeoutText, maxBytesText: String(limits.max_bytes_inspected) },
        ),
        cancelled,
      );
      return reply.type('application/json').send({ ...searchResponseJson(result.traces, result.metrics, query, spss), ...partialFields(result.partial, 'search') });
    } catch (err) {
      if (err instanceof QueryLimitError) return reply.code(err.status).type('text/plain').send(err.message);
      throw err;
    }
  });
}

/** A Go-style duration (`100ms`, `1.5s`) in nanoseconds; a message when it is not one. */
function durationParam(v: string | undefined, name: string): bigint | undefined | string {
  if (v === undefined || v === '') return undefined;
  const nanos = parseDuration(v);
  if (nanos === null) return `invalid ${name} ${JSON.stringify(v)}: expected a duration such as 100ms, 1.5s or 1m30s`;
  return nanos;
}

/** `maxNamed`: how the refusal names the maximum (`query.max_limit=1000`). */
function countParam(v: string | undefined, name: string, dflt: number, max: number, maxNamed: string): number | string {
  if (v === undefined || v === '') return dflt;
  if (!POSITIVE_INT_RE.test(v) || Number(v) === 0) return `invalid ${name}: must be a positive number, got ${JSON.stringify(v)}`;
  const n = Number(v);
  if (n > max) return `invalid ${name}: ${n} exceeds ${maxNamed}`;
  return n;
}
