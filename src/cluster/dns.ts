// Peers from DNS (cluster.dns): what a Kubernetes headless service answers.
//
// A records are looked up with getaddrinfo (dns.lookup), not asked of the DNS
// servers directly (dns.resolve4): so /etc/hosts counts, and so do the search
// domains of resolv.conf, which let a pod name its headless service by its
// short name (`skein-headless`) as every other program in the pod can. Each
// address is a peer at the configured ports. SRV records have no such local
// source, and are asked of the servers: each target is a peer, its record's
// port the OTLP gRPC port, with the configured HTTP port.
import { lookup } from 'node:dns/promises';
import { Resolver, type SrvRecord } from 'node:dns';
import { promisify } from 'node:util';
import type { SkeinConfig } from '../config/schema.js';
import { joinHostPort } from '../net/http-server.js';
import type { Peer } from './peer.js';

export type DnsConfig = SkeinConfig['cluster']['dns'];

/** The two questions membership asks; tests point them at a DNS server of their own. */
export interface DnsResolver {
  /** The IPv4 addresses of a name as the system resolves it (hosts file, search domains). */
  lookup4(name: string): Promise<string[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
}

/** The system's resolver; `servers` (ip or ip:port) sends SRV questions there instead of resolv.conf's. */
export function systemResolver(servers?: string[]): DnsResolver {
  const resolver = new Resolver();
  if (servers) resolver.setServers(servers);
  const resolveSrv = promisify(resolver.resolveSrv.bind(resolver));
  return {
    lookup4: async (name) => (await lookup(name, { all: true, family: 4 })).map((a) => a.address),
    resolveSrv: (name) => resolveSrv(name),
  };
}

/** The peers a DNS name stands for now; rejects when the name does not resolve (the caller keeps what it had). */
export async function resolvePeers(dns: DnsConfig, resolver: DnsResolver): Promise<Peer[]> {
  if (dns.record === 'SRV') return peersFromSrv(await resolver.resolveSrv(dns.name), dns.http_port);
  return peersFromAddresses(await resolver.lookup4(dns.name), dns.otlp_grpc_port, dns.http_port);
}

/** A records: every address at the configured ports. */
export function peersFromAddresses(addresses: readonly string[], otlpGrpcPort: number, httpPort: number): Peer[] {
  return [...new Set(addresses)].map((ip) => peer(joinHostPort(ip, otlpGrpcPort), joinHostPort(ip, httpPort)));
}

/** SRV records: every target at its record's port for OTLP gRPC, and at `httpPort` for HTTP. */
export function peersFromSrv(records: readonly SrvRecord[], httpPort: number): Peer[] {
  const out = new Map<string, Peer>();
  for (const r of records) {
    // A fully qualified target may come with its root dot; the name is the same without it.
    const host = r.name.replace(/\.$/, '');
    if (host === '') continue;
    const p = peer(joinHostPort(host, r.port), joinHostPort(host, httpPort));
    out.set(p.id, p);
  }
  return [...out.values()];
}

function peer(otlpGrpc: string, http: string): Peer {
  return { id: otlpGrpc, otlpGrpc, http };
}
