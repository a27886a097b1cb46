// The one way Skein builds and binds an HTTP server (query API, OTLP/HTTP):
// JSON logs through our logger, no per-request log lines, a body limit.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../telemetry/logger.js';

export function createHttpServer(logger: Logger, opts: { bodyLimit: number }): FastifyInstance {
  return Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
  });
}

export function splitHostPort(hostPort: string): { host: string; port: number } {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(i + 1)) };
}

/** `host:port`, with an IPv6 host in brackets (splitHostPort's inverse). */
export function joinHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Listens on host:port and returns the address actually bound (port 0 picks one). */
export async function listenHttp(app: FastifyInstance, hostPort: string): Promise<string> {
  const { host, port } = splitHostPort(hostPort);
  await app.listen({ host, port });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') return hostPort;
  return joinHostPort(addr.address, addr.port);
}
