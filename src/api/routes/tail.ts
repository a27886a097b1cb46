// GET /api/skein/tail?q=<TraceQL>: live tail as server-sent events. Each open
// tail polls the store every ui.live_tail.poll_interval with the search executor
// (the same one /api/search runs) over the traces that ended within
// ui.live_tail.lookback, and sends every matching trace it has not sent before,
// in /api/search's trace-summary shape. Whatever matched when the tail opened
// counts as seen: only traces that arrive afterwards are sent.
//
// Bounded: at most ui.live_tail.max_clients tails at once (429 beyond), at most
// max_events_per_second traces per tail (the rest are counted in a `dropped`
// event). A tail ends when its client goes away, and every tail is ended
// before the API server closes so a SIGTERM never waits on an open stream.
//
// DELETE /api/skein/tail/<id> ends the tail opened with `&id=<id>` at once. A
// closed EventSource does not always close its connection right away (a
// browser may keep reading it a while to reuse it, a proxy may hold it), and
// until the server sees it go the tail holds one of the max_clients places; the
// UI sends this when it stops a tail. A tail belongs to the tenant and the
// principal that opened it: anyone else's DELETE finds no such tail (404), and
// a reconnection replaces only its own.
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { formatDuration } from '../../config/units.js';
import { parseTraceQL, TraceQLError, validateTraceQL, type PipelineExpr } from '../../query/traceql/index.js';
import { QueryLimitError, searchTimeout, searchTraces, type MatchedTrace } from '../../query/search/execute.js';
import { QueryQueueFullError, type QueryAdmission } from '../../query/admission.js';
import { searchResponseJson } from '../../query/search/response.js';
import type { Store } from '../../store/store.js';
import type { ApiContext } from '../context.js';
import { badRequest, requireStore } from '../params.js';
import { singleTenant } from '../../auth/access.js';

interface TailQuery {
  Querystring: { q?: string; id?: string };
}

/** What a client may name its tail: long enough to be unguessable, short enough to log. */
const TAIL_ID_RE = /^[A-Za-z0-9_-]{16,64}$/;

/** A comment line now and then keeps proxies and browsers from timing an idle stream out. */
const HEARTBEAT_MS = 15_000;
/** Most recent matches a poll asks for: more new traces than this per poll are beyond any UI's reading anyway. */
const POLL_LIMIT = 100;
/** A client that reads slower than this much buffered output is sent nothing more until it catches up. */
const MAX_BUFFERED_BYTES = 1 << 20;

/** The query as /api/search would take it; a message when it would refuse it. */
export function parseTailQuery(text: string | undefined): PipelineExpr | string {
  const src = text === undefined || text.trim() === '' ? '{}' : text;
  try {
    const { ast } = parseTraceQL(src);
    validateTraceQL(ast);
    if (ast.query.type === 'metricsQuery') return 'invalid TraceQL query: a metrics query (rate(), count_over_time(), …) cannot be tailed; tail a spanset filter such as { status = error }';
    if (ast.query.type === 'scalarPipelineFilter') return 'unsupported TraceQL: comparing the results of separate pipelines is not supported';
    return ast.query;
  } catch (err) {
    if (err instanceof TraceQLError) return err.message;
    throw err;
  }
}

interface Tail {
  end(reason: string): void;
  /** The client's name for it (`id`), if it gave one, and whose it is: only its owner may end or replace it. */
  readonly id: string | undefined;
  readonly owner: TailOwner;
}

/** The tenant a tail reads and the principal (by subject) that opened it. */
interface TailOwner {
  tenant: string;
  subject: string;
}

function ownedBy(t: Tail, id: string, owner: TailOwner): boolean {
  return t.id === id && t.owner.tenant === owner.tenant && t.owner.subject === owner.subject;
}

/** The tails open on each API server (tests start several in one process). */
const openTails = new WeakMap<FastifyInstance, Set<Tail>>();

/** How many live tails this API server has open now. */
export function openTailCount(app: FastifyInstance): number {
  return openTails.get(app)?.size ?? 0;
}

export function registerTailRoutes(app: FastifyInstance, ctx: ApiContext, queries: QueryAdmission): void {
  const open = new Set<Tail>();
  openTails.set(app, open);
  // preClose runs before the server stops accepting and waits for its
  // connections: an SSE response never ends by itself, so end them here.
  app.addHook('preClose', async () => {
    for (const t of [...open]) t.end('shutdown');
  });

  app.get<TailQuery>('/api/skein/tail', { config: { access: 'read' } }, async (req, reply) => {
    const store = requireStore(ctx, reply);
    if (!store) return reply;
    const owner: TailOwner = { tenant: singleTenant(req), subject: req.principal.subject };
    const query = parseTailQuery(req.query.q);
    if (typeof query === 'string') return badRequest(reply, query);
    const id = req.query.id;
    if (id !== undefined && !TAIL_ID_RE.test(id)) return badRequest(reply, 'invalid id: 16 to 64 letters, digits, "-" or "_"');
    // The same id again is the same client reconnecting (EventSource retries with the same URL): the new stream replaces the old.
    if (id !== undefined) for (const t of [...open]) if (ownedBy(t, id, owner)) t.end('replaced by a reconnection');
    const cfg = ctx.config.ui.live_tail;
    if (open.size >= cfg.max_clients) {
      return reply
        .code(429)
        .header('retry-after', '5')
        .type('text/plain')
        .send(`too many live tails open (ui.live_tail.max_clients=${cfg.max_clients}); close one and retry`);
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    const tail = startTail(res, store, ctx, queries, owner, query, id, () => open.delete(tail));
    open.add(tail);
    res.on('close', () => tail.end('client closed'));
    // A client that hung up before the listener above was added sends no second 'close'.
    if (res.destroyed) tail.end('client closed');
  });

  app.delete<{ Params: { id: string } }>('/api/skein/tail/:id', { config: { access: 'read' } }, async (req, reply) => {
    const owner: TailOwner = { tenant: singleTenant(req), subject: req.principal.subject };
    const tail = [...open].find((t) => ownedBy(t, req.params.id, owner));
    if (!tail) return reply.code(404).type('text/plain').send(`no live tail with id ${JSON.stringify(req.params.id)} is open`);
    tail.end('closed by the client');
    return reply.code(204).send();
  });
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function startTail(
  res: ServerResponse,
  store: Store,
  ctx: ApiContext,
  queries: QueryAdmission,
  owner: TailOwner,
  query: PipelineExpr,
  id: string | undefined,
  onEnd: () => void,
): Tail {
  const cfg = ctx.config.ui.live_tail;
  const limits = ctx.config.query;
  const lookbackNs = BigInt(cfg.lookback) * 1_000_000n;
  /** Trace ID → end (unix ns) of every trace already sent or seen at the start; forgotten once it ends before the window. */
  const seen = new Map<string, bigint>();
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let first = true;
  // A token bucket: a burst up to one second's worth, then the steady rate.
  let tokens = cfg.max_events_per_second;
  let refilledAt = Date.now();

  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();

  const tail: Tail = {
    id,
    owner,
    end(reason: string) {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      onEnd();
      if (!res.writableEnded && !res.destroyed) {
        if (reason !== 'client closed') send(res, 'end', { reason });
        res.end();
      }
    },
  };

  const poll = async (): Promise<void> => {
    // Belt and braces for a lost 'close': a tail whose socket is gone frees its place at the next poll.
    // An SSE client never half-closes, so a socket whose reading side ended is a client gone too.
    if (res.destroyed || !res.socket || res.socket.destroyed || res.socket.readableEnded) {
      tail.end('client closed');
      return;
    }
    const windowStart = BigInt(Date.now()) * 1_000_000n - lookbackNs;
    let matched: MatchedTrace[];
    const deadlineMs = Date.now() + limits.timeout;
    const timeoutText = formatDuration(limits.timeout);
    try {
      // Each poll is a query like any other: it waits for a place among query.max_concurrent_queries.
      const result = await queries.run(owner.tenant, deadlineMs, () => searchTimeout(timeoutText), () =>
        searchTraces(
          store,
          { tenants: owner.tenant, query, startUnixNano: windowStart, limit: Math.min(POLL_LIMIT, limits.max_limit), deadlineMs, maxBytesInspected: limits.max_bytes_inspected },
          { timeoutText, maxBytesText: String(limits.max_bytes_inspected) },
        ),
      );
      matched = result.traces;
    } catch (err) {
      if (ended) return;
      // The store closes before the API server on shutdown: a poll caught in between ends the tail as the shutdown it is.
      if (store.closing) {
        tail.end('shutdown');
        return;
      }
      if (err instanceof QueryLimitError || err instanceof QueryQueueFullError) {
        // Too costly or too busy this time (a burst of traffic): say so and try again next poll.
        send(res, 'error', { status: err instanceof QueryLimitError ? err.status : err.statusCode, message: err.message });
        return;
      }
      ctx.logger.warn({ err }, 'live tail poll failed');
      send(res, 'error', { status: 500, message: err instanceof Error ? err.message : String(err) });
      tail.end('error');
      return;
    }
    if (ended) return;
    for (const [id, end] of seen) if (end < windowStart) seen.delete(id);
    // Oldest first, so a client appending rows keeps arrival order.
    const fresh = matched.filter((m) => !seen.has(m.trace.traceId)).reverse();
    for (const m of fresh) seen.set(m.trace.traceId, m.trace.end);
    if (first) {
      first = false;
      send(res, 'ready', { pollIntervalMs: cfg.poll_interval, lookbackMs: cfg.lookback, maxEventsPerSecond: cfg.max_events_per_second });
      return;
    }
    const now = Date.now();
    tokens = Math.min(cfg.max_events_per_second, tokens + ((now - refilledAt) / 1000) * cfg.max_events_per_second);
    refilledAt = now;
    let dropped = 0;
    for (const m of fresh) {
      if (tokens < 1 || res.writableLength > MAX_BUFFERED_BYTES) {
        dropped++;
        continue;
      }
      tokens--;
      const summary = (searchResponseJson([m], { inspectedTraces: 0, inspectedBytes: 0, totalBlocks: 0 }, query, limits.default_spss)['traces'] as unknown[])[0];
      send(res, 'trace', summary);
    }
    if (dropped > 0) send(res, 'dropped', { count: dropped, reason: `over ui.live_tail.max_events_per_second=${cfg.max_events_per_second} or a slow reader` });
  };

  const loop = (): void => {
    void poll().finally(() => {
      if (!ended) timer = setTimeout(loop, cfg.poll_interval);
    });
  };
  loop();
  return tail;
}
