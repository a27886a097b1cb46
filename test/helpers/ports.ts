// Free loopback ports known before the servers that use them start: a cluster's
// instances name each other in their configuration, so their ports cannot be
// left to the OS at bind time (port 0).
import { createServer, type Server } from 'node:net';

/**
 * `n` distinct loopback ports nothing listened on a moment ago: each is bound
 * (all at once, so they differ) and released. Another process could take one
 * in between; on a test machine that is rare enough.
 */
export async function reservePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
