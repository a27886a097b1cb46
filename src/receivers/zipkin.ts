// Zipkin receiver: `POST /api/v2/spans`, as Zipkin's collector API and the
// OpenTelemetry Collector's zipkin receiver serve it. Zipkin's contract is
// 202 Accepted with an empty body and plain-text errors; it has no partial
// success, so a request whose valid spans were stored is a 202 even when
// some spans were refused (counted in the receiver metrics and logged).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHttpServer } from '../net/http-server.js';
import type { ServerTls } from '../net/server-tls.js';
import type { Logger } from '../telemetry/logger.js';
import { decodeZipkinV2Json, decodeZipkinV2Proto, type ZipkinDecodeOptions } from '../otlp/zipkin.js';
import { installAccessControl, REFUSAL_REASON, singleTenant } from '../auth/access.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { IngestOutcome, Ingester } from './ingest.js';
import { declaredBytes, decompress, tooLargeMessage } from './decompress.js';

export const ZIPKIN_SPANS_PATH = '/api/v2/spans';

type BodyEncoding = 'json' | 'protobuf';

/** Zipkin reporters send JSON unless they say otherwise; so does a request without a Content-Type. */
const MEDIA_TYPES: Record<string, BodyEncoding> = {
  '': 'json',
  'application/json': 'json',
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
};

export interface ZipkinReceiverOptions {
  ingester: Ingester;
  logger: Logger;
  authenticator: Authenticator;
  /** Tags that read as numbers or booleans become typed attributes (the collector's `parse_string_tags`). Default false. */
  parseStringTags?: boolean;
  /** HTTPS with these settings (receivers.zipkin.tls); plain HTTP without. */
  tls?: ServerTls | undefined;
}

export function createZipkinReceiver(opts: ZipkinReceiverOptions): FastifyInstance {
  const { ingester } = opts;
  const logger = opts.logger.child({ component: 'zipkin' });
  const decodeOptions: ZipkinDecodeOptions = { parseStringTags: opts.parseStringTags ?? false };
  // Compressed bodies are bounded by the same limit as decompressed ones.
  const app = createHttpServer(logger, { bodyLimit: ingester.maxRequestBytes, tls: opts.tls });
  installAccessControl(app, {
    authenticator: opts.authenticator,
    metricsAccess: 'admin',
    logger: opts.logger.child({ component: 'auth' }),
    listener: 'zipkin',
    respond: (_req, reply, status, message) => {
      ingester.refusedRequest('zipkin', REFUSAL_REASON[status]);
      return sendText(reply, status, message);
    },
  });

  // Keep bodies as bytes: decoding depends on Content-Type and Content-Encoding,
  // which the route checks itself to answer with Zipkin's plain-text errors.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      ingester.refusedRequest('zipkin', 'too_large');
      return sendText(reply, 413, tooLargeMessage(ingester.maxRequestBytes, 'before decompression'));
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) logger.error({ err }, 'zipkin request failed');
    return sendText(reply, status, err.message);
  });

  // Under overload the refusal goes out before the body is read (see admission.ts).
  const refuseEarly = async (req: FastifyRequest, reply: FastifyReply) => {
    const refused = ingester.refuseEarly('zipkin', declaredBytes(req.headers));
    return refused ? sendOutcome(reply, refused) : undefined;
  };

  app.post(ZIPKIN_SPANS_PATH, { onRequest: refuseEarly, config: { access: 'write' } }, async (req, reply) => {
    const encoding = encodingOf(req);
    if (encoding === undefined) {
      ingester.refusedRequest('zipkin', 'unsupported_media_type');
      return sendText(
        reply,
        415,
        `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/json (Zipkin v2 JSON) or application/x-protobuf`,
      );
    }
    const tenant = singleTenant(req);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = await decompress(raw, req.headers['content-encoding'], ingester.maxRequestBytes);
    if ('error' in body) {
      ingester.refusedRequest('zipkin', body.reason);
      return sendText(reply, body.status, body.error);
    }
    const outcome = await ingester.ingest(
      tenant,
      'zipkin',
      () => (encoding === 'json' ? decodeZipkinV2Json(body.bytes, decodeOptions) : decodeZipkinV2Proto(body.bytes, decodeOptions)),
      { bytes: body.bytes.length, arrivedAt: Date.now() - reply.elapsedTime },
    );
    if (outcome.kind === 'accepted' && outcome.rejectedSpans > 0) {
      logger.warn(
        { tenant, acceptedSpans: outcome.acceptedSpans, rejectedSpans: outcome.rejectedSpans, errorMessage: outcome.errorMessage },
        'zipkin request partly refused; Zipkin has no partial-success answer, so the client got 202',
      );
    }
    return sendOutcome(reply, outcome);
  });

  // Zipkin v1 (JSON or Thrift) is a different span model; say so rather than a bare 404.
  app.post('/api/v1/spans', { config: { access: 'public' } }, async (_req, reply) => {
    ingester.refusedRequest('zipkin', 'unsupported_api');
    return sendText(reply, 404, `Zipkin v1 is not supported: send Zipkin v2 spans to POST ${ZIPKIN_SPANS_PATH}`);
  });

  return app;
}

function encodingOf(req: FastifyRequest): BodyEncoding | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return MEDIA_TYPES[type];
}

function sendOutcome(reply: FastifyReply, outcome: IngestOutcome): FastifyReply {
  switch (outcome.kind) {
    case 'accepted':
      return reply.code(202).send();
    case 'invalid':
      return sendText(reply, 400, outcome.message);
    case 'too_large':
      return sendText(reply, 413, outcome.message);
    case 'overloaded':
      reply.header('retry-after', String(outcome.retryAfterSeconds));
      return sendText(reply, 429, outcome.message);
    case 'unavailable':
      reply.header('retry-after', String(outcome.retryAfterSeconds));
      return sendText(reply, 503, outcome.message);
  }
}

function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}
