// The cluster as `cluster.peers` lists it, fixed for the life of the process: the
// Membership the peer queries use until membership.ts (static lists and DNS, re-resolved)
// takes its place. This instance is named as the others name it: the advertised host (or
// the OTLP gRPC listen host) with the OTLP gRPC port.
import type { SkeinConfig } from '../config/schema.js';
import { splitHostPort } from '../net/http-server.js';
import type { Membership, Peer } from './peer.js';

export function staticMembership(config: SkeinConfig): Membership {
  const grpc = splitHostPort(config.receivers.otlp.protocols.grpc.endpoint);
  const http = splitHostPort(config.server.http_listen_address);
  const host = config.cluster.advertise_host !== '' ? config.cluster.advertise_host : grpc.host;
  const hostText = host.includes(':') ? `[${host}]` : host;
  const id = `${hostText}:${grpc.port}`;
  const peers: Peer[] = config.cluster.peers.map((p) => ({ id: p.otlp_grpc, otlpGrpc: p.otlp_grpc, http: p.http })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const self = peers.find((p) => p.id === id) ?? { id, otlpGrpc: id, http: `${hostText}:${http.port}` };
  return { self, peers: () => peers, onChange: () => () => undefined };
}
