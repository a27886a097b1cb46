// The reference API: four hot paths, each one span of the name a dashboard
// and an alert would use, instrumented with @skein/instrument.
import { createHash, randomUUID } from 'node:crypto';
import { SpanKind, type Span } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { injectTraceHeaders, maskEmail, queryLengthAttribute, withSpan } from '@skein/instrument';
import { createService, serve, serverSpan } from './common.js';

const service = createService(process.env['OTEL_SERVICE_NAME'] ?? 'reference-api');
const { app, logger } = service;
const backend = (process.env['BACKEND_URL'] ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
const CHUNK_BYTES = 5 * 1024 * 1024;
const PAYMENT_EVENTS = new Set(['payment.succeeded', 'payment.failed', 'refund.created']);
const CATALOGUE = ['Blue in Green', 'So What', 'Freddie Freeloader', 'All Blues', 'Flamenco Sketches', 'Green Dolphin Street'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A call to the backend inside a CLIENT span, with the trace context in its headers. */
async function callBackend<T>(name: string, path: string, body: unknown): Promise<T> {
  return withSpan(name, { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'POST', 'server.address': new URL(backend).host, 'url.path': path } }, async (span) => {
    const res = await fetch(`${backend}${path}`, {
      method: 'POST',
      headers: injectTraceHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
    });
    span.setAttribute('http.response.status_code', res.status);
    if (!res.ok) throw new HttpError(502, `backend ${path} answered ${res.status}`);
    return (await res.json()) as T;
  });
}

/**
 * One hot path: a SERVER span named for it, the response status on the span,
 * and a failure logged inside the span (so the log line carries its trace_id)
 * before withSpan records it on the span and the error handler answers.
 */
function hotPath<R>(name: string, req: FastifyRequest, reply: FastifyReply, route: string, fn: (span: Span) => Promise<R>): Promise<R> {
  return withSpan(name, serverSpan(req, route), async (span) => {
    try {
      const result = await fn(span);
      span.setAttribute('http.response.status_code', reply.statusCode);
      return result;
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      span.setAttribute('http.response.status_code', status);
      logger.warn({ status, error: err instanceof Error ? err.message : String(err) }, `${name} failed`);
      throw err;
    }
  });
}

/** Errors become the response a client can act on; the span already holds them (withSpan records what it throws). */
app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
  const status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
  void reply.code(status).send({ error: err.message });
});

app.post<{ Body: { email?: unknown; password?: unknown } }>('/login', (req, reply) =>
  hotPath('auth.login', req, reply, '/login', async (span) => {
    const { email, password } = req.body ?? {};
    if (typeof email !== 'string' || !email.includes('@') || typeof password !== 'string') {
      throw new HttpError(400, 'expected a JSON body {"email": "…", "password": "…"}');
    }
    // The address is recorded masked; the password never touches the span.
    span.setAttribute('user.email', maskEmail(email));
    if (password.length < 8) {
      span.setAttribute('auth.outcome', 'rejected');
      logger.info({ user: maskEmail(email) }, 'login rejected');
      return reply.code(401).send({ error: 'wrong email or password' });
    }
    const user = createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 16);
    const { session } = await callBackend<{ session: string }>('session.create', '/sessions', { user });
    span.setAttribute('auth.outcome', 'accepted');
    logger.info({ user: maskEmail(email) }, 'login succeeded');
    return reply.code(200).send({ token: session });
  }),
);

app.post<{ Body: { filename?: unknown; size?: unknown; contentType?: unknown } }>('/tracks/uploads', (req, reply) =>
  hotPath('track.upload.initiate', req, reply, '/tracks/uploads', async (span) => {
    const { size, contentType } = req.body ?? {};
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) throw new HttpError(400, 'size must be a positive whole number of bytes');
    if (typeof contentType !== 'string' || !contentType.startsWith('audio/')) throw new HttpError(400, 'contentType must be an audio/* media type');
    const chunks = Math.ceil(size / CHUNK_BYTES);
    span.setAttributes({ 'track.upload.size': size, 'track.upload.chunks': chunks, 'track.upload.content_type': contentType });
    const { uploadId } = await callBackend<{ uploadId: string }>('upload.reserve', '/uploads', { size, chunks });
    span.setAttribute('track.upload.id', uploadId);
    logger.info({ uploadId, chunks }, 'upload initiated');
    return reply.code(201).send({
      uploadId,
      chunkSize: CHUNK_BYTES,
      chunks: Array.from({ length: chunks }, (_, i) => ({ index: i, url: `/tracks/uploads/${uploadId}/chunks/${i}` })),
    });
  }),
);

app.post<{ Body: { id?: unknown; type?: unknown; amount?: unknown } }>('/webhooks/payment', (req, reply) =>
  hotPath('payment.webhook', req, reply, '/webhooks/payment', async (span) => {
    const { id, type, amount } = req.body ?? {};
    if (typeof id !== 'string' || id === '') throw new HttpError(400, 'payment event without an id');
    span.setAttribute('payment.event.id', id);
    if (typeof type !== 'string' || !PAYMENT_EVENTS.has(type)) throw new HttpError(400, `unknown payment event type ${JSON.stringify(type)}`);
    if (typeof amount !== 'number' || !Number.isInteger(amount)) throw new HttpError(400, 'amount must be a whole number of minor units');
    span.setAttributes({ 'payment.event.type': type, 'payment.amount': amount });
    const { recorded } = await callBackend<{ recorded: boolean }>('payment.record', '/payments/events', { id, type, amount });
    logger.info({ eventId: id, type, recorded }, 'payment webhook handled');
    return reply.code(200).send({ received: true, duplicate: !recorded });
  }),
);

app.get<{ Querystring: { q?: string } }>('/search', (req, reply) =>
  hotPath('search.query', req, reply, '/search', async (span) => {
    const q = req.query.q;
    if (typeof q !== 'string' || q.trim() === '') throw new HttpError(400, 'missing query parameter q');
    // The text may be personal (people search for names); only its length is kept.
    span.setAttributes(queryLengthAttribute('search.query', q));
    const needle = q.toLowerCase();
    const results = CATALOGUE.filter((t) => t.toLowerCase().includes(needle)).map((title) => ({ id: randomUUID(), title }));
    span.setAttribute('search.results', results.length);
    logger.info({ results: results.length }, 'search answered');
    return reply.code(200).send({ results });
  }),
);

await serve(service, 8080);
