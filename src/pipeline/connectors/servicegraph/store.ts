// The expiring store of half-edges. A CLIENT (or PRODUCER) span waits here
// under its trace and span ID for the SERVER (or CONSUMER) span whose parent it
// is, and the other way round, for at most `store.ttl`. As in the collector,
// every half-edge gets the same ttl from its arrival, so arrival order is
// expiry order: a Map, which iterates in insertion order, is the whole queue.
// When `store.max_items` half-edges are waiting, the oldest is evicted only if
// it has expired anyway; otherwise the new span is dropped (and counted).
import type { ServiceGraphEdge } from '../shared/ui-shapes.js';

/** '' for a direct request, else `messaging_system`, `database` or `virtual_node`. */
export type ConnectionType = ServiceGraphEdge['connectionType'];

/** One request between two services, as far as its spans have arrived. */
export class HalfEdge {
  connectionType: ConnectionType = '';
  /** service.name of the calling side, once its span arrived (or its virtual name). */
  client: string | undefined = undefined;
  /** service.name of the called side, once its span arrived (or its virtual name). */
  server: string | undefined = undefined;
  clientSeconds = 0;
  serverSeconds = 0;
  /** Either side had status ERROR. */
  failed = false;
  /** Values of the configured dimensions on each side, in config order ('' when absent). */
  clientDimensions: string[] | undefined = undefined;
  serverDimensions: string[] | undefined = undefined;
  /** Name for an uninstrumented other side, from the first virtual_node_peer_attributes match. */
  peer: string | undefined = undefined;
  /** The client span carries db.system (or db.system.name): its virtual peer is a database. */
  databaseClient = false;
  /** The server span has no parent: whoever called it is outside the trace. */
  rootServer = false;
  /** Which side was made up rather than seen (virtual_node label, UI). */
  virtualSide: 'client' | 'server' | '' = '';
  /** Clock time (ms) after which the store gives up on the other half. */
  expiresAt = 0;

  constructor(
    readonly key: string,
    readonly tenant: string,
  ) {}

  get complete(): boolean {
    return this.client !== undefined && this.server !== undefined;
  }
}

export class HalfEdgeStore {
  private readonly edges = new Map<string, HalfEdge>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxItems: number,
    private readonly onExpire: (edge: HalfEdge) => void,
  ) {}

  get(key: string): HalfEdge | undefined {
    return this.edges.get(key);
  }

  /** Holds a new half-edge until its other half arrives or ttl passes; false when the store is full (drop the span). */
  add(edge: HalfEdge, nowMs: number): boolean {
    if (this.edges.size >= this.maxItems && !this.evictOldestIfExpired(nowMs)) return false;
    edge.expiresAt = nowMs + this.ttlMs;
    this.edges.set(edge.key, edge);
    return true;
  }

  /** Forgets a half-edge whose other half arrived. */
  remove(edge: HalfEdge): void {
    this.edges.delete(edge.key);
  }

  /** Hands every expired half-edge to onExpire, oldest first. */
  expire(nowMs: number): void {
    while (this.evictOldestIfExpired(nowMs));
  }

  get size(): number {
    return this.edges.size;
  }

  private evictOldestIfExpired(nowMs: number): boolean {
    const oldest = this.edges.values().next();
    if (oldest.done === true || oldest.value.expiresAt > nowMs) return false;
    this.edges.delete(oldest.value.key);
    this.onExpire(oldest.value);
    return true;
  }
}
