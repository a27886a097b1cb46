// A sample of the benchmark's reference workload (bench/workload.ts) as Skein
// receives it: the OpenTelemetry SDK's protobuf export requests, decoded by
// Skein's own decoder, then grouped by trace for the block writer. Seeded and
// with a fixed start, so the same options give the same spans on every run.
import { flattenBatch } from '../../src/otlp/assemble.js';
import { toHex, type StoredSpan, type TraceSpans } from '../../src/otlp/model.js';
import { decodeTracesData } from '../../src/otlp/protobuf.js';
import { requests } from '../../bench/workload.js';

export interface ReferenceSampleOptions {
  seed: number;
  /** Spans wanted; whole traces are kept, so there may be a trace's worth more. */
  spans: number;
  startUnixMs: number;
}

/**
 * The sample's traces sorted by trace ID. A trace cut across two export requests
 * comes as two consecutive entries, one per request (the writer merges them).
 */
export function referenceSample(opts: ReferenceSampleOptions): TraceSpans[] {
  const entries: Array<{ traceId: string; spans: StoredSpan[]; order: number }> = [];
  for (const req of requests({ ...opts, format: 'protobuf' })) {
    const byTrace = new Map<string, StoredSpan[]>();
    for (const s of flattenBatch(decodeTracesData(req.body))) {
      const id = toHex(s.span.traceId);
      const list = byTrace.get(id);
      if (list) list.push(s);
      else byTrace.set(id, [s]);
    }
    for (const [traceId, spans] of byTrace) entries.push({ traceId, spans, order: entries.length });
  }
  entries.sort((a, b) => (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : a.order - b.order));
  return entries.map(({ traceId, spans }) => ({ traceId, spans }));
}
