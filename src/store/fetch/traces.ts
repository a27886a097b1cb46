// The `traces` fetch mode: the traces of one tenant that may match a trace filter, with
// their spans, most recent first (or in no particular order, for metrics over a range).
//
// Candidates come from two places, each newest first by a key never earlier than the
// trace's start: the heads (head-candidates.ts: summaries and encoded bytes rule traces
// out without decoding them) and the blocks (block-stream.ts: DuckDB scans of the newest
// blocks first, as many as the order needs). They are merged into one order and read in
// batches, head and blocks together, de-duplicated by span ID (SpanSources.findTraces):
// the first batch is `limit` traces, each later one twice as many (up to 512), so a
// filter that lets through many traces costs few reads. Each trace read is checked
// against the time range and duration bounds on all its spans, and against the filter
// itself when its spans carry every field the filter reads (head/match.ts); the engine
// has the last word on what remains.
//
// The caller stops when it has enough (keyFloor, or leaving the loop); the blocks are
// held from the first read until then.
import { traceMatches } from '../head/match.js';
import { newerFirst, type Candidate } from '../blocks/trace-candidates.js';
import type { StoredSpan } from '../../otlp/model.js';
import { BlockStream } from './block-stream.js';
import { HeadCandidates } from './head-candidates.js';
import type { FetchedTrace, FetchedTraces, FetchStats, FetchTracesRequest, SpanFilter, TraceFilter } from './request.js';
import type { SpanSources } from './sources.js';

const MIN_BATCH = 16;
const MAX_BATCH = 512;

export function fetchTraces(sources: SpanSources, tenant: string, req: FetchTracesRequest): FetchedTraces {
  const stats: FetchStats = { inspectedBytes: 0, inspectedTraces: 0, totalBlocks: 0 };
  return { stats, [Symbol.asyncIterator]: () => read(sources, tenant, req, stats) };
}

async function* read(sources: SpanSources, tenant: string, req: FetchTracesRequest, stats: FetchStats): AsyncGenerator<FetchedTrace> {
  const inspect = (bytes: number): void => {
    stats.inspectedBytes += bytes;
    if (req.maxBytesInspected > 0 && stats.inspectedBytes > req.maxBytesInspected) throw req.overLimit(stats.inspectedBytes);
  };
  const head = await HeadCandidates.of(sources, tenant, req);
  const held = sources.blocks.acquire(tenant, { startUnixNano: req.startUnixNano, endUnixNano: req.endUnixNano });
  try {
    stats.totalBlocks = held.blocks.length;
    const planned = held.blocks.reduce((n, b) => n + b.parts.reduce((m, p) => m + p.bytes, 0), 0);
    if (req.maxBytesInspected > 0 && planned > req.maxBytesInspected) throw req.overLimit(planned, true);
    const blocks = new BlockStream(held.blocks, held.engine, req, inspect);
    const seen = new Set<string>();

    /** The next candidate in the merged order, not yet taken. */
    const peek = async (): Promise<{ c: Candidate; take: () => void } | undefined> => {
      for (;;) {
        const h = await head.peek();
        const bound = blocks.bound();
        let fromHead: boolean;
        let c: Candidate | undefined;
        if (h !== undefined && (bound === undefined || h.key > bound)) {
          fromHead = true;
          c = h;
        } else {
          const b = await blocks.peek();
          fromHead = b === undefined || (h !== undefined && newerFirst(h, b) < 0);
          c = fromHead ? h : b;
        }
        if (c === undefined) return undefined;
        const take = fromHead ? () => head.take() : () => blocks.take();
        if (!seen.has(c.traceId)) return { c, take };
        take();
      }
    };

    const slim = req.secondPass === 'span-fields';
    const noEvents = req.secondPass === 'attributes';
    // The filter is matched on the spans read when they carry every field it reads.
    const exact =
      req.filter !== null && (req.secondPass === 'all' || (req.secondPass === 'attributes' ? !readsEvents(req.filter) : readsOnlySpanFields(req.filter)));
    let size = Math.max(req.limit, MIN_BATCH);
    for (;;) {
      const floor = req.order === 'most-recent-first' ? req.keyFloor?.() : undefined;
      const batch: Candidate[] = [];
      let last = false;
      while (batch.length < size) {
        const next = await peek();
        // The caller has enough traces newer than anything left.
        if (next === undefined || (floor !== undefined && next.c.key < floor)) {
          last = true;
          break;
        }
        next.take();
        seen.add(next.c.traceId);
        batch.push(next.c);
      }
      if (batch.length === 0) return;
      const found = await sources.findTraces(
        tenant,
        batch.map((c) => c.traceId),
        { slim, noEvents, pacer: req.pacer },
      );
      inspect(found.inspectedBytes);
      for (const c of batch) {
        const spans = found.traces.get(c.traceId);
        if (!spans) continue;
        stats.inspectedTraces++;
        if (!inBounds(spans, req)) continue;
        if (exact && !traceMatches(req.filter, spans)) continue;
        yield { traceId: c.traceId, key: c.key, spans };
      }
      if (last) return;
      size = Math.min(size * 2, MAX_BATCH);
    }
  } finally {
    held.release();
  }
}

/** Whether the trace overlaps the range and lasts within the bounds, as the engine measures a trace (its spans' earliest start to latest end). */
function inBounds(spans: readonly StoredSpan[], req: FetchTracesRequest): boolean {
  let start = spans[0]?.span.startTimeUnixNano ?? 0n;
  let end = 0n;
  for (const { span } of spans) {
    const s = span.startTimeUnixNano;
    const e = span.endTimeUnixNano > s ? span.endTimeUnixNano : s;
    if (s < start) start = s;
    if (e > end) end = e;
  }
  if (req.startUnixNano !== undefined && end < req.startUnixNano) return false;
  if (req.endUnixNano !== undefined && start >= req.endUnixNano) return false;
  const d = end - start;
  if (req.minTraceDurationNano !== undefined && d < req.minTraceDurationNano) return false;
  if (req.maxTraceDurationNano !== undefined && d > req.maxTraceDurationNano) return false;
  return true;
}

/** Whether the filter reads events (which the `attributes` second pass leaves out). */
function readsEvents(f: TraceFilter): boolean {
  const span = (s: SpanFilter): boolean =>
    s.type === 'condition' ? s.condition.field.type === 'intrinsic' && s.condition.field.name === 'event:name' : s.args.some(span);
  if (f.type === 'some' || f.type === 'aggregate') return f.filter !== null && span(f.filter);
  return f.args.some(readsEvents);
}

/**
 * Whether the filter reads only what slim spans carry (SpanSources.findTraces' `slim`: a
 * span's own fields and its resource's service.name), so that matching them is exact.
 */
function readsOnlySpanFields(f: TraceFilter): boolean {
  const span = (s: SpanFilter): boolean => {
    if (s.type !== 'condition') return s.args.every(span);
    const field = s.condition.field;
    if (field.type === 'intrinsic') return field.name !== 'event:name';
    return field.scope === 'resource' && field.name === 'service.name';
  };
  if (f.type === 'aggregate') return (f.filter === null || span(f.filter)) && (f.field === null || (f.field.type === 'intrinsic' && f.field.name !== 'event:name'));
  return f.type === 'some' ? f.filter === null || span(f.filter) : f.args.every(readsOnlySpanFields);
}
