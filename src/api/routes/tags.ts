// Tempo's tag routes, for the TraceQL editor's autocomplete:
//   GET /api/search/tags                  {"tagNames": [...]}
//   GET /api/v2/search/tags               {"scopes": [{"name": "resource", "tags": [...]}, ...]}
//   GET /api/search/tag/{name}/values     {"tagValues": ["a", "b"]}
//   GET /api/v2/search/tag/{name}/values  {"tagValues": [{"type": "string", "value": "a"}]}
// Parameters are checked here, each refusal a 400 naming it; the work is src/query/tags/.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  conditionsOf,
  parseTagTarget,
  tagNames,
  tagValues,
  TAG_SCOPES,
  type TagQuery,
  type TagScope,
  type TagTarget,
  type Condition,
} from '../../query/tags/index.js';
import { TraceQLError } from '../../query/traceql/index.js';
import type { Store } from '../../store/store.js';
import { formatDuration } from '../../config/units.js';
import type { QueryAdmission } from '../../query/admission.js';
import { QueryBudget } from '../../query/budget.js';
import { QueryLimitError } from '../../query/search/execute.js';
import type { ApiContext } from '../context.js';
import { partialFields } from '../partial.js';
import { badRequest, clientGone, parseUnixSecondsRange, requireStore } from '../params.js';
import { namedTenants } from '../../auth/access.js';

interface TagsRequest {
  Querystring: Record<string, string | undefined>;
}

interface ValuesRequest extends TagsRequest {
  Params: { name: string };
}

const NANOS_PER_SECOND = 1_000_000_000n;
const COUNT_RE = /^\d{1,9}$/;

interface Prepared {
  store: Store;
  /** One, or several read as one (X-Scope-OrgID `a|b`): their names and values together. */
  tenants: readonly string[];
  query: TagQuery;
}

export function registerTagRoutes(app: FastifyInstance, ctx: ApiContext, queries: QueryAdmission): void {
  /** Runs a tags lookup as an admitted query within query.timeout; undefined after answering its timeout (429). */
  const admitted = async <T>(p: Prepared, reply: FastifyReply, lookup: (q: TagQuery) => Promise<T>): Promise<T | undefined> => {
    const timeoutText = formatDuration(ctx.config.query.timeout);
    const timedOut = () => new QueryLimitError(429, `tags request exceeded query.timeout=${timeoutText}; narrow the time range or q`);
    const cancelled = clientGone(reply);
    const budget = new QueryBudget(Date.now() + ctx.config.query.timeout, timedOut, cancelled);
    try {
      return await queries.run(p.tenants, budget.deadlineMs, timedOut, () => lookup({ ...p.query, budget }), cancelled);
    } catch (err) {
      if (!(err instanceof QueryLimitError)) throw err;
      reply.code(err.status).type('text/plain').send(err.message);
      return undefined;
    }
  };

  app.get<TagsRequest>('/api/search/tags', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const scope = scopeParam(req.query['scope'], false);
    if ('error' in scope) return badRequest(reply, scope.error);
    const p = prepare(ctx, req, reply, false);
    if (!p) return reply;
    // Without a scope, v1 lists attribute names of spans and resources in one list, as Tempo's does.
    const scopes = scope.scopes ?? ['span', 'resource'];
    const r = await admitted(p, reply, (q) => tagNames(p.store, p.tenants, scopes, q));
    if (!r) return reply;
    const all = [...new Set(r.scopes.flatMap((s) => s.tags))].sort();
    return { tagNames: all, ...marker(r.truncated), metrics: metrics(r), ...partialFields(r.partial, 'tags') };
  });

  app.get<TagsRequest>('/api/v2/search/tags', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const scope = scopeParam(req.query['scope'], true);
    if ('error' in scope) return badRequest(reply, scope.error);
    const p = prepare(ctx, req, reply, true);
    if (!p) return reply;
    const r = await admitted(p, reply, (q) => tagNames(p.store, p.tenants, scope.scopes ?? TAG_SCOPES, q));
    if (!r) return reply;
    // Asked for everything, scopes that hold no names are left out (resource and span
    // stay, so a client always finds them).
    const scopes = scope.scopes ? r.scopes : r.scopes.filter((s) => s.tags.length > 0 || s.name === 'resource' || s.name === 'span');
    return { scopes, ...marker(r.truncated), metrics: metrics(r), ...partialFields(r.partial, 'tags') };
  });

  app.get<ValuesRequest>('/api/search/tag/:name/values', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const name = tagNameParam(req.params.name);
    if (typeof name !== 'string') return badRequest(reply, name.error);
    if (name === '') return badRequest(reply, 'invalid tag name "": expected an attribute name such as service.name');
    const p = prepare(ctx, req, reply, false);
    if (!p) return reply;
    const r = await admitted(p, reply, (q) => tagValues(p.store, p.tenants, { type: 'legacy', name }, q));
    if (!r) return reply;
    return { tagValues: r.values.map((v) => v.value), ...marker(r.truncated), metrics: metrics(r), ...partialFields(r.partial, 'tags') };
  });

  app.get<ValuesRequest>('/api/v2/search/tag/:name/values', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const name = tagNameParam(req.params.name);
    if (typeof name !== 'string') return badRequest(reply, name.error);
    const target: TagTarget | { error: string } = parseTagTarget(name);
    if ('error' in target) return badRequest(reply, target.error);
    const p = prepare(ctx, req, reply, true);
    if (!p) return reply;
    const r = await admitted(p, reply, (q) => tagValues(p.store, p.tenants, target, q));
    if (!r) return reply;
    return { tagValues: r.values, ...marker(r.truncated), metrics: metrics(r), ...partialFields(r.partial, 'tags') };
  });
}

/** Store, tenants, range, limit and (v2) q's conditions; undefined after answering an error. */
function prepare(ctx: ApiContext, req: FastifyRequest<TagsRequest>, reply: FastifyReply, withQ: boolean): Prepared | undefined {
  const store = requireStore(ctx, reply);
  if (!store) return undefined;
  const { max_tag_values: maxValues, max_tag_values_bytes: maxBytes } = ctx.config.query;
  let limit = maxValues;
  const limitText = req.query['limit'];
  if (limitText !== undefined && limitText !== '') {
    if (!COUNT_RE.test(limitText)) {
      badRequest(reply, `invalid limit ${JSON.stringify(limitText)}: expected a non-negative integer (0 means query.max_tag_values=${maxValues})`);
      return undefined;
    }
    // As in Tempo, 0 is "no limit of the caller's own"; the configured maximum still holds.
    const n = Number(limitText);
    if (n > 0) limit = Math.min(n, maxValues);
  }
  const range = parseUnixSecondsRange(req.query, reply);
  if (!range) return undefined;
  let conditions: Condition[] = [];
  try {
    // An invalid q is ignored, as Tempo does: autocomplete runs while the query is being typed.
    // One Skein refuses to run (a regex RE2 refuses, past the size limits) is a 400 like the search's.
    if (withQ) conditions = conditionsOf(req.query['q']);
  } catch (err) {
    if (!(err instanceof TraceQLError)) throw err;
    badRequest(reply, `invalid q: ${err.message}`);
    return undefined;
  }
  return {
    store,
    tenants: namedTenants(req),
    query: {
      startUnixNano: range.startUnixSec !== undefined ? BigInt(range.startUnixSec) * NANOS_PER_SECOND : undefined,
      // `end` is a whole second: spans starting anywhere in it are in range.
      endUnixNano: range.endUnixSec !== undefined ? BigInt(range.endUnixSec + 1) * NANOS_PER_SECOND : undefined,
      conditions,
      limit,
      maxBytes,
    },
  };
}

function scopeParam(text: string | undefined, v2: boolean): { scopes: readonly TagScope[] | undefined } | { error: string } {
  if (text === undefined || text === '' || (v2 && (text === 'all' || text === 'none'))) return { scopes: undefined };
  if ((TAG_SCOPES as readonly string[]).includes(text)) return { scopes: [text as TagScope] };
  return { error: `invalid scope ${JSON.stringify(text)}: expected one of ${[...TAG_SCOPES, ...(v2 ? ['all'] : [])].join(', ')}` };
}

/**
 * The router has decoded the path once; Grafana encodes tag names twice
 * (`span.foo%2520bar`), so a name still holding escapes is decoded again, as Tempo does.
 */
function tagNameParam(raw: string): string | { error: string } {
  if (!/%[0-9A-Fa-f]{2}/.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return { error: `invalid tag name ${JSON.stringify(raw)}: malformed percent-encoding` };
  }
}

/** Present only when the answer was cut to query.max_tag_values / max_tag_values_bytes or `limit`. */
function marker(truncated: boolean): { truncated?: true } {
  return truncated ? { truncated: true } : {};
}

/** Tempo's MetadataMetrics in jsonpb form: 64-bit counts as strings, zeros omitted. */
function metrics(r: { inspectedBytes: number; totalBlocks: number }): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (r.inspectedBytes > 0) out['inspectedBytes'] = String(r.inspectedBytes);
  if (r.totalBlocks > 0) out['totalBlocks'] = r.totalBlocks;
  return out;
}
