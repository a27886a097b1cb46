// Skein's own read API for its web UI: the service graph and per-operation RED
// figures the connectors keep, for a time range (unix seconds, default the
// last hour), for the request's tenants (X-Scope-OrgID, `a|b`; without it every
// tenant the credential allows, all of them with no authentication); and the
// tenant's quarantine (spans no block could hold, src/store/quarantine.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { parseUnixSecondsRange, requireStore } from '../params.js';
import { singleTenant } from '../../auth/access.js';

interface RangeQuery {
  Querystring: { start?: string; end?: string };
}

const DEFAULT_RANGE_SECONDS = 3600;
/** Quarantine objects listed at most (newest first); `total` counts them all. */
const MAX_QUARANTINE_LISTED = 1000;

export function registerSkeinRoutes(app: FastifyInstance, ctx: ApiContext): void {
  rangeRoute(app, '/api/skein/service-graph', 'servicegraph', () => ctx.serviceGraph, (graph, { start, end, tenants }) => ({
    nodes: graph.nodes(start, end, tenants),
    edges: graph.edges(start, end, tenants),
  }));
  rangeRoute(app, '/api/skein/operations', 'spanmetrics', () => ctx.spanMetrics, (metrics, { start, end, tenants }) => ({
    operations: metrics.operations(start, end, tenants),
  }));
  app.get('/api/skein/quarantine', { config: { access: 'read' } }, async (req, reply) => {
    const store = requireStore(ctx, reply);
    if (!store) return reply;
    const tenant = singleTenant(req);
    const objects = await store.quarantine.list(tenant);
    return { tenant, total: objects.length, objects: objects.slice(0, MAX_QUARANTINE_LISTED) };
  });
}

/** A GET route answering `{start, end, ...figures}` from a connector for the asked range; 404 without the connector. */
function rangeRoute<C>(
  app: FastifyInstance,
  url: string,
  connector: string,
  source: () => C | undefined,
  figures: (c: C, scope: Scope) => Record<string, unknown>,
): void {
  app.get<RangeQuery>(url, { config: { access: 'read', tenants: 'any' } }, async (req, reply) => {
    const c = source();
    if (!c) return notConfigured(reply, connector);
    const scope = scopeOf(req, reply);
    if (!scope) return reply;
    return { start: scope.startUnixSec, end: scope.endUnixSec, ...figures(c, scope) };
  });
}

interface Scope {
  start: Date;
  end: Date;
  /** The range as asked for (or defaulted), echoed in the answer. */
  startUnixSec: number;
  endUnixSec: number;
  /** undefined: every tenant. */
  tenants: readonly string[] | undefined;
}

function scopeOf(req: FastifyRequest<RangeQuery>, reply: FastifyReply): Scope | undefined {
  const range = parseUnixSecondsRange(req.query, reply);
  if (!range) return undefined;
  // `end` is a whole second: everything inside it is in range. The answer
  // echoes `end` as asked, not the exclusive bound queried.
  const endMs = range.endUnixSec !== undefined ? (range.endUnixSec + 1) * 1000 : Date.now();
  const startMs = range.startUnixSec !== undefined ? range.startUnixSec * 1000 : endMs - DEFAULT_RANGE_SECONDS * 1000;
  const endUnixSec = range.endUnixSec ?? Math.floor(endMs / 1000);
  const startUnixSec = range.startUnixSec ?? Math.floor(startMs / 1000);
  return { start: new Date(startMs), end: new Date(endMs), startUnixSec, endUnixSec, tenants: req.tenants === '*' ? undefined : req.tenants };
}

function notConfigured(reply: FastifyReply, connector: string): FastifyReply {
  return reply
    .code(404)
    .type('text/plain')
    .send(`the ${connector} connector is not in pipeline.connectors, so this instance keeps no such figures`);
}
