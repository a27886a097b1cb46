// A trace as the TraceQL evaluator sees it: its spans de-duplicated and sorted, each
// with the tree numbers structural operators compare. The numbers are computed here
// over the whole trace (head and blocks together), so an answer never depends on
// which block a span landed in.
import { stringAttribute, toHex, type StoredSpan } from '../../../otlp/model.js';
import { computeNestedSets, isRootParent } from '../../../otlp/nested-set.js';

export interface EvalSpan {
  stored: StoredSpan;
  spanId: string;
  /** '' for a root. */
  parentId: string;
  start: bigint;
  end: bigint;
  duration: bigint;
  /** Nested set numbers (docs/block-format.md): 0, 0, 0 for orphans and their descendants. */
  left: number;
  right: number;
  parent: number;
  childCount: number;
  /** The resource's service.name, when it is a string. */
  service: string | undefined;
}

export interface EvalTrace {
  traceId: string;
  /** By start time, then span ID. */
  spans: EvalSpan[];
  /** The earliest-starting root span, if the trace has one. */
  root: EvalSpan | undefined;
  start: bigint;
  end: bigint;
}

export function buildTrace(traceId: string, stored: readonly StoredSpan[]): EvalTrace {
  const seen = new Set<string>();
  const spans: EvalSpan[] = [];
  for (const s of stored) {
    const spanId = toHex(s.span.spanId);
    if (seen.has(spanId)) continue;
    seen.add(spanId);
    const parentHex = toHex(s.span.parentSpanId);
    const start = s.span.startTimeUnixNano;
    const end = s.span.endTimeUnixNano > start ? s.span.endTimeUnixNano : start;
    spans.push({
      stored: s,
      spanId,
      parentId: isRootParent(parentHex) ? '' : parentHex,
      start,
      end,
      duration: end - start,
      left: 0,
      right: 0,
      parent: 0,
      childCount: 0,
      service: stringAttribute(s.resource.attributes, 'service.name'),
    });
  }
  spans.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));
  const sets = computeNestedSets(spans.map((s) => ({ spanId: s.spanId, parentSpanId: s.parentId })));
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  spans.forEach((s, i) => {
    const n = sets[i]!;
    s.left = n.left;
    s.right = n.right;
    s.parent = n.parent;
    if (s.parentId !== '') {
      const p = byId.get(s.parentId);
      if (p && p !== s) p.childCount++;
    }
  });
  let start = spans[0]?.start ?? 0n;
  let end = 0n;
  for (const s of spans) {
    if (s.start < start) start = s.start;
    if (s.end > end) end = s.end;
  }
  return { traceId, spans, root: spans.find((s) => s.parentId === ''), start, end };
}
