// OTLP/HTTP receiver: POST /v1/traces with protobuf or JSON bodies, gzip or
// deflate, answered as the OTLP specification says (the error body is a
// google.rpc.Status in the request's encoding).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHttpServer } from '../net/http-server.js';
import type { ServerTls } from '../net/server-tls.js';
import type { Logger } from '../telemetry/logger.js';
import { decodeTracesDataKeepingWire, encodeExportTraceServiceResponse, encodeRpcStatus } from '../otlp/protobuf.js';
import { decodeOtlpJson } from '../otlp/json.js';
import { installAccessControl, REFUSAL_REASON, singleTenant, type RefusalStatus } from '../auth/access.js';
import type { Authenticator } from '../auth/authenticator.js';
import { FORWARDED_HEADER, isForwarded } from '../lib/forwarded.js';
import type { IngestOutcome, Ingester } from './ingest.js';
import { declaredBytes, decompress, tooLargeMessage } from './decompress.js';
import { status as GrpcCode } from '@grpc/grpc-js';

type BodyEncoding = 'protobuf' | 'json';

const MEDIA_TYPES: Record<string, BodyEncoding> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

/** The access check's refusals (src/auth/access.ts) as OTLP codes; 503 (the identity provider is unreachable) is retried by exporters. */
const REFUSAL_CODES: Record<RefusalStatus, GrpcCode> = { 400: GrpcCode.INVALID_ARGUMENT, 401: GrpcCode.UNAUTHENTICATED, 403: GrpcCode.PERMISSION_DENIED, 503: GrpcCode.UNAVAILABLE };

export interface OtlpHttpOptions {
  ingester: Ingester;
  logger: Logger;
  authenticator: Authenticator;
  /** HTTPS with these settings (receivers.otlp.protocols.http.tls); plain HTTP without. */
  tls?: ServerTls | undefined;
}

export function createOtlpHttpReceiver(opts: OtlpHttpOptions): FastifyInstance {
  const { ingester } = opts;
  // Compressed bodies are bounded by the same limit as decompressed ones.
  const app = createHttpServer(opts.logger.child({ component: 'otlp-http' }), { bodyLimit: ingester.maxRequestBytes, tls: opts.tls });
  installAccessControl(app, {
    authenticator: opts.authenticator,
    metricsAccess: 'admin',
    logger: opts.logger.child({ component: 'auth' }),
    listener: 'otlp_http',
    respond: (req, reply, status, message) => {
      ingester.refusedRequest(encodingOf(req) === 'protobuf' ? 'http_protobuf' : 'http_json', REFUSAL_REASON[status]);
      return sendStatus(reply, encodingOf(req) ?? 'json', status, REFUSAL_CODES[status], message);
    },
  });

  // Keep bodies as bytes: decoding depends on Content-Type and Content-Encoding,
  // which the route checks itself to answer with OTLP's status bodies.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      ingester.refusedRequest('http_protobuf', 'too_large');
      return sendStatus(reply, encodingOf(req) ?? 'json', 413, GrpcCode.INVALID_ARGUMENT, tooLargeMessage(ingester.maxRequestBytes, 'before decompression'));
    }
    if (status >= 500) opts.logger.error({ err }, 'otlp-http request failed');
    return sendStatus(reply, encodingOf(req) ?? 'json', status, status >= 500 ? GrpcCode.INTERNAL : GrpcCode.INVALID_ARGUMENT, err.message);
  });

  // Under overload the refusal goes out before the body is read (see admission.ts).
  const refuseEarly = async (req: FastifyRequest, reply: FastifyReply) => {
    const encoding = encodingOf(req) ?? 'json';
    const refused = ingester.refuseEarly(encoding === 'protobuf' ? 'http_protobuf' : 'http_json', declaredBytes(req.headers));
    if (refused) return sendOutcome(reply, encoding, refused);
    return undefined;
  };

  app.post('/v1/traces', { onRequest: refuseEarly, config: { access: 'write' } }, async (req, reply) => {
    const encoding = encodingOf(req);
    if (encoding === undefined) {
      ingester.refusedRequest('http_json', 'unsupported_media_type');
      return sendStatus(
        reply,
        'json',
        415,
        GrpcCode.INVALID_ARGUMENT,
        `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`,
      );
    }
    const transport = encoding === 'protobuf' ? 'http_protobuf' : 'http_json';
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = await decompress(raw, req.headers['content-encoding'], ingester.maxRequestBytes);
    if ('error' in body) {
      ingester.refusedRequest(transport, body.reason);
      return sendStatus(reply, encoding, body.status, GrpcCode.INVALID_ARGUMENT, body.error);
    }
    const outcome = await ingester.ingest(
      singleTenant(req),
      transport,
      () => (encoding === 'protobuf' ? decodeTracesDataKeepingWire(body.bytes) : decodeOtlpJson(body.bytes)),
      { bytes: body.bytes.length, arrivedAt: Date.now() - reply.elapsedTime, forwarded: req.principal.peer && isForwarded(req.headers[FORWARDED_HEADER]) },
    );
    return sendOutcome(reply, encoding, outcome);
  });

  return app;
}

function encodingOf(req: FastifyRequest): BodyEncoding | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return MEDIA_TYPES[type];
}

function sendOutcome(reply: FastifyReply, encoding: BodyEncoding, outcome: IngestOutcome): FastifyReply {
  switch (outcome.kind) {
    case 'accepted': {
      const partial = outcome.rejectedSpans > 0 ? { rejectedSpans: outcome.rejectedSpans, errorMessage: outcome.errorMessage } : undefined;
      if (encoding === 'protobuf') {
        return reply.code(200).type('application/x-protobuf').send(Buffer.from(encodeExportTraceServiceResponse(partial)));
      }
      return reply
        .code(200)
        .type('application/json')
        .send(partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {});
    }
    case 'invalid':
      return sendStatus(reply, encoding, 400, GrpcCode.INVALID_ARGUMENT, outcome.message);
    case 'too_large':
      return sendStatus(reply, encoding, 413, GrpcCode.INVALID_ARGUMENT, outcome.message);
    case 'overloaded':
      reply.header('retry-after', String(outcome.retryAfterSeconds));
      return sendStatus(reply, encoding, 429, GrpcCode.RESOURCE_EXHAUSTED, outcome.message);
    case 'unavailable':
      reply.header('retry-after', String(outcome.retryAfterSeconds));
      return sendStatus(reply, encoding, 503, GrpcCode.UNAVAILABLE, outcome.message);
  }
}

function sendStatus(reply: FastifyReply, encoding: BodyEncoding, httpStatus: number, code: number, message: string): FastifyReply {
  reply.code(httpStatus);
  if (encoding === 'protobuf') {
    return reply.type('application/x-protobuf').send(Buffer.from(encodeRpcStatus(code, message)));
  }
  return reply.type('application/json').send({ code, message });
}
