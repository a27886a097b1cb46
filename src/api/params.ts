// Request parameters shared by the API routes, each refused with a 400 that names it.
import type { FastifyReply } from 'fastify';
import type { Store, TimeRange } from '../store/store.js';
import type { ApiContext } from './context.js';

export function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).type('text/plain').send(message);
}

/**
 * The store, or a 503 while the WAL is being replayed (501 on an instance that runs none).
 * `for`: `query`, the public query API, which an ingester does not serve (its heads are
 * one part of a cluster's answer, which the queriers put together); `store`, the store's
 * own operations and the internal routes its peers ask (any instance with a store).
 */
export function requireStore(ctx: ApiContext, reply: FastifyReply, purpose: 'query' | 'store' = 'query'): Store | undefined {
  if (ctx.target === 'collector') {
    reply
      .code(501)
      .type('text/plain')
      .send('this instance runs --target collector: it forwards spans and stores none; query the instance its exporters send to');
    return undefined;
  }
  if (ctx.target === 'ingester' && purpose === 'query') {
    reply
      .code(501)
      .type('text/plain')
      .send("this instance runs --target ingester: it stores spans and answers its peers, not queries; query a querier (or an instance of --target all), which asks every ingester's head");
    return undefined;
  }
  if (!ctx.store) {
    reply.code(503).header('retry-after', '1').type('text/plain').send('not ready: replaying the write-ahead log');
    return undefined;
  }
  return ctx.store;
}

/**
 * Aborts when the client goes away before its answer is sent: a query given it stops
 * (leaves the queue, or ends at its next check and interrupts its DuckDB scan), since
 * nobody would read the answer. Grafana cancels a search the user has typed past.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}

const UNIX_SECONDS_RE = /^\d{1,12}$/;

/** Tempo's `start`/`end` (unix seconds); undefined after answering 400. */
export function parseUnixSecondsRange(query: { start?: string; end?: string }, reply: FastifyReply): TimeRange | undefined {
  const range: TimeRange = {};
  for (const key of ['start', 'end'] as const) {
    const v = query[key];
    if (v === undefined || v === '') continue;
    if (!UNIX_SECONDS_RE.test(v)) {
      badRequest(reply, `invalid ${key} ${JSON.stringify(v)}: expected unix epoch seconds`);
      return undefined;
    }
    range[key === 'start' ? 'startUnixSec' : 'endUnixSec'] = Number(v);
  }
  if (range.startUnixSec !== undefined && range.endUnixSec !== undefined && range.endUnixSec < range.startUnixSec) {
    badRequest(reply, `invalid time range: end (${range.endUnixSec}) is before start (${range.startUnixSec})`);
    return undefined;
  }
  return range;
}
