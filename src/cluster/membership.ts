// Who is in the cluster (src/cluster/peer.ts's Membership): the static
// `cluster.peers`, the peers `cluster.dns` names (re-resolved every
// `cluster.resolve_interval`), and this instance, united and sorted by id.
//
// A DNS question that fails keeps the peers it last answered: a resolver
// hiccup must not shrink the ring, which would move traces to other owners
// and back. Its failures and recoveries are logged once per change, not once
// per interval.
import { ConfigError } from '../config/load.js';
import type { SkeinConfig } from '../config/schema.js';
import { joinHostPort, splitHostPort } from '../net/http-server.js';
import type { Logger } from '../telemetry/logger.js';
import { resolvePeers, systemResolver, type DnsResolver } from './dns.js';
import type { Membership, Peer } from './peer.js';

type ClusterConfig = SkeinConfig['cluster'];

export interface MembershipOptions {
  cluster: ClusterConfig;
  self: Peer;
  /**
   * Whether this instance is one of the peers spans are routed to. False for
   * an instance without receivers (the querier): it knows the peers but owns
   * no trace, so it is not added to the set.
   */
  selfIsPeer: boolean;
  logger: Logger;
  /** The system's resolver unless given (tests point one at a DNS server of their own). */
  resolver?: DnsResolver;
}


/**
 * This instance as the others name it: `advertise_host` (default: the OTLP
 * gRPC endpoint's host) with the OTLP gRPC port and the API's bound port
 * (`httpAddress`). The gRPC port is the configured one, which must be fixed:
 * the other instances forward to it, so they know it in advance. Only checked
 * for an instance that is one of the peers (`isPeer`).
 */
export function selfPeer(config: SkeinConfig, httpAddress: string, isPeer: boolean): Peer {
  const grpc = splitHostPort(config.receivers.otlp.protocols.grpc.endpoint);
  const host = config.cluster.advertise_host || grpc.host;
  if (isPeer && (host === '' || host === '0.0.0.0' || host === '::')) {
    throw new ConfigError(
      `cluster: this instance listens on ${config.receivers.otlp.protocols.grpc.endpoint}, which names no host the other instances can reach it at: set cluster.advertise_host (or SKEIN_CLUSTER_ADVERTISE_HOST), e.g. to the pod IP`,
    );
  }
  if (isPeer && grpc.port === 0) {
    throw new ConfigError(
      'cluster: receivers.otlp.protocols.grpc.endpoint has port 0, but the other instances forward spans to this one at a port they know in advance: give it a port',
    );
  }
  const otlpGrpc = joinHostPort(host, grpc.port);
  return { id: otlpGrpc, otlpGrpc, http: joinHostPort(host, splitHostPort(httpAddress).port) };
}

export class ClusterMembership implements Membership {
  readonly self: Peer;
  private current: readonly Peer[] = [];
  /** What DNS last answered (kept while it fails). */
  private fromDns: readonly Peer[] = [];
  private dnsFailing: boolean | undefined;
  private readonly listeners = new Set<(peers: readonly Peer[]) => void>();
  private readonly resolver: DnsResolver;
  private timer: NodeJS.Timeout | undefined;
  private resolving: Promise<void> | undefined;
  private readonly logger: Logger;

  /** Resolves DNS once (a failure leaves the static peers and this one), then again every resolve_interval. */
  static async start(opts: MembershipOptions): Promise<ClusterMembership> {
    const membership = new ClusterMembership(opts);
    await membership.refresh();
    if (opts.cluster.dns.name !== '') {
      membership.timer = setInterval(() => void membership.refresh(), opts.cluster.resolve_interval);
      membership.timer.unref();
    }
    return membership;
  }

  private constructor(private readonly opts: MembershipOptions) {
    this.self = opts.self;
    this.logger = opts.logger.child({ component: 'cluster' });
    this.resolver = opts.resolver ?? systemResolver();
    this.current = this.united();
    const listed = opts.cluster.peers.some((p) => p.otlp_grpc === this.self.id);
    if (opts.selfIsPeer && opts.cluster.peers.length > 0 && !listed) {
      // Every instance must see the same ring; one that names itself unlike the others see it differs.
      this.logger.warn(
        { self: this.self.id, peers: opts.cluster.peers.map((p) => p.otlp_grpc) },
        'cluster.peers does not list this instance as the others name it: set cluster.advertise_host so that its address matches its entry, or traces may be owned differently here and there',
      );
    }
  }

  peers(): readonly Peer[] {
    return this.current;
  }

  onChange(listener: (peers: readonly Peer[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks DNS again now (what the timer does); resolves once the set is updated. */
  refresh(): Promise<void> {
    this.resolving ??= this.resolveDns().finally(() => (this.resolving = undefined));
    return this.resolving;
  }

  /** Stops resolving; waits for a question in flight. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    await this.resolving;
  }

  private async resolveDns(): Promise<void> {
    const dns = this.opts.cluster.dns;
    if (dns.name === '') return;
    try {
      this.fromDns = await resolvePeers(dns, this.resolver);
      if (this.dnsFailing !== false) {
        if (this.dnsFailing) this.logger.info({ name: dns.name, record: dns.record }, 'cluster DNS name resolves again');
        this.dnsFailing = false;
      }
    } catch (err) {
      if (this.dnsFailing !== true) {
        this.logger.warn(
          { err, name: dns.name, record: dns.record, kept: this.fromDns.map((p) => p.id) },
          'cluster DNS name does not resolve; keeping the peers it last named until it does',
        );
        this.dnsFailing = true;
      }
    }
    this.update(this.united());
  }

  /** Static peers, DNS peers and this one; the first entry of an id wins, this instance's own before all. */
  private united(): Peer[] {
    const byId = new Map<string, Peer>();
    if (this.opts.selfIsPeer) byId.set(this.self.id, this.self);
    for (const p of this.opts.cluster.peers) {
      if (!byId.has(p.otlp_grpc)) byId.set(p.otlp_grpc, { id: p.otlp_grpc, otlpGrpc: p.otlp_grpc, http: p.http });
    }
    for (const p of this.fromDns) if (!byId.has(p.id)) byId.set(p.id, p);
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private update(next: Peer[]): void {
    const key = (peers: readonly Peer[]) => peers.map((p) => `${p.id} ${p.http}`).join('\n');
    if (key(next) === key(this.current)) return;
    this.current = next;
    this.logger.info({ peers: next.map((p) => p.id) }, 'cluster peers changed');
    for (const listener of [...this.listeners]) {
      try {
        listener(next);
      } catch (err) {
        this.logger.error({ err }, 'cluster: a listener of peer changes failed');
      }
    }
  }
}
