// The `servicegraph` connector: finds requests between services in the spans
// that pass the pipeline and counts them as edges, after the collector's
// servicegraphconnector and Tempo's service-graphs processor.
//
// A CLIENT span and the SERVER span whose parent it is make one edge (so do a
// PRODUCER and its CONSUMER, connection_type `messaging_system`). Whichever
// half comes first waits in the store under trace ID + the client's span ID.
// A CLIENT span naming a database (database_name_attributes) is an edge on its
// own, to that database. A half-edge that expires is still an edge when the
// other side can be named:
// - a client with a peer attribute (virtual_node_peer_attributes) calls a
//   virtual node of that name: connection_type `database` when the span has
//   db.system, else `virtual_node`;
// - a root server span (no parent) was called by `user`, or by its peer
//   attribute's value: connection_type `virtual_node`.
// Anything else is counted as unpaired. A virtual side has no span of its own,
// so it takes the latency of the side that was seen (Tempo and the collector
// record 0 there, which shows a remote database as instant in Grafana).
import type { ResourceSpans, Span } from '../../../otlp/model.js';
import { SpanKind, StatusCode, stringAttribute } from '../../../otlp/model.js';
import type { Logger } from '../../../telemetry/logger.js';
import type { Connector } from '../../component.js';
import { attributeText, hasAttribute } from '../shared/attributes.js';
import { durationSeconds } from '../shared/spans.js';
import type { ServiceGraphConfig } from './config.js';
import { ServiceGraphMetrics } from './metrics.js';
import { EdgeKey, HalfEdge, HalfEdgeStore, edgeHash, tenantSeed, type ConnectionType } from './store.js';
import { EdgeWindow, type ServiceGraphEdge, type ServiceGraphNode } from './ui-window.js';

export interface ServiceGraphConnector extends Connector {
  /** Edges completed in [start, end) within ui_window_retention, of the tenants named (all when none is). */
  edges(start: Date, end: Date, tenants?: readonly string[]): ServiceGraphEdge[];
  /** Services and virtual nodes of those edges, with the requests each handled. */
  nodes(start: Date, end: Date, tenants?: readonly string[]): ServiceGraphNode[];
  /** Sweeps expired half-edges and stale series now (timers do it every store_expiration_loop / cache_loop). */
  expire(): void;
  /** Half-edges waiting for their other half. */
  readonly pendingHalfEdges: number;
  shutdown(): Promise<void>;
}

export interface ServiceGraphOptions {
  /** Clock in ms (tests); Date.now by default. */
  now?: () => number;
}

export function createServiceGraph(
  config: ServiceGraphConfig,
  ctx: { name: string; logger: Logger },
  options: ServiceGraphOptions = {},
): ServiceGraphConnector {
  return new ServiceGraph(config, ctx, options.now ?? Date.now);
}

class ServiceGraph implements ServiceGraphConnector {
  private readonly store: HalfEdgeStore;
  private readonly metrics: ServiceGraphMetrics;
  private readonly window: EdgeWindow;
  private readonly dimensions: readonly string[];
  private readonly timers: NodeJS.Timeout[];
  /** Per resource, reused: each database_name_attributes key's value on the resource (undefined: look on the span). */
  private readonly resourceDatabaseNames: Array<string | undefined>;
  /** Per resource, reused: each dimension's value on the resource. */
  private readonly resourceDimensions: Array<string | undefined>;
  /** The tenant of the batch being observed and its hash seed. */
  private tenant: string | undefined;
  private seed = 0;

  constructor(
    private readonly config: ServiceGraphConfig,
    ctx: { name: string; logger: Logger },
    private readonly now: () => number,
  ) {
    const logger = ctx.logger.child({ connector: ctx.name });
    this.dimensions = config.dimensions;
    this.resourceDatabaseNames = config.database_name_attributes.map(() => undefined);
    this.resourceDimensions = config.dimensions.map(() => undefined);
    this.metrics = new ServiceGraphMetrics(config, ctx.name, logger);
    this.window = new EdgeWindow(config.ui_window_resolution, config.ui_window_retention, config.max_label_sets);
    this.store = new HalfEdgeStore(config.store.ttl, config.store.max_items, (edge) => this.onExpire(edge));
    this.timers = [
      setInterval(() => this.store.expire(this.now()), config.store_expiration_loop),
      setInterval(() => this.dropStaleSeries(), config.cache_loop),
    ];
    for (const timer of this.timers) timer.unref();
  }

  get pendingHalfEdges(): number {
    return this.store.size;
  }

  observe(tenant: string, batch: readonly ResourceSpans[]): void {
    const now = this.now();
    if (tenant !== this.tenant) {
      this.tenant = tenant;
      this.seed = tenantSeed(tenant);
    }
    for (const rs of batch) {
      // As in Tempo and the collector, spans of a resource without service.name cannot name a node.
      const service = stringAttribute(rs.resource.attributes, 'service.name');
      if (service === undefined) continue;
      // The resource is shared by all its spans: read what it holds once.
      const attrs = rs.resource.attributes;
      const dbKeys = this.config.database_name_attributes;
      for (let i = 0; i < dbKeys.length; i++) this.resourceDatabaseNames[i] = attributeText(attrs, dbKeys[i]!);
      for (let i = 0; i < this.dimensions.length; i++) this.resourceDimensions[i] = attributeText(attrs, this.dimensions[i]!);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          switch (span.kind) {
            case SpanKind.CLIENT:
              this.clientSide(tenant, service, rs, span, '', now);
              break;
            case SpanKind.PRODUCER:
              this.clientSide(tenant, service, rs, span, 'messaging_system', now);
              break;
            case SpanKind.SERVER:
              this.serverSide(tenant, service, rs, span, '', now);
              break;
            case SpanKind.CONSUMER:
              this.serverSide(tenant, service, rs, span, 'messaging_system', now);
              break;
          }
        }
      }
    }
  }

  edges(start: Date, end: Date, tenants?: readonly string[]): ServiceGraphEdge[] {
    return this.window.edges(start.getTime(), end.getTime(), this.now(), tenants);
  }

  nodes(start: Date, end: Date, tenants?: readonly string[]): ServiceGraphNode[] {
    return this.window.nodes(start.getTime(), end.getTime(), this.now(), tenants);
  }

  expire(): void {
    this.store.expire(this.now());
    this.dropStaleSeries();
  }

  async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.metrics.detach();
  }

  private clientSide(tenant: string, service: string, rs: ResourceSpans, span: Span, type: ConnectionType, now: number): void {
    const hash = edgeHash(this.seed, span.traceId, span.spanId);
    const existing = this.store.get(tenant, span.traceId, span.spanId, hash);
    // A database sends no spans: the client span is the whole request.
    const database = this.databaseName(span);
    if (existing === undefined && database === undefined && this.store.full(now)) {
      // A new half-edge the full store would refuse: counted, and nothing made for it.
      this.metrics.recordDropped(tenant, service, undefined, now);
      return;
    }
    const edge = existing ?? new HalfEdge(new EdgeKey(tenant, span.traceId, span.spanId, hash));
    edge.connectionType = type;
    edge.client = service;
    edge.clientSeconds = durationSeconds(span);
    if (span.status.code === StatusCode.ERROR) edge.failed = true;
    if (this.dimensions.length > 0) edge.clientDimensions = this.dimensionValues(span);
    if (database !== undefined) {
      edge.connectionType = 'database';
      edge.server = database;
      edge.serverSeconds = edge.clientSeconds;
      edge.virtualSide = 'server';
    } else if (edge.server === undefined) {
      // Only read if the server never shows up.
      edge.peer = this.peerOf(span);
      edge.databaseClient = hasAttribute(span.attributes, 'db.system') || hasAttribute(span.attributes, 'db.system.name');
    }
    this.settle(edge, existing === undefined, now);
  }

  private serverSide(tenant: string, service: string, rs: ResourceSpans, span: Span, type: ConnectionType, now: number): void {
    const hash = edgeHash(this.seed, span.traceId, span.parentSpanId);
    const existing = this.store.get(tenant, span.traceId, span.parentSpanId, hash);
    if (existing === undefined && this.store.full(now)) {
      this.metrics.recordDropped(tenant, undefined, service, now);
      return;
    }
    const edge = existing ?? new HalfEdge(new EdgeKey(tenant, span.traceId, span.parentSpanId, hash));
    edge.connectionType = type;
    edge.server = service;
    edge.serverSeconds = durationSeconds(span);
    if (span.status.code === StatusCode.ERROR) edge.failed = true;
    if (this.dimensions.length > 0) edge.serverDimensions = this.dimensionValues(span);
    if (span.parentSpanId.length === 0) {
      // Only a root server span can become an edge from a virtual client.
      edge.rootServer = true;
      edge.peer = this.peerOf(span);
    }
    this.settle(edge, existing === undefined, now);
  }

  /** Completes an edge with both halves, or parks a new half-edge in the store. */
  private settle(edge: HalfEdge, isNew: boolean, now: number): void {
    if (edge.complete) {
      if (!isNew) this.store.remove(edge);
      this.record(edge, now);
    } else if (isNew && !this.store.add(edge, now)) {
      this.metrics.recordDropped(edge.tenant, edge.client, edge.server, now);
    }
  }

  private onExpire(edge: HalfEdge): void {
    const now = this.now();
    if (edge.client === undefined && edge.rootServer) {
      edge.client = edge.peer ?? 'user';
      edge.clientSeconds = edge.serverSeconds;
      edge.connectionType = 'virtual_node';
      edge.virtualSide = 'client';
      this.record(edge, now);
    } else if (edge.server === undefined && edge.client !== undefined && edge.peer !== undefined) {
      edge.server = edge.peer;
      edge.serverSeconds = edge.clientSeconds;
      edge.connectionType = edge.databaseClient ? 'database' : 'virtual_node';
      edge.virtualSide = 'server';
      this.record(edge, now);
    } else {
      this.metrics.recordUnpaired(edge, now);
    }
  }

  private record(edge: HalfEdge, now: number): void {
    this.metrics.recordEdge(edge, now);
    this.window.record(edge, now);
  }

  private dropStaleSeries(): void {
    if (this.config.metrics_expiration > 0) this.metrics.dropStale(this.now() - this.config.metrics_expiration);
  }

  /** Dimension values of one side: the resource's attribute first, then the span's, as Tempo reads them. */
  private dimensionValues(span: Span): string[] {
    return this.dimensions.map((d, i) => this.resourceDimensions[i] ?? attributeText(span.attributes, d) ?? '');
  }

  private peerOf(span: Span): string | undefined {
    for (const key of this.config.virtual_node_peer_attributes) {
      const value = attributeText(span.attributes, key);
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  }

  private databaseName(span: Span): string | undefined {
    const keys = this.config.database_name_attributes;
    for (let i = 0; i < keys.length; i++) {
      const value = this.resourceDatabaseNames[i] ?? attributeText(span.attributes, keys[i]!);
      if (value !== undefined && value !== '') return value;
    }
    return undefined;
  }
}
