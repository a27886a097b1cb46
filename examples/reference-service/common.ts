// What both reference services share: tracing and logging from the kit, the
// attributes of a server span, and a clean stop that flushes spans.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import { createLogger, extractTraceContext, initTracing, type Logger, type SpanOptions, type Tracing } from '@skein/instrument';

/**
 * The version the build stamps into the service: replace this constant in your
 * build (e.g. esbuild's --define or a generated file) with the release tag or
 * commit; OTEL_RESOURCE_ATTRIBUTES=service.version=… overrides it at deploy time.
 */
export const SERVICE_VERSION = '1.0.0';

export interface Service {
  app: FastifyInstance;
  logger: Logger;
  tracing: Tracing;
}

export function createService(serviceName: string): Service {
  const logger = createLogger({ name: serviceName });
  const tracing = initTracing({ serviceName, serviceVersion: SERVICE_VERSION, logger });
  // Fastify's own request log is off: the handlers log inside their spans, so each line carries trace_id.
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  app.get('/healthz', async () => ({ status: 'ok' }));
  return { app, logger, tracing };
}

/**
 * A SERVER span's options for a request: parented by the caller's traceparent,
 * with method, route and the request headers. Recording every header is what a
 * hurried team does; the kit's deny-list drops `authorization` and `cookie`
 * before export, which the end-to-end test checks.
 */
export function serverSpan(req: FastifyRequest, route: string, attributes: Attributes = {}): SpanOptions {
  const headers: Attributes = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[`http.request.header.${name}`] = value;
  }
  return {
    kind: SpanKind.SERVER,
    parent: extractTraceContext(req.headers),
    attributes: { 'http.request.method': req.method, 'http.route': route, 'url.path': route, ...headers, ...attributes },
  };
}

/** Listens on HOST:PORT and stops cleanly on SIGTERM/SIGINT: close the server, flush spans within 5 s, exit. */
export async function serve(service: Service, defaultPort: number): Promise<void> {
  const { app, logger, tracing } = service;
  const host = process.env['HOST'] ?? '127.0.0.1';
  const port = Number(process.env['PORT'] ?? defaultPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT=${JSON.stringify(process.env['PORT'])} is not a port number`);
  const address = await app.listen({ host, port });
  logger.info({ address, tracing: tracing.enabled ? tracing.settings.export : 'disabled' }, 'listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.close();
    await tracing.shutdown(5000);
    logger.info('stopped');
    // A collector that never answered may still hold a socket open; the spans are already given up on.
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
