// The instances of a cluster as each one sees them (docs/scale-out.md). A peer is named by
// the OTLP gRPC address the others forward its spans to; its HTTP address answers the
// internal head queries.
import type { SkeinConfig } from '../config/schema.js';

export interface Peer {
  /** The OTLP gRPC address, `host:port`: unique in a cluster, and the peer's place on the ring. */
  readonly id: string;
  readonly otlpGrpc: string;
  readonly http: string;
}

/** Who is in the cluster now: a static list, DNS, or both, re-resolved periodically. */
export interface Membership {
  /** This instance as the others name it. */
  readonly self: Peer;
  /** Every peer, this one included, sorted by id. */
  peers(): readonly Peer[];
  /** Called after the set of peers changed; returns the unsubscribe. */
  onChange(listener: (peers: readonly Peer[]) => void): () => void;
}

/** True when the cluster section names any peer: then this instance is part of a cluster. */
export function clusterConfigured(cluster: SkeinConfig['cluster']): boolean {
  return cluster.peers.length > 0 || cluster.dns.name !== '';
}

/**
 * The header a peer presents to another (forwarded spans, query parts): auth.peer_token,
 * the one credential that acts for every tenant and whose x-skein-forwarded mark is
 * believed. None while the token is unset (authentication off: peers are trusted).
 */
export function peerAuthorization(peerToken: string): { authorization: string } | Record<string, never> {
  return peerToken === '' ? {} : { authorization: `Bearer ${peerToken}` };
}
