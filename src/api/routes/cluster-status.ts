// GET /api/skein/cluster: the cluster as this instance sees it, for operators
// and the docs' troubleshooting: itself, every peer with the share of trace IDs
// the ring gives it, and how many batches wait in the queue to each peer.
import type { FastifyInstance } from 'fastify';
import { Ring } from '../../cluster/ring.js';
import type { ApiContext } from '../context.js';

export function registerClusterStatusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // The instance's own view, no tenant's data: any admin may read it, whichever tenants it acts for.
  app.get('/api/skein/cluster', { config: { access: 'admin', tenants: 'any' } }, async (_req, reply) => {
    const cluster = ctx.cluster;
    if (!cluster) {
      return reply.code(404).type('text/plain').send('this instance is not part of a cluster: cluster.peers and cluster.dns.name are empty');
    }
    const peers = cluster.membership.peers();
    const shares = new Ring(peers.map((p) => p.id)).shares();
    const queues = cluster.forwardQueues?.();
    return {
      self: cluster.membership.self,
      routing: queues !== undefined,
      peers: peers.map((p) => {
        const queue = queues?.get(p.id);
        return {
          ...p,
          self: p.id === cluster.membership.self.id,
          ringShare: shares.get(p.id) ?? 0,
          forwardQueue: queue ? { batches: queue.size, capacity: queue.capacity } : null,
        };
      }),
    };
  });
}
