// The other instances of a cluster, as the store sees them when it answers for all of
// them (Store.fetch's scope `all`): each peer answers its part of a fetch over the network
// with a narrower scope (request.ts FetchScope), and the store merges the parts
// (merge.ts). The implementation is the cluster's (src/cluster/peer-queries.ts), handed
// to the store by the composition root: the store knows no network, nor who the peers are.
import type { StoredSpan } from '../../otlp/model.js';
import type {
  FetchAggregateRequest,
  FetchedTrace,
  FetchScope,
  FetchStats,
  FetchTagNamesRequest,
  FetchTagValuesRequest,
  FetchTracesRequest,
  TagNamesResult,
  TagValuesResult,
} from './request.js';

/** What a peer is asked for: never `all`, which would ask further. */
export type PeerScope = Exclude<FetchScope, 'all'>;

/** One peer's traces, in the order the request asked for. */
export interface RemoteTraces extends AsyncIterable<FetchedTrace> {
  /** What the peer inspected, once its stream has ended (zeros before, or when it never ended). */
  readonly stats: Pick<FetchStats, 'inspectedBytes' | 'inspectedTraces'>;
}

/** Spans of one trace a peer holds (its heads and its recent blocks). */
export interface RemoteTrace {
  spans: StoredSpan[];
  inspectedBytes: number;
}

/**
 * One other instance. Each call starts its request at once (so that peers work while the
 * store does); a stream is read as it is iterated, and leaving the iteration ends the call.
 * A peer that fails or does not answer in time throws PeerError: the store leaves its part
 * out and marks the answer partial. Any other error is the request's own (a limit the
 * peer's part ran into: the request's overLimit) and fails the fetch.
 */
export interface RemotePeer {
  readonly id: string;
  traces(tenant: string, req: FetchTracesRequest, scope: PeerScope): RemoteTraces;
  /** The traces in the peer's heads in an aggregate's range, whole (scope `head`): the peer aggregates no block. */
  headTraces(tenant: string, req: FetchAggregateRequest): RemoteTraces;
  tagNames(tenant: string, req: FetchTagNamesRequest, scope: PeerScope): Promise<TagNamesResult>;
  tagValues(tenant: string, req: FetchTagValuesRequest, scope: PeerScope): Promise<TagValuesResult>;
  findTrace(tenant: string, traceIdHex: string, range: { startUnixSec?: number | undefined; endUnixSec?: number | undefined }, scope: PeerScope): Promise<RemoteTrace>;
}

export interface RemoteSources {
  /** The peers to ask now, this instance not among them. */
  peers(): readonly RemotePeer[];
}

/** A peer that failed or did not answer in time; `message` says which and why. */
export class PeerError extends Error {
  override name = 'PeerError';
  constructor(
    readonly peer: string,
    message: string,
  ) {
    super(message);
  }
}
