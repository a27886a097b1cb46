// Tempo's trace-by-ID routes: /api/traces/{id} (v1) and /api/v2/traces/{id}.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeOtlpJson } from '../../otlp/json.js';
import { encodeTraceByIdResponse, encodeTracesData } from '../../otlp/protobuf.js';
import { parseTraceId } from '../../query/trace-id.js';
import { findTraceById, type TraceLookup, type TraceResult } from '../../query/trace-by-id.js';
import type { PartialAnswer } from '../../store/fetch/request.js';
import type { ApiContext } from '../context.js';
import { partialFields } from '../partial.js';
import { badRequest, parseUnixSecondsRange, requireStore } from '../params.js';
import { namedTenants } from '../../auth/access.js';

const PROTOBUF = 'application/protobuf';

interface TraceParams {
  Params: { traceId: string };
  Querystring: { start?: string; end?: string };
}

export function registerTraceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<TraceParams>('/api/traces/:traceId', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const lookup = await lookupTrace(req, reply, ctx);
    if (!lookup) return reply;
    const { result } = lookup;
    if (!result) return notFound(reply, lookup.partial);
    // v1's body is the trace alone: a partial answer is only counted.
    partialFields(lookup.partial, 'trace');
    if (result.truncated) {
      return reply
        .code(422)
        .type('text/plain')
        .send(`trace exceeds max size (max bytes: ${result.truncated.limit}): ${lookup.maxBytesNamed}; use /api/v2/traces for a truncated trace`);
    }
    if (wantsProtobuf(req)) return reply.type(PROTOBUF).send(Buffer.from(encodeTracesData(result.batch)));
    // OTLP's "resourceSpans" (the API contract, and what OTLP/JSON readers expect) and
    // Tempo's historical "batches" (MarshalToJSONV1; Perses' Tempo plugin reads only that
    // key) name the same list: v1 JSON readers of either kind get the spans.
    const { resourceSpans } = encodeOtlpJson(result.batch, { ids: 'base64' });
    return reply.type('application/json').send({ resourceSpans, batches: resourceSpans });
  });

  app.get<TraceParams>('/api/v2/traces/:traceId', { config: { access: 'read', tenants: 'several' } }, async (req, reply) => {
    const lookup = await lookupTrace(req, reply, ctx);
    if (!lookup) return reply;
    const { result, partial } = lookup;
    if (!result) return notFound(reply, partial);
    const message = [
      result.truncated &&
        `trace exceeds max size (max bytes: ${result.truncated.limit}, trace bytes: ${result.truncated.totalBytes}); returned the first ${result.spanCount} spans`,
      partialFields(partial, 'trace').message,
    ]
      .filter((m) => typeof m === 'string' && m !== '')
      .join('; ');
    const isPartial = result.truncated !== undefined || partial !== undefined;
    if (wantsProtobuf(req)) {
      return reply.type(PROTOBUF).send(
        Buffer.from(
          encodeTraceByIdResponse({
            trace: encodeTracesData(result.batch),
            inspectedBytes: result.inspectedBytes,
            partial: isPartial,
            message,
          }),
        ),
      );
    }
    return reply.type('application/json').send(v2Json(result, isPartial, message));
  });
}

async function lookupTrace(
  req: FastifyRequest<TraceParams>,
  reply: FastifyReply,
  ctx: ApiContext,
): Promise<(TraceLookup & { maxBytesNamed: string }) | undefined> {
  const store = requireStore(ctx, reply);
  if (!store) return undefined;
  const id = parseTraceId(req.params.traceId);
  if ('error' in id) {
    badRequest(reply, id.error);
    return undefined;
  }
  const range = parseUnixSecondsRange(req.query, reply);
  if (!range) return undefined;
  const tenants = namedTenants(req);
  const own = ctx.overrides.strictest(tenants);
  // Tempo's 0: no limit.
  const lookup = await findTraceById(store, tenants, id.traceId, range, own.max_bytes_per_trace || Infinity);
  return { ...lookup, maxBytesNamed: own.named.max_bytes_per_trace };
}

/** 404; when some peers did not answer, the trace may be theirs, and the message says so. */
function notFound(reply: FastifyReply, partial: PartialAnswer | undefined): FastifyReply {
  const { message } = partialFields(partial, 'trace');
  return reply
    .code(404)
    .type('text/plain')
    .send(message === undefined ? 'trace not found' : `trace not found; ${message}`);
}

function wantsProtobuf(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes(PROTOBUF) || accept.includes('application/x-protobuf');
}

function v2Json(result: TraceResult, partial: boolean, message: string): Record<string, unknown> {
  return {
    trace: encodeOtlpJson(result.batch, { ids: 'base64' }),
    metrics: { inspectedBytes: String(result.inspectedBytes) },
    ...(partial && { status: 'PARTIAL', message }),
  };
}
