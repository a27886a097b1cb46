// The `aggregate` fetch mode: a metrics first stage over one tenant's spans starting in
// (after, atOrBefore]. The blocks are aggregated in one DuckDB query
// (blocks/aggregate-sql.ts); what that cannot count exactly comes back as whole traces
// (head and blocks, de-duplicated) for the engine to evaluate:
//  - every trace the heads hold in the range: the head has no SQL, and a trace in both
//    head and block (late spans, a head whose block has just become visible) must be
//    put together before it is judged, so its block rows are left out of the aggregate;
//  - traces with rows SQL cannot judge (array values), or all that may match when the
//    filter or a field has no exact SQL form.
// So no span is counted twice and no cross-span condition is missed.
import { dedupeSpans } from '../../otlp/assemble.js';
import type { StoredSpan } from '../../otlp/model.js';
import { aggregateParts, type PartsAggregate } from '../blocks/aggregate-sql.js';
import type { Head } from '../head/head.js';
import type { AggregateResult, FetchAggregateRequest, FetchedTrace, FetchedTraces, FetchStats } from './request.js';
import type { SpanSources } from './sources.js';

/** Traces read from the blocks at a time. */
const READ_BATCH_TRACES = 256;

export async function fetchAggregate(sources: SpanSources, tenant: string, req: FetchAggregateRequest): Promise<AggregateResult> {
  const stats: FetchStats = { inspectedBytes: 0, inspectedTraces: 0, totalBlocks: 0 };
  const inspect = (bytes: number): void => {
    stats.inspectedBytes += bytes;
    if (req.maxBytesInspected > 0 && stats.inspectedBytes > req.maxBytesInspected) throw req.overLimit(stats.inspectedBytes);
  };
  // Head traces overlapping the range, by ID, with the heads holding them: nothing is decoded yet.
  const headRange = { startUnixNano: req.afterUnixNano + 1n, endUnixNano: req.atOrBeforeUnixNano };
  const inHeads = new Map<string, Head[]>();
  for (const head of await sources.heads(tenant)) {
    for (const t of head.traceBounds()) {
      if (t.endUnixNano < headRange.startUnixNano || t.startUnixNano > headRange.endUnixNano) continue;
      const holders = inHeads.get(t.traceId);
      if (holders) holders.push(head);
      else inHeads.set(t.traceId, [head]);
      await req.pacer?.pace();
    }
  }

  const range = { startUnixNano: req.afterUnixNano + 1n, endUnixNano: req.atOrBeforeUnixNano + 1n };
  const blocks = await sources.blocks.withBlocks(tenant, range, async (views, engine): Promise<PartsAggregate | null> => {
    stats.totalBlocks = views.length;
    const parts = views.flatMap((b) => b.parts);
    if (parts.length === 0) return null;
    inspect(parts.reduce((n, p) => n + p.bytes, 0));
    return aggregateParts(
      engine,
      parts.map((p) => p.path),
      req,
      [...inHeads.keys()],
      req.pacer,
    );
  });

  return {
    rows: blocks?.rows ?? [],
    traces: tracesFor(sources, tenant, req, blocks?.traceIds ?? [], inHeads, headRange, stats, inspect),
    blockPath: blocks === null ? 'none' : blocks.aggregated ? 'sql' : 'spans',
  };
}

/**
 * The traces left to the engine: those the blocks named, read whole from heads and every
 * block in batches, then the heads' other traces in the range, decoded one at a time.
 */
function tracesFor(
  sources: SpanSources,
  tenant: string,
  req: FetchAggregateRequest,
  fromBlocks: readonly string[],
  inHeads: ReadonlyMap<string, Head[]>,
  headRange: { startUnixNano: bigint; endUnixNano: bigint },
  stats: FetchStats,
  inspect: (bytes: number) => void,
): FetchedTraces {
  async function* read(): AsyncGenerator<FetchedTrace> {
    // Sorted, so that each batch is a narrow range of trace IDs (blocks are sorted by them).
    const sorted = [...new Set(fromBlocks)].sort();
    for (let i = 0; i < sorted.length; i += READ_BATCH_TRACES) {
      const found = await sources.findTraces(tenant, sorted.slice(i, i + READ_BATCH_TRACES), { pacer: req.pacer });
      inspect(found.inspectedBytes);
      for (const [traceId, spans] of found.traces) {
        stats.inspectedTraces++;
        yield { traceId, key: startOf(spans), spans };
      }
    }
    const done = new Set(sorted);
    for (const [traceId, holders] of inHeads) {
      if (done.has(traceId)) continue;
      const spans: StoredSpan[] = [];
      let bytes = 0;
      for (const head of holders) {
        const found = head.find(traceId, headRange);
        spans.push(...found.spans);
        bytes += found.bytes;
      }
      inspect(bytes);
      if (spans.length === 0) continue;
      await req.pacer?.pace(spans.length);
      stats.inspectedTraces++;
      yield { traceId, key: startOf(spans), spans: holders.length > 1 ? dedupeSpans(spans) : spans };
    }
  }
  return { stats, [Symbol.asyncIterator]: read };
}

function startOf(spans: readonly StoredSpan[]): bigint {
  let start = spans[0]?.span.startTimeUnixNano ?? 0n;
  for (const { span } of spans) if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
  return start;
}
