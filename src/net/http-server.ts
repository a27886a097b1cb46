// The one way Skein builds and binds an HTTP server (query API, OTLP/HTTP, Zipkin):
// JSON logs through our logger, no per-request log lines, a body limit, and HTTPS
// when the listener has TLS settings.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from '../telemetry/logger.js';
import type { ServerTls } from './server-tls.js';

export function createHttpServer(logger: Logger, opts: { bodyLimit: number; tls?: ServerTls | undefined }): FastifyInstance {
  const common = {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
  };
  const tls = opts.tls;
  if (tls === undefined) return Fastify(common);
  // Routes see the same requests and replies over HTTPS: only the server underneath differs.
  const app = Fastify({ ...common, https: tls.serverOptions() }) as unknown as FastifyInstance;
  const server = app.server as unknown as TlsServer;
  const stop = tls.onReload((context) => server.setSecureContext(context));
  // A refused handshake (no client certificate, an unknown one, a version below min_version) is
  // answered by a TLS alert; at debug level the operator can see whom it was refused to and why.
  server.on('tlsClientError', (err, socket) => logger.debug({ err: err.message, remote: socket.remoteAddress, tls: tls.key }, 'TLS handshake refused'));
  app.addHook('onClose', async () => stop());
  return app;
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
