// Skein's own view of the service graph for its UI (GET /api/skein/service-graph):
// complete edges counted per time bucket (ui_window_resolution, kept for
// ui_window_retention) with a bounded latency sketch each, so any range inside
// the retention gets request and error counts, a rate and p50/p99 without
// asking Prometheus. Latency is the server side's, as Grafana's service graph
// shows it (a virtual server's is its client's: see servicegraph.ts).
import { OVERFLOW_VALUE } from '../shared/labels.js';
import { LatencySketch } from '../shared/latency-sketch.js';
import { TimeWindow } from '../shared/time-window.js';
import { TupleCache } from '../shared/tuple-cache.js';
import type { ServiceGraphEdge, ServiceGraphNode } from '../shared/ui-shapes.js';
import type { ConnectionType, HalfEdge } from './store.js';

export type { ServiceGraphEdge, ServiceGraphNode } from '../shared/ui-shapes.js';

class EdgeStats {
  requests = 0;
  failed = 0;
  readonly latency = new LatencySketch();

  constructor(
    readonly tenant: string,
    readonly client: string,
    readonly server: string,
    readonly connectionType: ConnectionType,
    readonly virtualSide: 'client' | 'server' | '',
  ) {}
}

interface Merged {
  client: string;
  server: string;
  connectionType: ConnectionType;
  virtualSide: 'client' | 'server' | '';
  requests: number;
  failed: number;
  latency: LatencySketch;
}

const SEP = '\0';
const CONNECTION_TYPES: readonly ConnectionType[] = ['', 'messaging_system', 'database', 'virtual_node'];

export class EdgeWindow {
  private readonly window: TimeWindow<EdgeStats>;
  /** The latest bucket's own entries by tenant, client, server and connection type, without a key string per edge. */
  private readonly cache = new TupleCache<EdgeStats>(CONNECTION_TYPES.length);
  private cacheBucket: Map<string, EdgeStats> | undefined;

  constructor(resolutionMs: number, retentionMs: number, maxEdgesPerBucket: number) {
    this.window = new TimeWindow(resolutionMs, retentionMs, maxEdgesPerBucket);
  }

  record(edge: HalfEdge, nowMs: number): void {
    const bucket = this.window.bucketAt(nowMs);
    if (bucket !== this.cacheBucket) {
      this.cacheBucket = bucket;
      this.cache.clear();
    }
    const slot = CONNECTION_TYPES.indexOf(edge.connectionType);
    let stats = this.cache.get(edge.tenant, edge.client!, edge.server!, slot);
    if (stats === undefined) {
      const key = edge.tenant + SEP + edge.client! + SEP + edge.server! + SEP + edge.connectionType;
      stats = bucket.get(key);
      if (stats === undefined && bucket.size < this.window.maxEntries) {
        stats = new EdgeStats(edge.tenant, edge.client!, edge.server!, edge.connectionType, edge.virtualSide);
        bucket.set(key, stats);
      }
      // Only an edge's own entry is kept: the overflow entry stands for edges without bound.
      if (stats !== undefined) this.cache.set(edge.tenant, edge.client!, edge.server!, slot, stats);
      else stats = this.overflow(bucket, edge.tenant);
    }
    stats.requests++;
    if (edge.failed) stats.failed++;
    stats.latency.observe(edge.serverSeconds);
  }

  edges(startMs: number, endMs: number, nowMs: number, tenants?: readonly string[]): ServiceGraphEdge[] {
    const { merged, seconds } = this.merge(startMs, endMs, nowMs, tenants);
    return merged.map((e) => ({
      client: e.client,
      server: e.server,
      connectionType: e.connectionType,
      requests: e.requests,
      failed: e.failed,
      p50Seconds: e.latency.quantile(0.5),
      p99Seconds: e.latency.quantile(0.99),
      ratePerSecond: seconds > 0 ? e.requests / seconds : 0,
    }));
  }

  nodes(startMs: number, endMs: number, nowMs: number, tenants?: readonly string[]): ServiceGraphNode[] {
    const { merged, seconds } = this.merge(startMs, endMs, nowMs, tenants);
    const nodes = new Map<string, { real: boolean; requests: number; failed: number; latency: LatencySketch }>();
    const node = (name: string) => {
      let n = nodes.get(name);
      if (n === undefined) nodes.set(name, (n = { real: false, requests: 0, failed: 0, latency: new LatencySketch() }));
      return n;
    };
    for (const e of merged) {
      const client = node(e.client);
      const server = node(e.server);
      if (e.virtualSide !== 'client') client.real = true;
      if (e.virtualSide !== 'server') server.real = true;
      server.requests += e.requests;
      server.failed += e.failed;
      server.latency.merge(e.latency);
    }
    return [...nodes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, n]) => ({
        name,
        virtual: !n.real,
        requests: n.requests,
        failed: n.failed,
        p50Seconds: n.latency.quantile(0.5),
        p99Seconds: n.latency.quantile(0.99),
        ratePerSecond: seconds > 0 ? n.requests / seconds : 0,
      }));
  }

  /** Edges of the range summed over buckets and the tenants asked for (all when none is), sorted by client then server. */
  private merge(startMs: number, endMs: number, nowMs: number, tenants: readonly string[] | undefined): { merged: Merged[]; seconds: number } {
    const { fromMs, toMs, buckets } = this.window.between(startMs, endMs, nowMs);
    const byEdge = new Map<string, Merged>();
    for (const bucket of buckets) {
      for (const stats of bucket.values()) {
        if (tenants !== undefined && !tenants.includes(stats.tenant)) continue;
        const key = stats.client + SEP + stats.server + SEP + stats.connectionType;
        let m = byEdge.get(key);
        if (m === undefined) {
          const { client, server, connectionType, virtualSide } = stats;
          byEdge.set(key, (m = { client, server, connectionType, virtualSide, requests: 0, failed: 0, latency: new LatencySketch() }));
        }
        m.requests += stats.requests;
        m.failed += stats.failed;
        m.latency.merge(stats.latency);
      }
    }
    const merged = [...byEdge.values()].sort((a, b) => compare(a.client, b.client) || compare(a.server, b.server) || compare(a.connectionType, b.connectionType));
    return { merged, seconds: (toMs - fromMs) / 1000 };
  }

  private overflow(bucket: Map<string, EdgeStats>, tenant: string): EdgeStats {
    // Keyed outside the real key space (a real key has three separators).
    const key = tenant + SEP + OVERFLOW_VALUE;
    let stats = bucket.get(key);
    if (stats === undefined) {
      stats = new EdgeStats(tenant, OVERFLOW_VALUE, OVERFLOW_VALUE, '', '');
      bucket.set(key, stats);
    }
    return stats;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
