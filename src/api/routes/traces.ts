// Tempo's trace-by-ID routes: /api/traces/{id} (v1) and /api/v2/traces/{id}.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeOtlpJson } from '../../otlp/json.js';
import { encodeTraceByIdResponse, encodeTracesData } from '../../otlp/protobuf.js';
import { parseTraceId } from '../../query/trace-id.js';
import { findTraceById, type TraceResult } from '../../query/trace-by-id.js';
import type { ApiContext } from '../context.js';
import { badRequest, parseUnixSecondsRange, requireStore, tenantOf } from '../params.js';

const PROTOBUF = 'application/protobuf';

interface TraceParams {
  Params: { traceId: string };
  Querystring: { start?: string; end?: string };
}

export function registerTraceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<TraceParams>('/api/traces/:traceId', async (req, reply) => {
    const lookup = await lookupTrace(req, reply, ctx);
    if (!lookup) return reply;
    const { result } = lookup;
    if (!result) return reply.code(404).type('text/plain').send('trace not found');
    if (result.truncated) {
      return reply
        .code(422)
        .type('text/plain')
        .send(`trace exceeds max size (max bytes: ${result.truncated.limit}): limits.max_bytes_per_trace; use /api/v2/traces for a truncated trace`);
    }
    if (wantsProtobuf(req)) return reply.type(PROTOBUF).send(Buffer.from(encodeTracesData(result.batch)));
    // OTLP's "resourceSpans" (the API contract, and what OTLP/JSON readers expect) and
    // Tempo's historical "batches" (MarshalToJSONV1; Perses' Tempo plugin reads only that
    // key) name the same list: v1 JSON readers of either kind get the spans.
    const { resourceSpans } = encodeOtlpJson(result.batch, { ids: 'base64' });
    return reply.type('application/json').send({ resourceSpans, batches: resourceSpans });
  });

  app.get<TraceParams>('/api/v2/traces/:traceId', async (req, reply) => {
    const lookup = await lookupTrace(req, reply, ctx);
    if (!lookup) return reply;
    const { result } = lookup;
    if (!result) return reply.code(404).type('text/plain').send('trace not found');
    const message = result.truncated
      ? `trace exceeds max size (max bytes: ${result.truncated.limit}, trace bytes: ${result.truncated.totalBytes}); returned the first ${result.spanCount} spans`
      : '';
    if (wantsProtobuf(req)) {
      return reply.type(PROTOBUF).send(
        Buffer.from(
          encodeTraceByIdResponse({
            trace: encodeTracesData(result.batch),
            inspectedBytes: result.inspectedBytes,
            partial: result.truncated !== undefined,
            message,
          }),
        ),
      );
    }
    return reply.type('application/json').send(v2Json(result, message));
  });
}

async function lookupTrace(
  req: FastifyRequest<TraceParams>,
  reply: FastifyReply,
  ctx: ApiContext,
): Promise<{ result: TraceResult | undefined } | undefined> {
  const store = requireStore(ctx, reply);
  if (!store) return undefined;
  const tenant = tenantOf(req, reply);
  if (!tenant) return undefined;
  const id = parseTraceId(req.params.traceId);
  if ('error' in id) {
    badRequest(reply, id.error);
    return undefined;
  }
  const range = parseUnixSecondsRange(req.query, reply);
  if (!range) return undefined;
  const result = await findTraceById(store, tenant, id.traceId, range, ctx.config.limits.max_bytes_per_trace);
  return { result };
}

function wantsProtobuf(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes(PROTOBUF) || accept.includes('application/x-protobuf');
}

function v2Json(result: TraceResult, message: string): Record<string, unknown> {
  return {
    trace: encodeOtlpJson(result.batch, { ids: 'base64' }),
    metrics: { inspectedBytes: String(result.inspectedBytes) },
    ...(result.truncated && { status: 'PARTIAL', message }),
  };
}
