// Skein's per-operation RED figures for its UI: calls, errors and a latency
// sketch per (service, span name, span kind), per time bucket
// (ui_window_resolution, kept for ui_window_retention), so the service-graph
// page can list a service's operations for any range inside the retention.
import { SPAN_KIND_NAMES, type SpanKind } from '../../../otlp/model.js';
import { OVERFLOW_VALUE } from '../shared/labels.js';
import { LatencySketch } from '../shared/latency-sketch.js';
import { TimeWindow } from '../shared/time-window.js';
import type { OperationStats } from '../shared/ui-shapes.js';

export type { OperationStats } from '../shared/ui-shapes.js';

class OperationCell {
  calls = 0;
  errors = 0;
  readonly latency = new LatencySketch();

  constructor(
    readonly tenant: string,
    readonly service: string,
    readonly spanName: string,
    readonly spanKind: string,
  ) {}
}

const SEP = '\0';
/** Span kinds with a cache slot (0–5); others take the string path. */
const KINDS = 6;

/**
 * The cells of one resource's operations in one bucket, by span name then
 * kind, so that a span finds its cell without a key string. Holds only cells
 * of their own operation (not the overflow cell), never more than the bucket.
 */
export class ResourceOperations {
  cells: Map<string, Array<OperationCell | undefined>> | undefined;

  constructor(
    readonly bucket: Map<string, OperationCell>,
    readonly prefix: string,
  ) {}
}

export class OperationWindow {
  private readonly window: TimeWindow<OperationCell>;
  /** The cells of the latest bucket by tenant + service prefix (a new bucket starts an empty one). */
  private indexBucket: Map<string, OperationCell> | undefined;
  private index = new Map<string, ResourceOperations>();

  constructor(resolutionMs: number, retentionMs: number, maxOperationsPerBucket: number) {
    this.window = new TimeWindow(resolutionMs, retentionMs, maxOperationsPerBucket);
  }

  /** The bucket for observations at `nowMs` (looked up once per batch). */
  bucketAt(nowMs: number): Map<string, OperationCell> {
    return this.window.bucketAt(nowMs);
  }

  /** The cache of one resource's cells in `bucket`; `prefix` is tenant + SEP + service + SEP. Once per resource. */
  operationsOf(bucket: Map<string, OperationCell>, prefix: string): ResourceOperations {
    if (bucket !== this.indexBucket) {
      this.indexBucket = bucket;
      this.index = new Map();
    }
    let ops = this.index.get(prefix);
    if (ops === undefined) {
      ops = new ResourceOperations(bucket, prefix);
      // Registered once it holds a cell, so that prefixes past the bucket's cap add nothing.
    }
    return ops;
  }

  /** Counts one span in `bucket`; `ops` comes from operationsOf(bucket, prefix). */
  record(
    bucket: Map<string, OperationCell>,
    ops: ResourceOperations,
    prefix: string,
    tenant: string,
    service: string,
    spanName: string,
    kind: SpanKind,
    failed: boolean,
    seconds: number,
  ): void {
    const slotted = kind >= 0 && kind < KINDS && ops.bucket === bucket;
    let cell = slotted ? ops.cells?.get(spanName)?.[kind] : undefined;
    if (cell === undefined) {
      const key = prefix + spanName + SEP + kind;
      cell = bucket.get(key);
      if (cell === undefined && bucket.size < this.window.maxEntries) {
        cell = new OperationCell(tenant, service, spanName, kindName(kind));
        bucket.set(key, cell);
      }
      if (cell === undefined) {
        cell = overflowCell(bucket, tenant);
      } else if (slotted) {
        if (ops.cells === undefined) {
          ops.cells = new Map();
          if (bucket === this.indexBucket) this.index.set(prefix, ops);
        }
        let byKind = ops.cells.get(spanName);
        if (byKind === undefined) ops.cells.set(spanName, (byKind = new Array<OperationCell | undefined>(KINDS)));
        byKind[kind] = cell;
      }
    }
    cell.calls++;
    if (failed) cell.errors++;
    cell.latency.observe(seconds);
  }

  /** Operations seen in [startMs, endMs) in the tenants named (all when none is), sorted by service, span name, kind. */
  operations(startMs: number, endMs: number, nowMs: number, tenants?: readonly string[]): OperationStats[] {
    const { fromMs, toMs, buckets } = this.window.between(startMs, endMs, nowMs);
    const seconds = (toMs - fromMs) / 1000;
    const merged = new Map<string, { service: string; spanName: string; spanKind: string; calls: number; errors: number; latency: LatencySketch }>();
    for (const bucket of buckets) {
      for (const cell of bucket.values()) {
        if (tenants !== undefined && !tenants.includes(cell.tenant)) continue;
        const key = cell.service + SEP + cell.spanName + SEP + cell.spanKind;
        let m = merged.get(key);
        if (m === undefined) {
          const { service, spanName, spanKind } = cell;
          merged.set(key, (m = { service, spanName, spanKind, calls: 0, errors: 0, latency: new LatencySketch() }));
        }
        m.calls += cell.calls;
        m.errors += cell.errors;
        m.latency.merge(cell.latency);
      }
    }
    return [...merged.values()]
      .sort((a, b) => compare(a.service, b.service) || compare(a.spanName, b.spanName) || compare(a.spanKind, b.spanKind))
      .map((m) => ({
        service: m.service,
        spanName: m.spanName,
        spanKind: m.spanKind,
        calls: m.calls,
        errors: m.errors,
        p50Seconds: m.latency.quantile(0.5),
        p99Seconds: m.latency.quantile(0.99),
        ratePerSecond: seconds > 0 ? m.calls / seconds : 0,
      }));
  }
}

export function kindName(kind: number): string {
  return SPAN_KIND_NAMES[kind] ?? SPAN_KIND_NAMES[0];
}

function overflowCell(bucket: Map<string, OperationCell>, tenant: string): OperationCell {
  // A real key has three separators; this one has one.
  const key = tenant + SEP + OVERFLOW_VALUE;
  let cell = bucket.get(key);
  if (cell === undefined) bucket.set(key, (cell = new OperationCell(tenant, OVERFLOW_VALUE, OVERFLOW_VALUE, OVERFLOW_VALUE)));
  return cell;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
