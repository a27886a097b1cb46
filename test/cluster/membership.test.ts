// Membership: the static peers and this instance, united and sorted; who this
// instance is; peers from DNS A records through the system's resolver
// (localhost, from /etc/hosts) and from SRV records served by a real DNS server
// on loopback, re-resolved with onChange on a change, and kept when the name
// stops resolving, with one warning for the whole outage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dns2 from 'dns2';
import { configSchema, type SkeinConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { ClusterMembership, selfPeer } from '../../src/cluster/membership.js';
import { clusterConfigured } from '../../src/cluster/peer.js';
import { systemResolver } from '../../src/cluster/dns.js';
import type { Peer } from '../../src/cluster/peer.js';

const defaults = configSchema.parse({});
type Cluster = SkeinConfig['cluster'];

function cluster(over: Omit<Partial<Cluster>, 'dns'> & { dns?: Partial<Cluster['dns']> } = {}): Cluster {
  return { ...defaults.cluster, ...over, dns: { ...defaults.cluster.dns, ...over.dns } };
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}

const SELF: Peer = { id: '10.0.0.2:4317', otlpGrpc: '10.0.0.2:4317', http: '10.0.0.2:3200' };
const ids = (peers: readonly Peer[]) => peers.map((p) => p.id);

describe('membership', () => {
  test('static peers and this instance, sorted by id; this instance\'s own entry is `self`', async () => {
    const { logger, lines } = capture();
    const m = await ClusterMembership.start({
      cluster: cluster({
        peers: [
          { otlp_grpc: '10.0.0.3:4317', http: '10.0.0.3:3200' },
          { otlp_grpc: '10.0.0.2:4317', http: '10.0.0.2:9999' },
          { otlp_grpc: '10.0.0.1:4317', http: '10.0.0.1:3200' },
        ],
      }),
      self: SELF,
      selfIsPeer: true,
      logger,
    });
    assert.deepEqual(ids(m.peers()), ['10.0.0.1:4317', '10.0.0.2:4317', '10.0.0.3:4317']);
    assert.equal(m.peers()[1], SELF, 'this instance as it knows itself');
    assert.deepEqual(m.peers()[2], { id: '10.0.0.3:4317', otlpGrpc: '10.0.0.3:4317', http: '10.0.0.3:3200' });
    assert.equal(m.self, SELF);
    assert.ok(!lines.some((l) => l['level'] === 'warn'), 'listed as the others name it: no warning');
    await m.close();
  });

  test('this instance is added when the list leaves it out, with a warning; a querier is not added', async () => {
    const { logger, lines } = capture();
    const peers = [{ otlp_grpc: '10.0.0.1:4317', http: '10.0.0.1:3200' }];
    const m = await ClusterMembership.start({ cluster: cluster({ peers }), self: SELF, selfIsPeer: true, logger });
    assert.deepEqual(ids(m.peers()), ['10.0.0.1:4317', '10.0.0.2:4317']);
    assert.match(String(lines.find((l) => l['level'] === 'warn')?.['msg']), /does not list this instance/);
    await m.close();

    const querier = await ClusterMembership.start({ cluster: cluster({ peers }), self: SELF, selfIsPeer: false, logger });
    assert.deepEqual(ids(querier.peers()), ['10.0.0.1:4317']);
    await querier.close();
  });

  test('a cluster is configured by peers or a DNS name', () => {
    assert.equal(clusterConfigured(cluster()), false);
    assert.equal(clusterConfigured(cluster({ peers: [{ otlp_grpc: 'a:1', http: 'a:2' }] })), true);
    assert.equal(clusterConfigured(cluster({ dns: { name: 'skein' } })), true);
  });

  test('self: advertise_host or the OTLP gRPC host, the gRPC port, the API\'s bound port; a wildcard host or port 0 is refused', () => {
    const config = (grpc: string, advertise = '') =>
      ({ ...defaults, receivers: { ...defaults.receivers, otlp: { protocols: { ...defaults.receivers.otlp.protocols, grpc: { endpoint: grpc } } } }, cluster: cluster({ advertise_host: advertise }) }) as SkeinConfig;
    assert.deepEqual(selfPeer(config('10.1.2.3:4317'), '0.0.0.0:41234', true), { id: '10.1.2.3:4317', otlpGrpc: '10.1.2.3:4317', http: '10.1.2.3:41234' });
    assert.deepEqual(selfPeer(config('0.0.0.0:4317', 'skein-0.skein'), '0.0.0.0:3200', true), {
      id: 'skein-0.skein:4317',
      otlpGrpc: 'skein-0.skein:4317',
      http: 'skein-0.skein:3200',
    });
    assert.throws(() => selfPeer(config('0.0.0.0:4317'), '0.0.0.0:3200', true), (err: unknown) => err instanceof ConfigError && /advertise_host/.test(err.message));
    assert.throws(() => selfPeer(config('[::]:4317'), '0.0.0.0:3200', true), ConfigError);
    assert.throws(() => selfPeer(config('127.0.0.1:0'), '127.0.0.1:3200', true), (err: unknown) => err instanceof ConfigError && /port 0/.test(err.message));
    // A querier is no peer: nothing to check.
    assert.equal(selfPeer(config('0.0.0.0:0'), '0.0.0.0:3200', false).id, '0.0.0.0:0');
  });

  test('A records through the system resolver: localhost (from the hosts file) is a peer at the configured ports', async () => {
    const { logger } = capture();
    const m = await ClusterMembership.start({
      cluster: cluster({ dns: { name: 'localhost', record: 'A', otlp_grpc_port: 14317, http_port: 13200 } }),
      self: SELF,
      selfIsPeer: true,
      logger,
    });
    assert.deepEqual(m.peers(), [
      { id: '10.0.0.2:4317', otlpGrpc: '10.0.0.2:4317', http: '10.0.0.2:3200' },
      { id: '127.0.0.1:14317', otlpGrpc: '127.0.0.1:14317', http: '127.0.0.1:13200' },
    ]);
    await m.close();
  });
});

describe('membership from SRV records served by a DNS server on loopback', () => {
  const NAME = '_otlp._tcp.skein.test';
  let targets: Array<{ target: string; port: number }> = [];
  let failing = false;
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = dns2.Packet.createResponseFromRequest(request);
      const question = request.questions[0]!;
      if (failing || question.name !== NAME) {
        response.header.rcode = 3; // NXDOMAIN
      } else {
        for (const t of targets) {
          // dns2's typings want a resource object; its encoder takes the record's fields.
          const record = { name: NAME, type: dns2.Packet.TYPE.SRV, class: dns2.Packet.CLASS.IN, ttl: 1, priority: 0, weight: 1, port: t.port, target: t.target };
          response.answers.push(record as unknown as (typeof response.answers)[number]);
        }
      }
      void send(response);
    },
  });
  let resolverAddress = '';

  before(async () => {
    const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
    resolverAddress = `127.0.0.1:${addresses.udp!.port}`;
  });

  after(async () => {
    await server.close();
  });

  test('each target at its port is a peer; changes fire onChange; a failing name keeps the last peers and warns once', async () => {
    targets = [
      { target: 'skein-1.skein.test', port: 4317 },
      { target: 'skein-0.skein.test', port: 4317 },
    ];
    const { logger, lines } = capture();
    const m = await ClusterMembership.start({
      // A long interval: the test asks again itself (refresh), so nothing depends on timing.
      cluster: cluster({ dns: { name: NAME, record: 'SRV', http_port: 3200 }, resolve_interval: 3_600_000 }),
      self: { id: 'skein-0.skein.test:4317', otlpGrpc: 'skein-0.skein.test:4317', http: 'skein-0.skein.test:3200' },
      selfIsPeer: true,
      logger,
      resolver: systemResolver([resolverAddress]),
    });
    assert.deepEqual(m.peers(), [
      { id: 'skein-0.skein.test:4317', otlpGrpc: 'skein-0.skein.test:4317', http: 'skein-0.skein.test:3200' },
      { id: 'skein-1.skein.test:4317', otlpGrpc: 'skein-1.skein.test:4317', http: 'skein-1.skein.test:3200' },
    ]);
    const changes: string[][] = [];
    m.onChange((peers) => changes.push(ids(peers)));

    await m.refresh();
    assert.deepEqual(changes, [], 'the same answer is no change');

    targets.push({ target: 'skein-2.skein.test', port: 4318 });
    await m.refresh();
    assert.deepEqual(changes, [['skein-0.skein.test:4317', 'skein-1.skein.test:4317', 'skein-2.skein.test:4318']]);

    failing = true;
    await m.refresh();
    await m.refresh();
    assert.equal(changes.length, 1, 'a name that stops resolving changes nothing');
    assert.deepEqual(ids(m.peers()), changes[0]);
    const warnings = lines.filter((l) => l['level'] === 'warn');
    assert.equal(warnings.length, 1, 'one warning for the outage, not one per question');
    assert.match(String(warnings[0]!['msg']), /keeping the peers it last named/);

    failing = false;
    targets = targets.filter((t) => t.target !== 'skein-1.skein.test');
    await m.refresh();
    assert.deepEqual(changes[1], ['skein-0.skein.test:4317', 'skein-2.skein.test:4318']);
    assert.ok(lines.some((l) => l['msg'] === 'cluster DNS name resolves again'));
    await m.close();
  });
});
