// The expiring store of half-edges. A CLIENT (or PRODUCER) span waits here
// under its trace and span ID for the SERVER (or CONSUMER) span whose parent it
// is, and the other way round, for at most `store.ttl`. As in the collector,
// every half-edge gets the same ttl from its arrival, so arrival order is
// expiry order: a list in arrival order is the whole queue.
// When `store.max_items` half-edges are waiting, the oldest is evicted only if
// it has expired anyway; otherwise the new span is dropped (and counted).
//
// Half-edges are found by a hash of their tenant and IDs, checked against the
// IDs themselves: a lookup per CLIENT and SERVER span makes no key string.
import type { ServiceGraphEdge } from '../shared/ui-shapes.js';

/** '' for a direct request, else `messaging_system`, `database` or `virtual_node`. */
export type ConnectionType = ServiceGraphEdge['connectionType'];

/** Hash of a tenant's name: the seed of its half-edges' hashes. */
export function tenantSeed(tenant: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < tenant.length; i++) h = Math.imul(h ^ tenant.charCodeAt(i), 0x01000193);
  return h;
}

/** Hash of a half-edge's IDs (FNV-1a from the tenant's seed; lengths count, so IDs never run into each other). */
export function edgeHash(seed: number, traceId: Uint8Array, spanId: Uint8Array): number {
  let h = Math.imul(seed ^ traceId.length, 0x01000193);
  for (let i = 0; i < traceId.length; i++) h = Math.imul(h ^ traceId[i]!, 0x01000193);
  h = Math.imul(h ^ spanId.length, 0x01000193);
  for (let i = 0; i < spanId.length; i++) h = Math.imul(h ^ spanId[i]!, 0x01000193);
  return h;
}

/** Bits 0-31 of the little-endian word at `i`. */
function word(id: Uint8Array, i: number): number {
  return id[i]! | (id[i + 1]! << 8) | (id[i + 2]! << 16) | (id[i + 3]! << 24);
}

/** Whether the IDs have the lengths validation lets through: a 16-byte trace ID and an 8-byte span ID (or none, for a root's parent). */
function usual(traceId: Uint8Array, spanId: Uint8Array): boolean {
  return traceId.length === 16 && (spanId.length === 8 || spanId.length === 0);
}

/** Any other IDs as one string (lengths first, so IDs never run into each other). */
function unusualKey(traceId: Uint8Array, spanId: Uint8Array): string {
  return `${traceId.length}:${Buffer.from(traceId).toString('latin1')}${Buffer.from(spanId).toString('latin1')}`;
}

/**
 * What a half-edge waits under: its tenant, the trace ID and the client's span ID, kept
 * as six 32-bit words (a span's IDs are views of a request's memory, not to be held).
 */
export class EdgeKey {
  private readonly w0: number;
  private readonly w1: number;
  private readonly w2: number;
  private readonly w3: number;
  private readonly w4: number;
  private readonly w5: number;
  private readonly spanIdBytes: number;
  /** IDs of other lengths, as a string; undefined for the usual ones. */
  private readonly unusual: string | undefined;

  constructor(
    readonly tenant: string,
    traceId: Uint8Array,
    spanId: Uint8Array,
    readonly hash: number,
  ) {
    const plain = usual(traceId, spanId);
    this.w0 = plain ? word(traceId, 0) : 0;
    this.w1 = plain ? word(traceId, 4) : 0;
    this.w2 = plain ? word(traceId, 8) : 0;
    this.w3 = plain ? word(traceId, 12) : 0;
    this.w4 = plain && spanId.length === 8 ? word(spanId, 0) : 0;
    this.w5 = plain && spanId.length === 8 ? word(spanId, 4) : 0;
    this.spanIdBytes = spanId.length;
    this.unusual = plain ? undefined : unusualKey(traceId, spanId);
  }

  matches(tenant: string, traceId: Uint8Array, spanId: Uint8Array): boolean {
    if (tenant !== this.tenant) return false;
    if (!usual(traceId, spanId)) return this.unusual !== undefined && unusualKey(traceId, spanId) === this.unusual;
    return (
      this.unusual === undefined &&
      spanId.length === this.spanIdBytes &&
      word(traceId, 0) === this.w0 &&
      word(traceId, 4) === this.w1 &&
      word(traceId, 8) === this.w2 &&
      word(traceId, 12) === this.w3 &&
      (spanId.length === 0 || (word(spanId, 0) === this.w4 && word(spanId, 4) === this.w5))
    );
  }
}

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
  /** The store's links: the next half-edge whose hash is the same, and the next to arrive after this one. */
  sameHash: HalfEdge | undefined = undefined;
  newer: HalfEdge | undefined = undefined;
  older: HalfEdge | undefined = undefined;

  constructor(readonly key: EdgeKey) {}

  get tenant(): string {
    return this.key.tenant;
  }

  get complete(): boolean {
    return this.client !== undefined && this.server !== undefined;
  }
}

export class HalfEdgeStore {
  /** The first half-edge of each hash; the others of that hash follow it (sameHash). */
  private readonly byHash = new Map<number, HalfEdge>();
  private oldest: HalfEdge | undefined;
  private newest: HalfEdge | undefined;
  private count = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxItems: number,
    private readonly onExpire: (edge: HalfEdge) => void,
  ) {}

  /** The half-edge waiting under these IDs; `hash` is edgeHash of them. */
  get(tenant: string, traceId: Uint8Array, spanId: Uint8Array, hash: number): HalfEdge | undefined {
    for (let e = this.byHash.get(hash); e !== undefined; e = e.sameHash) if (e.key.matches(tenant, traceId, spanId)) return e;
    return undefined;
  }

  /** Holds a new half-edge until its other half arrives or ttl passes; false when the store is full (drop the span). */
  add(edge: HalfEdge, nowMs: number): boolean {
    if (this.count >= this.maxItems && !this.evictOldestIfExpired(nowMs)) return false;
    edge.expiresAt = nowMs + this.ttlMs;
    edge.sameHash = this.byHash.get(edge.key.hash);
    this.byHash.set(edge.key.hash, edge);
    edge.older = this.newest;
    edge.newer = undefined;
    if (this.newest) this.newest.newer = edge;
    else this.oldest = edge;
    this.newest = edge;
    this.count++;
    return true;
  }

  /** Whether add() would refuse a new half-edge now: max_items are waiting and the oldest has not expired. */
  full(nowMs: number): boolean {
    return this.count >= this.maxItems && this.oldest !== undefined && this.oldest.expiresAt > nowMs;
  }

  /** Forgets a half-edge whose other half arrived. */
  remove(edge: HalfEdge): void {
    const hash = edge.key.hash;
    const first = this.byHash.get(hash);
    if (first === edge) {
      if (edge.sameHash) this.byHash.set(hash, edge.sameHash);
      else this.byHash.delete(hash);
    } else {
      let e = first;
      while (e !== undefined && e.sameHash !== edge) e = e.sameHash;
      if (e === undefined) return;
      e.sameHash = edge.sameHash;
    }
    if (edge.older) edge.older.newer = edge.newer;
    else this.oldest = edge.newer;
    if (edge.newer) edge.newer.older = edge.older;
    else this.newest = edge.older;
    edge.sameHash = edge.older = edge.newer = undefined;
    this.count--;
  }

  /** Hands every expired half-edge to onExpire, oldest first. */
  expire(nowMs: number): void {
    while (this.evictOldestIfExpired(nowMs));
  }

  get size(): number {
    return this.count;
  }

  private evictOldestIfExpired(nowMs: number): boolean {
    const oldest = this.oldest;
    if (oldest === undefined || oldest.expiresAt > nowMs) return false;
    this.remove(oldest);
    this.onExpire(oldest);
    return true;
  }
}
