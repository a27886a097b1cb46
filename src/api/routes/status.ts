// Health, build info, flush and the Prometheus endpoint.
import type { FastifyInstance } from 'fastify';
import { registry } from '../../telemetry/metrics.js';
import { SKEIN_VERSION, TEMPO_COMPATIBLE_VERSION } from '../../version.js';
import type { ApiContext } from '../context.js';
import { requireStore } from '../params.js';
import { metricsTextFor } from '../tenant-metrics.js';
import { isDiskFull } from '../../lib/disk-full.js';
import { BackendError } from '../../store/backend/backend.js';
// The process's figures under Tempo's and the collector's names, served with the rest of /metrics.
import '../../telemetry/process-metrics.js';

export function registerStatusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/ready', { config: { access: 'public' } }, async (_req, reply) => {
    if (!ctx.ready) {
      const why = ctx.target !== 'collector' && !ctx.store ? 'replaying the write-ahead log' : 'starting the pipeline';
      return reply.code(503).type('text/plain').send(`not ready: ${why}`);
    }
    return reply.type('text/plain').send('ready');
  });

  // Grafana's "Save & test" asks here: behind `read`, a wrong token fails the test instead of the first search.
  app.get('/api/echo', { config: { access: 'read', tenants: 'any' } }, async (_req, reply) => reply.type('text/plain').send('echo'));

  app.get('/api/status/buildinfo', { config: { access: 'public' } }, async () => ({
    version: TEMPO_COMPATIBLE_VERSION,
    revision: process.env['SKEIN_REVISION'] ?? `skein-${SKEIN_VERSION}`,
    branch: 'main',
    buildDate: '',
    buildUser: 'skein',
    goVersion: `node ${process.version}`,
  }));

  // As Tempo's ingester: cut the head into a block now, answer once it is durable.
  // The request's tenants are flushed (X-Scope-OrgID, `a|b`); without the header every
  // tenant the credential allows (all of them with no authentication).
  app.route({
    method: ['GET', 'POST'],
    url: '/flush',
    config: { access: 'admin', tenants: 'any' },
    handler: async (req, reply) => {
      const store = requireStore(ctx, reply, 'store');
      if (!store) return reply;
      const tenants = req.tenants;
      try {
        if (tenants === '*') await store.flush();
        else await Promise.all(tenants.map((t) => store.flush(t)));
      } catch (err) {
        const unreachable = err instanceof BackendError && err.retryable;
        if (!isDiskFull(err) && !unreachable) throw err;
        // As ingest answers a full disk: retryable, and nothing acknowledged is lost.
        ctx.logger.error({ err }, unreachable ? 'flush failed: the block storage is unreachable' : 'flush failed: the disk is full');
        return reply
          .code(503)
          .header('retry-after', String(ctx.config.limits.retry_after_seconds))
          .type('text/plain')
          .send(
            unreachable
              ? `block storage unavailable: the head could not be written to a block (${err.message}); its spans stay in the write-ahead log; retry later`
              : 'storage is full: the head could not be written to a block (no space left on device); its spans stay in the write-ahead log until space is freed; retry later',
          );
      }
      return reply.code(204).send();
    },
  });

  // auth.metrics `read`: a credential restricted to some tenants sees their series only
  // (tenant-metrics.ts; X-Scope-OrgID may narrow them); `open` and `admin`, and a listener
  // without authentication: everything, as before authentication existed.
  app.get('/metrics', { config: { access: 'metrics', tenants: 'any' } }, async (req, reply) => {
    const restricted = ctx.config.auth.metrics === 'read' && req.principal.tenants !== '*';
    const tenants = restricted ? req.tenants : '*';
    return reply.type(registry.contentType).send(tenants === '*' ? await registry.metrics() : await metricsTextFor(tenants));
  });
}
