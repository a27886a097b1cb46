// The spans a TraceQL filter selects, as each public query API tells them: search (the
// spans of each trace's spansets, by span ID), TraceQL metrics (a count per span.seq)
// and tag values (the values of span.seq). Each answer becomes a count per seq, so a
// span reported twice shows, and so does anything that is not a span of the workload.

export type Api = 'search' | 'metrics' | 'tags';
export const APIS: readonly Api[] = ['search', 'metrics', 'tags'];

export interface Selected {
  status: number;
  /** The body of a refusal (status other than 200). */
  error?: string;
  /** seq → times the API reported that span. */
  counts: Map<number, number>;
  /** What the answer named that is no span of the workload. */
  unknown: string[];
  /** Why the answer may be incomplete (a truncated tag list, a spanset cut by spss). */
  cut?: string;
}

export interface Target {
  url: string;
  tenant: string;
  startSec: number;
  endSec: number;
  /** span ID (16 hex digits) → seq */
  seqOf: ReadonlyMap<string, number>;
}

async function get(t: Target, path: string, params: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.url}${path}?${new URLSearchParams(params).toString()}`, { headers: { 'x-scope-orgid': t.tenant } });
  return { status: res.status, text: await res.text() };
}

function add(counts: Map<number, number>, seq: number, n = 1): void {
  counts.set(seq, (counts.get(seq) ?? 0) + n);
}

interface SearchJson {
  traces?: Array<{ traceID: string; spanSets?: Array<{ spans?: Array<{ spanID: string }>; matched?: number }> }>;
}

interface MetricsJson {
  series?: Array<{ labels?: Array<{ key: string; value: Record<string, unknown> }>; samples?: Array<{ value?: number | string }> }>;
}

interface TagValuesJson {
  tagValues?: Array<{ type: string; value: string }>;
  truncated?: boolean;
}

export async function select(api: Api, t: Target, filter: string): Promise<Selected> {
  const range = { start: String(t.startSec), end: String(t.endSec) };
  const out: Selected = { status: 0, counts: new Map(), unknown: [] };
  let res: { status: number; text: string };
  if (api === 'search') {
    res = await get(t, '/api/search', { q: `{ ${filter} }`, limit: '1000', spss: '1000', ...range });
  } else if (api === 'metrics') {
    // One step over the whole range: each span is counted once, in one interval.
    const step = `${t.endSec - t.startSec}s`;
    res = await get(t, '/api/metrics/query_range', { q: `{ ${filter} } | count_over_time() by (span.seq)`, step, ...range });
  } else {
    res = await get(t, '/api/v2/search/tag/span.seq/values', { q: `{ ${filter} }`, ...range });
  }
  out.status = res.status;
  if (res.status !== 200) {
    out.error = res.text.slice(0, 300);
    return out;
  }
  if (api === 'search') {
    const body = JSON.parse(res.text) as SearchJson;
    for (const trace of body.traces ?? []) {
      for (const set of trace.spanSets ?? []) {
        const spans = set.spans ?? [];
        if (set.matched !== undefined && set.matched !== spans.length) out.cut = `trace ${trace.traceID}: matched ${set.matched}, listed ${spans.length}`;
        for (const s of spans) {
          const seq = t.seqOf.get(s.spanID.padStart(16, '0'));
          if (seq === undefined) out.unknown.push(`span ${s.spanID}`);
          else add(out.counts, seq);
        }
      }
    }
  } else if (api === 'metrics') {
    const body = JSON.parse(res.text) as MetricsJson;
    for (const series of body.series ?? []) {
      const label = series.labels?.find((l) => l.key === 'span.seq');
      const seq = label?.value['intValue'];
      const total = (series.samples ?? []).reduce((n, s) => n + Number(s.value ?? 0), 0);
      if (typeof seq !== 'string' || !/^\d+$/.test(seq)) out.unknown.push(`series ${JSON.stringify(series.labels)} (count ${total})`);
      else if (total > 0) add(out.counts, Number(seq), total);
    }
  } else {
    const body = JSON.parse(res.text) as TagValuesJson;
    if (body.truncated) out.cut = 'tag values truncated';
    for (const v of body.tagValues ?? []) {
      if (v.type !== 'int' || !/^\d+$/.test(v.value)) out.unknown.push(`value ${JSON.stringify(v)}`);
      else add(out.counts, Number(v.value));
    }
  }
  return out;
}
