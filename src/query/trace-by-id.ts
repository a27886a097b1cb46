// Trace by ID: gather the spans from every source (heads, blocks, a cluster's peers) of each tenant asked
// for (Tempo's `a|b` merges a trace's spans in every tenant), de-duplicate,
// regroup them under their resources and scopes, and apply Tempo's size limit.
import type { ResourceSpans, StoredSpan } from '../otlp/model.js';
import { groupSpans, spanSizeBytes } from '../otlp/assemble.js';
import type { Store, TimeRange } from '../store/store.js';
import type { PartialAnswer, Tenants } from '../store/fetch/request.js';

export interface TraceResult {
  batch: ResourceSpans[];
  spanCount: number;
  inspectedBytes: number;
  /** Set when the trace was over the size limit and only part of it is in `batch`. */
  truncated: { totalBytes: number; limit: number } | undefined;
}

/** The trace, or (undefined) none was found; `partial` when some peers did not answer, so it may exist there. */
export interface TraceLookup {
  result: TraceResult | undefined;
  partial: PartialAnswer | undefined;
}

export async function findTraceById(
  store: Store,
  tenants: Tenants,
  traceId: string,
  range: TimeRange,
  maxBytesPerTrace: number,
): Promise<TraceLookup> {
  const found = await store.findTrace(tenants, traceId, range);
  if (found.spans.length === 0) return { result: undefined, partial: found.partial };
  const kept = keepWithinLimit(found.spans, maxBytesPerTrace);
  return {
    result: {
      batch: groupSpans(kept.spans),
      spanCount: kept.spans.length,
      inspectedBytes: found.inspectedBytes,
      truncated: kept.spans.length < found.spans.length ? { totalBytes: kept.totalBytes, limit: maxBytesPerTrace } : undefined,
    },
    partial: found.partial,
  };
}

/** The earliest spans whose sizes add up to at most the limit (a trace read front to back). */
function keepWithinLimit(spans: StoredSpan[], limit: number): { spans: StoredSpan[]; totalBytes: number } {
  let totalBytes = 0;
  const sizes = spans.map((s) => {
    const n = spanSizeBytes(s);
    totalBytes += n;
    return n;
  });
  if (totalBytes <= limit) return { spans, totalBytes };
  const order = spans.map((_, i) => i).sort((a, b) => compareBigint(spans[a]!.span.startTimeUnixNano, spans[b]!.span.startTimeUnixNano));
  const kept: StoredSpan[] = [];
  let used = 0;
  for (const i of order) {
    if (used + sizes[i]! > limit) break;
    used += sizes[i]!;
    kept.push(spans[i]!);
  }
  return { spans: kept, totalBytes };
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
