// Tempo's JSON for metrics answers (tempopb.QueryRangeResponse and QueryInstantResponse,
// marshalled with jsonpb: zero fields left out, 64-bit integers as strings).
import { labelJson, promLabels, seriesJson, type Series } from './series.js';
import type { MetricsStats } from './execute.js';
import type { Timeline } from './timeline.js';

function metricsJson(s: MetricsStats): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.inspectedTraces > 0) out['inspectedTraces'] = s.inspectedTraces;
  if (s.inspectedBytes > 0) out['inspectedBytes'] = String(s.inspectedBytes);
  if (s.inspectedSpans > 0) out['inspectedSpans'] = String(s.inspectedSpans);
  if (s.totalBlocks > 0) out['totalBlocks'] = s.totalBlocks;
  out['completedJobs'] = 1;
  out['totalJobs'] = 1;
  return out;
}

/** Series ordered by their label text, so answers are deterministic. */
function ordered(series: readonly Series[]): Series[] {
  return [...series].sort((a, b) => {
    const x = promLabels(a.labels);
    const y = promLabels(b.labels);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function queryRangeJson(series: readonly Series[], stats: MetricsStats, t: Timeline, exemplars: number): Record<string, unknown> {
  const budget = { left: exemplars };
  const out = ordered(series)
    .map((s) => seriesJson(s, t, budget))
    .filter((s) => s !== undefined);
  return { series: out, metrics: metricsJson(stats) };
}

export function queryInstantJson(series: readonly Series[], stats: MetricsStats): Record<string, unknown> {
  const out: Array<Record<string, unknown>> = [];
  for (const s of ordered(series)) {
    const v = s.values[0]!;
    if (Number.isNaN(v)) continue;
    const item: Record<string, unknown> = { labels: s.labels.map(labelJson), promLabels: promLabels(s.labels) };
    if (v !== 0) item['value'] = Number.isFinite(v) ? v : String(v);
    out.push(item);
  }
  return { series: out, metrics: metricsJson(stats) };
}
