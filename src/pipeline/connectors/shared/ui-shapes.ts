// The JSON shapes of Skein's own UI endpoints (/api/skein/service-graph,
// /api/skein/operations, /api/skein/ingest-stats; docs/api.md). Types only, with
// no imports: the web UI (ui/src) imports them too, so a change here that the
// UI does not follow fails its build.

/** One edge of the service graph over a time range. */
export interface ServiceGraphEdge {
  client: string;
  server: string;
  /** '' for a direct request, else `messaging_system`, `database` or `virtual_node`. */
  connectionType: '' | 'messaging_system' | 'database' | 'virtual_node';
  requests: number;
  failed: number;
  /** Estimated server-side latency quantiles (±10 %), null without requests. */
  p50Seconds: number | null;
  p99Seconds: number | null;
  /** requests / seconds of the range covered by the retained window. */
  ratePerSecond: number;
}

/** One service (or virtual node) with the requests it handled, as Grafana attributes edge figures to the server. */
export interface ServiceGraphNode {
  name: string;
  /** Never seen as an instrumented service: a `user` entry point, a database or an uninstrumented peer. */
  virtual: boolean;
  requests: number;
  failed: number;
  p50Seconds: number | null;
  p99Seconds: number | null;
  ratePerSecond: number;
}

/** RED figures of one operation over a time range. */
export interface OperationStats {
  service: string;
  spanName: string;
  /** `SPAN_KIND_SERVER`, `SPAN_KIND_CLIENT`, … */
  spanKind: string;
  calls: number;
  /** Calls with status ERROR. */
  errors: number;
  /** Estimated latency quantiles (±10 %), null without calls. */
  p50Seconds: number | null;
  p99Seconds: number | null;
  ratePerSecond: number;
}

/** Skein's own ingest figures. */
export interface IngestStats {
  /** Unix milliseconds when the figures were read: the UI divides counter deltas by the time between two reads. */
  timeMs: number;
  spans: { received: number; refused: number; stored: number };
  requestsRefused: number;
  memoryLimiter: { refusedBatches: number; refusing: boolean };
  /** `enabled` is false when this instance runs no tail_sampling processor (the figures are then 0). */
  tailSampling: { enabled: boolean; tracesSampled: number; tracesDropped: number; bufferedTraces: number; bufferedSpans: number };
  /** The otlp exporters' sending queues, in batches (0/0 without one). */
  exporterQueue: { size: number; capacity: number; sentSpans: number; failedSpans: number };
  head: { spans: number; bytes: number };
  disk: { walBytes: number; blockBytes: number; blocks: number };
  process: { rssBytes: number };
  /** Live tails (GET /api/skein/tail) open now, and how many ui.live_tail.max_clients allows. */
  liveTails: { open: number; max: number };
}
