// Skein's own read API for its web UI: the service graph and per-operation RED
// figures the connectors keep, for a time range (unix seconds, default the
// last hour). Scoped to the caller's tenant when X-Scope-OrgID is sent.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { parseUnixSecondsRange, tenantOf } from '../params.js';

interface RangeQuery {
  Querystring: { start?: string; end?: string };
}

const DEFAULT_RANGE_SECONDS = 3600;

export function registerSkeinRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<RangeQuery>('/api/skein/service-graph', async (req, reply) => {
    const graph = ctx.serviceGraph;
    if (!graph) return notConfigured(reply, 'servicegraph');
    const scope = scopeOf(req, reply);
    if (!scope) return reply;
    const { start, end, tenant } = scope;
    return {
      start: scope.startUnixSec,
      end: scope.endUnixSec,
      nodes: graph.nodes(start, end, tenant),
      edges: graph.edges(start, end, tenant),
    };
  });

  app.get<RangeQuery>('/api/skein/operations', async (req, reply) => {
    const metrics = ctx.spanMetrics;
    if (!metrics) return notConfigured(reply, 'spanmetrics');
    const scope = scopeOf(req, reply);
    if (!scope) return reply;
    const { start, end, tenant } = scope;
    return {
      start: scope.startUnixSec,
      end: scope.endUnixSec,
      operations: metrics.operations(start, end, tenant),
    };
  });
}

interface Scope {
  start: Date;
  end: Date;
  /** The range as asked for (or defaulted), echoed in the answer. */
  startUnixSec: number;
  endUnixSec: number;
  tenant: string | undefined;
}

function scopeOf(req: FastifyRequest<RangeQuery>, reply: FastifyReply): Scope | undefined {
  const range = parseUnixSecondsRange(req.query, reply);
  if (!range) return undefined;
  let tenant: string | undefined;
  if (req.headers['x-scope-orgid'] !== undefined) {
    tenant = tenantOf(req, reply);
    if (tenant === undefined) return undefined;
  }
  // `end` is a whole second: everything inside it is in range. The answer
  // echoes `end` as asked, not the exclusive bound queried.
  const endMs = range.endUnixSec !== undefined ? (range.endUnixSec + 1) * 1000 : Date.now();
  const startMs = range.startUnixSec !== undefined ? range.startUnixSec * 1000 : endMs - DEFAULT_RANGE_SECONDS * 1000;
  const endUnixSec = range.endUnixSec ?? Math.floor(endMs / 1000);
  const startUnixSec = range.startUnixSec ?? Math.floor(startMs / 1000);
  return { start: new Date(startMs), end: new Date(endMs), startUnixSec, endUnixSec, tenant };
}

function notConfigured(reply: FastifyReply, connector: string): FastifyReply {
  return reply
    .code(404)
    .type('text/plain')
    .send(`the ${connector} connector is not in pipeline.connectors, so this instance keeps no such figures`);
}
