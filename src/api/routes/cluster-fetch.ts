// The internal routes a cluster's instances ask each other (cluster/peer-queries.ts asks):
// this instance's part of another's query, in a scope narrower than `all` so that it never
// asks further (store/fetch/request.ts FetchScope). Messages are codec.ts's.
//   POST /api/skein/cluster/fetch   a PeerFetch. traces → NDJSON of the traces fetched, in
//                                   the stream's order, read as the asker reads (backpressure)
//                                   and ended when it hangs up; aggregate → the same of the
//                                   traces in the heads (scope head: no block rows, which
//                                   the asker aggregates from the bucket itself); tag names
//                                   and values → their JSON answer.
//   POST /api/skein/cluster/trace   a PeerTraceLookup → the spans of one trace.
// The request's limits arrive as data: the pacer, its deadline and the limit error are made
// here. Peer queries are not admitted (QueryAdmission): the query they belong to was, on the
// asking instance, and admitting its parts here too could leave two instances each waiting
// for the other's slots.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  CodecError,
  decodeTagged,
  encodeSpans,
  encodeTagged,
  PEER_CONTENT_TYPE,
  PEER_FETCH_PATH,
  PEER_TRACE_PATH,
  readPeerFetch,
  readPeerTraceLookup,
  type PeerFetch,
  type PeerTraceAnswer,
  type PeerTraceLookup,
  type StreamLine,
} from '../../cluster/codec.js';
import { formatDuration } from '../../config/units.js';
import { QueryBudget, QueryCancelledError } from '../../query/budget.js';
import type { FetchedTraces, FetchLimits } from '../../store/fetch/request.js';
import type { ApiContext } from '../context.js';
import { badRequest, clientGone, requireStore } from '../params.js';
import { singleTenant } from '../../auth/access.js';

/** The request's byte limit, reached here: the asker throws its own limit error for it. */
class OverLimitError extends Error {
  override name = 'OverLimitError';
  constructor(
    readonly bytes: number,
    readonly planned: boolean,
  ) {
    super(`the part would inspect ${bytes} bytes, over the query's limit`);
  }
}

export function registerClusterRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // Read as text: tags are revived by decodeTagged, and a malformed body is a 400 naming its field.
  app.addContentTypeParser(PEER_CONTENT_TYPE, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post<{ Body: string }>(PEER_FETCH_PATH, { config: { access: 'peer' } }, async (req, reply) => {
    const store = requireStore(ctx, reply, 'store');
    if (!store) return reply;
    const tenant = singleTenant(req);
    const msg = parse(reply, req.body, readPeerFetch);
    if (!msg) return reply;
    const budget = budgetFor(msg.timeoutMs, reply);
    const limits: FetchLimits = {
      pacer: budget,
      maxBytesInspected: msg.request.maxBytesInspected,
      overLimit: (bytes, planned) => new OverLimitError(bytes, planned === true),
    };
    const r = msg.request;
    switch (r.kind) {
      case 'traces':
        return stream(reply, ctx, budget, () => store.fetch(tenant, { ...r, ...limits }, msg.scope));
      case 'aggregate':
        if (msg.scope !== 'head') {
          budget.close();
          return badRequest(reply, "invalid peer request: an aggregate's part is the peer's heads (scope head); block rows are aggregated by the asking instance");
        }
        return stream(reply, ctx, budget, async () => (await store.fetch(tenant, { ...r, ...limits }, 'head')).traces);
      case 'tag-names':
        return answer(reply, await budget.run(() => store.fetch(tenant, { ...r, ...limits }, msg.scope)));
      case 'tag-values':
        return answer(reply, await budget.run(() => store.fetch(tenant, { ...r, ...limits }, msg.scope)));
    }
  });

  app.post<{ Body: string }>(PEER_TRACE_PATH, { config: { access: 'peer' } }, async (req, reply) => {
    const store = requireStore(ctx, reply, 'store');
    if (!store) return reply;
    const tenant = singleTenant(req);
    const lookup: PeerTraceLookup | undefined = parse(reply, req.body, readPeerTraceLookup);
    if (!lookup) return reply;
    const found = await store.findTrace(tenant, lookup.traceId, { startUnixSec: lookup.startUnixSec, endUnixSec: lookup.endUnixSec }, lookup.scope);
    const out: PeerTraceAnswer = { spans: encodeSpans(found.spans), inspectedBytes: found.inspectedBytes };
    return answer(reply, out);
  });
}

function parse<T>(reply: FastifyReply, body: unknown, read: (value: unknown) => T): T | undefined {
  if (typeof body !== 'string') {
    badRequest(reply, `invalid peer request: expected a body of content type ${PEER_CONTENT_TYPE}`);
    return undefined;
  }
  try {
    return read(decodeTagged(body));
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    badRequest(reply, `invalid peer request: ${err.message}`);
    return undefined;
  }
}

/** The part's pacer: the asking query's time left, and this request's client (it hangs up when it has enough). */
function budgetFor(timeoutMs: PeerFetch['timeoutMs'], reply: FastifyReply): QueryBudget {
  const text = formatDuration(timeoutMs);
  return new QueryBudget(Date.now() + timeoutMs, () => new Error(`the part outlasted the ${text} its query had left`), clientGone(reply));
}

function answer(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.type(PEER_CONTENT_TYPE).send(encodeTagged(value));
}

/**
 * Streams the traces as NDJSON lines (codec.ts StreamLine), each encoded only when the
 * client's side of the connection takes more: a slow reader holds the fetch where it is.
 * When the client hangs up the stream is destroyed, which ends the iteration (and releases
 * the blocks it held). An error after the first byte can only be a last line.
 */
function stream(reply: FastifyReply, ctx: ApiContext, budget: QueryBudget, open: () => FetchedTraces | Promise<FetchedTraces>): FastifyReply {
  async function* lines(): AsyncGenerator<string> {
    try {
      const fetched = await open();
      for await (const t of fetched) {
        const line: StreamLine = { trace: { traceId: t.traceId, key: t.key, spans: encodeSpans(t.spans) } };
        yield `${encodeTagged(line)}\n`;
      }
      const { inspectedBytes, inspectedTraces } = fetched.stats;
      yield `${encodeTagged({ end: { inspectedBytes, inspectedTraces } } satisfies StreamLine)}\n`;
    } catch (e) {
      const err = budget.expired() ?? e;
      if (err instanceof QueryCancelledError) return;
      if (!(err instanceof OverLimitError)) ctx.logger.warn({ err }, "a peer's query part failed");
      const line: StreamLine = {
        error: { message: (err as Error).message, ...(err instanceof OverLimitError && { overLimit: { bytes: err.bytes, planned: err.planned } }) },
      };
      yield `${encodeTagged(line)}\n`;
    } finally {
      budget.close();
    }
  }
  return reply.type('application/x-ndjson').send(Readable.from(lines()));
}
