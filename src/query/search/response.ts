// The search response in Tempo's JSON (tempopb.SearchResponse marshalled by jsonpb:
// zero values omitted, 64-bit integers as strings). Spans show the attributes the
// query looked at, the ones select() asked for, and service.name.
import type { AttributeRef, FieldExpr, PipelineExpr } from '../traceql/ast.js';
import { fieldValue, type Spanset } from '../traceql/engine/evaluate.js';
import type { MatchedTrace, SearchMetrics } from './execute.js';
import type { EvalSpan, EvalTrace } from '../traceql/engine/trace.js';
import { valToJson } from '../traceql/engine/values.js';

const NO_ROOT = '<root span not yet received>';
const SERVICE_NAME: AttributeRef = { type: 'attribute', scope: 'resource', parent: false, name: 'service.name' };
/** Intrinsics already in a span's own fields, or about the trace rather than the span. */
const NOT_SHOWN = new Set(['name', 'duration', 'rootName', 'rootServiceName', 'traceDuration', 'trace:id', 'span:id']);

/** Fields the query conditions refer to, each once (by printed key). */
export function shownFields(q: PipelineExpr): AttributeRef[] {
  const out = new Map<string, AttributeRef>();
  const field = (e: FieldExpr | null): void => {
    if (!e) return;
    if (e.type === 'attribute') {
      if (e.scope !== 'event' && e.scope !== 'link' && !e.parent) out.set(attrKey(e), e);
    } else if (e.type === 'intrinsic') {
      if (!NOT_SHOWN.has(e.name) && !e.name.startsWith('event:') && !e.name.startsWith('link:')) out.set(attrKey(e), e);
    } else if (e.type === 'binary') {
      field(e.lhs);
      field(e.rhs);
    } else if (e.type === 'unary') field(e.expr);
  };
  const walk = (p: PipelineExpr): void => {
    if (p.type === 'pipelineOperation') {
      walk(p.lhs);
      walk(p.rhs);
      return;
    }
    for (const s of p.stages) {
      const spanset = (x: typeof s): void => {
        if (x.type === 'spansetFilter') field(x.expr);
        else if (x.type === 'spansetOperation') {
          spanset(x.lhs);
          spanset(x.rhs);
        }
      };
      if (s.type === 'spansetFilter' || s.type === 'spansetOperation') spanset(s);
      else if (s.type === 'groupBy') field(s.expr);
    }
  };
  walk(q);
  out.set(attrKey(SERVICE_NAME), SERVICE_NAME);
  return [...out.values()];
}

/** Tempo shows attributes by bare name (`service.name`, not `resource.service.name`). */
function attrKey(a: AttributeRef): string {
  return a.name;
}

export function traceIdForSearch(hex: string): string {
  return hex.replace(/^0+/, '') || '0';
}

function spanJson(span: EvalSpan, trace: EvalTrace, fields: readonly AttributeRef[]): Record<string, unknown> {
  const attributes: Array<{ key: string; value: Record<string, unknown> }> = [];
  const keys = new Set<string>();
  for (const f of fields) {
    const key = attrKey(f);
    if (keys.has(key)) continue;
    const value = valToJson(fieldValue(f, span, trace));
    if (value === undefined) continue;
    keys.add(key);
    attributes.push({ key, value });
  }
  const sp = span.stored.span;
  return {
    spanID: span.spanId,
    ...(sp.name !== '' && { name: sp.name }),
    startTimeUnixNano: span.start.toString(),
    ...(span.duration > 0n && { durationNanos: span.duration.toString() }),
    ...(attributes.length > 0 && { attributes }),
  };
}

function spansetJson(set: Spanset, trace: EvalTrace, fields: readonly AttributeRef[], spss: number): Record<string, unknown> {
  const all = [...fields, ...set.selected];
  const attributes = set.attributes.flatMap((a) => {
    const value = valToJson(a.value);
    return value === undefined ? [] : [{ key: a.key, value }];
  });
  return {
    spans: set.spans.slice(0, spss).map((s) => spanJson(s, trace, all)),
    matched: set.spans.length,
    ...(attributes.length > 0 && { attributes }),
  };
}

export function searchResponseJson(
  traces: readonly MatchedTrace[],
  metrics: SearchMetrics,
  query: PipelineExpr,
  spss: number,
): Record<string, unknown> {
  const fields = shownFields(query);
  return {
    traces: traces.map(({ trace, spansets }) => {
      const sets = spansets.map((s) => spansetJson(s, trace, fields, spss));
      const stats: Record<string, { spanCount: number; errorCount?: number }> = {};
      for (const s of trace.spans) {
        const name = s.service ?? '';
        const st = (stats[name] ??= { spanCount: 0 });
        st.spanCount++;
        if (s.stored.span.status.code === 2) st.errorCount = (st.errorCount ?? 0) + 1;
      }
      const durationMs = Number((trace.end - trace.start) / 1_000_000n);
      return {
        traceID: traceIdForSearch(trace.traceId),
        rootServiceName: trace.root ? (trace.root.service ?? '') : NO_ROOT,
        ...(trace.root && trace.root.stored.span.name !== '' && { rootTraceName: trace.root.stored.span.name }),
        startTimeUnixNano: trace.start.toString(),
        ...(durationMs > 0 && { durationMs }),
        ...(sets.length > 0 && { spanSets: sets, spanSet: sets[0] }),
        serviceStats: stats,
      };
    }),
    metrics: {
      ...(metrics.inspectedTraces > 0 && { inspectedTraces: metrics.inspectedTraces }),
      ...(metrics.inspectedBytes > 0 && { inspectedBytes: String(metrics.inspectedBytes) }),
      ...(metrics.totalBlocks > 0 && { totalBlocks: metrics.totalBlocks }),
      completedJobs: 1,
      totalJobs: 1,
    },
  };
}
