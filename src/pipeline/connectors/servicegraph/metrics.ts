// The service graph's Prometheus series, in the names and labels of Tempo's
// metrics-generator, which Grafana's service graph reads:
//   traces_service_graph_request_total{client, server, connection_type, …}
//   traces_service_graph_request_failed_total{…}          (either side ERROR)
//   traces_service_graph_request_server_seconds{…}        (histogram)
//   traces_service_graph_request_client_seconds{…}        (histogram)
//   traces_service_graph_unpaired_spans_total{client, server}
//   traces_service_graph_dropped_spans_total{client, server}
// `…` is `virtual_node` when virtual_node_extra_label is on, then
// client_<dim>, server_<dim> per configured dimension; `tenant` comes first
// when include_tenant_label is on.
import type { Logger } from '../../../telemetry/logger.js';
import { labelObject, sharedFamily, type SampleSource } from '../shared/families.js';
import { HistogramCells, type Sample } from '../shared/histogram.js';
import { sanitizeLabelName } from '../shared/labels.js';
import { SeriesTable, type Series } from '../shared/series-table.js';
import { TupleCache } from '../shared/tuple-cache.js';
import type { ServiceGraphConfig } from './config.js';
import type { HalfEdge } from './store.js';

export const METRIC = {
  requestTotal: 'traces_service_graph_request_total',
  requestFailedTotal: 'traces_service_graph_request_failed_total',
  requestServerSeconds: 'traces_service_graph_request_server_seconds',
  requestClientSeconds: 'traces_service_graph_request_client_seconds',
  unpairedSpansTotal: 'traces_service_graph_unpaired_spans_total',
  droppedSpansTotal: 'traces_service_graph_dropped_spans_total',
} as const;

interface EdgeSeries extends Series {
  requests: number;
  failed: number;
  server: HistogramCells;
  client: HistogramCells;
}

interface CountSeries extends Series {
  count: number;
}

const SEP = '\0';

/** Cache slot of an edge series without dimensions: connection type × virtual side. */
const CONNECTION_TYPES = ['', 'messaging_system', 'database', 'virtual_node'] as const;
const VIRTUAL_SIDES = ['', 'client', 'server'] as const;

function edgeSlot(edge: HalfEdge, withVirtualSide: boolean): number {
  return CONNECTION_TYPES.indexOf(edge.connectionType) * VIRTUAL_SIDES.length + (withVirtualSide ? VIRTUAL_SIDES.indexOf(edge.virtualSide) : 0);
}

/** A table's series by (tenant or '', client, server) and a slot, emptied when the table drops series. */
class TableCache<S extends Series> {
  private readonly cache: TupleCache<S>;
  private version: number;

  constructor(
    private readonly table: SeriesTable<S>,
    slots: number,
  ) {
    this.cache = new TupleCache(slots);
    this.version = table.version;
  }

  get(tenant: string, client: string, server: string, slot: number): S | undefined {
    if (this.table.version !== this.version) {
      this.cache.clear();
      this.version = this.table.version;
    }
    return this.cache.get(tenant, client, server, slot);
  }

  /** Keeps `series` if it is the series of `key` itself (an overflow series must be counted each time, so is not kept). */
  keep(key: string, series: S, tenant: string, client: string, server: string, slot: number): void {
    if (this.table.holds(key, series)) this.cache.set(tenant, client, server, slot, series);
  }
}

export class ServiceGraphMetrics {
  private readonly edges: SeriesTable<EdgeSeries>;
  private readonly unpaired: SeriesTable<CountSeries>;
  private readonly dropped: SeriesTable<CountSeries>;
  private readonly withTenant: boolean;
  private readonly withVirtualNode: boolean;
  private readonly dimensionCount: number;
  private readonly detachers: Array<() => void> = [];
  // Label-set strings are built only on a miss: completed edges and dropped spans come by the thousand a second.
  private readonly edgeCache: TableCache<EdgeSeries>;
  private readonly unpairedCache: TableCache<CountSeries>;
  private readonly droppedCache: TableCache<CountSeries>;

  constructor(config: ServiceGraphConfig, connector: string, logger: Logger) {
    this.withTenant = config.include_tenant_label;
    this.withVirtualNode = config.virtual_node_extra_label;
    this.dimensionCount = config.dimensions.length;
    const tenant = this.withTenant ? ['tenant'] : [];
    const common = { keptLabels: tenant.length, maxLabelSets: config.max_label_sets, connector, logger };
    const buckets = config.latency_histogram_buckets;

    this.edges = new SeriesTable<EdgeSeries>({
      ...common,
      metric: METRIC.requestTotal,
      labelNames: [
        ...tenant,
        'client',
        'server',
        'connection_type',
        ...(this.withVirtualNode ? ['virtual_node'] : []),
        ...config.dimensions.flatMap((d) => [`client_${sanitizeLabelName(d)}`, `server_${sanitizeLabelName(d)}`]),
      ],
      create: (labels, now) => ({ labels, lastSeen: now, requests: 0, failed: 0, server: new HistogramCells(buckets), client: new HistogramCells(buckets) }),
    });
    const counts = (metric: string) =>
      new SeriesTable<CountSeries>({
        ...common,
        metric,
        labelNames: [...tenant, 'client', 'server'],
        create: (labels, now) => ({ labels, lastSeen: now, count: 0 }),
      });
    this.unpaired = counts(METRIC.unpairedSpansTotal);
    this.dropped = counts(METRIC.droppedSpansTotal);
    this.edgeCache = new TableCache(this.edges, CONNECTION_TYPES.length * VIRTUAL_SIDES.length);
    this.unpairedCache = new TableCache(this.unpaired, 1);
    this.droppedCache = new TableCache(this.dropped, 1);

    const edges = this.edges;
    this.publish(METRIC.requestTotal, 'Total count of requests between two nodes.', 'counter', edges, (s, labels, out) => {
      out.push({ labels, value: s.requests });
    });
    this.publish(METRIC.requestFailedTotal, 'Total count of failed requests between two nodes.', 'counter', edges, (s, labels, out) => {
      if (s.failed > 0) out.push({ labels, value: s.failed });
    });
    this.publish(METRIC.requestServerSeconds, 'Time for a request between two nodes as seen from the server.', 'histogram', edges, (s, labels, out) => {
      s.server.appendSamples(METRIC.requestServerSeconds, labels, out);
    });
    this.publish(METRIC.requestClientSeconds, 'Time for a request between two nodes as seen from the client.', 'histogram', edges, (s, labels, out) => {
      s.client.appendSamples(METRIC.requestClientSeconds, labels, out);
    });
    this.publish(METRIC.unpairedSpansTotal, 'Spans whose other half never arrived within store.ttl and that name no peer.', 'counter', this.unpaired, (s, labels, out) => {
      out.push({ labels, value: s.count });
    });
    this.publish(METRIC.droppedSpansTotal, 'Spans not paired because the store held store.max_items half-edges.', 'counter', this.dropped, (s, labels, out) => {
      out.push({ labels, value: s.count });
    });
  }

  /** Counts one complete edge: a request, maybe a failure, and both latencies. */
  recordEdge(edge: HalfEdge, nowMs: number): void {
    // Dimension values would need more levels; edges with dimensions take the string path.
    const cacheable = this.dimensionCount === 0;
    const tenant = this.withTenant ? edge.tenant : '';
    const slot = edgeSlot(edge, this.withVirtualNode);
    let series = cacheable ? this.edgeCache.get(tenant, edge.client!, edge.server!, slot) : undefined;
    if (series === undefined) {
      let key = this.withTenant ? edge.tenant + SEP : '';
      key += edge.client! + SEP + edge.server! + SEP + edge.connectionType;
      if (this.withVirtualNode) key += SEP + edge.virtualSide;
      for (let i = 0; i < this.dimensionCount; i++) {
        key += SEP + (edge.clientDimensions?.[i] ?? '') + SEP + (edge.serverDimensions?.[i] ?? '');
      }
      series = this.edges.get(key) ?? this.edges.add(key, this.edgeLabels(edge), nowMs);
      if (cacheable) this.edgeCache.keep(key, series, tenant, edge.client!, edge.server!, slot);
    }
    series.lastSeen = nowMs;
    series.requests++;
    if (edge.failed) series.failed++;
    series.server.observe(edge.serverSeconds);
    series.client.observe(edge.clientSeconds);
  }

  /** Counts a half-edge that expired without a partner or a peer to stand in for one. */
  recordUnpaired(edge: HalfEdge, nowMs: number): void {
    this.count(this.unpaired, this.unpairedCache, edge.tenant, edge.client, edge.server, nowMs);
  }

  /** Counts a span dropped because the store was full; the side it was is named, the other not. */
  recordDropped(tenantName: string, client: string | undefined, server: string | undefined, nowMs: number): void {
    this.count(this.dropped, this.droppedCache, tenantName, client, server, nowMs);
  }

  dropStale(cutoffMs: number): void {
    this.edges.dropStale(cutoffMs);
    this.unpaired.dropStale(cutoffMs);
    this.dropped.dropStale(cutoffMs);
  }

  /** Takes this instance's series off the registry. */
  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }

  private count(
    table: SeriesTable<CountSeries>,
    cache: TableCache<CountSeries>,
    tenantName: string,
    clientName: string | undefined,
    serverName: string | undefined,
    nowMs: number,
  ): void {
    const client = clientName ?? '';
    const server = serverName ?? '';
    const tenant = this.withTenant ? tenantName : '';
    let series = cache.get(tenant, client, server, 0);
    if (series === undefined) {
      const key = (this.withTenant ? tenantName + SEP : '') + client + SEP + server;
      series = table.get(key) ?? table.add(key, this.withTenant ? [tenantName, client, server] : [client, server], nowMs);
      cache.keep(key, series, tenant, client, server, 0);
    }
    series.lastSeen = nowMs;
    series.count++;
  }

  private edgeLabels(edge: HalfEdge): string[] {
    const labels = this.withTenant ? [edge.tenant] : [];
    labels.push(edge.client!, edge.server!, edge.connectionType);
    if (this.withVirtualNode) labels.push(edge.virtualSide);
    for (let i = 0; i < this.dimensionCount; i++) {
      labels.push(edge.clientDimensions?.[i] ?? '', edge.serverDimensions?.[i] ?? '');
    }
    return labels;
  }

  private publish<S extends Series>(
    name: string,
    help: string,
    type: 'counter' | 'histogram',
    table: SeriesTable<S>,
    samples: (series: S, labels: Record<string, string>, out: Sample[]) => void,
  ): void {
    const source: SampleSource = {
      collect(out) {
        for (const series of table.values()) samples(series, labelObject(table.labelNames, series.labels), out);
      },
      reset: () => table.reset(),
    };
    this.detachers.push(sharedFamily(name, help, type).attach(source));
  }
}
